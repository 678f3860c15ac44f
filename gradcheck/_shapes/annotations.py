"""Enforce a function's jaxtyping annotations, and say plainly which axis is wrong.

A backward written with jaxtyping annotations, for example::

    def backward(
        params: dict[str, Float[np.ndarray, "..."]],
        X: Float[np.ndarray, "batch d_in"],
        y: Int[np.ndarray, " batch"],
    ) -> dict[str, Float[np.ndarray, "..."]]: ...

is checked with ``jaxtyping.jaxtyped(typechecker=beartype)``: dimension names bind across
the arguments and the return value. When a check fails, jaxtyping raises a
``TypeCheckError`` whose message is a dump of the call. This module replaces it with an
:class:`AnnotationMismatch` that names the argument (or the returned item), its shape, the
axis, the dimension's name, and where that name got its size.

It also walks every item of dicts, lists and tuples itself: beartype checks one item of a
container per call (its O(1) strategy), so a wrong ``params["b2"]`` could pass unnoticed.
"""

from __future__ import annotations

import functools
import re
import typing
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import jaxtyping
from beartype import beartype

__all__ = ["AnnotationMismatch"]

_R = TypeVar("_R")


class AnnotationMismatch(jaxtyping.TypeCheckError):
    """An argument or a return value does not fit the function's jaxtyping annotation.

    It is a ``jaxtyping.TypeCheckError``, hence a ``TypeError``: code that already catches
    jaxtyping's error keeps working. The message says which argument (or which item of the
    return value), its shape, which axis and which dimension name disagree, and where that
    name got its size, e.g.::

        backward(): argument X has shape (800, 3), which does not fit its annotation
        Float[ndarray, 'batch d_in'].
        Axis 1 is d_in = 3 here, but d_in = 2 in params['W1'] (axis 0 of shape (2, 1000)).

    Attributes:
        function: the function's name.
        where: the argument or returned item, e.g. ``"X"``, ``"params['W1']"``,
            ``"return value['W1']"``.
        dimension: the dimension name that disagrees (``"d_in"``, ``"*batch"``), or ``None``
            when the problem is not one dimension (a dtype, a number of axes, a type).
    """

    def __init__(self, message: str, *, function: str, where: str, dimension: str | None):
        super().__init__(message)
        self.function = function
        self.where = where
        self.dimension = dimension


# --------------------------------------------------------------------------- the walker


@dataclass(frozen=True)
class _Binding:
    """Where a dimension name got its size: the first array that used it."""

    value: int | tuple[int, ...]
    where: str
    shape: tuple[int, ...]
    axes: str  # "axis 0" or "axes 0..1"


@dataclass
class _Bindings:
    """Sizes bound to dimension names so far, in the order jaxtyping binds them."""

    single: dict[str, _Binding] = field(default_factory=dict)
    variadic: dict[str, _Binding] = field(default_factory=dict)

    def copy(self) -> _Bindings:
        return _Bindings(dict(self.single), dict(self.variadic))

    def sizes(self) -> dict[str, int]:
        """Name -> size for the single (non-variadic) dimensions."""
        return {name: b.value for name, b in self.single.items() if isinstance(b.value, int)}


@dataclass(frozen=True)
class _Problem:
    """Why one value does not fit its annotation, in words (without the function name)."""

    where: str
    headline: str
    detail: str
    dimension: str | None = None


def _is_array_annotation(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, jaxtyping.AbstractArray)


def _describe_annotation(annotation: object) -> str:
    if _is_array_annotation(annotation):
        return str(getattr(annotation, "__name__", annotation))
    return repr(annotation).replace("typing.", "")


def _shape_of(value: object) -> tuple[int, ...]:
    shape = getattr(value, "shape", ())
    return tuple(int(n) for n in shape)


def _dtype_name(value: object) -> str:
    dtype = getattr(value, "dtype", None)
    kind = getattr(dtype, "type", None)
    return str(getattr(kind, "__name__", dtype))


def _dtype_fits(name: str, dtypes: object) -> bool:
    if not isinstance(dtypes, list | tuple):
        return True  # jaxtyping's "any dtype" sentinel (Shaped[...])
    for allowed in dtypes:
        if isinstance(allowed, str) and name == allowed:
            return True
        if isinstance(allowed, re.Pattern) and allowed.match(name):
            return True
    return False


