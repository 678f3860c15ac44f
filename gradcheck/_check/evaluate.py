"""Call the user's loss at perturbed parameters without ever changing the user's arrays.

Two ways to call a loss:

* by argument (the usual): ``loss(params, *args, **kwargs)``. The loss gets private copies;
  the user's arrays are never touched.
* in place (cs231n's ``model.loss(X, y)``, or a zero-argument closure): the loss reads the
  user's own arrays, so they are perturbed in place and restored bit for bit after every
  call, in a ``finally`` block, so also when the loss raises.

After each call the arrays the loss was given are compared, bit for bit, with what it was
given: a loss that writes into its inputs gets its parameter reported as ``mutated``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._check import budget
from gradcheck._check.inputs import ParamLayout, bitwise_equal
from gradcheck._numerics.loss import LossResult


def wants_params(loss: Callable[..., Any], n_args: int, params: object) -> bool:
    """Whether ``loss`` takes the parameters as its first argument.

    It does when its signature has room for one more positional argument than ``args``
    supplies. It does not (in-place mode) when it has no such room: a zero-argument
    closure, or cs231n's ``model.loss(X, y=None)`` called with ``args=(X, y)``. A signature
    with ``*args`` decides nothing; then a bound method of an object whose ``params.py`` is
    the very mapping being checked reads them in place, and anything else takes them.
    """
    owner = getattr(loss, "__self__", None)
    reads_own_params = owner is not None and getattr(owner, "params", None) is params
    try:
        signature = inspect.signature(loss)
    except (TypeError, ValueError):
        return not reads_own_params
    positional = 0
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return not reads_own_params
        if parameter.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            positional += 1
    return positional > n_args


def parse_loss_value(value: object) -> LossResult:
    """Split a loss's return value into (float, dtype, gradients or None)."""
    grads: object | None = None
    if isinstance(value, tuple | list) and len(value) == 2:
        value, grads = value
    array = np.asarray(value)
    if array.dtype == object or array.dtype.kind not in "fiub":
        raise TypeError(
            f"the loss must return a real number (or a (loss, grads) pair); got "
            f"{type(value).__name__} {value!r:.80}"
        )
    if array.ndim != 0:
        raise ValueError(
            f"the loss must return a scalar, but it returned an array of shape "
            f"{array.shape}: reduce it to one number (e.g. .mean() or .sum() over the batch)"
        )
    dtype = array.dtype if array.dtype.kind == "f" else np.dtype(np.float64)
    return float(array), dtype, grads


class Evaluator:
    """Evaluates the user's loss with some parameters replaced, counting calls."""

    def __init__(
        self,
        loss: Callable[..., Any],
        layout: ParamLayout,
        user_arrays: list[NDArray[Any]],
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        *,
        inplace: bool,
    ) -> None:
        self.loss = loss
        self.layout = layout
        self.user_arrays = user_arrays
        self.args = args
        self.kwargs = dict(kwargs)
        self.inplace = inplace
        self.snapshots = [np.array(a, copy=True, order="C") for a in user_arrays]
        # In copy mode the loss sees these, never the user's arrays.
        self.work = [s.copy() for s in self.snapshots]
        self.calls = 0
        self.mutated: set[int] = set()
        #: The loss returned an integer (a Python int, a NumPy integer or bool) at least once.
        self.whole_numbers = False
        #: Where in the check we are, for the note added to an exception the user's code raises.
        self.context = ""

    def restore(self) -> None:
        """Put the user's arrays back, bit for bit (in-place mode only touches them)."""
        if self.inplace:
            for array, snapshot in zip(self.user_arrays, self.snapshots, strict=True):
                if not bitwise_equal(array, snapshot):
                    np.copyto(array, snapshot, casting="no")

    def call_user(
        self, fn: Callable[..., Any], replaced: Mapping[int, NDArray[Any]] | None = None
    ) -> Any:
        """Call ``fn`` (the loss, or a gradient function) with ``replaced`` parameters."""
        replaced = replaced or {}
        if fn is self.loss:
            budget.spend()  # raises BudgetSpent when this call would exceed the budget
            self.calls += 1
        given: list[NDArray[Any]] = []
        expected: list[NDArray[Any]] = []
        try:
            if self.inplace:
                for index, values in replaced.items():
                    np.copyto(self.user_arrays[index], values, casting="no")
                expected = [replaced.get(i, s) for i, s in enumerate(self.snapshots)]
                given = self.user_arrays
                with budget.quieted():
                    return fn(*self.args, **self.kwargs)
            given = [
                replaced[i].copy() if i in replaced else work for i, work in enumerate(self.work)
            ]
            expected = [replaced.get(i, s) for i, s in enumerate(self.snapshots)]
            with budget.quieted():
                return fn(self.layout.build(given), *self.args, **self.kwargs)
        except Exception as exc:
            what = "the loss" if fn is self.loss else "the gradient function"
            exc.add_note(
                f"gradcheck: raised by {what} {self.context}; your arrays were left unchanged"
            )
            raise
        finally:
            for index, (array, want) in enumerate(zip(given, expected, strict=True)):
                if not bitwise_equal(array, want):
                    self.mutated.add(index)
                    if not self.inplace and index not in replaced:
                        np.copyto(self.work[index], self.snapshots[index], casting="no")
            self.restore()

    def name(self, index: int) -> str:
        """The name of parameter ``index``."""
        return self.layout.names[index]

    def __call__(self, replaced: Mapping[int, NDArray[Any]] | None = None) -> LossResult:
        value = self.call_user(self.loss, replaced)
        loss = value[0] if isinstance(value, tuple | list) and len(value) == 2 else value
        self.whole_numbers |= np.asarray(loss).dtype.kind in "iub"
        return parse_loss_value(value)
