"""Probe one line through the parameters: evaluate the loss along it, retry, settle a verdict.

A ``Line`` is one entry of a parameter moved by its scale, or a whole direction. A
``Prober`` looks first at ``f(x ± h·d)`` alone (``.stencil.judge_central``),
otherwise at five points (``.stencil.judge``), at the steps ``steps.py`` picks, and
returns what it saw as a ``Probe``. Each probe judges every *reading* of the user's
gradient at once (as given, transposed, ...) from the same loss values.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gradcheck._numerics.loss import LossAt
from gradcheck._numerics.stencil import (
    CENTRAL_H,
    OFFSETS,
    RANDOM_SIGN_SIGMAS,
    RICHARDSON,
    Allowance,
    Verdict,
    gradient_slack,
    judge,
    judge_central,
    noise_tolerance,
)
from gradcheck._numerics.steps import (
    KINK_RETRIES,
    MAX_RETRIES,
    MIN_STEP_FRACTION,
    RESOLUTION,
    next_step,
    precise,
    relative_blur,
    relative_width,
    settle,
)

#: The stencil's points in the order they are evaluated: ±h first (the quick look), ±2h.
_EVALUATION_ORDER = (1, 3, 0, 4)


@dataclass(frozen=True)
class Line:
    """A line ``x + t·d`` through parameter ``param``: ``d`` is one ``entry`` moved by
    ``scale``, or a whole ``direction`` (then ``entry`` is ``None`` and ``scale`` 1)."""

    param: int
    entry: tuple[int, ...] | None = None
    direction: NDArray[np.float64] | None = None
    scale: float = 1.0
    #: The direction's signs are independent fair coin flips (a random direction): the
    #: rounding of the gradient's entries then adds up along it like a random walk.
    random_signs: bool = False

    @classmethod
    def through_entry(cls, param: int, entry: tuple[int, ...], scale: float) -> Line:
        return cls(param, entry=entry, scale=scale)

    @classmethod
    def along(
        cls, param: int, direction: NDArray[np.float64], *, random_signs: bool = False
    ) -> Line:
        return cls(param, direction=direction, random_signs=random_signs)

    @property
    def reach(self) -> float:
        """How far the line moves the parameter, for bounding the sum of its entries'
        rounding: the entry's scale, or ``Σ|dᵢ|``, or along random signs (where roundings
        add like a walk) RANDOM_SIGN_SIGMAS·‖d‖₂ if smaller."""
        if self.direction is None:
            return self.scale
        reach = float(np.sum(np.abs(self.direction)))
        if self.random_signs:
            reach = min(reach, RANDOM_SIGN_SIGMAS * float(np.linalg.norm(self.direction)))
        return reach


@dataclass(frozen=True)
class Probe:
    """What one probe saw, for each reading of the user's gradient."""

    entry: tuple[int, ...] | None  # the entry probed, or None for a direction
    scale: float  # the entry's step scale (to report per-entry derivatives)
    verdicts: dict[str, Verdict]  # reading ("given", "transposed", ...) -> verdict
    loss_moved: bool  # whether any of the loss values differed from f(x)
    #: The line is rough (kinks, or estimates spread wider than noise) and the discrepancy
    #: is below what a smaller step's noise could resolve: no verdict either way.
    inconclusive: bool = False
    #: The settled verdict's width relative to the gradient's size (see steps.PRECISION).
    uncertainty: float = 0.0
    #: Its tolerance alone relative to the gradient's size (see steps.relative_blur): a
    #: mistake smaller than this could pass this probe.
    blur: float = 0.0
    #: ``⟨x, d⟩``: the parameter's own value along the probe, from the same displacements
    #: and formula as ``analytic``; a gradient ``g + c·x`` would read ``analytic + c·x_dot_d``.
    x_dot_d: float = 0.0
    #: Attempts at which the gradient failed before the verdict settled.
    failed_attempts: int = 0
    #: It failed, but by less than the gradient's own low-precision rounding could be
    #: (``ProbeSettings.rounding``): a gradient given as float32 arrays may be right.
    within_rounding: bool = False


