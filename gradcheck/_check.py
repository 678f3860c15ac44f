"""check_gradients: compare a hand-written gradient with finite differences, and say what
is wrong in words.

The steps, each in its own module:

1. ``_params``: accept the user's parameters and gradients (mapping, list, one array).
2. ``_evaluate``: call the loss on private copies (or in place, restoring bit for bit).
3. ``_noise``: estimate the loss's rounding noise on a short line through all parameters.
4. ``_stencil``: per probe (an entry, or a random ±1 direction for large tensors), five loss
   values give central, Richardson and one-sided derivatives with error bounds.
5. ``_diagnose``: turn failed probes into a diagnosis (scaled, negated, transposed, ...).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._diagnose import (
    FactorFit,
    Probe,
    all_pass,
    common_factor,
    conclusive,
    diagnose_values,
    fit_factor,
    scaled,
)
from gradcheck._evaluate import Evaluator, wants_params
from gradcheck._events import notify_check
from gradcheck._noise import NOISE_POINTS, noise_from_line, rounding_floor
from gradcheck._params import (
    ParamLayout,
    Structure,
    grad_label,
    split_grads,
    split_params,
)
from gradcheck._report import Diagnosis, GradientReport, ParameterResult, common_notes
from gradcheck._shapes import classify_shape_slip, describe_shape_slip
from gradcheck._stencil import (
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
FLOAT32_EPS = float(np.finfo(np.float32).eps)
#: How many times the noise line may be lengthened when rounding hides every change on it.
NOISE_LINE_ATTEMPTS = 3
#: Entries probed in place of each random direction that could not decide.
EXTRA_ENTRIES = 2


@dataclass(frozen=True)
class _Line:
    """One probe's line through parameter ``index``: ``x + t·d``, with ``d`` one entry
    scaled by ``scale`` or a whole ``direction``, and the candidate gradients it judges."""

    index: int
    candidates: Mapping[str, NDArray[np.float64]]
    slack: Mapping[str, float]  # allowed rounding of each candidate's derivative
    entry: tuple[int, ...] | None
    direction: NDArray[np.float64] | None
    scale: float


#: The stencil's points in the order they are evaluated: ±h first (the quick look), ±2h.
_EVALUATION_ORDER = (1, 3, 0, 4)


class _NonFiniteLossError(Exception):
    """The loss was not finite at a probe point."""


@dataclass
class _Options:
    full: bool
    max_entries: int
    directions: int
    entries: int


def _validate_options(
    full: bool, max_entries: int, directions: int, entries: int, seed: int | None
) -> _Options:
    for option, value in (
        ("max_entries", max_entries),
        ("directions", directions),
        ("entries", entries),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{option} must be a whole number >= 0, got {value!r}")
    if directions + entries == 0:
        raise ValueError(
            "directions and entries are both 0, so large parameters would not be checked: "
            "set at least one of them to 1 or more (or full=True)"
        )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    return _Options(bool(full), max_entries, directions, entries)


def _param_scale(array: NDArray[Any], fallback: float) -> float:
    """A typical size of the parameter's entries: its RMS, or ``fallback`` if all zero."""
    if array.size == 0:
        return fallback
    rms = float(np.sqrt(np.mean(np.square(array, dtype=np.float64))))
    return rms if rms > 0 and math.isfinite(rms) else fallback


