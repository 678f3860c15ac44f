"""Sweep gradcheck.check_gradients over the reference nets: false alarms and unchecked
(inconclusive) verdicts on correct gradients, and bugs caught, inconclusive or missed on
injected gradient mistakes, in float64, float32 and (a subset) float16.

For each float16 bug, ``grad_rounding`` says how accurate the float16 gradient itself is
(max |g16 - g64| / max |g64| per targeted parameter, g64 in float64 at the same point) and
``bug_size`` how big the bug is on that scale; ``in_reach`` marks the bugs above 10% of a
gradient accurate to better than 10%, which a float16 check is expected to catch.

float16 checks run twice: gradients given as arrays, and as a function of the parameters
(``grads_as``: "function"; gradcheck may run it on float64 copies), where the function puts
the same bug (the same parameter, entries, unit) into the net's gradients wherever it is
called.

Not part of ``make test``: ``make sweep`` runs this and ``sweep_multi.py`` (about 3
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
from functools import partial

import numpy as np
from sweep_bugs import inject, replay
from sweep_problems import Problem, size_label
from sweep_run import INTERFACE, run_check, write_json
from sweep_specs import both_ways, bug_specs, correct_specs
from sweep_summary import outcome, print_summary, summarise

import gradcheck
import reference_nets


def base_record(spec, problem):
    return {
        "net": spec["net"] + ("_trained" if spec.get("state") == "trained" else ""),
        "layout": spec["layout"],
        "dtype": spec["dtype"],
        "grads_as": spec["grads_as"],
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
    as_function = spec["grads_as"] == "function"
    grads = problem.grads_function() if as_function else problem.grads()
    rec.update(run_check(problem, grads, spec["check_seed"]))
    return rec


def _relative(diff, scale):
    return float(f"{np.abs(diff).max() / scale:.3g}") if scale > 0 else None


def float16_accuracy(problem, correct, buggy, targets):
    """Per targeted parameter: ``grad_rounding``, max |g16 - g64| / max |g64| with g64 the
    gradient in float64 at the same params and data; ``bug_size``, max |bug - g16| on that
    scale; and ``in_reach``: a bug above 10% of a gradient accurate to better than 10%."""
    exact = problem.grads_float64()
    rounding, size = {}, {}
    for name in targets:
        g16 = np.asarray(correct[name], np.float64)
        scale = float(np.abs(exact[name]).max())
        rounding[name] = _relative(g16 - exact[name], scale)
        size[name] = _relative(np.asarray(buggy[name], np.float64) - g16, scale)
    reach = any(size[n] is not None and size[n] > 0.1 and rounding[n] < 0.1 for n in targets)
    return {"grad_rounding": rounding, "bug_size": size, "in_reach": reach}


def check_bug(spec):
    """The record of one check of gradients with a bug injected (or why it was skipped)."""
    problem = Problem(spec)
    rec = base_record(spec, problem)
    rec["bug"] = spec["bug"]
    rec["bug_seed"] = spec["bug_seed"]
    correct = problem.grads()
    grads, info = inject(spec["bug"], problem, correct, np.random.default_rng(spec["bug_seed"]))
    if grads is None:
        rec.update({"skipped": info})
        return rec
    rec["bug_info"] = info
    if spec["dtype"] == "float16":
        rec.update(float16_accuracy(problem, correct, grads, info["targets"]))
    if spec["grads_as"] == "function":
        grads = problem.grads_function(partial(replay, spec["bug"], info, problem))
    rec.update(run_check(problem, grads, spec["check_seed"]))
    rec["caught"] = outcome(rec) == "failed"
    failed_names = {f["name"] for f in rec["failed"]}
    rec["target_flagged"] = bool(failed_names & set(info["targets"]))
    return rec


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write every record to this JSON file")
    parser.add_argument("--quick", action="store_true", help="a ~10%% subset")
    args = parser.parse_args()
    print(f"gradcheck interface: {INTERFACE}", flush=True)
    t0 = time.perf_counter()

    cspecs, bspecs = correct_specs(), bug_specs()
    if args.quick:
        cspecs, bspecs = cspecs[::10], bspecs[::10]
    cspecs, bspecs = both_ways(cspecs), both_ways(bspecs)
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
                "interface": INTERFACE,
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
