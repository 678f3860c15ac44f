"""What a gradient check costs on the forum net, as loss calls and as multiples of one step.

Run it (not collected by pytest; ``make bench`` runs it as part of bench_all.py):

    .venv/bin/python tests/benchmarks/bench_cost.py           # ~3 minutes
    .venv/bin/python tests/benchmarks/bench_cost.py --quick   # smoke test, ~20 s

Three ways to check the forum's two-layer ReLU + softmax net (D = 2, K = 2, N = 800 spiral
points) at several hidden widths h (5h + 2 parameters):

- default: ``gradcheck.check_gradients(loss, grads, params)``;
- full: the same with ``full=True`` (every entry, five-point stencil);
- classic: the cs231n loop, written here: for each entry, f(x + h) and f(x − h) with
  h = 1e-5, then restore.

For each it counts loss calls (a counting wrapper) and times runs with time.perf_counter;
before each run it times one loss + backward (one ``loss`` call and one ``gradients``
call, best of a few), and reports the run as a multiple of that, so that a slow phase of
the machine hits both sides of the ratio. The full check and the classic loop grow with
the parameter count and are measured at h = 30, 100 and 1000 (30 and 100 with --quick); above
that their loss calls and time are extrapolated from the largest measured size (per
parameter) and the measured cost of one loss call at the larger size.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy is imported

import argparse  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import _common  # noqa: E402
import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    ForumNet,
    Params,
    Timing,
    best_of,
    classic_numeric_gradient,
    fmt_seconds,
    markdown_table,
    timed_against,
)

import gradcheck  # noqa: E402

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
METHODS = ("default", "full", "classic")
LABELS = {
    "default": "gradcheck default",
    "full": "gradcheck full=True",
    "classic": "classic loop (cs231n)",
}


@dataclass
class Row:
    method: str
    hidden: int
    params: int
    loss_calls: int
    timing: Timing | None  # None when extrapolated
    seconds: float  # fastest run (measured) or estimate
    ratio: float  # fastest run / fastest loss + backward, measured or estimated
    passed: bool | None = None  # the check's verdict on the correct gradients

    @property
    def extrapolated(self) -> bool:
        return self.timing is None


@dataclass
class SizeBase:
    hidden: int
    params: int
    loss_s: float  # one loss call, best of a few
    base_s: float  # one loss + backward, best of a few


@dataclass
class OwnWork:
    """The default check of a stand-in loss that costs next to nothing: its time is
    gradcheck's own work (copies, bookkeeping, judging) for that many loss calls."""

    hidden: int
    loss_calls: int
    seconds: float  # fastest run


@dataclass
class CostResults:
    quick: bool
    bases: dict[int, SizeBase] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    own_work: dict[int, OwnWork] = field(default_factory=dict)
    #: The default check's loss calls by what each moved (see :func:`call_breakdown`).
    breakdowns: dict[int, dict[str, int]] = field(default_factory=dict)
    #: The classic loop's numeric gradient of the correct net, reused by bench_bugs.
    classic_gradients: dict[int, Params] = field(default_factory=dict)

    def row(self, method: str, hidden: int) -> Row:
        return next(r for r in self.rows if r.method == method and r.hidden == hidden)


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


def plot(results: CostResults, path: Path) -> None:
    """Loss calls and time (as multiples of one loss + backward) against parameter count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = {"default": "tab:blue", "full": "tab:orange", "classic": "tab:green"}
    for method in METHODS:
        rows = [r for r in results.rows if r.method == method]
        measured = [r for r in rows if not r.extrapolated]
        guessed = [r for r in rows if r.extrapolated]
        for ax, value in ((axes[0], "loss_calls"), (axes[1], "ratio")):
            ax.plot(
                [r.params for r in measured],
                [getattr(r, value) for r in measured],
                "o-",
                color=colours[method],
                label=LABELS[method],
            )
            if guessed:
                bridge = [measured[-1], *guessed]
                ax.plot(
                    [r.params for r in bridge],
                    [getattr(r, value) for r in bridge],
                    "--",
                    color=colours[method],
                )
                ax.plot(
                    [r.params for r in guessed],
                    [getattr(r, value) for r in guessed],
                    "o",
                    color=colours[method],
                    markerfacecolor="white",
                    label=f"{LABELS[method]} (extrapolated)",
                )
    axes[1].axhline(8, color="grey", linestyle=":", linewidth=1)
    axes[1].text(
        0.02,
        8,
        " target for the default check: 8×",
        transform=axes[1].get_yaxis_transform(),
        va="bottom",
        fontsize=8,
        color="grey",
    )
    sizes = sorted(results.bases.values(), key=lambda b: b.hidden)
    for ax, title in (
        (axes[0], "loss calls per check"),
        (axes[1], "time per check / (one loss + backward)"),
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(
            [b.params for b in sizes], [f"{b.params:,}\nh={b.hidden:,}" for b in sizes], fontsize=8
        )
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("parameters (5h + 2)")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle("Cost of a gradient check on the forum net (N = 800, D = 2, K = 2)", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
