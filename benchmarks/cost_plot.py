"""The plot of bench_cost.py's results: loss calls and time per check against parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cost_results import LABELS, METHODS, CostResults

COLOURS = {"default": "tab:blue", "full": "tab:orange", "classic": "tab:green"}


def _plot_method(axes: Any, results: CostResults, method: str) -> None:
    """One method's measured points (joined), and its extrapolated ones (hollow, dashed)."""
    rows = [r for r in results.rows if r.method == method]
    measured = [r for r in rows if not r.extrapolated]
    guessed = [r for r in rows if r.extrapolated]
    colour = COLOURS[method]
    for ax, value in ((axes[0], "loss_calls"), (axes[1], "ratio")):
        ax.plot(
            [r.params for r in measured],
            [getattr(r, value) for r in measured],
            "o-",
            color=colour,
            label=LABELS[method],
        )
        if guessed:
            bridge = [measured[-1], *guessed]
            ax.plot(
                [r.params for r in bridge], [getattr(r, value) for r in bridge], "--", color=colour
            )
            ax.plot(
                [r.params for r in guessed],
                [getattr(r, value) for r in guessed],
                "o",
                color=colour,
                markerfacecolor="white",
                label=f"{LABELS[method]} (extrapolated)",
            )


def _dress_axes(axes: Any, results: CostResults) -> None:
    """The 8× target line, log axes ticked at the measured sizes, titles and legend."""
    from matplotlib.ticker import NullFormatter

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


def plot(results: CostResults, path: Path) -> None:
    """Loss calls and time (as multiples of one loss + backward) against parameter count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for method in METHODS:
        _plot_method(axes, results, method)
    _dress_axes(axes, results)
    fig.suptitle("Cost of a gradient check on the forum net (N = 800, D = 2, K = 2)", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
