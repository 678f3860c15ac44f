"""Run one check for a sweep and record what gradcheck says; write a sweep's records.

Every parameter ends ``passed``, ``failed`` or ``inconclusive`` (issue #14); a check's
outcome is ``failed`` if any parameter failed, else ``inconclusive`` if any is, else
``passed``. A gradcheck from before the third outcome is read as passed/failed only.
"""

import json
import time
import traceback

import gradcheck

#: Whether the gradcheck that runs has the third outcome (``report.inconclusive``).
THREE_OUTCOMES = hasattr(gradcheck.GradientReport, "inconclusive")
INTERFACE = (
    "three outcomes (result.outcome, report.inconclusive)"
    if THREE_OUTCOMES
    else "two outcomes (result.passed only; no check reads inconclusive)"
)


def outcome_of(result):
    """A parameter's outcome: the library's own, or passed/failed before it had three."""
    return getattr(result, "outcome", "passed" if result.passed else "failed")


def check_outcome(outcomes):
    """The outcome of a whole check from its parameters' outcomes."""
    for outcome in ("failed", "inconclusive"):
        if outcome in outcomes:
            return outcome
    return "passed"


def _described(result):
    return {
        "name": result.name,
        "kind": result.diagnosis.kind,
        "factor": result.diagnosis.factor,
        "message": result.diagnosis.message,
        "error_ratio": float(result.error_ratio),
        "method": result.method,
    }


def _record(report, names):
    outcomes = {r.name: outcome_of(r) for r in report}
    inconclusive = getattr(report, "inconclusive", ())
    return {
        "passed": bool(report.passed),
        "outcome": check_outcome(outcomes.values()),
        "outcomes": outcomes,
        "inconclusive": [r.name for r in inconclusive],
        "inconclusive_why": {r.name: r.diagnosis.message for r in inconclusive},
        "loss_calls": int(report.loss_calls),
        "noise": float(report.noise),
        "failed": [_described(r) for r in report.failed],
        "methods": {name: report[name].method for name in names},
        "notes": list(report.notes),
        "not_checked": [n.split(":", 1)[0] for n in report.notes if ": not checked:" in n],
        "report": str(report),
    }


def run_check(problem, grads, check_seed):
    started = time.perf_counter()
    try:
        report = gradcheck.check_gradients(problem.loss, grads, problem.params, seed=check_seed)
        out = _record(report, problem.params)
    except Exception as exc:  # record and carry on
        out = {
            "passed": None,
            "outcome": None,
            "inconclusive": [],
            "loss_calls": None,
            "failed": [],
            "notes": [],
            "not_checked": [],
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }
    out["seconds"] = time.perf_counter() - started
    return out


def write_json(path, results):
    """Write ``results`` to ``path`` as JSON and say so."""
    with open(path, "w") as fh:
        json.dump(results, fh, indent=1, default=str)
    print(f"wrote {path}")
