"""Estimate the loss's rounding noise σ: how much it wobbles where it should be smooth.

σ sets both the step (large enough that noise is small) and the tolerance. The method is
Moré & Wild's difference table (ECnoise, SIAM J. Sci. Comput. 33(3), 2011): on a short line
a smooth function's k-th differences shrink like δᵏ while noise's do not, so
``σ_k = sqrt(γ_k · mean((Δᵏf)²))`` with ``γ_k = (k!)² / (2k)!`` measures σ. Derived, with the
staircase and flat-loss cases, in docs/how-it-decides.md, "Rounding noise".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from gradcheck._numerics.loss import LossAt
from gradcheck._numerics.scales import entry_scales, param_scale

#: Points on the line: differences up to order 6 with at least 3 values each (Moré & Wild).
NOISE_POINTS = 9
#: How many times the noise line may be lengthened when rounding hides every change on it.
NOISE_LINE_ATTEMPTS = 3
FLOAT32_EPS = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class NoiseEstimate:
    """The loss's noise, and what went wrong on the way, if anything."""

    sigma: float  # standard deviation of the loss's rounding noise (absolute)
    #: ``"nonfinite"``: the loss was not finite on the line (σ set to one ulp);
    #: ``"flat"``: it never moved, even on a line 10⁴ times longer (σ of a loss of order 1).
    flaw: Literal["nonfinite", "flat"] | None = None


def noise_from_line(values: Sequence[float]) -> float:
    """Estimate noise from loss values at equally spaced points on a line.

    The line must be short enough that the loss is smooth on it: then orders ``k >= 2``
    see only noise (order 1 still holds the slope). We take the largest ``σ_k`` over
    ``k = 2..6``: a small overestimate only makes the tolerance a little looser, while an
    underestimate would raise false alarms.
    """
    table = np.asarray(values, dtype=np.float64)
    by_order = []
    for k in range(1, len(table) - 2):
        table = np.diff(table)
        gamma = math.factorial(k) ** 2 / math.factorial(2 * k)
        by_order.append(math.sqrt(gamma * float(np.mean(table**2))))
    return max(by_order[1:]) if len(by_order) > 1 else by_order[0]


#: The standard deviation of ``(f₂[-1] − f₂[0])/(8e) − (f₁[-1] − f₁[0])/8`` for independent
#: noise σ on every value: σ·(√2/8)·√(1 + e⁻²).
SLOPE_SPREAD = math.sqrt(2) / (NOISE_POINTS - 1) * math.sqrt(1 + math.e**-2)


def slope_noise(line: Sequence[float], ends: Sequence[float]) -> float:
    """The noise implied by two slopes that should agree: across the noise line, and
    across the same line ``e`` times as long (``ends``: its two end values). On a smooth
    loss they differ by rounding only (a centred difference's curvature term cancels, and
    the next one is of order ``step²`` relative: nothing at these steps)."""
    span = NOISE_POINTS - 1
    slope = (line[-1] - line[0]) / span
    slope_longer = (ends[-1] - ends[0]) / (span * math.e)
    return abs(slope_longer - slope) / SLOPE_SPREAD


def rounding_floor(values: Sequence[float], eps: float) -> float:
    """The noise no loss can avoid: half a unit in the last place of its value."""
    return 0.5 * eps * max(abs(v) for v in values)


def _require_deterministic(loss_at: LossAt, f0: float) -> None:
    """Call the loss at the parameters a second time: it must return ``f0`` again.

    Only a noisy line needs this. Randomness in the loss (dropout, sampling) is noise on
    the line like any other: the difference table measures it, and the step and the
    tolerance allow for it, so it cannot cause a false alarm. What it costs is precision,
    and that is worth an error only where it is large: above ``√ε`` of the loss, half its
    digits (dropout's is of order 1). Below that a second call is not made: on a smooth
    loss it would cost a call on every check for nothing.
    """
    again = loss_at({})[0]
    if again != f0 and not (math.isnan(again) and math.isnan(f0)):
        raise ValueError(
            f"the loss is not deterministic: two calls at the same parameters returned "
            f"{f0!r} and {again!r}. Fix its randomness (dropout masks, sampling, "
            "shuffling) with a seed inside the loss, or check a deterministic version"
        )


