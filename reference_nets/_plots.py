"""PNG plots for the demo: loss curves and decision boundaries (needs matplotlib).

Figures are drawn with matplotlib's object-oriented API on the Agg canvas, so no display
and no global backend switch are needed. Import this module only after checking that
matplotlib is importable; the demo skips its plots otherwise.
"""

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from jaxtyping import Float, Int
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from reference_nets._training import TrainingRun

#: Points per side of the grid on which decision regions are evaluated.
GRID_SIZE = 200
#: Grid points classified per call, so a net with a wide hidden layer stays small in memory.
CHUNK = 4000


def save_loss_curves(runs: Mapping[str, TrainingRun], path: Path, *, title: str) -> Path:
    """Plot each run's recorded losses against the step number (log scale) into ``path``."""
    figure = Figure(figsize=(7, 4.5))
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    # Dashes after the first curve, so identical curves (the two layouts) stay visible.
    for number, (label, run) in enumerate(runs.items()):
        linestyle = "-" if number == 0 else (0, (4, 3 + number))
        axes.plot(run.steps, run.losses, linestyle=linestyle, marker=".", label=label)
    axes.set_yscale("log")
    axes.set_xlabel("gradient-descent step")
    axes.set_ylabel("training loss")
    axes.set_title(title)
    axes.grid(visible=True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path


def save_decision_regions(
    predict_points: Callable[[Float[np.ndarray, "n 2"]], Int[np.ndarray, " n"]],
    points: Float[np.ndarray, "batch 2"],
    labels: Int[np.ndarray, " batch"],
    path: Path,
    *,
    title: str,
) -> Path:
    """Colour the plane by predicted class and scatter the training points on top.

    ``predict_points`` takes points one per row, (n, 2), whatever the net's layout; the
    caller transposes for a column-major net. ``points`` are one per row too.
    """
    low = points.min(axis=0) - 0.25
    high = points.max(axis=0) + 0.25
    xs = np.linspace(low[0], high[0], GRID_SIZE)
    ys = np.linspace(low[1], high[1], GRID_SIZE)
    grid_x, grid_y = np.meshgrid(xs, ys)
    grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    predicted = np.concatenate(
        [predict_points(grid[start : start + CHUNK]) for start in range(0, len(grid), CHUNK)]
    )
    classes = int(max(labels.max(), predicted.max())) + 1
    figure = Figure(figsize=(5.5, 5))
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    levels = np.arange(classes + 1) - 0.5
    axes.contourf(
        grid_x, grid_y, predicted.reshape(grid_x.shape), levels=levels, cmap="Spectral",
        vmin=0, vmax=classes - 1, alpha=0.6,
    )  # fmt: skip
    axes.scatter(
        points[:, 0], points[:, 1], c=labels, cmap="Spectral", vmin=0, vmax=classes - 1,
        s=12, edgecolors="black", linewidths=0.3,
    )  # fmt: skip
    axes.set_xlim(low[0], high[0])
    axes.set_ylim(low[1], high[1])
    axes.set_aspect("equal")
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path
