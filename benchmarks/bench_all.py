"""Run every benchmark and write docs/benchmarks.md and docs/img/bench_cost.png.

    make bench                                       # installs the bench extra, then this
    .venv/bin/python tests/benchmarks/bench_all.py   # about 7 minutes
    .venv/bin/python tests/benchmarks/bench_all.py --quick --out /tmp/bench.md  # smoke test

It runs, one after the other (never side by side, so they do not disturb each other's
timings):

1. bench_decorator.py (a colleague's benchmark, run as it is, in its own process) for
   the per-call overhead of ``@checked_backward``;
2. bench_cost.py: loss calls and time of the default check, the full check and the
   classic loop on the forum net at h = 30 … 10,000, and the plot;
3. bench_bugs.py: the same bugs through gradcheck, the 1e-7 loop, scipy's check_grad and
   numdifftools;
4. bench_slips.py: small slips, through the default check and the full check (every
   entry), to see what the default check's few probes give up.

Then it writes the results, the machine and the versions into one markdown file.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy is imported

import argparse  # noqa: E402
import datetime  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import bench_bugs  # noqa: E402
import bench_cost  # noqa: E402
import bench_slips  # noqa: E402
from _common import (  # noqa: E402
    CLASSIC_REL,
    CLASSIC_STEP,
    ROOT,
    fmt_seconds,
    machine_lines,
    markdown_table,
    param_count,
)

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = ROOT / "docs" / "benchmarks.md"
DEFAULT_PNG = ROOT / "docs" / "img" / "bench_cost.png"
COST_TARGET = 8.0  # the default check at forum scale, × one loss + backward
DECORATOR_TARGET = 1.0  # percent, at forum scale, after the first call


# ----------------------------------------------------------------------------- decorator


@dataclass
class DecoratorSection:
    label: str
    plain_min_us: float | None = None
    decorated_pct: float | None = None  # end to end, min over repeats
    decorated_us: float | None = None
    jaxtyped_pct: float | None = None
    jaxtyped_us: float | None = None
    alone_us: float | None = None  # the wrapper alone (ready-made gradients)
    alone_pct: float | None = None


@dataclass
class DecoratorResults:
    command: str
    output: str
    seconds: float
    sections: dict[str, DecoratorSection]
    returncode: int


_NUMBER = r"([+-]?\d+(?:\.\d+)?)"


def _parse_decorator(output: str) -> dict[str, DecoratorSection]:
    """Pick the figures out of bench_decorator.py's printed tables."""
    sections: dict[str, DecoratorSection] = {}
    current: DecoratorSection | None = None
    for line in output.splitlines():
        header = re.match(r"^(\S.*?): N=", line)
        if header:
            current = DecoratorSection(header.group(1))
            sections[current.label] = current
            continue
        if current is None:
            continue
        cols = rf"\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s*{_NUMBER}%"
        plain = re.match(rf"^\s+plain\s+{_NUMBER}\s+{_NUMBER}\s*$", line)
        decorated = re.match(rf"^\s+decorated \(after 1st call\){cols}", line)
        jaxtyped = re.match(rf"^\s+jaxtyped\+beartype{cols}", line)
        alone = re.search(
            rf"wrapper alone \(ready-made grads\): \+?{_NUMBER} µs \(min\).*= {_NUMBER}%", line
        )
        if plain:
            current.plain_min_us = float(plain.group(1))
        elif decorated:
            current.decorated_us = float(decorated.group(3))
            current.decorated_pct = float(decorated.group(5))
        elif jaxtyped:
            current.jaxtyped_us = float(jaxtyped.group(3))
            current.jaxtyped_pct = float(jaxtyped.group(5))
        elif alone:
            current.alone_us = float(alone.group(1))
            current.alone_pct = float(alone.group(2))
    return sections


def run_decorator(quick: bool) -> DecoratorResults:
    script = HERE / "bench_decorator.py"
    argv = [sys.executable, str(script), *(["--quick"] if quick else [])]
    command = " ".join(
        [
            ".venv/bin/python" if "venv" in sys.executable else "python",
            str(script.relative_to(ROOT)),
        ]
        + (["--quick"] if quick else [])
    )
    print(f"decorator: {command}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    output = done.stdout.strip("\n")
    if done.returncode:
        output += f"\n\n(exit status {done.returncode})\n{done.stderr.strip()}"
    print("  " + output.replace("\n", "\n  "), flush=True)
    return DecoratorResults(command, output, seconds, _parse_decorator(output), done.returncode)


# ----------------------------------------------------------------------------- the file


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.3g}%"


