"""Enforce a function's jaxtyping annotations, and say plainly which argument is wrong.

A call is checked in two passes. The walker (``gradcheck._shapes.walker``) checks
every array, item by item, and says where a dimension got its size. Then
``beartype.door.is_bearable`` checks each argument and the return value against its whole
hint (``int``, ``Literal``, unions, symbolic sizes such as ``"n+1"``), inside a
``jaxtyping.jaxtyped`` scope so that dimension names bind across them. The
``AnnotationMismatch`` is worded here from what we know (which argument, its value,
its hint), never from another library's message.
"""

from __future__ import annotations

import functools
import inspect
import reprlib
import typing
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import jaxtyping
from beartype.door import is_bearable

from gradcheck._shapes.axes import annotation_name, axes_of, is_array_annotation
from gradcheck._shapes.walker import Bindings, Misfit, has_array_annotation, walk
from gradcheck.errors import AnnotationMismatch

_RETURN = "return value"
_SAME_SIZE = (
    "A dimension name stands for one size across all the arguments and the return value: "
    "fix the array (or the annotation, if it is the one that is wrong)."
)
_NOT_CALLED = object()  # the function did not run: an argument did not fit


class _Outcome(NamedTuple):
    """What a call in the jaxtyped scope gave: a result, a misfit, or the function's error."""

    result: Any = _NOT_CALLED
    misfit: tuple[str, Any, Any] | None = None  # (where, value, hint)
    error: Exception | None = None


class _ShortRepr(reprlib.Repr):
    """A value shortened for a message; an array shows its type and shape only."""

    def __init__(self) -> None:
        super().__init__()
        self.maxstring = self.maxother = 60

    def repr1(self, x: Any, level: int) -> str:
        if hasattr(x, "shape") and hasattr(x, "dtype"):
            return f"<{type(x).__name__} of shape {tuple(x.shape)}>"
        return super().repr1(x, level)


_short = _ShortRepr()


def describe_hint(hint: Any) -> str:
    """A hint as a reader writes it: ``int``, ``dict[str, Float[ndarray, 'n']]``."""
    if is_array_annotation(hint):
        return annotation_name(hint)
    if hint is None or hint is type(None):
        return "None"
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        return describe_hint(args[0])
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        return " | ".join(describe_hint(arg) for arg in args)
    if origin is typing.Literal:
        return f"Literal[{', '.join(repr(arg) for arg in args)}]"
    if origin is not None and args:
        inner = ", ".join("..." if arg is Ellipsis else describe_hint(arg) for arg in args)
        return f"{getattr(origin, '__qualname__', origin)}[{inner}]"
    if isinstance(hint, type):
        return hint.__qualname__
    return repr(hint).replace("typing.", "")


def _unbearable(where: str, value: object, hint: Any, bindings: Bindings) -> Misfit:
    """Words for a value that jaxtyping and beartype reject but the walker let through."""
    has_arrays = has_array_annotation(hint)
    if has_arrays and hasattr(value, "shape"):
        head = f"{where} has shape {tuple(value.shape)}"
    else:
        head = f"{where} is {_short.repr(value)}"
    sizes = bindings.text() if has_arrays else ""
    return Misfit(
        where,
        f"{head}, which does not fit its annotation {describe_hint(hint)}.",
        f"Dimension sizes bound so far: {sizes}." if sizes else "",
    )


