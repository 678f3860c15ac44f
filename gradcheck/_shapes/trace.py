"""``shape_trace``: run a function once and show every array's shape in named dimensions.

Backprop code is hard to read back because the shapes are invisible: is ``dscores.T`` a
(classes, batch) or a (batch, classes) matrix? A shape trace runs the function once under
``sys.settrace`` and, after each line, shows the arrays it created or changed, with the
operands' shapes written into the expression::

    dW2 = hidden.T @ dscores   (hidden, batch) @ (batch, classes) -> (hidden, classes)

The steps live next door: naming dimensions (``gradcheck._shapes.dim_names``),
building arguments from annotations (``gradcheck._shapes.argument_builder``),
reading the source (``gradcheck._shapes.source``), rendering a line
(``gradcheck._shapes.render``) and recording lines (``gradcheck._shapes.recorder``).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gradcheck._shapes.annotations import bind_dims
from gradcheck._shapes.argument_builder import ArgumentBuilder
from gradcheck._shapes.dim_names import Namer, argument_rows, clash_notes, normalise_dims
from gradcheck._shapes.recorder import Recorder, TraceLine
from gradcheck._shapes.source import Source
from gradcheck.errors import AnnotationMismatch

__all__ = ["ShapeTrace", "TraceLine", "shape_trace"]


@dataclass(frozen=True)
class ShapeTrace:
    """What ``shape_trace`` saw; ``print(trace)`` shows it line by line.

    Attributes:
        function: the traced function's name.
        dims: dimension name -> size, as used to name the axes.
        arguments: ``(name, rendering)`` for every array among the arguments (dict and
            list items too: ``("params['W1']", "(d_in, hidden)")``).
        lines: one ``TraceLine`` per line that created or changed arrays, in order.
        notes: warnings about the trace itself, e.g. two dimensions of equal size.
        result: what the function returned (``None`` if it raised).
    """

    function: str
    dims: Mapping[str, int]
    arguments: tuple[tuple[str, str], ...]
    lines: tuple[TraceLine, ...]
    notes: tuple[str, ...] = ()
    result: Any = None

    def line(self, name: str) -> TraceLine:
        """The last line that bound or changed the local ``name``.

        Raises:
            KeyError: if no traced line bound ``name``.
        """
        for record in reversed(self.lines):
            if name in record.names:
                return record
        bound = sorted({n for record in self.lines for n in record.names})
        raise KeyError(f"no traced line bound {name!r}; the traced names are {bound}")

    def __str__(self) -> str:
        head = f"shape trace of {self.function}()"
        if self.dims:
            head += ": " + ", ".join(f"{name}={size}" for name, size in self.dims.items())
        out = [head]
        out.extend(f"note: {note}" for note in self.notes)
        if self.arguments:
            width = max(len(name) for name, _ in self.arguments)
            out.append("arguments:")
            out.extend(f"  {name.ljust(width)}  {shape}" for name, shape in self.arguments)
        if self.lines:
            width = min(max(len(record.source) for record in self.lines), 56)
            for record in self.lines:
                text = f"{record.lineno:>4}  {record.source.ljust(width)}   {record.rendering}"
                if record.times > 1:
                    text += f"   (x{record.times})"
                out.append(text.rstrip())
        return "\n".join(out)


def _traced_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    target: Callable[..., Any] = inspect.unwrap(fn)
    if getattr(target, "__code__", None) is None:
        raise TypeError(
            f"shape_trace needs a Python function (def ... or lambda), got {fn!r}, which has "
            "no source lines to trace"
        )
    return target


def _built_arguments(
    target: Callable[..., Any], sizes: Mapping[str, int] | None, named: dict[str, int]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Arguments built from the annotations; their dimension sizes join ``named``."""
    builder = ArgumentBuilder(target, sizes or {})
    args, kwargs = builder.arguments()
    for dim, size in builder.sizes.items():
        named.setdefault(dim, size)
    return args, kwargs


def _all_dims(
    target: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    named: dict[str, int],
    notes: list[str],
) -> dict[str, int]:
    """The given names, then those the annotations bind to sizes no given name has."""
    try:
        inferred = bind_dims(target, args, kwargs)
    except AnnotationMismatch as error:
        inferred = {}
        notes.append(f"the arguments do not fit the annotations: {str(error).splitlines()[0]}")
    except TypeError:
        inferred = {}
    given_sizes = set(named.values())
    all_dims = dict(named)
    for dim, size in inferred.items():
        if dim not in all_dims and size not in given_sizes and size != 1:
            all_dims[dim] = size
    return all_dims