def _us(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f} µs"


def _yes(met: bool) -> str:
    return "**yes**" if met else "**no**"


def targets_section(
    cost: bench_cost.CostResults,
    bugs: bench_bugs.BugResults,
    slips: bench_slips.SlipResults,
    deco: DecoratorResults,
) -> tuple[str, dict[str, bool]]:
    forum = bench_cost.FORUM_HIDDEN
    lines: list[list[str]] = []
    met: dict[str, bool] = {}
    default_rows = [r for r in cost.rows if r.method == "default" and r.hidden == forum]
    base = cost.bases.get(forum)
    if default_rows and base:
        row = default_rows[0]
        assert row.timing is not None
        budget_calls = COST_TARGET * base.base_s / base.loss_s
        met["cost"] = row.timing.ratio_of_mins <= COST_TARGET
        lines.append(
            [
                f"default check of the forum net (h = {forum:,}) ≤ {COST_TARGET:g}× one loss "
                "+ backward",
                f"{row.timing.ratio_of_mins:.1f}× (fastest of {len(row.timing.seconds)} runs ÷ "
                f"fastest loss + backward; per run {row.timing.ratio_min:.1f}–"
                f"{row.timing.ratio_max:.1f}×), {row.loss_calls} loss calls; {COST_TARGET:g}× "
                f"is the time of about {budget_calls:.0f} loss calls here",
                _yes(met["cost"]),
            ]
        )
    else:
        lines.append([f"default check at h = {forum:,}", "not measured (--quick)", "—"])

    tools = bugs.forum + bugs.small
    default = next(t for t in bugs.forum if t.name == "gradcheck default")
    real = [b for b in bench_bugs.BUGS if b.is_bug]
    correct = [b for b in bench_bugs.BUGS if not b.is_bug]
    caught_by_default = {b.key for b in real if default.verdicts[b.key].flagged}
    caught_by_any = {b.key for t in tools for b in real if t.verdicts[b.key].flagged}
    alarms = sum(default.verdicts[b.key].flagged for b in correct)
    met["detection"] = caught_by_any <= caught_by_default and alarms == 0
    lines.append(
        [
            "… with no loss of detection",
            f"the default check at h = {default.hidden:,} caught {len(caught_by_default)} of "
            f"{len(real)} bugs with {alarms} false alarms on {len(correct)} correct "
            f"gradients; every bug that any tool (full check included) caught "
            f"{'is' if caught_by_any <= caught_by_default else 'is not'} among them",
            _yes(met["detection"]),
        ]
    )
    missed = slips.missed_by_default()
    full_caught, total = slips.caught("full", slips.small_hidden)
    lines.append(
        [
            "… on small slips (section 2b)",
            f"of the {total} (parameter, slip, seed) cases at h = {slips.small_hidden}, the "
            f"full check caught {full_caught}; the default check missed {len(missed)} of "
            "those"
            + (
                ": " + "; ".join(f"{c.name} {_slip_label(c.slip)} (seed {c.seed})" for c in missed)
                if missed
                else ""
            ),
            _yes(not missed),
        ]
    )
    met["slips"] = not missed

    section = deco.sections.get("forum-scale net")
    if section and section.alone_pct is not None:
        met["decorator"] = section.alone_pct <= DECORATOR_TARGET
        lines.append(
            [
                f"@checked_backward after the first call adds ≤ {DECORATOR_TARGET:g}% at forum "
                "scale",
                f"the wrapper alone: {_us(section.alone_us)} = {_pct(section.alone_pct)} of "
                f"the plain backward; end to end (difference of minimum times of a "
                f"{(section.plain_min_us or 0) / 1000:.1f} ms call): "
                f"{_pct(section.decorated_pct)}",
                _yes(met["decorator"]),
            ]
        )
    else:
        lines.append(["decorator overhead", "bench_decorator.py output not understood", "—"])
    table = markdown_table(["target", "measured", "met?"], lines)
    return table, met


#: Why a random direction can miss a slip that an entry-by-entry check sees.
_WHY_MISSED = {
    "swapped": "swapping entries i and j changes a direction's sum Σ gₖdₖ by "
    "(gⱼ − gᵢ)(dᵢ − dⱼ), which is small when the direction's weights dᵢ and dⱼ happen to be "
    "close (same sign, magnitudes within a few per cent), so the change can stay inside the "
    "tolerance. With ±1 directions it was exactly 0 for half of all swaps. A transposed "
    "or shifted gradient, the way permutations arise in backprop code, moves many entries "
    "and is caught (rows above).",
}
_WHY_MISSED_ANY = (
    "a random direction sums every entry's error with a random weight, so an error confined to "
    "entries whose gradient is small next to the parameter's others can stay inside the "
    "direction's tolerance, which the whole sum sets; an entry-by-entry check judges each "
    "entry against its own size."
)


