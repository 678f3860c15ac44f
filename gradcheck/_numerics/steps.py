"""Which step a probe tries next, and one verdict from all its attempts.

A probe starts at the smallest step that keeps noise at RESOLUTION of the gradient; a
failing or imprecise attempt is retried at a smaller step (kinks and truncation shrink with
the step, a wrong gradient does not) or a larger one (less noise). ``settle`` turns
the attempts into one verdict, or none (the line is too rough at every step the noise
allows). The rules are explained in docs/how-it-decides.md, "Kinks".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from gradcheck._numerics.stencil import Verdict, noise_tolerance

#: The noise allowance a probe's first step aims for, as a fraction of the gradient's size
#: along the probe: as small a step as leaves a wrong gradient a million times above noise.
RESOLUTION = 1e-6
#: The smallest first step, as a fraction of the cube-root step (for tiny or zero gradients).
MIN_STEP_FRACTION = 1 / 1024
#: A failing probe is retried at most MAX_RETRIES times, the step divided (or, once,
#: multiplied) by STEP_SHRINK: see ``next_step``.
STEP_SHRINK = 8.0
MAX_RETRIES = 2
#: Further retries, each 8× smaller, while a kink still shows and a smaller step could
#: still resolve the discrepancy (kinks closer together than every step so far).
KINK_RETRIES = 5
#: An attempt is precise when its range plus tolerance is at most this fraction of the
#: gradient's size; a less precise pass says little (a mistake that size would pass).
PRECISION = 0.1
#: Further step-ups (each STEP_SHRINK larger) for a pass still too imprecise on a smooth
#: line: a gradient tiny next to the loss needs a step larger than the cube-root one.
MAX_STEP_UPS = 3
#: On a smooth line only failures below this fraction of the derivative are retried
#: (unseen truncation or kinks shift it by a few per cent); a gross one is decided at once.
RETRY_BELOW = 0.1


def width(verdict: Verdict) -> float:
    """How precisely an attempt knows the derivative: its range plus its tolerance."""
    return verdict.tolerance + verdict.high - verdict.low


def _size(verdict: Verdict, reference: float) -> float:
    """The gradient's size an attempt's width is judged against."""
    return max(abs(verdict.analytic), abs(verdict.numeric), reference)


def relative_width(verdict: Verdict, reference: float) -> float:
    """The width relative to the gradient's size; 0 where the gradient is exactly zero
    along the probe (nothing to resolve: a zero derivative within noise passes)."""
    size = _size(verdict, reference)
    return width(verdict) / size if size > 0 else 0.0


def relative_blur(verdict: Verdict, reference: float) -> float:
    """The tolerance alone (rounding: the loss's noise and the gradient's own) relative to
    the gradient's size: a mistake smaller than this could pass. Unlike the width it leaves
    out the estimates' range, which at a kink spans valid one-sided derivatives. A gradient
    that is all zeros has no size to be blurred against: agreeing with finite differences
    within the tolerance is all there is to check (0 at a minimum, a flat loss)."""
    size = _size(verdict, reference)
    return verdict.tolerance / size if reference > 0 and size > 0 else 0.0


def precise(verdict: Verdict, reference: float) -> bool:
    """Whether an attempt is precise enough to settle a probe: its width is at most
    PRECISION of the gradient's size (the parameter's, along this kind of probe)."""
    return width(verdict) <= PRECISION * _size(verdict, reference)


def next_step(
    current: Verdict, history: Sequence[Verdict], sigma: float, reference: float
) -> float | None:
    """The step of the next attempt, or None when another attempt cannot help.

    * An attempt too imprecise to mean much (or to name the mistake), with noise
      dominating: a larger step (less noise), once; a pass that stays imprecise on a
      smooth line, up to MAX_STEP_UPS more times.
    * A failure by a few per cent, which kinks or truncation could explain: a smaller step
      while its noise still lets the discrepancy show, else a larger one once (less noise:
      a stable numeric value confirms the failure, a moving one shows the line is rough).
    * A gross failure (a sign, a missing 1/N) on a smooth line: decided at once. On a
      rough line kinks may be most of the gradient (inputs within a step of a ReLU's
      kink), so it is retried like a small one.
    """
    stepped_up = any(v.step > history[0].step for v in history)
    largest = max(v.step for v in history)
    if not precise(current, reference) and current.noise_limited and not stepped_up:
        # Too noisy to mean much (or to name the mistake): a larger step has less noise.
        # Once only: a loss smooth at one scale can be far from it at 64 times that.
        return current.step * STEP_SHRINK
    if current.passed:
        ups = len({v.step for v in history if v.step > history[0].step})
        flat = reference == 0  # a gradient of zeros: nothing to resolve
        if precise(current, reference) or flat or not smooth(current) or ups > MAX_STEP_UPS:
            return None
        # A gradient tiny next to the loss: noise still blurs it, and the line is smooth at
        # this scale (its five estimates agree within noise), so a larger step can see it.
        return largest * STEP_SHRINK
    size = max(abs(current.analytic), abs(current.numeric))
    rough = current.kink or not current.noise_limited
    if current.error > RETRY_BELOW * size and not rough:
        return None
    smaller = current.step / STEP_SHRINK
    resolvable = noise_tolerance(sigma, smaller) < current.error / 2
    if len(history) > MAX_RETRIES:
        # Past the usual retries only a kink still seen at this step earns a smaller one:
        # kinks closer together than every step so far (inputs within 1e-8 of a ReLU's
        # kink) separate only below their spacing.
        return smaller if current.kink and resolvable else None
    if resolvable:
        return smaller
    tried_smaller = any(v.step < current.step for v in history)
    if current.kink and not tried_smaller and _precise_at(smaller, sigma, size, reference):
        # Kinks on both sides of x can put the derivative at x outside every average of
        # slopes the stencil forms, by a little. A smaller step crosses fewer of them; its
        # noise hides a discrepancy this small, but a pass there still bounds it within
        # PRECISION, while a failure there confirms it.
        return smaller
    if not stepped_up:
        return largest * STEP_SHRINK
    return None


def _precise_at(step: float, sigma: float, size: float, reference: float) -> bool:
    """Whether an attempt at ``step`` could be precise (see ``precise``) on noise
    alone."""
    return noise_tolerance(sigma, step) <= PRECISION * max(size, reference)


def smooth(verdict: Verdict) -> bool:
    """Whether an attempt saw a smooth line: no kink, and noise (not the estimates'
    spread) dominating its tolerance."""
    return verdict.noise_limited and not verdict.kink


def settle(history: Sequence[Verdict], reference: float) -> tuple[Verdict, bool]:
    """One verdict from a probe's attempts, and whether the probe is inconclusive.

    A precise pass settles it. Attempts whose ranges (widened by their tolerances) share no
    value mean the numeric derivative moves with the step (kinks): no verdict, unless the
    user's value lies beyond them all by more than they move (see
    ``_beyond_movement``); so do failures only at steps larger than a pass where the
    line is already rough. Otherwise a failure stands (the most precise failing attempt is
    reported), and when only imprecise passes are left, the best of those passes.
    """
    passes = [v for v in history if v.passed]
    precise_passes = [v for v in passes if precise(v, reference)]
    if precise_passes:
        return min(precise_passes, key=width), False
    failures = [v for v in history if not v.passed]
    smallest_pass = min((v.step for v in passes), default=math.inf)
    # A failure at a larger step than a pass, where the estimates already spread wider than
    # noise (kinks or truncation at that scale), cannot overturn the pass: no verdict.
    rough_only = all(v.step > smallest_pass and not v.noise_limited for v in failures)
    if failures and not (passes and rough_only):
        floor = max(v.low - v.tolerance for v in history)
        ceiling = min(v.high + v.tolerance for v in history)
        moving = floor > ceiling
        return min(failures, key=width), moving and not _beyond_movement(history)
    if failures:
        return min(passes, key=width), True
    return min(passes, key=width), False


def _beyond_movement(history: Sequence[Verdict]) -> bool:
    """Whether a failure stands although the numeric derivative moved with the step.

    Steps that cross kinks shift the estimates; as the step shrinks the kinks drop out
    and the estimates settle. When the finest attempt sees a smooth line (no kink, noise
    dominating its spread) and fails, and the user's value lies farther outside the hull
    of all attempts than that hull is wide (everything the step changes did to the
    numeric value, tolerances included), no step explains the gap: the gradient is wrong.
    A random direction through a ReLU layer at zero biases does this: its largest step
    crosses kinks and moves the estimates by 1e-8, its finer steps agree with each other,
    and a wrong entry puts the user's value 4e-7 away from all of them.
    """
    finest = min(history, key=lambda v: (v.step, width(v)))
    if finest.passed or not smooth(finest):
        return False
    hull_low = min(v.low - v.tolerance for v in history)
    hull_high = max(v.high + v.tolerance for v in history)
    distance = max(hull_low - finest.analytic, finest.analytic - hull_high)
    return distance > hull_high - hull_low
