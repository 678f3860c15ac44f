"""Step 5 for one parameter: its outcome (passed, failed or inconclusive), from its own
probes or from the joint probes that stood in for all of them, with the row the report
shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from gradcheck._check import diagnose
from gradcheck._check.diagnose import Blur
from gradcheck._check.fit import Fit, all_pass, conclusive, fit_factor
from gradcheck._check.report import Diagnosis, Outcome, ParameterResult
from gradcheck._numerics.probe import Probe
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


def verdict(evidence: Evidence, blurred_by: Blur) -> ParameterOutcome:
    """Passed when the primary reading of a gradient of the right shape passed every
    conclusive probe, precisely; inconclusive when no probe could decide or the passes
    could hide a larger mistake than ``blurred_by.checked_to`` of its size; else failed,
    and diagnosed."""
    e = evidence
    primary = next(iter(e.readings), None)
    probes = e.direct or e.joint
    if primary is None or not probes:
        diagnosis = (
            diagnose.nothing_to_compare()
            if e.slip is None
            else diagnose.shape(e.name, e.shape, e.grad_shape)
        )
        outcome: Outcome = "passed" if e.slip is None else "failed"
        return ParameterOutcome(
            ParameterResult(
                name=e.name,
                shape=e.shape,
                grad_shape=e.grad_shape,
                outcome=outcome,
                diagnosis=diagnosis,
            )
        )
    undecided = not conclusive(probes)
    passed = e.slip is None and (undecided or all_pass(probes, primary))
    if not passed:
        outcome, diagnosis = "failed", _diagnosis(e, primary)
    else:
        unseen = _unchecked(e, probes, undecided, blurred_by)
        outcome = "passed" if unseen is None else "inconclusive"
        diagnosis = diagnose.ok(e.name, e.together) if unseen is None else unseen
    result = ParameterOutcome(_row(e, primary, probes, outcome, diagnosis))
    if diagnosis.kind == "scaled":
        result.fit = fit_factor(probes)
    return result


def _diagnosis(e: Evidence, primary: str) -> Diagnosis:
    probes = e.direct or e.joint
    if e.slip is None:
        return diagnose.diagnose_values(e.name, e.shape, probes, not np.any(e.grad64))
    if e.slip == "transposed" and all_pass(probes, "transposed"):
        return diagnose.transposed(e.name, e.shape, e.grad_shape)
    return diagnose.shape(e.name, e.shape, e.grad_shape, primary, all_pass(probes, primary))


def _unchecked(
    e: Evidence, probes: list[Probe], undecided: bool, blurred_by: Blur
) -> Diagnosis | None:
    """Why a gradient that no probe refuted still was not checked: no probe decided, or
    rounding hid the gradient (or mistakes larger than ``checked_to`` of it); else None."""
    if undecided:
        return diagnose.no_verdict(e.name)
    blur = max((p.blur for p in conclusive(probes)), default=0.0)
    if blur > blurred_by.checked_to:
        return diagnose.imprecise(e.name, blur, blurred_by)
    return None


def _row(
    e: Evidence, primary: str, probes: list[Probe], outcome: Outcome, diagnosis: Diagnosis
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
        outcome=outcome,
        diagnosis=diagnosis,
        method=method,
        probes=len(e.direct) + len(e.joint),
        kinks=sum(p.verdicts[primary].kink for p in [*e.direct, *e.joint]),
        undecided=sum(p.inconclusive for p in e.direct),
        together=e.together,
        worst_index=worst.entry,
        analytic=v.analytic / worst.scale,
        numeric=v.numeric / worst.scale,
        error=v.error / worst.scale,
        tolerance=v.tolerance / worst.scale,
    )