class _Checker:
    def __init__(
        self,
        evaluator: Evaluator,
        f0: float,
        sigma: float,
        rel_step: float,
        rng: np.random.Generator,
        options: _Options,
        global_scale: float,
        eps: float,
    ) -> None:
        self.eps = eps
        self.factor_fits: dict[str, FactorFit] = {}
        self.notes: list[str] = []
        self.evaluator = evaluator
        self.f0 = f0
        self.sigma = sigma
        self.rel_step = rel_step
        self.rng = rng
        self.options = options
        self.global_scale = global_scale

    # ------------------------------------------------------------------ one probe

    def probe(
        self,
        index: int,
        candidates: Mapping[str, NDArray[np.float64]],
        grad_eps: float,
        entry: tuple[int, ...] | None,
        direction: NDArray[np.float64] | None,
        scale: float,
    ) -> list[Probe]:
        """Probe one entry or direction; split a ±1 direction that fails at a kink.

        Many units can sit exactly on a kink at ``x`` (zero biases and an input at the
        origin put every hidden unit at ReLU(0)). A ±1 direction crosses half of those
        kinks one way and half the other, and then the line's one-sided derivatives no
        longer bound the valid values. Its +1 half and its −1 half each cross all of them
        the same way, so each is judged on its own.
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
        line = _Line(index, candidates, slack, entry, direction, scale)
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
        line: _Line,
        magnitude: float,
        reference: float,
    ) -> Probe:
        """Run one probe (an entry, or a direction), retrying with smaller steps if needed.

        ``magnitude`` is ``Σ|gᵢ·dᵢ|``, the size of the user's gradient along the probe.
        """
        candidates = line.candidates
        primary = "given" if "given" in candidates else next(iter(candidates))
        wanted = (
            noise_tolerance(self.sigma, 1.0) / (RESOLUTION * magnitude)
            if magnitude > 0
            else self.rel_step
        )
        step = min(max(wanted, self.rel_step * MIN_STEP_FRACTION), self.rel_step)
        attempts: list[dict[str, Verdict]] = []
        moved = False
        for _ in range(MAX_RETRIES + KINK_RETRIES + 1):
            verdicts, changed = self._stencil(line, step, quick=not attempts, reference=reference)
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
        )

    def _stencil(
        self, line: _Line, step: float, *, quick: bool, reference: float
    ) -> tuple[dict[str, Verdict], bool]:
        """The loss at the five points of one step, judged for every candidate gradient.

        With ``quick``, f(±h) come first: if the central difference alone agrees with the
        user's value within noise, precisely, the probe passes on two loss calls (the
        strictest test there is); otherwise f(±2h) follow and the five estimates judge.
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
        primary = "given" if "given" in candidates else next(iter(candidates))
        for k in _EVALUATION_ORDER:
            offset = OFFSETS[k]
            if quick and offset in (-2, 2):
                first = judge_central(
                    values, predictions[primary], step, self.sigma, line.slack[primary], self.eps
                )
                if first.passed and _precise(first, reference):
                    return {primary: first} | {
                        name: judge_central(
                            values, predictions[name], step, self.sigma, line.slack[name], self.eps
                        )
                        for name in candidates
                        if name != primary
                    }, bool(np.any(values != self.f0))
                quick = False
            if entry is not None:
                stored = base.copy()
                stored[entry] = base64[entry] + offset * step * scale
                delta = float(stored[entry]) - float(base64[entry])
                for name, g in candidates.items():
                    predictions[name][k] = float(g[entry]) * delta
            else:
                assert direction is not None
                stored = (base64 + (offset * step) * direction).astype(base.dtype)
                delta_array = stored.astype(np.float64) - base64
                for name, g in candidates.items():
                    predictions[name][k] = float(np.vdot(g, delta_array))
            value, _, _ = self.evaluator({index: stored})
            if not math.isfinite(value):
                raise _NonFiniteLossError(
                    f"the loss is {value} at {self.evaluator.layout.names[index]} + "
                    f"{offset * step * scale:.3g}·(probe direction)"
                )
            values[k] = value
        verdicts = {
            name: judge(values, predictions[name], step, self.sigma, line.slack[name], self.eps)
            for name in candidates
        }
        return verdicts, bool(np.any(values != self.f0))

    # ------------------------------------------------------------ one parameter

    def plan(
        self, array: NDArray[Any], grad: NDArray[np.float64] | None, scale: float
    ) -> list[tuple[tuple[int, ...] | None, NDArray[np.float64] | None, float]]:
        """The probes for one parameter: every entry if small, else directions + entries."""
        entry_scales = np.maximum(np.abs(array.astype(np.float64)), scale)
        if self.options.full or array.size <= self.options.max_entries:
            return [(idx, None, float(entry_scales[idx])) for idx in np.ndindex(array.shape)]
        plans: list[tuple[tuple[int, ...] | None, NDArray[np.float64] | None, float]] = []
        for _ in range(self.options.directions):
            signs = self.rng.choice(np.array([-1.0, 1.0]), size=array.shape)
            plans.append((None, signs * entry_scales, 1.0))
        chosen: list[int] = []
        if self.options.entries and grad is not None and np.any(grad):
            chosen.append(int(np.argmax(np.abs(grad))))
        while len(chosen) < min(self.options.entries, array.size):
            flat = int(self.rng.integers(array.size))
            if flat not in chosen:
                chosen.append(flat)
        for flat in chosen:
            idx = tuple(int(i) for i in np.unravel_index(flat, array.shape))
            plans.append((idx, None, float(entry_scales[idx])))
        return plans

    def random_entries(
        self, array: NDArray[Any], count: int, exclude: set[tuple[int, ...]]
    ) -> list[tuple[int, ...]]:
        """Up to ``count`` distinct random entries of ``array`` not in ``exclude``."""
        free = array.size - len(exclude)
        chosen: list[tuple[int, ...]] = []
        while len(chosen) < min(count, free):
            flat = int(self.rng.integers(array.size))
            entry = tuple(int(i) for i in np.unravel_index(flat, array.shape))
            if entry not in exclude and entry not in chosen:
                chosen.append(entry)
        return chosen

    def check_parameter(
        self, index: int, name: str, grad: NDArray[Any] | None, grad_problem: str | None
    ) -> ParameterResult:
        array = self.evaluator.snapshots[index]
        shape = tuple(array.shape)
        label = grad_label(name)

        def fail(kind: str, message: str, grad_shape: tuple[int, ...] | None) -> ParameterResult:
            return ParameterResult(
                name=name,
                shape=shape,
                grad_shape=grad_shape,
                passed=False,
                diagnosis=Diagnosis(kind, None, message),  # type: ignore[arg-type]
            )

        if grad is None:
            return fail(
                "missing",
                grad_problem or f"no gradient for {name}: return one entry per parameter",
                None,
            )
        grad_shape = tuple(grad.shape)
        grad64 = grad.astype(np.float64)
        if not np.all(np.isfinite(grad64)):
            bad = np.argwhere(~np.isfinite(grad64))
            first = tuple(int(i) for i in bad[0])
            return fail(
                "nonfinite",
                f"{label} has {len(bad)} non-finite entries (nan or inf), the first at "
                f"{first}: look for an overflow (exp of a large score: subtract the max) or a "
                "log/division of 0",
                grad_shape,
            )

        candidates: dict[str, NDArray[np.float64]] = {}
        slip = classify_shape_slip(shape, grad_shape)
        if slip is None:
            candidates["given"] = grad64
            if grad64.ndim == 2 and grad64.shape[0] == grad64.shape[1] and grad64.shape[0] > 1:
                candidates["transposed"] = np.ascontiguousarray(grad64.T)
        elif slip == "transposed":
            candidates["transposed"] = np.ascontiguousarray(grad64.T)
        elif grad64.size == array.size:
            candidates["reshaped"] = grad64.reshape(shape)
        elif slip == "batch":
            summed = _sum_batch_axis(grad64, shape)
            if summed is not None:
                candidates["summed"] = summed

        probes: list[Probe] = []
        scale = _param_scale(array, self.global_scale)
        if candidates and array.size:
            eps = float(np.finfo(grad.dtype).eps) if grad.dtype.kind == "f" else 2.0**-52
            primary_grad = next(iter(candidates.values()))
            plans = self.plan(array, primary_grad, scale)
            probed = {entry for entry, _, _ in plans if entry is not None}
            try:
                for entry, direction, entry_scale in plans:
                    probes.extend(self.probe(index, candidates, eps, entry, direction, entry_scale))
                # A direction that could not decide (kinks closer than noise lets the step
                # go) is replaced by entries: one entry moves one unit's kinks only.
                missing = EXTRA_ENTRIES * sum(p.inconclusive for p in probes)
                for entry in self.random_entries(array, missing, probed):
                    entry_scale = max(abs(float(array[entry])), scale)
                    probes.extend(self.probe(index, candidates, eps, entry, None, entry_scale))
            except _NonFiniteLossError as exc:
                return fail(
                    "nonfinite",
                    f"{exc}: the loss overflows or hits a log/division of 0 near "
                    f"{name}; make it numerically stable (e.g. log-sum-exp for softmax)",
                    grad_shape,
                )

        if index in self.evaluator.mutated:
            return fail(
                "mutated",
                f"the loss (or gradient function) wrote into {name} while it was being "
                "checked: it must not modify its inputs in place (copy before +=, -=, "
                "or masked assignment)",
                grad_shape,
            )
        return self._result(name, shape, grad_shape, slip, probes, candidates, grad64, label)

    def _result(
        self,
        name: str,
        shape: tuple[int, ...],
        grad_shape: tuple[int, ...],
        slip: str | None,
        probes: list[Probe],
        candidates: Mapping[str, NDArray[np.float64]],
        grad64: NDArray[np.float64],
        label: str,
    ) -> ParameterResult:
        primary = next(iter(candidates), None)
        if primary is None or not probes:
            diagnosis = (
                Diagnosis("ok", None, "")
                if slip is None
                else Diagnosis("shape", None, describe_shape_slip(name, shape, grad_shape) + ".")
            )
            return ParameterResult(
                name=name,
                shape=shape,
                grad_shape=grad_shape,
                passed=slip is None,
                diagnosis=diagnosis,
            )
        worst = max(conclusive(probes) or probes, key=lambda p: p.verdicts[primary].ratio)
        v = worst.verdicts[primary]
        undecided = not conclusive(probes)
        passed = slip is None and (undecided or all_pass(probes, primary))
        if passed and undecided:
            self.notes.append(
                f"{name}: no verdict: every probe crossed kinks closer together than the "
                "loss's rounding lets a finite difference resolve (inputs within a hair of a "
                "ReLU's kink?); its gradient was neither confirmed nor refuted"
            )
        if passed:
            diagnosis = Diagnosis("ok", None, f"{label} agrees with the finite differences")
        elif slip is None:
            diagnosis = diagnose_values(name, probes, grad_is_zero=not np.any(grad64))
            fitted = fit_factor(probes) if diagnosis.kind == "scaled" else None
            if fitted is not None:
                self.factor_fits[name] = fitted
        elif slip == "transposed" and all_pass(probes, "transposed"):
            diagnosis = Diagnosis(
                "transposed",
                None,
                describe_shape_slip(name, shape, grad_shape)
                + f"; {label}.T matches the finite differences.",
            )
        else:
            verdict_words = {
                True: f"after that fix the values are right ({primary} {label} matches the "
                "finite differences)",
                False: "and the values are wrong too, even after fixing the shape",
            }
            diagnosis = Diagnosis(
                "shape",
                None,
                describe_shape_slip(name, shape, grad_shape)
                + "; "
                + verdict_words[all_pass(probes, primary)]
                + ".",
            )
        uncertainty = max((p.uncertainty for p in conclusive(probes)), default=0.0)
        if passed and uncertainty > PRECISION:
            self.notes.append(
                f"{name}: checked only to ±{uncertainty:.0%} of its gradient: the loss's "
                f"rounding noise ({self.sigma:.1e}) nearly hides how it changes with {name} "
                "(a float32 loss dominated by other terms?). A mistake smaller than that "
                "would not show: check again in float64 (.astype(np.float64) on parameters "
                "and data)."
            )
        per_entry = worst.scale
        return ParameterResult(
            name=name,
            shape=shape,
            grad_shape=grad_shape,
            passed=passed,
            diagnosis=diagnosis,
            method="entries" if all(p.index is not None for p in probes) else "directions",
            probes=len(probes),
            kinks=sum(p.verdicts[primary].kink for p in probes),
            inconclusive=sum(p.inconclusive for p in probes),
            worst_index=worst.index,
            analytic=v.analytic / per_entry,
            numeric=v.numeric / per_entry,
            error=v.error / per_entry,
            tolerance=v.tolerance / per_entry,
        )


