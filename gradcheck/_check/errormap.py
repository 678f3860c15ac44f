"""Where a gradient probed entry by entry is wrong: its error map, the right gradient
rearranged (axes permuted, flipped, shifted by one), or the part of the tensor the error
is confined to. Used only after a failure that no scale, sign or transpose explains.
docs/reference/report.md, "rearranged", says which mistakes give which words.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gradcheck._numerics.probe import Probe

#: Transforms tried on a gradient of at most this many dimensions (4: a conv kernel), so
#: that the permutations (24) and flips (15) stay few.
MAX_NDIM = 4
#: A rearrangement is claimed only for a tensor of at least this many entries: in fewer,
#: one is another mistake by coincidence (two entries of a 3-vector swapped = flipped).
MIN_ENTRIES = 8
#: ... and only where every entry's probe resolved the gradient this finely (its blur):
#: a loose tolerance (float16 arrays) lets a wrong candidate pass too.
MAX_BLUR = 0.01


@dataclass(frozen=True)
class ErrorMap:
    """Every entry's probe of one parameter: whether the gradient as given passed there."""

    shape: tuple[int, ...]
    probes: dict[tuple[int, ...], Probe]

    @property
    def wrong(self) -> NDArray[np.bool_]:
        """True where the gradient as given disagrees with the finite differences."""
        bad = np.zeros(self.shape, dtype=bool)
        for entry, probe in self.probes.items():
            bad[entry] = not probe.verdicts["given"].passed
        return bad

    def matches(self, candidate: NDArray[np.float64]) -> bool:
        """Whether ``candidate`` passes the probe of every entry (its range and tolerance)."""
        return all(
            p.verdicts["given"].within(float(candidate[entry]) * p.scale)
            for entry, p in self.probes.items()
        )


def error_map(shape: tuple[int, ...], probes: Sequence[Probe]) -> ErrorMap | None:
    """The map of a parameter whose every entry got a conclusive probe, else None."""
    entries = {p.entry: p for p in probes if p.entry is not None and not p.inconclusive}
    if not shape or len(entries) != int(np.prod(shape)):
        return None
    return ErrorMap(shape, entries)


def _transforms(
    grad: NDArray[np.float64],
) -> Iterator[tuple[str, Callable[[str], str], NDArray[np.float64]]]:
    """(kind of rearrangement, its words for a label, the rearranged gradient)."""
    n = grad.ndim
    for perm in itertools.permutations(range(n)):
        if list(perm) != list(range(n)) and not (n == 2 and perm == (1, 0)):
            yield "permuted", _permuted(perm), np.transpose(grad, perm)
    sized = [a for a in range(n) if grad.shape[a] > 1]
    for k in range(1, len(sized) + 1):
        for axes in itertools.combinations(sized, k):
            yield "flipped", _flipped(axes), np.flip(grad, axes)
    for axis in sized:
        for shift in (1, -1):
            yield "shifted", _shifted(axis, shift), np.roll(grad, shift, axis=axis)


def _permuted(perm: tuple[int, ...]) -> Callable[[str], str]:
    return lambda label: (
        f"{label} has its axes in the wrong order: {label}.transpose{perm} matches the "
        "finite differences (a kernel or a batch of matrices laid out in another axis "
        "order than the parameter, e.g. (H, W, C, F) for (F, C, H, W))"
    )


def _flipped(axes: tuple[int, ...]) -> Callable[[str], str]:
    return lambda label: (
        f"{label} is flipped along axis {', '.join(map(str, axes))}: np.flip({label}, "
        f"{axes if len(axes) > 1 else axes[0]}) matches the finite differences (a "
        "convolution where the forward pass correlates, or a reversed index)"
    )


def _shifted(axis: int, shift: int) -> Callable[[str], str]:
    return lambda label: (
        f"{label} is shifted by one along axis {axis}: np.roll({label}, {shift}, "
        f"axis={axis}) matches the finite differences (an off-by-one index, e.g. t where "
        "t - 1 is meant)"
    )


def rearranged(
    grad: NDArray[np.float64], errors: ErrorMap
) -> tuple[str, Callable[[str], str]] | None:
    """The rearrangement of ``grad`` that matches every entry's finite difference, if any."""
    if grad.ndim > MAX_NDIM or grad.shape != errors.shape or grad.size < MIN_ENTRIES:
        return None
    if any(p.blur > MAX_BLUR for p in errors.probes.values()):
        return None
    if 2 * int(errors.wrong.sum()) < grad.size:  # a rearranged tensor is wrong nearly everywhere
        return None
    for kind, words, candidate in _transforms(grad):
        if candidate.shape == errors.shape and errors.matches(candidate):
            return kind, words
    return None


def where_wrong(errors: ErrorMap) -> str:
    """What the map shows, in words: how many entries are wrong, and the part of the
    tensor they are confined to (some indices of one axis, or its border), if any."""
    bad = errors.wrong
    count, total = int(bad.sum()), bad.size
    head = f"wrong in {count} of {total} entries"
    for axis, size in enumerate(bad.shape):
        if size < 3:
            continue
        hit = sorted(int(i) for i in np.flatnonzero(bad.any(axis=_others(bad.ndim, axis))))
        if len(hit) == size:
            continue
        if hit == [0, size - 1]:
            return f"{head}, all on the border of axis {axis} (indices 0 and {size - 1}: padding?)"
        if hit == list(range(hit[0], hit[-1] + 1)) and len(hit) < size:
            span = f"index {hit[0]}" if len(hit) == 1 else f"indices {hit[0]} to {hit[-1]}"
            return f"{head}, all at {span} of axis {axis} (the rest of that axis agrees)"
    return f"{head}, spread over every index of every axis"


def _others(ndim: int, axis: int) -> tuple[int, ...]:
    return tuple(a for a in range(ndim) if a != axis)
