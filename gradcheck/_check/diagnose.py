"""Name the mistake behind a wrong gradient, from what the probes saw.

Every probe compares the user's directional derivative ``a`` with the finite-difference
one ``n`` (tolerance ``τ``). The patterns, tried in order:

* ``zero``: the gradient is all zeros but the loss moves;
* ``transposed``: ``gᵀ`` passes every probe where ``g`` fails;
* ``negated`` / ``scaled``: one factor ``c`` explains every probe, ``a ≈ c·n`` (least
  squares over the probes where ``n`` stands out of its tolerance), with residuals within
  ``(1 + |c|)·τ``. ``c`` within 1% of −1 is ``negated``;
* ``regularisation``: one coefficient ``c`` explains every probe as ``n ≈ a + c·w``, where
  ``w = ⟨x, d⟩`` is the parameter's own value along the probe: the backward lacks (or has
  too much of) the gradient ``c·x`` of an L2 term ``½·c·Σx²``;
* ``mismatch``: anything else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from gradcheck._params import grad_label
from gradcheck._report import Diagnosis
from gradcheck._stencil import Verdict

#: How close to −1 a factor must be to be called a sign error rather than a scale.
NEGATION_SLACK = 0.01


@dataclass(frozen=True)
class Probe:
    """What one probe saw, for each candidate reading of the user's gradient."""

    index: tuple[int, ...] | None  # entry probed, or None for a random direction
    scale: float  # the entry's step scale (to report per-entry derivatives)
    verdicts: dict[str, Verdict]  # candidate name ("given", "transposed", ...) -> verdict
    loss_moved: bool  # whether any of the five loss values differed
    #: The line is rough (kinks, or estimates spread wider than noise) and the discrepancy
    #: is below what a smaller step's noise could resolve: no verdict either way.
    inconclusive: bool = False
    #: The settled verdict's width relative to the gradient's size (see PRECISION).
    uncertainty: float = 0.0
    #: The parameter's own value along the probe, ``⟨x, Δ⟩ / h`` at the settled verdict's
    #: step, from the same stored displacements and formula as its ``analytic`` (so
    #: ``x[index]·scale`` for an entry, ``⟨x, d⟩`` for a direction): a gradient ``g + c·x``
    #: would have had the analytic value ``analytic + c·along``.
    along: float = 0.0
    #: Attempts (steps) at which the gradient failed before the verdict settled: a pass
    #: after failures was explained by the line's roughness at some step.
    failed_attempts: int = 0


def conclusive(probes: Sequence[Probe]) -> list[Probe]:
    """The probes that gave a verdict (see :attr:`Probe.inconclusive`)."""
    return [p for p in probes if not p.inconclusive]


def all_pass(probes: Sequence[Probe], candidate: str) -> bool:
    decided = conclusive(probes)
    return bool(decided) and all(p.verdicts[candidate].passed for p in decided)


@dataclass(frozen=True)
class FactorFit:
    """A factor ``c`` with ``a ≈ c·n`` on every probe, and the interval the probes allow."""

    value: float
    low: float
    high: float


def fit_factor(probes: Sequence[Probe]) -> FactorFit | None:
    """The factor ``c`` with ``a ≈ c·n`` on every probe, or ``None`` if there is none.

    Each probe whose numeric value stands clear of zero bounds ``c`` to an interval
    (``a`` divided by the probe's range widened by its tolerance); ``c`` must lie in all of
    them. The estimate is the least-squares fit weighted by each probe's precision; when a
    simple number (an integer, 1/N, a fraction with a small denominator) lies in every
    interval and within 1% of the fit, that number is the factor: a missing 1/N with
    N = 800 reads 800, not 798.8.
    """
    verdicts = [p.verdicts["given"] for p in conclusive(probes)]
    significant = [v for v in verdicts if abs(v.numeric) > 2 * (v.tolerance + v.high - v.low)]
    if not significant:
        return None
    low, high = -math.inf, math.inf
    for v in significant:
        ends = sorted((v.analytic / (v.low - v.tolerance), v.analytic / (v.high + v.tolerance)))
        low, high = max(low, ends[0]), min(high, ends[1])
    if low > high:
        return None
    weights = [1 / (v.tolerance + v.high - v.low) ** 2 for v in significant]
    fit = sum(w * v.analytic * v.numeric for w, v in zip(weights, significant, strict=True)) / sum(
        w * v.numeric**2 for w, v in zip(weights, significant, strict=True)
    )
    c = simplest_between(low, high, fit) or fit
    if all(v.within(v.analytic, c) for v in verdicts):
        return FactorFit(c, low, high)
    return None


def simplest_between(low: float, high: float, near: float) -> float | None:
    """The simplest number in ``[low, high]`` within 1% of ``near``: p/q with the smallest
    q ≤ 64, or 1/N."""
    if near == 0:
        return None
    close = (max(low, near - 0.01 * abs(near)), min(high, near + 0.01 * abs(near)))
    for q in range(1, 65):
        p = round(near * q)
        if p != 0 and close[0] <= p / q <= close[1]:
            return p / q
    n = round(1 / near)
    if n != 0 and close[0] <= 1 / n <= close[1]:
        return 1 / n
    return None


