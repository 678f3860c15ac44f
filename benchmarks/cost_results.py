"""What bench_cost.py measures: a row per (method, size), and the cost of one step per size."""

from __future__ import annotations

from dataclasses import dataclass, field

from _common import Params, Timing

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
    #: The default check's loss calls by what each moved (see :func:`bench_cost.call_breakdown`).
    breakdowns: dict[int, dict[str, int]] = field(default_factory=dict)
    #: The classic loop's numeric gradient of the correct net, reused by bench_bugs.
    classic_gradients: dict[int, Params] = field(default_factory=dict)

    def row(self, method: str, hidden: int) -> Row:
        return next(r for r in self.rows if r.method == method and r.hidden == hidden)