@dataclass(frozen=True)
class ProbeSettings:
    """What every probe of one check shares: the loss at ``x``, its noise ``σ``, the
    cube-root relative step and the precision the loss is computed in."""

    f0: float
    sigma: float
    rel_step: float
    eps: float
    #: For gradients computed in a low precision that could not be measured: how far off
    #: their rounding can put a derivative along one step scale of a parameter (the loss's
    #: own low-precision noise, see docs/how-it-decides.md, "float32 and float16"); 0 else.
    rounding: float = 0.0

    def first_step(self, magnitude: float) -> float:
        """The step whose noise allowance is RESOLUTION of ``magnitude`` (``Σ|gᵢ·dᵢ|``
        along the probe), within [MIN_STEP_FRACTION, 1] of the cube-root step; the
        cube-root step where the gradient is zero (or underflows)."""
        resolution = RESOLUTION * magnitude
        wanted = noise_tolerance(self.sigma, 1.0) / resolution if resolution > 0 else self.rel_step
        return min(max(wanted, self.rel_step * MIN_STEP_FRACTION), self.rel_step)


@dataclass(frozen=True)
class _Readings:
    """The readings a probe judges, what each verdict allows for (the rounding of each
    reading's derivative differs), and the primary one (the gradient as given, when its
    shape fits)."""

    grads: Mapping[str, NDArray[np.float64]]
    allow: Mapping[str, Allowance]

    @property
    def primary(self) -> str:
        return "given" if "given" in self.grads else next(iter(self.grads))


def _within_rounding(probe: Probe, primary: str, bound: float) -> Probe:
    """Mark a failed probe whose error the gradient's rounding could explain: beyond its
    tolerance by at most ``bound`` (the rounding per unit moved times the line's reach)."""
    v = probe.verdicts[primary]
    within = not v.passed and v.error <= v.tolerance + bound
    return dataclasses.replace(probe, within_rounding=within)


class NonFiniteLossError(Exception):
    """The loss was not finite at a probe point."""


