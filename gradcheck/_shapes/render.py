"""Write a statement's array operands as their named shapes, for shape_trace.

``hidden.T @ dscores`` renders as ``(hidden, batch) @ (batch, classes)``: names,
``name.T`` and ``d["key"]`` / ``seq[0]`` are looked up without side effects; everything
else (calls, keywords, operators) stays as written.
"""

from __future__ import annotations

import ast
import builtins
import copy
from collections.abc import Mapping
from types import FrameType
from typing import Any

import numpy as np

from gradcheck._shapes.dim_names import Namer

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
            return _item(self.value(node.value), node.slice.value)
        return _MISSING


def _item(base: Any, key: Any) -> Any:
    if isinstance(base, Mapping) and key in base:
        return base[key]
    if isinstance(base, list | tuple) and isinstance(key, int) and -len(base) <= key < len(base):
        return base[key]
    return _MISSING


class _ShapeWriter(ast.NodeTransformer):
    """Replaces every array operand by a name that prints as its named shape."""

    def __init__(self, resolver: _Resolver, namer: Namer) -> None:
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


def render_value(expr: ast.expr, frame: FrameType, namer: Namer) -> str:
    """``expr`` with each array operand, as bound in ``frame``, written as its shape."""
    written = _ShapeWriter(_Resolver(frame), namer).visit(copy.deepcopy(expr))
    return ast.unparse(written)


def target_names(stmt: ast.stmt) -> list[str]:
    """The names a statement binds, in order (``a, b = ...`` -> ``["a", "b"]``)."""
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, ast.AugAssign | ast.AnnAssign | ast.For | ast.AsyncFor):
        targets = [stmt.target]
    return [
        node.id for target in targets for node in ast.walk(target) if isinstance(node, ast.Name)
    ]


def in_place_name(stmt: ast.stmt) -> str | None:
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
