"""Where a gradient is wrong, entry by entry: its error map, and the right gradient
rearranged (axes permuted, flipped, shifted by one, two blocks or two entries exchanged).

A map is complete for a parameter probed entry by entry; for a larger one it holds the
entries sampled after a failure, and is complete again when halving found every wrong
entry (``locate.py``). Used only after a failure that no scale, sign or transpose
explains; ``parts.py`` reads the part of the tensor the error is confined to.
docs/reference/report.md says which mistakes give which words.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gradcheck._numerics.probe import Probe
from gradcheck._numerics.stencil import Verdict
from gradcheck._numerics.steps import PRECISION

#: Transforms tried on a gradient of at most this many dimensions (4: a conv kernel), so
#: that the permutations (24) and flips (15) stay few.
MAX_NDIM = 4
#: A rearrangement is claimed only for a tensor of at least this many entries: in fewer,
#: one is another mistake by coincidence (two entries of a 3-vector swapped = flipped).
MIN_ENTRIES = 8
#: ... and only where every entry's probe resolved the gradient this finely (its blur):
#: a loose tolerance (float16 arrays) lets a wrong candidate pass too.
MAX_BLUR = 0.01
#: A stacked parameter is cut into this many equal blocks at most (an LSTM stacks 4 gates,
#: a GRU 3): two of them exchanged is a gate order that differs between forward and backward.
MAX_BLOCKS = 4


@dataclass(frozen=True)
class ErrorMap:
    """The entries of one parameter probed one by one: whether the gradient as given
    passed at each. ``axes`` names the parameter's axes, when annotations say."""

    shape: tuple[int, ...]
    probes: dict[tuple[int, ...], Probe]
    axes: tuple[str, ...] | None = None
    #: Every entry not in ``probes`` is known right (halving covered it, locate.py).
    right_elsewhere: bool = False
    #: (axis, indices): halving over whole slices found every error in these indices of
    #: this axis and none elsewhere; the map then has one entry per index of the axis.
    slices: tuple[int, tuple[int, ...]] | None = None

    @property
    def complete(self) -> bool:
        """Whether every entry is known, probed or covered (else the map is a sample)."""
        known = self.right_elsewhere or self.slices is not None
        return known or len(self.probes) == int(np.prod(self.shape))

    @functools.cached_property
    def telling(self) -> dict[tuple[int, ...], Probe]:
        """The probes that say something about the formula: those that failed, and those
        that passed on a derivative away from 0. Where the gradient and the finite
        difference are both 0 (a dead unit, a pooling window's non-maximum), any formula
        times that zero passes: such an entry is not evidence of a right formula."""
        return {
            e: p
            for e, p in self.probes.items()
            if not p.verdicts["given"].passed or not _both_zero(p.verdicts["given"])
        }

    @functools.cached_property
    def coords(self) -> NDArray[np.intp]:
        """The telling entries, one row of indices each, then (when right elsewhere) every
        entry not probed."""
        if self.slices is not None:  # one entry per slice: its index there, 0 elsewhere
            axis = self.slices[0]
            rows = np.zeros((self.shape[axis], len(self.shape)), dtype=np.intp)
            rows[:, axis] = np.arange(self.shape[axis])
            return rows
        known = list(self.telling)
        if self.right_elsewhere:
            seen = set(self.probes)
            known += [e for e in np.ndindex(self.shape) if e not in seen]
        return np.array(known, dtype=np.intp).reshape(-1, len(self.shape))

    @functools.cached_property
    def bad(self) -> NDArray[np.bool_]:
        """Per row of ``coords``: the gradient as given disagrees there."""
        if self.slices is not None:
            return np.isin(np.arange(self.shape[self.slices[0]]), self.slices[1])
        wrong = [not p.verdicts["given"].passed for p in self.telling.values()]
        return np.array(wrong + [False] * (len(self.coords) - len(wrong)), dtype=bool)

    @property
    def sharp(self) -> bool:
        """Every probe resolved the gradient to MAX_BLUR: a candidate that fits them all is
        the gradient, not one of many that a loose tolerance lets through."""
        return all(p.blur <= MAX_BLUR for p in self.probes.values())

    @property
    def rights_resolved(self) -> bool:
        """Every entry that passed was resolved as finely as a pass needs (steps.PRECISION):
        "right everywhere else" is then a pass, not a loose tolerance."""
        return all(p.blur <= PRECISION for p in self.telling.values() if p.verdicts["given"].passed)

    def matches(self, candidate: NDArray[np.float64]) -> bool:
        """Whether ``candidate`` passes the probe of every entry mapped (its range and
        tolerance)."""
        return all(
            p.verdicts["given"].within(float(candidate[entry]) * p.scale)
            for entry, p in self.probes.items()
        )

    def axis(self, axis: int) -> str:
        """How the words name an axis: "axis 1 (T)" when annotations name it."""
        named = self.axes is not None and len(self.axes) == len(self.shape)
        return f"axis {axis} ({self.axes[axis]})" if named and self.axes else f"axis {axis}"


def _both_zero(v: Verdict) -> bool:
    return abs(v.numeric) <= v.tolerance and abs(v.analytic) <= v.tolerance


#: A map from a sample says where only when it has at least this many entries.
MIN_SAMPLE = 16
#: A map known right elsewhere lists every entry for parts.py to read; beyond this many
#: (a second or more per part read) it is read as the sample it was probed from.
MAX_LISTED = 1 << 16