def _slip_label(key: str) -> str:
    return next(s.label for s in bench_slips.SLIPS if s.key == key)


def slips_section(slips: bench_slips.SlipResults) -> str:
    small, forum = slips.small_hidden, slips.forum_hidden
    missed = slips.missed_by_default()
    kinds = sorted({c.kind for c in slips.cases if c.caught})
    parts = [
        "## 2b. Small slips: what the default check gives up",
        "",
        "The bugs above are gross. The default check probes the large parameters' largest "
        "entries and two random directions of each (one of them shared with the other "
        "large parameters, see how-it-decides) instead of every entry; to see what that "
        "gives up, each of W1, b1 and W2 of the forum net gets one small slip at a time "
        f"(drawn with `np.random.default_rng(100 + seed)`, seeds 0–{slips.seeds - 1}), and "
        f"goes to the default check (`seed=seed`) at h = {small} and h = {forum:,}, and to "
        f"`full=True` (every entry) at h = {small} (at h = {forum:,} it takes about half a "
        "minute per check). A case is caught when the slipped parameter fails. Written in "
        f"`tests/benchmarks/bench_slips.py`; {fmt_seconds(slips.seconds)} in all.",
        "",
        bench_slips.slip_table(slips),
        "",
        bench_slips.calls_line(slips) + ".",
        "",
        "Diagnoses given to the caught cases: " + ", ".join(f"`{k}`" for k in kinds) + ".",
        "",
    ]
    if missed:
        parts.append(
            "Cases the full check caught and the default check missed: "
            + "; ".join(f"{c.name}, {_slip_label(c.slip)}, seed {c.seed}" for c in missed)
            + "."
        )
        for key in sorted({c.slip for c in missed}):
            parts.append("")
            parts.append(f"- {_slip_label(key)}: {_WHY_MISSED.get(key, _WHY_MISSED_ANY)}")
    else:
        parts.append(
            f"The default check caught every case that the full check caught, at h = {small}."
        )
    return "\n".join(parts)


def cost_section(cost: bench_cost.CostResults, png: Path, out: Path) -> str:
    largest = max(
        r.hidden for r in cost.rows if r.method in ("full", "classic") and not r.extrapolated
    )
    top = max(cost.bases)
    slow_guess = (
        " and ".join(
            f"{fmt_seconds(r.seconds)} ({bench_cost.LABELS[r.method]})"
            for r in cost.rows
            if r.hidden == top and r.extrapolated
        )
        or "too long"
    )
    calls_by_h = ", ".join(
        f"{r.hidden:,}: {r.loss_calls}" for r in cost.rows if r.method == "default"
    )
    ratios = [b.base_s / b.loss_s for b in cost.bases.values()]
    base_ratios = f"{min(ratios):.1f} to {max(ratios):.1f}"
    try:
        image = png.relative_to(out.parent)
    except ValueError:
        image = png
    parts = [
        "## 1. What a check costs",
        "",
        "The forum net (two-layer ReLU + softmax, D = 2, K = 2, N = 800 spiral points: "
        "`reference_nets.data.spiral(400, 2, noise=0.5, rng=np.random.default_rng(0), "
        'layout="row_major")`, weights 0.01·N(0, 1), zero biases) at hidden width h, '
        "5h + 2 parameters. Three ways to check its correct gradients:",
        "",
        "- **gradcheck default**: `gradcheck.check_gradients(loss, grads, params)`;",
        "- **gradcheck full=True**: the same, every entry probed (five-point stencil);",
        f"- **classic loop (cs231n)**: for each entry, f(x + h) and f(x − h) with h = "
        f"{CLASSIC_STEP:g}, then restore (written in `tests/benchmarks/_common.py`).",
        "",
        "Loss calls are counted by a wrapper around the loss. Each run is timed with "
        "`time.perf_counter`; right before each run, one loss + backward (one `loss` call and "
        "one `gradients` call, which does its own forward pass; best of 5) is timed too. "
        "The headline ratio is the fastest run ÷ the fastest loss + backward (the least "
        "disturbed state of both on a busy 2-core machine); the per-run ratios (each run ÷ "
        "the loss + backward timed just before it) show the spread. Runs per row: as many as "
        "fit in about "
        f"{bench_cost.BUDGET_S:g} s (1 to {bench_cost.MAX_REPEAT}); a row with 1 run has "
        "min = median.",
        "",
        "One loss call and one loss + backward at each size (best of 11):",
        "",
        bench_cost.base_table(cost),
        "",
        bench_cost.cost_table(cost),
        "",
        f"The full check and the classic loop are measured up to h = {largest:,} "
        f"({param_count(largest):,} parameters). Above that they are **extrapolated, not "
        "measured**: their loss calls grow in proportion to the parameter count (2 per "
        "entry for the loop, about 4 per entry for the full check), so at the largest size "
        f"they would take {slow_guess} here, far beyond `make bench`'s 10-minute budget. "
        "The estimate is (loss calls per "
        f"parameter at h = {largest:,}) × parameters × (one loss call at the larger size, "
        f"measured) × (run time / (calls × loss time) at h = {largest:,}).",
        "",
        f"![Loss calls and time per check against the parameter count]({image})",
        "",
        "The default check's cost does not grow with the parameter count: a parameter with "
        "more than 32 entries gets 2 random directions and its largest entry, probed together "
        "with the other large parameters first (2 loss calls per probe when the quick first "
        "look settles it, 4 or more otherwise; "
        "random entries follow only a failure), a smaller one every entry, and 10 loss "
        "calls go to the value "
        "at x and the estimate of the loss's rounding noise; a probe that fails is retried. "
        f"Its loss calls here, by h: {calls_by_h}. The full check's and the loop's grow "
        "in proportion to the parameters. A loss + backward costs "
        f"{base_ratios} loss calls at these sizes, which sets how many loss calls the "
        f"{COST_TARGET:g}× target allows.",
    ]
    return "\n".join(parts)


