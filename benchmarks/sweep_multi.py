"""Inject bugs into TWO OR THREE large parameters at once (errors that may cancel in a
joint probe) on the forum ReLU net and the three-layer sigmoid net, and count catches.

Not part of ``make test`` (``make sweep`` runs it). Usage:

    .venv/bin/python tests/benchmarks/sweep_multi.py [--out result.json] [--quick]
    ... --compare other.json    # also list cases caught in one run but missed in the other

Whatever ``gradcheck`` is first on sys.path is measured (its file is printed first; see
``sweep_verdicts.py`` for measuring a worktree). Problem builders (Problem, ForumNet,
training) come from ``sweep_verdicts.py``. Everything is seeded: two runs against the
same code give the same records.

Bug kinds (targets drawn from the large parameters: forum W1, b1, W2; sigmoid W1, W2, W3):
  a_opposite_r{0.2,0.5,1.0}: pair x(1+r), x(1-r); triple x(1+r), x(1-r/2), x(1-r/2)
  b_double_zero: pair x2, x0; triple x3, x0, x0
  c_negate_x3:   pair x(-1), x3; triple x(-1), x2, x2
  d_slip_largest: largest entry of each of two params x1.2 and x0.8
  e_noise20:     every entry of two params x(1 + 0.2 z), z ~ N(0, 1) independent
  f_entry_pm50:  one random nonzero entry +50% in one param, one -50% in another
  g_global:      every gradient (all params, small ones too) x1.1 or x0.9
  h_swap_two:    swap two random (unequal) entries in each of two params
  a2_exact:      like a, but cancelling exactly in a joint probe weighted by the GIVEN
                 gradient (gradcheck._joint.equal_shares): true/given = 1-u and 1+u, i.e.
                 pair x1/(1-u), x1/(1+u); triple x1/(1-u), x1/(1+u/2), x1/(1+u/2); u in {0.2, 0.5}
  d2_exact_largest: like d, largest entries x1/0.8 and x1/1.2 (true/given = 0.8 and 1.2)
In every pair/triple variant the relative errors sum to zero (they cancel exactly in a
joint probe through the largest entries, when each piece is weighted to an equal share).
"""

# sweep_verdicts first: it pins BLAS to one thread before numpy loads, puts this checkout on
# sys.path after any worktree given in PYTHONPATH, and prints which gradcheck runs.
from sweep_verdicts import (
    LAYOUTS,
    SIGMOID_SIZES,
    Problem,
    run_check,
    size_label,
)

# isort: split
import argparse
import json
import time
from collections import defaultdict

import numpy as np

import gradcheck

# ----------------------------------------------------------------------------- specs

LARGE = {"forum_relu": ("W1", "b1", "W2"), "three_layer_sigmoid": ("W1", "W2", "W3")}
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


# ----------------------------------------------------------------------------- bugs


def _random_nonzero(v, rng):
    flat = np.flatnonzero(v)
    return int(flat[int(rng.integers(len(flat)))])


