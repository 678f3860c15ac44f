"""Step 1 of a check: the user's inputs (parameters, gradients, options), validated.

Users pass parameters as a mapping (``{"W1": ..., "b1": ...}``), a list or tuple of arrays
(the Code Review net's ``[W1, b1, ...]``), or one array. The checker works with an ordered
list of ``(name, array)`` pairs and rebuilds the user's structure for every call, so the
user's loss sees what it expects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

# Re-exported: diagnose.py names gradients with it too.
from gradcheck._shapes.rule import grad_label

Structure = Mapping[str, Any] | Sequence[Any] | NDArray[Any]


@dataclass(frozen=True)
class Options:
    """How much to probe (see ``check_gradients``)."""

    full: bool
    max_entries: int
    directions: int
    entries: int
    #: By parameter index, its axis names (``axes=``, or check_layer's annotations).
    axes: Mapping[int, tuple[str, ...]] = field(default_factory=dict)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool | np.bool_)


def validate_options(
    full: bool,
    max_entries: int,
    directions: int,
    entries: int,
    seed: int | None,
    inplace: bool | None = None,
) -> Options:
    """The options, or a clear error for a bad one: TypeError for the wrong type (a flag
    must be a bool, not "yes" or 1), ValueError for a value out of range."""
    if not _is_bool(full):
        raise TypeError(f"full must be True or False, got {full!r}")
    if inplace is not None and not _is_bool(inplace):
        raise TypeError(
            f"inplace must be True, False or None (decide from the loss), got {inplace!r}"
        )
    for option, value in (
        ("max_entries", max_entries),
        ("directions", directions),
        ("entries", entries),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"{option} must be a whole number >= 0 (an int), got {value!r}")
        if value < 0:
            raise ValueError(f"{option} must be a whole number >= 0, got {value!r}")
    if directions + entries == 0:
        raise ValueError(
            "directions and entries are both 0, so large parameters would not be checked: "
            "set at least one of them to 1 or more (or full=True)"
        )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    return Options(bool(full), int(max_entries), int(directions), int(entries))


Axes = Mapping[str, str | Sequence[str]]


def validate_axes(
    axes: Axes | None, names: Sequence[str], arrays: Sequence[NDArray[Any]]
) -> dict[int, tuple[str, ...]]:
    """``axes=`` by parameter index (each name's axes, one per dimension), or a clear
    error for a name that is no parameter or a count that is not the parameter's ndim."""
    if axes is None:
        return {}
    if not isinstance(axes, Mapping):
        raise TypeError(
            f'axes must be a mapping of parameter name -> axis names, e.g. {{"x": "N T D"}}; '
            f"got {type(axes).__name__}"
        )
    resolved: dict[int, tuple[str, ...]] = {}
    for name, labels in axes.items():
        if name not in names:
            raise ValueError(f"axes names {name!r}, which is not a parameter ({', '.join(names)})")
        split = tuple(labels.split()) if isinstance(labels, str) else tuple(map(str, labels))
        index = list(names).index(name)
        if len(split) != arrays[index].ndim:
            raise ValueError(
                f"axes gives {name} {len(split)} axis names {split}, but {name} has "
                f"{arrays[index].ndim} axes (shape {arrays[index].shape}): name each one"
            )
        resolved[index] = split
    return resolved


def _count_or_none(option: str, value: object, meaning: str) -> None:
    """An option that is None or a whole number >= 1 (``meaning`` says what it counts)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{option} must be a whole number >= 1 (an int) or None, got {value!r}")
    if value < 1:
        raise ValueError(f"{option} must be >= 1 ({meaning}), got {value!r}")


def validate_outputs(outputs: int | None) -> None:
    """check_layer's ``outputs=``: how many outputs forward returns before its cache."""
    _count_or_none("outputs", outputs, "how many outputs forward returns before its cache")


@dataclass(frozen=True)
class ParamLayout:
    """How to turn the user's structure into named arrays and back."""

    kind: str  # "mapping", "list", "tuple" or "array"
    names: tuple[str, ...]
    keys: tuple[Any, ...]  # the mapping's own keys (may be non-strings), else positions

    def build(self, arrays: Sequence[NDArray[Any]]) -> Any:
        """The user's structure holding ``arrays`` (in ``names`` order)."""
        if self.kind == "mapping":
            return dict(zip(self.keys, arrays, strict=True))
        if self.kind == "list":
            return list(arrays)
        if self.kind == "tuple":
            return tuple(arrays)
        return arrays[0]


def describe(value: object) -> str:
    """How messages call a value the user gave: its dtype and shape, or its type."""
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    return f"a {type(value).__name__}"


def split_params(
    params: Structure, names: Sequence[str] | None = None
) -> tuple[ParamLayout, list[NDArray[Any]]]:
    """Validate ``params`` and return its layout and its arrays (the user's own objects)."""
    keys: tuple[Any, ...]
    default_names: tuple[str, ...]
    if isinstance(params, np.ndarray):
        kind, keys, arrays = "array", (0,), [params]
        default_names = ("x",)
    elif isinstance(params, Mapping):
        kind = "mapping"
        keys = tuple(params.keys())
        arrays = [params[k] for k in params]
        default_names = tuple(str(k) for k in keys)
    elif isinstance(params, list | tuple):
        kind = "list" if isinstance(params, list) else "tuple"
        keys = tuple(range(len(params)))
        arrays = list(params)
        default_names = tuple(f"params[{i}]" for i in keys)
    else:
        raise TypeError(
            f"params must be a mapping of name -> float array, a list or tuple of float "
            f"arrays, or one float array; got {describe(params)}"
        )
    if not arrays:
        raise ValueError("params is empty: pass at least one float array to check")
    if names is not None:
        if len(names) != len(arrays) or len(set(names)) != len(names):
            raise ValueError(
                f"names must give one distinct name per parameter: {len(arrays)} parameters, "
                f"names={list(names)!r}"
            )
        final_names = tuple(str(n) for n in names)
    else:
        final_names = default_names
    if len(set(final_names)) != len(final_names):
        raise ValueError(f"parameter names must be distinct after str(): {list(final_names)!r}")
    for name, array in zip(final_names, arrays, strict=True):
        check_float_array(name, array, what="parameter")
    return ParamLayout(kind, final_names, keys), arrays


def check_float_array(name: str, array: object, *, what: str) -> None:
    """Raise TypeError unless ``array`` is a real floating-point ndarray."""
    if not isinstance(array, np.ndarray):
        raise TypeError(
            f"{what} {name!r} is {describe(array)}, not a NumPy array: convert it with "
            f"np.asarray({name}, dtype=np.float64) before checking"
        )
    if not np.issubdtype(array.dtype, np.floating):
        hint = (
            "integer arrays (labels, indices) have no gradient: pass them to the loss "
            "through a closure or args=, not in params"
            if np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_
            else "only real floating-point parameters can be checked"
        )
        raise TypeError(f"{what} {name!r} has dtype {array.dtype}: {hint}")


def split_grads(
    grads: object, layout: ParamLayout
) -> tuple[list[NDArray[Any] | None], list[str], dict[str, str]]:
    """Match the user's gradients to parameters.

    Returns the gradients in ``layout.names`` order (``None`` where one is missing), the
    names of gradients the user gave that match no parameter, and, by parameter name,
    messages for entries that are not arrays at all.
    """
    problems: dict[str, str] = {}
    extra: list[str] = []
    matched: list[object] = []
    if layout.kind == "array":
        if isinstance(grads, Mapping | list | tuple) and len(grads) == 1:
            grads = next(iter(grads.values())) if isinstance(grads, Mapping) else grads[0]
        matched = [grads]
    elif isinstance(grads, Mapping):
        lookup = {str(k): v for k, v in grads.items()}
        by_key = {str(k): name for k, name in zip(layout.keys, layout.names, strict=True)}
        for key, name in zip(layout.keys, layout.names, strict=True):
            matched.append(grads.get(key, lookup.get(name, lookup.get(str(key)))))
        extra = sorted(k for k in lookup if k not in by_key and k not in layout.names)
    elif isinstance(grads, list | tuple):
        if layout.kind == "mapping":
            raise TypeError(
                "params is a mapping but the gradients are a "
                f"{type(grads).__name__}: return a mapping with the same keys "
                f"({', '.join(layout.names)})"
            )
        matched = list(grads[: len(layout.names)])
        matched += [None] * (len(layout.names) - len(matched))
        extra = [f"[{i}]" for i in range(len(layout.names), len(grads))]
    else:
        raise TypeError(
            f"gradients must be a mapping like params (or a callable returning one); got "
            f"{describe(grads)}"
        )
    arrays: list[NDArray[Any] | None] = []
    for name, value in zip(layout.names, matched, strict=True):
        if value is None:
            arrays.append(None)
            continue
        if not isinstance(value, np.ndarray) and np.isscalar(value):
            value = np.asarray(value)
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu":
            problems[name] = f"{grad_label(name)} is {describe(value)}, not a float array"
            arrays.append(None)
            continue
        arrays.append(value)
    return arrays, extra, problems


def bitwise_equal(a: NDArray[Any], b: NDArray[Any]) -> bool:
    """Whether two arrays hold the same bits (``-0.0 != 0.0``, ``nan == nan`` of one kind)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    a_c = np.ascontiguousarray(a)
    b_c = np.ascontiguousarray(b)
    return bool(np.array_equal(a_c.view(np.uint8), b_c.view(np.uint8)))


def validate_budget(
    max_calls: int | None, max_seconds: float | None, progress: bool | None, quiet: bool
) -> None:
    """The budget and display options (see ``budget.py``), or a clear error: TypeError for
    the wrong type, ValueError for a value out of range."""
    _count_or_none("max_calls", max_calls, "the first call is the loss at the parameters")
    if max_seconds is not None:
        if isinstance(max_seconds, bool) or not isinstance(
            max_seconds, int | float | np.integer | np.floating
        ):
            raise TypeError(
                f"max_seconds must be a number of seconds > 0 or None, got {max_seconds!r}"
            )
        if not max_seconds > 0:  # also refuses nan
            raise ValueError(f"max_seconds must be > 0, got {max_seconds!r}")
    if progress is not None and not _is_bool(progress):
        raise TypeError(
            f"progress must be True, False or None (shown on a terminal when a check takes "
            f"over 2 s), got {progress!r}"
        )
    if not _is_bool(quiet):
        raise TypeError(f"quiet must be True or False, got {quiet!r}")
