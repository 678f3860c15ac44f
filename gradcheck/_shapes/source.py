"""A function's statements by line number, for shape_trace to show the line that ran."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


def children(stmt: ast.stmt) -> list[ast.stmt]:
    """The statements nested in ``stmt`` (a loop's body, an if's branches, ...)."""
    out: list[ast.stmt] = []
    for name in ("body", "orelse", "finalbody", "handlers"):
        value = getattr(stmt, name, None)
        if isinstance(value, list):
            out.extend(s for s in value if isinstance(s, ast.stmt))
    if isinstance(stmt, ast.Try):
        for handler in stmt.handlers:
            out.extend(handler.body)
    return out


def is_compound(stmt: ast.stmt) -> bool:
    return bool(children(stmt))


def _statements(body: Iterable[ast.stmt]) -> Iterable[ast.stmt]:
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue  # defined here, run elsewhere
        yield stmt
        yield from _statements(children(stmt))


def _lines_and_text(stmt: ast.stmt, source: str, offset: int) -> tuple[range, str]:
    """The file lines ``stmt`` covers (a compound statement: its header only), and its
    text on one line."""
    first = stmt.lineno + offset
    segment = ast.get_source_segment(source, stmt) or ""
    if is_compound(stmt):
        inner = [s.lineno for s in children(stmt)]
        last = (min(inner) - 1 if inner else stmt.lineno) + offset
        segment = segment.splitlines()[0] if segment else ""
    else:
        last = (stmt.end_lineno or stmt.lineno) + offset
    text = " ".join(part.strip() for part in segment.splitlines())
    return range(first, last + 1), text


@dataclass
class Source:
    """The function's statements by line number (empty when the source is unavailable)."""

    by_line: dict[int, ast.stmt] = field(default_factory=dict)
    text: dict[int, str] = field(default_factory=dict)  # id(statement) -> its text

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> Source:
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
        functions = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        body = functions[0].body if functions else tree.body
        for stmt in _statements(body):
            lines_run, text = _lines_and_text(stmt, source, start - 1)
            for line in lines_run:
                out.by_line[line] = stmt
            out.text[id(stmt)] = text
        return out

    def statement(self, line: int) -> ast.stmt | None:
        return self.by_line.get(line)
