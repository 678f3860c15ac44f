"""Walk values against jaxtyping annotations, item by item, and say where a size was bound.

beartype checks one item of a container per call, and jaxtyping's errors say neither
which item nor where a dimension got its size. This walker checks every array inside dicts,
lists, tuples and TypedDicts, binds dimension names in the order jaxtyping does (arguments
in order, dict values in key order), and words the first misfit: which item, which axis,
which name, and where that name got its size. What is not about arrays is beartype's.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gradcheck._shapes.axes import (
    Axis,
    allowed_dtypes,
    annotation_name,
    axes_of,
    dtype_fits,
    dtype_name,
    is_array_annotation,
    variadic_index,
)


@dataclass(frozen=True)
class Binding:
    """Where a dimension name got its size: the first array that used it."""

    value: int | tuple[int, ...]
    where: str
    shape: tuple[int, ...]
    axes: str  # "axis 0" or "axes 0..1"


@dataclass
class Bindings:
    """Sizes bound to dimension names so far, in the order jaxtyping binds them."""

    single: dict[str, Binding] = field(default_factory=dict)
    variadic: dict[str, Binding] = field(default_factory=dict)

    def copy(self) -> Bindings:
        return Bindings(dict(self.single), dict(self.variadic))

    def sizes(self) -> dict[str, int]:
        """Name -> size for the single (non-variadic) dimensions."""
        return {name: b.value for name, b in self.single.items() if isinstance(b.value, int)}

    def text(self) -> str:
        """``batch = 7, *rest = (4, 5)``: every size bound so far."""
        single = [f"{name} = {b.value}" for name, b in self.single.items()]
        variadic = [f"*{name} = {b.value}" for name, b in self.variadic.items()]
        return ", ".join(single + variadic)


@dataclass(frozen=True)
class Misfit:
    """Why one value does not fit its annotation, in words (without the function name)."""

    where: str
    headline: str
    detail: str = ""
    dimension: str | None = None


def has_array_annotation(annotation: Any) -> bool:
    """Whether a jaxtyping array annotation stands anywhere in ``annotation``."""
    if is_array_annotation(annotation):
        return True
    if typing.is_typeddict(annotation):
        hints = typing.get_type_hints(annotation, include_extras=True)
        return any(has_array_annotation(hint) for hint in hints.values())
    return any(has_array_annotation(arg) for arg in typing.get_args(annotation))


def _shape_of(value: object) -> tuple[int, ...]:
    return tuple(int(n) for n in getattr(value, "shape", ()))


def _axes_text(start: int, stop: int) -> str:
    return f"axes {start}..{stop - 1}" if stop - start != 1 else f"axis {start}"


# --------------------------------------------------------------------- one array


def _type_or_dtype_misfit(annotation: Any, value: object, where: str) -> Misfit | None:
    text = annotation_name(annotation)
    array_type = annotation.array_type
    if array_type is Any:
        is_array = hasattr(value, "shape") and hasattr(value, "dtype")
    else:
        is_array = isinstance(value, array_type)
    if not is_array:
        expected = getattr(array_type, "__module__", "") + "." + getattr(array_type, "__name__", "")
        return Misfit(
            where,
            f"{where} is a {type(value).__name__}, which does not fit its annotation {text}.",
            f"It needs a {expected.lstrip('.')} (an array with a shape and a dtype).",
        )
    allowed = allowed_dtypes(annotation)
    dtype = dtype_name(value)
    if not dtype_fits(dtype, allowed):
        names = ", ".join(str(getattr(d, "pattern", d)) for d in allowed or ())
        return Misfit(
            where,
            f"{where} has dtype {dtype}, which does not fit its annotation {text}.",
            f"It needs one of: {names} (convert it with .astype(...)).",
        )
    return None


class _ArrayWalk:
    """Checks one array's axes against its annotation's, binding the names it meets."""

    def __init__(self, annotation: Any, value: object, where: str, bindings: Bindings) -> None:
        self.shape = _shape_of(value)
        self.where = where
        self.bindings = bindings
        self.head = (
            f"{where} has shape {self.shape}, which does not fit its annotation "
            f"{annotation_name(annotation)}."
        )
        self.spec = str(annotation.dim_str)

    def misfit(self, detail: str, dimension: str | None = None) -> Misfit:
        return Misfit(self.where, self.head, detail, dimension)

    def check(self, axes: tuple[Axis, ...]) -> Misfit | None:
        rank = len(self.shape)
        at = variadic_index(axes)
        if at is None:
            if rank != len(axes):
                return self.misfit(
                    f"It has {rank} axes; the annotation '{self.spec}' has {len(axes)}."
                )
            return self.fixed_axes(axes, range(rank))
        if rank < len(axes) - 1:
            return self.misfit(
                f"It has {rank} axes; the annotation '{self.spec}' needs at least {len(axes) - 1}."
            )
        stop = rank - (len(axes) - at - 1)
        return (
            self.fixed_axes(axes[:at], range(at))
            or self.fixed_axes(axes[at + 1 :], range(stop, rank))
            or self.variadic_axes(axes[at], at, stop)
        )

    def fixed_axes(self, axes: Sequence[Axis], positions: range) -> Misfit | None:
        for axis, position in zip(axes, positions, strict=True):
            size = self.shape[position]
            if axis.broadcastable and size == 1:
                continue
            if axis.size is not None and axis.size != size:
                return self.misfit(
                    f"Axis {position} is {size} here, but the annotation fixes it to {axis.size}."
                )
            if axis.name is None:
                continue  # "_", a fixed size that fits, or a symbolic size (jaxtyping's)
            bound = self.bindings.single.get(axis.name)
            if bound is None:
                self.bindings.single[axis.name] = Binding(
                    size, self.where, self.shape, f"axis {position}"
                )
            elif bound.value != size:
                return self.misfit(
                    f"Axis {position} is {axis.name} = {size} here, but {axis.name} = "
                    f"{bound.value} in {bound.where} ({bound.axes} of shape {bound.shape}).",
                    axis.name,
                )
        return None

    def variadic_axes(self, axis: Axis, start: int, stop: int) -> Misfit | None:
        if axis.name is None:
            return None  # "..." matches any axes
        sizes = self.shape[start:stop]
        axes = _axes_text(start, stop)
        bound = self.bindings.variadic.get(axis.name)
        if bound is None:
            self.bindings.variadic[axis.name] = Binding(sizes, self.where, self.shape, axes)
            return None
        if bound.value == sizes or axis.broadcastable:
            return None
        return self.misfit(
            f"{axes.capitalize()} are *{axis.name} = {sizes} here, but *{axis.name} = "
            f"{bound.value} in {bound.where} ({bound.axes} of shape {bound.shape}).",
            f"*{axis.name}",
        )


def check_array(annotation: Any, value: object, where: str, bindings: Bindings) -> Misfit | None:
    """Check one value against one jaxtyping array annotation, binding its names."""
    misfit = _type_or_dtype_misfit(annotation, value, where)
    if misfit is not None:
        return misfit
    return _ArrayWalk(annotation, value, where, bindings).check(axes_of(annotation))


# ------------------------------------------------------------------- containers


def _items(annotation: Any, value: object) -> list[tuple[Any, object, str]] | None:
    """``(hint, item, path suffix)`` for each item a container hint holds, in binding
    order; ``None`` when ``annotation`` is not a container hint the value matches."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if typing.is_typeddict(annotation) and isinstance(value, Mapping):
        hints = typing.get_type_hints(annotation, include_extras=True)
        return [(hint, value[key], f"[{key!r}]") for key, hint in hints.items() if key in value]
    if origin is None or not args:
        return None
    if isinstance(origin, type) and issubclass(origin, Mapping) and isinstance(value, Mapping):
        return [(args[-1], item, f"[{key!r}]") for key, item in value.items()]
    if origin is tuple and isinstance(value, tuple):
        if len(args) == 2 and args[1] is Ellipsis:
            args = (args[0],) * len(value)
        elif len(args) != len(value):
            return None  # a wrong length is beartype's to report
        return [
            (hint, item, f"[{i}]") for i, (hint, item) in enumerate(zip(args, value, strict=True))
        ]
    if (
        isinstance(origin, type)
        and issubclass(origin, Sequence)
        and isinstance(value, Sequence)
        and not isinstance(value, str)
    ):
        return [(args[0], item, f"[{i}]") for i, item in enumerate(value)]
    return None


def walk(annotation: Any, value: object, where: str, bindings: Bindings) -> Misfit | None:
    """Check ``value`` against ``annotation`` wherever it holds jaxtyping arrays."""
    if is_array_annotation(annotation):
        return check_array(annotation, value, where, bindings)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return walk(typing.get_args(annotation)[0], value, where, bindings)
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        return _walk_union(typing.get_args(annotation), value, where, bindings)
    for hint, item, suffix in _items(annotation, value) or ():
        misfit = walk(hint, item, where + suffix, bindings)
        if misfit is not None:
            return misfit
    return None


def _walk_union(
    options: tuple[Any, ...], value: object, where: str, bindings: Bindings
) -> Misfit | None:
    if value is None and type(None) in options:
        return None
    first: Misfit | None = None
    for option in options:
        if option is type(None):
            continue
        trial = bindings.copy()
        misfit = walk(option, value, where, trial)
        if misfit is None:
            bindings.single, bindings.variadic = trial.single, trial.variadic
            return None
        first = first or misfit
    return first
