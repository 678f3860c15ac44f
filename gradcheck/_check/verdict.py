"""Step 5 for one parameter: its outcome (passed, failed or inconclusive), from its own
probes or from the joint probes that stood in for all of them, with the row the report
shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from gradcheck._check import diagnose, unchecked
from gradcheck._check.fit import Fit, all_pass, conclusive, fit_factor
from gradcheck._check.locate import Map
from gradcheck._check.report import Diagnosis, Outcome, ParameterResult
from gradcheck._check.unchecked import Blur
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
    #: The largest gradient entry of the other parameters: the size a gradient of this
    #: loss has, to judge how finely an all-zero gradient was checked (0 if none).
    typical: float = 0.0
    #: The parameter's axis names, when annotations (or ``axes=``) give them.
    axes: tuple[str, ...] | None = None
    #: The error map probed after a failure with no pattern (its probes are in ``direct``).
    mapped: Map | None = None


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
    if not passed and _rounding_could_explain(e, probes, primary):
        outcome, diagnosis = "inconclusive", unchecked.own_rounding(e.name, blurred_by)
    elif not passed:
        outcome, diagnosis = "failed", _diagnosis(e, primary)
    else:
        unseen = _unchecked(e, probes, undecided, blurred_by)
        outcome = "passed" if unseen is None else "inconclusive"
        diagnosis = diagnose.ok(e.name, e.together) if unseen is None else unseen
    result = ParameterOutcome(_row(e, primary, probes, outcome, diagnosis))
    if diagnosis.kind == "scaled":
        result.fit = fit_factor(probes)
    return result


#: How a reading names a gradient given for another parameter ("given for b1").
SWAPPED_PREFIX = "given for "


def _diagnosis(e: Evidence, primary: str) -> Diagnosis:
    probes = e.direct or e.joint
    # Another parameter's gradient, only where the probes resolved it (not float16 arrays'
    # loose tolerance, which lets any gradient of the right size pass).
    # And only where the gradient as given is wrong at most probes, as a swapped one is: one
    # wrong entry is a local mistake, whatever other gradient happens to be close.
    decided = conclusive(probes)
    wrong = len(decided) if e.slip else sum(not p.verdicts["given"].passed for p in decided)
    sharp = all(p.blur <= PRECISION for p in decided) and 2 * wrong >= len(decided)
    for reading in e.readings:
        if sharp and reading.startswith(SWAPPED_PREFIX) and all_pass(probes, reading):
            other = reading.removeprefix(SWAPPED_PREFIX)
            return diagnose.swapped(e.name, other, e.shape, e.grad_shape)
    if e.slip is None:
        return diagnose.diagnose_values(e.name, e.shape, probes, e.grad64, e.axes, e.mapped)
    if e.slip == "transposed" and all_pass(probes, "transposed"):
        return diagnose.transposed(e.name, e.shape, e.grad_shape)
    return diagnose.shape(e.name, e.shape, e.grad_shape, primary, all_pass(probes, primary))


def _rounding_could_explain(e: Evidence, probes: list[Probe], primary: str) -> bool:
    """A gradient of the right shape, computed in a low precision and given as arrays,
    that failed only by what its own rounding could be (every failing probe)."""
    failing = [p for p in conclusive(probes) if not p.verdicts[primary].passed]
    return e.slip is None and bool(failing) and all(p.within_rounding for p in failing)


def _unchecked(
    e: Evidence, probes: list[Probe], undecided: bool, blurred_by: Blur
) -> Diagnosis | None:
    """Why a gradient that no probe refuted still was not checked: no probe decided, or
    rounding hid the gradient (or mistakes larger than ``checked_to`` of it); else None."""
    if undecided:
        return unchecked.no_verdict(e.name)
    blur = max((p.blur for p in conclusive(probes)), default=0.0)
    zero = e.typical > 0 and not np.any(e.grad64)
    if zero:  # all zeros: its blur against the size of the others' gradients
        entries = [p for p in conclusive(probes) if p.entry is not None]
        blur = max((p.verdicts["given"].tolerance / p.scale for p in entries), default=0.0)
        blur /= e.typical
    if blur > blurred_by.checked_to:
        return unchecked.imprecise(e.name, blur, blurred_by, zero=zero)
    return None


def _row(
    e: Evidence, primary: str, probes: list[Probe], outcome: Outcome, diagnosis: Diagnosis
) -> ParameterResult:
    """The report's row: what was probed, and the comparison that shows the outcome. A
    gradient of the wrong shape has no value at its parameter's entries (a reading after
    the fix would pass for it), so its values stay NaN and the report shows both shapes."""
    method: Literal["entries", "directions", "joint"] = (
        "joint"
        if not e.direct
        else "entries"
        if not e.joint and all(p.entry is not None for p in e.direct)
        else "directions"
    )
    worst = None if e.slip is not None else _shown(probes, primary, outcome)
    v = None if worst is None else worst.verdicts[primary]
    scale = 1.0 if worst is None else worst.scale
    nan = float("nan")  # no comparison shown, as ParameterResult's defaults
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
        worst_index=None if worst is None else worst.entry,
        analytic=nan if v is None else v.analytic / scale,
        numeric=nan if v is None else v.numeric / scale,
        error=nan if v is None else v.error / scale,
        tolerance=nan if v is None else v.tolerance / scale,
    )


def _shown(probes: list[Probe], primary: str, outcome: Outcome) -> Probe | None:
    """The probe a row shows: the worst one; for a failure the worst failing one (an
    entry if one failed: an entry says where, a direction only that something is wrong),
    so that a failed row never shows a passing comparison; ``None`` when no probe failed
    (the failure rests on other evidence, which the diagnosis says)."""
    decided = conclusive(probes) or probes
    failing = [p for p in decided if not p.verdicts[primary].passed]
    if outcome == "failed" and not failing:
        return None
    entries = [p for p in failing if p.entry is not None]
    pool = entries or (failing if outcome == "failed" else decided)
    return max(pool, key=lambda p: p.verdicts[primary].ratio)
