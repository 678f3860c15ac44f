"""The Targets table of docs/benchmarks.md: each target, what this run measured, and whether
it is met."""

from __future__ import annotations

from _common import markdown_table

# isort: split
import bench_bugs
import bench_slips
from bench_cost import FORUM_HIDDEN
from cost_results import CostResults
from decorator_output import DecoratorResults
from forum_bugs import BUGS
from section_decorator import signed_pct, signed_us
from section_slips import slip_label

#: The default check at forum scale, × one loss + backward.
COST_TARGET = 8.0
#: The decorator's overhead after the first call, percent at forum scale.
DECORATOR_TARGET = 1.0

Row = tuple[list[str], bool | None]  # the table row, and whether the target is met


def _yes(met: bool) -> str:
    return "**yes**" if met else "**no**"


def _cost_row(cost: CostResults) -> Row:
    forum = FORUM_HIDDEN
    default_rows = [r for r in cost.rows if r.method == "default" and r.hidden == forum]
    base = cost.bases.get(forum)
    if not (default_rows and base):
        return [f"default check at h = {forum:,}", "not measured (--quick)", "—"], None
    row = default_rows[0]
    assert row.timing is not None
    budget_calls = COST_TARGET * base.base_s / base.loss_s
    met = row.timing.ratio_of_mins <= COST_TARGET
    return [
        f"default check of the forum net (h = {forum:,}) ≤ {COST_TARGET:g}× one loss + backward",
        f"{row.timing.ratio_of_mins:.1f}× (fastest of {len(row.timing.seconds)} runs ÷ "
        f"fastest loss + backward; per run {row.timing.ratio_min:.1f}–"
        f"{row.timing.ratio_max:.1f}×), {row.loss_calls} loss calls; {COST_TARGET:g}× "
        f"is the time of about {budget_calls:.0f} loss calls here",
        _yes(met),
    ], met


def _detection_row(bugs: bench_bugs.BugResults) -> Row:
    tools = bugs.forum + bugs.small
    default = next(t for t in bugs.forum if t.name == "gradcheck default")
    real = [b for b in BUGS if b.is_bug]
    correct = [b for b in BUGS if not b.is_bug]
    caught_by_default = {b.key for b in real if default.verdicts[b.key].flagged}
    caught_by_any = {b.key for t in tools for b in real if t.verdicts[b.key].flagged}
    alarms = sum(default.verdicts[b.key].flagged for b in correct)
    met = caught_by_any <= caught_by_default and alarms == 0
    return [
        "… with no loss of detection",
        f"the default check at h = {default.hidden:,} caught {len(caught_by_default)} of "
        f"{len(real)} bugs with {alarms} false alarms on {len(correct)} correct "
        f"gradients; every bug that any tool (full check included) caught "
        f"{'is' if caught_by_any <= caught_by_default else 'is not'} among them",
        _yes(met),
    ], met


def _slips_row(slips: bench_slips.SlipResults) -> Row:
    missed = slips.missed_by_default()
    full_caught, total = slips.caught("full", slips.small_hidden)
    which = "; ".join(f"{c.name} {slip_label(c.slip)} (seed {c.seed})" for c in missed)
    return [
        "… on small slips (section 2b)",
        f"of the {total} (parameter, slip, seed) cases at h = {slips.small_hidden}, the "
        f"full check caught {full_caught}; the default check missed {len(missed)} of "
        "those" + (": " + which if missed else ""),
        _yes(not missed),
    ], not missed


def _decorator_row(deco: DecoratorResults) -> Row:
    section = deco.sections.get("forum-scale net")
    if not (section and section.alone_pct is not None):
        return ["decorator overhead", "bench_decorator.py output not understood", "—"], None
    met = section.alone_pct <= DECORATOR_TARGET
    return [
        f"@checked_backward after the first call adds ≤ {DECORATOR_TARGET:g}% at forum scale",
        f"the wrapper alone: {signed_us(section.alone_us)} = "
        f"{signed_pct(section.alone_pct)} of the plain backward; end to end (difference "
        f"of minimum times of a {(section.plain_min_us or 0) / 1000:.1f} ms call): "
        f"{signed_pct(section.decorated_pct)}",
        _yes(met),
    ], met


def targets_section(
    cost: CostResults,
    bugs: bench_bugs.BugResults,
    slips: bench_slips.SlipResults,
    deco: DecoratorResults,
) -> tuple[str, dict[str, bool]]:
    """The table, and for each target measured in this run (by name) whether it is met."""
    rows = {
        "cost": _cost_row(cost),
        "detection": _detection_row(bugs),
        "slips": _slips_row(slips),
        "decorator": _decorator_row(deco),
    }
    met = {name: ok for name, (_, ok) in rows.items() if ok is not None}
    table = markdown_table(["target", "measured", "met?"], [cells for cells, _ in rows.values()])
    return table, met