def _check_array(
    annotation: Any, value: object, where: str, bindings: _Bindings
) -> _Problem | None:
    """Check one value against one jaxtyping array annotation, binding its names."""
    ann_text = _describe_annotation(annotation)
    array_type = annotation.array_type
    if array_type is Any:
        is_array = hasattr(value, "shape") and hasattr(value, "dtype")
    else:
        is_array = isinstance(value, array_type)
    if not is_array:
        expected = getattr(array_type, "__module__", "") + "." + getattr(array_type, "__name__", "")
        return _Problem(
            where,
            f"{where} is a {type(value).__name__}, which does not fit its annotation {ann_text}.",
            f"It needs a {expected.lstrip('.')} (an array with a shape and a dtype).",
        )
    shape = _shape_of(value)
    dtype = _dtype_name(value)
    if not _dtype_fits(dtype, annotation.dtypes):
        allowed = ", ".join(str(getattr(d, "pattern", d)) for d in annotation.dtypes)
        return _Problem(
            where,
            f"{where} has dtype {dtype}, which does not fit its annotation {ann_text}.",
            f"It needs one of: {allowed} (convert it with .astype(...)).",
        )
    dims: tuple[Any, ...] = annotation.dims
    variadic_at: int | None = annotation.index_variadic
    spec = annotation.dim_str
    head = f"{where} has shape {shape}, which does not fit its annotation {ann_text}."
    if variadic_at is None:
        if len(shape) != len(dims):
            return _Problem(
                where,
                head,
                f"It has {len(shape)} axes; the annotation '{spec}' has {len(dims)}.",
            )
        return _check_axes(dims, shape, range(len(shape)), where, head, bindings)
    if len(shape) < len(dims) - 1:
        return _Problem(
            where,
            head,
            f"It has {len(shape)} axes; the annotation '{spec}' needs at least {len(dims) - 1}.",
        )
    after = len(dims) - variadic_at - 1
    stop = len(shape) - after
    prefix = _check_axes(dims[:variadic_at], shape, range(variadic_at), where, head, bindings)
    if prefix is not None:
        return prefix
    suffix = _check_axes(
        dims[variadic_at + 1 :], shape, range(stop, len(shape)), where, head, bindings
    )
    if suffix is not None:
        return suffix
    dim = dims[variadic_at]
    name = getattr(dim, "name", None)
    if name is None:
        return None  # "..." matches any axes
    middle = shape[variadic_at:stop]
    axes = f"axes {variadic_at}..{stop - 1}" if stop - variadic_at != 1 else f"axis {variadic_at}"
    bound = bindings.variadic.get(name)
    if bound is None:
        bindings.variadic[name] = _Binding(middle, where, shape, axes)
        return None
    if bound.value == middle or getattr(dim, "broadcastable", False):
        return None
    return _Problem(
        where,
        head,
        f"{axes.capitalize()} are *{name} = {middle} here, but *{name} = {bound.value} in "
        f"{bound.where} ({bound.axes} of shape {bound.shape}).",
        f"*{name}",
    )


def _check_axes(
    dims: Sequence[Any],
    shape: tuple[int, ...],
    positions: range,
    where: str,
    head: str,
    bindings: _Bindings,
) -> _Problem | None:
    for dim, axis in zip(dims, positions, strict=True):
        size = shape[axis]
        if getattr(dim, "broadcastable", False) and size == 1:
            continue
        if hasattr(dim, "size"):  # a fixed size, "3" or "rows=3"
            if dim.size != size:
                return _Problem(
                    where,
                    head,
                    f"Axis {axis} is {size} here, but the annotation fixes it to {dim.size}.",
                )
            continue
        name = getattr(dim, "name", None)
        if not name:
            continue  # "_" (anonymous) or a symbolic expression: left to jaxtyping
        bound = bindings.single.get(name)
        if bound is None:
            bindings.single[name] = _Binding(size, where, shape, f"axis {axis}")
        elif bound.value != size:
            return _Problem(
                where,
                head,
                f"Axis {axis} is {name} = {size} here, but {name} = {bound.value} in "
                f"{bound.where} ({bound.axes} of shape {bound.shape}).",
                name,
            )
    return None


