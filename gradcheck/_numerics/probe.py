"""Probe one line through a parameter: pick the step, evaluate, retry, settle a verdict.

A probe is an entry or a random direction of one parameter. It starts at the smallest
step that keeps the noise allowance at RESOLUTION of the gradient (the cube-root step at
most), looks first at f(±h) alone, and otherwise judges five loss values with
:func:`gradcheck._stencil.judge`. Failing or imprecise attempts are retried by the rules of
:func:`_next_step`, and :func:`_settle` turns the attempts into one verdict, or none
(inconclusive: the line is too rough at every step the noise allows).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from gradcheck._diagnose import Probe
from gradcheck._evaluate import LossResult
from gradcheck._stencil import (
    _CENTRAL_H,
    _RICHARDSON,
    GRADIENT_ULPS,
    OFFSETS,
    Verdict,
    judge,
    judge_central,
    noise_tolerance,
)

#: The relative resolution a probe's step aims for: the noise allowance is kept at this
#: fraction of the gradient's own size along the probe (Σ|gᵢ·dᵢ|). Smaller steps cross
#: fewer kinks and truncate less; this is as small as the step goes while a wrong gradient
#: still stands out by a factor of a million from the noise.
RESOLUTION = 1e-6
#: The smallest step tried, as a fraction of the cube-root step (a floor for probes whose
#: gradient is tiny or zero, where the resolution rule would ask for no step at all).
MIN_STEP_FRACTION = 1 / 1024
#: A failing probe is tried again, at most MAX_RETRIES times: with the step divided by this
#: while the smaller step's noise would still let the discrepancy show (kinks crossed and
#: truncation shrink with the step; a wrong gradient does not), else once with the step
#: multiplied by it (less noise: a stable numeric value confirms the failure, a moving one
#: makes the probe inconclusive).
STEP_SHRINK = 8.0
MAX_RETRIES = 2
#: Further retries, each 8× smaller, for a line that still shows a kink and whose
#: discrepancy a smaller step could still resolve (8⁵ ≈ 3·10⁴ below the usual smallest).
KINK_RETRIES = 5
#: A passing attempt whose range plus tolerance exceeds this fraction of the derivative
#: says little (a bug of that size would pass): the step grows while noise dominates. 10%
#: leaves detection of a 10% slip in one entry to a second attempt, and keeps float32
#: probes through ReLU layers (1% precision at the cube-root step) at one attempt.
PRECISION = 0.1
#: On a smooth line (no kink seen, the five estimates within noise) only discrepancies
#: below this fraction of the derivative are retried: truncation and kinks the estimates
#: do not show shift it by a few per cent at most (measured: 2% for float32 ReLU nets after
#: training); a sign flip or a missing 1/N is decided at once.
RETRY_BELOW = 0.1


@dataclass(frozen=True)
class Line:
    """One probe's line through parameter ``index``: ``x + t·d``, with ``d`` one entry
    scaled by ``scale`` or a whole ``direction``, and the candidate gradients it judges."""

    index: int
    candidates: Mapping[str, NDArray[np.float64]]
    slack: Mapping[str, float]  # allowed rounding of each candidate's derivative
    entry: tuple[int, ...] | None
    direction: NDArray[np.float64] | None
    scale: float

    @property
    def primary(self) -> str:
        """The candidate the verdict is about: the gradient as given, when its shape fits."""
        return "given" if "given" in self.candidates else next(iter(self.candidates))


#: The stencil's points in the order they are evaluated: ±h first (the quick look), ±2h.
_EVALUATION_ORDER = (1, 3, 0, 4)


class LossAt(Protocol):
    """What a probe evaluates: the loss with some parameters replaced (an
    :class:`~gradcheck._evaluate.Evaluator`, or a joint view of pieces of several
    parameters, :class:`~gradcheck._joint.Pieces`)."""

    @property
    def snapshots(self) -> Sequence[NDArray[Any]]: ...

    def name(self, index: int) -> str: ...

    def __call__(self, replaced: Mapping[int, NDArray[Any]]) -> LossResult: ...


class NonFiniteLossError(Exception):
    """The loss was not finite at a probe point."""


class Prober:
    """Runs probes against one evaluator, at the noise and step the check settled on."""

    def __init__(
        self,
        evaluator: LossAt,
        f0: float,
        sigma: float,
        rel_step: float,
        eps: float,
    ) -> None:
        self.evaluator = evaluator
        self.f0 = f0
        self.sigma = sigma
        self.rel_step = rel_step
        self.eps = eps

    def first_step(self, magnitude: float) -> float:
        """A probe's first step: the one whose noise allowance is RESOLUTION of
        ``magnitude`` (``Σ|gᵢ·dᵢ|`` along the probe), at most the cube-root step and at
        least MIN_STEP_FRACTION of it. A gradient of 1e-310 (a softmax saturated beyond
        float64's range) makes the resolution underflow to 0: then, as for a zero
        gradient, the usual step."""
        resolution = RESOLUTION * magnitude
        wanted = noise_tolerance(self.sigma, 1.0) / resolution if resolution > 0 else self.rel_step
        return min(max(wanted, self.rel_step * MIN_STEP_FRACTION), self.rel_step)

    def probe(
        self,
        index: int,
        candidates: Mapping[str, NDArray[np.float64]],
        grad_eps: float,
        entry: tuple[int, ...] | None,
        direction: NDArray[np.float64] | None,
        scale: float,
    ) -> list[Probe]:
        """Probe one entry or direction; split a random direction that fails at a kink.

        Many units can sit exactly on a kink at ``x`` (zero biases and an input at the
        origin put every hidden unit at ReLU(0)). A random direction crosses half of those
        kinks one way and half the other, and then the line's one-sided derivatives no
        longer bound the valid values. Its positive half and its negative half each cross
        all of them the same way, so each is judged on its own.
        """
        if entry is not None:
            size = {n: abs(float(g[entry])) * scale for n, g in candidates.items()}
        else:
            assert direction is not None
            size = {n: float(np.sum(np.abs(g * direction))) for n, g in candidates.items()}
        slack = {n: GRADIENT_ULPS * grad_eps * m for n, m in size.items()}
        # The gradient's size along this kind of probe, for judging precision: a bug is
        # "10% of the gradient" in the parameter's terms, not in one small entry's.
        reference = (
            max(float(np.abs(g).max()) for g in candidates.values()) * scale
            if entry is not None
            else max(size.values())
        )
        line = Line(index, candidates, slack, entry, direction, scale)
        found = self._line(line, max(size.values()), reference)
        verdicts = found.verdicts.values()
        if (
            direction is None
            or any(v.passed for v in verdicts)
            or not any(v.kink for v in verdicts)
            or not (np.any(direction > 0) and np.any(direction < 0))
        ):
            return [found]
        halves = (np.where(direction > 0, direction, 0.0), np.where(direction < 0, direction, 0.0))
        return [
            probe
            for half in halves
            for probe in self.probe(index, candidates, grad_eps, None, half, scale)
        ]

    def _line(
        self,
        line: Line,
        magnitude: float,
        reference: float,
    ) -> Probe:
        """Run one probe (an entry, or a direction), retrying with smaller steps if needed.

        ``magnitude`` is ``Σ|gᵢ·dᵢ|``, the size of the user's gradient along the probe.
        """
        candidates = line.candidates
        primary = line.primary
        step = self.first_step(magnitude)
        attempts: list[dict[str, Verdict]] = []
        # The loss is deterministic, so a step tried before (a step back down after a
        # step up) gives the same verdicts: reuse them instead of calling the loss again.
        tried: dict[float, tuple[dict[str, Verdict], bool, float]] = {}
        moved = False
        for _ in range(MAX_RETRIES + KINK_RETRIES + 1):
            if step not in tried:
                tried[step] = self._stencil(line, step, quick=not attempts, reference=reference)
            verdicts, changed, _ = tried[step]
            attempts.append(verdicts)
            moved = moved or changed
            if any(v.passed and _precise(v, reference) for v in verdicts.values()):
                break
            next_step = _next_step(
                verdicts[primary], [a[primary] for a in attempts], self.sigma, reference
            )
            if next_step is None:
                break
            step = next_step
        settled = {name: _settle([a[name] for a in attempts], reference) for name in candidates}
        final = settled[primary][0]
        return Probe(
            index=line.entry,
            scale=line.scale,
            verdicts={name: verdict for name, (verdict, _) in settled.items()},
            loss_moved=moved,
            inconclusive=settled[primary][1],
            uncertainty=_relative_width(final, reference),
            along=tried[final.step][2],
            failed_attempts=sum(not a[primary].passed for a in attempts),
        )

    def _stencil(
        self, line: Line, step: float, *, quick: bool, reference: float
    ) -> tuple[dict[str, Verdict], bool, float]:
        """The loss at the five points of one step, judged for every candidate gradient.

        With ``quick``, f(±h) come first: if the central difference alone agrees with the
        user's value within noise, precisely, the probe passes on two loss calls (the
        strictest test there is); otherwise f(±2h) follow and the five estimates judge.

        Also returns the parameter's own value along the line, ``⟨x, Δ⟩ / h`` from the same
        stored displacements and the same formula as the verdicts' ``analytic`` (see
        :attr:`Probe.along`).
        """
        index, candidates, entry, direction, scale = (
            line.index,
            line.candidates,
            line.entry,
            line.direction,
            line.scale,
        )
        base = self.evaluator.snapshots[index]
        base64 = base.astype(np.float64)
        values = np.zeros(len(OFFSETS))
        values[OFFSETS.index(0)] = self.f0
        predictions = {name: np.zeros(len(OFFSETS)) for name in candidates}
        # ⟨x, Δ⟩ at each point: what a gradient off by c·x would add to the predictions.
        own = np.zeros(len(OFFSETS))
        primary = line.primary
        for k in _EVALUATION_ORDER:
            offset = OFFSETS[k]
            if quick and offset in (-2, 2):
                first = judge_central(
                    values, predictions[primary], step, self.sigma, line.slack[primary], self.eps
                )
                if first.passed and _precise(first, reference):
                    return (
                        {primary: first}
                        | {
                            name: judge_central(
                                values,
                                predictions[name],
                                step,
                                self.sigma,
                                line.slack[name],
                                self.eps,
                            )
                            for name in candidates
                            if name != primary
                        },
                        bool(np.any(values != self.f0)),
                        float(_CENTRAL_H @ own) / step,
                    )
                quick = False
            if entry is not None:
                stored = base.copy()
                stored[entry] = base64[entry] + offset * step * scale
                delta = float(stored[entry]) - float(base64[entry])
                for name, g in candidates.items():
                    predictions[name][k] = float(g[entry]) * delta
                own[k] = float(base64[entry]) * delta
            else:
                assert direction is not None
                stored = (base64 + (offset * step) * direction).astype(base.dtype)
                delta_array = stored.astype(np.float64) - base64
                for name, g in candidates.items():
                    predictions[name][k] = float(np.vdot(g, delta_array))
                own[k] = float(np.vdot(base64, delta_array))
            value, _, _ = self.evaluator({index: stored})
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"the loss is {value} at {self.evaluator.name(index)} + "
                    f"{offset * step * scale:.3g}·(probe direction)"
                )
            values[k] = value
        verdicts = {
            name: judge(values, predictions[name], step, self.sigma, line.slack[name], self.eps)
            for name in candidates
        }
        return verdicts, bool(np.any(values != self.f0)), float(_RICHARDSON @ own) / step


def _width(verdict: Verdict) -> float:
    """How precisely an attempt knows the derivative: its range plus its tolerance."""
    return verdict.tolerance + verdict.high - verdict.low


def _size(verdict: Verdict, reference: float) -> float:
    """The gradient's size an attempt's width is judged against."""
    return max(abs(verdict.analytic), abs(verdict.numeric), reference)


def _relative_width(verdict: Verdict, reference: float) -> float:
    """The width relative to the gradient's size; 0 where the gradient is exactly zero
    along the probe (nothing to resolve: a zero derivative within noise passes)."""
    size = _size(verdict, reference)
    return _width(verdict) / size if size > 0 else 0.0


def _precise(verdict: Verdict, reference: float) -> bool:
    """Whether an attempt is precise enough to settle a probe: its width is at most
    PRECISION of the gradient's size (the parameter's, along this kind of probe)."""
    return _width(verdict) <= PRECISION * _size(verdict, reference)


def _next_step(
    current: Verdict, history: Sequence[Verdict], sigma: float, reference: float
) -> float | None:
    """The step of the next attempt, or None when another attempt cannot help.

    * An attempt too imprecise to mean much (or to name the mistake), with noise
      dominating: a larger step (less noise), once.
    * A failure by a few per cent, which kinks or truncation could explain: a smaller step
      while its noise still lets the discrepancy show, else a larger one once (less noise:
      a stable numeric value confirms the failure, a moving one shows the line is rough).
    * A gross failure (a sign, a missing 1/N) on a smooth line: decided at once. On a
      rough line kinks may be most of the gradient (inputs within a step of a ReLU's
      kink), so it is retried like a small one.
    """
    stepped_up = any(v.step > history[0].step for v in history)
    largest = max(v.step for v in history)
    if not _precise(current, reference) and current.noise_limited and not stepped_up:
        # Too noisy to mean much (or to name the mistake): a larger step has less noise.
        # Once only: a loss smooth at one scale can be far from it at 64 times that.
        return current.step * STEP_SHRINK
    if current.passed:
        return None
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
    """Whether an attempt at ``step`` could be precise (see :func:`_precise`) on noise
    alone."""
    return noise_tolerance(sigma, step) <= PRECISION * max(size, reference)


def smooth(verdict: Verdict) -> bool:
    """Whether an attempt saw a smooth line: no kink, and noise (not the estimates'
    spread) dominating its tolerance."""
    return verdict.noise_limited and not verdict.kink


def _settle(history: Sequence[Verdict], reference: float) -> tuple[Verdict, bool]:
    """One verdict from a probe's attempts, and whether the probe is inconclusive.

    A precise pass settles it. Attempts whose ranges (widened by their tolerances) share no
    value mean the numeric derivative moves with the step (kinks): no verdict, unless the
    user's value lies beyond them all by more than they move (see
    :func:`_beyond_movement`); so do failures only at steps larger than a pass where the
    line is already rough. Otherwise a failure stands (the most precise failing attempt is
    reported), and when only imprecise passes are left, the best of those passes.
    """
    passes = [v for v in history if v.passed]
    precise_passes = [v for v in passes if _precise(v, reference)]
    if precise_passes:
        return min(precise_passes, key=_width), False
    failures = [v for v in history if not v.passed]
    smallest_pass = min((v.step for v in passes), default=math.inf)
    # A failure at a larger step than a pass, where the estimates already spread wider than
    # noise (kinks or truncation at that scale), cannot overturn the pass: no verdict.
    rough_only = all(v.step > smallest_pass and not v.noise_limited for v in failures)
    if failures and not (passes and rough_only):
        floor = max(v.low - v.tolerance for v in history)
        ceiling = min(v.high + v.tolerance for v in history)
        moving = floor > ceiling
        return min(failures, key=_width), moving and not _beyond_movement(history)
    if failures:
        return min(passes, key=_width), True
    return min(passes, key=_width), False


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
    finest = min(history, key=lambda v: (v.step, _width(v)))
    if finest.passed or not smooth(finest):
        return False
    hull_low = min(v.low - v.tolerance for v in history)
    hull_high = max(v.high + v.tolerance for v in history)
    distance = max(hull_low - finest.analytic, finest.analytic - hull_high)
    return distance > hull_high - hull_low