class AnnotationChecker:
    """Checks calls of one function against its jaxtyping annotations.

    Use ``annotation_checker`` to build one; it is ``None`` for a function without
    jaxtyping annotations.
    """

    def __init__(self, fn: Callable[..., Any], hints: dict[str, Any]) -> None:
        self.fn = fn
        self.name = getattr(fn, "__name__", "function")
        self.signature = inspect.signature(fn)
        self.arg_hints = {
            name: hint
            for name, hint in hints.items()
            if name != "return" and name in self.signature.parameters
        }
        self.has_return_hint = "return" in hints
        self.return_hint: Any = hints.get("return")
        self.walks_return = self.has_return_hint and has_array_annotation(self.return_hint)

        # In a jaxtyped scope, dimension names bind across every is_bearable check it
        # makes (https://docs.kidger.site/jaxtyping/api/runtime-type-checking/).
        @functools.wraps(fn)
        def run_in_scope(*args: Any, **kwargs: Any) -> _Outcome:
            for where, value, hint in self._arguments(args, kwargs):
                if not is_bearable(value, hint):
                    return _Outcome(misfit=(where, value, hint))
            try:
                result = fn(*args, **kwargs)
            except Exception as error:  # raised outside the scope, which would add a note
                return _Outcome(error=error)
            if self.has_return_hint and not is_bearable(result, self.return_hint):
                return _Outcome(result, misfit=(_RETURN, result, self.return_hint))
            return _Outcome(result)

        self._run_in_scope = jaxtyping.jaxtyped(typechecker=None)(run_in_scope)

    def _arguments(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> list[tuple[str, Any, Any]]:
        """``(where, value, hint)`` for each annotated argument (each item of ``*args``)."""
        bound = self.signature.bind(*args, **kwargs)
        out: list[tuple[str, Any, Any]] = []
        for name, value in bound.arguments.items():
            hint = self.arg_hints.get(name)
            if hint is None:
                continue
            kind = self.signature.parameters[name].kind
            if kind is kind.VAR_POSITIONAL:
                out.extend((f"{name}[{i}]", item, hint) for i, item in enumerate(value))
            elif kind is kind.VAR_KEYWORD:
                out.extend((f"{name}[{key!r}]", item, hint) for key, item in value.items())
            else:
                out.append((name, value, hint))
        return out

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Bindings:
        """Walk the arguments; raise ``AnnotationMismatch`` at the first misfit."""
        __tracebackhide__ = True
        bindings = Bindings()
        for where, value, hint in self._arguments(args, kwargs):
            misfit = walk(hint, value, where, bindings)
            if misfit is not None:
                self._raise(misfit, where_prefix="argument ")
        return bindings

    def check_return(self, result: Any, bindings: Bindings) -> None:
        """Walk the return value with the arguments' bindings; raise at the first misfit."""
        if not self.walks_return:
            return
        misfit = walk(self.return_hint, result, _RETURN, bindings)
        if misfit is not None:
            self._raise(misfit, where_prefix="the ")

    def call(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        inspect_result: Callable[[Any], None] | None = None,
    ) -> Any:
        """Call the function with every annotation enforced; return its result.

        The arguments are walked first (so a wrong argument is reported before the
        function runs), then checked whole in the jaxtyped scope, then the return value
        is walked item by item and checked whole. ``inspect_result(result)``, if given,
        runs before any verdict on the return value, so that its own (more specific)
        error wins.
        """
        __tracebackhide__ = True
        bindings = self.bind(args, kwargs)
        outcome = self._run_in_scope(*args, **kwargs)
        if outcome.error is not None:
            raise outcome.error
        if outcome.misfit is not None and outcome.result is _NOT_CALLED:
            self._raise(_unbearable(*outcome.misfit, bindings), where_prefix="argument ")
        if inspect_result is not None:
            inspect_result(outcome.result)
        self.check_return(outcome.result, bindings)
        if outcome.misfit is not None:
            self._raise(_unbearable(*outcome.misfit, bindings), where_prefix="the ")
        return outcome.result

    def _raise(self, misfit: Misfit, *, where_prefix: str) -> typing.NoReturn:
        __tracebackhide__ = True
        lines = [f"{self.name}(): {where_prefix}{misfit.headline}"]
        if misfit.detail:
            lines.append(misfit.detail)
        if misfit.dimension is not None:
            lines.append(_SAME_SIZE)
        raise AnnotationMismatch(
            "\n".join(lines), function=self.name, where=misfit.where, dimension=misfit.dimension
        ) from None


def annotation_checker(fn: Callable[..., Any]) -> AnnotationChecker | None:
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
    if not any(has_array_annotation(hint) for hint in hints.values()):
        return None
    return AnnotationChecker(fn, hints)


def bind_dims(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, int]:
    """Dimension name -> size from ``fn``'s annotations and these arguments ({} if none).

    Raises ``AnnotationMismatch`` if the arguments do not fit the annotations.
    """
    checker = annotation_checker(fn)
    if checker is None:
        return {}
    return checker.bind(args, kwargs).sizes()


def axis_names(fn: Callable[..., Any]) -> dict[str, tuple[str, ...]]:
    """Parameter name -> its axes' names, from ``fn``'s jaxtyping annotations
    (``Float[np.ndarray, "N T D"]`` gives ``("N", "T", "D")``, a fixed size its number);
    parameters whose annotation has a variadic, anonymous or symbolic axis (``*batch``,
    ``_``, ``n+1``), or none at all, are left out."""
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:  # unresolvable annotations: annotation_checker warns about them
        return {}
    names: dict[str, tuple[str, ...]] = {}
    for param, hint in hints.items():
        if param == "return" or not is_array_annotation(hint):
            continue
        axes = axes_of(hint)
        labels = [axis.name if axis.name is not None else axis.size for axis in axes]
        if axes and not any(axis.variadic for axis in axes) and None not in labels:
            names[param] = tuple(str(label) for label in labels)
    return names