def shape_trace(
    fn: Callable[..., Any],
    /,
    *args: Any,
    dims: Mapping[Any, Any] | None = None,
    sizes: Mapping[str, int] | None = None,
    **kwargs: Any,
) -> ShapeTrace:
    """Run ``fn(*args, **kwargs)`` once and record the shape of every array it makes.

    After each line of ``fn`` that creates, rebinds or changes an array (``x = ...``,
    ``x += ...``, ``x[mask] = 0``), the trace records the statement and renders it with
    each array operand replaced by its shape in named dimensions::

        >>> trace = gradcheck.shape_trace(backward, params, X, y,
        ...                               dims={"batch": 7, "d_in": 3, "hidden": 5, "classes": 4})
        >>> print(trace)
        shape trace of backward(): batch=7, d_in=3, hidden=5, classes=4
        arguments:
          params['W1']  (d_in, hidden)
          ...
          23  dW2 = hidden.T @ dscores   (hidden, batch) @ (batch, classes) -> (hidden, classes)
        >>> trace.line("dW2").shapes
        ((5, 4),)

    Operands are the arrays named in the line: local or global names, ``name.T`` and
    ``d["key"]`` / ``seq[0]``; everything else (function calls, ``axis=0``, operators)
    is kept as written, and ``->`` gives the actual result's shape. Only ``fn``'s own
    lines are traced, not the functions it calls; a decorated function (e.g. by
    ``checked_backward``) is unwrapped and run without its checks.

    Dimension names: ``dims`` maps names to sizes (``{"batch": 800, "hidden": 1000}``; a
    map from sizes to names, ``{800: "batch"}``, is accepted too). Without it, names come
    from ``fn``'s jaxtyping annotations bound to these arguments (``Float[np.ndarray,
    "batch d_in"]``); ``dims`` wins where both name a size. Sizes without a name are
    printed as numbers. When two names share a size (the forum net's ``d_in = classes =
    2``), the axis is printed as ``d_in|classes`` and a note says to trace with distinct
    sizes: a square matrix hides a transpose.

    Without data: with no arguments (or with ``sizes=``), the trace builds ``fn``'s
    arguments from its jaxtyping annotations: random float arrays, integer arrays of 0s and
    1s (valid class labels), TypedDicts and fixed-length tuples of them. Every dimension
    name gets its own size (from ``sizes``, else 3, 4, 5, ... in order of appearance), all
    distinct, because a square matrix hides a transpose::

        >>> print(gradcheck.shape_trace(backward, sizes={"batch": 8}))

    If ``fn`` raises, the exception propagates with the trace so far attached as a note
    (``exc.__notes__``), its last line showing the operands of the line that raised.
    Any tracer already installed (a debugger, coverage) is put back afterwards, also
    when ``fn`` raises.

    Args:
        fn: the function to run (the arguments are passed as given; ``dims`` is taken by
            the trace, so ``fn`` cannot receive a keyword argument named ``dims`` here).
        *args: its positional arguments.
        dims: dimension name -> size (or size -> name) used to name the axes.
        sizes: dimension name -> size for the arguments the trace builds itself (implies
            building them; give no ``args`` then). Unnamed dimensions get distinct sizes.
        **kwargs: its keyword arguments.

    Returns:
        A ``ShapeTrace``: ``str(trace)`` is the printed text, ``trace.lines`` the
        ``TraceLine`` records, ``trace.result`` what ``fn`` returned.

    Raises:
        TypeError: if ``fn`` is not a Python function (a builtin or a C function has no
            lines to trace), ``dims`` is not a mapping of names and sizes, or the arguments
            are to be built but an annotation does not say how (``sizes`` with ``args``,
            a parameter without annotation, a ``dict[str, ...]`` whose keys are unknown).
    """
    target = _traced_function(fn)
    name = getattr(target, "__name__", "function")
    named = normalise_dims(dims)
    notes: list[str] = []
    wants_inputs = not args and not kwargs and bool(inspect.signature(target).parameters)
    if sizes is not None or wants_inputs:
        if args or kwargs:
            raise TypeError(
                "shape_trace got both arguments and sizes=: sizes= is for letting the trace "
                "build the arguments from the annotations; give one or the other"
            )
        args, kwargs = _built_arguments(target, sizes, named)
    all_dims = _all_dims(target, args, kwargs, named, notes)
    notes.extend(clash_notes(all_dims))
    namer = Namer(all_dims)
    source = Source.of(target)
    if not source.by_line:
        notes.append(f"the source of {name}() is not available: lines are shown by number only")
    recorder = Recorder(target.__code__, source, namer)
    arguments = tuple(argument_rows(target, args, kwargs, namer))

    def build(result: Any) -> ShapeTrace:
        return ShapeTrace(name, all_dims, arguments, tuple(recorder.records), tuple(notes), result)

    previous = sys.gettrace()
    sys.settrace(recorder.global_trace)
    try:
        result = target(*args, **kwargs)
    except BaseException as error:
        sys.settrace(previous)
        error.add_note(str(build(None)))
        raise
    finally:
        sys.settrace(previous)
    return build(result)
