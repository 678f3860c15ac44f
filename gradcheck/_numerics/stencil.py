"""Judge one directional derivative from five loss values.

Along a line ``φ(t) = f(x + t·d)`` the loss is known at ``t ∈ {-2h, -h, 0, h, 2h}``. Five
estimates of ``φ'(0)`` come from them: the central differences ``D(h)`` and ``D(2h)``,
their Richardson extrapolation, and the one-sided (backward, forward) differences. The
user's value passes if it lies within their range widened by the noise allowance: on a
smooth line the range is the truncation error, at a kink it spans the one-sided
derivatives (both valid), and a wrong gradient is off by its own error at every step.

The allowance (noise, the gradient's own rounding, the ε^(2/3) floor) is derived in
docs/how-it-decides.md, "Five estimates per probe, and the verdict".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: The five points of a probe, in units of the step ``h``.
OFFSETS = (-2, -1, 0, 1, 2)

# Coefficients over (f(-2h), f(-h), f(0), f(h), f(2h)), to be divided by h.
CENTRAL_H = np.array([0.0, -0.5, 0.0, 0.5, 0.0])
_CENTRAL_2H = np.array([-0.25, 0.0, 0.0, 0.0, 0.25])
RICHARDSON = (4 * CENTRAL_H - _CENTRAL_2H) / 3  # [1, -8, 0, 8, -1] / 12
_BACKWARD = np.array([0.5, -2.0, 1.5, 0.0, 0.0])
_FORWARD = np.array([0.0, 0.0, -1.5, 2.0, -0.5])
_ESTIMATES = np.stack([RICHARDSON, CENTRAL_H, _CENTRAL_2H, _BACKWARD, _FORWARD])
#: ‖c‖ of the noisiest estimate (the one-sided ones): √(1 + 16 + 9) / 2 ≈ 2.55.
_NOISE_GAIN = float(np.linalg.norm(_BACKWARD))

#: Standard deviations of noise allowed: σ is known to a factor 2, so 8σ leaves 4 true ones.
NOISE_SIGMAS = 8.0
#: Units in the last place of accumulated rounding allowed in the user's gradient (sums of
#: tens of thousands of terms).
GRADIENT_ULPS = 256.0
#: For a gradient computed in float32 or float16, ulps of the parameter's largest gradient
#: entry: a sum whose terms cancel (a bias's Σ(p − y) near balance) keeps the rounding of
#: its terms, which can be far larger than the sum. 2.9 times the most the reference nets'
#: float32 code reaches (358 ulps, db2 at initialisation); code that rounds more (P − Y
#: formed in float32) is judged against the loss's own rounding instead and ends
#: unchecked, not failed (docs/how-it-decides.md, "float32 and float16"). In float64 this
#: is far below any noise allowance and is left out.
CANCELLATION_ULPS = 1024.0
#: Along a direction of independent random signs, entries' rounding errors (each at most
#: CANCELLATION_ULPS) add up like a random walk: by Hoeffding's inequality their sum
#: exceeds this many times its root-sum-square (‖d‖₂, not ‖d‖₁) with probability < 7e-4.
RANDOM_SIGN_SIGMAS = 4.0
_FLOAT64_EPS = float(np.finfo(np.float64).eps)


def gradient_slack(grad_eps: float, along: float, largest_along: float) -> float:
    """The rounding allowed in a directional derivative of a gradient computed in
    precision ``grad_eps``: GRADIENT_ULPS of ``along`` (``Σ|gᵢ·dᵢ|``), and for a low
    precision at least CANCELLATION_ULPS of ``largest_along`` (``max|g|·Σ|dᵢ|``, or
    ``max|g|·RANDOM_SIGN_SIGMAS·‖d‖₂`` along a random direction, if smaller)."""
    slack = GRADIENT_ULPS * grad_eps * along
    if grad_eps > _FLOAT64_EPS:
        slack = max(slack, CANCELLATION_ULPS * grad_eps * largest_along)
    return slack


@dataclass(frozen=True)
class Verdict:
    """One comparison: the user's directional derivative against finite differences."""

    analytic: float
    numeric: float  # the Richardson estimate (the most accurate on a smooth line)
    low: float  # the range of the five estimates
    high: float
    error: float  # distance from analytic to [low, high]
    tolerance: float
    kink: bool  # the one-sided derivatives differ by more than noise
    step: float
    noise_limited: bool  # noise, not the estimates' spread, dominates the tolerance

    @property
    def passed(self) -> bool:
        return self.error <= self.tolerance

    @property
    def ratio(self) -> float:
        """``error / tolerance``: at most 1 means it passed."""
        return error_ratio(self.error, self.tolerance)

    def within(self, value: float, factor: float = 1.0) -> bool:
        """Whether ``value`` fits this probe's range scaled by ``factor``, with tolerance."""
        low, high = sorted((self.low * factor, self.high * factor))
        slack = self.tolerance * max(abs(factor), 1.0)
        return low - slack <= value <= high + slack


