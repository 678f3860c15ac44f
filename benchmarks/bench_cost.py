"""What a gradient check costs on the forum net, as loss calls and as multiples of one step.

Run it (not collected by pytest; ``make bench`` runs it as part of bench_all.py):

    .venv/bin/python benchmarks/bench_cost.py           # ~3 minutes
    .venv/bin/python benchmarks/bench_cost.py --quick   # smoke test, ~20 s

The default check, ``full=True`` and the cs231n loop on the forum's two-layer ReLU + softmax
net at several hidden widths h: loss calls (counted) and run times, each as a multiple of
one loss + backward timed right before it. The full check and the loop are measured up to
h = 1000 (100 with --quick) and extrapolated above that.
"""

from __future__ import annotations

# _common first: importing it pins BLAS to one thread before numpy loads.
import _common
from _common import (
    ForumNet,
    Params,
    best_of,
    classic_numeric_gradient,
    fmt_seconds,
    markdown_table,
    timed_against,
)

# isort: split
import argparse
from pathlib import Path

import numpy as np
from cost_plot import plot
from cost_results import LABELS, METHODS, CostResults, OwnWork, Row, SizeBase

import gradcheck

#: Hidden widths for the default check (all measured).
SIZES = (30, 100, 300, 1000, 3000, 10000)
QUICK_SIZES = (30, 100, 300, 1000)
#: Hidden widths at which the full check and the classic loop are measured; larger ones
#: are extrapolated (at h = 10000 they would take hours).
SLOW_SIZES = (30, 100, 1000)
QUICK_SLOW_SIZES = (30, 100)
#: The width the issue calls "forum scale".
FORUM_HIDDEN = 1000
#: Seconds of runs to aim for per (method, size), and the most and fewest repeats.
BUDGET_S = 5.0
MAX_REPEAT = 15
MIN_REPEAT = 1


def _repeats(expected_s: float) -> int:
    return max(MIN_REPEAT, min(MAX_REPEAT, int(BUDGET_S / max(expected_s, 1e-9))))


def measure_size(hidden: int, slow: bool, results: CostResults) -> None:
    problem = ForumNet.make(hidden)
    loss_s = best_of(lambda: problem.loss(problem.params), 11, budget_s=0.5)
    base_s = best_of(problem.loss_and_backward, 11, budget_s=0.5)
    results.bases[hidden] = SizeBase(hidden, problem.size, loss_s, base_s)
    for method in METHODS if slow else ("default",):
        measure_method(problem, method, loss_s, results)
    results.own_work[hidden] = measure_own_work(problem)
    results.breakdowns[hidden] = call_breakdown(problem)


def call_breakdown(problem: ForumNet) -> dict[str, int]:
    """The default check's loss calls on the correct net, grouped by the parameters each
    call moved: ``"x"`` for none (the value at x), else their names (``"W1, b1, W2, b2"``
    for the noise line through all of them, ``"W1, b1, W2"`` for a joint probe, one name
    for a parameter's own probe). Measured from the calls, not assumed."""
    grads = problem.grads()
    base = problem.params
    counts: dict[str, int] = {}

    def loss(params: Params) -> float:
        moved = [k for k in base if not np.array_equal(params[k], base[k])]
        key = ", ".join(moved) or "x"
        counts[key] = counts.get(key, 0) + 1
        return problem.loss(params)

    gradcheck.check_gradients(loss, grads, base)
    return counts


def measure_own_work(problem: ForumNet) -> OwnWork:
    """Time the default check of a loss that is exactly linear in the parameters, with the
    net's correct gradients as its gradient: ``f0 + Σ⟨g, p − p0⟩`` costs microseconds per
    call, so the check's time is gradcheck's own work for its loss calls."""
    grads = problem.grads()
    base = {k: v.copy() for k, v in problem.params.items()}
    f0 = problem.loss(problem.params)
    calls = [0]

    def linear(params: Params) -> float:
        calls[0] += 1
        return f0 + sum(float(np.vdot(grads[k], params[k] - base[k])) for k in grads)

    def check() -> None:
        gradcheck.check_gradients(linear, grads, problem.params)

    check()  # warm-up, and the calls of one run
    loss_calls = calls[0]
    seconds = best_of(check, MAX_REPEAT, budget_s=1.0)
    return OwnWork(problem.hidden, loss_calls, seconds)


