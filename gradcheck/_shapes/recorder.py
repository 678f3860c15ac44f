"""Record, under ``sys.settrace``, each line of one function that makes or changes arrays."""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from types import FrameType
from typing import Any

import numpy as np

from gradcheck._shapes.dim_names import Namer, Shape
from gradcheck._shapes.render import in_place_name, render_value, target_names
from gradcheck._shapes.source import Source, is_compound


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


@dataclass
class _Pending:
    """The line that is running: what was bound before it, and its rendered expression."""

    stmt: ast.stmt | None
    lineno: int
    before: dict[str, Any]  # the arrays (and array containers) bound before the line
    rendering: str | None


def _changed(
    stmt: ast.stmt | None, before: dict[str, Any], now: dict[str, Any]
) -> tuple[list[str], bool]:
    """The names the line bound (in the statement's order), and whether it changed an
    array in place instead."""
    changed = [name for name, value in now.items() if before.get(name) is not value]
    if stmt is None:
        return changed, False
    order = target_names(stmt)
    changed.sort(key=lambda n: order.index(n) if n in order else len(order))
    if not changed:
        name = in_place_name(stmt)
        if name is not None and name in now:
            return [name], True
    return changed, False


def _rendering(
    expression: str | None, changed: list[str], results: list[str], in_place: bool
) -> str:
    if not changed:
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


class Recorder:
    """The ``sys.settrace`` hooks: one ``TraceLine`` per line of ``code`` that ran and
    made or changed arrays; a line run again with the same rendering is counted."""

    def __init__(self, code: Any, source: Source, namer: Namer) -> None:
        self.code = code
        self.source = source
        self.namer = namer
        self.frame: FrameType | None = None
        self.pending: _Pending | None = None
        self.records: list[TraceLine] = []
        self.index: dict[tuple[int, str], int] = {}

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
                and not is_compound(stmt)
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
        value = getattr(stmt, "value", None)
        if isinstance(value, ast.expr):
            try:
                rendering = render_value(value, frame, self.namer)
            except Exception:  # a rendering is a nicety; never break the user's run
                rendering = None
        self.pending = _Pending(stmt, frame.f_lineno, self._arrays(frame), rendering)

    def finish(self, frame: FrameType, error: str = "", returned: Any = None) -> None:
        pending, self.pending = self.pending, None
        if pending is None:
            return
        now = self._arrays(frame)
        changed, in_place = _changed(pending.stmt, pending.before, now)
        is_return = isinstance(pending.stmt, ast.Return)
        if not error and not changed and (not is_return or pending.rendering is None):
            return
        if is_return:
            rendering = pending.rendering or ""
            value = self.namer.value(returned)
            if rendering and not error and value is not None and value != rendering:
                rendering += f" -> {value}"
        else:
            results = [self.namer.value(now[name]) or "?" for name in changed]
            rendering = _rendering(pending.rendering, changed, results, in_place)
        if error:
            rendering = (rendering + "   " if rendering else "") + f"raised {error}"
        shapes = tuple(
            tuple(now[n].shape) if isinstance(now[n], np.ndarray) else () for n in changed
        )
        text = self.source.text.get(id(pending.stmt), "") if pending.stmt is not None else ""
        self._add(
            TraceLine(
                pending.lineno,
                text or f"<line {pending.lineno}>",
                tuple(changed),
                shapes,
                rendering,
                in_place,
                1,
                error,
            )
        )

    def _add(self, line: TraceLine) -> None:
        key = (line.lineno, line.rendering)
        if key in self.index and not line.error:
            at = self.index[key]
            self.records[at] = replace(self.records[at], times=self.records[at].times + 1)
            return
        self.index[key] = len(self.records)
        self.records.append(line)