def inject(spec, problem, grads):
    rng = np.random.default_rng(spec["bug_seed"])
    g = {k: np.array(v, copy=True) for k, v in grads.items()}
    kind = spec["bug"]
    info = {}
    if kind == "g_global":
        f = spec["factor"]
        for k in g:
            g[k] = (g[k] * f).astype(g[k].dtype)
        return g, {"targets": list(g), "factor": f}
    large = [n for n in LARGE[spec["net"]] if np.any(g[n] != 0)]
    n = spec["n_targets"]
    if len(large) < n:
        return None, f"only {len(large)} large params with nonzero gradient"
    targets = [large[i] for i in rng.permutation(len(large))[:n]]
    info["targets"] = targets

    def scale(name, f):
        g[name] = (g[name].astype(np.float64) * f).astype(g[name].dtype)

    if kind in ("a_opposite", "b_double_zero", "c_negate_x3", "a2_exact"):
        if kind == "a2_exact":
            u = spec["u"]
            factors = (
                [1 / (1 - u), 1 / (1 + u)]
                if n == 2
                else [1 / (1 - u), 1 / (1 + u / 2), 1 / (1 + u / 2)]
            )
        elif kind == "a_opposite":
            r = spec["r"]
            factors = [1 + r, 1 - r] if n == 2 else [1 + r, 1 - r / 2, 1 - r / 2]
        elif kind == "b_double_zero":
            factors = [2.0, 0.0] if n == 2 else [3.0, 0.0, 0.0]
        else:
            factors = [-1.0, 3.0] if n == 2 else [-1.0, 2.0, 2.0]
        for name, f in zip(targets, factors, strict=True):
            scale(name, f)
        info["factors"] = dict(zip(targets, factors, strict=True))
    elif kind in ("d_slip_largest", "d2_exact_largest"):
        info["index"] = {}
        fs = (1.2, 0.8) if kind == "d_slip_largest" else (1 / 0.8, 1 / 1.2)
        for name, f in zip(targets, fs, strict=True):
            v = g[name].reshape(-1)
            k = int(np.argmax(np.abs(v)))
            v[k] = v[k] * f
            info["index"][name] = k
        info["factors"] = dict(zip(targets, fs, strict=True))
    elif kind == "e_noise20":
        for name in targets:
            z = rng.standard_normal(g[name].shape)
            g[name] = (g[name].astype(np.float64) * (1 + 0.2 * z)).astype(g[name].dtype)
    elif kind == "f_entry_pm50":
        info["index"], info["entry_rel_to_max"] = {}, {}
        for name, f in zip(targets, (1.5, 0.5), strict=True):
            v = g[name].reshape(-1)
            k = _random_nonzero(v, rng)
            info["index"][name] = k
            info["entry_rel_to_max"][name] = float(abs(v[k]) / np.abs(v).max())
            v[k] = v[k] * f
    elif kind == "h_swap_two":
        info["flat_indices"], info["diff_rel_to_max"] = {}, {}
        for name in targets:
            v = g[name].reshape(-1)
            for _ in range(100):
                i, k = (int(x) for x in rng.choice(v.size, size=2, replace=False))
                if v[i] != v[k]:
                    break
            else:
                return None, f"all entries of {name} equal"
            info["flat_indices"][name] = [i, k]
            info["diff_rel_to_max"][name] = float(abs(v[i] - v[k]) / np.abs(v).max())
            v[i], v[k] = v[k], v[i]
    else:
        raise ValueError(kind)
    return g, info


# ----------------------------------------------------------------------------- running


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write every record to this JSON file")
    parser.add_argument("--quick", action="store_true", help="a ~10%% subset")
    parser.add_argument("--compare", help="another output of this script")
    args = parser.parse_args()
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
        rec["caught"] = rec["passed"] is False
        rec["all_targets_flagged"] = targets <= failed
        rec["unflagged_targets"] = sorted(targets - failed)
        rec["false_attributions"] = sorted(failed - targets)
        records.append(rec)
    runtime = time.perf_counter() - t0

    summary = summarise(records)
    summary["runtime_s"] = runtime
    print_summary(summary, records)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(
                {
                    "gradcheck_file": gradcheck.__file__,
                    "quick": args.quick,
                    "numpy": np.__version__,
                    "summary": summary,
                    "records": records,
                },
                fh,
                indent=1,
                default=str,
            )
        print(f"wrote {args.out}")
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
            if "skipped" in r:
                c["skipped"] += 1
                continue
            if r["passed"] is None:
                c["errors"] += 1
                continue
            c["total"] += 1
            c["caught"] += r["caught"]
            c["all_flagged"] += r["all_targets_flagged"]
            c["caught_some_target_unflagged"] += r["caught"] and not r["all_targets_flagged"]
            c["false_attr"] += bool(r["false_attributions"])
    return {
        "by": dict(sorted(keys.items())),
        "total_checks": sum("skipped" not in r for r in records),
        "missed": sum(r.get("passed") is True for r in records),
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
        "\n== caught/total | all bugged params flagged | caught but a bugged param "
        "passed | cases with a correct param flagged =="
    )
    for k, v in s["by"].items():
        print(
            f"{k:48s} {v['caught']:>4d}/{v['total']:<4d} all-flagged {v['all_flagged']:>4d}"
            f"  target-unflagged {v['caught_some_target_unflagged']:>3d}"
            f"  false-attr {v['false_attr']:>3d}"
            + (f" skipped {v['skipped']}" if v["skipped"] else "")
            + (f" errors {v['errors']}" if v["errors"] else "")
        )
    print(f"missed: {s['missed']} / {s['total_checks']}")
    print("\n== every missed bug ==")
    for r in records:
        if r.get("passed") is True:
            print(f"- {describe(r)} not_checked={r['not_checked']}")
        elif r.get("passed") is None and "skipped" not in r:
            print(f"- ERROR {describe(r)}: {r['error']}")
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
    print(f"\n== caught in one run, missed in the other ({this_name} vs {other_path}) ==")
    for r in records:
        o = other.get(r["id"])
        if o is None or "skipped" in r or "skipped" in o:
            continue
        if r.get("passed") is not o.get("passed"):
            who = this_name if r.get("caught") else other_path
            print(f"- caught only by {who}: {describe(r)}")


if __name__ == "__main__":
    main()
