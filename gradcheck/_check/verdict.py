"""Step 5 for one parameter: its verdict, from its own probes or from the joint probes that
stood in for all of them, with the row the report shows and any note about precision."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from gradcheck._check import diagnose, notes
from gradcheck._check.fit import Fit, all_pass, conclusive, fit_factor
from gradcheck._check.report import Diagnosis, ParameterResult
from gradcheck._numerics.probe import Probe
from gradcheck._numerics.steps import PRECISION
from gradcheck._shapes.rule import ShapeSlip


@dataclass(frozen=True)
class Evidence:
    """Everything known about one parameter's gradient once its probes are done."""

    name: str
    shape: tuple[int, ...]
    grad_shape: tuple[int, ...]
    slip: ShapeSlip | None  # how the gradient's shape differs, if it does
    readings: dict[str, NDArray[np.float64]]  # the primary reading first
    grad64: NDArray[np.float64]
    direct: list[Probe]  # its own probes
    joint: list[Probe]  # joint probes that stood in for some of them
    together: tuple[str, ...]  # the parameters the joint probes moved with it


@dataclass
class ParameterOutcome:
    """One parameter's result, its fitted factor (for a ``scaled`` diagnosis, to be shared
    across parameters), and notes for the report."""

    result: ParameterResult
    fit: Fit | None = None
    notes: list[str] = field(default_factory=list)


def verdict(evidence: Evidence, sigma: float) -> ParameterOutcome:
    """Passed when the primary reading of a gradient of the right shape passed every
    conclusive probe (or none could decide: see the note); else diagnosed."""
    e = evidence
    primary = next(iter(e.readings), None)
    probes = e.direct or e.joint
    if primary is None or not probes:
        diagnosis = (
            diagnose.nothing_to_compare()
            if e.slip is None
            else diagnose.shape(e.name, e.shape, e.grad_shape)
        )
        result = ParameterResult(
            name=e.name,
            shape=e.shape,
            grad_shape=e.grad_shape,
            passed=e.slip is None,
            diagnosis=diagnosis,
        )
        return ParameterOutcome(result)
    undecided = not conclusive(probes)
    passed = e.slip is None and (undecided or all_pass(probes, primary))
    outcome = ParameterOutcome(_row(e, primary, probes, passed, _diagnosis(e, primary, passed)))
    if outcome.result.diagnosis.kind == "scaled":
        outcome.fit = fit_factor(probes)
    if passed:
        outcome.notes.extend(_precision_notes(e, probes, undecided, sigma))
    return outcome


def _diagnosis(e: Evidence, primary: str, passed: bool) -> Diagnosis:
    probes = e.direct or e.joint
    if passed:
        return diagnose.ok(e.name, e.together)
    if e.slip is None:
        return diagnose.diagnose_values(e.name, e.shape, probes, not np.any(e.grad64))
    if e.slip == "transposed" and all_pass(probes, "transposed"):
        return diagnose.transposed(e.name, e.shape, e.grad_shape)
    return diagnose.shape(e.name, e.shape, e.grad_shape, primary, all_pass(probes, primary))


def _precision_notes(e: Evidence, probes: list[Probe], undecided: bool, sigma: float) -> list[str]:
    """What a pass could not see: no probe decided, or the noise hid the gradient."""
    said = [notes.no_verdict(e.name)] if undecided else []
    uncertainty = max((p.uncertainty for p in conclusive(probes)), default=0.0)
    if uncertainty > PRECISION:
        largest = float(np.abs(e.grad64).max())
        said.append(notes.imprecise(e.name, uncertainty, largest, sigma))
    return said


def _row(
    e: Evidence, primary: str, probes: list[Probe], passed: bool, diagnosis: Diagnosis
) -> ParameterResult:
    """The report's row: the worst probe (for a failure, the worst failing entry if there
    is one: an entry says where, a direction only that something is wrong)."""
    decided = conclusive(probes) or probes
    failing_entries = [p for p in decided if p.entry is not None and not p.verdicts[primary].passed]
    worst = max(failing_entries or decided, key=lambda p: p.verdicts[primary].ratio)
    v = worst.verdicts[primary]
    method: Literal["entries", "directions", "joint"] = (
        "joint"
        if not e.direct
        else "entries"
        if not e.joint and all(p.entry is not None for p in e.direct)
        else "directions"
    )
    return ParameterResult(
        name=e.name,
        shape=e.shape,
        grad_shape=e.grad_shape,
        passed=passed,
        diagnosis=diagnosis,
        method=method,
        probes=len(e.direct) + len(e.joint),
        kinks=sum(p.verdicts[primary].kink for p in [*e.direct, *e.joint]),
        inconclusive=sum(p.inconclusive for p in e.direct),
        together=e.together,
        worst_index=worst.entry,
        analytic=v.analytic / worst.scale,
        numeric=v.numeric / worst.scale,
        error=v.error / worst.scale,
        tolerance=v.tolerance / worst.scale,
    )
