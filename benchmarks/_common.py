"""Shared pieces of the benchmark scripts: the forum net, counting, timing, the machine.

Every script imports this before anything else. Importing it pins BLAS to one thread (see
:data:`BLAS_VARS`) before numpy loads, so that the two BLAS threads of a 2-core machine do
not fight the Python thread being timed and all figures are for one thread; and it puts this
checkout on ``sys.path`` (after anything on PYTHONPATH), so that ``python benchmarks/x.py``
finds ``gradcheck``, ``reference_nets`` and ``tests`` without an install.
"""

# The set-up below runs before numpy and the packages are imported.
# ruff: noqa: E402
from __future__ import annotations

import os
import sys
from pathlib import Path

#: Environment variables that pin BLAS to one thread (set before numpy is imported).
BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
for _var in BLAS_VARS:
    os.environ.setdefault(_var, "1")

#: The repository's root (this file is in benchmarks/).
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # a fallback: a checkout on PYTHONPATH comes first

import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reference_nets.data import spiral
from reference_nets.two_layer_relu import row_major as net

#: The forum question's set-up: two spiral arms of 400 points, angle noise 0.5, D = 2, K = 2.
POINTS_PER_CLASS = 400
CLASSES = 2
NOISE = 0.5
D_IN = 2

#: The cs231n central-difference step and relative-error threshold.
CLASSIC_STEP = 1e-5
CLASSIC_REL = 1e-7

Params = dict[str, NDArray[np.float64]]


def param_count(hidden: int) -> int:
    """Entries of W1 (D, h), b1 (1, h), W2 (h, K), b2 (1, K)."""
    return D_IN * hidden + hidden + hidden * CLASSES + CLASSES


@dataclass
class ForumNet:
    """The forum's two-layer ReLU + softmax net at hidden width ``hidden``, on its data.

    Data and initial weights come from one ``np.random.default_rng(seed)``: the spiral
    first, then the weights (0.01·N(0, 1), zero biases), as in ``reference_nets``.
    """

    hidden: int
    X: NDArray[np.float64]
    y: NDArray[np.int64]
    params: Params

    @classmethod
    def make(cls, hidden: int, seed: int = 0) -> ForumNet:
        rng = np.random.default_rng(seed)
        X, y = spiral(POINTS_PER_CLASS, CLASSES, noise=NOISE, rng=rng, layout="row_major")
        params = net.init_params(d_in=D_IN, hidden=hidden, classes=CLASSES, rng=rng)
        return cls(hidden, X, y, params)

    @property
    def size(self) -> int:
        return sum(p.size for p in self.params.values())

    def loss(self, params: Mapping[str, NDArray[np.float64]], reg: float = 0.0) -> float:
        return net.loss(params, self.X, self.y, reg)

    def grads(self, reg: float = 0.0) -> Params:
        return net.gradients(self.params, self.X, self.y, reg)

    def loss_and_backward(self, reg: float = 0.0) -> None:
        """What "one loss + backward" costs: one loss call and one gradient call."""
        self.loss(self.params, reg)
        self.grads(reg)


class CountingLoss:
    """``loss(params) -> float`` for the forum net that counts its calls."""

    def __init__(self, problem: ForumNet, reg: float = 0.0) -> None:
        self.problem = problem
        self.reg = reg
        self.calls = 0

    def __call__(self, params: Mapping[str, NDArray[np.float64]]) -> float:
        self.calls += 1
        return self.problem.loss(params, self.reg)

    def as_function(self) -> Callable[[Mapping[str, NDArray[np.float64]]], float]:
        """A plain function (gradcheck reads the signature to decide how to call it)."""

        def loss(params: Mapping[str, NDArray[np.float64]]) -> float:
            return self(params)

        return loss


def classic_numeric_gradient(
    loss: Callable[[Mapping[str, NDArray[np.float64]]], float],
    params: Mapping[str, NDArray[np.float64]],
    step: float = CLASSIC_STEP,
) -> Params:
    """The cs231n loop: for each entry, f(x + h) and f(x − h) in place, then restore.

    Works on a copy of ``params``; returns the central differences, shaped like ``params``.
    """
    work = {name: np.array(value, dtype=np.float64, copy=True) for name, value in params.items()}
    numeric: Params = {}
    for name, x in work.items():
        grad = np.zeros_like(x)
        for ix in np.ndindex(x.shape):
            old = x[ix]
            x[ix] = old + step
            plus = loss(work)
            x[ix] = old - step
            minus = loss(work)
            x[ix] = old
            grad[ix] = (plus - minus) / (2 * step)
        numeric[name] = grad
    return numeric


