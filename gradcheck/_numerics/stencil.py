"""Judge one directional derivative from five loss values.

A probe looks at the loss along one line, ``φ(t) = f(x + t·d)`` (``d`` is one entry or a
random direction), at ``t ∈ {-2h, -h, 0, h, 2h}``. From those five values come five
estimates of ``φ'(0)``:

* the central differences ``D(h)`` and ``D(2h)`` (truncation ``h²·φ⁽³⁾/6`` and 4× that),
* their Richardson extrapolation ``R = (4·D(h) − D(2h)) / 3`` (truncation O(h⁴)),
* the one-sided derivatives ``B`` (backward, from ``f(0), f(-h), f(-2h)``) and ``F``
  (forward), second order each.

The verdict: the user's value must lie within the range of these five estimates, widened
by the noise allowance. On a smooth line the five agree to within their truncation
errors, so the range is that truncation error (about ``h²·|φ⁽³⁾|``) and ``R`` sits inside.
On a line through a kink (a ReLU at exactly 0, ``max``, ``abs``) ``B`` and ``F`` differ and
any value between them is a valid (generalised) derivative; hand-written code picks one
side (``hidden <= 0`` takes the left one). On a line that crosses many small kinks (a
random direction through a ReLU layer crosses thousands of pre-activations), every
estimate is off by the kinks it straddles, and their spread measures that roughness. A
wrong gradient is off by its own error, whatever the step, so it lands outside.

The noise allowance is ``K`` standard deviations of the noisiest estimate (the one-sided
ones, coefficients ``[1, −4, 3] / 2h``), plus the rounding of the user's own gradient:

* the loss's rounding noise ``σ`` enters a formula ``Σ cᵢ f(tᵢ) / h`` with standard
  deviation ``σ·‖c‖/h``. ``K = 8``: ``σ`` comes from a 9-point estimate that can be off by a
  factor 2 (Moré & Wild), and 8σ still leaves ≥ 4 true standard deviations, a false
  alarm rate below 1e-4 per probe even then;
* the user's gradient is itself rounded: a backward in dtype ``ε`` that sums ``n`` terms
  carries an error of order ``√n·ε`` per entry; ``256·ε·Σ|gᵢ dᵢ|`` covers sums of tens of
  thousands of terms (about 3e-5 relative in float32, 6e-14 in float64);
* no finite difference is trusted beyond ``ε^(2/3)`` of the derivative's size across the
  stencil (``max(|estimates|, |φ''|·2h)``), the best relative accuracy a central
  difference reaches in precision ``ε``. This matters at an exact minimum: where residuals
  cancel to exactly 0 at ``x`` but leave an ``ε``-sized offset at every other point, the
  computed loss has a slope of order ``ε·|J·d|`` that no rounding estimate at ``x`` sees.

Analytic values are computed from the displacements that were actually stored: in
float32, ``x + h·d`` rounds, and comparing against the rounded step removes that error
from the comparison exactly instead of adding it to the tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: The five points of a probe, in units of the step ``h``.
OFFSETS = (-2, -1, 0, 1, 2)

# Coefficients over (f(-2h), f(-h), f(0), f(h), f(2h)), to be divided by h.
_CENTRAL_H = np.array([0.0, -0.5, 0.0, 0.5, 0.0])
_CENTRAL_2H = np.array([-0.25, 0.0, 0.0, 0.0, 0.25])
_RICHARDSON = (4 * _CENTRAL_H - _CENTRAL_2H) / 3  # [1, -8, 0, 8, -1] / 12
_BACKWARD = np.array([0.5, -2.0, 1.5, 0.0, 0.0])
_FORWARD = np.array([0.0, 0.0, -1.5, 2.0, -0.5])
_ESTIMATES = np.stack([_RICHARDSON, _CENTRAL_H, _CENTRAL_2H, _BACKWARD, _FORWARD])
#: ‖c‖ of the noisiest estimate (the one-sided ones): √(1 + 16 + 9) / 2 ≈ 2.55.
_NOISE_GAIN = float(np.linalg.norm(_BACKWARD))

#: Standard deviations of noise allowed (see the module docstring).
NOISE_SIGMAS = 8.0
#: Units in the last place of accumulated rounding allowed in the user's gradient.
GRADIENT_ULPS = 256.0


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
        if self.tolerance > 0:
            return self.error / self.tolerance
        return 0.0 if self.error == 0 else float("inf")

    def within(self, value: float, factor: float = 1.0) -> bool:
        """Whether ``value`` fits this probe's range scaled by ``factor``, with tolerance."""
        low, high = sorted((self.low * factor, self.high * factor))
        slack = self.tolerance * max(abs(factor), 1.0)
        return low - slack <= value <= high + slack


