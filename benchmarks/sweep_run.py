"""Run one check for a sweep and record what gradcheck says; write a sweep's records."""

import json
import time
import traceback

import gradcheck


def run_check(problem, grads, check_seed):
    started = time.perf_counter()
    out = {}
    try:
        report = gradcheck.check_gradients(problem.loss, grads, problem.params, seed=check_seed)
        out.update(
            {
                "passed": bool(report.passed),
                "loss_calls": int(report.loss_calls),
                "noise": float(report.noise),
                "failed": [
                    {
                        "name": r.name,
                        "kind": r.diagnosis.kind,
                        "factor": r.diagnosis.factor,
                        "message": r.diagnosis.message,
                        "error_ratio": float(r.error_ratio),
                        "method": r.method,
                    }
                    for r in report.failed
                ],
                "methods": {name: report[name].method for name in problem.params},
                "notes": list(report.notes),
                "not_checked": [n.split(":", 1)[0] for n in report.notes if ": not checked:" in n],
                "report": str(report),
            }
        )
    except Exception as exc:  # record and carry on
        out.update(
            {
                "passed": None,
                "loss_calls": None,
                "failed": [],
                "notes": [],
                "not_checked": [],
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
            }
        )
    out["seconds"] = time.perf_counter() - started
    return out


def write_json(path, results):
    """Write ``results`` to ``path`` as JSON and say so."""
    with open(path, "w") as fh:
        json.dump(results, fh, indent=1, default=str)
    print(f"wrote {path}")