def _walk(annotation: Any, value: object, where: str, bindings: _Bindings) -> _Problem | None:
    """Check ``value`` against ``annotation`` wherever it holds jaxtyping arrays.

    Containers are walked item by item in order (dict values in key order), the way
    jaxtyping binds names. Whatever is not about arrays (``int``, ``str``, unusual generics)
    is left to beartype.
    """
    if _is_array_annotation(annotation):
        return _check_array(annotation, value, where, bindings)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _walk(args[0], value, where, bindings)
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        return _walk_union(args, value, where, bindings)
    if typing.is_typeddict(annotation) and isinstance(value, Mapping):
        hints = typing.get_type_hints(annotation, include_extras=True)
        for key, hint in hints.items():
            if key in value:
                problem = _walk(hint, value[key], f"{where}[{key!r}]", bindings)
                if problem is not None:
                    return problem
        return None
    if origin is None or not args:
        return None
    if isinstance(origin, type) and issubclass(origin, Mapping) and isinstance(value, Mapping):
        item_ann = args[-1]
        for key, item in value.items():
            problem = _walk(item_ann, item, f"{where}[{key!r}]", bindings)
            if problem is not None:
                return problem
        return None
    if origin is tuple and isinstance(value, tuple):
        if len(args) == 2 and args[1] is Ellipsis:
            item_anns: Sequence[Any] = [args[0]] * len(value)
        elif len(args) == len(value):
            item_anns = args
        else:
            return None  # a wrong length is beartype's to report
        for index, (item_ann, item) in enumerate(zip(item_anns, value, strict=True)):
            problem = _walk(item_ann, item, f"{where}[{index}]", bindings)
            if problem is not None:
                return problem
        return None
    if (
        isinstance(origin, type)
        and issubclass(origin, Sequence)
        and isinstance(value, Sequence)
        and not isinstance(value, str)
    ):
        for index, item in enumerate(value):
            problem = _walk(args[0], item, f"{where}[{index}]", bindings)
            if problem is not None:
                return problem
    return None


def _walk_union(
    options: tuple[Any, ...], value: object, where: str, bindings: _Bindings
) -> _Problem | None:
    if value is None and type(None) in options:
        return None
    first: _Problem | None = None
    for option in options:
        if option is type(None):
            continue
        trial = bindings.copy()
        problem = _walk(option, value, where, trial)
        if problem is None:
            bindings.single, bindings.variadic = trial.single, trial.variadic
            return None
        first = first or problem
    return first


# ---------------------------------------------------------------- the function's checker


def _has_array_annotation(annotation: Any) -> bool:
    if _is_array_annotation(annotation):
        return True
    if typing.is_typeddict(annotation):
        hints = typing.get_type_hints(annotation, include_extras=True)
        return any(_has_array_annotation(hint) for hint in hints.values())
    return any(_has_array_annotation(arg) for arg in typing.get_args(annotation))


def _where_argument(name: str) -> str:
    return f"argument {name}"


_RETURN = "the return value"


