"""What a check may spend and how far it got: the ``max_calls=`` and ``max_seconds=``
budgets, the progress display's counts, the note on Ctrl-C, and ``quiet=``.

One ``Meter`` per check, current for its duration (a context variable): the
evaluators the check makes deep inside (the float64 re-check's, the swap test's) all spend
from it without being handed it. The evaluator calls ``spend`` before every loss call;
when that call would exceed the budget it raises ``BudgetSpent``, which the check
catches to end the parameters not yet finished inconclusive.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field

from gradcheck._check.progress import Display, display
from gradcheck._check.report import Diagnosis
from gradcheck._shapes.rule import grad_label


class BudgetSpent(BaseException):
    """The next loss call would exceed the check's budget.

    A BaseException, like KeyboardInterrupt: it must pass through the check's own
    ``except Exception`` fallbacks (precision.py reads any exception of the loss on float64
    copies as "this loss cannot run in float64") up to the per-parameter loop.
    """

    def __init__(self, budget: str, option: str) -> None:
        super().__init__(budget)
        self.budget = budget  # "the budget of 200 loss calls"
        self.option = option  # "max_calls"

    def unchecked(self, name: str) -> Diagnosis:
        """The diagnosis of parameter ``name``, which the budget left unfinished."""
        return Diagnosis(
            "unchecked",
            None,
            f"{grad_label(name)} not checked: {self.budget} ran out before {name} "
            f"(raise {self.option}=, or check {name} alone)",
        )


@dataclass
class Meter:
    """One check's loss calls and time, against its budget."""

    names: Sequence[str]
    max_calls: int | None = None
    max_seconds: float | None = None
    quiet: bool = False
    display: Display | None = None
    calls: int = 0
    done: list[str] = field(default_factory=list)
    started: float = field(default_factory=lambda: time.monotonic())  # a fake clock's too

    def spend(self) -> None:
        """Count one loss call, or raise BudgetSpent when it would exceed the budget."""
        if self.max_calls is not None and self.calls >= self.max_calls:
            raise BudgetSpent(f"the budget of {self.max_calls} loss calls", "max_calls")
        # The first call (the loss at the parameters) always runs: without it, nothing.
        seconds = self.max_seconds
        if self.calls > 0 and seconds is not None and self.elapsed() >= seconds:
            raise BudgetSpent(f"the budget of {self.max_seconds:g} s", "max_seconds")
        self.calls += 1
        self.show()

    def finished(self, name: str) -> None:
        """Parameter ``name`` has its verdict."""
        if name not in self.done:  # the swap test checks the same names again
            self.done.append(name)
        self.show()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def show(self) -> None:
        if self.display is not None:
            self.display.update(self.done, len(self.names), self.calls, self.elapsed())

    def how_far(self) -> str:
        """Which parameters were done and how many loss calls ran, for a note."""
        done = ", ".join(self.done) or "none"
        left = ", ".join(n for n in self.names if n not in self.done) or "none"
        return (
            f"gradcheck: interrupted in loss call {self.calls} "
            f"({self.elapsed():.1f} s); parameters checked: {done}; not checked: {left}; "
            "your arrays were left unchanged"
        )

    def ran_out(self, spent: BudgetSpent) -> str:
        """The note under the table: which parameters were checked, which were not."""
        done = ", ".join(self.done) or "none"
        left = ", ".join(n for n in self.names if n not in self.done)
        after = "" if spent.option == "max_calls" else f" after {self.calls} loss calls"
        return f"{spent.budget} ran out{after}: checked {done}; not checked (inconclusive) {left}"


_current: ContextVar[Meter | None] = ContextVar("gradcheck_meter", default=None)


@contextlib.contextmanager
def metered(
    names: Sequence[str],
    max_calls: int | None,
    max_seconds: float | None,
    *,
    progress: bool | None,
    quiet: bool,
) -> Iterator[Meter]:
    """A meter for a check of parameters ``names``, current for the block; on Ctrl-C, a
    note saying how far the check got; its display closed at the end."""
    meter = Meter(names, max_calls, max_seconds, quiet, display(names, progress))
    token = _current.set(meter)
    try:
        yield meter
    except KeyboardInterrupt as interrupt:
        interrupt.add_note(meter.how_far())
        raise
    finally:
        _current.reset(token)
        if meter.display is not None:
            meter.display.close(meter.done, len(meter.names), meter.calls, meter.elapsed())


def spend() -> None:
    """Count one loss call against the current check's budget (none outside a check)."""
    meter = _current.get()
    if meter is not None:
        meter.spend()


def calls() -> int:
    """The loss calls the current check has made so far (0 outside a check)."""
    meter = _current.get()
    return meter.calls if meter is not None else 0


def finished(name: str) -> None:
    """The current check has finished parameter ``name``."""
    meter = _current.get()
    if meter is not None:
        meter.finished(name)


def ran_out(spent: BudgetSpent) -> str:
    """The current check's note for a budget that ran out."""
    meter = _current.get()
    return meter.ran_out(spent) if meter is not None else f"{spent.budget} ran out"


def quieted() -> contextlib.AbstractContextManager[object]:
    """Around a call of the user's code: its prints swallowed when the check is quiet."""
    meter = _current.get()
    if meter is not None and meter.quiet:
        return contextlib.redirect_stdout(io.StringIO())
    return contextlib.nullcontext()