def _width(verdict: Verdict) -> float:
    """How precisely an attempt knows the derivative: its range plus its tolerance."""
    return verdict.tolerance + verdict.high - verdict.low


def _relative_width(verdict: Verdict, reference: float) -> float:
    """The width relative to the gradient's size; 0 where the gradient is exactly zero
    along the probe (nothing to resolve: a zero derivative within noise passes)."""
    size = max(abs(verdict.analytic), abs(verdict.numeric), reference)
    return _width(verdict) / size if size > 0 else 0.0


def _precise(verdict: Verdict, reference: float) -> bool:
    """Whether an attempt is precise enough to settle a probe: its width is at most
    PRECISION of the gradient's size (the parameter's, along this kind of probe)."""
    size = max(abs(verdict.analytic), abs(verdict.numeric), reference)
    return _width(verdict) <= PRECISION * size


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
    if not stepped_up:
        return largest * STEP_SHRINK
    return None


def _settle(history: Sequence[Verdict], reference: float) -> tuple[Verdict, bool]:
    """One verdict from a probe's attempts, and whether the probe is inconclusive.

    A precise pass settles it. Attempts whose ranges (widened by their tolerances) share no
    value mean the numeric derivative moves with the step (kinks): no verdict; so do
    failures only at steps larger than a pass where the line is already rough. Otherwise
    a failure stands (the most precise failing attempt is reported), and when only
    imprecise passes are left, the best of those passes.
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
        return min(failures, key=_width), floor > ceiling
    if failures:
        return min(passes, key=_width), True
    return min(passes, key=_width), False


def _sum_batch_axis(
    grad: NDArray[np.float64], shape: tuple[int, ...]
) -> NDArray[np.float64] | None:
    """Sum the batch axis the user forgot to sum, if that gives the parameter's shape."""
    for axis in range(grad.ndim):
        summed: NDArray[np.float64] = grad.sum(axis=axis, keepdims=True)
        if summed.shape == shape:
            return summed
        squeezed: NDArray[np.float64] = grad.sum(axis=axis)
        if squeezed.shape == shape:
            return squeezed
    return None


