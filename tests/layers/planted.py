"""The registry of planted bugs: each wrong backward (or loss) says, where it is written,
which layer it belongs to and what check_layer must call each parameter it breaks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

Wrong = TypeVar("Wrong", bound=Callable[..., Any])


@dataclass(frozen=True)
class PlantedBug:
    """A wrong backward on one layer (a key of cases.LAYERS or cases.LOSSES).

    ``failing`` maps each broken parameter to the diagnosis kind it must get; every other
    parameter must pass. ``factor`` is the diagnosis factor of a ``"scaled"`` bug.
    ``where`` maps a broken parameter to words its diagnosis must contain: the part of its
    gradient that is wrong, as the report names it ("indices 0 to 8 of axis 1"), checked
    against the correct backward entry by entry when the bug was written.
    """

    layer: str
    wrong: Callable[..., Any]
    failing: Mapping[str, str]
    factor: float | None = None
    where: Mapping[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """How a test names it: the function, and the layer it is checked on."""
        return f"{self.wrong.__name__} on {self.layer}"


PLANTED: list[PlantedBug] = []


def planted_bug(
    *layers: str,
    factor: float | None = None,
    where: Mapping[str, str] | None = None,
    **failing: str,
) -> Callable[[Wrong], Wrong]:
    """Register the decorated function as a bug of each of ``layers``."""
    parts = dict(where or {})
    unknown = set(parts) - set(failing)
    if unknown:
        raise ValueError(f"where= names parameters that do not fail: {sorted(unknown)}")

    def register(wrong: Wrong) -> Wrong:
        PLANTED.extend(PlantedBug(layer, wrong, failing, factor, parts) for layer in layers)
        return wrong

    return register
