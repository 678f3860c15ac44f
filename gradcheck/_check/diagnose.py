"""Step 5 of a check: name the mistake, in words. Every ``Diagnosis`` is built here.

For a gradient of the right shape that failed, the patterns are tried in order: the loss
never moved; ``zero``; ``transposed`` (``gᵀ`` passes every probe where ``g`` fails);
``negated`` or ``scaled`` (one factor explains every probe); ``regularisation`` (one
coefficient times the parameter explains every probe); then, from the error map of the
entries probed (``errormap.py``, ``parts.py``): ``rearranged`` (its axes permuted,
flipped or shifted, blocks or entries exchanged), ``confined`` (wrong only in one part of
the tensor), ``partial`` (a factor per slice); else ``mismatch``, saying what the map
shows. The numbers
behind them come from ``fit.py``; see docs/how-it-decides.md, "The diagnosis".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from gradcheck._check.errormap import ErrorMap, Words, error_map, rearranged
from gradcheck._check.fit import (
    Fit,
    all_pass,
    common_factor,
    conclusive,
    fit_factor,
    fit_regularisation,
)
from gradcheck._check.locate import Map
from gradcheck._check.parts import confined, partial, where_wrong
from gradcheck._check.report import Diagnosis, DiagnosisKind, ParameterResult
from gradcheck._numerics.probe import Probe
from gradcheck._shapes.rule import TRANSPOSE_REMEDY, describe_shape_slip, grad_label

#: How close to −1 a factor must be to be called a sign error rather than a scale.
NEGATION_SLACK = 0.01
#: A factor this close to 1 is a slip in a constant, not a count (1.02 = 51/50 by chance).
NEAR_ONE = 0.1

# ----------------------------------------------------------- before any comparison


def nothing_to_compare() -> Diagnosis:
    """An empty parameter (or one whose gradient could not be read): nothing to say."""
    return Diagnosis("ok", None, "")


def ok(name: str, together: tuple[str, ...] = ()) -> Diagnosis:
    joint = f", probed together with {', '.join(together)}" if together else ""
    return Diagnosis("ok", None, f"{grad_label(name)} agrees with the finite differences{joint}")


def swapped(
    name: str, other: str, shape: tuple[int, ...], given_shape: tuple[int, ...]
) -> Diagnosis:
    """The gradient given for ``other`` matches ``name``'s finite differences."""
    label = grad_label(name)
    own = f"the one given for {name}" + (f" (shape {given_shape})" if given_shape != shape else "")
    return Diagnosis(
        "swapped",
        None,
        f"{label} was given in {other}'s place: the gradient given for {other} matches "
        f"{name}'s finite differences, and {own} does not: the gradients are in the wrong "
        "order (return them in the order of the parameters) or exchanged between two "
        "parameters",
    )


def params_and_grads_swapped(name: str) -> Diagnosis:
    """Every gradient failed, and with the two arguments exchanged every one passes."""
    return Diagnosis(
        "swapped",
        None,
        f"{grad_label(name)} does not match: params and grads look swapped, the finite "
        "differences at the arrays given as gradients match the arrays given as "
        "parameters. Call check_gradients(loss, grads, params): the gradients second, the "
        "parameters third",
    )


def missing(name: str, problem: str | None) -> Diagnosis:
    return Diagnosis(
        "missing", None, problem or f"no gradient for {name}: return one entry per parameter"
    )


def nonfinite_gradient(name: str, grad64: NDArray[np.float64]) -> Diagnosis:
    bad = np.argwhere(~np.isfinite(grad64))
    first = tuple(int(i) for i in bad[0])
    return Diagnosis(
        "nonfinite",
        None,
        f"{grad_label(name)} has {len(bad)} non-finite entries (nan or inf), the first at "
        f"{first}: look for an overflow (exp of a large score: subtract the max) or a "
        "log/division of 0",
    )


def nonfinite_loss(where: str | None, error: Exception | None = None) -> Diagnosis:
    """The loss was not finite: at ``x`` itself (``where`` is its value), or near the
    parameter ``where`` (``error`` says where exactly)."""
    if error is None:
        text = (
            f"the loss itself is {where} at the given parameters, so nothing can be compared: "
            "make the loss finite first (log of 0? exp overflow?)"
        )
    else:
        text = (
            f"{error}: the loss overflows or hits a log/division of 0 near {where}; make it "
            "numerically stable (e.g. log-sum-exp for softmax)"
        )
    return Diagnosis("nonfinite", None, text)


