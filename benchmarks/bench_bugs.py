"""The same backprop bugs through gradcheck and through the usual alternatives.

Run it (not collected by pytest; ``make bench`` runs it as part of bench_all.py):

    .venv/bin/python tests/benchmarks/bench_bugs.py           # ~2 minutes
    .venv/bin/python tests/benchmarks/bench_bugs.py --quick   # smoke test, smaller nets

The forum's two-layer ReLU + softmax net (N = 800, D = 2, K = 2) with its correct
gradients and six bugs, each checked by:

- gradcheck: ``gradcheck.check_gradients(loss, grads, params)`` (default options; on the
  small net also ``full=True``); caught when ``report.passed`` is false;
- the 1e-7 loop: the cs231n central-difference loop (h = 1e-5, every entry), then
  rel = |a − n| / max(|a|, |n|) per entry; an entry is flagged when rel > 1e-7. Shapes
  are compared as the notebook's ``rel_error`` does, by broadcasting (a failure to
  broadcast is a crash, which counts as caught);
- ``scipy.optimize.check_grad`` on the flattened parameters (its default forward step
  √eps ≈ 1.5e-8): it returns one number, ‖g − g_fd‖₂, judged against ‖g‖₂ (see SCIPY_REL);
- ``numdifftools.Gradient`` (central differences with Richardson extrapolation over a
  sequence of steps) on the flattened parameters, compared entry by entry with
  ``np.isclose`` at its defaults (rtol 1e-5, atol 1e-8), as numdifftools' own examples
  compare with ``np.allclose``. It makes about 30 loss calls per parameter, so it runs on
  the h = 100 net only.

The forum-scale table uses h = 1000 (5,002 parameters); a second table runs every tool on
the h = 100 net (502 parameters). The loop's and numdifftools' numeric gradients, and the
loss values scipy asks for, do not depend on the gradient being checked: they are computed
once per loss (reg = 0, and reg = 1e-3 for the reg rows) and reused for every row.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy is imported

import argparse  # noqa: E402
import hashlib  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Mapping  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    CLASSIC_REL,
    CountingLoss,
    ForumNet,
    Params,
    classic_numeric_gradient,
    flatten,
    fmt_seconds,
    markdown_table,
    relative_errors,
    unflatten,
)
from numpy.typing import NDArray  # noqa: E402

import gradcheck  # noqa: E402
from reference_nets.two_layer_relu import row_major as net  # noqa: E402

#: scipy's check_grad returns ‖g − g_fd‖₂. We flag a gradient when that is more than 1e-4
#: of ‖g‖₂: the cs231n notes call a relative error below 1e-4 "usually okay for objectives
#: with kinks" (a ReLU net has kinks), and a correct smooth gradient lands far below it
#: (a forward difference at √eps is good to about 1e-8 relative per entry).
SCIPY_REL = 1e-4
#: numdifftools' estimate is compared with np.isclose at its defaults.
ND_RTOL = 1e-5
ND_ATOL = 1e-8
REG = 1e-3
FORUM_HIDDEN = 1000
SMALL_HIDDEN = 100


@dataclass(frozen=True)
class Bug:
    key: str
    label: str
    reg: float
    is_bug: bool
    make: Callable[[ForumNet, float], dict[str, NDArray[np.float64]]]


def _correct(p: ForumNet, reg: float) -> dict[str, NDArray[np.float64]]:
    return p.grads(reg)


def _negated_dW2(p: ForumNet, reg: float) -> dict[str, NDArray[np.float64]]:
    g = p.grads(reg)
    return {**g, "W2": -g["W2"]}


def _scaled_800(p: ForumNet, reg: float) -> dict[str, NDArray[np.float64]]:
    return {k: v * p.X.shape[0] for k, v in p.grads(reg).items()}


def _transposed_dW2(p: ForumNet, reg: float) -> dict[str, NDArray[np.float64]]:
    g = p.grads(reg)
    return {**g, "W2": np.ascontiguousarray(g["W2"].T)}


def _keepdims_db1(p: ForumNet, reg: float) -> dict[str, NDArray[np.float64]]:
    g = p.grads(reg)
    return {**g, "b1": g["b1"].reshape(-1)}


def _no_relu_mask_dW1(p: ForumNet, reg: float) -> dict[str, NDArray[np.float64]]:
    """The forum backward with dW1 = Xᵀ·∂L/∂H instead of Xᵀ·(∂L/∂H ⊙ 1[Z1 > 0])."""
    acts = net.forward(p.params, p.X)
    g = p.grads(reg)
    batch, classes = acts.scores.shape
    dscores = (np.exp(acts.log_probs) - np.eye(classes)[p.y]) / batch
    dhidden = dscores @ p.params["W2"].T
    return {**g, "W1": p.X.T @ dhidden + reg * p.params["W1"]}


def _no_reg_in_dW(p: ForumNet, reg: float) -> dict[str, NDArray[np.float64]]:
    return p.grads(0.0)  # the loss has reg; the weights' gradients lack reg·W


BUGS = (
    Bug("correct", "correct code", 0.0, False, _correct),
    Bug("correct_reg", f"correct code, reg = {REG:g}", REG, False, _correct),
    Bug("negated", "dW2 negated", 0.0, True, _negated_dW2),
    Bug("scaled", "all grads 800× (missing 1/N)", 0.0, True, _scaled_800),
    Bug("transposed", "dW2 transposed: (K, h), not (h, K)", 0.0, True, _transposed_dW2),
    Bug("keepdims", "db1 keepdims slip: (h,), not (1, h)", 0.0, True, _keepdims_db1),
    Bug("mask", "dW1 without the ReLU mask", 0.0, True, _no_relu_mask_dW1),
    Bug("reg", f"reg·W missing in dW1, dW2 (reg = {REG:g})", REG, True, _no_reg_in_dW),
)


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


@dataclass
class BugResults:
    quick: bool
    forum_hidden: int
    small_hidden: int
    forum: list[ToolRun] = field(default_factory=list)
    small: list[ToolRun] = field(default_factory=list)


# ----------------------------------------------------------------------------- tools


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


def _baseline(bug: Bug) -> Bug:
    """The correct-code row with the same loss (the same reg) as ``bug``."""
    return next(b for b in BUGS if not b.is_bug and b.reg == bug.reg)


def _judge_entries(
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
        before = flagged[_baseline(bug).key]
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
    _judge_entries(tool, flagged, problem.size, list(problem.params), details)
    return tool


class _CachedFlatLoss:
    """f(x) for flat x, remembering values by a hash of x: scipy asks every row for the
    same points, and the loss is deterministic, so the values are exactly what it would
    compute again."""

    def __init__(self, problem: ForumNet, reg: float) -> None:
        self.problem = problem
        self.reg = reg
        self.values: dict[bytes, float] = {}
        self.requests = 0
        self.evaluations = 0
        self.seconds = 0.0

    def __call__(self, x: NDArray[np.float64]) -> float:
        self.requests += 1
        key = hashlib.blake2b(np.ascontiguousarray(x).tobytes(), digest_size=16).digest()
        if key not in self.values:
            self.evaluations += 1
            started = time.perf_counter()
            params = unflatten(x, self.problem.params)
            self.values[key] = self.problem.loss(params, self.reg)
            self.seconds += time.perf_counter() - started
        return self.values[key]


def run_scipy(problem: ForumNet) -> ToolRun:
    from scipy.optimize import check_grad

    tool = ToolRun("scipy check_grad", problem.hidden)
    names = list(problem.params)
    x0 = flatten(problem.params, names)
    losses = {reg: _CachedFlatLoss(problem, reg) for reg in {bug.reg for bug in BUGS}}
    values: dict[str, float] = {}
    for bug in BUGS:
        flat = flatten(bug.make(problem, bug.reg), names)
        f = losses[bug.reg]
        before = f.requests
        if flat.size != x0.size:
            tool.verdicts[bug.key] = Verdict(True, "crash: sizes differ", "")
            continue
        value = float(check_grad(f, lambda _x, g=flat: g, x0))
        tool.loss_calls = f.requests - before
        norm = float(np.linalg.norm(flat))
        rel = value / norm if norm > 0 else float("inf")
        values[bug.key] = value
        says = f"‖Δ‖ = {value:.2g} = {rel:.2g}·‖g‖"
        flagged = rel > SCIPY_REL
        baseline = _baseline(bug)
        if bug.is_bug and tool.verdicts[baseline.key].flagged:
            # Correct code is flagged too: only a different number tells the bug apart.
            same = math.isclose(value, values[baseline.key], rel_tol=1e-6)
            flagged = flagged and not same
            if same:
                says += ", the same as on correct code"
        tool.verdicts[bug.key] = Verdict(flagged, says, f"check_grad = {value!r}")
    tool.seconds = max(f.seconds for f in losses.values())
    return tool


def run_numdifftools(problem: ForumNet) -> ToolRun:
    import numdifftools as nd

    tool = ToolRun("numdifftools", problem.hidden)
    names = list(problem.params)
    x0 = flatten(problem.params, names)
    estimates: dict[float, NDArray[np.float64]] = {}
    for reg in sorted({bug.reg for bug in BUGS}):
        counter = CountingLoss(problem, reg)

        def f(x: NDArray[np.float64], counter: CountingLoss = counter) -> float:
            return counter(unflatten(x, problem.params))

        started = time.perf_counter()
        estimates[reg] = np.asarray(nd.Gradient(f)(x0), dtype=np.float64)
        tool.seconds = time.perf_counter() - started
        tool.loss_calls = counter.calls
    flagged: dict[str, Flagged | str] = {}
    details: dict[str, str] = {}
    for bug in BUGS:
        flat = flatten(bug.make(problem, bug.reg), names)
        if flat.size != x0.size:
            flagged[bug.key] = f"{flat.size} gradient entries for {x0.size} parameters"
            details[bug.key] = ""
            continue
        off = ~np.isclose(flat, estimates[bug.reg], rtol=ND_RTOL, atol=ND_ATOL)
        found: Flagged = set()
        start = 0
        for name in names:
            size = problem.params[name].size
            found.update((name, int(i)) for i in np.flatnonzero(off[start : start + size]))
            start += size
        flagged[bug.key] = found
        rel = relative_errors(flat, estimates[bug.reg])
        lines = []
        start = 0
        for name in names:
            size = problem.params[name].size
            part = slice(start, start + size)
            lines.append(
                f"{name}: {int(off[part].sum()):,} of {size:,} entries off, max rel "
                f"{float(rel[part].max()):.2g}"
            )
            start += size
        details[bug.key] = "; ".join(lines)
    _judge_entries(tool, flagged, x0.size, names, details)
    return tool


def run(quick: bool = False, classic_cache: Mapping[int, Params] | None = None) -> BugResults:
    forum_hidden, small_hidden = (100, 30) if quick else (FORUM_HIDDEN, SMALL_HIDDEN)
    results = BugResults(quick, forum_hidden, small_hidden)
    forum = ForumNet.make(forum_hidden)
    small = ForumNet.make(small_hidden)
    steps: list[tuple[str, list[ToolRun], Callable[[], ToolRun]]] = [
        ("gradcheck default", results.forum, lambda: run_gradcheck(forum, full=False)),
        ("1e-7 loop", results.forum, lambda: run_loop(forum, classic_cache)),
        ("scipy check_grad", results.forum, lambda: run_scipy(forum)),
        ("numdifftools", results.forum, lambda: run_numdifftools(small)),
        ("gradcheck default", results.small, lambda: run_gradcheck(small, full=False)),
        ("gradcheck full=True", results.small, lambda: run_gradcheck(small, full=True)),
        ("1e-7 loop", results.small, lambda: run_loop(small, classic_cache)),
        ("scipy check_grad", results.small, lambda: run_scipy(small)),
    ]
    print("bugs: gradcheck, the 1e-7 loop, scipy check_grad and numdifftools", flush=True)
    for name, target, step in steps:
        started = time.perf_counter()
        tool = step()
        target.append(tool)
        caught = sum(tool.verdicts[b.key].flagged for b in BUGS if b.is_bug)
        alarms = sum(tool.verdicts[b.key].flagged for b in BUGS if not b.is_bug)
        print(
            f"  h={tool.hidden:<5} {name:<20} caught {caught}/{sum(b.is_bug for b in BUGS)}, "
            f"false alarms {alarms}/{sum(not b.is_bug for b in BUGS)}  "
            f"({fmt_seconds(time.perf_counter() - started)})",
            flush=True,
        )
    # numdifftools' column is shared: the same run serves both tables.
    results.small.append(next(t for t in results.forum if t.name == "numdifftools"))
    return results


# ----------------------------------------------------------------------------- report


def cell(bug: Bug, verdict: Verdict) -> str:
    if bug.is_bug:
        mark = "✅ caught" if verdict.flagged else "❌ **missed**"
    else:
        mark = "❌ **false alarm**" if verdict.flagged else "✅ quiet"
    return f"{mark}: {verdict.says}" if verdict.says not in ("none", "all ok") else mark


def bug_table(tools: list[ToolRun]) -> str:
    header = ["bug", *[f"{t.name} (h = {t.hidden:,})" for t in tools]]
    rows = [[bug.label, *[cell(bug, t.verdicts[bug.key]) for t in tools]] for bug in BUGS]
    return markdown_table(header, rows)


def summary_table(tools: list[ToolRun]) -> str:
    bugs = [b for b in BUGS if b.is_bug]
    correct = [b for b in BUGS if not b.is_bug]
    names_it = {
        "gradcheck default": "the parameter and the kind of mistake (sign, factor, shape, …)",
        "gradcheck full=True": "the parameter and the kind of mistake (sign, factor, shape, …)",
        "1e-7 loop": "which entries are off (no cause); shape slips crash or pass silently",
        "scipy check_grad": "one number for all parameters together: nothing about where",
        "numdifftools": "a numeric gradient to compare: which entries are off (no cause)",
    }
    rows = []
    for t in tools:
        caught = sum(t.verdicts[b.key].flagged for b in bugs)
        alarms = sum(t.verdicts[b.key].flagged for b in correct)
        rows.append(
            [
                f"{t.name} (h = {t.hidden:,})",
                f"{caught} of {len(bugs)}",
                f"{alarms} of {len(correct)}",
                names_it.get(t.name, ""),
                f"{t.loss_calls:,}",
                fmt_seconds(t.seconds),
            ]
        )
    return markdown_table(
        [
            "tool",
            "bugs caught",
            "false alarms on correct code",
            "says what is wrong?",
            "loss calls per check",
            "time per check",
        ],
        rows,
        "lrrlrr",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller nets (h = 100 and 30)")
    options = parser.parse_args()
    results = run(options.quick)
    for title, tools in (("forum scale", results.forum), ("small net", results.small)):
        print(f"\n{title}\n")
        print(bug_table(tools))
        print()
        print(summary_table(tools))


if __name__ == "__main__":
    main()
