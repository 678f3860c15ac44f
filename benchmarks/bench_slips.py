"""Small slips: does the default check miss what probing every entry catches?

Run it (not collected by pytest; ``make bench`` runs it as part of bench_all.py):

    .venv/bin/python benchmarks/bench_slips.py           # ~2.5 minutes
    .venv/bin/python benchmarks/bench_slips.py --quick   # smoke test, ~10 s

bench_bugs.py gives each tool the forum's gross bugs (a sign, a missing 1/N, a transpose).
This one asks the finer question the cost target raises: the default check probes two
random directions (one shared by all large parameters) and the largest entry of each
large parameter instead of every entry, so what does
it lose? Each of W1, b1 and W2 of the forum net gets one slip at a time, from small to
subtle (a scale off by 1e-4, one entry off by 1% of the largest, two entries swapped,
...), drawn with ``np.random.default_rng(100 + seed)``. Each (parameter, slip, seed) goes
to:

- the default check (``seed=seed``) at h = 100 and at the forum's h = 1000;
- ``full=True`` (every entry probed) at h = 100 only: at h = 1000 it takes about 35 s per
  check here.

A case counts as caught when the slipped parameter fails (``report[name].passed`` is
false). The interesting cases are those the full check catches and the default misses.
"""

from __future__ import annotations

# _common first: importing it pins BLAS to one thread before numpy loads.
from _common import ForumNet, fmt_seconds, markdown_table

# isort: split
import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

import gradcheck

Array = NDArray[np.float64]
#: Parameters that get slips: the three large ones (b2, 2 entries, is probed entry by entry
#: by the default check too, so it cannot differ).
NAMES = ("W1", "b1", "W2")
SEEDS = 3
QUICK_SEEDS = 1
SMALL_HIDDEN = 100
FORUM_HIDDEN = 1000
QUICK_HIDDEN = (30, 100)


def _hidden_axis(g: Array) -> int:
    """The hidden-unit axis of a row-major parameter: W1 (D, h), b1 (1, h), W2 (h, K)."""
    return int(np.argmax(g.shape))


def _scale(factor: float) -> Callable[[Array, np.random.Generator], Array]:
    return lambda g, rng: g * factor


def _one_entry(fraction: float) -> Callable[[Array, np.random.Generator], Array]:
    def slip(g: Array, rng: np.random.Generator) -> Array:
        out = g.copy()
        out.flat[int(rng.integers(g.size))] += fraction * float(np.abs(g).max())
        return out

    return slip


def _largest_times(factor: float) -> Callable[[Array, np.random.Generator], Array]:
    def slip(g: Array, rng: np.random.Generator) -> Array:
        out = g.copy()
        out.flat[int(np.argmax(np.abs(g)))] *= factor
        return out

    return slip


def _noise(level: float) -> Callable[[Array, np.random.Generator], Array]:
    return lambda g, rng: g * (1 + level * rng.standard_normal(g.shape))


def _unit_zeroed(g: Array, rng: np.random.Generator) -> Array:
    out = g.copy()
    axis = _hidden_axis(g)
    index: list[slice | int] = [slice(None)] * g.ndim
    index[axis] = int(rng.integers(g.shape[axis]))
    out[tuple(index)] = 0.0
    return out


def _two_swapped(g: Array, rng: np.random.Generator) -> Array:
    out = g.copy()
    i, j = (int(k) for k in rng.choice(g.size, 2, replace=False))
    out.flat[i], out.flat[j] = g.flat[j], g.flat[i]
    return out


def _rolled(g: Array, rng: np.random.Generator) -> Array:
    return np.roll(g, 1, axis=_hidden_axis(g))


@dataclass(frozen=True)
class Slip:
    key: str
    label: str
    make: Callable[[Array, np.random.Generator], Array]


SLIPS = (
    Slip("scale_1e-2", "every entry × (1 + 1e-2)", _scale(1 + 1e-2)),
    Slip("scale_1e-3", "every entry × (1 + 1e-3) (N − 1 for N = 800 is 1.25e-3)", _scale(1 + 1e-3)),
    Slip("scale_1e-4", "every entry × (1 + 1e-4)", _scale(1 + 1e-4)),
    Slip("entry_10", "one random entry + 10% of the largest", _one_entry(0.1)),
    Slip("entry_1", "one random entry + 1% of the largest", _one_entry(0.01)),
    Slip("largest_1", "the largest entry × 1.01", _largest_times(1.01)),
    Slip("noise_1e-2", "every entry × (1 + 1e-2·N(0, 1))", _noise(1e-2)),
    Slip("noise_1e-3", "every entry × (1 + 1e-3·N(0, 1))", _noise(1e-3)),
    Slip("unit_zeroed", "one hidden unit's entries zeroed", _unit_zeroed),
    Slip("swapped", "two random entries swapped", _two_swapped),
    Slip("rolled", "hidden units shifted by one (np.roll)", _rolled),
)