def _describe_factor(c: float) -> str:
    if abs(c - 2) < 0.02 or abs(c - 0.5) < 0.005:
        return (
            "a factor 2 slipped in or out: the derivative of 0.5·x² is x and of x² is 2x; "
            "check the loss's 0.5 against the backward"
        )
    fraction = Fraction(c).limit_denominator(64)
    if abs(float(fraction) - c) > 1e-9 * abs(c):
        return "a normalisation or constant factor differs between the loss and the backward"
    if fraction.denominator == 1 and c > 1:
        return (
            f"a division by {fraction.numerator} is missing (the batch size? the number of "
            "outputs?): the loss averages over something the backward does not divide by"
        )
    if fraction.numerator == 1 and c < 1:
        return (
            f"a division by {fraction.denominator} too many (the batch size? the number of "
            "outputs?), or the loss sums where the backward assumes a mean"
        )
    return (
        f"the backward divides by "
        f"{fraction.denominator} where the loss divides by {fraction.numerator} (e.g. the "
        "batch size and the number of outputs swapped: a mean over the wrong axis)"
    )


def scaled(name: str, factor: float) -> Diagnosis:
    """The ``scaled`` diagnosis of ``name`` with ``factor``, in words."""
    fraction = Fraction(factor).limit_denominator(64)
    shown = f"{factor:.4g}×"
    if fraction.denominator > 1 and abs(float(fraction) - factor) <= 1e-9 * abs(factor):
        shown += f" (= {fraction.numerator}/{fraction.denominator})"
    return Diagnosis(
        "scaled",
        factor,
        f"{grad_label(name)} is {shown} the finite-difference value at every probe: "
        + _describe_factor(factor),
    )


