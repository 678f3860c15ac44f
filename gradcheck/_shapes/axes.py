"""Read a jaxtyping array annotation: its array type, its dtypes and its axes.

The axes are read from the annotation's shape string with the grammar jaxtyping documents
(https://docs.kidger.site/jaxtyping/api/array/#shape), not from its parsed internals:
``"batch"`` a named size, ``"3"`` or ``"rows=3"`` a fixed size, ``"*batch"`` or ``"..."``
any number of axes, ``"#batch"`` also size 1, ``"_"`` or ``"_batch"`` unchecked. What
this module does not read (a symbolic size, ``"n+1"``) is left to jaxtyping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jaxtyping


@dataclass(frozen=True)
class Axis:
    """One symbol of a shape string.

    Attributes:
        name: the dimension's name (``"batch"``), or ``None`` when it has none we check.
        size: a fixed size (``"3"``, ``"rows=3"``), else ``None``.
        variadic: it matches any number of axes (``"*batch"``, ``"..."``).
        broadcastable: size 1 also fits (``"#batch"``).
        symbol: the symbol as written, for a symbolic size that only jaxtyping checks
            (``"n+1"``); ``None`` otherwise.
    """

    name: str | None = None
    size: int | None = None
    variadic: bool = False
    broadcastable: bool = False
    symbol: str | None = None


def is_array_annotation(annotation: object) -> bool:
    """A jaxtyping array annotation (documented test: ``issubclass(x, AbstractArray)``)."""
    return isinstance(annotation, type) and issubclass(annotation, jaxtyping.AbstractArray)


def annotation_name(annotation: Any) -> str:
    """How jaxtyping names it: ``Float[ndarray, 'batch d_in']``."""
    return str(getattr(annotation, "__name__", annotation))


def _parse_symbol(symbol: str) -> Axis:
    if symbol == "...":
        return Axis(variadic=True)
    variadic = broadcastable = anonymous = False
    text = symbol
    while text:  # the modifiers, in any order ("?": varies within a PyTree, not walked here)
        if text[0] in "*#_?":
            variadic = variadic or text[0] == "*"
            broadcastable = broadcastable or text[0] == "#"
            anonymous = anonymous or text[0] == "_"
            text = text[1:]
        elif text.count("=") == 1:  # "rows=3": the name is documentation only
            text = text.split("=")[1]
        else:
            break
    if anonymous:
        return Axis(variadic=variadic)
    if text.isdigit():
        return Axis(size=int(text), broadcastable=broadcastable)
    if text.isidentifier():
        return Axis(name=text, variadic=variadic, broadcastable=broadcastable)
    return Axis(variadic=variadic, broadcastable=broadcastable, symbol=text)


def axes_of(annotation: Any) -> tuple[Axis, ...]:
    """The axes of a jaxtyping array annotation, read from its shape string."""
    return tuple(_parse_symbol(symbol) for symbol in str(annotation.dim_str).split())


def variadic_index(axes: tuple[Axis, ...]) -> int | None:
    """Where the one multiple-axes symbol stands, if there is one."""
    return next((i for i, axis in enumerate(axes) if axis.variadic), None)


def allowed_dtypes(annotation: Any) -> tuple[str | re.Pattern[str], ...] | None:
    """The dtype names (or patterns) the annotation allows; ``None`` for any (``Shaped``)."""
    dtypes = annotation.dtypes
    return tuple(dtypes) if isinstance(dtypes, list | tuple) else None


def dtype_name(value: object) -> str:
    """An array's dtype as jaxtyping names it for numpy: ``"float64"``, ``"bool_"``."""
    dtype = getattr(value, "dtype", None)
    kind = getattr(dtype, "type", None)
    return str(getattr(kind, "__name__", dtype))


def dtype_fits(name: str, allowed: tuple[str | re.Pattern[str], ...] | None) -> bool:
    """jaxtyping's documented rule: an exact match of a name, or a match of a pattern."""
    if allowed is None:
        return True
    return any(
        name == dtype if isinstance(dtype, str) else bool(dtype.match(name)) for dtype in allowed
    )
