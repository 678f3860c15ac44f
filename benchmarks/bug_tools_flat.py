"""scipy's check_grad and numdifftools as bench_bugs.py runs them, on the flattened parameters.

- ``scipy.optimize.check_grad`` (its default forward step √eps ≈ 1.5e-8) returns one number,
  ‖g − g_fd‖₂, judged against ‖g‖₂ (see SCIPY_REL);
- ``numdifftools.Gradient`` (central differences with Richardson extrapolation over a
  sequence of steps) is compared entry by entry with ``np.isclose`` at its defaults (rtol
  1e-5, atol 1e-8), as numdifftools' own examples compare with ``np.allclose``. It makes
  about 30 loss calls per parameter, so bench_bugs.py runs it on the small net only.

The loss values scipy asks for and numdifftools' estimate do not depend on the gradient
being checked: they are computed once per loss and reused for every bug.
"""

from __future__ import annotations

# _common first: importing it pins BLAS to one thread before numpy loads.
from _common import CountingLoss, ForumNet, flatten, relative_errors, unflatten

# isort: split
import hashlib
import math
import time

import numpy as np
from bug_tools import Flagged, ToolRun, Verdict, judge_entries
from forum_bugs import BUGS, baseline
from numpy.typing import NDArray

#: scipy's check_grad returns ‖g − g_fd‖₂. We flag a gradient when that is more than 1e-4
#: of ‖g‖₂: the cs231n notes call a relative error below 1e-4 "usually okay for objectives
#: with kinks" (a ReLU net has kinks), and a correct smooth gradient lands far below it
#: (a forward difference at √eps is good to about 1e-8 relative per entry).
SCIPY_REL = 1e-4
#: numdifftools' estimate is compared with np.isclose at its defaults.
ND_RTOL = 1e-5
ND_ATOL = 1e-8


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
        correct = baseline(bug)
        if bug.is_bug and tool.verdicts[correct.key].flagged:
            # Correct code is flagged too: only a different number tells the bug apart.
            same = math.isclose(value, values[correct.key], rel_tol=1e-6)
            flagged = flagged and not same
            if same:
                says += ", the same as on correct code"
        tool.verdicts[bug.key] = Verdict(flagged, says, f"check_grad = {value!r}")
    tool.seconds = max(f.seconds for f in losses.values())
    return tool


def _entries_off(
    problem: ForumNet, flat: NDArray[np.float64], estimate: NDArray[np.float64]
) -> tuple[Flagged, str]:
    """The entries of ``flat`` that np.isclose finds off ``estimate``, and a line per parameter."""
    off = ~np.isclose(flat, estimate, rtol=ND_RTOL, atol=ND_ATOL)
    rel = relative_errors(flat, estimate)
    found: Flagged = set()
    lines = []
    start = 0
    for name, value in problem.params.items():
        part = slice(start, start + value.size)
        found.update((name, int(i)) for i in np.flatnonzero(off[part]))
        lines.append(
            f"{name}: {int(off[part].sum()):,} of {value.size:,} entries off, max rel "
            f"{float(rel[part].max()):.2g}"
        )
        start += value.size
    return found, "; ".join(lines)


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
        flagged[bug.key], details[bug.key] = _entries_off(problem, flat, estimates[bug.reg])
    judge_entries(tool, flagged, x0.size, names, details)
    return tool