def bugs_section(bugs: bench_bugs.BugResults) -> str:
    forum, small = bugs.forum_hidden, bugs.small_hidden
    reports = []
    default = next(t for t in bugs.forum if t.name == "gradcheck default")
    for bug in bench_bugs.BUGS:
        reports.append(f"== {bug.label} ==\n{default.verdicts[bug.key].detail}\n")
    loop = next(t for t in bugs.forum if t.name == "1e-7 loop")
    loop_lines = [f"- {bug.label}: {loop.verdicts[bug.key].detail}" for bug in bench_bugs.BUGS]
    nd = next(t for t in bugs.forum if t.name == "numdifftools")
    nd_lines = [f"- {bug.label}: {nd.verdicts[bug.key].detail}" for bug in bench_bugs.BUGS]
    parts = [
        "## 2. Which tools catch which bugs",
        "",
        "The forum net with its correct gradients and six bugs, each given to four tools. "
        "How each decides:",
        "",
        "- **gradcheck default / full=True**: caught when `report.passed` is false; it "
        "says what the report's diagnoses say (the full text is below).",
        f"- **1e-7 loop**: the cs231n loop above (h = {CLASSIC_STEP:g}, every entry), then "
        f"rel = \\|a − n\\| / max(\\|a\\|, \\|n\\|) per entry; rel > {CLASSIC_REL:g} flags "
        "the entry. Shapes meet as in the notebook's `rel_error`, by broadcasting: a pair "
        "that does not broadcast is a crash, which counts as caught.",
        "- **scipy check_grad**: `scipy.optimize.check_grad(f, g, x0)` on the flattened "
        "parameters (forward differences, step √eps ≈ 1.5e-8). It returns one number, "
        "‖g − g_fd‖₂. **Threshold**: flagged when that exceeds "
        f"{bench_bugs.SCIPY_REL:g}·‖g‖₂. Why: the cs231n notes call a relative error below "
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
        "",
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
    return "\n".join(parts)


def decorator_section(deco: DecoratorResults) -> str:
    forum = deco.sections.get("forum-scale net")
    tiny = deco.sections.get("tiny net")
    words = []
    for section in (tiny, forum):
        if section is None or section.alone_pct is None:
            continue
        words.append(
            f"- {section.label}: the wrapper alone adds {_us(section.alone_us)} per call "
            f"({_pct(section.alone_pct)} of the plain backward's "
            f"{(section.plain_min_us or 0):,.1f} µs); end to end, decorated vs plain "
            f"{_us(section.decorated_us)} ({_pct(section.decorated_pct)}), "
            f"jaxtyped+beartype vs plain {_us(section.jaxtyped_us)} "
            f"({_pct(section.jaxtyped_pct)})."
        )
    parts = [
        "## 3. The decorator's overhead",
        "",
        "`tests/benchmarks/bench_decorator.py` (a colleague's benchmark, run unchanged in its "
        f"own process as `{deco.command}`, {fmt_seconds(deco.seconds)}) times the forum's "
        "inline backward plain, decorated with `@checked_backward(loss)` after its first "
        "(checked) call, decorated with jaxtyping annotations, under `GRADCHECK=never`, and "
        "wrapped by `jaxtyping.jaxtyped(typechecker=beartype)` on the same annotated "
        "function; and the wrapper alone around a function that returns ready-made "
        "gradients, which isolates the per-call cost from the backward's own noise. Its "
        "output:",
        "",
        "```text",
        deco.output,
        "```",
        "",
        "In short:",
        "",
        *words,
        "",
        "The end-to-end differences are differences of two minimum times of a call that "
        "varies by more than they do from repeat to repeat (compare min and median); the "
        "wrapper-alone figure measures the same added work without that noise, and is the "
        "one the target is judged on.",
    ]
    return "\n".join(parts)


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


def observations(cost: bench_cost.CostResults, bugs: bench_bugs.BugResults) -> str:
    """What the figures say, with the numbers of this run."""
    forum = bench_cost.FORUM_HIDDEN
    items = []
    row = next((r for r in cost.rows if r.method == "default" and r.hidden == forum), None)
    base = cost.bases.get(forum)
    if row is not None and base is not None and row.timing is not None:
        allowed = COST_TARGET * base.base_s / base.loss_s
        own = cost.own_work.get(forum)
        in_loss = row.loss_calls * base.loss_s
        if own is not None:
            rest = row.seconds - in_loss - own.seconds
            own_words = (
                f"gradcheck's own work is {fmt_seconds(own.seconds)} (the same check of a "
                f"stand-in loss that is linear in the parameters and costs microseconds: "
                f"{own.loss_calls} calls), "
            )
            if rest >= 0:
                own_words += (
                    f"and the remaining {fmt_seconds(rest)} is the loss calls running slower "
                    "inside the check than the one call timed alone"
                )
            else:
                own_words += (
                    "and the loss calls timed alone add up to more than the check's fastest "
                    "run: on this machine one call's best time moves between measurements "
                    "by more than gradcheck's own work, which is why the ratio compares "
                    "each run with a loss + backward timed right before it"
                )
        else:
            own_words = "the rest is gradcheck's own work"
        verdict = "met" if row.ratio <= COST_TARGET else "not met"
        items.append(
            f"**The {COST_TARGET:g}× cost target is {verdict}.** At h = {forum:,} one loss + "
            f"backward costs {base.base_s / base.loss_s:.1f} loss calls, so {COST_TARGET:g}× "
            f"allows about {allowed:.0f} loss calls; the default check makes "
            f"{row.loss_calls} ({row.ratio:.1f}×; per run {row.timing.ratio_min:.1f}–"
            f"{row.timing.ratio_max:.1f}×): {calls_words(cost.breakdowns.get(forum, {}))}. "
            f"{row.loss_calls} × one loss call = {fmt_seconds(in_loss)} of its "
            f"{fmt_seconds(row.seconds)}; {own_words}. The cost does not grow with the parameter "
            "count (section 1). Against the alternatives the default check is cheap: "
            + ", ".join(
                f"{bench_cost.LABELS[r.method]} {'≈ ' if r.extrapolated else ''}{r.ratio:,.0f}×"
                for r in cost.rows
                if r.hidden == forum and r.method != "default"
            )
            + " at the same size."
        )
    loop = next(t for t in bugs.forum if t.name == "1e-7 loop")
    nd = next(t for t in bugs.forum if t.name == "numdifftools")
    scipy = next(t for t in bugs.forum if t.name == "scipy check_grad")
    items.append(
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
    )
    items.append(
        "**numdifftools cries wolf too** "
        f"({nd.verdicts['correct'].says}): its default steps run from 2 down to about "
        "1.2e-4 (MaxStepGenerator, 15 steps halving), far larger than the distance of many "
        "pre-activations from their kink at these small initial weights, so its "
        "extrapolated derivative for W1 and b1 mixes slopes from both sides of many kinks. "
        f"It also makes the most loss calls per parameter here "
        f"({nd.loss_calls / param_count(nd.hidden):.0f})."
    )
    alarm = scipy.verdicts["correct"].flagged
    items.append(
        "**scipy's check_grad** gives one number for the whole gradient: "
        f"{scipy.verdicts['correct'].says} on correct code at h = {scipy.hidden:,}, "
        + (
            f"above the {bench_bugs.SCIPY_REL:g} threshold: a false alarm (from b1 entries "
            "whose units sit within the forward step of a ReLU kink). "
            if alarm
            else f"below the {bench_bugs.SCIPY_REL:g} threshold. "
        )
        + "It cannot say which parameter is wrong or how, and flattening hides shape slips."
    )
    missed_keepdims = [
        t.name
        for t in bugs.forum + bugs.small
        if not t.verdicts["keepdims"].flagged and not t.name.startswith("gradcheck")
    ]
    if missed_keepdims:
        items.append(
            "**The keepdims slip passes every tool but gradcheck** "
            f"({', '.join(sorted(set(missed_keepdims)))} missed it): flat tools ravel it "
            "into the same numbers, and the loop's broadcasting of (h,) against (1, h) "
            "compares the same values. It is harmless in this row-major net's update, but "
            "the same slip in the column-major twin ((h,) against a (h, 1) bias) broadcasts "
            "to (h, h) there."
        )
    default = next(t for t in bugs.forum if t.name == "gradcheck default")
    reg = default.verdicts["reg"]
    if reg.flagged and "regularisation" in reg.says:
        items.append(
            "**gradcheck names the missing reg·W** "
            f"({reg.says}): the difference is the weights times one coefficient, fitted "
            "across the probes, so the report gives reg itself."
        )
    elif reg.flagged and "mismatch" in reg.says:
        items.append(
            "**gradcheck catches the missing reg·W but names it only as a mismatch** "
            f'({reg.says}): "no single scale, sign or transpose explains it". It does not '
            "say that the difference is proportional to the weights (reg·W). Noted, not "
            "changed here."
        )
    return "## Observations\n\n" + "\n".join(f"- {item}" for item in items)


def write_markdown(
    out: Path,
    png: Path,
    cost: bench_cost.CostResults,
    bugs: bench_bugs.BugResults,
    slips: bench_slips.SlipResults,
    deco: DecoratorResults,
    seconds: float,
    quick: bool,
) -> dict[str, bool]:
    targets, met = targets_section(cost, bugs, slips, deco)
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = [
        "# Benchmarks",
        "",
        "<!-- Generated by tests/benchmarks/bench_all.py (make bench): edit that script, "
        "not this file. -->",
        "",
        "What a gradient check costs on the forum net, how gradcheck compares with the usual "
        "alternatives on the same bugs, and what `@checked_backward` adds to a call. All "
        "figures come from one run of one command:",
        "",
        "```sh",
        "make bench    # installs the bench extra (scipy, numdifftools, matplotlib) into .venv,",
        "              # then runs: .venv/bin/python tests/benchmarks/bench_all.py",
        "```",
        "",
        f"This run: {today}, {fmt_seconds(seconds)} for bench_all.py"
        + (" (**--quick: smoke-test sizes, not the real figures**)" if quick else "")
        + ". Times are machine-dependent; the ratios (time as a multiple of one loss + "
        "backward measured right before) are what carry over to another machine.",
        "",
        "## Machine",
        "",
        *machine_lines(),
        "",
        "## Targets",
        "",
        targets,
    ]
    body = [
        "\n".join(header),
        observations(cost, bugs),
        cost_section(cost, png, out),
        bugs_section(bugs),
        slips_section(slips),
        decorator_section(deco),
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n\n".join(body) + "\n", encoding="utf-8")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: small sizes")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown file to write")
    parser.add_argument("--png", type=Path, default=None, help="plot to write")
    options = parser.parse_args()
    out: Path = options.out.resolve()
    png: Path = options.png or (DEFAULT_PNG if out == DEFAULT_OUT else out.with_suffix(".png"))
    png = png.resolve()
    started = time.perf_counter()
    deco = run_decorator(options.quick)
    cost = bench_cost.run(options.quick)
    bench_cost.plot(cost, png)
    bugs = bench_bugs.run(options.quick, cost.classic_gradients)
    slips = bench_slips.run(options.quick)
    seconds = time.perf_counter() - started
    met = write_markdown(out, png, cost, bugs, slips, deco, seconds, options.quick)
    print(f"\nwrote {out} and {png} in {fmt_seconds(seconds)}")
    for name, ok in met.items():
        print(f"  target {name}: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