class _AnnotationChecker:
    """Checks calls of one function against its jaxtyping annotations.

    Use :func:`_annotation_checker` to build one; it is ``None`` for a function without
    jaxtyping annotations.
    """

    def __init__(self, fn: Callable[..., Any], hints: dict[str, Any]) -> None:
        import inspect

        self.fn = fn
        self.name = getattr(fn, "__name__", "function")
        self.signature = inspect.signature(fn)
        self.arg_hints = {
            name: hint
            for name, hint in hints.items()
            if name != "return" and name in self.signature.parameters
        }
        self.return_hint: Any = hints.get("return")
        self.checks_return = "return" in hints and _has_array_annotation(self.return_hint)
        self._captured: list[Any] = []

        @functools.wraps(fn)
        def capture(*args: Any, **kwargs: Any) -> Any:
            result = fn(*args, **kwargs)
            self._captured.append(result)
            return result

        self._jaxtyped: Callable[..., Any] = jaxtyping.jaxtyped(typechecker=beartype)(capture)

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Bindings:
        """Walk the arguments; raise :class:`AnnotationMismatch` at the first misfit."""
        __tracebackhide__ = True
        bound = self.signature.bind(*args, **kwargs)
        bindings = _Bindings()
        for name, value in bound.arguments.items():
            hint = self.arg_hints.get(name)
            if hint is None:
                continue
            kind = self.signature.parameters[name].kind
            if kind is kind.VAR_POSITIONAL:
                items = value
                paths = [f"{name}[{i}]" for i in range(len(items))]
            elif kind is kind.VAR_KEYWORD:
                items = list(value.values())
                paths = [f"{name}[{key!r}]" for key in value]
            else:
                items, paths = [value], [name]
            for item, path in zip(items, paths, strict=True):
                problem = _walk(hint, item, path, bindings)
                if problem is not None:
                    self._raise(problem, where_prefix="argument ")
        return bindings

    def check_return(self, result: Any, bindings: _Bindings) -> None:
        """Walk the return value with the arguments' bindings; raise at the first misfit."""
        if not self.checks_return:
            return
        problem = _walk(self.return_hint, result, "return value", bindings)
        if problem is not None:
            self._raise(problem, where_prefix="the ")

    def call(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        inspect_result: Callable[[Any], None] | None = None,
    ) -> Any:
        """Call the function with every annotation enforced; return its result.

        The arguments are walked first (so a wrong argument is reported before the
        function runs), then jaxtyping+beartype check the call, then the return value is
        walked item by item. ``inspect_result(result)``, if given, runs before any verdict
        on the return value, so that its own (more specific) error wins.
        """
        __tracebackhide__ = True
        bindings = self.bind(args, kwargs)
        self._captured.clear()
        failure: str | None = None
        try:
            result = self._jaxtyped(*args, **kwargs)
        except jaxtyping.TypeCheckError as error:
            failure = str(error)  # handled below, outside the except: no chained traceback
        captured = self._captured[:1]
        self._captured.clear()
        if failure is not None:
            if captured:
                if inspect_result is not None:
                    inspect_result(captured[0])
                self.check_return(captured[0], bindings)
            self._raise_from_jaxtyping(failure)
        if inspect_result is not None:
            inspect_result(result)
        self.check_return(result, bindings)
        return result

    def _raise(self, problem: _Problem, *, where_prefix: str) -> typing.NoReturn:
        __tracebackhide__ = True
        lines = [
            f"{self.name}(): {where_prefix}{problem.headline}",
            problem.detail,
        ]
        if problem.dimension is not None:
            lines.append(
                "A dimension name stands for one size across all the arguments and the return "
                "value: fix the array (or the annotation, if it is the one that is wrong)."
            )
        raise AnnotationMismatch(
            "\n".join(lines), function=self.name, where=problem.where, dimension=problem.dimension
        ) from None

    def _raise_from_jaxtyping(self, text: str) -> typing.NoReturn:
        """Re-raise a jaxtyping message the walker could not explain (a non-array hint)."""
        param = re.search(r"typechecking parameter '([^']+)'", text)
        actual = re.search(r"^Actual value: (.*)$", text, re.MULTILINE)
        expected = re.search(r"^Expected type: (.*?)\.?$", text, re.MULTILINE)
        where = f"argument {param.group(1)}" if param else _RETURN
        expected_text = expected.group(1) if expected else "its annotation"
        expected_text = re.sub(r"^<class '(.*)'>$", r"\1", expected_text)
        actual_text = actual.group(1) if actual else "a value"
        marker = "The current values for each jaxtyping axis annotation are as follows.\n"
        sizes = text.split(marker, 1)[1].split("\n") if marker in text else []
        lines = [
            f"{self.name}(): {where} is {actual_text}, which does not fit its annotation "
            f"{expected_text}."
        ]
        if sizes:
            lines.append("Dimension sizes bound so far: " + ", ".join(sizes) + ".")
        raise AnnotationMismatch(
            "\n".join(lines),
            function=self.name,
            where=param.group(1) if param else "return value",
            dimension=None,
        ) from None


def _annotation_checker(fn: Callable[..., Any]) -> _AnnotationChecker | None:
    """A checker for ``fn``'s jaxtyping annotations, or ``None`` if it has none.

    Annotations that cannot be resolved (a name not defined at module level under
    ``from __future__ import annotations``) are skipped with a warning.
    """
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as error:  # NameError, TypeError from odd annotations
        raw = getattr(fn, "__annotations__", {})
        if any("[" in str(hint) for hint in raw.values()):
            warnings.warn(
                f"gradcheck cannot resolve the annotations of {getattr(fn, '__name__', fn)}() "
                f"({error}); they are not enforced. Define the names they use at module level.",
                stacklevel=3,
            )
        return None
    if not any(_has_array_annotation(hint) for hint in hints.values()):
        return None
    return _AnnotationChecker(fn, hints)


def _bind_dims(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, int]:
    """Dimension name -> size from ``fn``'s annotations and these arguments ({} if none).

    Raises :class:`AnnotationMismatch` if the arguments do not fit the annotations.
    """
    checker = _annotation_checker(fn)
    if checker is None:
        return {}
    return checker.bind(args, kwargs).sizes()
