"""Read an error map: the part of the tensor a gradient is wrong in (``confined``), a
factor that differs from slice to slice or an amount the same along an axis (``partial``),
or, when neither fits, what the map shows in words. docs/reference/report.md, "confined"
and "partial", says which mistakes give which words, and docs/how-it-decides.md, "Where a
gradient is wrong", why a part named from a sample is not a coincidence.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gradcheck._check.errormap import ErrorMap, Words

#: The chance of naming a part by coincidence, over every part tried: a part that is not
#: exactly the wrong entries of a complete map (always so for a sample) is named only if
#: that many wrong entries would fall inside it at random with at most ALPHA / (parts
#: tried) probability (a Bonferroni bound over a hypergeometric draw).
ALPHA = 0.01
#: Equal blocks a stacked parameter is cut into, at most (an LSTM stacks 4 gates).
MAX_BLOCKS = 8
#: A complete map with at most this many wrong entries outside any named part lists them:
#: a handful a reader can look at one by one; more is a list nobody reads.
FEW = 8
#: A factor per slice is read only from entries whose finite difference is at least this
#: many tolerances from 0 (else the ratio is noise).
RESOLVED = 10.0


@dataclass(frozen=True)
class Part:
    """A part of the tensor, in words, with the mistake that would put an error there."""

    inside: NDArray[np.bool_]  # per entry mapped (a row of ErrorMap.coords): in the part
    words: str
    cause: str
    tried: int = 1  # how many parts like it were tried (for the Bonferroni bound)


def confined(errors: ErrorMap) -> Words | None:
    """The smallest part that holds every wrong entry of the map, if it is no coincidence:
    in a complete map, exactly the wrong entries; in any map, a part that many wrong
    entries would fall inside by chance with at most ALPHA probability. Else, in a
    complete map, up to FEW wrong entries listed."""
    wrong, known = int(errors.bad.sum()), len(errors.bad)
    if wrong == 0 or wrong == known or not errors.rights_resolved:
        return None
    part = _smallest(errors, telling=True)
    if part is None:
        listable = errors.complete and errors.slices is None  # slices' entries stand in
        # A few is also at most half: 8 wrong of 10 is a tensor wrong nearly everywhere.
        few = wrong <= min(FEW, known // 2)
        return _few(errors) if listable and few else None
    return lambda label: (
        f"{label} is wrong only {part.words}{_sampled(errors)}, and right everywhere else: "
        f"{part.cause}"
    )


def _smallest(errors: ErrorMap, telling: bool) -> Part | None:
    """The part with the fewest mapped entries that holds every wrong one and not every
    entry; when ``telling``, only one that is no coincidence (see ``confined``)."""
    bad = errors.bad
    wrong, known = int(bad.sum()), len(bad)
    parts = list(_parts(errors))
    tried = sum(p.tried for p in parts)
    best: tuple[int, Part] | None = None
    for part in parts:
        inside = int(part.inside.sum())
        if (bad & ~part.inside).any() or inside == known:
            continue
        exact = errors.complete and inside == wrong
        if telling and not (exact or _log_chance(inside, known, wrong) <= math.log(ALPHA / tried)):
            continue
        if best is None or inside < best[0]:
            best = (inside, part)
    return None if best is None else best[1]


def _log_chance(inside: int, known: int, wrong: int) -> float:
    """log of C(inside, wrong) / C(known, wrong): the chance that ``wrong`` entries drawn
    at random from ``known`` all fall among ``inside`` (in logs: the counts overflow)."""

    def log_comb(n: int, k: int) -> float:
        return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)

    return log_comb(inside, wrong) - log_comb(known, wrong)


def _few(errors: ErrorMap) -> Words:
    """The few wrong entries of a complete map, one by one, and the smallest part that
    holds them all (not telling: too few to rule out chance), if any."""
    entries = [", ".join(map(str, e)) for e in sorted(map(tuple, errors.coords[errors.bad]))]
    part = _smallest(errors, telling=False) if len(entries) > 1 else None
    inside = f" (all {part.words})" if part is not None else ""
    return lambda label: (
        f"{label} is wrong only at {', '.join(f'{label}[{e}]' for e in entries)}{inside}, and "
        "right at every other entry: look at how those entries are written (an index off, a "
        "special case, a value overwritten)"
    )


def _sampled(errors: ErrorMap) -> str:
    if errors.complete:
        return ""
    return f" (in a sample of {len(errors.probes)} entries, {int(errors.bad.sum())} wrong)"


def _parts(errors: ErrorMap) -> Iterator[Part]:
    """Every part tried, most telling first (of two that hold the same entries, the first
    is named): the entries the loss does not depend on, single indices, blocks of a
    stacked axis, leading or trailing indices, borders, indices where strided windows
    overlap, and the few indices of one axis that hold every wrong entry."""
    shape = errors.shape
    yield from _unused(errors)
    for axis, n in enumerate(shape):
        if n < 2:
            continue
        name = errors.axis(axis)
        yield from _indices(errors, axis, name)
        yield from _blocks(errors, axis, name)
        yield from _runs(errors, axis, name)
    yield from _borders(errors)
    yield from _overlaps(errors)
    for axis, n in enumerate(shape):
        if n >= 2:
            yield from _hits(errors, axis, errors.axis(axis))


def _slab(errors: ErrorMap, axis: int, indices: list[int] | range) -> NDArray[np.bool_]:
    """Per entry mapped: its index along ``axis`` is in ``indices``."""
    return np.isin(errors.coords[:, axis], list(indices))


def _indices(errors: ErrorMap, axis: int, name: str) -> Iterator[Part]:
    n = errors.shape[axis]
    if n == int(np.prod(errors.shape)):
        return  # a slice of one entry is that entry: listed by _few
    for i in range(n):
        yield Part(
            _slab(errors, axis, [i]),
            f"at index {i} of {name}",
            "one slice is handled differently (one unit, channel, class or time step: a "
            "loop bound, a mask or an index that misses it, or writes it twice)",
        )


def _hits(errors: ErrorMap, axis: int, name: str) -> Iterator[Part]:
    """The few indices of ``axis`` that hold every wrong entry, whatever they are: at most
    FEW, and at most half the axis (4 of 5 wrong is not "a few")."""
    n = errors.shape[axis]
    hit = sorted({int(i) for i in errors.coords[errors.bad, axis]})
    if 2 <= len(hit) <= min(FEW, n // 2):
        yield Part(
            _slab(errors, axis, hit),
            f"at indices {', '.join(map(str, hit))} of {name}",
            "a few slices along one axis are written wrongly (an index repeated in a batch "
            "that must add up with np.add.at, not +=, or slices missed by a loop)",
            tried=math.comb(n, len(hit)),
        )


def _blocks(errors: ErrorMap, axis: int, name: str) -> Iterator[Part]:
    n = errors.shape[axis]
    for count in range(2, MAX_BLOCKS + 1):
        size = n // count
        if n % count or size < 2:
            continue
        for b in range(count):
            yield Part(
                _slab(errors, axis, range(b * size, (b + 1) * size)),
                f"in block {b + 1} of {count} equal blocks along {name} (indices {b * size} to "
                f"{(b + 1) * size - 1})",
                "one part of a stacked parameter has its derivative wrong (one of an LSTM's "
                "4 gates: the wrong activation's derivative, or the wrong cached value)",
            )


def _runs(errors: ErrorMap, axis: int, name: str) -> Iterator[Part]:
    n = errors.shape[axis]
    for k in range(2, n):  # indices 0 .. k-1: every one but the last n-k
        rest = "the last index" if n - k == 1 else f"the last {n - k}"
        yield Part(
            _slab(errors, axis, range(k)),
            f"at indices 0 to {k - 1} of {name} (all but {rest})",
            "what flows back from later indices is lost (a gradient through time not "
            "carried back from step t + 1, or not accumulated with +=)",
        )
    for k in range(1, n - 1):  # indices k .. n-1: every one but the first k
        rest = "the first index" if k == 1 else f"the first {k}"
        yield Part(
            _slab(errors, axis, range(k, n)),
            f"at indices {k} to {n - 1} of {name} (all but {rest})",
            "what flows from the first indices on is lost or counted twice (an initial "
            "state's contribution, or a loop that starts at 1)",
        )


def _spatial(shape: tuple[int, ...], least: int) -> Iterator[tuple[int, ...]]:
    """Single axes, and pairs of axes of one size (an image's height and width), of at
    least ``least`` entries."""
    big = [a for a, n in enumerate(shape) if n >= least]
    yield from ((a,) for a in big)
    yield from ((a, b) for a, b in itertools.combinations(big, 2) if shape[a] == shape[b])


def _union(errors: ErrorMap, axes: tuple[int, ...], pick: list[int]) -> NDArray[np.bool_]:
    """Per entry mapped: its index along any of ``axes`` is in ``pick``."""
    return np.asarray(np.isin(errors.coords[:, list(axes)], pick).any(axis=1), dtype=bool)


def _named(errors: ErrorMap, axes: tuple[int, ...], joined: str = " and ") -> str:
    return joined.join(errors.axis(a) for a in axes)


def _borders(errors: ErrorMap) -> Iterator[Part]:
    for width in (1, 2):
        for axes in _spatial(errors.shape, 2 * width + 2):
            n = errors.shape[axes[0]]
            edge = [*range(width), *range(n - width, n)]
            which = "first and last index" if width == 1 else f"first and last {width} indices"
            yield Part(
                _union(errors, axes, edge),
                f"on the border of {_named(errors, axes)} (their {which})",
                "where padding meets the input: the padding is stripped at the wrong offset, "
                "or windows that overlap the padding are skipped",
            )


def _overlaps(errors: ErrorMap) -> Iterator[Part]:
    for stride in (2, 3):
        for axes in _spatial(errors.shape, 2 * stride + 1):
            n = errors.shape[axes[0]]
            shared = list(range(stride, n - 1, stride))
            yield Part(
                _union(errors, axes, shared),
                f"where the index along {_named(errors, axes, ' or ')} is a multiple of {stride} "
                f"other than 0 and the last ({', '.join(map(str, shared))})",
                f"these are the entries neighbouring windows with stride {stride} share: their "
                "contributions must add up (+=), not overwrite each other (=)",
            )


def _unused(errors: ErrorMap) -> Iterator[Part]:
    """The entries the loss does not depend on: it did not change at all when they moved
    (a mask, padding, a step past a sequence's end). Read only where every entry known is
    one probed: unprobed entries known right could be unused too."""
    if errors.right_elsewhere or errors.slices is not None:
        return
    unmoved = [not p.loss_moved for p in errors.telling.values()]
    if any(unmoved):
        yield Part(
            np.array(unmoved, dtype=bool),
            "where the loss does not depend on it (the loss did not change at all when those "
            "entries moved)",
            "the forward masks, pads or skips these entries, so their gradient must be 0 "
            "(apply the forward's mask to the gradient too)",
        )


def partial(grad: NDArray[np.float64], errors: ErrorMap) -> Words | None:
    """A factor per index of one axis, or an amount the same along one axis, that makes
    the gradient match every mapped entry."""
    if not errors.sharp or not errors.bad.any():  # nothing wrong in the map: nothing to fit
        return None
    return _per_slice_factor(grad, errors) or _offset_along(grad, errors)


def _per_slice_factor(grad: NDArray[np.float64], errors: ErrorMap) -> Words | None:
    """A factor per index of one axis, where the factors differ (one factor for all would
    be ``scaled``)."""
    for axis, n in enumerate(errors.shape):
        factors = _slice_factors(errors, axis) if n >= 2 else None
        if factors is None:
            continue
        shape = [1] * grad.ndim
        shape[axis] = n
        if errors.matches(grad / factors.reshape(shape)):
            low, high = float(factors.min()), float(factors.max())
            name = errors.axis(axis)
            return lambda label: (
                f"{label} is right up to a factor that differs between the indices of {name} "
                f"(from {low:.3g}× to {high:.3g}×{_sampled(errors)}): a normalisation per "
                f"index of {name} (per example? per channel?) is missing or wrong in the "
                "backward, e.g. a division by each example's own std or count"
            )
    return None


def _slice_factors(errors: ErrorMap, axis: int) -> NDArray[np.float64] | None:
    """Per index of ``axis``, the median analytic / numeric over its resolved entries;
    None unless every index has two, the factors are non-zero and not all equal."""
    ratios: list[list[float]] = [[] for _ in range(errors.shape[axis])]
    for entry, probe in errors.probes.items():
        v = probe.verdicts["given"]
        if abs(v.numeric) > RESOLVED * v.tolerance:
            ratios[entry[axis]].append(v.analytic / v.numeric)
    if any(len(r) < 2 for r in ratios):
        return None
    factors = np.array([float(np.median(r)) for r in ratios])
    # Factors equal to 0.1% are one factor, which scaled would have fitted: not this story.
    if np.any(factors == 0) or np.ptp(factors) <= 1e-3 * np.abs(factors).max():
        return None
    return factors


#: An amount the same along an axis is read only along an axis of at least this many
#: indices, each line along it holding as many mapped entries: two would fit any pair.
MIN_LINE = 3


def _offset_along(grad: NDArray[np.float64], errors: ErrorMap) -> Words | None:
    """An amount that depends only on the other axes, the same along one axis, that the
    gradient is off by (the gradient through a mean over that axis missing)."""
    for axis, n in enumerate(errors.shape):
        if n < MIN_LINE or grad.ndim < 2:
            continue
        lines: dict[tuple[int, ...], list[float]] = {}
        for entry, probe in errors.probes.items():
            v = probe.verdicts["given"]
            rest = entry[:axis] + entry[axis + 1 :]
            lines.setdefault(rest, []).append((v.analytic - v.numeric) / probe.scale)
        if len(lines) < 2 or any(len(e) < MIN_LINE for e in lines.values()):
            continue
        offset = np.zeros(grad.shape[:axis] + grad.shape[axis + 1 :])
        for rest, off in lines.items():
            offset[rest] = float(np.median(off))
        if errors.matches(grad - np.expand_dims(offset, axis)):
            name = errors.axis(axis)
            return lambda label: (
                f"{label} is off by an amount that is the same at every index of {name} "
                f"(it depends only on the other axes{_sampled(errors)}): a term averaged or "
                f"summed over {name} is missing or wrong in the backward, e.g. the gradient "
                "through the mean of a normalisation"
            )
    return None


def where_wrong(errors: ErrorMap) -> str:
    """What a map shows when no part or factor explains it: how many entries are wrong,
    and the smallest part that holds them all, if any."""
    count, total = int(errors.bad.sum()), len(errors.probes)
    if errors.complete:
        total = int(np.prod(errors.shape))
    if count == 0:
        share = 3 / total  # the rule of three: a 95% bound when none of total is wrong
        return (
            f"none of {total} entries sampled is wrong: the error sits in under {share:.0%} "
            "of the entries"
        )
    if not errors.complete:  # the smallest part holding a sample's wrong entries is chance
        return f"wrong in {count} of {total} entries sampled, in no part beyond chance"
    part = _smallest(errors, telling=False) if count < total else None
    where = f", all {part.words}" if part is not None else ", spread over the tensor"
    return f"wrong in {count} of {total} entries{where}"
