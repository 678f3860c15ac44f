"""The Observations section of docs/benchmarks.md: what the figures say, with this run's numbers."""

from __future__ import annotations

from _common import fmt_seconds, param_count

# isort: split
import bench_bugs
from bench_cost import FORUM_HIDDEN
from bug_tools import ToolRun
from bug_tools_flat import SCIPY_REL
from cost_results import LABELS, CostResults, OwnWork
from section_targets import COST_TARGET


def calls_words(breakdown: dict[str, int]) -> str:
    """The default check's loss calls in words, from :func:`bench_cost.call_breakdown`."""
    if not breakdown:
        return "their breakdown was not measured"
    everything = max(breakdown, key=lambda key: key.count(","))
    line = breakdown.get(everything, 0)
    at_x = breakdown.get("x", 0)
    parts = [
        f"{at_x + line} for the value at x"
        + (" (twice: the loss's determinism checked)" if at_x > 1 else "")
        + f" and the noise line through all parameters ({min(line, 8)} points besides its "
        "centre, which is x itself"
        + (
            f", and the {line - 8} ends of the same line e times as long, the slope check "
            "for a staircase loss"
            if line > 8
            else ""
        )
        + ")"
    ]
    for key, count in breakdown.items():
        if key in ("x", everything):
            continue
        if "," in key:
            parts.append(
                f"{count} for the joint probes through {key} together (their largest "
                "entries and random directions)"
            )
        else:
            parts.append(f"{count} for the probes of {key} alone")
    return (
        "; ".join(parts)
        + ". A probe that the quick first look settles takes 2 calls, and random entries "
        "(to say where) are probed only after a failure"
    )


def _own_work_words(own: OwnWork | None, beyond_loss_calls: float) -> str:
    """gradcheck's own work, and the time left over once it and the loss calls are counted."""
    if own is None:
        return "the rest is gradcheck's own work"
    rest = beyond_loss_calls - own.seconds
    own_words = (
        f"gradcheck's own work is {fmt_seconds(own.seconds)} (the same check of a "
        f"stand-in loss that is linear in the parameters and costs microseconds: "
        f"{own.loss_calls} calls), "
    )
    if rest >= 0:
        return own_words + (
            f"and the remaining {fmt_seconds(rest)} is the loss calls running slower "
            "inside the check than the one call timed alone"
        )
    return own_words + (
        "and the loss calls timed alone add up to more than the check's fastest "
        "run: on this machine one call's best time moves between measurements "
        "by more than gradcheck's own work, which is why the ratio compares "
        "each run with a loss + backward timed right before it"
    )


def _cost_item(cost: CostResults) -> str | None:
    forum = FORUM_HIDDEN
    row = next((r for r in cost.rows if r.method == "default" and r.hidden == forum), None)
    base = cost.bases.get(forum)
    if row is None or base is None or row.timing is None:
        return None
    allowed = COST_TARGET * base.base_s / base.loss_s
    own = cost.own_work.get(forum)
    in_loss = row.loss_calls * base.loss_s
    own_words = _own_work_words(own, row.seconds - in_loss)
    verdict = "met" if row.ratio <= COST_TARGET else "not met"
    return (
        f"**The {COST_TARGET:g}× cost target is {verdict}.** At h = {forum:,} one loss + "
        f"backward costs {base.base_s / base.loss_s:.1f} loss calls, so {COST_TARGET:g}× "
        f"allows about {allowed:.0f} loss calls; the default check makes "
        f"{row.loss_calls} ({row.ratio:.1f}×; per run {row.timing.ratio_min:.1f}–"
        f"{row.timing.ratio_max:.1f}×): {calls_words(cost.breakdowns.get(forum, {}))}. "
        f"{row.loss_calls} × one loss call = {fmt_seconds(in_loss)} of its "
        f"{fmt_seconds(row.seconds)}; {own_words}. The cost does not grow with the parameter "
        "count (section 1). Against the alternatives the default check is cheap: "
        + ", ".join(
            f"{LABELS[r.method]} {'≈ ' if r.extrapolated else ''}{r.ratio:,.0f}×"
            for r in cost.rows
            if r.hidden == forum and r.method != "default"
        )
        + " at the same size."
    )


def _tool(bugs: bench_bugs.BugResults, name: str) -> ToolRun:
    return next(t for t in bugs.forum if t.name == name)