def _share_factor(
    results: list[ParameterResult], fits: Mapping[str, FactorFit]
) -> list[ParameterResult]:
    """When every gradient is scaled, by one factor that fits all of them, say that factor.

    A common cause (one missing 1/N) is the likelier story, and the precise probes of
    smooth parameters then pin the factor down for the kinked ones too.
    """
    if len(results) < 2 or any(r.name not in fits for r in results):
        return results
    factor = common_factor([fits[r.name] for r in results])
    if factor is None:
        return results
    return [dataclasses.replace(r, diagnosis=scaled(r.name, factor)) for r in results]


def _estimate_noise(
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
    see only rounding. Its centre is a second evaluation at ``x``: the loss must be
    deterministic. If rounding hides every change on the line (a loss computed in float32
    but returned as a Python float moves by less than one float32 ulp), the line is too
    short to see the noise, and is tried again 100× longer (Moré & Wild's remedy), twice.
    """
    directions = {
        i: rng.choice(np.array([-1.0, 1.0]), size=s.shape)
        * np.maximum(np.abs(s.astype(np.float64)), _param_scale(s, global_scale))
        for i, s in enumerate(evaluator.snapshots)
    }
    floor = rounding_floor([f0], loss_eps)
    line_step = param_eps**0.75
    for attempt in range(NOISE_LINE_ATTEMPTS):
        line: list[float] = []
        for j in range(NOISE_POINTS):
            offset = (j - NOISE_POINTS // 2) * line_step
            replaced = {
                i: (s.astype(np.float64) + offset * directions[i]).astype(s.dtype)
                for i, s in enumerate(evaluator.snapshots)
            }
            line.append(evaluator(replaced)[0])
        centre = line[NOISE_POINTS // 2]
        if attempt == 0 and centre != f0 and not (math.isnan(centre) and math.isnan(f0)):
            raise ValueError(
                f"the loss is not deterministic: two calls at the same parameters returned "
                f"{f0!r} and {centre!r}. Fix its randomness (dropout masks, sampling, "
                "shuffling) with a seed inside the loss, or check a deterministic version"
            )
        if not all(math.isfinite(v) for v in line):
            notes.append("the loss was not finite on the noise-estimation line; noise set to 1 ulp")
            return max(floor, loss_eps * abs(f0))
        if len(set(line)) > NOISE_POINTS // 2:
            if loss_eps < FLOAT32_EPS and all(float(np.float32(v)) == v for v in [f0, *line]):
                # Every value is a float32: the loss was computed in float32 and returned
                # as a Python float (a float64 loss lands on float32 values by chance
                # about once in 2²⁹ per value). Its rounding is float32's, even where its
                # rounded values happen to step so regularly that the table sees none.
                floor = rounding_floor([f0], FLOAT32_EPS)
            return max(noise_from_line(line).sigma, floor)
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


def _resolve_grads(
    grads: object,
    tuple_grads: object | None,
    evaluator: Evaluator,
) -> object:
    if grads is None:
        if tuple_grads is None:
            raise TypeError(
                "no gradients to check: pass grads (a mapping like params, or a function of "
                "params returning one), or make the loss return (loss, grads)"
            )
        return tuple_grads
    if callable(grads):
        return evaluator.call_user(grads)
    return grads


def check_gradients(
    loss: Callable[..., Any],
    grads: Mapping[str, Any] | Sequence[Any] | NDArray[Any] | Callable[..., Any] | None = None,
    params: Structure | None = None,
    *,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    names: Sequence[str] | None = None,
    full: bool = False,
    max_entries: int = 32,
    directions: int = 2,
    entries: int = 2,
    seed: int | None = 0,
    inplace: bool | None = None,
) -> GradientReport:
    """Check hand-written gradients against finite differences; name what is wrong.

    Args:
        loss: ``loss(params, *args, **kwargs) -> float`` (a Python or NumPy scalar, or a
            0-d array). It may also return ``(loss, grads)`` (cs231n style); then
            ``grads`` may be left out. A loss that reads the parameters itself instead of
            taking them (a zero-argument closure, or a bound method of an object whose
            ``.params`` is ``params``, e.g. ``model.loss`` with ``args=(X, y)``) is called
            in place: the arrays are perturbed and restored bit for bit after every call.
        grads: the gradients to check, shaped like ``params`` (a mapping with the same keys,
            or a list in the same order), or a function called like ``loss`` that returns
            them, or ``None`` when ``loss`` returns them.
        params: a mapping of name -> float array, a list or tuple of float arrays (named
            ``params[i]`` unless ``names`` is given), or one float array (named ``x``).
            Never modified.
        args, kwargs: passed to ``loss`` (and to ``grads`` when it is a function) after the
            parameters: the data, e.g. ``args=(X, y)``.
        names: names for the parameters of a list, tuple or single array.
        full: probe every entry of every parameter (one loss pair per entry, four loss calls
            per entry) instead of random directions for large ones.
        max_entries: parameters with at most this many entries are checked entry by entry.
        directions: random ±1 directions per larger parameter.
        entries: single entries per larger parameter (the largest gradient entry, then
            random ones), so a report can point at an index.
        seed: seeds the random directions and entries: the same seed gives the same report.
            ``None`` draws a fresh seed (recorded in ``report.seed``).
        inplace: force (``True``) or forbid (``False``) calling the loss in place; ``None``
            decides from the loss's signature as described under ``loss``.

    Returns:
        A :class:`GradientReport`: ``print(report)`` shows the table, ``report.passed`` the
        verdict, ``report["W2"].diagnosis`` what is wrong with one parameter.

    Raises:
        TypeError, ValueError: misuse (integer parameters, a loss that returns a vector,
            no gradients, bad options), with what to do instead.
        Exception: whatever the user's loss or gradient function raises, with a note
            saying where in the check it happened. The user's arrays are restored first.
    """
    __tracebackhide__ = True
    if params is None:
        raise TypeError(
            "check_gradients needs params: check_gradients(loss, grads, params), where params "
            "is a mapping of name -> float array"
        )
    if not callable(loss):
        raise TypeError(f"loss must be callable (params -> float); got {type(loss).__name__}")
    options = _validate_options(full, max_entries, directions, entries, seed)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
    rng = np.random.default_rng(seed)
    layout, user_arrays = split_params(params, names)
    args = tuple(args)
    use_inplace = (not wants_params(loss, len(args), params)) if inplace is None else inplace
    evaluator = Evaluator(loss, layout, user_arrays, args, kwargs or {}, inplace=use_inplace)
    try:
        return _check(evaluator, loss, grads, layout, rng, options, seed)
    finally:
        evaluator.restore()


def _check(
    evaluator: Evaluator,
    loss: Callable[..., Any],
    grads: object,
    layout: ParamLayout,
    rng: np.random.Generator,
    options: _Options,
    seed: int,
) -> GradientReport:
    evaluator.context = "at the unperturbed parameters"
    f0, loss_dtype, tuple_grads = evaluator()
    evaluator.context = "computing the gradients at the unperturbed parameters"
    grad_structure = _resolve_grads(grads, tuple_grads, evaluator)
    grad_arrays, extra, problems = split_grads(grad_structure, layout)
    # Our own copies: the gradient function's arrays may alias its internals.
    grad_copies = [None if g is None else np.array(g, copy=True) for g in grad_arrays]
    names = layout.names
    notes: list[str] = []
    if extra:
        notes.append(f"gradients with no parameter of that name were ignored: {', '.join(extra)}")
    if not math.isfinite(f0):
        broken = tuple(
            ParameterResult(
                name=n,
                shape=tuple(s.shape),
                grad_shape=None if g is None else tuple(g.shape),
                passed=False,
                diagnosis=Diagnosis(
                    "nonfinite",
                    None,
                    f"the loss itself is {f0} at the given parameters, so nothing can be "
                    "compared: make the loss finite first (log of 0? exp overflow?)",
                ),
            )
            for n, s, g in zip(names, evaluator.snapshots, grad_copies, strict=True)
        )
        report = GradientReport(broken, evaluator.calls, float("nan"), seed, tuple(notes))
        notify_check(report)
        return report

    # ---- noise: a short line through all parameters at once (ECnoise), whose centre is
    # a second evaluation at x: the loss must be deterministic.
    global_scale = _param_scale(
        np.concatenate([s.ravel().astype(np.float64) for s in evaluator.snapshots]), 1.0
    )
    param_eps = max(float(np.finfo(s.dtype).eps) for s in evaluator.snapshots)
    loss_eps = float(np.finfo(loss_dtype).eps)
    evaluator.context = "while estimating its rounding noise (all parameters nudged)"
    sigma = _estimate_noise(evaluator, f0, rng, global_scale, param_eps, loss_eps, notes)
    rel_noise = sigma / abs(f0) if f0 != 0 else loss_eps
    rel_noise = min(max(rel_noise, 2.0**-53), 1e-2)
    # Central differences balance truncation (∝ h²) and noise (∝ σ/h) at h ∝ σ^(1/3).
    rel_step = rel_noise ** (1 / 3)

    # The precision the loss is computed in: its own dtype's, or coarser parameters'.
    work_eps = max(loss_eps, param_eps)
    checker = _Checker(evaluator, f0, sigma, rel_step, rng, options, global_scale, work_eps)
    results: list[ParameterResult] = []
    for index, (name, grad) in enumerate(zip(names, grad_copies, strict=True)):
        evaluator.context = f"while checking {name} (the loss at a perturbed {name})"
        results.append(checker.check_parameter(index, name, grad, problems.get(name)))
    results = _share_factor(results, checker.factor_fits)
    notes.extend(checker.notes)
    notes.extend(common_notes(results))
    report = GradientReport(tuple(results), evaluator.calls, sigma, seed, tuple(notes))
    notify_check(report)
    return report
