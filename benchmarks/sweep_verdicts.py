"""Sweep gradcheck.check_gradients over the reference nets: false alarms on correct
gradients (float32 and float64) and missed bugs on injected gradient mistakes.

Not part of ``make test``: ``make sweep`` runs this and ``sweep_multi.py`` (about 2.5
minutes in all). Usage:

    .venv/bin/python tests/benchmarks/sweep_verdicts.py [--out result.json] [--quick]

``--quick`` is a deterministic ~10% subset. To measure another checkout of gradcheck
(a worktree with a change), put it first: ``PYTHONPATH=/path/to/worktree``; the file of
the ``gradcheck`` that ran is printed first. ``reference_nets`` and ``tests`` come from
the same place if present there, else from this checkout. Everything is seeded: two runs
against the same code give the same records.
"""

import os

for _var in (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

# Fallback only: anything on PYTHONPATH (a worktree) wins.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.append(_ROOT)

import numpy as np  # noqa: E402

import gradcheck  # noqa: E402

print(f"gradcheck.__file__ = {gradcheck.__file__}", flush=True)

import reference_nets  # noqa: E402
from reference_nets import linear_softmax, three_layer_sigmoid, two_layer_relu  # noqa: E402
from reference_nets._training import train  # noqa: E402
from tests.benchmarks._common import ForumNet  # noqa: E402
from tests.reference_nets._problems import random_problem, to_layout  # noqa: E402

print(f"reference_nets.__file__ = {reference_nets.__file__}", flush=True)

PACKAGES = {
    "forum_relu": two_layer_relu,
    "two_layer_relu": two_layer_relu,
    "three_layer_sigmoid": three_layer_sigmoid,
    "linear_softmax": linear_softmax,
}
DTYPES = {"float32": np.float32, "float64": np.float64}
TRAIN_STEPS = 400
TRAIN_STEP_SIZE = 1.0  # the forum's step size

# ----------------------------------------------------------------------------- problems


def size_label(net, sizes):
    if net == "forum_relu":
        return f"h{sizes['hidden']}"
    if net == "three_layer_sigmoid":
        return (
            f"N{sizes['batch']} D{sizes['d_in']} H{sizes['hidden1']}x{sizes['hidden2']}"
            f" O{sizes['d_out']}"
        )
    if net == "two_layer_relu":
        return f"N{sizes['batch']} D{sizes['d_in']} H{sizes['hidden']} K{sizes['classes']}"
    return f"N{sizes['batch']} D{sizes['d_in']} K{sizes['classes']}"


_FORUM_CACHE = {}


def forum_base(hidden, data_seed, reg, state):
    """Row-major float64 (params, X, y) of the forum net, at init or after training."""
    key = (hidden, data_seed, reg, state)
    if key not in _FORUM_CACHE:
        net = ForumNet.make(hidden, seed=data_seed)
        params = {k: v.copy() for k, v in net.params.items()}
        if state == "trained":
            mod = two_layer_relu.row_major
            run = train(
                lambda p: mod.loss(p, net.X, net.y, reg),
                lambda p: mod.gradients(p, net.X, net.y, reg),
                params,
                steps=TRAIN_STEPS,
                step_size=TRAIN_STEP_SIZE,
                log_every=TRAIN_STEPS,
            )
            params = run.params
        _FORUM_CACHE[key] = (params, net.X, net.y)
    return _FORUM_CACHE[key]


class Problem:
    """One concrete check target: layout module, params, data and extra args, in a dtype."""

    def __init__(self, spec):
        self.spec = spec
        net, layout, dtype = spec["net"], spec["layout"], DTYPES[spec["dtype"]]
        self.module = getattr(PACKAGES[net], layout)
        reg = spec.get("reg", 0.0)
        if net == "forum_relu":
            params, X, y = forum_base(
                spec["sizes"]["hidden"], spec["problem_seed"], reg, spec["state"]
            )
            target = y
            self.batch = X.shape[0]
        else:
            prob = random_problem(
                net, spec["sizes"], spec["problem_seed"], reg=reg, scale=spec.get("scale", 1.0)
            )
            params, X, target = prob.params, prob.X, prob.target
            self.batch = spec["sizes"]["batch"]
        self.params = {
            k: np.ascontiguousarray(to_layout(v, layout)).astype(dtype) for k, v in params.items()
        }
        self.X = np.ascontiguousarray(to_layout(X, layout)).astype(dtype)
        if np.issubdtype(target.dtype, np.floating):
            self.target = np.ascontiguousarray(to_layout(target, layout)).astype(dtype)
        else:
            self.target = target
        self.reg = reg
        self.has_reg = net != "three_layer_sigmoid"
        self.extra = (reg,) if self.has_reg else ()

    def loss(self, p):
        return self.module.loss(p, self.X, self.target, *self.extra)

    def grads(self, reg=None):
        extra = self.extra if reg is None else (reg,)
        return self.module.gradients(self.params, self.X, self.target, *extra)

    def hidden_unit_axes(self):
        """(first-layer weight name, bias name, unit axis of W, unit axis of b)."""
        row = self.spec["layout"] == "row_major"
        if "W1" in self.params:
            return "W1", "b1", (1 if row else 0), (1 if row else 0)
        return None


# ----------------------------------------------------------------------------- specs

SIGMOID_SIZES = [
    {"batch": 5, "d_in": 3, "hidden1": 4, "hidden2": 6, "d_out": 2},
    {"batch": 16, "d_in": 4, "hidden1": 8, "hidden2": 8, "d_out": 3},
    {"batch": 64, "d_in": 10, "hidden1": 20, "hidden2": 15, "d_out": 5},
    {"batch": 200, "d_in": 20, "hidden1": 32, "hidden2": 32, "d_out": 4},
    {"batch": 8, "d_in": 2, "hidden1": 3, "hidden2": 3, "d_out": 1},
    {"batch": 128, "d_in": 30, "hidden1": 50, "hidden2": 40, "d_out": 10},
]
LINEAR_SIZES = [
    {"batch": 6, "d_in": 2, "classes": 3},
    {"batch": 32, "d_in": 5, "classes": 5},
    {"batch": 100, "d_in": 20, "classes": 10},
    {"batch": 300, "d_in": 50, "classes": 10},
    {"batch": 10, "d_in": 3, "classes": 2},
    {"batch": 64, "d_in": 8, "classes": 4},
]
RELU_SIZES = [  # random two-layer ReLU problems, used for bugs (square weights, reg)
    {"batch": 7, "d_in": 3, "hidden": 5, "classes": 4},
    {"batch": 20, "d_in": 4, "hidden": 6, "classes": 6},
    {"batch": 50, "d_in": 8, "hidden": 8, "classes": 3},
]
LAYOUTS = ("row_major", "column_major")
# Problem seed -> (scale, reg) for the random problems: the bigger scale saturates the
# sigmoids and makes the softmax confident.
SIGMOID_SCALE = {0: 1.0, 1: 1.0, 2: 3.0}
LINEAR_SCALE_REG = {0: (1.0, 0.0), 1: (1.0, 1e-3), 2: (4.0, 0.1)}
FORUM_REG = {0: 0.0, 1: 1e-3}  # data seed -> reg (the forum itself uses 0)


def correct_specs():
    seeds = np.random.default_rng(20240601)
    specs = []

    def check_seed():
        return int(seeds.integers(0, 2**31 - 1))

    for dtype, per_random, per_forum in (("float64", 1, 3), ("float32", 2, 6)):
        for hidden in (100, 1000):
            for state in ("init", "trained"):
                for layout in LAYOUTS:
                    for dseed in (0, 1):
                        for _ in range(per_forum):
                            specs.append(
                                {
                                    "net": "forum_relu",
                                    "state": state,
                                    "layout": layout,
                                    "dtype": dtype,
                                    "sizes": {"hidden": hidden},
                                    "problem_seed": dseed,
                                    "reg": FORUM_REG[dseed],
                                    "check_seed": check_seed(),
                                }
                            )
        for i, sizes in enumerate(SIGMOID_SIZES):
            for layout in LAYOUTS:
                for pseed in (0, 1, 2):
                    for _ in range(per_random):
                        specs.append(
                            {
                                "net": "three_layer_sigmoid",
                                "layout": layout,
                                "dtype": dtype,
                                "sizes": sizes,
                                "problem_seed": 100 * i + pseed,
                                "scale": SIGMOID_SCALE[pseed],
                                "reg": 0.0,
                                "check_seed": check_seed(),
                            }
                        )
        for i, sizes in enumerate(LINEAR_SIZES):
            for layout in LAYOUTS:
                for pseed in (0, 1, 2):
                    scale, reg = LINEAR_SCALE_REG[pseed]
                    for _ in range(per_random):
                        specs.append(
                            {
                                "net": "linear_softmax",
                                "layout": layout,
                                "dtype": dtype,
                                "sizes": sizes,
                                "problem_seed": 100 * i + pseed,
                                "scale": scale,
                                "reg": reg,
                                "check_seed": check_seed(),
                            }
                        )
    return specs


BUG_KINDS = (
    "scaled_by_N",
    "negated",
    "transposed",
    "slip20_largest",
    "entry_plus50",
    "zero_hidden_unit",
    "swap_two",
    "missing_reg",
)
PER_BUG = 15


def _pool_general():
    pool = []
    for hidden in (100, 1000):
        for state in ("init", "trained"):
            pool.append(
                {
                    "net": "forum_relu",
                    "state": state,
                    "sizes": {"hidden": hidden},
                    "problem_seed": 0 if state == "init" else 1,
                    "reg": 0.0 if state == "init" else 1e-3,
                }
            )
    for i, sizes in enumerate(SIGMOID_SIZES):
        pool.append(
            {
                "net": "three_layer_sigmoid",
                "sizes": sizes,
                "problem_seed": 500 + i,
                "scale": 1.0 if i % 3 else 3.0,
                "reg": 0.0,
            }
        )
    for i, sizes in enumerate(LINEAR_SIZES):
        pool.append(
            {
                "net": "linear_softmax",
                "sizes": sizes,
                "problem_seed": 600 + i,
                "scale": 1.0 if i % 3 else 4.0,
                "reg": (0.0, 1e-3, 0.1)[i % 3],
            }
        )
    for i, sizes in enumerate(RELU_SIZES):
        pool.append(
            {
                "net": "two_layer_relu",
                "sizes": sizes,
                "problem_seed": 700 + i,
                "scale": 1.0,
                "reg": 0.1 * (i % 2),
            }
        )
    return pool


def _has_square_weight(spec):
    if spec["net"] == "forum_relu":
        return False
    return any(n.startswith("W") and s[0] == s[1] for n, s in _row_shapes(spec).items())


def _row_shapes(spec):
    from tests.reference_nets._problems import row_major_shapes

    return row_major_shapes(spec["net"], spec["sizes"])


def bug_specs():
    general = _pool_general()
    # Interleave nets so a kind's 15 cases cover all of them.
    order = sorted(range(len(general)), key=lambda i: (i % 4, i))
    general = [general[i] for i in order]
    pools = {
        "transposed": [s for s in general if _has_square_weight(s)],
        "zero_hidden_unit": [s for s in general if s["net"] != "linear_softmax"],
        "missing_reg": [
            s for s in general if s["net"] != "three_layer_sigmoid" and s.get("reg", 0.0) > 0
        ],
    }
    # missing_reg also on forum nets at init with reg (the pool has only trained ones).
    pools["missing_reg"] += [
        {
            "net": "forum_relu",
            "state": "init",
            "sizes": {"hidden": h},
            "problem_seed": 1,
            "reg": 1e-3,
        }
        for h in (100, 1000)
    ]
    seeds = np.random.default_rng(777)
    specs = []
    for kind in BUG_KINDS:
        pool = pools.get(kind, general)
        for j in range(PER_BUG):
            base = dict(pool[j % len(pool)])
            base.update(
                {
                    "bug": kind,
                    "layout": LAYOUTS[(j // len(pool) + j) % 2],
                    "dtype": "float32" if j % 3 == 2 else "float64",
                    "check_seed": int(seeds.integers(0, 2**31 - 1)),
                    "bug_seed": int(seeds.integers(0, 2**31 - 1)),
                }
            )
            specs.append(base)
    return specs


# ----------------------------------------------------------------------------- bugs


def _pick_param(grads, rng, names=None):
    names = [n for n in (names or list(grads)) if np.any(np.asarray(grads[n]) != 0)]
    if not names:
        return None
    return names[int(rng.integers(len(names)))]


def inject(kind, problem, grads, rng):
    """Return (buggy grads, info) or (None, reason) when the bug does not apply."""
    g = {k: np.array(v, copy=True) for k, v in grads.items()}
    info = {}
    if kind == "scaled_by_N":
        g = {k: v * problem.batch for k, v in g.items()}
        info = {"targets": list(g), "factor": problem.batch}
    elif kind == "negated":
        name = _pick_param(g, rng)
        g[name] = -g[name]
        info = {"targets": [name]}
    elif kind == "transposed":
        square = [
            n
            for n, v in g.items()
            if n.startswith("W") and v.ndim == 2 and v.shape[0] == v.shape[1]
        ]
        if not square:
            return None, "no square weight"
        name = square[int(rng.integers(len(square)))]
        asym = float(np.abs(g[name] - g[name].T).max() / max(np.abs(g[name]).max(), 1e-300))
        g[name] = np.ascontiguousarray(g[name].T)
        info = {"targets": [name], "rel_asymmetry": asym}
    elif kind == "slip20_largest":
        name = _pick_param(g, rng)
        idx = np.unravel_index(int(np.argmax(np.abs(g[name]))), g[name].shape)
        g[name][idx] *= 1.2
        info = {"targets": [name], "index": [int(i) for i in idx]}
    elif kind == "entry_plus50":
        name = _pick_param(g, rng)
        flat = np.flatnonzero(g[name])
        k = int(flat[int(rng.integers(len(flat)))])
        idx = np.unravel_index(k, g[name].shape)
        rel = float(abs(g[name][idx]) / np.abs(g[name]).max())
        g[name][idx] *= 1.5
        info = {"targets": [name], "index": [int(i) for i in idx], "entry_rel_to_max": rel}
    elif kind == "zero_hidden_unit":
        axes = problem.hidden_unit_axes()
        wname, bname, waxis, baxis = axes
        w, b = g[wname], g[bname]
        norms = np.sqrt(np.sum(w**2, axis=1 - waxis) + np.sum(b**2, axis=1 - baxis))
        active = np.flatnonzero(norms > 0)
        if len(active) == 0:
            return None, "no active unit"
        j = int(active[int(rng.integers(len(active)))])
        if waxis == 1:
            w[:, j] = 0.0
        else:
            w[j, :] = 0.0
        if baxis == 1:
            b[:, j] = 0.0
        else:
            b[j, :] = 0.0
        info = {
            "targets": [wname, bname],
            "unit": j,
            "unit_norm_rel_to_max": float(norms[j] / norms.max()),
        }
    elif kind == "swap_two":
        name = _pick_param(g, rng, [n for n, v in g.items() if v.size >= 2])
        if name is None:
            return None, "no parameter with 2 entries"
        v = g[name].reshape(-1)
        for _ in range(100):
            i, j = (int(x) for x in rng.choice(v.size, size=2, replace=False))
            if v[i] != v[j]:
                break
        else:
            return None, "all entries equal"
        rel = float(abs(v[i] - v[j]) / np.abs(v).max())
        v[i], v[j] = v[j], v[i]
        info = {"targets": [name], "flat_indices": [i, j], "diff_rel_to_max": rel}
    elif kind == "missing_reg":
        if not problem.has_reg or problem.reg <= 0:
            return None, "no regularisation"
        g = {k: np.array(v, copy=True) for k, v in problem.grads(reg=0.0).items()}
        wnames = [n for n in g if n.startswith("W")]
        term = {n: problem.reg * np.abs(problem.params[n]).max() for n in wnames}
        info = {
            "targets": wnames,
            "reg": problem.reg,
            "reg_term_rel_to_grad": {n: float(term[n] / np.abs(grads[n]).max()) for n in wnames},
        }
    else:
        raise ValueError(kind)
    return g, info


# ----------------------------------------------------------------------------- running


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write every record to this JSON file")
    parser.add_argument("--quick", action="store_true", help="a ~10%% subset")
    args = parser.parse_args()
    t0 = time.perf_counter()

    cspecs, bspecs = correct_specs(), bug_specs()
    if args.quick:
        cspecs, bspecs = cspecs[::10], bspecs[::10]

    correct = []
    for spec in cspecs:
        problem = Problem(spec)
        rec = base_record(spec, problem)
        rec.update(run_check(problem, problem.grads(), spec["check_seed"]))
        correct.append(rec)
    t_correct = time.perf_counter() - t0

    bugs = []
    for spec in bspecs:
        problem = Problem(spec)
        rec = base_record(spec, problem)
        rec["bug"] = spec["bug"]
        rec["bug_seed"] = spec["bug_seed"]
        grads, info = inject(
            spec["bug"], problem, problem.grads(), np.random.default_rng(spec["bug_seed"])
        )
        if grads is None:
            rec.update({"skipped": info})
            bugs.append(rec)
            continue
        rec["bug_info"] = info
        rec.update(run_check(problem, grads, spec["check_seed"]))
        rec["caught"] = rec["passed"] is False
        failed_names = {f["name"] for f in rec["failed"]}
        rec["target_flagged"] = bool(failed_names & set(info["targets"]))
        bugs.append(rec)
    runtime = time.perf_counter() - t0

    summary = summarise(correct, bugs)
    summary["runtime_s"] = runtime
    summary["runtime_correct_s"] = t_correct
    print_summary(summary, correct, bugs)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(
                {
                    "gradcheck_file": gradcheck.__file__,
                    "reference_nets_file": reference_nets.__file__,
                    "quick": args.quick,
                    "numpy": np.__version__,
                    "summary": summary,
                    "correct": correct,
                    "bugs": bugs,
                },
                fh,
                indent=1,
                default=str,
            )
        print(f"wrote {args.out}")
    print(f"runtime {runtime:.1f} s (correct {t_correct:.1f} s, bugs {runtime - t_correct:.1f} s)")


# ----------------------------------------------------------------------------- summary


def summarise(correct, bugs):
    fa = defaultdict(lambda: {"checks": 0, "false_alarms": 0, "errors": 0, "with_not_checked": 0})
    calls = defaultdict(list)
    for r in correct:
        key = f"{r['net']} | {r['dtype']}"
        fa[key]["checks"] += 1
        fa[key]["false_alarms"] += r["passed"] is False
        fa[key]["errors"] += r["passed"] is None
        fa[key]["with_not_checked"] += bool(r["not_checked"])
        if r["loss_calls"] is not None:
            calls[f"{r['net']} | {r['size']} | {r['dtype']}"].append(r["loss_calls"])
    caught = defaultdict(
        lambda: {"total": 0, "caught": 0, "target_flagged": 0, "skipped": 0, "errors": 0}
    )
    kinds = defaultdict(lambda: defaultdict(int))
    for r in bugs:
        for key in (r["bug"], f"{r['bug']} | {r['dtype']}"):
            c = caught[key]
            if "skipped" in r:
                c["skipped"] += 1
                continue
            if r["passed"] is None:
                c["errors"] += 1
                continue
            c["total"] += 1
            c["caught"] += r["caught"]
            c["target_flagged"] += r["target_flagged"]
        if "skipped" not in r and r["passed"] is False:
            for f in r["failed"]:
                kinds[r["bug"]][f["kind"]] += 1
    return {
        "false_alarms": dict(sorted(fa.items())),
        "total_correct_checks": len(correct),
        "total_false_alarms": sum(r["passed"] is False for r in correct),
        "bugs": dict(sorted(caught.items())),
        "bug_diagnosis_kinds": {k: dict(v) for k, v in sorted(kinds.items())},
        "total_bug_checks": sum("skipped" not in r for r in bugs),
        "total_missed": sum(r.get("passed") is True for r in bugs),
        "loss_calls_correct": {
            k: {"n": len(v), "mean": float(np.mean(v)), "max": int(max(v))}
            for k, v in sorted(calls.items())
        },
    }


def _seeds(r):
    return f"pseed={r['problem_seed']} cseed={r['check_seed']}"


def print_summary(s, correct, bugs):
    print("\n== false alarms on correct gradients, by (net, dtype) ==")
    print(f"{'net | dtype':40s} {'alarms/checks':>14s} {'errors':>7s} {'w/ not-checked':>15s}")
    for k, v in s["false_alarms"].items():
        print(
            f"{k:40s} {v['false_alarms']:>6d}/{v['checks']:<7d} {v['errors']:>7d} "
            f"{v['with_not_checked']:>15d}"
        )
    print(f"total: {s['total_false_alarms']} / {s['total_correct_checks']}")
    print("\n== injected bugs: caught/total (target param flagged) ==")
    for k, v in s["bugs"].items():
        print(
            f"{k:32s} {v['caught']:>3d}/{v['total']:<3d} (target {v['target_flagged']})"
            + (f" skipped {v['skipped']}" if v["skipped"] else "")
            + (f" errors {v['errors']}" if v["errors"] else "")
        )
    print(f"total missed: {s['total_missed']} / {s['total_bug_checks']}")
    print("diagnosis kinds of failed params, by bug:")
    for k, v in s["bug_diagnosis_kinds"].items():
        print(f"  {k}: {v}")
    print("\n== loss_calls on correct code, by (net, size, dtype): n mean max ==")
    for k, v in s["loss_calls_correct"].items():
        print(f"{k:55s} {v['n']:>3d} {v['mean']:>7.1f} {v['max']:>5d}")
    print("\n== every false alarm ==")
    for r in correct:
        if r["passed"] is False:
            what = "; ".join(f"{f['name']}={f['kind']} ({f['message']})" for f in r["failed"])
            print(
                f"- {r['net']} {r['layout']} {r['dtype']} {r['size']} reg={r['reg']} "
                f"{_seeds(r)}: {what}"
            )
        elif r["passed"] is None:
            print(
                f"- ERROR {r['net']} {r['layout']} {r['dtype']} {r['size']} {_seeds(r)}: "
                f"{r['error']}"
            )
    print("\n== every missed bug ==")
    for r in bugs:
        if r.get("passed") is True:
            info = {k: v for k, v in r["bug_info"].items() if k != "targets"}
            print(
                f"- {r['bug']} on {r['bug_info']['targets']}: {r['net']} {r['layout']} "
                f"{r['dtype']} {r['size']} reg={r['reg']} {_seeds(r)} "
                f"bseed={r['bug_seed']} {info} not_checked={r['not_checked']}"
            )
        elif r.get("passed") is None and "skipped" not in r:
            print(
                f"- ERROR {r['bug']} {r['net']} {r['layout']} {r['dtype']} {_seeds(r)}: "
                f"{r['error']}"
            )
    caught_wrong = [r for r in bugs if r.get("caught") and not r["target_flagged"]]
    if caught_wrong:
        print("\n== caught, but the bugged parameter itself passed ==")
        for r in caught_wrong:
            what = "; ".join(f"{f['name']}={f['kind']}" for f in r["failed"])
            print(
                f"- {r['bug']} on {r['bug_info']['targets']}: {r['net']} {r['layout']} "
                f"{r['dtype']} {_seeds(r)}: failed {what}"
            )


if __name__ == "__main__":
    main()