class Prober:
    """Runs probes against one loss, with the settings the check settled on."""

    def __init__(self, loss_at: LossAt, settings: ProbeSettings) -> None:
        self.loss_at = loss_at
        self.settings = settings
        self._float64: dict[int, NDArray[np.float64]] = {}  # the parameters at x, converted once

    def probe(
        self,
        line: Line,
        readings: Mapping[str, NDArray[np.float64]],
        grad_eps: float,
        unit: float = 0.0,
    ) -> list[Probe]:
        """Probe one line; split a direction that fails at a kink into its halves.
        ``unit`` is the parameter's step scale, for ``Probe.within_rounding``.

        Many units can sit exactly on a kink at ``x`` (zero biases and an input at the
        origin). A random direction crosses half of those kinks one way and half the
        other, so its one-sided derivatives no longer bound the valid values; its positive
        and negative halves each cross all of them the same way.
        """
        spread = {n: float(np.abs(g).max()) * line.reach for n, g in readings.items()}
        if line.entry is not None:
            size = {n: abs(float(g[line.entry])) * line.scale for n, g in readings.items()}
            # The gradient's size for judging precision: the parameter's, not one entry's.
            reference = max(spread.values())
        else:
            assert line.direction is not None
            size = {n: float(np.sum(np.abs(g * line.direction))) for n, g in readings.items()}
            reference = max(size.values())
        s = self.settings
        allow = {
            n: Allowance(s.sigma, gradient_slack(grad_eps, m, spread[n]), s.eps)
            for n, m in size.items()
        }
        judged = _Readings(readings, allow)
        found = self._attempts(line, judged, max(size.values()), reference)
        if unit > 0 and s.rounding > 0:
            found = _within_rounding(found, judged.primary, s.rounding / unit * line.reach)
        direction = line.direction
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
            for probe in self.probe(
                Line(line.param, None, half, line.scale), readings, grad_eps, unit
            )
        ]

    def _attempts(
        self, line: Line, readings: _Readings, magnitude: float, reference: float
    ) -> Probe:
        """Attempts at the steps ``.steps.next_step`` picks, settled into one probe.

        ``magnitude`` is ``Σ|gᵢ·dᵢ|``, the size of the user's gradient along the line.
        """
        primary = readings.primary
        step = self.settings.first_step(magnitude)
        attempts: list[dict[str, Verdict]] = []
        # The loss is deterministic: a step tried before gives the same verdicts.
        tried: dict[float, tuple[dict[str, Verdict], bool, float]] = {}
        moved = False
        for _ in range(MAX_RETRIES + KINK_RETRIES + 1):
            if step not in tried:
                tried[step] = self._at_step(line, readings, step, not attempts, reference)
            verdicts, changed, _ = tried[step]
            attempts.append(verdicts)
            moved = moved or changed
            if any(v.passed and precise(v, reference) for v in verdicts.values()):
                break
            following = next_step(
                verdicts[primary], [a[primary] for a in attempts], self.settings.sigma, reference
            )
            if following is None:
                break
            step = following
        settled = {name: settle([a[name] for a in attempts], reference) for name in readings.grads}
        final = settled[primary][0]
        return Probe(
            entry=line.entry,
            scale=line.scale,
            verdicts={name: verdict for name, (verdict, _) in settled.items()},
            loss_moved=moved,
            inconclusive=settled[primary][1],
            uncertainty=relative_width(final, reference),
            blur=relative_blur(final, reference),
            x_dot_d=tried[final.step][2],
            failed_attempts=sum(not a[primary].passed for a in attempts),
        )

    def _at_step(
        self, line: Line, readings: _Readings, step: float, quick: bool, reference: float
    ) -> tuple[dict[str, Verdict], bool, float]:
        """The loss at the points of one step, judged for every reading; whether the loss
        moved; and ``⟨x, d⟩`` (see ``Probe.x_dot_d``).

        With ``quick``, f(±h) come first: if the central difference alone agrees with the
        primary reading precisely, the probe passes on two loss calls (the strictest test
        there is); otherwise f(±2h) follow and the five estimates judge.
        """
        s = self.settings
        values = np.zeros(len(OFFSETS))
        values[OFFSETS.index(0)] = s.f0
        predictions = {name: np.zeros(len(OFFSETS)) for name in readings.grads}
        x_dot_delta = np.zeros(len(OFFSETS))  # ⟨x, Δ⟩ at each point
        primary = readings.primary
        for k in _EVALUATION_ORDER:
            offset = OFFSETS[k]
            if quick and offset in (-2, 2):
                first = judge_central(values, predictions[primary], step, readings.allow[primary])
                if first.passed and precise(first, reference):
                    central = {
                        name: judge_central(values, predictions[name], step, readings.allow[name])
                        for name in readings.grads
                        if name != primary
                    }
                    moved = bool(np.any(values != s.f0))
                    return {primary: first} | central, moved, float(CENTRAL_H @ x_dot_delta) / step
                quick = False
            values[k] = self._loss_at_offset(
                line, readings, offset * step, k, predictions, x_dot_delta
            )
        verdicts = {
            name: judge(values, predictions[name], step, readings.allow[name])
            for name in readings.grads
        }
        return verdicts, bool(np.any(values != s.f0)), float(RICHARDSON @ x_dot_delta) / step

    def _loss_at_offset(
        self,
        line: Line,
        readings: _Readings,
        t: float,
        k: int,
        predictions: dict[str, NDArray[np.float64]],
        x_dot_delta: NDArray[np.float64],
    ) -> float:
        """The loss at ``x + t·d``; writes each reading's prediction ``⟨g, Δ⟩`` and
        ``⟨x, Δ⟩`` at point ``k``, from the displacement ``Δ`` really stored (in float32,
        ``x + t·d`` rounds: comparing against the rounded step removes that error)."""
        base = self.loss_at.snapshots[line.param]
        if line.param not in self._float64:
            self._float64[line.param] = base.astype(np.float64)
        base64 = self._float64[line.param]
        if line.entry is not None:
            stored = base.copy()
            stored[line.entry] = base64[line.entry] + t * line.scale
            delta = float(stored[line.entry]) - float(base64[line.entry])
            for name, g in readings.grads.items():
                predictions[name][k] = float(g[line.entry]) * delta
            x_dot_delta[k] = float(base64[line.entry]) * delta
        else:
            assert line.direction is not None
            stored = (base64 + t * line.direction).astype(base.dtype)
            delta_array = stored.astype(np.float64) - base64
            for name, g in readings.grads.items():
                predictions[name][k] = float(np.vdot(g, delta_array))
            x_dot_delta[k] = float(np.vdot(base64, delta_array))
        value, _, _ = self.loss_at({line.param: stored})
        if not math.isfinite(value):
            raise NonFiniteLossError(
                f"the loss is {value} at {self.loss_at.name(line.param)} + "
                f"{t * line.scale:.3g}·(probe direction)"
            )
        return value