class _NoiseLine:
    """A line through all parameters at once, each entry moved by a random sign times its
    scale per unit of step, centred on ``x`` (whose loss ``f0`` is known)."""

    def __init__(
        self, loss_at: LossAt, f0: float, rng: np.random.Generator, global_scale: float
    ) -> None:
        self.loss_at = loss_at
        self.f0 = f0
        self.directions = {
            i: rng.choice(np.array([-1.0, 1.0]), size=s.shape)
            * entry_scales(s, param_scale(s, global_scale))
            for i, s in enumerate(loss_at.snapshots)
        }
        self.bases = [s.astype(np.float64) for s in loss_at.snapshots]

    def values(self, step: float, points: Sequence[int] = range(NOISE_POINTS)) -> list[float]:
        """The loss at ``points`` (0 .. NOISE_POINTS - 1) of the line with this step."""
        centre = NOISE_POINTS // 2
        values: list[float] = []
        for j in points:
            if j == centre:
                values.append(self.f0)  # the parameters themselves: the loss there is known
                continue
            offset = (j - centre) * step
            replaced = {
                i: (base + offset * self.directions[i]).astype(self.loss_at.snapshots[i].dtype)
                for i, base in enumerate(self.bases)
            }
            values.append(self.loss_at(replaced)[0])
        return values


def estimate_noise(
    loss_at: LossAt,
    f0: float,
    rng: np.random.Generator,
    global_scale: float,
    param_eps: float,
    loss_eps: float,
) -> NoiseEstimate:
    """The loss's rounding noise σ, from a difference table on a short line (ECnoise).

    The line's step is ``ε^(3/4)`` of each entry's scale: tens of ulps in float32, far below
    any curvature scale, so differences of order ≥ 2 see only rounding. A line noisier than
    ``√ε`` of the loss is followed by a second call at ``x`` (a loss with randomness in it is
    refused). If rounding hides every change on the line, it is tried 100× longer, twice
    (Moré & Wild's remedy).
    """
    line = _NoiseLine(loss_at, f0, rng, global_scale)
    floor = rounding_floor([f0], loss_eps)
    line_step = param_eps**0.75
    for _ in range(NOISE_LINE_ATTEMPTS):
        values = line.values(line_step)
        if not all(math.isfinite(v) for v in values):
            return NoiseEstimate(max(floor, loss_eps * abs(f0)), "nonfinite")
        if len(set(values)) > NOISE_POINTS // 2:
            return NoiseEstimate(_sigma(line, values, line_step, loss_eps))
        line_step *= 100
    # Flat even on a line 10⁴ times longer (a saturated softmax): a loss of order one.
    return NoiseEstimate(max(floor, loss_eps * max(abs(f0), 1.0)), "flat")


def _sigma(line: _NoiseLine, values: list[float], line_step: float, loss_eps: float) -> float:
    """σ from a line on which the loss moved."""
    f0 = line.f0
    eps = loss_eps
    if loss_eps < FLOAT32_EPS and all(float(np.float32(v)) == v for v in [f0, *values]):
        # Every value is a float32: a loss computed in float32, returned as a Python float
        # (a float64 loss lands on float32 values by chance about once in 2²⁹ per value).
        eps = FLOAT32_EPS
    floor = rounding_floor([f0], eps)
    sigma = noise_from_line(values)
    if sigma <= floor:
        # Nothing beyond the last bit: an exact loss, or a staircase climbed a whole number
        # of steps per point. The same line e times as long must show the same slope.
        ends = line.values(line_step * math.e, (0, NOISE_POINTS - 1))
        sigma = max(sigma, slope_noise(values, ends))
    if sigma > math.sqrt(eps) * abs(f0):
        _require_deterministic(line.loss_at, f0)
    return max(sigma, floor)
