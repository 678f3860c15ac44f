"""The same backprop bugs through gradcheck and through the usual alternatives.

Run it (not collected by pytest; ``make bench`` runs it as part of bench_all.py):

    .venv/bin/python benchmarks/bench_bugs.py           # ~2 minutes
    .venv/bin/python benchmarks/bench_bugs.py --quick   # smoke test, smaller nets

The forum's two-layer ReLU + softmax net (N = 800, D = 2, K = 2) with its correct gradients
and six bugs (forum_bugs.py), each checked by gradcheck, the cs231n 1e-7 loop (bug_tools.py),
scipy's check_grad and numdifftools (bug_tools_flat.py). The forum-scale table uses h = 1000
(5,002 parameters); a second table runs every tool on the h = 100 net (502 parameters).
"""

from __future__ import annotations

# _common first: importing it pins BLAS to one thread before numpy loads.
from _common import ForumNet, Params, fmt_seconds, markdown_table

# isort: split
import argparse
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bug_tools import ToolRun, Verdict, run_gradcheck, run_loop
from bug_tools_flat import run_numdifftools, run_scipy
from forum_bugs import BUGS, Bug

FORUM_HIDDEN = 1000
SMALL_HIDDEN = 100


@dataclass
class BugResults:
    quick: bool
    forum_hidden: int
    small_hidden: int
    forum: list[ToolRun] = field(default_factory=list)
    small: list[ToolRun] = field(default_factory=list)


def run(quick: bool = False, classic_cache: Mapping[int, Params] | None = None) -> BugResults:
    forum_hidden, small_hidden = (100, 30) if quick else (FORUM_HIDDEN, SMALL_HIDDEN)
    results = BugResults(quick, forum_hidden, small_hidden)
    forum = ForumNet.make(forum_hidden)
    small = ForumNet.make(small_hidden)
    steps: list[tuple[str, list[ToolRun], Callable[[], ToolRun]]] = [
        ("gradcheck default", results.forum, lambda: run_gradcheck(forum, full=False)),
        ("1e-7 loop", results.forum, lambda: run_loop(forum, classic_cache)),
        ("scipy check_grad", results.forum, lambda: run_scipy(forum)),
        ("numdifftools", results.forum, lambda: run_numdifftools(small)),
        ("gradcheck default", results.small, lambda: run_gradcheck(small, full=False)),
        ("gradcheck full=True", results.small, lambda: run_gradcheck(small, full=True)),
        ("1e-7 loop", results.small, lambda: run_loop(small, classic_cache)),
        ("scipy check_grad", results.small, lambda: run_scipy(small)),
    ]
    print("bugs: gradcheck, the 1e-7 loop, scipy check_grad and numdifftools", flush=True)
    for name, target, step in steps:
        started = time.perf_counter()
        tool = step()
        target.append(tool)
        caught = sum(tool.verdicts[b.key].flagged for b in BUGS if b.is_bug)
        alarms = sum(tool.verdicts[b.key].flagged for b in BUGS if not b.is_bug)
        print(
            f"  h={tool.hidden:<5} {name:<20} caught {caught}/{sum(b.is_bug for b in BUGS)}, "
            f"false alarms {alarms}/{sum(not b.is_bug for b in BUGS)}  "
            f"({fmt_seconds(time.perf_counter() - started)})",
            flush=True,
        )
    # numdifftools' column is shared: the same run serves both tables.
    results.small.append(next(t for t in results.forum if t.name == "numdifftools"))
    return results


# ----------------------------------------------------------------------------- report


def cell(bug: Bug, verdict: Verdict) -> str:
    if bug.is_bug:
        mark = "✅ caught" if verdict.flagged else "❌ **missed**"
    else:
        mark = "❌ **false alarm**" if verdict.flagged else "✅ quiet"
    return f"{mark}: {verdict.says}" if verdict.says not in ("none", "all ok") else mark


def bug_table(tools: list[ToolRun]) -> str:
    header = ["bug", *[f"{t.name} (h = {t.hidden:,})" for t in tools]]
    rows = [[bug.label, *[cell(bug, t.verdicts[bug.key]) for t in tools]] for bug in BUGS]
    return markdown_table(header, rows)


def summary_table(tools: list[ToolRun]) -> str:
    bugs = [b for b in BUGS if b.is_bug]
    correct = [b for b in BUGS if not b.is_bug]
    names_it = {
        "gradcheck default": "the parameter and the kind of mistake (sign, factor, shape, …)",
        "gradcheck full=True": "the parameter and the kind of mistake (sign, factor, shape, …)",
        "1e-7 loop": "which entries are off (no cause); shape slips crash or pass silently",
        "scipy check_grad": "one number for all parameters together: nothing about where",
        "numdifftools": "a numeric gradient to compare: which entries are off (no cause)",
    }
    rows = []
    for t in tools:
        caught = sum(t.verdicts[b.key].flagged for b in bugs)
        alarms = sum(t.verdicts[b.key].flagged for b in correct)
        rows.append(
            [
                f"{t.name} (h = {t.hidden:,})",
                f"{caught} of {len(bugs)}",
                f"{alarms} of {len(correct)}",
                names_it.get(t.name, ""),
                f"{t.loss_calls:,}",
                fmt_seconds(t.seconds),
            ]
        )
    return markdown_table(
        [
            "tool",
            "bugs caught",
            "false alarms on correct code",
            "says what is wrong?",
            "loss calls per check",
            "time per check",
        ],
        rows,
        "lrrlrr",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller nets (h = 100 and 30)")
    options = parser.parse_args()
    results = run(options.quick)
    for title, tools in (("forum scale", results.forum), ("small net", results.small)):
        print(f"\n{title}\n")
        print(bug_table(tools))
        print()
        print(summary_table(tools))


if __name__ == "__main__":
    main()