def measure_method(problem: ForumNet, method: str, loss_s: float, results: CostResults) -> None:
    """Count and time one method on one net; append its row to ``results``."""
    grads = problem.grads()
    counter = _common.CountingLoss(problem)
    loss = counter.as_function()
    outcome: dict[str, object] = {}

    def check() -> None:
        outcome["report"] = gradcheck.check_gradients(
            loss, grads, problem.params, full=method == "full"
        )

    def classic() -> None:
        outcome["numeric"] = classic_numeric_gradient(loss, problem.params)

    run = classic if method == "classic" else check
    expected_calls = {"default": 70, "full": 4 * problem.size + 10, "classic": 2 * problem.size}
    expected_s = expected_calls[method] * loss_s
    repeat = _repeats(expected_s)
    if expected_s < 5.0:
        run()  # warm-up (first-call costs: imports, caches)
    counter.calls = 0
    timing = timed_against(run, problem.loss_and_backward, repeat)
    calls = counter.calls // repeat
    report = outcome.get("report")
    passed = bool(report.passed) if isinstance(report, gradcheck.GradientReport) else None
    numeric = outcome.get("numeric")
    if isinstance(numeric, dict):
        results.classic_gradients[problem.hidden] = numeric
    results.rows.append(
        Row(
            method,
            problem.hidden,
            problem.size,
            calls,
            timing,
            timing.min,
            timing.ratio_of_mins,
            passed,
        )
    )
    print(
        f"  h={problem.hidden:<6} {LABELS[method]:<22} {calls:>7} loss calls  "
        f"{fmt_seconds(timing.min):>9} (×{timing.ratio_of_mins:.1f} loss+backward, "
        f"{repeat} runs)",
        flush=True,
    )


def extrapolate(results: CostResults, sizes: tuple[int, ...], slow_sizes: tuple[int, ...]) -> None:
    """Estimate the full check and the classic loop where they were not measured.

    Loss calls scale with the parameter count (the per-parameter count of the largest
    measured size); time is those calls × one loss call at the larger size × the ratio of
    run time to (calls × loss time) seen at the largest measured size.
    """
    largest = max(slow_sizes)
    for method in ("full", "classic"):
        known = results.row(method, largest)
        base = results.bases[largest]
        per_param = known.loss_calls / known.params
        overhead = known.seconds / (known.loss_calls * base.loss_s)
        for hidden in sizes:
            if hidden <= largest:
                continue
            size = results.bases[hidden]
            calls = round(per_param * size.params) if method == "full" else 2 * size.params
            seconds = calls * size.loss_s * overhead
            results.rows.append(
                Row(method, hidden, size.params, calls, None, seconds, seconds / size.base_s)
            )


def run(quick: bool = False) -> CostResults:
    sizes = QUICK_SIZES if quick else SIZES
    slow_sizes = QUICK_SLOW_SIZES if quick else SLOW_SIZES
    results = CostResults(quick=quick)
    print("cost: default check, full check and classic loop on the forum net", flush=True)
    for hidden in sizes:
        measure_size(hidden, hidden in slow_sizes, results)
    extrapolate(results, sizes, slow_sizes)
    results.rows.sort(key=lambda r: (METHODS.index(r.method), r.hidden))
    return results


# ----------------------------------------------------------------------------- report


def cost_table(results: CostResults) -> str:
    rows = []
    for r in results.rows:
        if r.timing is None:
            rows.append(
                [
                    LABELS[r.method],
                    f"{r.hidden:,}",
                    f"{r.params:,}",
                    f"≈ {r.loss_calls:,}",
                    "—",
                    f"≈ {fmt_seconds(r.seconds)}",
                    "—",
                    f"≈ {r.ratio:,.0f}×",
                    "extrapolated",
                ]
            )
            continue
        t = r.timing
        rows.append(
            [
                LABELS[r.method],
                f"{r.hidden:,}",
                f"{r.params:,}",
                f"{r.loss_calls:,}",
                str(len(t.seconds)),
                fmt_seconds(t.min),
                fmt_seconds(t.median),
                f"{t.ratio_of_mins:,.1f}×",
                f"{t.ratio_median:,.1f}× ({t.ratio_min:,.1f}–{t.ratio_max:,.1f})",
            ]
        )
    return markdown_table(
        [
            "method",
            "h",
            "params",
            "loss calls",
            "runs",
            "time min",
            "time median",
            "× one loss + backward: min ÷ min",
            "per run: median (min–max)",
        ],
        rows,
        "llrrrrrrr",
    )


def base_table(results: CostResults) -> str:
    rows = [
        [
            f"{b.hidden:,}",
            f"{b.params:,}",
            fmt_seconds(b.loss_s),
            fmt_seconds(b.base_s),
            f"{b.base_s / b.loss_s:.1f}",
        ]
        for b in sorted(results.bases.values(), key=lambda b: b.hidden)
    ]
    return markdown_table(
        ["h", "params", "one loss call", "one loss + backward", "loss + backward / loss"],
        rows,
        "rrrrr",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--png", type=Path, help="also write the plot here")
    options = parser.parse_args()
    results = run(options.quick)
    print()
    print(base_table(results))
    print()
    print(cost_table(results))
    if options.png:
        plot(results, options.png)
        print(f"\nwrote {options.png}")


if __name__ == "__main__":
    main()
