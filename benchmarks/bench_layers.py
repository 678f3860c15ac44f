"""How long check_layer takes on each layer of the cs231n-style family (issue 15).

    .venv/bin/python benchmarks/bench_layers.py            # a few seconds
    .venv/bin/python benchmarks/bench_layers.py --repeat 5

Each layer of tests/layers/cases.py (the loss layers through check_gradients) is checked at
the course notebooks' sizes; the table shows the loss calls of one check, the best of
``--repeat`` checks (time.perf_counter), one forward call, and the share of the check
spent in the user's forward (loss calls x forward / check). The issue's target is under
0.5 s per check. A second table does the same for the planted bugs, whose checks cost more
(random entries are probed after a failure, to say where).
"""

from __future__ import annotations

# _common first: importing it pins BLAS to one thread before numpy loads.
from _common import best_of, fmt_seconds, machine_lines, markdown_table

# isort: split
import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

import gradcheck
from tests.layers.cases import LAYERS, LOSSES, PLANTED_BUGS

TARGET_SECONDS = 0.5

#: A check to time: (the check, one call of the user's forward or loss).
Timed = tuple[Callable[[], Any], Callable[[], Any]]


def layer_check(name: str, backward: Callable[..., Any] | None = None) -> Timed:
    """check_layer of a LAYERS case at seed 0 (with ``backward`` instead of its own)."""
    case = LAYERS[name]
    inputs = case.make_inputs(np.random.default_rng(0))
    chosen = backward or case.backward

    def check() -> Any:
        return gradcheck.check_layer(case.forward, chosen, *inputs, seed=0, **case.options)

    return check, lambda: case.forward(*inputs)


def loss_check(name: str, loss: Callable[..., Any] | None = None) -> Timed:
    """check_gradients of a LOSSES case at seed 0 (with ``loss`` instead of its own)."""
    case = LOSSES[name]
    x, *data = case.make_inputs(np.random.default_rng(0))
    chosen = loss or case.loss

    def check() -> Any:
        return gradcheck.check_gradients(lambda x: chosen(x, *data), None, x, seed=0)

    return check, lambda: chosen(x, *data)


def measure(label: str, timed: Timed, repeat: int) -> tuple[list[str], float]:
    """One table row for a check, and its best time in seconds."""
    check, forward = timed
    report = check()
    seconds = best_of(check, repeat)
    forward_seconds = best_of(forward, 5, budget_s=0.02)
    in_forward = report.loss_calls * forward_seconds / seconds
    verdict = "passed" if report.passed else "failed"
    flag = "" if seconds < TARGET_SECONDS else " **over target**"
    row = [
        label,
        verdict,
        str(report.loss_calls),
        f"{seconds:.3f}{flag}",
        fmt_seconds(forward_seconds),
        f"{in_forward:.0%}",
    ]
    return row, seconds


def table(rows: list[tuple[str, Timed]], repeat: int) -> tuple[str, list[tuple[str, float]]]:
    """The markdown table of ``rows``, and each row's best time."""
    header = ["layer", "verdict", "loss calls", "seconds", "one forward", "in forward"]
    measured = [measure(label, timed, repeat) for label, timed in rows]
    text = markdown_table(header, [row for row, _ in measured], align="llrrrr")
    return text, [(label, seconds) for (label, _), (_, seconds) in zip(rows, measured, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="checks timed per layer")
    repeat = parser.parse_args().repeat
    correct = [(name, layer_check(name)) for name in LAYERS]
    correct += [(name, loss_check(name)) for name in LOSSES]
    planted = [
        (
            bug.id,
            loss_check(bug.layer, bug.wrong)
            if bug.layer in LOSSES
            else layer_check(bug.layer, bug.wrong),
        )
        for bug in PLANTED_BUGS
    ]
    print("\n".join(machine_lines()), end="\n\n")
    slow: list[tuple[str, float]] = []
    for title, rows in (("Correct layers", correct), ("Planted bugs", planted)):
        text, times = table(rows, repeat)
        print(f"## {title} (best of {repeat})\n\n{text}\n")
        slow += [(label, s) for label, s in times if s >= TARGET_SECONDS]
    if slow:
        print(f"Over {TARGET_SECONDS} s: " + ", ".join(f"{n} ({s:.2f} s)" for n, s in slow))
    else:
        print(f"Every check took under {TARGET_SECONDS} s.")


if __name__ == "__main__":
    main()
