"""``shape_trace``: run a function once and show every array's shape in named dimensions.

Backprop code is hard to read back because the shapes are invisible: is ``dscores.T`` a
(classes, batch) or a (batch, classes) matrix? A shape trace runs the function once under
``sys.settrace`` and, after each line, shows the arrays it created or changed, with the
operands' shapes written into the expression::

    dW2 = hidden.T @ dscores   (hidden, batch) @ (batch, classes) -> (hidden, classes)
"""

from __future__ import annotations

import ast
import builtins
import copy
import inspect
import sys
import textwrap
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import numpy as np

from gradcheck._annotations import AnnotationMismatch, _bind_dims

__all__ = ["ShapeTrace", "TraceLine", "shape_trace"]

Shape = tuple[int, ...]


@dataclass(frozen=True)
class TraceLine:
    """One executed line that created, rebound or changed arrays.

    Attributes:
        lineno: the line number in the function's source file.
        source: the statement, on one line (``"dW2 = hidden.T @ dscores"``).
        names: the local names it bound or changed, in order (``("dW2",)``).
        shapes: their shapes, in the same order (for a dict or list of arrays, ``()``).
        rendering: the expression with each array operand written as its shape in named
            dimensions, then ``->`` and the result's shape:
            ``"(hidden, batch) @ (batch, classes) -> (hidden, classes)"``.
        in_place: the line changed an existing array (``dscores /= N``, ``dh[mask] = 0``).
        times: how many times the line ran with this same rendering (loops).
        error: for the line that raised, ``"ValueError: ..."``; else ``""``.
    """

    lineno: int
    source: str
    names: tuple[str, ...]
    shapes: tuple[Shape, ...]
    rendering: str
    in_place: bool = False
    times: int = 1
    error: str = ""

    def __str__(self) -> str:
        return f"{self.source}   {self.rendering}"


@dataclass(frozen=True)
class ShapeTrace:
    """What :func:`shape_trace` saw; ``print(trace)`` shows it line by line.

    Attributes:
        function: the traced function's name.
        dims: dimension name -> size, as used to name the axes.
        arguments: ``(name, rendering)`` for every array among the arguments (dict and
            list items too: ``("params['W1']", "(d_in, hidden)")``).
        lines: one :class:`TraceLine` per line that created or changed arrays, in order.
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


# ----------------------------------------------------------------- naming dimensions


class _Namer:
    """Writes shapes with dimension names: (800, 1000) -> (batch, hidden)."""

    def __init__(self, dims: Mapping[str, int]) -> None:
        by_size: dict[int, list[str]] = {}
        for name, size in dims.items():
            by_size.setdefault(size, []).append(name)
        self.by_size = {size: "|".join(names) for size, names in by_size.items()}

    def shape(self, shape: Shape) -> str:
        parts = [self.by_size.get(n, str(n)) for n in shape]
        if len(parts) == 1:
            return f"({parts[0]},)"
        return "(" + ", ".join(parts) + ")"

    def value(self, value: Any) -> str | None:
        """A named rendering of an array or a dict/list/tuple of arrays, else None."""
        if isinstance(value, np.ndarray):
            return self.shape(value.shape)
        if isinstance(value, Mapping) and value and all(_is_array(v) for v in value.values()):
            inner = ", ".join(f"{k!r}: {self.shape(v.shape)}" for k, v in value.items())
            return "{" + inner + "}"
        if isinstance(value, list | tuple) and value and all(_is_array(v) for v in value):
            inner = ", ".join(self.shape(v.shape) for v in value)
            return f"[{inner}]" if isinstance(value, list) else f"({inner})"
        return None


def _is_array(value: object) -> bool:
    return isinstance(value, np.ndarray)


def _normalise_dims(dims: Mapping[Any, Any] | None) -> dict[str, int]:
    """Accept name -> size (``{"batch": 800}``) or size -> name (``{800: "batch"}``)."""
    if not dims:
        return {}
    out: dict[str, int] = {}
    for key, value in dims.items():
        if isinstance(key, str) and isinstance(value, int | np.integer):
            out[key] = int(value)
        elif isinstance(key, int | np.integer) and isinstance(value, str):
            out[value] = int(key)
        else:
            raise TypeError(
                f"dims= maps dimension names to sizes, e.g. {{'batch': 800, 'hidden': 1000}} "
                f"(or sizes to names); got {key!r}: {value!r}"
            )
    return out


def _clash_notes(dims: Mapping[str, int]) -> list[str]:
    by_size: dict[int, list[str]] = {}
    for name, size in dims.items():
        by_size.setdefault(size, []).append(name)
    used = set(dims.values())
    notes = []
    for size, names in by_size.items():
        if len(names) < 2:
            continue
        suggestion = [f"{names[0]}={size}"]
        candidate = size + 1
        for name in names[1:]:
            while candidate in used:
                candidate += 1
            used.add(candidate)
            suggestion.append(f"{name}={candidate}")
        listed = " and ".join([", ".join(names[:-1]), names[-1]])
        notes.append(
            f"{listed} are {'both' if len(names) == 2 else 'all'} {size}, so their axes "
            "cannot be told apart here and a transposed or misplaced axis would look right; "
            "trace with distinct sizes, "
            f"e.g. {', '.join(suggestion)}"
        )
    return notes


# ------------------------------------------------------------------- reading the source


@dataclass
class _Source:
    """The function's statements by line number (empty when the source is unavailable)."""

    by_line: dict[int, ast.stmt] = field(default_factory=dict)
    text: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> _Source:
        try:
            lines, start = inspect.getsourcelines(fn)
        except (OSError, TypeError):
            return cls()
        source = textwrap.dedent("".join(lines))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return cls()
        out = cls()
        offset = start - 1
        functions = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        body = functions[0].body if functions else tree.body
        for stmt in _statements(body):
            first = stmt.lineno + offset
            if _is_compound(stmt):
                inner = [s.lineno for s in _children(stmt)]
                last = (min(inner) - 1 if inner else stmt.lineno) + offset
            else:
                last = (stmt.end_lineno or stmt.lineno) + offset
            segment = ast.get_source_segment(source, stmt) or ""
            if _is_compound(stmt):
                segment = segment.splitlines()[0] if segment else ""
            text = " ".join(part.strip() for part in segment.splitlines())
            for line in range(first, last + 1):
                out.by_line[line] = stmt
            out.text[id(stmt)] = text
        return out

    def statement(self, line: int) -> ast.stmt | None:
        return self.by_line.get(line)


