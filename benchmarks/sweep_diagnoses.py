"""Sweep the diagnoses of failing gradients (issue #17): how many end as a plain "mismatch",
and whether any other diagnosis contradicts the mutant's known cause.

Mutants: the float64 one-parameter bugs of the reference nets, built exactly as
``sweep_verdicts.py`` builds them (``sweep_specs.bug_specs``, ``sweep_bugs.inject``), and
every planted bug of the test layer family (``tests/layers/cases.PLANTED_BUGS``, read when the
sweep starts) at seeds 0, 1 and 2, checked as ``tests/test_layer_family.py`` checks them.
Then independent noise in every pair of a test layer's gradients (``sweep_independent.py``):
no shared cause, so any ``upstream`` there is a wrong diagnosis.

For every gradient that failed: "plain" when its diagnosis is "mismatch" (it claims nothing),
"right" when its kind is allowed for the mutant's cause (``ALLOWED``, or ``bug.failing`` for a
planted bug), "wrong" otherwise, and "false alarm" when the parameter was not touched by the
bug. A touched parameter that passed is a miss. Targets are the parameters whose gradient the
bug changed (``scaled_by_N`` leaves an all-zero gradient as it is).

Not part of ``make test`` (``make sweep`` runs it). Usage:

    .venv/bin/python benchmarks/sweep_diagnoses.py [--out result.json] [--quick]
    ... --gradcheck /path/to/old/worktree   # an older gradcheck on today's mutants

``--gradcheck DIR`` imports only ``gradcheck`` from DIR; ``reference_nets`` and ``tests``
(the mutants) still come from this checkout. ``--quick`` is a deterministic subset (every
fifth reference mutant, layer bugs at seed 0). Everything is seeded. Exit status 0: it is a
measurement.
"""

import sys


def _old_gradcheck_first():
    """Import ``gradcheck`` from the DIR of ``--gradcheck DIR`` before anything else imports
    it, then take DIR off sys.path so that the mutants come from this checkout."""
    argv = sys.argv[1:]
    dirs = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--gradcheck"]
    dirs += [a.split("=", 1)[1] for a in argv if a.startswith("--gradcheck=")]
    if dirs:
        sys.path.insert(0, dirs[-1])
        import gradcheck  # noqa: F401

        sys.path.remove(dirs[-1])


_old_gradcheck_first()

# sweep_env next: one BLAS thread, this checkout on sys.path, which gradcheck runs.
import sweep_env  # noqa: E402, F401

# isort: split
import argparse  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402

import numpy as np  # noqa: E402
from sweep_bugs import inject  # noqa: E402
from sweep_independent import check_independent, print_independent  # noqa: E402
from sweep_problems import Problem, size_label  # noqa: E402
from sweep_run import outcome_of, run_check, write_json  # noqa: E402
from sweep_specs import bug_specs  # noqa: E402

import gradcheck  # noqa: E402
import reference_nets  # noqa: E402
import tests  # noqa: E402
from tests.layers.cases import LAYERS, LOSSES, PLANTED_BUGS  # noqa: E402

SEEDS = (0, 1, 2)

#: Reference bug kind -> (kinds always right, kinds right only when the wrong gradient is
#: exactly that, why). "mismatch" is never wrong; it is counted as plain.
ALLOWED = {
    "scaled_by_N": ({"scaled"}, (), "every gradient times the batch size: one scale"),
    "negated": ({"negated"}, (), "one parameter's gradient with its sign flipped"),
    "transposed": ({"transposed"}, (), "a square weight's gradient transposed"),
    "missing_reg": ({"regularisation"}, (), "the weights' reg * W term left out"),
    "slip20_largest": (
        {"confined"},
        ("scaled",),
        "one entry 20% off; a scale only when it is the gradient's one nonzero entry",
    ),
    "entry_plus50": (
        {"confined"},
        ("scaled",),
        "one entry 50% off; a scale only when it is the gradient's one nonzero entry",
    ),
    "swap_two": (
        {"rearranged", "confined"},
        ("negated",),
        "two entries exchanged; a sign flip only when they are all there is and opposite",
    ),
    "zero_hidden_unit": (
        {"confined"},
        ("zero",),
        "one unit's row/column zeroed; all zero only when the rest was zero already",
    ),
}


def _same(a, b):
    """Equal up to float64 rounding of the largest entry (opposite entries of a softmax
    bias gradient cancel to ~1e-14, not to 0)."""
    return np.abs(a - b).max() <= 1e-12 * np.abs(b).max()


