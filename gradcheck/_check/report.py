"""Step 6 of a check: what it returns, one result per parameter gathered in a report, and
how the report is shown (a table in the terminal, HTML in a notebook)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, get_args

from gradcheck._check.render_html import as_html
from gradcheck._check.render_text import as_text
from gradcheck._numerics.stencil import error_ratio
from gradcheck.errors import GradientMismatch

DiagnosisKind = Literal[
    "ok",
    "unchecked",
    "shape",
    "transposed",
    "scaled",
    "negated",
    "regularisation",
    "zero",
    "nonfinite",
    "missing",
    "mutated",
    "swapped",
    "rearranged",
    "confined",
    "partial",
    "upstream",
    "quantised",
    "mismatch",
]

#: Every diagnosis kind, in the order the report explains them.
DIAGNOSIS_KINDS: tuple[DiagnosisKind, ...] = get_args(DiagnosisKind)

Outcome = Literal["passed", "failed", "inconclusive"]

#: The three outcomes of one parameter's check.
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)


@dataclass(frozen=True)
class Diagnosis:
    """What kind of mistake a gradient shows, in words.

    Attributes:
        kind: ``"ok"`` for a gradient that passed; ``"unchecked"`` (or ``"quantised"``)
            for one that could not be checked, the message saying why and what to do;
            else the mistake: ``"shape"``, ``"transposed"``, ``"scaled"``, ``"negated"``,
            ``"regularisation"``, ``"zero"``, ``"nonfinite"``, ``"missing"``,
            ``"mutated"``, ``"swapped"`` (it is another parameter's gradient),
            ``"rearranged"`` (its axes permuted, flipped or shifted by one, two blocks or
            two entries exchanged), ``"confined"`` (wrong only in a part of the tensor the
            message names), ``"partial"`` (right up to a factor per slice),
            ``"upstream"`` (wrong at every entry, but as another parameter's gradient is:
            the gradient both are computed from is wrong, upstream of them) or
            ``"mismatch"`` (none of these). docs/reference/report.md describes each.
        factor: for ``"scaled"`` and ``"negated"``, analytic / numeric (``13.0`` when a
            ``1/N`` with ``N = 13`` is missing, ``-1.0`` for a flipped sign); for
            ``"regularisation"``, the coefficient ``c`` with numeric ≈ analytic + c·x
            (``0.001`` when the backward forgot ``reg·W`` with ``reg = 0.001``, ``-0.001``
            when it adds it twice); else ``None``.
        message: one or two sentences naming the parameter and the likely cause.
    """

    kind: DiagnosisKind
    factor: float | None = None
    message: str = ""


@dataclass(frozen=True)
class ParameterResult:
    """The verdict on one parameter's gradient.

    Attributes:
        name: the parameter's name (its key, or ``"params[i]"`` for a sequence).
        shape: the parameter's shape.
        grad_shape: the shape of the gradient the user gave (``None`` if it was missing).
        outcome: ``"passed"`` (it agrees with the finite differences, checked to 10% of
            its size at worst and usually far better), ``"failed"`` (it does not:
            ``diagnosis`` says how) or ``"inconclusive"`` (no finite difference the loss's
            rounding allows could tell: ``diagnosis`` says why and what to do). An
            inconclusive gradient is not a passed one.
        diagnosis: what kind of mistake it is (``kind == "ok"`` when passed).
        method: ``"entries"`` (every entry probed), ``"directions"`` (random directions and
            the largest entry, more entries after a failure), ``"joint"`` (only joint probes,
            which moved this parameter together with the ones in ``together``: see "How it
            decides") or ``"none"`` (nothing could be compared, e.g. a wrong shape).
        probes: how many entries or directions were compared, joint probes included.
        kinks: how many of those straddled a kink (checked against one-sided derivatives).
        undecided: how many random directions crossed kinks closer together than the
            loss's noise lets a step resolve; they count neither way, and two random
            entries were probed in place of each.
        worst_index: the entry index of the worst comparison, or ``None`` when the worst one
            was a random direction (then ``analytic`` and ``numeric`` are directional
            derivatives; for ``method == "joint"``, of all the parameters moved together)
            or when nothing of the gradient as given was compared (a wrong shape: then
            ``analytic``, ``numeric``, ``error`` and ``tolerance`` are NaN, and
            ``error_ratio`` is infinite).
        analytic: the user's value at the worst comparison.
        numeric: the finite-difference value there.
        error: ``|analytic - numeric|`` there.
        tolerance: the error allowed there (rounding noise plus truncation, see the docs).
        together: the other parameters that joint probes moved with this one, when such
            probes stood in for some of its own (empty when none did).
    """

    name: str
    shape: tuple[int, ...]
    grad_shape: tuple[int, ...] | None
    outcome: Outcome
    diagnosis: Diagnosis
    method: Literal["entries", "directions", "joint", "none"] = "none"
    probes: int = 0
    kinks: int = 0
    undecided: int = 0
    worst_index: tuple[int, ...] | None = None
    analytic: float = float("nan")
    numeric: float = float("nan")
    error: float = float("nan")
    tolerance: float = float("nan")
    together: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """Whether the gradient was checked and agrees (``outcome == "passed"``)."""
        return self.outcome == "passed"

    @property
    def error_ratio(self) -> float:
        """``error / tolerance`` at the worst comparison: at most 1 means it passed."""
        return error_ratio(self.error, self.tolerance)


@dataclass(frozen=True)
class GradientReport:
    """All parameters' verdicts, in the order of ``params``.

    ``print(report)`` (or ``report`` at the REPL) shows a table fitted to the terminal,
    ``report.to_text(width=100)`` to another width; ``"W2" in report`` says whether there is
    such a parameter and ``report["W2"]`` is its ``ParameterResult``;
    ``report.assert_passed()`` raises ``GradientMismatch`` unless every gradient
    passed, and ``bool(report)`` is ``report.passed``: a gradient that could not be checked
    ("inconclusive") counts against both, like a wrong one.

    Attributes:
        results: one ``ParameterResult`` per parameter, in ``params`` order.
        loss_calls: how many times the loss was evaluated.
        noise: the estimated rounding noise of the loss (absolute), which sets the step
            and the tolerance.
        seed: the seed that chose the random directions and entries (same seed, same
            report).
        notes: sentences about the whole check, e.g. a cause common to all parameters.
    """

    results: tuple[ParameterResult, ...]
    loss_calls: int = 0
    noise: float = 0.0
    seed: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """Whether every gradient was checked and agrees with finite differences (False
        when any failed or could not be checked)."""
        return all(result.passed for result in self.results)

    @property
    def failed(self) -> tuple[ParameterResult, ...]:
        """The results whose gradient is wrong (outcome ``"failed"``), in ``params`` order."""
        return tuple(result for result in self.results if result.outcome == "failed")

    @property
    def inconclusive(self) -> tuple[ParameterResult, ...]:
        """The results that could not be checked (outcome ``"inconclusive"``), in ``params``
        order; each one's ``diagnosis.message`` says why and what to do."""
        return tuple(result for result in self.results if result.outcome == "inconclusive")

    def __contains__(self, name: object) -> bool:
        """Whether the report has a parameter named ``name`` (``"W2" in report``); a
        ``ParameterResult`` is in the report when it is one of its results."""
        if isinstance(name, ParameterResult):
            return name in self.results
        return any(result.name == name for result in self.results)

    def __getitem__(self, name: str) -> ParameterResult:
        for result in self.results:
            if result.name == name:
                return result
        known = ", ".join(repr(result.name) for result in self.results)
        raise KeyError(f"no parameter named {name!r} in this report; it has {known}")

    def __iter__(self) -> Iterator[ParameterResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __bool__(self) -> bool:
        # ``if report:`` and ``assert report`` must never read an unchecked gradient as a pass.
        return self.passed

    def assert_passed(self) -> None:
        """Raise ``GradientMismatch`` (an ``AssertionError``) unless every gradient
        passed: a wrong gradient and one that could not be checked both raise, with the
        report (why, and what to do) as the message."""
        __tracebackhide__ = True
        if not self.passed:
            raise GradientMismatch(self)

    # ---------------------------------------------------------------- presentation

    def to_text(self, width: int | None = None) -> str:
        """The report as ``print(report)`` shows it, in lines of at most ``width``
        characters (default: the terminal's width, 80 when unknown); only a word longer
        than a line goes past it."""
        return as_text(self, width)

    def __str__(self) -> str:
        return as_text(self)

    def __repr__(self) -> str:
        # The table, as at the REPL pandas and NumPy show their content.
        return as_text(self)

    def _repr_html_(self) -> str:
        return as_html(self)