def _is_compound(stmt: ast.stmt) -> bool:
    return bool(_children(stmt))


def _children(stmt: ast.stmt) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for name in ("body", "orelse", "finalbody", "handlers"):
        value = getattr(stmt, name, None)
        if isinstance(value, list):
            out.extend(s for s in value if isinstance(s, ast.stmt))
    if isinstance(stmt, ast.Try):
        for handler in stmt.handlers:
            out.extend(handler.body)
    return out


def _statements(body: Iterable[ast.stmt]) -> Iterable[ast.stmt]:
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue  # defined here, run elsewhere
        yield stmt
        yield from _statements(_children(stmt))


# ------------------------------------------------------------ rendering an expression


_MISSING = object()


class _Resolver:
    """Looks up what simple expressions (names, ``.T``, ``d["key"]``) are, without side effects."""

    def __init__(self, frame: FrameType) -> None:
        self.local = dict(frame.f_locals)
        self.globals = frame.f_globals

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            if node.id in self.local:
                return self.local[node.id]
            if node.id in self.globals:
                return self.globals[node.id]
            return getattr(builtins, node.id, _MISSING)
        if isinstance(node, ast.Attribute) and node.attr == "T":
            base = self.value(node.value)
            return base.T if isinstance(base, np.ndarray) else _MISSING
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            base = self.value(node.value)
            key = node.slice.value
            if isinstance(base, Mapping) and key in base:
                return base[key]
            if (
                isinstance(base, list | tuple)
                and isinstance(key, int)
                and -len(base) <= key < len(base)
            ):
                return base[key]
        return _MISSING


class _ShapeWriter(ast.NodeTransformer):
    """Replaces every array operand by a name that prints as its named shape."""

    def __init__(self, resolver: _Resolver, namer: _Namer) -> None:
        self.resolver = resolver
        self.namer = namer

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Name | ast.Attribute | ast.Subscript) and isinstance(
            getattr(node, "ctx", None), ast.Load
        ):
            value = self.resolver.value(node)
            if isinstance(value, np.ndarray):
                return ast.copy_location(ast.Name(id=self.namer.shape(value.shape)), node)
        return super().visit(node)