def exact_kinds(correct, buggy):
    """The kinds that are literally true of ``buggy`` against ``correct`` (the conditional
    kinds of ALLOWED): a multiple of it, its negation, all zero."""
    correct, buggy = np.asarray(correct, np.float64), np.asarray(buggy, np.float64)
    if not np.any(correct):
        return set()
    kinds = set() if np.any(buggy) else {"zero"}
    if _same(buggy, -correct):
        kinds.add("negated")
    c = float(np.vdot(correct, buggy) / np.vdot(correct, correct))
    if c not in (0.0, 1.0) and _same(buggy, c * correct):
        kinds.add("scaled")
    return kinds


def reference_mutants(quick):
    """The float64 one-parameter bugs of sweep_verdicts.py, as gradients given as arrays."""
    specs = [s for s in bug_specs() if s["dtype"] == "float64"]
    per_kind = Counter()
    for spec in specs:
        per_kind[spec["bug"]] += 1
        spec["id"] = f"{spec['bug']}#{per_kind[spec['bug']] - 1}"
    return specs[::5] if quick else specs


def check_reference(spec):
    """One reference mutant: its check's record and, per target, the kinds that are right."""
    problem = Problem(spec)
    correct = problem.grads()
    grads, info = inject(spec["bug"], problem, correct, np.random.default_rng(spec["bug_seed"]))
    net = spec["net"] + ("_trained" if spec.get("state") == "trained" else "")
    head = {
        "mutant": f"{spec['id']} {net} {spec['layout']} {size_label(spec['net'], spec['sizes'])}",
        "source": "reference",
        "cause": spec["bug"],
    }
    if grads is None:
        return dict(head, skipped=info)
    always, conditional, _ = ALLOWED[spec["bug"]]
    allowed = {
        name: sorted(always | (exact_kinds(correct[name], grads[name]) & set(conditional)))
        for name in info["targets"]
        if not np.array_equal(grads[name], correct[name])
    }
    return dict(
        head, bug_info=info, allowed=allowed, **run_check(problem, grads, spec["check_seed"])
    )


def check_planted(bug, seed):
    """One planted layer bug at ``seed``, checked as tests/test_layer_family.py checks it."""
    head = {"mutant": f"{bug.id} seed {seed}", "source": "layer", "cause": bug.wrong.__name__}
    allowed = {name: [kind] for name, kind in bug.failing.items()}
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    try:
        if bug.layer in LOSSES:
            x, *data = LOSSES[bug.layer].make_inputs(rng)
            report = gradcheck.check_gradients(lambda x: bug.wrong(x, *data), None, x, seed=seed)
        else:
            case = LAYERS[bug.layer]
            inputs = case.make_inputs(rng)
            report = gradcheck.check_layer(
                case.forward, bug.wrong, *inputs, seed=seed, **case.options
            )
    except Exception as exc:  # record and carry on
        return dict(head, allowed=allowed, error=f"{type(exc).__name__}: {exc}")
    failed = [
        {"name": r.name, "kind": r.diagnosis.kind, "message": r.diagnosis.message}
        for r in report.failed
    ]
    return dict(
        head,
        allowed=allowed,
        outcomes={r.name: outcome_of(r) for r in report},
        failed=failed,
        loss_calls=int(report.loss_calls),
        seconds=time.perf_counter() - started,
    )


def judge(mutant):
    """One record per failed gradient, with its verdict; and the mutant's missed targets."""
    allowed = mutant["allowed"]
    records = []
    for f in mutant.get("failed", []):
        if f["name"] not in allowed:
            verdict = "false alarm"
        elif f["kind"] == "mismatch":
            verdict = "plain"
        else:
            verdict = "right" if f["kind"] in allowed[f["name"]] else "wrong"
        records.append(
            {
                "mutant": mutant["mutant"],
                "source": mutant["source"],
                "cause": mutant["cause"],
                "parameter": f["name"],
                "kind": f["kind"],
                "message": f["message"],
                "loss_calls": mutant["loss_calls"],
                "allowed": allowed.get(f["name"], []),
                "verdict": verdict,
            }
        )
    outcomes = mutant.get("outcomes", {})
    missed = [n for n in allowed if outcomes.get(n) == "passed"]
    unsure = [n for n in allowed if outcomes.get(n) == "inconclusive"]
    return records, missed, unsure


