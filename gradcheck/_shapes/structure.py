"""Check, cheaply, that gradients have their parameters' structure and shapes.

A gradient mapping must have exactly the parameters' keys (a gradient list, exactly their
number), and each gradient exactly its parameter's shape. This runs on every call of a
:func:`gradcheck.checked_backward` function, so the passing path is a few tuple
comparisons; only a failure pays for the words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gradcheck._shapes import ShapeSlip, classify_shape_slip, describe_shape_slip

__all__ = ["GradientShapeError"]


class GradientShapeError(AssertionError):
    """Gradients that do not have their parameters' structure or shapes.

    Raised by a :func:`gradcheck.checked_backward` function on the call that returned them.
    The message has one line per wrong gradient, naming the parameter, showing both shapes
    and saying what the difference looks like, e.g.::

        backward() returned gradients that do not fit its parameters:
        - dW2 has shape (2, 1000) but W2 has shape (1000, 2): the axes are reversed, ...

    Attributes:
        function: the decorated function's name.
        problems: one ``(name, param_shape, grad_shape, slip)`` per wrong gradient, where
            ``slip`` is ``"transposed"``, ``"keepdims"``, ``"batch"``, ``"other"``,
            ``"missing"`` (no gradient for that parameter; ``grad_shape`` is ``None``),
            ``"extra"`` (a gradient without a parameter; ``param_shape`` is ``None``) or
            ``"structure"`` (e.g. a list of gradients for a dict of parameters).
    """

    def __init__(
        self,
        message: str,
        *,
        function: str,
        problems: tuple[tuple[str, tuple[int, ...] | None, tuple[int, ...] | None, str], ...],
    ) -> None:
        super().__init__(message)
        self.function = function
        self.problems = problems


_Problem = tuple[str, tuple[int, ...] | None, tuple[int, ...] | None, str]


def _shape(value: Any) -> tuple[int, ...] | None:
    shape = getattr(value, "shape", None)
    if shape is None:
        if isinstance(value, int | float):
            return ()
        return None
    return tuple(int(n) for n in shape)


def _fits(params: Any, grads: Any) -> bool:
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


def _problems(params: Any, grads: Any, names: Sequence[str] | None) -> list[_Problem]:
    """Every way ``grads`` does not fit ``params``; empty when it fits."""
    if isinstance(params, Mapping):
        if not isinstance(grads, Mapping):
            return [("(all)", None, None, f"structure:{type(grads).__name__}")]
        problems: list[_Problem] = []
        for key, param in params.items():
            if key not in grads:
                problems.append((str(key), _shape(param), None, "missing"))
        for key in grads:
            if key not in params:
                problems.append((str(key), None, _shape(grads[key]), "extra"))
        for key, param in params.items():
            if key in grads:
                problems.extend(_one(str(key), param, grads[key]))
        return problems
    if isinstance(params, Sequence) and not isinstance(params, str):
        labels = list(names) if names is not None else [f"params[{i}]" for i in range(len(params))]
        if isinstance(grads, Mapping) or not isinstance(grads, Sequence) or isinstance(grads, str):
            return [("(all)", None, None, f"structure:{type(grads).__name__}")]
        problems = []
        if len(grads) != len(params):
            problems.append(("(all)", None, None, f"length:{len(grads)}:{len(params)}"))
        for label, param, grad in zip(labels, params, grads, strict=False):
            problems.extend(_one(label, param, grad))
        return problems
    return []


def _one(name: str, param: Any, grad: Any) -> list[_Problem]:
    param_shape = _shape(param)
    grad_shape = _shape(grad)
    if grad_shape is None:
        return [(name, param_shape, None, f"notarray:{type(grad).__name__}")]
    if param_shape is None or param_shape == grad_shape:
        return []
    slip: ShapeSlip | None = classify_shape_slip(param_shape, grad_shape)
    return [(name, param_shape, grad_shape, slip or "other")]


def _sentence(problem: _Problem, params: Any, grads: Any, names: Sequence[str] | None) -> str:
    name, param_shape, grad_shape, slip = problem
    if slip == "missing":
        return (
            f"no gradient for {name!r} (shape {param_shape}): "
            f"the gradients must have the parameters' keys, {_keys_line(list(params))}"
        )
    if slip == "extra":
        return (
            f"a gradient {name!r} (shape {grad_shape}) for no parameter: "
            f"the parameters' keys are {_keys_line(list(params))}"
        )
    if slip.startswith("structure:"):
        kind = "dict" if isinstance(params, Mapping) else "list"
        return (
            f"the gradients are a {slip.split(':', 1)[1]}, but the parameters are a "
            f"{type(params).__name__}: return a {kind} of gradients in the parameters' "
            + ("keys" if kind == "dict" else "order")
        )
    if slip.startswith("length:"):
        _, got, want = slip.split(":")
        order = f" ({', '.join(names)})" if names is not None else ""
        return (
            f"{got} gradients for {want} parameters: return one gradient per parameter, "
            f"in the parameters' order{order}"
        )
    if slip.startswith("notarray:"):
        return (
            f"d{name} is a {slip.split(':', 1)[1]}, not an array: "
            f"a gradient must be an array shaped like {name}, {param_shape}"
        )
    assert param_shape is not None
    assert grad_shape is not None
    return describe_shape_slip(name, param_shape, grad_shape)


def _check_structure(
    function: str, params: Any, grads: Any, names: Sequence[str] | None = None
) -> None:
    """Raise :class:`GradientShapeError` unless ``grads`` fits ``params`` exactly.

    Args:
        function: the name to put in the message.
        params: a mapping name -> array, or a list/tuple of arrays.
        grads: the gradients, in the same structure.
        names: names for a list of parameters (default ``params[0]``, ``params[1]``, ...).
    """
    __tracebackhide__ = True
    if _fits(params, grads):
        return
    problems = _problems(params, grads, names)
    if not problems:
        return
    lines = [f"{function}() returned gradients that do not fit its parameters:"]
    lines.extend(f"- {_sentence(p, params, grads, names)}" for p in problems)
    if isinstance(params, Mapping) and isinstance(grads, Mapping):
        missing = [p[0] for p in problems if p[3] == "missing"]
        extra = {p[0] for p in problems if p[3] == "extra"}
        if missing and all(f"d{key}" in extra for key in missing):
            lines.append(
                "The gradients are keyed 'd' + the parameter's name: key them by the "
                "parameters' own names (grads['W1'], not grads['dW1'])."
            )
    raise GradientShapeError("\n".join(lines), function=function, problems=tuple(problems))
