"""Inject bugs into TWO OR THREE large parameters at once (errors that may cancel in a
joint probe) on the forum ReLU net and the three-layer sigmoid net, and count the bugs
caught (a parameter failed), inconclusive (none failed, not all passed) and missed (all
passed); an inconclusive bug is neither caught nor missed.

Not part of ``make test`` (``make sweep`` runs it). Usage:

    .venv/bin/python benchmarks/sweep_multi.py [--out result.json] [--quick]
    ... --compare other.json    # also list cases whose outcome differs between two runs

Whatever ``gradcheck`` is first on sys.path is measured (its file is printed first; see
``sweep_verdicts.py`` for measuring a worktree). The bug kinds are described in
``sweep_multi_bugs.py``. Everything is seeded: two runs against the same code give the same
records.
"""

# sweep_env first: one BLAS thread, this checkout on sys.path, which gradcheck runs.
import sweep_env  # noqa: F401

# isort: split
import argparse
import json
import time
from collections import defaultdict

import numpy as np
from sweep_multi_bugs import inject
from sweep_problems import Problem, size_label
from sweep_run import INTERFACE, run_check, write_json
from sweep_specs import LAYOUTS, SIGMOID_SIZES
from sweep_summary import count_bug, outcome, print_missed

import gradcheck

# ----------------------------------------------------------------------------- specs

SIG_SIZES = [SIGMOID_SIZES[5], SIGMOID_SIZES[3]]  # N128 D30 H50x40 O10, N200 D20 H32x32 O4

KINDS = (
    "a_opposite",
    "b_double_zero",
    "c_negate_x3",
    "d_slip_largest",
    "e_noise20",
    "f_entry_pm50",
    "g_global",
    "h_swap_two",
    "a2_exact",
    "d2_exact_largest",
)
PER_KIND = 80
PER_KIND_EXTRA = {"a2_exact": 60, "d2_exact_largest": 60}
PAIR_OR_TRIPLE = {"a_opposite", "b_double_zero", "c_negate_x3", "a2_exact"}


def problem_pool():
    pool = []
    for hidden in (100, 1000):
        for state in ("init", "trained"):
            for layout in LAYOUTS:
                pool.append(
                    {
                        "net": "forum_relu",
                        "state": state,
                        "layout": layout,
                        "sizes": {"hidden": hidden},
                        "problem_seed": 0 if state == "init" else 1,
                        "reg": 0.0 if state == "init" else 1e-3,
                    }
                )
    for i, sizes in enumerate(SIG_SIZES):
        for pseed, scale in ((900 + i, 1.0), (910 + i, 3.0)):
            for layout in LAYOUTS:
                pool.append(
                    {
                        "net": "three_layer_sigmoid",
                        "layout": layout,
                        "sizes": sizes,
                        "problem_seed": pseed,
                        "scale": scale,
                        "reg": 0.0,
                    }
                )
    return pool  # 8 forum + 8 sigmoid