def mutated(name: str, writer: str | None = None) -> Diagnosis:
    """The loss (or check_layer's ``writer``, forward or backward) wrote into ``name``."""
    if writer is None:
        return Diagnosis(
            "mutated",
            None,
            f"the loss (or gradient function) wrote into {name} while it was being checked: "
            "it must not modify its inputs in place (copy before +=, -=, or masked assignment)",
        )
    how = (
        "through its cache, which holds the input itself (a mask computed in place, x[x <= 0] = 0?)"
        if writer == "backward"
        else "(an in-place +=, -= or masked assignment on the input?)"
    )
    return Diagnosis(
        "mutated",
        None,
        f"the layer's {writer} wrote into {name} {how}: in a network the next call, or "
        f"another layer, would see the changed {name}. Copy before changing it (e.g. "
        f"{name} = {name}.copy()); your {name} was left unchanged",
    )


# ------------------------------------------------------------ a gradient's shape


def shape(
    name: str,
    param_shape: tuple[int, ...],
    grad_shape: tuple[int, ...],
    fixed: str | None = None,
    values_right: bool = False,
) -> Diagnosis:
    """A gradient of the wrong shape. ``fixed`` names the obvious fix that was compared
    (``"summed"``, ``"reshaped"``, ``"transposed"``), and ``values_right`` its verdict;
    ``None`` when nothing could be compared."""
    words = describe_shape_slip(name, param_shape, grad_shape)
    if fixed is not None and values_right:
        words += (
            f"; after that fix the values are right ({fixed} {grad_label(name)} matches the "
            "finite differences)"
        )
    elif fixed is not None:
        words += "; and the values are wrong too, even after fixing the shape"
    return Diagnosis("shape", None, words + ".")


def transposed(name: str, param_shape: tuple[int, ...], grad_shape: tuple[int, ...]) -> Diagnosis:
    """``dW.T`` matches: shown by reversed axes, or by the values of a square gradient."""
    label = grad_label(name)
    if grad_shape != param_shape:
        head = describe_shape_slip(name, param_shape, grad_shape)
        return Diagnosis("transposed", None, f"{head}; {label}.T matches the finite differences.")
    return Diagnosis(
        "transposed",
        None,
        f"{label} is transposed: {label}.T matches the finite differences ({TRANSPOSE_REMEDY})",
    )


# ---------------------------------------------------- a gradient with wrong values


def _describe_factor(c: float) -> str:
    if abs(c - 2) < 0.02 or abs(c - 0.5) < 0.005:
        return (
            "a factor 2 slipped in or out: the derivative of 0.5·x² is x and of x² is 2x; "
            "check the loss's 0.5 against the backward"
        )
    fraction = Fraction(c).limit_denominator(64)
    if abs(float(fraction) - c) > 1e-9 * abs(c) or abs(c - 1) < NEAR_ONE:
        # Within NEAR_ONE of 1 a ratio of counts (51/50) is a coincidence, not the story.
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
    written = f"{factor:.4g}×"
    exact = abs(float(fraction) - factor) <= 1e-9 * abs(factor)
    if fraction.denominator > 1 and exact and abs(factor - 1) >= NEAR_ONE:
        written += f" (= {fraction.numerator}/{fraction.denominator})"
    return Diagnosis(
        "scaled",
        factor,
        f"{grad_label(name)} is {written} the finite-difference value at every probe: "
        + _describe_factor(factor),
    )


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


def diagnose_values(
    name: str,
    param_shape: tuple[int, ...],
    probes: Sequence[Probe],
    grad64: NDArray[np.float64],
    axes: tuple[str, ...] | None = None,
    mapped: Map | None = None,
) -> Diagnosis:
    """Diagnose a gradient of the right shape that failed at least one probe. ``axes``
    names the parameter's axes (from annotations); ``mapped`` is the error map probed
    after a first failure with no pattern, if any (its probes are among ``probes``)."""
    if not any(p.loss_moved for p in probes):
        return _loss_never_moved(name)
    if not np.any(grad64):
        return _zero(name)
    vanishing = _vanishing(probes)
    if vanishing is not None:
        return _zero(name, *vanishing)
    if "transposed" in probes[0].verdicts and all_pass(probes, "transposed"):
        return transposed(name, param_shape, param_shape)
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
        return _negated(name)
    if factor is not None and factor != 0:
        return scaled(name, factor)
    regularised = fit_regularisation(probes)
    if regularised is not None:
        return regularisation(name, regularised.value)
    # Last, from the error map: a sign or a scale is the likelier story when both fit (a
    # two-entry gradient [a, -a] flipped is also negated).
    exhaustive = mapped is not None and mapped.exhaustive
    cost = "" if mapped is None else mapped.words
    errors = error_map(param_shape, probes, axes, exhaustive)
    if errors is not None:
        readings: list[tuple[DiagnosisKind, Words | None]] = [
            ("rearranged", rearranged(grad64, errors)),
            ("confined", confined(errors)),
            ("partial", partial(grad64, errors)),
        ]
        for kind, words in readings:
            if words is not None:
                return Diagnosis(kind, None, words(grad_label(name)) + cost)
    if mapped is not None and mapped.slices is not None:
        axis, indices = mapped.slices
        words = confined(ErrorMap(param_shape, {}, axes, slices=(axis, tuple(indices))))
        if words is not None:
            return Diagnosis("confined", None, words(grad_label(name)) + cost)
    worst = max(decided or probes, key=lambda p: p.verdicts["given"].ratio)
    shown = None if errors is None else where_wrong(errors)
    return _mismatch(name, worst, shown, cost)