def relative_errors(analytic: NDArray[Any], numeric: NDArray[Any]) -> NDArray[np.float64]:
    """cs231n's rel = |a − n| / max(|a|, |n|) per entry (0 where both are 0), broadcast.

    Raises ValueError, as the cs231n notebook's ``rel_error`` does, when the shapes do not
    broadcast.
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    diff = np.abs(a - n)
    scale = np.maximum(np.abs(a), np.abs(n))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(scale > 0, diff / np.where(scale > 0, scale, 1.0), 0.0)
    return np.asarray(rel, dtype=np.float64)


def flatten(arrays: Mapping[str, Any], names: Iterable[str]) -> NDArray[np.float64]:
    """Concatenate ``arrays[name].ravel()`` in ``names`` order (what a flat tool needs)."""
    return np.concatenate([np.ravel(np.asarray(arrays[n], dtype=np.float64)) for n in names])


def unflatten(x: NDArray[np.float64], like: Mapping[str, NDArray[Any]]) -> Params:
    """Split a flat vector back into arrays shaped like ``like`` (views into ``x``)."""
    out: Params = {}
    start = 0
    for name, value in like.items():
        out[name] = x[start : start + value.size].reshape(value.shape)
        start += value.size
    return out


# ----------------------------------------------------------------------------- timing


def best_of(fn: Callable[[], Any], repeat: int, budget_s: float = 0.0) -> float:
    """The fastest of at least ``repeat`` calls of ``fn``, in seconds (time.perf_counter).

    With ``budget_s``, calls go on until that much time has passed (for short calls: on
    a busy machine, more tries find a quiet moment).
    """
    times: list[float] = []
    spent = 0.0
    while len(times) < repeat or spent < budget_s:
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
        spent += times[-1]
    return min(times)


@dataclass(frozen=True)
class Timing:
    """Seconds per run over repeats, and the same as multiples of a reference time."""

    seconds: tuple[float, ...]
    references: tuple[float, ...]  # the reference (best of a few) right before each run
    ratios: tuple[float, ...]  # each run / the reference measured right before it

    @property
    def min(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def ratio_of_mins(self) -> float:
        """Fastest run / fastest reference: the least disturbed state of both."""
        return min(self.seconds) / min(self.references)

    @property
    def ratio_median(self) -> float:
        return statistics.median(self.ratios)

    @property
    def ratio_min(self) -> float:
        return min(self.ratios)

    @property
    def ratio_max(self) -> float:
        return max(self.ratios)


def timed_against(
    fn: Callable[[], Any], reference: Callable[[], Any], repeat: int, reference_repeat: int = 5
) -> Timing:
    """Time ``fn`` ``repeat`` times; before each run, time ``reference`` (best of a few).

    Each ratio compares a run with the reference measured just before it, so that slow
    phases of a noisy machine hit both sides of the ratio alike.
    """
    seconds: list[float] = []
    references: list[float] = []
    ratios: list[float] = []
    for _ in range(repeat):
        ref = best_of(reference, reference_repeat, budget_s=0.05)
        started = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - started
        seconds.append(elapsed)
        references.append(ref)
        ratios.append(elapsed / ref)
    return Timing(tuple(seconds), tuple(references), tuple(ratios))


# ----------------------------------------------------------------------------- machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "gradcheck", "reference_nets"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out + (" (gradcheck/ or reference_nets/ modified)" if dirty else "")


def machine_lines() -> list[str]:
    """Markdown bullet lines describing the machine and the versions."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    blas = ", ".join(f"{v}={os.environ.get(v, 'unset')}" for v in BLAS_VARS)
    packages = ", ".join(
        f"{name} {package_version(name)}"
        for name in ("gradcheck", "numpy", "scipy", "numdifftools", "jaxtyping", "beartype")
    )
    return [
        f"- CPU: {cpu_model()}, {cores} cores available (nproc), {platform.machine()}",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()} ({sys.implementation.name}); {packages}",
        f"- BLAS pinned to one thread: {blas}",
        f"- gradcheck at commit {git_revision()}",
    ]


def fmt_seconds(seconds: float) -> str:
    if seconds >= 7200:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def markdown_table(header: list[str], rows: list[list[str]], align: str = "") -> str:
    """A pipe table; ``align`` holds one of l/r/c per column (default: left)."""
    marks = {"l": "---", "r": "--:", "c": ":-:"}
    spec = [marks[a] for a in (align or "l" * len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), "| " + " | ".join(spec) + " |", *map(line, rows)])
