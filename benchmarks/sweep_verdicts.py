"""Sweep gradcheck.check_gradients over the reference nets: false alarms on correct
gradients (float32 and float64) and missed bugs on injected gradient mistakes.

Not part of ``make test``: ``make sweep`` runs this and ``sweep_multi.py`` (about 2.5
minutes in all). Usage:

    .venv/bin/python benchmarks/sweep_verdicts.py [--out result.json] [--quick]

``--quick`` is a deterministic ~10% subset. To measure another checkout of gradcheck
(a worktree with a change), put it first: ``PYTHONPATH=/path/to/worktree``; the file of
the ``gradcheck`` that ran is printed first. ``reference_nets`` and ``tests`` come from
the same place if present there, else from this checkout. Everything is seeded: two runs
against the same code give the same records.
"""

# sweep_env first: one BLAS thread, this checkout on sys.path, which gradcheck runs.
import sweep_env  # noqa: F401

# isort: split
import argparse
import time

import numpy as np
from sweep_bugs import inject
from sweep_problems import Problem, size_label
from sweep_run import run_check, write_json
from sweep_specs import bug_specs, correct_specs
from sweep_summary import print_summary, summarise

import gradcheck
import reference_nets


def base_record(spec, problem):
    return {
        "net": spec["net"] + ("_trained" if spec.get("state") == "trained" else ""),
        "layout": spec["layout"],
        "dtype": spec["dtype"],
        "size": size_label(spec["net"], spec["sizes"]),
        "sizes": spec["sizes"],
        "problem_seed": spec["problem_seed"],
        "check_seed": spec["check_seed"],
        "reg": spec.get("reg", 0.0),
        "scale": spec.get("scale"),
        "state": spec.get("state"),
        "grad_dtypes": sorted({str(np.asarray(v).dtype) for v in problem.grads().values()}),
    }


def check_correct(spec):
    """The record of one check of correct gradients."""
    problem = Problem(spec)
    rec = base_record(spec, problem)
    rec.update(run_check(problem, problem.grads(), spec["check_seed"]))
    return rec


def check_bug(spec):
    """The record of one check of gradients with a bug injected (or why it was skipped)."""
    problem = Problem(spec)
    rec = base_record(spec, problem)
    rec["bug"] = spec["bug"]
    rec["bug_seed"] = spec["bug_seed"]
    grads, info = inject(
        spec["bug"], problem, problem.grads(), np.random.default_rng(spec["bug_seed"])
    )
    if grads is None:
        rec.update({"skipped": info})
        return rec
    rec["bug_info"] = info
    rec.update(run_check(problem, grads, spec["check_seed"]))
    rec["caught"] = rec["passed"] is False
    failed_names = {f["name"] for f in rec["failed"]}
    rec["target_flagged"] = bool(failed_names & set(info["targets"]))
    return rec


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write every record to this JSON file")
    parser.add_argument("--quick", action="store_true", help="a ~10%% subset")
    args = parser.parse_args()
    t0 = time.perf_counter()

    cspecs, bspecs = correct_specs(), bug_specs()
    if args.quick:
        cspecs, bspecs = cspecs[::10], bspecs[::10]
    correct = [check_correct(spec) for spec in cspecs]
    t_correct = time.perf_counter() - t0
    bugs = [check_bug(spec) for spec in bspecs]
    runtime = time.perf_counter() - t0

    summary = summarise(correct, bugs)
    summary["runtime_s"] = runtime
    summary["runtime_correct_s"] = t_correct
    print_summary(summary, correct, bugs)
    if args.out:
        write_json(
            args.out,
            {
                "gradcheck_file": gradcheck.__file__,
                "reference_nets_file": reference_nets.__file__,
                "quick": args.quick,
                "numpy": np.__version__,
                "summary": summary,
                "correct": correct,
                "bugs": bugs,
            },
        )
    print(f"runtime {runtime:.1f} s (correct {t_correct:.1f} s, bugs {runtime - t_correct:.1f} s)")


if __name__ == "__main__":
    main()