def _false_alarm_items(bugs: bench_bugs.BugResults) -> list[str]:
    """Why the 1e-7 loop and numdifftools flag this net's correct gradients."""
    loop = _tool(bugs, "1e-7 loop")
    nd = _tool(bugs, "numdifftools")
    return [
        (
            "**The 1e-7 rule cries wolf on this net's correct gradients** "
            f"({loop.verdicts['correct'].says}). Three causes: the two points at the origin put "
            "every hidden unit exactly on its ReLU kink while b1 = 0, so a central difference "
            "in b1 averages the two one-sided slopes while the code takes the left one (0); "
            "a step of 1e-5 in W1 moves the pre-activations of a point x by up to 1e-5·|x|, "
            "which crosses the kink of every pre-activation closer than that to 0 (at these "
            "small initial weights, hundreds of units have one, from points near the origin); "
            "and at h = 1e-5 the loss's rounding (about 1e-16 · 0.69) puts an error of order "
            "1e-11 into each central difference, above 1e-7 of any gradient entry smaller "
            "than about 1e-4, and many are at these small initial weights (b2's are about "
            "5e-5 at h = 100). So on a bug it is only informative where it flags entries it "
            "did not flag before, which is how the table counts it."
        ),
        (
            "**numdifftools cries wolf too** "
            f"({nd.verdicts['correct'].says}): its default steps run from 2 down to about "
            "1.2e-4 (MaxStepGenerator, 15 steps halving), far larger than the distance of many "
            "pre-activations from their kink at these small initial weights, so its "
            "extrapolated derivative for W1 and b1 mixes slopes from both sides of many kinks. "
            f"It also makes the most loss calls per parameter here "
            f"({nd.loss_calls / param_count(nd.hidden):.0f})."
        ),
    ]


def _scipy_item(bugs: bench_bugs.BugResults) -> str:
    scipy = _tool(bugs, "scipy check_grad")
    alarm = scipy.verdicts["correct"].flagged
    return (
        "**scipy's check_grad** gives one number for the whole gradient: "
        f"{scipy.verdicts['correct'].says} on correct code at h = {scipy.hidden:,}, "
        + (
            f"above the {SCIPY_REL:g} threshold: a false alarm (from b1 entries "
            "whose units sit within the forward step of a ReLU kink). "
            if alarm
            else f"below the {SCIPY_REL:g} threshold. "
        )
        + "It cannot say which parameter is wrong or how, and flattening hides shape slips."
    )


def _keepdims_item(bugs: bench_bugs.BugResults) -> str | None:
    missed_keepdims = [
        t.name
        for t in bugs.forum + bugs.small
        if not t.verdicts["keepdims"].flagged and not t.name.startswith("gradcheck")
    ]
    if not missed_keepdims:
        return None
    return (
        "**The keepdims slip passes every tool but gradcheck** "
        f"({', '.join(sorted(set(missed_keepdims)))} missed it): flat tools ravel it "
        "into the same numbers, and the loop's broadcasting of (h,) against (1, h) "
        "compares the same values. It is harmless in this row-major net's update, but "
        "the same slip in the column-major twin ((h,) against a (h, 1) bias) broadcasts "
        "to (h, h) there."
    )


def _reg_item(bugs: bench_bugs.BugResults) -> str | None:
    reg = _tool(bugs, "gradcheck default").verdicts["reg"]
    if reg.flagged and "regularisation" in reg.says:
        return (
            "**gradcheck names the missing reg·W** "
            f"({reg.says}): the difference is the weights times one coefficient, fitted "
            "across the probes, so the report gives reg itself."
        )
    if reg.flagged and "mismatch" in reg.says:
        return (
            "**gradcheck catches the missing reg·W but names it only as a mismatch** "
            f'({reg.says}): "no single scale, sign or transpose explains it". It does not '
            "say that the difference is proportional to the weights (reg·W). Noted, not "
            "changed here."
        )
    return None


def observations(cost: CostResults, bugs: bench_bugs.BugResults) -> str:
    """What the figures say, with the numbers of this run."""
    items = [
        _cost_item(cost),
        *_false_alarm_items(bugs),
        _scipy_item(bugs),
        _keepdims_item(bugs),
        _reg_item(bugs),
    ]
    return "## Observations\n\n" + "\n".join(f"- {item}" for item in items if item)
