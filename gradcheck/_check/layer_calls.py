"""How check_layer calls a user's ``forward`` and ``backward``: always on private copies of
the inputs, with a note on any exception that says which call raised, and a record of
what each call wrote into."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._check.inputs import bitwise_equal, describe

#: For a loss layer passed as a forward (``svm_loss(x, y) -> (loss, dx)``).
_LOSS_LAYER = (
    ". A loss layer that returns (loss, dx) is checked with check_gradients: "
    "gradcheck.check_gradients(lambda x: {name}(x, y), None, x)"
)


def _shapes(values: Sequence[Any]) -> str:
    return ", ".join(
        f"{type(v).__name__}{tuple(v.shape)}" if isinstance(v, np.ndarray) else type(v).__name__
        for v in values
    )


def _private(value: Any) -> Any:
    """A copy the user's code may change at will: arrays copied, option dicts deep-copied
    (a forward may update batchnorm's running averages); anything uncopyable as it is."""
    if isinstance(value, np.ndarray):
        return value.copy()
    try:
        return copy.deepcopy(value)
    except Exception:
        return value


@dataclass
class LayerCalls:
    """A layer's ``forward`` and ``backward``, its inputs, and what its calls wrote into."""

    forward: Callable[..., Any]
    backward: Callable[..., Any]
    inputs: tuple[Any, ...]
    outputs: int | None = None
    #: Input position -> "forward" or "backward", the first call that wrote into it.
    writers: dict[int, str] = field(default_factory=dict)
    dout_written: bool = False

    def __post_init__(self) -> None:
        self.snapshots = [_private(value) for value in self.inputs]
        self.checked = [
            i
            for i, value in enumerate(self.inputs)
            if isinstance(value, np.ndarray) and value.dtype.kind == "f"
        ]
        self.names = _input_names(self.forward, len(self.inputs))
        self.forward_name = getattr(self.forward, "__name__", "forward")
        self.backward_name = getattr(self.backward, "__name__", "backward")

    # ------------------------------------------------------------------- the calls

    def run_forward(
        self, replaced: Mapping[int, NDArray[Any]], phase: str
    ) -> tuple[list[NDArray[Any]], Any, list[Any]]:
        """Forward on private copies of the inputs (``replaced`` at some positions); its
        outputs, its cache, and the inputs it was given."""
        given = [
            replaced[i] if i in replaced else _private(s) for i, s in enumerate(self.snapshots)
        ]
        value = self._call(self.forward, given, "forward", phase)
        outputs, cache = self._split(value)
        return outputs, cache, given

    def first_pass(self, rng: np.random.Generator) -> tuple[list[NDArray[Any]], Any]:
        """Forward and backward once at the given inputs: the outputs and what backward
        returned. Records any input either call wrote into, and a written ``dout``."""
        outputs, cache, given = self.run_forward({}, "at the given inputs")
        self._note_writes(given, "forward")
        douts = [rng.standard_normal(out.shape).astype(out.dtype) for out in outputs]
        handed = [d.copy() for d in douts]
        grads = self._call(self.backward, [*handed, cache], "backward", "at the given inputs")
        self._note_writes(given, "backward")  # through its cache, which may hold the inputs
        self.dout_written = not all(map(bitwise_equal, handed, douts))
        return douts, grads

    def _note_writes(self, given: Sequence[Any], caller: str) -> None:
        for i in self.checked:
            if i not in self.writers and not bitwise_equal(given[i], self.snapshots[i]):
                self.writers[i] = caller

    def _call(self, fn: Callable[..., Any], args: list[Any], role: str, phase: str) -> Any:
        __tracebackhide__ = True
        try:
            return fn(*args)
        except Exception as error:
            name = getattr(fn, "__name__", role)
            error.add_note(
                f"gradcheck: raised by {name}() (the layer's {role}), called by check_layer "
                f"{phase}, with arguments {_shapes(args)}; your arrays were left unchanged"
            )
            raise

    # ------------------------------------------------------------ what forward returns

    def _split(self, value: object) -> tuple[list[NDArray[Any]], Any]:
        """``(out_1, ..., out_k, cache)`` -> the outputs and the cache."""
        shape = "(out, cache), or (out_1, ..., out_k, cache) for k outputs,"
        if not isinstance(value, tuple) or len(value) < 2:
            raise TypeError(
                f"{self.forward_name} must return {shape} with each out a NumPy array; got "
                f"{type(value).__name__}. check_layer is for the forward/backward pair "
                "convention; for a loss function use check_gradients"
            )
        count = len(value) - 1 if self.outputs is None else self.outputs
        if len(value) != count + 1:
            raise TypeError(
                f"{self.forward_name} returned {len(value)} values, but outputs={count} "
                f"means {count} outputs and a cache: return {shape} or change outputs="
            )
        outputs = list(value[:count])
        for k, out in enumerate(outputs):
            if not isinstance(out, np.ndarray) or out.dtype.kind != "f":
                loss_layer = "" if isinstance(out, np.ndarray) else _LOSS_LAYER
                loss_layer = loss_layer.format(name=self.forward_name)
                raise TypeError(
                    f"{self.forward_name}'s output {k} is {describe(out)}, not an array of floats: "
                    f"it must return {shape.rstrip(',')} (set outputs= if the cache is not "
                    f"the last value){loss_layer}"
                )
        return outputs, value[-1]


def _input_names(forward: Callable[..., Any], count: int) -> list[str]:
    try:
        parameters = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [
        parameters[i].name
        if i < len(parameters) and parameters[i].kind in positional
        else f"inputs[{i}]"
        for i in range(count)
    ]


def check_signatures(
    forward: Callable[..., Any], backward: Callable[..., Any], inputs: Sequence[Any]
) -> None:
    """A clear error when ``forward`` cannot take the inputs (and a hint when it looks as if
    forward and backward were passed the other way round)."""
    try:
        inspect.signature(forward).bind(*inputs)
    except ValueError:
        return  # no signature to read (a builtin): the call will tell
    except TypeError as error:
        swapped = ""
        try:
            inspect.signature(backward).bind(*inputs)
            swapped = (
                "; backward would take them: are forward and backward passed the other way "
                "round? Call check_layer(forward, backward, *inputs)"
            )
        except (TypeError, ValueError):
            pass
        name = getattr(forward, "__name__", "forward")
        raise TypeError(
            f"{name}() cannot take the {len(inputs)} inputs given to check_layer ({error}){swapped}"
        ) from None
