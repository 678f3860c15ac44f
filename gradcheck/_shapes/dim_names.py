"""Write shapes in named dimensions, ``(800, 1000)`` -> ``(batch, hidden)``, for shape_trace."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

Shape = tuple[int, ...]


def is_array(value: object) -> bool:
    return isinstance(value, np.ndarray)


def _names_by_size(dims: Mapping[str, int]) -> dict[int, list[str]]:
    by_size: dict[int, list[str]] = {}
    for name, size in dims.items():
        by_size.setdefault(size, []).append(name)
    return by_size


class Namer:
    """Writes shapes with dimension names; two names of one size print as ``d_in|classes``."""

    def __init__(self, dims: Mapping[str, int]) -> None:
        self.by_size = {size: "|".join(names) for size, names in _names_by_size(dims).items()}

    def shape(self, shape: Shape) -> str:
        parts = [self.by_size.get(n, str(n)) for n in shape]
        if len(parts) == 1:
            return f"({parts[0]},)"
        return "(" + ", ".join(parts) + ")"

    def value(self, value: Any) -> str | None:
        """A named rendering of an array or a dict/list/tuple of arrays, else None."""
        if isinstance(value, np.ndarray):
            return self.shape(value.shape)
        if isinstance(value, Mapping) and value and all(is_array(v) for v in value.values()):
            inner = ", ".join(f"{k!r}: {self.shape(v.shape)}" for k, v in value.items())
            return "{" + inner + "}"
        if isinstance(value, list | tuple) and value and all(is_array(v) for v in value):
            inner = ", ".join(self.shape(v.shape) for v in value)
            return f"[{inner}]" if isinstance(value, list) else f"({inner})"
        return None


def normalise_dims(dims: Mapping[Any, Any] | None) -> dict[str, int]:
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


def clash_notes(dims: Mapping[str, int]) -> list[str]:
    """A note for each size that two names share: a square matrix hides a transpose."""
    used = set(dims.values())
    notes = []
    for size, names in _names_by_size(dims).items():
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


def argument_rows(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], namer: Namer
) -> list[tuple[str, str]]:
    """``(name, named shape)`` for every array among the arguments, dict and list items too."""
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
