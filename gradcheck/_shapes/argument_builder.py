"""Build a function's arguments from its jaxtyping annotations, for shape_trace.

Every dimension name gets its own size (given, else 3, 4, 5, ... in order of appearance),
all distinct, because a square matrix hides a transpose.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gradcheck._shapes.axes import allowed_dtypes, annotation_name, axes_of, is_array_annotation


def _pick_dtype(allowed: tuple[str | re.Pattern[str], ...] | None) -> np.dtype[Any]:
    if allowed is None:
        return np.dtype(np.float64)  # Shaped[...]: any dtype
    names = [d for d in allowed if isinstance(d, str)]
    for preferred in ("float64", "int64", "bool", "float32", "int32"):
        if preferred in names:
            return np.dtype(preferred)
    for name in names:
        try:
            return np.dtype(name)
        except TypeError:
            continue
    return np.dtype(np.float64)


class ArgumentBuilder:
    """Makes arguments from jaxtyping annotations, one distinct size per dimension name."""

    def __init__(self, fn: Callable[..., Any], sizes: Mapping[str, int]) -> None:
        self.fn = fn
        self.fn_name = getattr(fn, "__name__", "fn")
        self.sizes: dict[str, int] = dict(sizes)
        self.rng = np.random.default_rng(0)

    def size(self, name: str) -> int:
        if name not in self.sizes:
            taken = set(self.sizes.values())
            self.sizes[name] = next(n for n in range(3, 10_000) if n not in taken)
        return self.sizes[name]

    def make(self, annotation: Any, where: str) -> Any:
        if is_array_annotation(annotation):
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
            f"shape_trace cannot build {where} of {self.fn_name}() from "
            f"its annotation {annotation!r}: it builds arrays (Float[np.ndarray, ...]), "
            "TypedDicts and fixed-length tuples of them; pass the arguments yourself"
        )

    def shape(self, annotation: Any, where: str) -> list[int]:
        shape: list[int] = []
        for index, axis in enumerate(axes_of(annotation)):
            if axis.variadic:
                if axis.name is not None:
                    shape.append(self.size(axis.name))  # "*batch": one axis
            elif axis.size is not None:
                shape.append(axis.size)
            elif axis.name is not None:
                shape.append(self.size(axis.name))
            elif axis.symbol is not None:
                raise TypeError(
                    f"shape_trace cannot build {where}: its annotation "
                    f"{annotation_name(annotation)} has a symbolic axis ({axis.symbol}); pass "
                    "the arguments yourself"
                )
            else:  # "_": an anonymous axis gets a size of its own
                shape.append(self.size(f"_{where}[{index}]"))
        return shape

    def array(self, annotation: Any, where: str) -> Any:
        shape = self.shape(annotation, where)
        dtype = _pick_dtype(allowed_dtypes(annotation))
        if dtype.kind == "f":
            return self.rng.standard_normal(shape).astype(dtype)
        if dtype.kind in "iu":
            return self.rng.integers(0, 2, size=shape).astype(dtype)  # valid class labels
        if dtype.kind == "b":
            return self.rng.random(shape) < 0.5
        return np.zeros(shape, dtype=dtype)

    def arguments(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The arguments, positional and keyword; ``sizes`` then holds the names' sizes."""
        try:
            hints = typing.get_type_hints(self.fn, include_extras=True)
        except Exception as error:
            raise TypeError(
                f"shape_trace cannot read the annotations of {self.fn_name}() to build its "
                f"arguments ({error}); pass the arguments yourself"
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
                    f"shape_trace cannot build argument {param.name} of {self.fn_name}(): it "
                    'has no annotation; annotate it (Float[np.ndarray, "batch d_in"]) or pass '
                    "the arguments yourself"
                )
            value = self.make(hints[param.name], f"argument {param.name}")
            if param.kind is param.KEYWORD_ONLY:
                kwargs[param.name] = value
            else:
                args.append(value)
        self.sizes = {k: v for k, v in self.sizes.items() if not k.startswith("_")}
        return tuple(args), kwargs
