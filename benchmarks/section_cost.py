"""Section 1 of docs/benchmarks.md: what a check costs, with its tables and plot."""

from __future__ import annotations

from _common import CLASSIC_STEP, fmt_seconds, param_count

# isort: split
from pathlib import Path

import bench_cost
from cost_results import LABELS, CostResults
from section_targets import COST_TARGET


def _how_measured() -> list[str]:
    """The net, the three methods, and how loss calls and times are measured."""
    return [
        "The forum net (two-layer ReLU + softmax, D = 2, K = 2, N = 800 spiral points: "
        "`reference_nets.data.spiral(400, 2, noise=0.5, rng=np.random.default_rng(0), "
        'layout="row_major")`, weights 0.01·N(0, 1), zero biases) at hidden width h, '
        "5h + 2 parameters. Three ways to check its correct gradients:",
        "",
        "- **gradcheck default**: `gradcheck.check_gradients(loss, grads, params)`;",
        "- **gradcheck full=True**: the same, every entry probed (five-point stencil);",
        f"- **classic loop (cs231n)**: for each entry, f(x + h) and f(x − h) with h = "
        f"{CLASSIC_STEP:g}, then restore (written in `benchmarks/_common.py`).",
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
    ]


def _extrapolated(cost: CostResults) -> str:
    """Where the full check and the loop stop being measured, and how they are estimated."""
    largest = max(
        r.hidden for r in cost.rows if r.method in ("full", "classic") and not r.extrapolated
    )
    top = max(cost.bases)
    slow_guess = (
        " and ".join(
            f"{fmt_seconds(r.seconds)} ({LABELS[r.method]})"
            for r in cost.rows
            if r.hidden == top and r.extrapolated
        )
        or "too long"
    )
    return (
        f"The full check and the classic loop are measured up to h = {largest:,} "
        f"({param_count(largest):,} parameters). Above that they are **extrapolated, not "
        "measured**: their loss calls grow in proportion to the parameter count (2 per "
        "entry for the loop, about 4 per entry for the full check), so at the largest size "
        f"they would take {slow_guess} here, far beyond `make bench`'s 10-minute budget. "
        "The estimate is (loss calls per "
        f"parameter at h = {largest:,}) × parameters × (one loss call at the larger size, "
        f"measured) × (run time / (calls × loss time) at h = {largest:,})."
    )


def _default_cost(cost: CostResults) -> str:
    """Why the default check's cost does not grow with the parameter count."""
    calls_by_h = ", ".join(
        f"{r.hidden:,}: {r.loss_calls}" for r in cost.rows if r.method == "default"
    )
    ratios = [b.base_s / b.loss_s for b in cost.bases.values()]
    base_ratios = f"{min(ratios):.1f} to {max(ratios):.1f}"
    return (
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
        f"{COST_TARGET:g}× target allows."
    )


def cost_section(cost: CostResults, png: Path, out: Path) -> str:
    try:
        image = png.relative_to(out.parent)
    except ValueError:
        image = png
    parts = [
        "## 1. What a check costs",
        "",
        *_how_measured(),
        "",
        "One loss call and one loss + backward at each size (best of 11):",
        "",
        bench_cost.base_table(cost),
        "",
        bench_cost.cost_table(cost),
        "",
        _extrapolated(cost),
        "",
        f"![Loss calls and time per check against the parameter count]({image})",
        "",
        _default_cost(cost),
    ]
    return "\n".join(parts)
