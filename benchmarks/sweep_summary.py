"""sweep_verdicts.py's summary: false alarms, unchecked correct gradients, and bugs caught,
inconclusive or missed, by kind and dtype, printed as tables.

A bug reported inconclusive counts neither as caught nor as missed; a correct gradient
reported inconclusive is "unchecked", not a false alarm. The dtype column says "float16 fn"
for checks given the gradients as a function of the parameters.
"""

from collections import defaultdict

import numpy as np

#: A check's outcome -> what it makes of a bug.
BUG_COUNT = {"failed": "caught", "inconclusive": "inconclusive", "passed": "missed"}


def outcome(r):
    """A record's outcome, or None when it was skipped or raised (records written before
    the third outcome have only ``passed``)."""
    if "skipped" in r:
        return None
    return r.get("outcome", {True: "passed", False: "failed"}.get(r.get("passed")))


def count_bug(counts, r):
    """Count bug record ``r`` in ``counts``; False when it was skipped or raised (no verdict)."""
    if "skipped" in r:
        counts["skipped"] += 1
        return False
    if outcome(r) is None:
        counts["errors"] += 1
        return False
    counts["total"] += 1
    counts[BUG_COUNT[outcome(r)]] += 1
    return True


def column(r):
    """The dtype, and " fn" when the gradients were given as a function."""
    return r["dtype"] + (" fn" if r.get("grads_as") == "function" else "")


def _bug_counts():
    return dict.fromkeys(("total", *BUG_COUNT.values(), "skipped", "errors"), 0)


def _correct_counts():
    return dict.fromkeys(("checks", "false_alarms", "unchecked", "errors", "with_not_checked"), 0)


def _count_correct(counts, r):
    counts["checks"] += 1
    counts["false_alarms"] += outcome(r) == "failed"
    counts["unchecked"] += outcome(r) == "inconclusive"
    counts["errors"] += outcome(r) is None
    counts["with_not_checked"] += bool(r["not_checked"])


def _by_dtype(correct, bugs):
    """Per dtype: correct checks, false alarms, unchecked; bug checks caught/inconclusive/missed."""
    totals = defaultdict(lambda: {**_correct_counts(), **_bug_counts()})
    for r in correct:
        _count_correct(totals[column(r)], r)
    for r in bugs:
        count_bug(totals[column(r)], r)
    return dict(sorted(totals.items()))


def _in_reach(bugs):
    """float16 bugs larger than ~10% of a gradient that is itself accurate to better than that
    (the ones a float16 check is expected to catch), by column."""
    counts = defaultdict(_bug_counts)
    for r in bugs:
        if r.get("in_reach"):
            count_bug(counts[column(r)], r)
    return dict(sorted(counts.items()))


def summarise(correct, bugs):
    fa = defaultdict(_correct_counts)
    calls = defaultdict(list)
    for r in correct:
        _count_correct(fa[f"{r['net']} | {column(r)}"], r)
        if r["loss_calls"] is not None:
            calls[f"{r['net']} | {r['size']} | {column(r)}"].append(r["loss_calls"])
    caught = defaultdict(lambda: {**_bug_counts(), "target_flagged": 0})
    kinds = defaultdict(lambda: defaultdict(int))
    for r in bugs:
        for key in (r["bug"], f"{r['bug']} | {column(r)}"):
            if count_bug(caught[key], r):
                caught[key]["target_flagged"] += r["target_flagged"]
        for f in r.get("failed", ()):
            kinds[r["bug"]][f["kind"]] += 1
    return {
        "false_alarms": dict(sorted(fa.items())),
        "total_correct_checks": len(correct),
        "total_false_alarms": sum(outcome(r) == "failed" for r in correct),
        "total_unchecked": sum(outcome(r) == "inconclusive" for r in correct),
        "bugs": dict(sorted(caught.items())),
        "bug_diagnosis_kinds": {k: dict(v) for k, v in sorted(kinds.items())},
        "total_bug_checks": sum("skipped" not in r for r in bugs),
        "total_missed": sum(outcome(r) == "passed" for r in bugs),
        "total_inconclusive": sum(outcome(r) == "inconclusive" for r in bugs),
        "by_dtype": _by_dtype(correct, bugs),
        "float16_in_reach": _in_reach(bugs),
        "loss_calls_correct": {
            k: {"n": len(v), "mean": float(np.mean(v)), "max": int(max(v))}
            for k, v in sorted(calls.items())
        },
    }


def _seeds(r):
    return f"pseed={r['problem_seed']} cseed={r['check_seed']}"


def _where(r):
    return f"{r['net']} {r['layout']} {column(r)} {r['size']} reg={r['reg']} {_seeds(r)}"


