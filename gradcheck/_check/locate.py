"""Map where a large parameter's gradient is wrong, after a failure no scale, sign or
transpose explains: random entries first (``plan.MAP_ENTRIES``); when few of them are
wrong, the rest of the tensor halved again and again (group testing) to find the few
wrong entries, so that every other entry is known right. docs/how-it-decides.md, "Where
a gradient is wrong", says why and what it costs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gradcheck._check import budget
from gradcheck._check.parts import FEW
from gradcheck._check.plan import MAP_SPARSE, Planner, random_weights
from gradcheck._numerics.probe import Line, Probe, Prober
from gradcheck._numerics.scales import entry_scales

#: Halving stops after this many probes (a few wrong entries take about 2·log2(size)
#: each; more than FEW of them are no longer "a few"); over the slices of one axis, after a
#: quarter of that.
MAX_HALVINGS = 96
#: Slices found by halving name a part only when they are at most 1 in this many of their
#: axis (a hidden unit of 50; one gate's block of an LSTM's 4).
SLICES_PER_PART = 4


@dataclass
class Map:
    """The entry probes of one parameter's map, whether every entry not among them is
    known right (halving covered the rest), and what it cost in words."""

    probes: list[Probe]
    exhaustive: bool
    words: str
    #: Halving over whole slices found the error in these indices of this axis, and every
    #: other slice right (when halving single entries could not finish).
    slices: tuple[int, list[int]] | None = None


@dataclass
class Mapper:
    """Probes one parameter's entries (and groups of them) for its error map."""

    prober: Prober
    planner: Planner
    readings: dict[str, NDArray[np.float64]]
    eps: float
    scale: float

    def map(self, index: int, array: NDArray[np.float64], probes: list[Probe]) -> Map:
        """Sample entries; if fewer than MAP_SPARSE of them are wrong, halve the rest.
        A budget that runs out keeps the sample so far (the next parameter stops the
        check)."""
        start, cut, exhaustive = budget.calls(), "", False
        sample, halved = list(probes), list[Probe]()
        slices: tuple[int, list[int]] | None = None
        try:
            for line in self.planner.mapping_lines(index, array, probes, self.scale):
                sample.extend(self.prober.probe(line, self.readings, self.eps, self.scale))
            if sum(_fails(p) is True for p in sample if p.entry is not None) < MAP_SPARSE:
                exhaustive = self._halve(index, array, sample, halved)
                if not exhaustive:
                    slices = self._slices(index, array)
        except budget.BudgetSpent as spent:
            cut, exhaustive = f", cut short: {spent.budget} ran out", False
        # Unless halving finished, the entries it found are no random sample: read with the
        # sample, they would pull a part towards where halving looked first. They are listed.
        found = sample + halved if exhaustive else sample
        mapped = sum(p.entry is not None for p in found)
        how = (
            f"all {mapped} entries probed"
            if mapped == array.size
            else f"{mapped} entries probed and the rest halved"
            if exhaustive
            else f"{mapped} entries sampled" + _found(halved)
        )
        if slices is not None:
            how += f", then halving the slices along axis {slices[0]}"
        calls = budget.calls() - start
        words = f" (the error map: {how}, {calls} more loss calls{cut})"
        return Map(found, exhaustive, words, slices)

    def _slices(self, index: int, array: NDArray[np.float64]) -> tuple[int, list[int]] | None:
        """Halving again, over whole slices of one axis at a time (a direction moving every
        entry whose index along the axis is in a set): the first axis along which a few
        slices, at most a quarter of them, hold every error, all the others passing; None
        if no axis does. Which entries of those slices are wrong stays unknown, so a part
        as large as half the tensor (row 0 of a (2, 1000) weight) would name nothing."""
        scales = entry_scales(array, self.scale)
        for axis, size in enumerate(array.shape):
            if array.ndim < 2 or size < SLICES_PER_PART:
                continue

            def fails(group: NDArray[np.intp], axis: int = axis) -> bool | None:
                mask = np.zeros(array.shape[axis])
                mask[group] = 1.0
                where = [1] * array.ndim
                where[axis] = array.shape[axis]
                return _verdict(self._masked(index, array, scales, mask.reshape(where)))

            found = halve(np.arange(size), fails, MAX_HALVINGS // 4)
            if found and len(found) * SLICES_PER_PART <= size:
                return axis, found
        return None

    def _halve(
        self, index: int, array: NDArray[np.float64], sample: list[Probe], found: list[Probe]
    ) -> bool:
        """Find the wrong entries among those not in ``sample`` by probing halves of them
        along random directions; add an entry probe of each to ``found``. True when every
        entry left out was in a half that passed."""
        probed = [p.entry for p in sample if p.entry is not None]
        flat = np.ravel_multi_index(tuple(np.array(probed).T), array.shape) if probed else []
        rest = np.setdiff1d(np.arange(array.size), flat).astype(np.intp)
        scales = entry_scales(array, self.scale)

        def fails(group: NDArray[np.intp]) -> bool | None:
            if len(group) == 1:
                entry = tuple(int(i) for i in np.unravel_index(int(group[0]), array.shape))
                line = Line.through_entry(index, entry, float(scales[entry]))
                probes = self.prober.probe(line, self.readings, self.eps, self.scale)
                found.extend(probes)
                return _verdict(probes)
            mask = np.zeros(array.size)
            mask[group] = 1.0
            return _verdict(self._masked(index, array, scales, mask.reshape(array.shape)))

        return len(rest) == 0 or halve(rest, fails) is not None

    def _masked(
        self,
        index: int,
        array: NDArray[np.float64],
        scales: NDArray[np.float64],
        mask: NDArray[np.float64],
    ) -> list[Probe]:
        """One group of halving: a random direction over the entries where ``mask``
        (broadcast to the parameter's shape) is 1."""
        weights = random_weights(self.planner.rng, array.shape) * scales
        line = Line.along(index, weights * mask, random_signs=True)
        return self.prober.probe(line, self.readings, self.eps, self.scale)


def _found(probes: list[Probe]) -> str:
    """The wrong entries halving found before it gave up, in words ("" if none)."""
    wrong = sorted(p.entry for p in probes if p.entry is not None and _fails(p))
    if not wrong:
        return ""
    shown = ", ".join(str(list(e)) for e in wrong[:3]) + (", ..." if len(wrong) > 3 else "")
    return f"; halving found {len(wrong)} wrong entries ({shown}) before it stopped"


def _verdict(probes: list[Probe]) -> bool | None:
    """A group's verdict: None if a probe of it could not decide, else whether one failed."""
    verdicts = [_fails(p) for p in probes]
    return None if None in verdicts else any(verdicts)


def _fails(probe: Probe) -> bool | None:
    return None if probe.inconclusive else not probe.verdicts["given"].passed


def halve(
    group: NDArray[np.intp],
    fails: Callable[[NDArray[np.intp]], bool | None],
    budget_probes: int = MAX_HALVINGS,
) -> list[int] | None:
    """Group testing: the failing members of ``group`` that ``fails`` located (at most FEW,
    within ``budget_probes`` calls), or None if it could not finish. A failing group whose
    first half passes has its error in the second half, which then needs no probe of its
    own (unless it is a single member, whose own probe the map needs)."""
    first = fails(group)
    if first is None:
        return None
    failing, found, left_to_spend = ([group] if first else []), list[int](), budget_probes
    while failing:
        part = failing.pop()
        if len(part) == 1:
            found.append(int(part[0]))  # its own probe failed: one of the wrong members
            if len(found) > FEW:
                return None
            continue
        left, right = part[: len(part) // 2], part[len(part) // 2 :]
        in_left = fails(left)
        in_right = fails(right) if in_left or len(right) == 1 else True
        left_to_spend -= 2
        if in_left is None or in_right is None or not (in_left or in_right) or left_to_spend < 0:
            return None  # undecided, or the error too small to find in either half
        failing += [half for half, bad in ((left, in_left), (right, in_right)) if bad]
    return sorted(found)
