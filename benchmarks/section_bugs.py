"""Sections 2 and 4 of docs/benchmarks.md: which tools catch which bugs, and what each says."""

from __future__ import annotations

from _common import CLASSIC_REL, CLASSIC_STEP, param_count

# isort: split
import bench_bugs
from bug_tools_flat import SCIPY_REL
from forum_bugs import BUGS


def _how_tools_decide(small: int) -> list[str]:
    """How each tool decides, how alarms on correct code are discounted, and the bugs."""
    return [
        "The forum net with its correct gradients and six bugs, each given to four tools. "
        "How each decides:",
        "",
        "- **gradcheck default / full=True**: caught when `report.passed` is false; it "
        "says what the report's diagnoses say (the full text is in "
        "[section 4](#4-what-each-tool-says-bug-by-bug)).",
        f"- **1e-7 loop**: the cs231n loop above (h = {CLASSIC_STEP:g}, every entry), then "
        f"rel = \\|a − n\\| / max(\\|a\\|, \\|n\\|) per entry; rel > {CLASSIC_REL:g} flags "
        "the entry. Shapes meet as in the notebook's `rel_error`, by broadcasting: a pair "
        "that does not broadcast is a crash, which counts as caught.",
        "- **scipy check_grad**: `scipy.optimize.check_grad(f, g, x0)` on the flattened "
        "parameters (forward differences, step √eps ≈ 1.5e-8). It returns one number, "
        "‖g − g_fd‖₂. **Threshold**: flagged when that exceeds "
        f"{SCIPY_REL:g}·‖g‖₂. Why: the cs231n notes call a relative error below "
        "1e-4 'usually okay for objectives with kinks' (this one has ReLU kinks), while a "
        "forward difference at √eps is good to about 1e-8 relative on a smooth function, so "
        "a correct gradient should land far below it. The raw number is in every cell, so "
        "another threshold can be read off.",
        "- **numdifftools**: `numdifftools.Gradient(f)(x0)` (central differences, Richardson "
        "extrapolation over a sequence of steps) on the flattened parameters, compared entry "
        "by entry with `np.isclose` at its defaults (rtol 1e-5, atol 1e-8), the way "
        "numdifftools' own examples compare with `np.allclose`. It makes about 30 loss calls "
        f"per parameter, so it runs on the **h = {small} net** ({param_count(small):,} "
        "parameters) only, in both tables.",
        "",
        "A tool that flags correct code cannot tell that alarm from a bug's: when it flags "
        "the correct code with the same loss, a bug counts as caught only if the tool "
        "crashes, flags entries that it does not flag on correct code, or (scipy) returns a "
        "different number. The 1e-7 loop's and numdifftools' numeric "
        "gradients and the loss values scipy asks for do not depend on the gradient under "
        "test, so they are computed once per loss (reg = 0, and reg = 1e-3 for two rows) and "
        "reused for every row; their loss calls below are for one such computation.",
        "",
        "The bugs: dW2 negated; every gradient 800× (the 1/N of the mean missing, N = 800); "
        "dW2 transposed (shape (K, h) instead of (h, K)); db1 summed without keepdims "
        "(shape (h,) instead of (1, h): harmless in `b1 -= lr * db1` in this row-major "
        "layout, but a (h, 1) bias in the column-major twin would broadcast to (h, h)); dW1 "
        "computed from ∂L/∂H without the ReLU mask (db1 keeps it); the loss has "
        "½·reg·ΣW² with reg = 1e-3 but dW1 and dW2 lack reg·W. All at the initial weights.",
    ]


def _tables(bugs: bench_bugs.BugResults) -> list[str]:
    """The bug tables and summaries at forum scale and on the small net."""
    forum, small = bugs.forum_hidden, bugs.small_hidden
    return [
        f"### Forum scale: h = {forum:,} ({param_count(forum):,} parameters)",
        "",
        bench_bugs.bug_table(bugs.forum),
        "",
        bench_bugs.summary_table(bugs.forum),
        "",
        "Times in these summaries are for one check (gradcheck: median over the eight rows), "
        "taken at another moment than section 1 on a machine whose speed varies; section 1's "
        "ratios are the cost figures to compare.",
        "",
        f"### Every tool on the small net: h = {small} ({param_count(small):,} parameters)",
        "",
        "The same rows with the full check added, to see whether the default check's few "
        "probes lose anything against probing every entry.",
        "",
        bench_bugs.bug_table(bugs.small),
        "",
        bench_bugs.summary_table(bugs.small),
    ]


def _what_tools_say(bugs: bench_bugs.BugResults) -> list[str]:
    """gradcheck's reports, and the 1e-7 loop's and numdifftools' counts, bug by bug."""
    forum, small = bugs.forum_hidden, bugs.small_hidden
    reports = []
    default = next(t for t in bugs.forum if t.name == "gradcheck default")
    for bug in BUGS:
        reports.append(f"== {bug.label} ==\n{default.verdicts[bug.key].detail}\n")
    loop = next(t for t in bugs.forum if t.name == "1e-7 loop")
    loop_lines = [f"- {bug.label}: {loop.verdicts[bug.key].detail}" for bug in BUGS]
    nd = next(t for t in bugs.forum if t.name == "numdifftools")
    nd_lines = [f"- {bug.label}: {nd.verdicts[bug.key].detail}" for bug in BUGS]
    return [
        "## 4. What each tool says, bug by bug",
        "",
        "The tools' own words on the bugs of [section 2](#2-which-tools-catch-which-bugs).",
        "",
        f"### What gradcheck says (default check, h = {forum:,})",
        "",
        "```text",
        "\n".join(reports).rstrip(),
        "```",
        "",
        f"### What the 1e-7 loop sees (h = {forum:,})",
        "",
        *loop_lines,
        "",
        f"### What numdifftools sees (h = {small})",
        "",
        *nd_lines,
    ]


def bugs_section(bugs: bench_bugs.BugResults) -> str:
    parts = [
        "## 2. Which tools catch which bugs",
        "",
        *_how_tools_decide(bugs.small_hidden),
        "",
        *_tables(bugs),
    ]
    return "\n".join(parts)


def tool_output_section(bugs: bench_bugs.BugResults) -> str:
    return "\n".join(_what_tools_say(bugs))
