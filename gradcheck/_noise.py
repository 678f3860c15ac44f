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

#: Points on the line (Moré & Wild use m = 6..8; 8 gives differences up to order 6 with at
#: least 3 values each).
NOISE_POINTS = 9


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


def rounding_floor(values: Sequence[float], eps: float) -> float:
    """The noise no loss can avoid: half a unit in the last place of its value."""
    return 0.5 * eps * max(abs(v) for v in values)
