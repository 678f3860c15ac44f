"""sweep_verdicts.py's summary: false alarms and caught bugs by kind, printed as tables."""

from collections import defaultdict

import numpy as np


def count_bug(counts, r):
    """Count bug record ``r`` in ``counts``; False when it was skipped or raised (no verdict)."""
    if "skipped" in r:
        counts["skipped"] += 1
        return False
    if r["passed"] is None:
        counts["errors"] += 1
        return False
    counts["total"] += 1
    counts["caught"] += r["caught"]
    return True


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
            if count_bug(caught[key], r):
                caught[key]["target_flagged"] += r["target_flagged"]
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
    _print_tables(s)
    _print_false_alarms(correct)
    _print_missed(bugs)


def _print_tables(s):
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


def _print_false_alarms(correct):
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


def _print_missed(bugs):
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
