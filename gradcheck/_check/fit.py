"""Numbers that explain a failed gradient: one factor ``c`` with ``analytic ≈ c·numeric``
on every probe, or one coefficient ``c`` with ``numeric ≈ analytic + c·⟨x, d⟩`` (a missing
or doubled L2 term). Each probe bounds ``c`` to an interval; ``c`` must lie in all of them,
and a simple number (800, 1/13, 0.001) is preferred when the probes allow it. See
docs/how-it-decides.md, "The diagnosis".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from gradcheck._numerics.probe import Probe


@dataclass(frozen=True)
class Fit:
    """A number fitted to every probe, and the interval ``[low, high]`` the probes allow."""

    value: float
    low: float
    high: float


def conclusive(probes: Sequence[Probe]) -> list[Probe]:
    """The probes that gave a verdict (see ``Probe.inconclusive``)."""
    return [p for p in probes if not p.inconclusive]


def all_pass(probes: Sequence[Probe], reading: str) -> bool:
    """Whether ``reading`` passed every conclusive probe (and there is one)."""
    decided = conclusive(probes)
    return bool(decided) and all(p.verdicts[reading].passed for p in decided)


def fit_factor(probes: Sequence[Probe]) -> Fit | None:
    """The factor ``c`` with ``a ≈ c·n`` on every probe, or ``None`` if there is none.

    Each probe whose numeric value stands clear of zero bounds ``c`` to an interval
    (``a`` divided by the probe's range widened by its tolerance); ``c`` must lie in all of
    them. The estimate is the least-squares fit weighted by each probe's precision; when a
    simple number (an integer, 1/N, a fraction with a small denominator) lies in every
    interval and within 1% of the fit, that number is the factor: a missing 1/N with
    N = 800 reads 800, not 798.8.
    """
    verdicts = [p.verdicts["given"] for p in conclusive(probes)]
    significant = [v for v in verdicts if abs(v.numeric) > 2 * (v.tolerance + v.high - v.low)]
    if not significant:
        return None
    low, high = -math.inf, math.inf
    for v in significant:
        # Verdict.within allows tolerance·max(|c|, 1): on the numeric side for |c| > 1, on
        # the analytic side for |c| < 1 (a float32 gradient times 1/800 keeps its own
        # rounding, far wider than 1/800 of the numeric range). The hull of both bounds c.
        ends = (
            v.analytic / (v.low - v.tolerance),
            v.analytic / (v.high + v.tolerance),
            (v.analytic - v.tolerance) / v.high,
            (v.analytic + v.tolerance) / v.low,
        )
        low, high = max(low, min(ends)), min(high, max(ends))
    if low > high:
        return None
    weights = [1 / (v.tolerance + v.high - v.low) ** 2 for v in significant]
    fit = sum(w * v.analytic * v.numeric for w, v in zip(weights, significant, strict=True)) / sum(
        w * v.numeric**2 for w, v in zip(weights, significant, strict=True)
    )
    c = simplest_between(low, high, fit) or fit
    if all(v.within(v.analytic, c) for v in verdicts):
        return Fit(c, low, high)
    return None


def simplest_between(low: float, high: float, near: float) -> float | None:
    """The simplest number in ``[low, high]`` within 1% of ``near``: p/q with the smallest
    q ≤ 64, or 1/N."""
    if near == 0:
        return None
    close = (max(low, near - 0.01 * abs(near)), min(high, near + 0.01 * abs(near)))
    for q in range(1, 65):
        p = round(near * q)
        if p != 0 and close[0] <= p / q <= close[1]:
            return p / q
    n = round(1 / near)
    if n != 0 and close[0] <= 1 / n <= close[1]:
        return 1 / n
    return None


def common_factor(fits: Sequence[Fit]) -> float | None:
    """One factor for several parameters, if one number fits all their intervals."""
    low = max(f.low for f in fits)
    high = min(f.high for f in fits)
    if low > high:
        return None
    middle = sorted(f.value for f in fits)[len(fits) // 2]
    return simplest_between(low, high, middle) or min(max(middle, low), high)


#: A probe pins the regularisation coefficient when it bounds ``c`` to ±10% on its own (as
#: steps.PRECISION for a verdict), and at least two must: any one probe fits some ``c``.
REG_PRECISION = 0.1
REG_MIN_PROBES = 2


def fit_regularisation(probes: Sequence[Probe]) -> Fit | None:
    """The coefficient ``c`` with ``n ≈ a + c·w`` on every probe (``w``: ``Probe.x_dot_d``),
    or ``None`` if there is none, or the probes cannot tell.

    Each conclusive probe's range widened by its tolerance holds the true derivative, so
    ``c`` lies in ``[(low − τ − a)/w, (high + τ − a)/w]`` (ends swapped for ``w < 0``); ``c``
    must lie in all of them. A probe with ``w = 0`` cannot show ``c`` and must pass as it is.
    Probes that saw a kink are left out (their range holds only at the step they settled on).
    At least REG_MIN_PROBES probes must each exclude ``c = 0`` (fail as given) and pin ``c``
    to REG_PRECISION. The estimate is the least-squares fit weighted by each probe's
    precision, replaced by a round number (1 to 3 significant digits) when that lies in
    every interval and within 1% of the fit: 0.001, not 0.00100003.
    """
    # Kinked probes' ranges hold only at the step chosen for the given value.
    decided = [p for p in conclusive(probes) if not p.verdicts["given"].kink]
    low, high = -math.inf, math.inf
    pinned = 0
    numerator = denominator = 0.0
    for p in decided:
        v = p.verdicts["given"]
        if p.x_dot_d == 0:
            if not v.passed:
                return None
            continue
        ends = sorted(
            (
                (v.low - v.tolerance - v.analytic) / p.x_dot_d,
                (v.high + v.tolerance - v.analytic) / p.x_dot_d,
            )
        )
        low, high = max(low, ends[0]), min(high, ends[1])
        middle = (ends[0] + ends[1]) / 2
        if ends[0] * ends[1] > 0 and ends[1] - ends[0] <= 2 * REG_PRECISION * abs(middle):
            pinned += 1
            # Least squares of (n − a) ≈ c·w over the pinning probes, each weighted by
            # 1/width² (the floor only keeps a width of exactly 0 from dividing by 0).
            width = max(v.tolerance + v.high - v.low, math.ulp(abs(v.numeric - v.analytic)))
            numerator += p.x_dot_d * (v.numeric - v.analytic) / width**2
            denominator += p.x_dot_d**2 / width**2
    if pinned < REG_MIN_PROBES or low > high or low <= 0 <= high:
        return None
    fit = min(max(numerator / denominator, low), high)
    c = _round_between(low, high, fit) or fit
    if all(
        p.verdicts["given"].within(p.verdicts["given"].analytic + c * p.x_dot_d) for p in decided
    ):
        return Fit(c, low, high)
    return None


def _round_between(low: float, high: float, near: float) -> float | None:
    """The number with the fewest significant digits (1 to 3) in ``[low, high]`` and within
    1% of ``near``."""
    # 1%, as for a snapped factor (simplest_between): a round number the probes allow but
    # farther from the fit than that would misstate the coefficient in the message.
    for digits in range(3):
        rounded = float(f"{near:.{digits}e}")
        if low <= rounded <= high and abs(rounded - near) <= 0.01 * abs(near):
            return rounded
    return None