def common_factor(fits: Sequence[FactorFit]) -> float | None:
    """One factor for several parameters, if one number fits all their intervals."""
    low = max(f.low for f in fits)
    high = min(f.high for f in fits)
    if low > high:
        return None
    middle = sorted(f.value for f in fits)[len(fits) // 2]
    return simplest_between(low, high, middle) or min(max(middle, low), high)


#: A probe pins the regularisation coefficient only if its own interval for ``c`` is this
#: narrow relative to ``c`` (±10%, as PRECISION for a verdict): two such probes agreeing by
#: chance, when the error is not proportional to the parameter, is unlikely.
REG_PRECISION = 0.1
#: Probes that must each pin ``c`` on their own: any single probe is explained by some
#: ``c`` (``(n − a)/w``), so only agreement between at least two says anything.
REG_MIN_PROBES = 2


@dataclass(frozen=True)
class RegularisationFit:
    """A coefficient ``c`` with ``n ≈ a + c·w`` on every probe, and the interval allowed."""

    value: float
    low: float
    high: float


def fit_regularisation(probes: Sequence[Probe]) -> RegularisationFit | None:
    """The coefficient ``c`` with ``n ≈ a + c·w`` on every probe (``w`` = :attr:`Probe.along`),
    or ``None`` if there is none, or the probes cannot tell.

    Each conclusive probe's range widened by its tolerance holds the true derivative, so
    ``c`` lies in ``[(low − τ − a)/w, (high + τ − a)/w]`` (ends swapped for ``w < 0``); ``c``
    must lie in all of them. A probe with ``w = 0`` cannot show ``c`` and must pass as it is.
    Probes that saw a kink are left out (their range holds only at the step they settled on).
    At least REG_MIN_PROBES probes must each exclude ``c = 0`` (fail as given) and pin ``c``
    to REG_PRECISION. The estimate is the least-squares fit weighted by each probe's
    precision, replaced by a round number (1 to 3 significant digits) when that lies in
    every interval and within 1% of the fit: 0.001, not 0.00100003.
    """
    # A probe that saw a kink is left out: its range is the one-sided slopes at the step
    # it settled on, which was chosen (by retries) for the given value only; another value
    # outside that range may well be valid at a smaller step, so it can neither confirm nor
    # refute ``c``.
    decided = [p for p in conclusive(probes) if not p.verdicts["given"].kink]
    low, high = -math.inf, math.inf
    pinned = 0
    numerator = denominator = 0.0
    for p in decided:
        v = p.verdicts["given"]
        if p.along == 0:
            if not v.passed:
                return None
            continue
        ends = sorted(
            (
                (v.low - v.tolerance - v.analytic) / p.along,
                (v.high + v.tolerance - v.analytic) / p.along,
            )
        )
        low, high = max(low, ends[0]), min(high, ends[1])
        middle = (ends[0] + ends[1]) / 2
        if ends[0] * ends[1] > 0 and ends[1] - ends[0] <= 2 * REG_PRECISION * abs(middle):
            pinned += 1
            # Least squares of (n − a) ≈ c·w over the pinning probes, each weighted by
            # 1/width² (the floor only keeps a width of exactly 0 from dividing by 0).
            width = max(v.tolerance + v.high - v.low, math.ulp(abs(v.numeric - v.analytic)))
            numerator += p.along * (v.numeric - v.analytic) / width**2
            denominator += p.along**2 / width**2
    if pinned < REG_MIN_PROBES or low > high or low <= 0 <= high:
        return None
    fit = min(max(numerator / denominator, low), high)
    c = _round_between(low, high, fit) or fit
    if all(p.verdicts["given"].within(p.verdicts["given"].analytic + c * p.along) for p in decided):
        return RegularisationFit(c, low, high)
    return None


def _round_between(low: float, high: float, near: float) -> float | None:
    """The number with the fewest significant digits (1 to 3) in ``[low, high]`` and within
    1% of ``near``."""
    # 1%, as for a snapped factor (simplest_between): a round number the probes allow but
    # farther from the fit than that would misstate the coefficient in the message.
    for digits in range(3):
        rounded = float(f"{near:.{digits}e}")
        if low <= rounded <= high and abs(rounded - near) <= 0.01 * abs(near):
            return rounded
    return None


def regularisation(name: str, c: float) -> Diagnosis:
    """The ``regularisation`` diagnosis of ``name``: numeric ≈ analytic + c·(x along the
    probe), in words."""
    label = grad_label(name)
    size = f"{abs(c):.4g}"
    sign = "+" if c > 0 else "−"
    head = (
        f"{label} differs from the finite differences by {'' if c > 0 else '−'}{size}·{name} at "
        f"every probe (numeric ≈ analytic {sign} {size}·{name}): "
    )
    if c > 0:
        return Diagnosis(
            "regularisation",
            c,
            head + f"the gradient of the regularisation term (reg·{name}, reg ≈ {size}, for "
            f"½·reg·Σ{name}² in the loss) is missing, or falls short by that much (a wrong "
            "sign, a lost factor 2)",
        )
    return Diagnosis(
        "regularisation",
        c,
        head + f"the backward adds {size}·{name} that the loss does not account for: the "
        f"gradient of the regularisation term (reg·{name}, reg ≈ {size}) is counted twice, or "
        "the loss lacks the term (reg not passed to the loss?) or has a smaller one "
        f"(½·reg·Σ{name}², whose derivative is reg·{name}, not 2·reg·{name})",
    )


def diagnose_values(name: str, probes: Sequence[Probe], grad_is_zero: bool) -> Diagnosis:
    """Diagnose a gradient of the right shape that failed at least one probe."""
    label = grad_label(name)
    if not any(p.loss_moved for p in probes):
        return Diagnosis(
            "mismatch",
            None,
            f"the loss did not change at all when {name} was perturbed, but {label} is not "
            f"zero: does the loss use the parameters it is given? (e.g. lambda p: "
            f"net.loss(p, X, y), not net.loss(params, X, y))",
        )
    if grad_is_zero:
        return Diagnosis(
            "zero",
            None,
            f"{label} is all zeros, but the loss changes with {name}: the gradient was never "
            "computed or written (a missing +=, a mask that removes everything, or the "
            "wrong variable returned)",
        )
    if "transposed" in probes[0].verdicts and all_pass(probes, "transposed"):
        return Diagnosis(
            "transposed",
            None,
            f"{label} is transposed: {label}.T matches the finite differences. Swap the "
            "operands of the product and transpose them (rows as examples: "
            "dW = X.T @ dY; columns as examples: dW = dY @ X.T)",
        )
    fitted = fit_factor(probes)
    factor = None if fitted is None else fitted.value
    decided = conclusive(probes)
    if (
        factor is None
        and decided
        and all(p.verdicts["given"].within(p.verdicts["given"].analytic, -1.0) for p in decided)
    ):
        # Probes too noisy to fit a factor can still all agree with a flipped sign.
        factor = -1.0
    if factor is not None and abs(factor + 1) <= NEGATION_SLACK:
        return Diagnosis(
            "negated",
            -1.0,
            f"{label} has the wrong sign: it is −1 × the finite-difference value (e.g. "
            "(y − p) where the derivative is (p − y), or an update sign folded into the "
            "gradient)",
        )
    if factor is not None and factor != 0:
        return scaled(name, factor)
    regularised = fit_regularisation(probes)
    if regularised is not None:
        return regularisation(name, regularised.value)
    worst = max(conclusive(probes) or probes, key=lambda p: p.verdicts["given"].ratio)
    v = worst.verdicts["given"]
    where = f"at {worst.index}" if worst.index is not None else "along a random direction"
    return Diagnosis(
        "mismatch",
        None,
        f"{label} disagrees with the finite differences {where} (analytic "
        f"{v.analytic / worst.scale:.6g}, numeric {v.numeric / worst.scale:.6g}) and no "
        "single scale, sign or transpose explains it: check the formula itself",
    )