#: A gradient at most this fraction of the finite differences at every probe is called
#: vanishing (``zero``): a division too many by a batch size or a count stays far above it
#: (``scaled``), an underflow or a term lost to 1e-18 does not.
VANISHING = 1e-9


def _vanishing(probes: Sequence[Probe]) -> tuple[float, float] | None:
    """(largest |analytic|, largest |numeric|) when the gradient vanishes next to the
    finite differences at every conclusive probe, else None."""
    decided = [p.verdicts["given"] for p in conclusive(probes)]
    if not decided:
        return None
    scale = [p.scale for p in conclusive(probes)]
    analytic = max(abs(v.analytic) / s for v, s in zip(decided, scale, strict=True))
    numeric = max(abs(v.numeric) / s for v, s in zip(decided, scale, strict=True))
    failing = any(not v.passed for v in decided)
    return (analytic, numeric) if failing and analytic <= VANISHING * numeric else None


def _loss_never_moved(name: str) -> Diagnosis:
    return Diagnosis(
        "mismatch",
        None,
        f"the loss did not change at all when {name} was perturbed, but {grad_label(name)} is "
        "not zero: does the loss use the parameters it is given? (e.g. lambda p: "
        "net.loss(p, X, y), not net.loss(params, X, y))",
    )


def _zero(name: str, largest: float = 0.0, numeric: float = 0.0) -> Diagnosis:
    """All zeros, or vanishing: at most VANISHING of the finite differences everywhere."""
    what = (
        "is all zeros"
        if largest == 0
        else f"vanishes (at most {largest:.1e}, where the finite differences give {numeric:.2g})"
    )
    return Diagnosis(
        "zero",
        None,
        f"{grad_label(name)} {what}, but the loss changes with {name}: the gradient was "
        "never computed or written (a missing +=, a mask that removes everything, or the "
        "wrong variable returned)",
    )


def scalar_zero(name: str, param_shape: tuple[int, ...]) -> Diagnosis:
    return Diagnosis(
        "zero",
        None,
        f"{grad_label(name)} is the scalar 0, not an array of shape {param_shape}: the "
        "gradient was never computed (a placeholder 0 returned, or an accumulator that "
        "was never added to)",
    )


def _negated(name: str) -> Diagnosis:
    return Diagnosis(
        "negated",
        -1.0,
        f"{grad_label(name)} has the wrong sign: it is −1 × the finite-difference value (e.g. "
        "(y − p) where the derivative is (p − y), or an update sign folded into the gradient)",
    )


def _mismatch(name: str, worst: Probe, shown: str | None = None, mapped: str = "") -> Diagnosis:
    """None of the patterns; ``shown`` is what the error map shows, when there is one."""
    v = worst.verdicts["given"]
    where = f"at {worst.entry}" if worst.entry is not None else "along a random direction"
    return Diagnosis(
        "mismatch",
        None,
        f"{grad_label(name)} disagrees with the finite differences {where} (analytic "
        f"{v.analytic / worst.scale:.6g}, numeric {v.numeric / worst.scale:.6g}) and no "
        "single scale, sign, transpose or rearrangement explains it"
        + (f" ({shown})" if shown else "")
        + ": check the formula itself"
        + mapped,
    )


def share_factor(results: list[ParameterResult], fits: Mapping[str, Fit]) -> list[ParameterResult]:
    """When every gradient is scaled by one factor that fits all of them, say that factor:
    a common cause (one missing 1/N) is likelier, and the smooth parameters' precise probes
    pin the factor down for the kinked ones too."""
    if len(results) < 2 or any(r.name not in fits for r in results):
        return results
    factor = common_factor([fits[r.name] for r in results])
    if factor is None:
        return results
    return [dataclasses.replace(r, diagnosis=scaled(r.name, factor)) for r in results]