def noise_tolerance(sigma: float, step: float) -> float:
    """The noise allowance at ``step``."""
    return NOISE_SIGMAS * sigma * _NOISE_GAIN / step


#: ‖c‖ of the central difference D(h) = (f(h) − f(−h)) / 2h: √2 / 2.
_CENTRAL_GAIN = float(np.linalg.norm(_CENTRAL_H))


def central_noise_tolerance(sigma: float, step: float) -> float:
    """The noise allowance of the quick first look (the central difference D(h) alone):
    the smallest any verdict at ``step`` has."""
    return NOISE_SIGMAS * sigma * _CENTRAL_GAIN / step


def judge_central(
    values: NDArray[np.float64],
    predictions: NDArray[np.float64],
    step: float,
    sigma: float,
    gradient_slack: float,
    eps: float,
) -> Verdict:
    """The quick first look: the central difference D(h) from f(±h) alone.

    It may only let a probe pass, never fail it: the tolerance has no room for
    truncation or kinks (noise, the gradient's rounding and the ε^(2/3) floor only), so
    agreement within it is as strict as any verdict gets, and disagreement just means
    the full five-point stencil is needed.
    """
    changes = values - values[2]
    numeric = float(_CENTRAL_H @ changes) / step
    analytic = float(_CENTRAL_H @ predictions) / step
    tolerance = (
        central_noise_tolerance(sigma, step) + gradient_slack + eps ** (2 / 3) * abs(numeric)
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
    values: NDArray[np.float64],
    predictions: NDArray[np.float64],
    step: float,
    sigma: float,
    gradient_slack: float,
    eps: float,
) -> Verdict:
    """Compare analytic and numeric derivatives along one line.

    Args:
        values: the loss at the five points ``OFFSETS · step``.
        predictions: the analytic linear prediction ``⟨g, Δ⟩`` at each point, with the
            displacement ``Δ`` that was really applied (0 at the centre).
        step: ``h``.
        sigma: the loss's noise (standard deviation, absolute).
        gradient_slack: allowed rounding error of the analytic directional derivative.
        eps: the machine epsilon the loss is computed in.
    """
    # Every formula's coefficients sum to 0, so work on differences from f(0): a line on
    # which the loss never moves then gives exactly 0, not the rounding of 0·f(0).
    changes = values - values[2]
    estimates = (_ESTIMATES @ changes) / step
    curvature = abs(float(changes[1] + changes[3])) / step**2
    size = max(float(np.abs(estimates).max()), curvature * 2 * step)
    analytic = float(_RICHARDSON @ predictions) / step
    low, high = float(estimates.min()), float(estimates.max())
    noise = noise_tolerance(sigma, step)
    backward, forward = float(estimates[3]), float(estimates[4])
    return Verdict(
        analytic=analytic,
        numeric=float(estimates[0]),
        low=low,
        high=high,
        error=max(low - analytic, analytic - high, 0.0),
        tolerance=noise + gradient_slack + eps ** (2 / 3) * size,
        kink=abs(backward - forward) > 2 * noise,
        step=step,
        noise_limited=noise >= high - low,
    )
