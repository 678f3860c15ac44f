"""Which lines to probe through one parameter.

A small parameter is probed entry by entry. A large one is screened by random directions
and by its largest entry, less what joint probes stood in for; random entries, which only
say *where*, wait until something failed. Why: docs/how-it-decides.md, "Directions or
entries".
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._check.inputs import Options
from gradcheck._numerics.probe import Line, Probe
from gradcheck._numerics.scales import entry_scales

#: Entries probed in place of each random direction that could not decide.
EXTRA_ENTRIES = 2
#: Entries in the error map of a large parameter that failed with no pattern found (those
#: probed already count): enough that a part holding most of them is told from chance over
#: the few hundred parts tried (parts.ALPHA; C(48, 5) ≈ 1.7e6), at about 4 loss calls each.
MAP_ENTRIES = 48
#: ... and when fewer than MAP_SPARSE of them are wrong (too few to tell a part from chance),
#: the rest is halved to find the few wrong entries (locate.py).
MAP_SPARSE = 8


def random_weights(rng: np.random.Generator, shape: tuple[int, ...]) -> NDArray[np.float64]:
    """A random direction's weight for each entry: a random sign times a magnitude from
    [0.5, 1.5]. Unequal magnitudes see two swapped entries, which a ±1 direction misses
    whenever it moves both the same way (half of all swaps)."""
    signs = rng.choice(np.array([-1.0, 1.0]), size=shape)
    weights: NDArray[np.float64] = signs * rng.uniform(0.5, 1.5, size=shape)
    return weights


class Planner:
    """Draws the lines of every parameter from one random generator, in a fixed order (the
    same seed gives the same report)."""

    def __init__(self, rng: np.random.Generator, options: Options) -> None:
        self.rng = rng
        self.options = options

    def first_lines(
        self,
        param: int,
        array: NDArray[Any],
        grad: NDArray[np.float64] | None,
        scale: float,
        *,
        directions_covered: int = 0,
        largest_covered: bool = False,
    ) -> list[Line]:
        """Every entry if the parameter is small (or ``full``), else random directions and
        the entry with the largest gradient, less those joint probes stood in for."""
        scales = entry_scales(array, scale)
        if self.options.full or array.size <= self.options.max_entries:
            return [Line.through_entry(param, e, float(scales[e])) for e in np.ndindex(array.shape)]
        lines = [
            Line.along(param, random_weights(self.rng, array.shape) * scales, random_signs=True)
            for _ in range(self.options.directions - directions_covered)
        ]
        if self.options.entries and grad is not None and np.any(grad) and not largest_covered:
            flat = int(np.argmax(np.abs(grad)))
            largest = tuple(int(i) for i in np.unravel_index(flat, array.shape))
            lines.append(Line.through_entry(param, largest, float(scales[largest])))
        return lines

    def localising_lines(
        self, param: int, array: NDArray[Any], probes: list[Probe], scale: float
    ) -> list[Line]:
        """After a failure, random entries to say where: as many as make ``entries``
        entries probed in all."""
        return self._entries_up_to(self.options.entries, param, array, probes, scale)

    def mapping_lines(
        self, param: int, array: NDArray[Any], probes: list[Probe], scale: float
    ) -> list[Line]:
        """After a failure no scale, sign or transpose explains, random entries to map
        where the gradient is wrong: as many as make MAP_ENTRIES entries probed in all."""
        return self._entries_up_to(MAP_ENTRIES, param, array, probes, scale)

    def _entries_up_to(
        self, total: int, param: int, array: NDArray[Any], probes: list[Probe], scale: float
    ) -> list[Line]:
        """Random entries not probed yet, as many as make ``total`` entries probed in all."""
        probed = _entries(probes)
        chosen = self.random_entries(array, total - len(probed), probed)
        return self._through(param, array, chosen, scale)

    def replacing_lines(
        self, param: int, array: NDArray[Any], probes: list[Probe], scale: float
    ) -> list[Line]:
        """EXTRA_ENTRIES random entries for each direction that could not decide (kinks
        closer together than noise lets a step resolve): one entry moves one unit's kinks."""
        missing = EXTRA_ENTRIES * sum(p.inconclusive for p in probes)
        chosen = self.random_entries(array, missing, _entries(probes))
        return self._through(param, array, chosen, scale)

    def random_entries(
        self, array: NDArray[Any], count: int, exclude: set[tuple[int, ...]]
    ) -> list[tuple[int, ...]]:
        """Up to ``count`` distinct random entries of ``array`` not in ``exclude``."""
        free = array.size - len(exclude)
        chosen: list[tuple[int, ...]] = []
        while len(chosen) < min(count, free):
            flat = int(self.rng.integers(array.size))
            entry = tuple(int(i) for i in np.unravel_index(flat, array.shape))
            if entry not in exclude and entry not in chosen:
                chosen.append(entry)
        return chosen

    @staticmethod
    def _through(
        param: int, array: NDArray[Any], entries: list[tuple[int, ...]], scale: float
    ) -> list[Line]:
        scales = entry_scales(array, scale)
        return [Line.through_entry(param, e, float(scales[e])) for e in entries]


def _entries(probes: list[Probe]) -> set[tuple[int, ...]]:
    return {p.entry for p in probes if p.entry is not None}
