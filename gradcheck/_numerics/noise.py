"""Estimate the rounding noise of a loss: how much it wobbles where it should be smooth.

A finite difference divides a difference of two loss values by the step ``h``, so the loss's
own rounding noise ``σ`` becomes an error of about ``σ / h`` in the derivative. Knowing ``σ``
sets both the step (large enough that noise is small) and the tolerance (no smaller than
the noise allows).

The method is Moré & Wild's difference table (ECnoise, "Estimating computational noise",
SIAM J. Sci. Comput. 33(3), 2011): evaluate the loss at ``m + 1`` equally spaced points on a
short line. A smooth function's ``k``-th differences shrink like ``δᵏ``; noise's do not: for
independent noise of standard deviation ``σ`` the ``k``-th difference has variance
``σ² · C(2k, k)``. So ``σ_k = sqrt(γ_k · mean((Δᵏf)²))`` with ``γ_k = (k!)² / (2k)!`` estimates
``σ`` once ``k`` is large enough that the smooth part has vanished.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gradcheck._evaluate import Evaluator
from gradcheck._params import entry_scales, param_scale

#: Points on the line (Moré & Wild use m = 6..8; 8 gives differences up to order 6 with at
#: least 3 values each).
NOISE_POINTS = 9
#: How many times the noise line may be lengthened when rounding hides every change on it.
NOISE_LINE_ATTEMPTS = 3
FLOAT32_EPS = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class NoiseEstimate:
    sigma: float  # standard deviation of the loss's rounding noise (absolute)
    by_order: tuple[float, ...]  # σ_k for k = 1, 2, ...


def noise_from_line(values: Sequence[float]) -> NoiseEstimate:
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
    sigma = max(by_order[1:]) if len(by_order) > 1 else by_order[0]
    return NoiseEstimate(sigma=sigma, by_order=tuple(by_order))


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


def _require_deterministic(evaluator: Evaluator, f0: float) -> None:
    """Call the loss at the parameters a second time: it must return ``f0`` again.

    Only a noisy line needs this. Randomness in the loss (dropout, sampling) is noise on
    the line like any other: the difference table measures it, and the step and the
    tolerance allow for it, so it cannot cause a false alarm. What it costs is precision,
    and that is worth an error only where it is large: above ``√ε`` of the loss, half its
    digits (dropout's is of order 1). Below that a second call is not made: on a smooth
    loss it would cost a call on every check for nothing.
    """
    again = evaluator()[0]
    if again != f0 and not (math.isnan(again) and math.isnan(f0)):
        raise ValueError(
            f"the loss is not deterministic: two calls at the same parameters returned "
            f"{f0!r} and {again!r}. Fix its randomness (dropout masks, sampling, "
            "shuffling) with a seed inside the loss, or check a deterministic version"
        )


def estimate_noise(
    evaluator: Evaluator,
    f0: float,
    rng: np.random.Generator,
    global_scale: float,
    param_eps: float,
    loss_eps: float,
    notes: list[str],
) -> float:
    """The loss's rounding noise σ, from difference tables on a short line (ECnoise).

    The line runs through all parameters at once, ``δ = ε^(3/4)`` of each entry's scale:
    tens of ulps in float32, far below any curvature scale, so differences of order ≥ 2
    see only rounding. Its centre is ``x`` itself, whose loss ``f0`` is known. A line
    noisier than ``√ε`` of the loss is followed by a second call at ``x``: a loss with
    randomness in it (dropout) is rejected with a clear error. If rounding hides every
    change on the line (a loss computed in float32 but returned as a Python float moves
    by less than one float32 ulp), the line is too short to see the noise, and is tried
    again 100× longer (Moré & Wild's remedy), twice.
    """
    directions = {
        i: rng.choice(np.array([-1.0, 1.0]), size=s.shape)
        * entry_scales(s, param_scale(s, global_scale))
        for i, s in enumerate(evaluator.snapshots)
    }
    bases = [s.astype(np.float64) for s in evaluator.snapshots]

    centre = NOISE_POINTS // 2

    def line_through(step: float, points: Sequence[int] = range(NOISE_POINTS)) -> list[float]:
        values: list[float] = []
        for j in points:
            if j == centre:
                values.append(f0)  # the parameters themselves: the loss there is known
                continue
            offset = (j - centre) * step
            replaced = {
                i: (base + offset * directions[i]).astype(evaluator.snapshots[i].dtype)
                for i, base in enumerate(bases)
            }
            values.append(evaluator(replaced)[0])
        return values

    floor = rounding_floor([f0], loss_eps)
    line_step = param_eps**0.75
    for _ in range(NOISE_LINE_ATTEMPTS):
        line = line_through(line_step)
        if not all(math.isfinite(v) for v in line):
            notes.append("the loss was not finite on the noise-estimation line; noise set to 1 ulp")
            return max(floor, loss_eps * abs(f0))
        if len(set(line)) > NOISE_POINTS // 2:
            eps = loss_eps
            if loss_eps < FLOAT32_EPS and all(float(np.float32(v)) == v for v in [f0, *line]):
                # Every value is a float32: the loss was computed in float32 and returned
                # as a Python float (a float64 loss lands on float32 values by chance
                # about once in 2²⁹ per value). Its rounding is float32's, even where its
                # rounded values happen to step so regularly that the table sees none.
                eps = FLOAT32_EPS
                floor = rounding_floor([f0], eps)
            sigma = noise_from_line(line).sigma
            if sigma <= floor:
                # The table saw nothing beyond the loss's last bit. Either the loss is that
                # exact, or it is a staircase climbed a whole number of steps per point: a
                # loss resolved more coarsely than its own ulp (a softmax loss of 1e-7 is
                # log(1 + δ), resolved at an ulp of 1) looks perfectly smooth on such a
                # line. The same line e times as long must then show the same slope (two
                # more loss calls, at its ends); a staircase shows another whole number of
                # steps per point instead.
                ends = line_through(line_step * math.e, (0, NOISE_POINTS - 1))
                sigma = max(sigma, slope_noise(line, ends))
            if sigma > math.sqrt(eps) * abs(f0):
                _require_deterministic(evaluator, f0)
            return max(sigma, floor)
        line_step *= 100
    # The loss did not move at all, even on a line 10⁴ times longer: it is flat to within
    # a resolution we cannot see (a saturated softmax computes log-sum-exp at the scale of
    # its scores, so changes far below ε·|scores| vanish). Assume a loss of order one.
    notes.append(
        "the loss did not change at all when every parameter was nudged (saturated outputs, "
        "or a loss that ignores its parameters?): its resolution was taken as that of a "
        f"loss of order one, ε·max(|loss|, 1) = {loss_eps * max(abs(f0), 1.0):.1e}"
    )
    return max(floor, loss_eps * max(abs(f0), 1.0))