@dataclass
class Case:
    """One (method, h, parameter, slip, seed) check."""

    method: str  # "default" or "full"
    hidden: int
    name: str
    slip: str
    seed: int
    caught: bool
    kind: str  # the diagnosis of the slipped parameter
    loss_calls: int


@dataclass
class SlipResults:
    quick: bool
    seeds: int
    small_hidden: int
    forum_hidden: int
    cases: list[Case] = field(default_factory=list)
    seconds: float = 0.0

    def caught(self, method: str, hidden: int, slip: str | None = None) -> tuple[int, int]:
        chosen = [
            c
            for c in self.cases
            if c.method == method and c.hidden == hidden and (slip is None or c.slip == slip)
        ]
        return sum(c.caught for c in chosen), len(chosen)

    def missed_by_default(self) -> list[Case]:
        """Cases at the small size that the full check catches and the default misses."""
        full = {
            (c.name, c.slip, c.seed): c.caught
            for c in self.cases
            if c.method == "full" and c.hidden == self.small_hidden
        }
        return [
            c
            for c in self.cases
            if c.method == "default"
            and c.hidden == self.small_hidden
            and full.get((c.name, c.slip, c.seed))
            and not c.caught
        ]


def _check(problem: ForumNet, method: str, name: str, slip: Slip, seed: int) -> Case:
    grads = problem.grads()
    grads[name] = slip.make(grads[name], np.random.default_rng(100 + seed))
    report = gradcheck.check_gradients(
        problem.loss, grads, problem.params, seed=seed, full=method == "full"
    )
    result = report[name]
    return Case(
        method,
        problem.hidden,
        name,
        slip.key,
        seed,
        not result.passed,
        result.diagnosis.kind,
        report.loss_calls,
    )


def run(quick: bool = False) -> SlipResults:
    small, forum = QUICK_HIDDEN if quick else (SMALL_HIDDEN, FORUM_HIDDEN)
    seeds = QUICK_SEEDS if quick else SEEDS
    results = SlipResults(quick, seeds, small, forum)
    started = time.perf_counter()
    print(f"slips: {len(SLIPS)} slips × {len(NAMES)} parameters × {seeds} seeds", flush=True)
    for method, hidden in (("default", small), ("full", small), ("default", forum)):
        problem = ForumNet.make(hidden)
        t0 = time.perf_counter()
        for name in NAMES:
            for slip in SLIPS:
                for seed in range(seeds):
                    results.cases.append(_check(problem, method, name, slip, seed))
        caught, total = results.caught(method, hidden)
        print(
            f"  {method:<8} h={hidden:<5} caught {caught} of {total} "
            f"({fmt_seconds(time.perf_counter() - t0)})",
            flush=True,
        )
    results.seconds = time.perf_counter() - started
    return results


def slip_table(results: SlipResults) -> str:
    small, forum = results.small_hidden, results.forum_hidden
    rows = []
    for slip in SLIPS:
        cells = [slip.label]
        for method, hidden in (("default", small), ("full", small), ("default", forum)):
            caught, total = results.caught(method, hidden, slip.key)
            cells.append(f"{caught}/{total}")
        rows.append(cells)
    totals = ["**all**"]
    for method, hidden in (("default", small), ("full", small), ("default", forum)):
        caught, total = results.caught(method, hidden)
        totals.append(f"**{caught}/{total}**")
    rows.append(totals)
    header = [
        f"slip (one of {', '.join(NAMES)} at a time)",
        f"default, h = {small}",
        f"full=True, h = {small}",
        f"default, h = {forum:,}",
    ]
    return markdown_table(header, rows, "lrrr")


def calls_line(results: SlipResults) -> str:
    parts = []
    for method, hidden in (("default", results.small_hidden), ("full", results.small_hidden)):
        calls = [c.loss_calls for c in results.cases if c.method == method and c.hidden == hidden]
        parts.append(
            f"{method} at h = {hidden}: median {int(np.median(calls))} loss calls per check"
        )
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller nets, one seed")
    results = run(parser.parse_args().quick)
    print(slip_table(results))
    print(calls_line(results))
    for case in results.missed_by_default():
        print(f"  full caught, default missed: {case.name} {case.slip} seed {case.seed}")
    print(f"{fmt_seconds(results.seconds)}")


if __name__ == "__main__":
    main()