def _render_value(expr: ast.expr, resolver: _Resolver, namer: _Namer) -> str:
    written = _ShapeWriter(resolver, namer).visit(copy.deepcopy(expr))
    return ast.unparse(written)


def _target_names(stmt: ast.stmt) -> list[str]:
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, ast.AugAssign | ast.AnnAssign | ast.For | ast.AsyncFor):
        targets = [stmt.target]
    names: list[str] = []
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                names.append(node.id)
    return names


def _in_place_name(stmt: ast.stmt) -> str | None:
    """``x`` for ``x += ...``, ``x[...] = ...`` or ``x[...] -= ...``, else None."""
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.AugAssign):
        targets = [stmt.target]
    elif isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    for target in targets:
        node = target
        while isinstance(node, ast.Subscript | ast.Attribute):
            node = node.value
        if isinstance(node, ast.Name) and (node is not target or isinstance(stmt, ast.AugAssign)):
            return node.id
    return None


# ----------------------------------------------------------------------- the tracer


@dataclass
class _Pending:
    stmt: ast.stmt | None
    lineno: int
    before: dict[str, Any]  # the arrays (and array containers) bound before the line
    rendering: str | None


class _Recorder:
    def __init__(self, code: Any, source: _Source, namer: _Namer) -> None:
        self.code = code
        self.source = source
        self.namer = namer
        self.frame: FrameType | None = None
        self.pending: _Pending | None = None
        self.records: list[TraceLine] = []
        self.index: dict[tuple[int, str], int] = {}

    # sys.settrace protocol
    def global_trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        if self.frame is None and frame.f_code is self.code and event == "call":
            self.frame = frame
            return self.local_trace
        return None

    def local_trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame is not self.frame:
            return None
        if event == "line":
            stmt = self.source.statement(frame.f_lineno)
            if (
                self.pending is not None
                and stmt is not None
                and stmt is self.pending.stmt
                and frame.f_lineno != self.pending.lineno
                and not _is_compound(stmt)
            ):
                return self.local_trace  # a continuation line of the same statement
            self.finish(frame)
            self.start(frame, stmt)
        elif event == "return":
            self.finish(frame, returned=arg)
        elif event == "exception" and self.pending is not None:
            kind, value = arg[0], arg[1]
            self.finish(frame, error=f"{kind.__name__}: {value}")
        return self.local_trace

    def _arrays(self, frame: FrameType) -> dict[str, Any]:
        return {
            name: value
            for name, value in frame.f_locals.items()
            if isinstance(value, np.ndarray) or self.namer.value(value) is not None
        }

    def start(self, frame: FrameType, stmt: ast.stmt | None) -> None:
        rendering = None
        if stmt is not None:
            value = getattr(stmt, "value", None)
            if isinstance(value, ast.expr):
                try:
                    rendering = _render_value(value, _Resolver(frame), self.namer)
                except Exception:  # a rendering is a nicety; never break the user's run
                    rendering = None
        self.pending = _Pending(stmt, frame.f_lineno, self._arrays(frame), rendering)

    def finish(self, frame: FrameType, error: str = "", returned: Any = None) -> None:
        pending, self.pending = self.pending, None
        if pending is None:
            return
        stmt = pending.stmt
        now = self._arrays(frame)
        changed = [name for name, value in now.items() if pending.before.get(name) is not value]
        if stmt is not None:
            order = _target_names(stmt)
            changed.sort(key=lambda n: order.index(n) if n in order else len(order))
        in_place = False
        if not changed and stmt is not None:
            name = _in_place_name(stmt)
            if name is not None and name in now:
                changed, in_place = [name], True
        is_return = isinstance(stmt, ast.Return)
        if not changed and not error and not is_return:
            return
        if is_return and not changed and pending.rendering is None and not error:
            return
        source = self.source.text.get(id(stmt), "") if stmt is not None else ""
        source = source or f"<line {pending.lineno}>"
        results = [self.namer.value(now[name]) or "?" for name in changed]
        rendering = self._rendering(pending.rendering, changed, results, in_place, is_return)
        if is_return and rendering and not error:
            value = self.namer.value(returned)
            if value is not None and value != rendering:
                rendering += f" -> {value}"
        if error:
            rendering = (rendering + "   " if rendering else "") + f"raised {error}"
        shapes = tuple(
            tuple(now[n].shape) if isinstance(now[n], np.ndarray) else () for n in changed
        )
        key = (pending.lineno, rendering)
        if key in self.index and not error:
            at = self.index[key]
            old = self.records[at]
            self.records[at] = TraceLine(
                old.lineno, old.source, old.names, old.shapes, old.rendering,
                old.in_place, old.times + 1, old.error,
            )  # fmt: skip
            return
        self.index[key] = len(self.records)
        self.records.append(
            TraceLine(pending.lineno, source, tuple(changed), shapes, rendering, in_place, 1, error)
        )

    @staticmethod
    def _rendering(
        expression: str | None,
        changed: list[str],
        results: list[str],
        in_place: bool,
        is_return: bool,
    ) -> str:
        if is_return or not changed:
            return expression or ""
        if in_place:
            return f"{results[0]} in place"
        if len(changed) == 1:
            result = results[0]
            if expression is None or expression == result:
                return result
            return f"{expression} -> {result}"
        return "-> " + ", ".join(
            f"{name} {result}" for name, result in zip(changed, results, strict=True)
        )