def error_map(
    shape: tuple[int, ...],
    probes: Sequence[Probe],
    axes: tuple[str, ...] | None = None,
    right_elsewhere: bool = False,
) -> ErrorMap | None:
    """The map of a parameter's conclusive entry probes: complete (or right elsewhere), or
    a sample of at least MIN_SAMPLE entries; else None."""
    entries = {p.entry: p for p in probes if p.entry is not None and not p.inconclusive}
    total = int(np.prod(shape)) if shape else 0
    right_elsewhere = right_elsewhere and total <= MAX_LISTED
    if not shape or (len(entries) < total and len(entries) < MIN_SAMPLE and not right_elsewhere):
        return None
    return ErrorMap(shape, entries, axes, right_elsewhere)


Words = Callable[[str], str]


def _transforms(
    grad: NDArray[np.float64], axis: Callable[[int], str]
) -> Iterator[tuple[Words, NDArray[np.float64]]]:
    """Rearrangements of the whole tensor: (its words for a label, the rearranged
    gradient)."""
    n = grad.ndim
    for perm in itertools.permutations(range(n)):
        if list(perm) != list(range(n)) and not (n == 2 and perm == (1, 0)):
            yield _permuted(perm), np.transpose(grad, perm)
    sized = [a for a in range(n) if grad.shape[a] > 1]
    for k in range(1, len(sized) + 1):
        for axes in itertools.combinations(sized, k):
            yield _flipped(axes, axis), np.flip(grad, axes)
    for a in sized:
        for shift in (1, -1):
            yield _shifted(a, shift, axis), np.roll(grad, shift, axis=a)


def _block_exchanges(
    grad: NDArray[np.float64], axis: Callable[[int], str]
) -> Iterator[tuple[Words, NDArray[np.float64]]]:
    """Two equal blocks of one axis exchanged (the rest of the tensor is right)."""
    for a in range(grad.ndim):
        for blocks in range(2, MAX_BLOCKS + 1):
            if grad.shape[a] % blocks == 0 and grad.shape[a] // blocks > 1:
                for i, j in itertools.combinations(range(blocks), 2):
                    yield (
                        _blocks(axis(a), blocks, i, j),
                        _exchange_blocks(grad, a, blocks, i, j),
                    )


def _exchange_blocks(
    grad: NDArray[np.float64], axis: int, blocks: int, i: int, j: int
) -> NDArray[np.float64]:
    parts = np.split(grad, blocks, axis=axis)
    parts[i], parts[j] = parts[j], parts[i]
    return np.concatenate(parts, axis=axis)


def _permuted(perm: tuple[int, ...]) -> Words:
    return lambda label: (
        f"{label} has its axes in the wrong order: {label}.transpose{perm} matches the "
        "finite differences (a kernel or a batch of matrices laid out in another axis "
        "order than the parameter, e.g. (H, W, C, F) for (F, C, H, W))"
    )


def _flipped(axes: tuple[int, ...], axis: Callable[[int], str]) -> Words:
    return lambda label: (
        f"{label} is flipped along {' and '.join(map(axis, axes))}: np.flip({label}, "
        f"{axes if len(axes) > 1 else axes[0]}) matches the finite differences (a "
        "convolution where the forward pass correlates, or a reversed index)"
    )


def _shifted(a: int, shift: int, axis: Callable[[int], str]) -> Words:
    return lambda label: (
        f"{label} is shifted by one along {axis(a)}: np.roll({label}, {shift}, "
        f"axis={a}) matches the finite differences (an off-by-one index, e.g. t where "
        "t - 1 is meant)"
    )


def _blocks(axis: str, blocks: int, i: int, j: int) -> Words:
    return lambda label: (
        f"{label} has blocks {i + 1} and {j + 1} of its {blocks} equal blocks along {axis} "
        "exchanged: with them swapped back it matches the finite differences (a stacked "
        "parameter whose parts are in another order in the backward than in the forward, "
        "e.g. an LSTM's gates (i, f, o, g) stacked as (f, i, o, g))"
    )


def rearranged(grad: NDArray[np.float64], errors: ErrorMap) -> Words | None:
    """The rearrangement of ``grad`` that matches every mapped entry's finite difference,
    if any: of the whole tensor only where it is wrong at half the entries or more (as a
    rearranged tensor is), else of two blocks or two entries."""
    if grad.ndim > MAX_NDIM or grad.shape != errors.shape or grad.size < MIN_ENTRIES:
        return None
    if not errors.sharp or not errors.bad.any():
        return None
    whole = 2 * int(errors.bad.sum()) >= len(errors.bad)
    named = errors.axis
    candidates = itertools.chain(
        _transforms(grad, named) if whole else (), _block_exchanges(grad, named)
    )
    for words, candidate in candidates:
        if candidate.shape == errors.shape and errors.matches(candidate):
            return words
    return exchanged(grad, errors)


def exchanged(grad: NDArray[np.float64], errors: ErrorMap) -> Words | None:
    """Two entries exchanged: in a complete, sharp map, exactly two are wrong, and each
    holds the other's finite difference."""
    if not errors.complete:
        return None
    bad = sorted(tuple(int(i) for i in e) for e in errors.coords[errors.bad])
    if len(bad) != 2:
        return None
    first, second = bad
    candidate = grad.copy()
    candidate[first], candidate[second] = grad[second], grad[first]
    if not errors.matches(candidate):
        return None
    return lambda label: (
        f"{label} has two entries exchanged: {_at(label, first)} and {_at(label, second)} "
        "each hold the other's value (a wrong index when writing one of them, or two "
        "units, classes or words mixed up)"
    )


def _at(label: str, entry: tuple[int, ...]) -> str:
    return f"{label}[{', '.join(map(str, entry))}]"