def summarise(mutants):
    """Counts per source and cause, the totals, and every wrong, false-alarm and miss."""
    rows = defaultdict(lambda: {"failing": 0, "plain": 0, "kinds": Counter(), "wrong": 0})
    records, wrong, alarms, misses, unsure, errors = [], [], [], [], [], []
    for m in mutants:
        if "skipped" in m:
            continue
        if "error" in m:
            errors.append(f"{m['mutant']}: {m['error']}")
            continue
        recs, missed, inconclusive = judge(m)
        records += recs
        misses += [f"{m['mutant']}: {name} passed" for name in missed]
        unsure += [f"{m['mutant']}: {name} inconclusive" for name in inconclusive]
        for r in recs:
            # Each cause's row, and its source's "(all)" row ("(" sorts before the causes).
            for row in (rows[(r["source"], r["cause"])], rows[(r["source"], "(all)")]):
                row["failing"] += 1
                row["plain"] += r["verdict"] == "plain"
                row["wrong"] += r["verdict"] == "wrong"
                if r["kind"] != "mismatch":
                    row["kinds"][r["kind"]] += 1
            line = f"{r['mutant']}: {r['parameter']} {r['kind']} (allowed {r['allowed']})"
            line += f" - {r['message']}"
            wrong += [line] if r["verdict"] == "wrong" else []
            alarms += [line] if r["verdict"] == "false alarm" else []
    failing = len(records)
    plain = sum(r["verdict"] == "plain" for r in records)
    summary = {
        "by_cause": {f"{s} | {c}": dict(v, kinds=dict(v["kinds"])) for (s, c), v in rows.items()},
        "mutants": len(mutants),
        "skipped": sum("skipped" in m for m in mutants),
        "failing": failing,
        "plain_mismatch": plain,
        "plain_share": plain / failing if failing else None,
        "wrong": wrong,
        "false_alarms": alarms,
        "misses": misses,
        "inconclusive_targets": unsure,
        "errors": errors,
    }
    return summary, records


def print_summary(s):
    print(f"\n{'source | cause':52s} {'failing':>7s} {'plain':>5s} {'share':>6s} {'wrong':>5s}")
    for key, v in sorted(s["by_cause"].items()):
        share = f"{v['plain'] / v['failing']:.0%}" if v["failing"] else "-"
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(v["kinds"].items()))
        print(
            f"{key:52s} {v['failing']:>7d} {v['plain']:>5d} {share:>6s} {v['wrong']:>5d}  {kinds}"
        )
    share = f"{s['plain_share']:.0%}" if s["failing"] else "-"
    print(
        f"\nplain mismatch: {s['plain_mismatch']} of {s['failing']} failing gradients ({share})"
        f" - target under 20%  ({s['mutants']} mutants, {s['skipped']} skipped)"
    )
    for title, key in (
        ("wrong diagnoses", "wrong"),
        ("false alarms (a parameter the bug did not touch failed)", "false_alarms"),
        ("misses (a parameter the bug touched passed)", "misses"),
        ("inconclusive targets", "inconclusive_targets"),
    ):
        print(f"{title}: {len(s[key])}")
        for line in s[key]:
            print(f"- {line}")
    # A gradcheck in the middle of a change can fail every check the same way: one line each.
    raised = Counter(line.split(": ", 1)[1] for line in s["errors"])
    print(f"checks that raised: {len(s['errors'])}")
    for error, count in raised.most_common():
        first = next(line.split(": ", 1)[0] for line in s["errors"] if line.endswith(error))
        print(f"- {count} x {error} (first: {first})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write every record and the summary to this JSON")
    parser.add_argument("--quick", action="store_true", help="a deterministic subset")
    parser.add_argument("--gradcheck", metavar="DIR", help="import gradcheck from DIR")
    args = parser.parse_args()
    print(f"tests.__file__ = {tests.__file__}", flush=True)
    t0 = time.perf_counter()
    mutants = [check_reference(spec) for spec in reference_mutants(args.quick)]
    t_reference = time.perf_counter() - t0
    seeds = SEEDS[:1] if args.quick else SEEDS
    mutants += [check_planted(bug, seed) for bug in PLANTED_BUGS for seed in seeds]
    summary, records = summarise(mutants)
    independent = check_independent(seeds)
    runtime = time.perf_counter() - t0
    summary.update(runtime_s=runtime, runtime_reference_s=t_reference, independent=independent)
    print_summary(summary)
    print_independent(independent)
    if args.out:
        write_json(
            args.out,
            {
                "gradcheck_file": gradcheck.__file__,
                "reference_nets_file": reference_nets.__file__,
                "tests_file": tests.__file__,
                "quick": args.quick,
                "allowed": {k: [sorted(a), list(c), why] for k, (a, c, why) in ALLOWED.items()},
                "summary": summary,
                "records": records,
                "mutants": mutants,
            },
        )
    print(f"runtime {runtime:.1f} s (reference {t_reference:.1f} s)")


if __name__ == "__main__":
    main()
