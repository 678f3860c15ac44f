"""Step 5, across parameters: a gradient wrong at every entry whose own line is right.

In ``A = x·W`` the backward computes ``dx = dA·Wᵀ`` and ``dW = xᵀ·dA`` from one ``dA``. A
mistake in ``dA`` (one LSTM gate's derivative, a gradient through time not carried) makes
both wrong, and mixes the error into every entry of ``dx`` even where ``dW``'s error sits
in one block. Moving ``x`` along ``x·S`` and ``W`` along ``S·W`` (any square ``S``) moves
``x·W`` by the same ``x·S·W``, so the loss changes alike along both lines when it sees
``x`` and ``W`` only through their product; and gradients computed from one ``dA``, right
or wrong, then change alike too (``⟨dA·Wᵀ, x·S⟩ = ⟨xᵀ·dA, S·W⟩``). Gradients wrong in
their own lines (``dx = dA·W``) do not. A bias ``b`` of ``x·W + b`` pairs with ``x`` the
same way: every row of ``x`` moved by ``s``, or ``b`` by ``Wᵀ·s``.

A failed gradient with no pattern of its own (``mismatch``) whose error agrees with a
failed partner's along such pairs of lines is called ``upstream``: the gradient both are
computed from is wrong, and the partner's row often shows where. docs/how-it-decides.md,
"A gradient wrong upstream", gives the reasoning.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._check import budget
from gradcheck._check.parameter import ParameterChecker
from gradcheck._check.report import Diagnosis, ParameterResult
from gradcheck._numerics.probe import Line
from gradcheck._numerics.scales import param_scale
from gradcheck._shapes.rule import grad_label

#: Two gradients' derivatives along a pair of lines must agree to this fraction of the
#: smaller error (beyond its tolerance) to be called one error: the 1% every entry of a
#: ``rearranged`` reading is resolved to. Independent errors agree that well by chance
#: about once in a hundred pairs of lines.
AGREEMENT = 0.01
#: Pairs of lines (each with its own random ``S`` or ``s``) a relation must pass, so that
#: two independent errors pass by chance about once in 10⁴.
DRAWS = 2
#: At most this many relations are probed per check: each costs 2 probes, 2·DRAWS when it
#: holds (a layer of five parameters, an RNN's, has about ten that its shapes allow).
MAX_RELATIONS = 12
#: A partner's diagnosis that says how its gradient is wrong, which this row then points to.
_LOCATED = ("confined", "rearranged", "partial", "scaled", "negated")
#: The partners whose gradients were compared value by value (not missing, mis-shaped,
#: non-finite, all zeros, or another parameter's).
_PARTNERS = (*_LOCATED, "mismatch")


@dataclass(frozen=True)
class Relation:
    """Parameters ``first`` and ``second`` whose gradients both come from the gradient of
    ``product`` (in words): ``first·second``; or, when ``via`` is a third parameter (the
    weight), the operand ``first`` and the bias ``second`` of ``first·via + second``
    (``via·first + second`` when not ``rows``)."""

    first: int
    second: int
    product: str
    via: int | None = None
    #: For a bias relation: the operand stands left of the weight (``first·via``,
    #: examples in rows), else right of it (``via·first``, examples in columns).
    rows: bool = True

    def lines(
        self, arrays: Sequence[NDArray[Any]], rng: np.random.Generator
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        """Directions through ``first`` and ``second`` that move the product alike, or None
        when they do not move it (a parameter at zero)."""
        first, second = (np.asarray(arrays[i], dtype=np.float64) for i in (self.first, self.second))
        # first's trailing axes (flattened, as an affine layer flattens an image) meet the
        # weight's first axis: first is read as rows of ``size`` entries.
        if self.via is None:  # first·second: first along first·S, second along S·second
            size = second.shape[0]
            mix = rng.standard_normal((size, size)) / math.sqrt(size)
            along_first = (first.reshape(-1, size) @ mix).reshape(first.shape)
            along_second = (mix @ second.reshape(size, -1)).reshape(second.shape)
        else:  # first is the operand, second the bias of first·via + second (or via·first)
            weight = np.asarray(arrays[self.via], dtype=np.float64)
            size = weight.shape[0] if self.rows else first.shape[0]
            shift = rng.standard_normal((size,)) * param_scale(first, 1.0)
            if self.rows:  # every row of first moved by shift; the bias by weightᵀ·shift
                rows = np.broadcast_to(shift, (first.size // size, size))
                along_first = rows.reshape(first.shape).copy()
                along_second = (shift @ weight.reshape(size, -1)).reshape(second.shape)
            else:  # every column moved by shift; the bias by weight·shift
                column = shift.reshape(size, *[1] * (first.ndim - 1))
                along_first = np.broadcast_to(column, first.shape).copy()
                along_second = (weight.reshape(-1, size) @ shift).reshape(second.shape)
        if not (np.any(along_first) and np.any(along_second)):
            return None
        return along_first, along_second


def relations(
    shapes: Sequence[tuple[int, ...]], names: Sequence[str], i: int, j: int
) -> Iterator[Relation]:
    """The relations between parameters ``i`` and ``j`` that their shapes allow: a product
    either way round (the left one's trailing axes, flattened, against the right one's
    first axis of at least 2 entries), or operand and bias through a third."""
    for left, right in ((i, j), (j, i)):
        a, b = shapes[left], shapes[right]
        if a and b and len(a) + len(b) >= 3 and b[0] >= 2 and _meets(a, b[0]):
            yield Relation(left, right, f"{names[left]}·{names[right]}")
    for operand, bias in ((i, j), (j, i)):
        x, c = shapes[operand], shapes[bias]
        if not x or not c or max(c) != int(np.prod(c)):
            continue  # a bias is a vector, or a row or column of one
        for k, w in enumerate(shapes):
            if k in (i, j) or len(w) != 2:
                continue
            if _meets(x, w[0]) and w[1] == max(c):
                product = f"{names[operand]}·{names[k]} + {names[bias]}"
                yield Relation(operand, bias, product, k, rows=True)
            if len(x) == 2 and w[-1] == x[0] and w[0] == max(c):
                product = f"{names[k]}·{names[operand]} + {names[bias]}"
                yield Relation(operand, bias, product, k, rows=False)


def _meets(shape: tuple[int, ...], size: int) -> bool:
    """Whether some trailing axes of ``shape`` (the last, or the last few flattened, with
    at least one axis left before them when there are several) hold ``size`` entries."""
    start = 0 if len(shape) == 1 else 1
    return any(int(np.prod(shape[k:])) == size for k in range(start, len(shape)))


def relate(
    results: list[ParameterResult], checker: ParameterChecker
) -> tuple[list[ParameterResult], str | None]:
    """Each ``mismatch`` row whose error a failed partner shares through a product (or a
    bias) becomes ``upstream``, naming the partner; and a note when the budget ran out
    while probing (the rows not yet related keep their own diagnosis)."""
    failed = [
        i
        for i, r in enumerate(results)
        if r.outcome == "failed" and r.diagnosis.kind in _PARTNERS and r.grad_shape == r.shape
    ]
    shapes = [r.shape for r in results]
    names = [r.name for r in results]
    tried: dict[Relation, bool] = {}
    related = list(results)
    try:
        for i in failed:
            if results[i].diagnosis.kind != "mismatch":
                continue
            # Partners whose rows show how they are wrong first: those are worth pointing to.
            others = [j for j in failed if j != i]
            partners = sorted(others, key=lambda j: results[j].diagnosis.kind not in _LOCATED)
            for j in partners:
                pairs = relations(shapes, names, i, j)
                found = next((rel for rel in pairs if _holds(rel, checker, tried)), None)
                if found is not None:
                    related[i] = _upstream(results[i], results[j], found.product)
                    break
    except budget.BudgetSpent as spent:
        return related, (
            f"{spent.budget} ran out while the failed gradients were compared with each "
            "other (to see whether one is wrong only because another is): the rows not "
            "yet compared keep their own diagnosis"
        )
    return related, None


def _holds(rel: Relation, checker: ParameterChecker, tried: dict[Relation, bool]) -> bool:
    """Whether the two gradients' errors agree along DRAWS pairs of lines (memoised; at
    most MAX_RELATIONS probed per check)."""
    if rel not in tried:
        if len(tried) >= MAX_RELATIONS:
            return False
        tried[rel] = all(_agree(rel, checker) for _ in range(DRAWS))
    return tried[rel]


def _agree(rel: Relation, checker: ParameterChecker) -> bool:
    """One pair of lines: the loss's finite differences agree (it sees the two only
    through the product), and the gradients' derivatives agree to AGREEMENT of the smaller
    of their errors, each at least its distance beyond its tolerance (> 0: both failed)."""
    snapshots = checker.evaluator.snapshots
    lines = rel.lines(snapshots, checker.planner.rng)
    if lines is None:
        return False
    verdicts = []
    for index, direction in zip((rel.first, rel.second), lines, strict=True):
        _, scale, eps, grad = checker.line_settings(index)
        checker.evaluator.context = f"while relating the gradients through {rel.product}"
        probes = checker.prober.probe(Line.along(index, direction), {"given": grad}, eps, scale)
        if len(probes) != 1 or probes[0].inconclusive or probes[0].within_rounding:
            return False  # split at kinks, undecided, or a float32 rounding: no claim
        verdicts.append(probes[0].verdicts["given"])
    a, b = verdicts
    # Each finite difference is off by at most its tolerance: where the two ranges so
    # widened do not meet, the loss does not see the two only through the product.
    if max(a.low - a.tolerance, b.low - b.tolerance) > min(
        a.high + a.tolerance, b.high + b.tolerance
    ):
        return False
    # The true error along a line is at least the distance beyond the tolerance.
    smaller = min(v.error - v.tolerance for v in verdicts)
    return smaller > 0 and abs(a.analytic - b.analytic) <= AGREEMENT * smaller


def _upstream(row: ParameterResult, partner: ParameterResult, product: str) -> ParameterResult:
    """``row`` as wrong upstream of ``product``, which it shares with ``partner``."""
    mine, theirs = grad_label(row.name), grad_label(partner.name)
    kind = partner.diagnosis.kind
    shown = f"; {theirs}'s row shows how ({kind})" if kind in _LOCATED else ""
    message = (
        f"{mine} is wrong, but most likely not in its own line: its error and {theirs}'s "
        f"agree along directions that move {product} alike (to {AGREEMENT:.0%}, in {DRAWS} "
        f"pairs of directions), as one error in the gradient of {product} would make them. "
        f"That gradient, from which both are computed, is wrong: look upstream of "
        f"{mine} and {theirs}{shown}"
    )
    return dataclasses.replace(row, diagnosis=Diagnosis("upstream", None, message))
