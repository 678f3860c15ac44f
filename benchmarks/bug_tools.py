"""gradcheck and the cs231n 1e-7 loop as bench_bugs.py runs them: a verdict per bug.

- gradcheck: ``gradcheck.check_gradients(loss, grads, params)`` (default options, or
  ``full=True``); caught when ``report.passed`` is false;
- the 1e-7 loop: the cs231n central-difference loop (h = 1e-5, every entry), then
  rel = |a − n| / max(|a|, |n|) per entry; an entry is flagged when rel > 1e-7. Shapes
  are compared as the notebook's ``rel_error`` does, by broadcasting (a failure to
  broadcast is a crash, which counts as caught). Its numeric gradient does not depend on
  the gradient being checked: it is computed once per loss and reused for every bug.
"""

from __future__ import annotations

# _common first: importing it pins BLAS to one thread before numpy loads.
from _common import (
    CLASSIC_REL,
    CountingLoss,
    ForumNet,
    Params,
    classic_numeric_gradient,
    relative_errors,
)

# isort: split
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from forum_bugs import BUGS, baseline

import gradcheck


@dataclass
class Verdict:
    """One tool on one bug."""

    flagged: bool  # the tool says something is wrong
    says: str  # what it says, in short
    detail: str = ""  # the long form (gradcheck's report, per-parameter counts)


@dataclass
class ToolRun:
    """One tool on one net: a verdict per bug, and what one run of it costs."""

    name: str
    hidden: int
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    loss_calls: int = 0  # for one check of one gradient
    seconds: float = 0.0  # for one check (median over the bugs for gradcheck)


def _shape(shape: tuple[int, ...]) -> str:
    return str(tuple(shape)).replace(" ", "")


def _gradcheck_says(report: gradcheck.GradientReport) -> str:
    failed = report.failed
    kinds = {(r.diagnosis.kind, r.diagnosis.factor) for r in failed}
    if len(failed) == len(report) > 1 and len(kinds) == 1:
        kind, factor = kinds.pop()
        scale = f" {factor:.4g}×" if kind == "scaled" and factor is not None else ""
        return f"all {len(failed)} {kind}{scale}"
    parts = []
    for r in report.failed:
        d = r.diagnosis
        text = f"{r.name} {d.kind}"
        if d.kind == "scaled" and d.factor is not None:
            text += f" {d.factor:.4g}×"
        elif d.kind == "negated":
            text += " (−1×)"
        elif d.kind in ("shape", "transposed") and r.grad_shape is not None:
            text += f" {_shape(r.grad_shape)} vs {_shape(r.shape)}"
        parts.append(text)
    return "; ".join(parts) if parts else "all ok"


def run_gradcheck(problem: ForumNet, full: bool) -> ToolRun:
    tool = ToolRun("gradcheck full=True" if full else "gradcheck default", problem.hidden)
    times, calls = [], []
    for bug in BUGS:
        counter = CountingLoss(problem, bug.reg)
        grads = bug.make(problem, bug.reg)
        started = time.perf_counter()
        report = gradcheck.check_gradients(counter.as_function(), grads, problem.params, full=full)
        times.append(time.perf_counter() - started)
        calls.append(counter.calls)
        tool.verdicts[bug.key] = Verdict(not report.passed, _gradcheck_says(report), str(report))
    tool.loss_calls = int(np.median(calls))
    tool.seconds = float(np.median(times))
    return tool


def _per_param(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {n:,}" for name, n in counts.items() if n)


Flagged = set[tuple[str, int]]  # (parameter, flat index) of each entry a tool flags


def judge_entries(
    tool: ToolRun,
    flagged: Mapping[str, Flagged | str],
    total_entries: int,
    names: list[str],
    details: Mapping[str, str],
) -> None:
    """Verdicts for a tool that flags entries (or crashes, given as a message).

    On correct code any flagged entry is a false alarm. A tool that flags entries of
    correct code cannot tell those from a bug's, so on a bug it counts as caught only if
    it crashes or flags entries it does not flag on correct code with the same loss.
    """
    for bug in BUGS:
        got = flagged[bug.key]
        if isinstance(got, str):
            tool.verdicts[bug.key] = Verdict(True, f"crash: {got}", f"ValueError: {got}")
            continue
        counts = {name: sum(n == name for n, _ in got) for name in names}
        says = f"{len(got):,} of {total_entries:,} entries ({_per_param(counts)})"
        if not got:
            says = "none"
        if not bug.is_bug:
            tool.verdicts[bug.key] = Verdict(bool(got), says, details[bug.key])
            continue
        before = flagged[baseline(bug).key]
        new = got - before if isinstance(before, set) else got
        if got and got == before:
            says = f"the same {len(got):,} entries as on correct code"
        elif got and new != got:
            says += f", {len(new):,} of them not flagged on correct code"
        tool.verdicts[bug.key] = Verdict(bool(new), says, details[bug.key])


def run_loop(problem: ForumNet, cached: Mapping[int, Params] | None = None) -> ToolRun:
    """The cs231n loop with the 1e-7 rule; its numeric gradient is computed once per loss."""
    tool = ToolRun("1e-7 loop", problem.hidden)
    numerics: dict[float, Params] = {}
    for reg in sorted({bug.reg for bug in BUGS}):
        if reg == 0.0 and cached and problem.hidden in cached:
            numerics[reg] = cached[problem.hidden]
            continue
        counter = CountingLoss(problem, reg)
        started = time.perf_counter()
        numerics[reg] = classic_numeric_gradient(counter.as_function(), problem.params)
        tool.seconds = time.perf_counter() - started
    tool.loss_calls = 2 * problem.size
    flagged: dict[str, Flagged | str] = {}
    details: dict[str, str] = {}
    for bug in BUGS:
        grads = bug.make(problem, bug.reg)
        numeric = numerics[bug.reg]
        found: Flagged = set()
        lines = []
        try:
            for name in problem.params:
                rel = relative_errors(grads[name], numeric[name])
                hits = np.flatnonzero(rel > CLASSIC_REL)
                found.update((name, int(i)) for i in hits)
                lines.append(
                    f"{name}: {hits.size:,} of {rel.size:,} entries flagged, "
                    f"max rel {float(rel.max()):.2g}"
                )
        except ValueError as exc:
            flagged[bug.key] = str(exc).strip()
            details[bug.key] = ""
            continue
        flagged[bug.key] = found
        details[bug.key] = "; ".join(lines)
    judge_entries(tool, flagged, problem.size, list(problem.params), details)
    return tool