def print_summary(s, correct, bugs):
    _print_tables(s)
    _print_correct(correct)
    _print_bugs(bugs)
    _print_totals(s)


def _print_tables(s):
    print("\n== correct gradients: false alarms (failed) and unchecked (inconclusive) ==")
    print(
        f"{'net | dtype':34s} {'alarms':>6s} {'unchecked':>9s} {'/checks':>8s} {'errors':>7s} "
        f"{'w/ not-checked':>15s}"
    )
    for k, v in s["false_alarms"].items():
        print(
            f"{k:34s} {v['false_alarms']:>6d} {v['unchecked']:>9d} {'/' + str(v['checks']):>8s} "
            f"{v['errors']:>7d} {v['with_not_checked']:>15d}"
        )
    print(
        f"total: {s['total_false_alarms']} false alarms, {s['total_unchecked']} unchecked "
        f"/ {s['total_correct_checks']}"
    )
    print("\n== injected bugs: caught / inconclusive / missed of total (target param flagged) ==")
    print(f"{'kind | dtype':32s} {'caught':>6s} {'incon':>6s} {'missed':>6s} {'/total':>7s}")
    for k, v in s["bugs"].items():
        print(
            f"{k:32s} {v['caught']:>6d} {v['inconclusive']:>6d} {v['missed']:>6d} "
            f"{'/' + str(v['total']):>7s}  (target {v['target_flagged']})"
            + (f" skipped {v['skipped']}" if v["skipped"] else "")
            + (f" errors {v['errors']}" if v["errors"] else "")
        )
    print(
        f"total: {s['total_missed']} missed, {s['total_inconclusive']} inconclusive "
        f"/ {s['total_bug_checks']}"
    )
    print("diagnosis kinds of failed params, by bug:")
    for k, v in s["bug_diagnosis_kinds"].items():
        print(f"  {k}: {v}")
    print("\n== loss_calls on correct code, by (net, size, dtype): n mean max ==")
    for k, v in s["loss_calls_correct"].items():
        print(f"{k:55s} {v['n']:>3d} {v['mean']:>7.1f} {v['max']:>5d}")


def _print_correct(correct):
    print("\n== every false alarm ==")
    for r in correct:
        if outcome(r) == "failed":
            what = "; ".join(f"{f['name']}={f['kind']} ({f['message']})" for f in r["failed"])
            print(f"- {_where(r)}: {what}")
        elif outcome(r) is None:
            print(f"- ERROR {_where(r)}: {r['error']}")


def _bug_line(r):
    info = {k: v for k, v in r["bug_info"].items() if k != "targets"}
    rounding = ""
    if "grad_rounding" in r:
        rounding = f" grad_rounding={r['grad_rounding']} bug_size={r['bug_size']}"
    return (
        f"{r['bug']} on {r['bug_info']['targets']}: {_where(r)} bseed={r['bug_seed']} "
        f"{info}{rounding}"
    )


def print_missed(records, describe):
    """List the missed bugs (and checks that raised), then the inconclusive ones;
    ``describe(r)`` says which bug and where."""
    print("\n== every missed bug ==")
    for r in records:
        if outcome(r) == "passed":
            print(f"- {describe(r)} not_checked={r['not_checked']}")
        elif outcome(r) is None and "skipped" not in r:
            print(f"- ERROR {describe(r)}: {r['error']}")
    print("\n== every inconclusive bug ==")
    for r in records:
        if outcome(r) == "inconclusive":
            print(f"- {describe(r)} inconclusive={r['inconclusive']}")


def _print_bugs(bugs):
    print_missed(bugs, _bug_line)
    caught_wrong = [r for r in bugs if r.get("caught") and not r["target_flagged"]]
    if caught_wrong:
        print("\n== caught, but the bugged parameter itself passed ==")
        for r in caught_wrong:
            what = "; ".join(f"{f['name']}={f['kind']}" for f in r["failed"])
            print(f"- {r['bug']} on {r['bug_info']['targets']}: {_where(r)}: failed {what}")


def _print_totals(s):
    print("\n== totals by dtype ==")
    for dtype, v in s["by_dtype"].items():
        print(
            f"{dtype}: false alarms {v['false_alarms']}/{v['checks']}, unchecked on correct "
            f"{v['unchecked']}/{v['checks']}; bugs caught {v['caught']} / inconclusive "
            f"{v['inconclusive']} / missed {v['missed']} of {v['total']}"
            + (f"; errors {v['errors']}" if v["errors"] else "")
        )
    for col, v in s["float16_in_reach"].items():
        print(
            f"{col}, bugs > 10% of a gradient accurate to < 10%: caught {v['caught']} / "
            f"inconclusive {v['inconclusive']} / missed {v['missed']} of {v['total']}"
        )
