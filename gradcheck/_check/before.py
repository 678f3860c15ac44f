"""Mistakes visible before any loss call: a parameter or an argument that is not finite,
and parameters and gradients passed in each other's places (their names say so)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._shapes.rule import grad_label


def _nonfinite(what: str, array: NDArray[Any]) -> str | None:
    """Words for the non-finite entries of a float array, or None when all are finite."""
    if array.dtype.kind not in "fc" or bool(np.all(np.isfinite(array))):
        return None
    bad = np.argwhere(~np.isfinite(array))
    first = tuple(int(i) for i in bad[0])
    value = array[first] if array.ndim else array[()]
    return (
        f"{what} holds {len(bad)} non-finite entr{'y' if len(bad) == 1 else 'ies'} (nan or "
        f"inf), the first at {first} ({value}): no finite difference can be taken there. "
        "Find where it came from (a diverged training step? a log or division of 0?) and "
        "check at finite values"
    )


def refuse_nonfinite(
    names: Sequence[str],
    arrays: Sequence[NDArray[Any]],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
) -> None:
    """Raise ValueError naming the first parameter or argument array holding nan or inf."""
    named = [(f"parameter {name!r}", a) for name, a in zip(names, arrays, strict=True)]
    named += [(f"args[{i}]", a) for i, a in enumerate(args) if isinstance(a, np.ndarray)]
    named += [(f"kwargs[{k!r}]", a) for k, a in kwargs.items() if isinstance(a, np.ndarray)]
    for what, array in named:
        problem = _nonfinite(what, array)
        if problem is not None:
            raise ValueError(problem)


def refuse_swapped_names(grads: object, params: object) -> None:
    """Raise TypeError when the parameters' names are the gradients' names ("dW1" given as
    a parameter, "W1" as its gradient): the two arguments are in each other's places."""
    if not (isinstance(grads, Mapping) and isinstance(params, Mapping)) or not params:
        return
    param_names = {str(k) for k in params}
    grad_names = {str(k) for k in grads}
    if param_names == {grad_label(name) for name in grad_names} != grad_names:
        raise TypeError(
            "params and grads look swapped: the parameters are named like gradients "
            f"({', '.join(sorted(param_names))}) and the gradients like parameters: call "
            "check_gradients(loss, grads, params), the gradients second and the parameters "
            "third"
        )