# ------------------------------------------------------- inputs built from annotations


def _pick_dtype(dtypes: object) -> np.dtype[Any]:
    if not isinstance(dtypes, list | tuple):
        return np.dtype(np.float64)  # Shaped[...]: any dtype
    names = [d for d in dtypes if isinstance(d, str)]
    for preferred in ("float64", "int64", "bool", "float32", "int32"):
        if preferred in names:
            return np.dtype(preferred)
    for name in names:
        try:
            return np.dtype(name)
        except TypeError:
            continue
    return np.dtype(np.float64)


class _InputBuilder:
    """Makes arguments from jaxtyping annotations, one distinct size per dimension name."""

    def __init__(self, fn: Callable[..., Any], sizes: Mapping[str, int]) -> None:
        self.fn = fn
        self.sizes: dict[str, int] = dict(sizes)
        self.rng = np.random.default_rng(0)

    def size(self, name: str) -> int:
        if name not in self.sizes:
            taken = set(self.sizes.values())
            self.sizes[name] = next(n for n in range(3, 10_000) if n not in taken)
        return self.sizes[name]

    def make(self, annotation: Any, where: str) -> Any:
        if isinstance(annotation, type) and hasattr(annotation, "dim_str"):
            return self.array(annotation, where)
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is typing.Annotated:
            return self.make(args[0], where)
        if typing.is_typeddict(annotation):
            hints = typing.get_type_hints(annotation, include_extras=True)
            return {key: self.make(hint, f"{where}[{key!r}]") for key, hint in hints.items()}
        if origin is tuple and args and args[-1] is not Ellipsis:
            return tuple(self.make(a, f"{where}[{i}]") for i, a in enumerate(args))
        raise TypeError(
            f"shape_trace cannot build {where} of {getattr(self.fn, '__name__', 'fn')}() from "
            f"its annotation {annotation!r}: it builds arrays (Float[np.ndarray, ...]), "
            "TypedDicts and fixed-length tuples of them; pass the arguments yourself"
        )

    def array(self, annotation: Any, where: str) -> Any:
        shape: list[int] = []
        for index, dim in enumerate(annotation.dims):
            name = getattr(dim, "name", None)
            if index == annotation.index_variadic:
                if name:
                    shape.append(self.size(name))
            elif hasattr(dim, "size"):
                shape.append(int(dim.size))
            elif name:
                shape.append(self.size(name))
            elif hasattr(dim, "elem"):
                raise TypeError(
                    f"shape_trace cannot build {where}: its annotation "
                    f"{annotation.__name__} has a symbolic axis ({dim.elem}); pass the arguments "
                    "yourself"
                )
            else:  # "_": an anonymous axis gets a size of its own
                shape.append(self.size(f"_{where}[{index}]"))
        dtype = _pick_dtype(annotation.dtypes)
        if dtype.kind == "f":
            return self.rng.standard_normal(shape).astype(dtype)
        if dtype.kind in "iu":
            return self.rng.integers(0, 2, size=shape).astype(dtype)  # valid class labels
        if dtype.kind == "b":
            return self.rng.random(shape) < 0.5
        return np.zeros(shape, dtype=dtype)

    def arguments(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        try:
            hints = typing.get_type_hints(self.fn, include_extras=True)
        except Exception as error:
            raise TypeError(
                f"shape_trace cannot read the annotations of {getattr(self.fn, '__name__', 'fn')}"
                f"() to build its arguments ({error}); pass the arguments yourself"
            ) from None
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for param in inspect.signature(self.fn).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if param.name not in hints:
                if param.default is not param.empty:
                    continue
                raise TypeError(
                    f"shape_trace cannot build argument {param.name} of "
                    f"{getattr(self.fn, '__name__', 'fn')}(): it has no annotation; annotate it "
                    '(Float[np.ndarray, "batch d_in"]) or pass the arguments yourself'
                )
            value = self.make(hints[param.name], f"argument {param.name}")
            if param.kind is param.KEYWORD_ONLY:
                kwargs[param.name] = value
            else:
                args.append(value)
        named = {k: v for k, v in self.sizes.items() if not k.startswith("_")}
        self.sizes = named
        return tuple(args), kwargs


def _argument_rows(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], namer: _Namer
) -> list[tuple[str, str]]:
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
        items: Iterable[tuple[str, Any]] = bound.arguments.items()
    except (TypeError, ValueError):
        items = [(f"args[{i}]", value) for i, value in enumerate(args)]
    rows: list[tuple[str, str]] = []
    for name, value in items:
        if isinstance(value, np.ndarray):
            rows.append((name, namer.shape(value.shape)))
        elif isinstance(value, Mapping):
            rows.extend(
                (f"{name}[{k!r}]", namer.shape(v.shape))
                for k, v in value.items()
                if isinstance(v, np.ndarray)
            )
        elif isinstance(value, list | tuple):
            rows.extend(
                (f"{name}[{i}]", namer.shape(v.shape))
                for i, v in enumerate(value)
                if isinstance(v, np.ndarray)
            )
    return rows


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
        >>> print(trace)                                                  # doctest: +SKIP
        shape trace of backward(): batch=7, d_in=3, hidden=5, classes=4
        arguments:
          params['W1']  (d_in, hidden)
          ...
          23  dW2 = hidden.T @ dscores   (hidden, batch) @ (batch, classes) -> (hidden, classes)
        >>> trace.line("dW2").shapes                                      # doctest: +SKIP
        ((5, 4),)

    Operands are the arrays named in the line: local or global names, ``name.T`` and
    ``d["key"]`` / ``seq[0]``; everything else (function calls, ``axis=0``, operators)
    is kept as written, and ``->`` gives the actual result's shape. Only ``fn``'s own
    lines are traced, not the functions it calls; a decorated function (e.g. by
    :func:`checked_backward`) is unwrapped and run without its checks.

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

        >>> print(gradcheck.shape_trace(backward, sizes={"batch": 8}))   # doctest: +SKIP

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
        A :class:`ShapeTrace`: ``str(trace)`` is the printed text, ``trace.lines`` the
        :class:`TraceLine` records, ``trace.result`` what ``fn`` returned.

    Raises:
        TypeError: if ``fn`` is not a Python function (a builtin or a C function has no
            lines to trace), ``dims`` is not a mapping of names and sizes, or the arguments
            are to be built but an annotation does not say how (``sizes`` with ``args``,
            a parameter without annotation, a ``dict[str, ...]`` whose keys are unknown).
    """
    target = inspect.unwrap(fn)
    code = getattr(target, "__code__", None)
    if code is None:
        raise TypeError(
            f"shape_trace needs a Python function (def ... or lambda), got {fn!r}, which has "
            "no source lines to trace"
        )
    name = getattr(target, "__name__", "function")
    named = _normalise_dims(dims)
    notes: list[str] = []
    wants_inputs = not args and not kwargs and bool(inspect.signature(target).parameters)
    if sizes is not None or wants_inputs:
        if args or kwargs:
            raise TypeError(
                "shape_trace got both arguments and sizes=: sizes= is for letting the trace "
                "build the arguments from the annotations; give one or the other"
            )
        builder = _InputBuilder(target, sizes or {})
        args, kwargs = builder.arguments()
        for dim, size in builder.sizes.items():
            if dim not in named:
                named[dim] = size
    try:
        inferred = _bind_dims(target, args, kwargs)
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
    notes.extend(_clash_notes(all_dims))
    namer = _Namer(all_dims)
    source = _Source.of(target)
    if not source.by_line:
        notes.append(f"the source of {name}() is not available: lines are shown by number only")
    recorder = _Recorder(code, source, namer)
    arguments = tuple(_argument_rows(target, args, kwargs, namer))

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