def error_ratio(error: float, tolerance: float) -> float:
    """``error / tolerance``, the report's ``err/tol``: at most 1 means a pass."""
    if tolerance > 0:
        return error / tolerance
    return 0.0 if error == 0 else float("inf")


def noise_tolerance(sigma: float, step: float) -> float:
    """The noise allowance at ``step``."""
    return NOISE_SIGMAS * sigma * _NOISE_GAIN / step


#: ‖c‖ of the central difference D(h) = (f(h) − f(−h)) / 2h: √2 / 2.
_CENTRAL_GAIN = float(np.linalg.norm(CENTRAL_H))


def central_noise_tolerance(sigma: float, step: float) -> float:
    """The noise allowance of the quick first look (the central difference D(h) alone):
    the smallest any verdict at ``step`` has."""
    return NOISE_SIGMAS * sigma * _CENTRAL_GAIN / step


@dataclass(frozen=True)
class Allowance:
    """What a verdict allows for besides the estimates' range: the loss's noise ``sigma``,
    the rounding ``gradient_slack`` of the user's directional derivative, and ``eps``, the
    precision the loss is computed in (no difference is trusted beyond ``eps^(2/3)``)."""

    sigma: float
    gradient_slack: float
    eps: float


def judge_central(
    values: NDArray[np.float64], predictions: NDArray[np.float64], step: float, allow: Allowance
) -> Verdict:
    """The quick first look: the central difference D(h) from f(±h) alone.

    It may only let a probe pass, never fail it: its tolerance has no room for truncation
    or kinks, so agreement within it is as strict as any verdict gets, and disagreement
    only means that the five-point stencil is needed.
    """
    changes = values - values[2]
    numeric = float(CENTRAL_H @ changes) / step
    analytic = float(CENTRAL_H @ predictions) / step
    tolerance = (
        central_noise_tolerance(allow.sigma, step)
        + allow.gradient_slack
        + allow.eps ** (2 / 3) * abs(numeric)
    )
    return Verdict(
        analytic=analytic,
        numeric=numeric,
        low=numeric,
        high=numeric,
        error=abs(analytic - numeric),
        tolerance=tolerance,
        kink=False,
        step=step,
        noise_limited=True,
    )


def judge(
    values: NDArray[np.float64], predictions: NDArray[np.float64], step: float, allow: Allowance
) -> Verdict:
    """Compare analytic and numeric derivatives along one line.

    ``values`` is the loss at the five points ``OFFSETS · step``; ``predictions`` the
    user's linear prediction ``⟨g, Δ⟩`` at each, with the displacement ``Δ`` really
    applied (0 at the centre).
    """
    # Every formula's coefficients sum to 0, so work on differences from f(0): a line on
    # which the loss never moves then gives exactly 0, not the rounding of 0·f(0).
    changes = values - values[2]
    estimates = (_ESTIMATES @ changes) / step
    curvature = abs(float(changes[1] + changes[3])) / step**2
    size = max(float(np.abs(estimates).max()), curvature * 2 * step)
    analytic = float(RICHARDSON @ predictions) / step
    low, high = float(estimates.min()), float(estimates.max())
    noise = noise_tolerance(allow.sigma, step)
    backward, forward = float(estimates[3]), float(estimates[4])
    return Verdict(
        analytic=analytic,
        numeric=float(estimates[0]),
        low=low,
        high=high,
        error=max(low - analytic, analytic - high, 0.0),
        tolerance=noise + allow.gradient_slack + allow.eps ** (2 / 3) * size,
        kink=abs(backward - forward) > 2 * noise,
        step=step,
        noise_limited=noise >= high - low,
    )
