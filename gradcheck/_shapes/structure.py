"""Check, cheaply, that gradients have their parameters' structure and shapes.

A gradient mapping must have exactly the parameters' keys (a gradient list, exactly their
number), and each gradient exactly its parameter's shape. This runs on every call of a
``checked_backward`` function, so the passing path is a few tuple
comparisons; only a failure pays for the words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from gradcheck._shapes.rule import classify_shape_slip, describe_shape_slip, grad_label
from gradcheck.errors import GradientShapeError, ShapeProblem

_WHOLE = "(all)"  # the name of a problem of the whole structure


class _Misfit(NamedTuple):
    """One problem and its sentence, written when the problem is found."""

    problem: ShapeProblem
    sentence: str


def _shape(value: Any) -> tuple[int, ...] | None:
    shape = getattr(value, "shape", None)
    if shape is None:
        if isinstance(value, int | float):
            return ()
        return None
    return tuple(int(n) for n in shape)


def fits(params: Any, grads: Any) -> bool:
    """The fast path: ``True`` when every gradient has its parameter's key and shape."""
    try:
        if type(params) is dict:
            if type(grads) is not dict or grads.keys() != params.keys():
                return False
            return all(grads[key].shape == param.shape for key, param in params.items())
        if type(params) is list or type(params) is tuple:
            if len(grads) != len(params) or isinstance(grads, Mapping | str):
                return False
            return all(g.shape == p.shape for g, p in zip(grads, params, strict=True))
    except (AttributeError, TypeError, KeyError):
        return False
    return False  # other containers take the slow path, which also accepts them


def _keys_line(keys: Sequence[str]) -> str:
    return ", ".join(repr(k) for k in keys)


def _wrong_container(params: Any, grads: Any) -> _Misfit:
    kind = "dict" if isinstance(params, Mapping) else "list"
    sentence = (
        f"the gradients are a {type(grads).__name__}, but the parameters are a "
        f"{type(params).__name__}: return a {kind} of gradients in the parameters' "
        + ("keys" if kind == "dict" else "order")
    )
    return _Misfit(ShapeProblem(_WHOLE, None, None, "structure"), sentence)


def _mapping_misfits(params: Mapping[Any, Any], grads: Mapping[Any, Any]) -> list[_Misfit]:
    misfits: list[_Misfit] = []
    keys = _keys_line(list(params))
    for key, param in params.items():
        if key not in grads:
            shape = _shape(param)
            sentence = (
                f"no gradient for {str(key)!r} (shape {shape}): "
                f"the gradients must have the parameters' keys, {keys}"
            )
            misfits.append(_Misfit(ShapeProblem(str(key), shape, None, "missing"), sentence))
    for key in grads:
        if key not in params:
            shape = _shape(grads[key])
            sentence = (
                f"a gradient {str(key)!r} (shape {shape}) for no parameter: "
                f"the parameters' keys are {keys}"
            )
            misfits.append(_Misfit(ShapeProblem(str(key), None, shape, "extra"), sentence))
    for key, param in params.items():
        if key in grads:
            misfits.extend(_one(str(key), param, grads[key]))
    return misfits


def _sequence_misfits(
    params: Sequence[Any], grads: Sequence[Any], names: Sequence[str] | None
) -> list[_Misfit]:
    misfits: list[_Misfit] = []
    if len(grads) != len(params):
        order = f" ({', '.join(names)})" if names is not None else ""
        sentence = (
            f"{len(grads)} gradients for {len(params)} parameters: return one gradient per "
            f"parameter, in the parameters' order{order}"
        )
        misfits.append(_Misfit(ShapeProblem(_WHOLE, None, None, "length"), sentence))
    labels = list(names) if names is not None else [f"params[{i}]" for i in range(len(params))]
    for label, param, grad in zip(labels, params, grads, strict=False):
        misfits.extend(_one(label, param, grad))
    return misfits


def _misfits(params: Any, grads: Any, names: Sequence[str] | None) -> list[_Misfit]:
    """Every way ``grads`` does not fit ``params``; empty when it fits."""
    if isinstance(params, Mapping):
        if not isinstance(grads, Mapping):
            return [_wrong_container(params, grads)]
        return _mapping_misfits(params, grads)
    if isinstance(params, Sequence) and not isinstance(params, str):
        if isinstance(grads, Mapping) or not isinstance(grads, Sequence) or isinstance(grads, str):
            return [_wrong_container(params, grads)]
        return _sequence_misfits(params, grads, names)
    return []


def _one(name: str, param: Any, grad: Any) -> list[_Misfit]:
    param_shape = _shape(param)
    grad_shape = _shape(grad)
    if grad_shape is None:
        sentence = (
            f"{grad_label(name)} is a {type(grad).__name__}, not an array: "
            f"a gradient must be an array shaped like {name}, {param_shape}"
        )
        return [_Misfit(ShapeProblem(name, param_shape, None, "notarray"), sentence)]
    if param_shape is None or param_shape == grad_shape:
        return []
    slip = classify_shape_slip(param_shape, grad_shape) or "other"
    sentence = describe_shape_slip(name, param_shape, grad_shape)
    return [_Misfit(ShapeProblem(name, param_shape, grad_shape, slip), sentence)]


def _d_prefix_hint(problems: Sequence[ShapeProblem]) -> str | None:
    """A hint when the gradients are keyed ``"dW1"`` for a parameter ``"W1"``."""
    missing = [p.name for p in problems if p.kind == "missing"]
    extra = {p.name for p in problems if p.kind == "extra"}
    if missing and all(f"d{key}" in extra for key in missing):
        return (
            "The gradients are keyed 'd' + the parameter's name: key them by the "
            "parameters' own names (grads['W1'], not grads['dW1'])."
        )
    return None


def check_structure(
    function: str, params: Any, grads: Any, names: Sequence[str] | None = None
) -> None:
    """Raise ``GradientShapeError`` unless ``grads`` fits ``params`` exactly.

    Args:
        function: the name to put in the message.
        params: a mapping name -> array, or a list/tuple of arrays.
        grads: the gradients, in the same structure.
        names: names for a list of parameters (default ``params[0]``, ``params[1]``, ...).
    """
    __tracebackhide__ = True
    if fits(params, grads):
        return
    misfits = _misfits(params, grads, names)
    if not misfits:
        return
    problems = tuple(misfit.problem for misfit in misfits)
    lines = [f"{function}() returned gradients that do not fit its parameters:"]
    lines.extend(f"- {misfit.sentence}" for misfit in misfits)
    hint = _d_prefix_hint(problems)
    if hint is not None:
        lines.append(hint)
    raise GradientShapeError("\n".join(lines), function=function, problems=problems)