def specs():
    pool = problem_pool()
    rng = np.random.default_rng(4242)
    out = []
    for kind in KINDS:
        for j in range(PER_KIND_EXTRA.get(kind, PER_KIND)):
            spec = dict(pool[j % len(pool)])
            rnd = j // len(pool)  # 0..4
            spec.update(
                {
                    "id": f"{kind}#{j}",
                    "bug": kind,
                    "dtype": "float32" if (rnd + j) % 4 == 3 else "float64",
                    "check_seed": int(rng.integers(0, 2**31 - 1)),
                    "bug_seed": int(rng.integers(0, 2**31 - 1)),
                }
            )
            if kind == "a_opposite":
                spec["r"] = (0.2, 0.5, 1.0)[(j + rnd) % 3]
            if kind == "a2_exact":
                spec["u"] = (0.2, 0.5)[(j // 2 + rnd) % 2]
            if kind == "g_global":
                spec["factor"] = (1.1, 0.9)[(j + rnd) % 2]
            spec["n_targets"] = 3 if (kind in PAIR_OR_TRIPLE and (j + rnd) % 2) else 2
            out.append(spec)
    return out


# ----------------------------------------------------------------------------- running


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write every record to this JSON file")
    parser.add_argument("--quick", action="store_true", help="a ~10%% subset")
    parser.add_argument("--compare", help="another output of this script")
    args = parser.parse_args()
    print(f"gradcheck interface: {INTERFACE}", flush=True)
    t0 = time.perf_counter()

    todo = specs()
    if args.quick:
        todo = todo[::10]
    records = []
    for spec in todo:
        problem = Problem(spec)
        rec = {k: v for k, v in spec.items() if k != "sizes"}
        rec["net"] = spec["net"] + ("_trained" if spec.get("state") == "trained" else "")
        rec["size"] = size_label(spec["net"], spec["sizes"])
        grads, info = inject(spec, problem, problem.grads())
        if grads is None:
            rec["skipped"] = info
            records.append(rec)
            continue
        rec["bug_info"] = info
        rec.update(run_check(problem, grads, spec["check_seed"]))
        failed = {f["name"] for f in rec["failed"]}
        targets = set(info["targets"])
        rec["caught"] = outcome(rec) == "failed"
        rec["all_targets_flagged"] = targets <= failed
        rec["unflagged_targets"] = sorted(targets - failed)
        rec["false_attributions"] = sorted(failed - targets)
        records.append(rec)
    runtime = time.perf_counter() - t0

    summary = summarise(records)
    summary["runtime_s"] = runtime
    print_summary(summary, records)
    if args.out:
        write_json(
            args.out,
            {
                "gradcheck_file": gradcheck.__file__,
                "interface": INTERFACE,
                "quick": args.quick,
                "numpy": np.__version__,
                "summary": summary,
                "records": records,
            },
        )
    print(f"runtime {runtime:.1f} s")
    if args.compare:
        compare(records, args.out or "this run", args.compare)


def variant(r):
    v = r["bug"]
    if "r" in r:
        v += f" r={r['r']}"
    if "u" in r:
        v += f" u={r['u']}"
    if "factor" in r:
        v += f" x{r['factor']}"
    if r["bug"] in PAIR_OR_TRIPLE:
        v += " pair" if r["n_targets"] == 2 else " triple"
    return v


def summarise(records):
    keys = defaultdict(
        lambda: {
            "total": 0,
            "caught": 0,
            "inconclusive": 0,
            "missed": 0,
            "all_flagged": 0,
            "caught_some_target_unflagged": 0,
            "false_attr": 0,
            "skipped": 0,
            "errors": 0,
        }
    )
    for r in records:
        for key in dict.fromkeys(
            (r["bug"], variant(r), f"{r['bug']} | {r['net']}", f"{r['bug']} | {r['dtype']}", "ALL")
        ):
            c = keys[key]
            if not count_bug(c, r):
                continue
            c["all_flagged"] += r["all_targets_flagged"]
            c["caught_some_target_unflagged"] += r["caught"] and not r["all_targets_flagged"]
            c["false_attr"] += bool(r["false_attributions"])
    return {
        "by": dict(sorted(keys.items())),
        "total_checks": sum("skipped" not in r for r in records),
        "missed": sum(outcome(r) == "passed" for r in records),
        "inconclusive": sum(outcome(r) == "inconclusive" for r in records),
    }


def describe(r):
    info = {k: v for k, v in r["bug_info"].items() if k != "targets"} if "bug_info" in r else {}
    return (
        f"{r['id']} {variant(r)} on {r.get('bug_info', {}).get('targets')}: {r['net']} "
        f"{r['layout']} {r['dtype']} {r['size']} reg={r['reg']} scale={r.get('scale')} "
        f"pseed={r['problem_seed']} cseed={r['check_seed']} bseed={r['bug_seed']} {info}"
    )


def print_summary(s, records):
    print(
        "\n== caught/inconclusive/missed of total | all bugged params flagged | caught but a "
        "bugged param passed | cases with a correct param flagged =="
    )
    for k, v in s["by"].items():
        print(
            f"{k:44s} {v['caught']:>3d}/{v['inconclusive']}/{v['missed']} of {v['total']:<3d}"
            f" all-flagged {v['all_flagged']:>3d}"
            f"  target-unflagged {v['caught_some_target_unflagged']:>3d}"
            f"  false-attr {v['false_attr']:>3d}"
            + (f" skipped {v['skipped']}" if v["skipped"] else "")
            + (f" errors {v['errors']}" if v["errors"] else "")
        )
    print(f"missed: {s['missed']}, inconclusive: {s['inconclusive']} / {s['total_checks']}")
    print_missed(records, describe)
    print("\n== caught, but a bugged parameter passed ==")
    for r in records:
        if r.get("caught") and not r["all_targets_flagged"]:
            what = "; ".join(f"{f['name']}={f['kind']}" for f in r["failed"])
            print(f"- {describe(r)}: unflagged {r['unflagged_targets']}; failed {what}")
    print("\n== a correct parameter flagged ==")
    for r in records:
        if r.get("false_attributions"):
            what = "; ".join(f"{f['name']}={f['kind']}" for f in r["failed"])
            print(f"- {describe(r)}: wrongly {r['false_attributions']}; failed {what}")


def compare(records, this_name, other_path):
    with open(other_path) as fh:
        other = {r["id"]: r for r in json.load(fh)["records"]}
    print(f"\n== outcome differs between runs ({this_name} vs {other_path}) ==")
    for r in records:
        o = other.get(r["id"])
        if o is None or "skipped" in r or "skipped" in o:
            continue
        if outcome(r) != outcome(o):
            print(f"- {outcome(r)} in {this_name}, {outcome(o)} in {other_path}: {describe(r)}")


if __name__ == "__main__":
    main()
