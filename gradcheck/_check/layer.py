"""check_layer: check a layer written as ``forward(*inputs) -> (out, cache)`` and
``backward(dout, cache) -> gradients in input order`` (the cs231n convention).

A layer has no loss, so one is made: ``L = Σ out ⊙ dout`` with a fixed random upstream
gradient ``dout``. Then ``∂L/∂input`` is exactly what ``backward(dout, cache)`` must return,
and :func:`check_gradients` checks it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._check.check import check_gradients
from gradcheck._check.report import GradientReport


def _input_names(forward: Callable[..., Any], count: int) -> list[str]:
    try:
        parameters = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = []
    for i in range(count):
        if i < len(parameters) and parameters[i].kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            names.append(parameters[i].name)
        else:
            names.append(f"inputs[{i}]")
    return names


def _split_output(value: object, forward: Callable[..., Any]) -> tuple[NDArray[Any], object]:
    name = getattr(forward, "__name__", "forward")
    if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], np.ndarray)):
        raise TypeError(
            f"{name} must return (out, cache) with out a NumPy array; got "
            f"{type(value).__name__}. check_layer is for the forward/backward pair "
            "convention; for a loss function use check_gradients"
        )
    out, cache = value
    if out.dtype.kind != "f":
        raise TypeError(f"{name}'s output has dtype {out.dtype}; it must be floating point")
    return out, cache


def check_layer(
    forward: Callable[..., Any],
    backward: Callable[[Any, Any], Any],
    *inputs: Any,
    seed: int | None = 0,
    **check_options: Any,
) -> GradientReport:
    """Check a layer's backward against finite differences of its forward.

    >>> report = gradcheck.check_layer(affine_forward, affine_backward, x, w, b)  # doctest: +SKIP
    >>> report["w"].passed                                                        # doctest: +SKIP

    Args:
        forward: ``forward(*inputs) -> (out, cache)``.
        backward: ``backward(dout, cache)`` returning one gradient per floating-point input,
            in input order (a tuple, or a single array when there is one such input).
            Integer arrays (labels, indices) and other arguments (option dicts, scalars)
            are passed to ``forward`` unchanged and get no gradient; a backward that also
            returns ``None`` in their places is accepted.
        inputs: the layer's inputs, as ``forward`` takes them positionally. Never modified.
        seed: seeds the upstream gradient ``dout`` (standard normal, shaped like ``out``)
            and the check's random directions.
        check_options: passed to :func:`check_gradients` (``full=True``, ...).

    Returns:
        A :class:`GradientReport` whose parameters are named after ``forward``'s own
        parameters (``x``, ``w``, ``b``, ...).
    """
    __tracebackhide__ = True
    checked = [
        i
        for i, value in enumerate(inputs)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f"
    ]
    if not checked:
        raise TypeError(
            "check_layer found no floating-point array among the inputs, so there is "
            "nothing to check: pass the layer's inputs as forward takes them"
        )
    names = _input_names(forward, len(inputs))
    out, cache = _split_output(forward(*inputs), forward)
    rng = np.random.default_rng(seed)
    dout = rng.standard_normal(out.shape).astype(out.dtype)
    dout64 = dout.astype(np.float64)

    def with_params(params: list[NDArray[Any]]) -> list[Any]:
        full = list(inputs)
        for position, array in zip(checked, params, strict=True):
            full[position] = array
        return full

    def loss(params: list[NDArray[Any]]) -> float:
        out_now, _ = _split_output(forward(*with_params(params)), forward)
        if out_now.shape != out.shape:
            raise ValueError(f"the output's shape changed from {out.shape} to {out_now.shape}")
        # Elementwise product and numpy's pairwise sum, not np.vdot: BLAS's dot product
        # rounds differently on different CPUs, and a layer's check should not.
        return float(np.sum(out_now.astype(np.float64) * dout64))

    grads = backward(dout, cache)
    if isinstance(grads, np.ndarray):
        grads = (grads,)
    if not isinstance(grads, tuple | list):
        raise TypeError(
            f"backward must return a tuple of gradients (or one array); got {type(grads).__name__}"
        )
    if len(grads) == len(inputs) and len(inputs) != len(checked):
        grads = [grads[i] for i in checked]
    elif len(grads) != len(checked):
        raise TypeError(
            f"backward returned {len(grads)} gradients, but the layer has {len(checked)} "
            f"floating-point inputs ({', '.join(names[i] for i in checked)}): return one "
            "gradient per input, in the order forward takes them"
        )
    return check_gradients(
        loss,
        list(grads),
        [inputs[i] for i in checked],
        names=[names[i] for i in checked],
        seed=seed,
        **check_options,
    )
