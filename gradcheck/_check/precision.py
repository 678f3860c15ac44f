"""float32 and float16 parameters checked at float64 precision, when the loss allows it.

A finite difference of a float32 loss carries float32 rounding: it hides small gradients
and loosens every tolerance. Most NumPy code follows its inputs' dtype (promotion, no
casts), so the check calls the loss on float64 copies of the parameters (and of the
floating-point arrays among ``args`` and ``kwargs``) and takes its differences there. The
user's own gradients, computed in the low precision, are then compared with an allowance
for their rounding (``gradcheck._numerics.stencil.gradient_slack``); when they come
from a function (``grads=`` a function, or a loss returning ``(loss, grads)``), that
function is run on the float64 copies too: its float64 gradients are checked (a mistake in
the code is in both), and how far the low-precision ones are from them is reported.

A loss that insists on its own dtype (it returns float32 numbers for float64 inputs), one
that raises on float64 inputs, and a loss called in place (it reads the user's own arrays)
are checked in their own dtype; what the noise hides there ends inconclusive.
docs/how-it-decides.md, "float32 and float16", derives the allowance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._check.evaluate import Evaluator
from gradcheck._check.inputs import split_grads
from gradcheck._check.unchecked import Blur
from gradcheck._numerics.steps import PRECISION

_FLOAT64_EPS = float(np.finfo(np.float64).eps)

#: How finely a pass must resolve a gradient (its tolerance relative to its size) when the
#: loss computes in float32 or float16: half the smallest slip (2%) such checks must never
#: pass. Where the differences are float64, the probes' own aim (steps.PRECISION) is the
#: bound, and they resolve far finer wherever the gradient is not tiny next to the loss.
LOW_CHECKED_TO = 0.01

#: A gradient computed in a low precision is off by at most about the loss's own rounding
#: r (its low-precision value minus its float64 one) per step scale s of a parameter: the
#: gradient's rounding is u·mean|∂ℓₙ/∂θ| where the loss's is u·mean|ℓₙ|, and a step of a
#: parameter's own size changes an example's loss by about that loss at most. Measured: at
#: most 0.028·r/s on the forum and course nets in float32, P − Y formed in float32
#: included (docs/how-it-decides.md, "float32 and float16"); the factor 35 left is for
#: code that cancels more.
ROUNDING_PER_SCALE = 1.0

#: What to do about a gradient that float64 noise hides: it is tiny next to the loss.
AT_ANOTHER_POINT = (
    "the gradient is tiny next to the loss here (saturated outputs, or a term that "
    "dominates the loss?): check at a point away from saturation, or the small term alone"
)


@dataclass
class Precision:
    """How the check's arithmetic relates to the user's dtypes.

    Attributes:
        dtype: the coarsest dtype among the parameters (``"float64"`` when none is lower).
        grad_eps: the precision the user's gradients were computed in (that dtype's ε).
        rounding: for gradients given as low-precision arrays, how far their rounding can
            put a derivative along one step scale of a parameter: ROUNDING_PER_SCALE times
            the loss's own rounding in the user's dtype (0 when not needed).
        param_eps: by parameter, the precision its gradient was computed in, at least:
            its own dtype's ε (float32 code may return float64 arrays that carry float32
            rounding), or float64's when the gradients were measured in float64.
        widened: the finite differences were taken on float64 copies.
        measured: the gradients checked are the user's gradient function run on those
            copies; ``accuracy`` says how far the user's own are from them.
        remedy: what to do about a gradient the check could not resolve.
        notes: what the report says about all this.
    """

    dtype: str = "float64"
    grad_eps: float = _FLOAT64_EPS
    param_eps: list[float] = field(default_factory=list)
    rounding: float = 0.0
    widened: bool = False
    measured: bool = False
    remedy: str = ""
    notes: list[str] = field(default_factory=list)

    def blur(self, sigma: float) -> Blur:
        """What hides a gradient from this check, and what to do, in words."""
        noise = f"the loss's rounding noise ({sigma:.1e})"
        if self.widened and not self.measured:
            return Blur(
                f"rounding (the loss's noise, {sigma:.1e}, and the {self.dtype} rounding of "
                "a gradient given as an array, which the check must allow for)",
                self.remedy,
                own_rounding=self.dtype == "float16",
                checked_to=PRECISION,
            )
        if self.dtype != "float64" and not self.widened:
            return Blur(noise, self.remedy, checked_to=LOW_CHECKED_TO)
        return Blur(noise, AT_ANOTHER_POINT, checked_to=PRECISION)


def coarsest(arrays: Sequence[NDArray[Any]]) -> np.dtype[Any]:
    """The floating dtype with the largest ε among ``arrays`` (float64 if none is lower)."""
    floats = [a.dtype for a in arrays if a.dtype.kind == "f"]
    return max(floats, key=lambda d: float(np.finfo(d).eps), default=np.dtype(np.float64))


def _widened(value: Any) -> Any:
    """A low-precision float array (or NumPy float scalar) as float64; anything else as is."""
    low = (
        isinstance(value, np.ndarray | np.floating)
        and value.dtype.kind == "f"
        and float(np.finfo(value.dtype).eps) > _FLOAT64_EPS
    )
    if not low:
        return value
    return np.float64(value) if isinstance(value, np.floating) else value.astype(np.float64)


def _follows(value: float, dtype: np.dtype[Any]) -> bool:
    """Whether a loss value computed from float64 inputs is a float64 computation: it is
    not exactly a ``dtype`` number (a float64 result is one by chance about once in 2²⁹)."""
    return bool(np.asarray(value, dtype=dtype).astype(np.float64) != value)


@dataclass(frozen=True)
class Widened:
    """The loss on float64 copies: its evaluator, its value and dtype there, and the user's
    gradient function's float64 gradients when they measure its rounding (else None)."""

    evaluator: Evaluator
    f0: float
    loss_dtype: np.dtype[Any]
    grads: list[NDArray[Any] | None] | None


def widen(
    native: Evaluator, low: np.dtype[Any], grads: object, native_grads: list[Any]
) -> tuple[Widened | None, Precision]:
    """Try the float64 check of a loss whose parameters are ``low`` (float32, float16):
    what it gives (``None`` when the loss insists on its dtype, raises on float64 inputs
    or is called in place), and the precision settled on."""
    precision = Precision(
        dtype=str(low),
        grad_eps=float(np.finfo(low).eps),
        param_eps=[float(np.finfo(s.dtype).eps) for s in native.snapshots],
    )
    own = "check again in float64 (.astype(np.float64) on parameters and data)"
    if native.inplace:
        precision.remedy = (
            "pass the parameters to the loss (check_gradients(lambda p: loss(p, X, y), "
            f"grads, params)) so that gradcheck can difference it on float64 copies, or {own}"
        )
        return None, precision
    wide = Evaluator(
        native.loss,
        native.layout,
        [s.astype(np.float64) for s in native.snapshots],
        tuple(_widened(a) for a in native.args),
        {k: _widened(v) for k, v in native.kwargs.items()},
        inplace=False,
    )
    wide.context = "at float64 copies of the parameters (the float64 re-check)"
    try:
        f64, loss_dtype, returned = wide()
    except Exception as error:  # any failure: check in the user's dtype
        precision.remedy = own
        precision.notes.append(
            f"the loss raised {type(error).__name__} on float64 copies of the {low} "
            f"parameters, so the check ran in {low}, whose rounding hides small gradients"
        )
        return None, precision
    if not _follows(f64, np.dtype(np.float32)):
        precision.remedy = (
            f"let the loss follow its inputs' dtype (no cast to {low} inside), or {own}"
        )
        precision.notes.append(
            f"the loss computes in {low} whatever its inputs (it returned a float32 number "
            f"for float64 copies of the parameters), so the check ran in {low}, whose "
            "rounding hides small gradients"
        )
        return None, precision
    precision.widened = True
    measured = _measure(wide, grads, returned, native_grads)
    settled = _settled(precision, native, measured, native_grads)
    return Widened(wide, f64, loss_dtype, measured), settled


def _measure(
    wide: Evaluator, grads: object, returned: object, native_grads: list[Any]
) -> list[NDArray[Any] | None] | None:
    """The user's gradient function run on the float64 copies, when it follows their
    dtype (float64 arrays, not all equal to the low-precision ones); else None."""
    if grads is not None and not callable(grads):
        return None
    if any(g is not None and not np.all(np.isfinite(g)) for g in native_grads):
        return None  # the low-precision gradients' own non-finite entries are the finding
    try:
        source = wide.call_user(grads) if callable(grads) else returned
        if source is None:
            return None
        wide_grads, _, _ = split_grads(source, wide.layout)
    except Exception:  # no measurement: the allowance is then derived
        return None
    pairs = list(zip(native_grads, wide_grads, strict=True))
    if any(
        (g is None) != (w is None)
        or (w is not None and (w.dtype != np.float64 or np.shape(w) != np.shape(g)))
        for g, w in pairs
    ):
        return None
    if all(w is None or np.array_equal(np.asarray(g, np.float64), w) for g, w in pairs):
        return None  # the function casts to the low precision itself: nothing measured
    return [None if w is None else np.array(w, dtype=np.float64) for w in wide_grads]


def _settled(
    precision: Precision,
    native: Evaluator,
    measured: list[NDArray[Any] | None] | None,
    native_grads: list[Any],
) -> Precision:
    low = precision.dtype
    said = (
        f"checked in float64: your loss follows its inputs' dtype, so its finite "
        f"differences were taken on float64 copies of the {low} parameters (and data), "
        "where rounding hides nothing"
    )
    if measured is None:
        precision.remedy = (
            "pass the gradients as a function (grads=lambda p: ...), so that gradcheck "
            f"can run it on float64 copies and measure your {low} gradients' own rounding; "
            "if the gradient is tiny next to the loss, check at another point"
        )
        precision.notes.append(
            f"{said}; your {low} gradients were compared with them, allowing for their "
            f"own {low} rounding"
        )
        return precision
    precision.measured = True
    precision.grad_eps = _FLOAT64_EPS
    precision.param_eps = [_FLOAT64_EPS] * len(precision.param_eps)
    accuracy = ", ".join(
        f"{name} {100 * _relative_gap(g, w):.2g}%"
        for name, g, w in zip(native.layout.names, native_grads, measured, strict=True)
        if g is not None and w is not None
    )
    precision.notes.append(
        f"{said}; your gradient function was run on them too, and its float64 gradients "
        f"were checked (a mistake in the code is in both). Your {low} gradients differ "
        f"from them by at most (relative to each one's largest entry): {accuracy}"
    )
    return precision


def _relative_gap(low: Any, wide: NDArray[np.float64]) -> float:
    largest = float(np.abs(wide).max()) if wide.size else 0.0
    gap = float(np.abs(np.asarray(low, dtype=np.float64) - wide).max()) if wide.size else 0.0
    return gap / largest if largest > 0 else gap


#: Points at which the loss is evaluated in both precisions to measure its own rounding.
ROUNDING_POINTS = 4


def loss_rounding(native: Evaluator, wide: Evaluator, rng: np.random.Generator) -> float:
    """The loss's own low-precision rounding: the root mean square of ``f_low − f_64`` at
    ``x`` and at a few points a hair away (each point's low-precision values, exactly, in
    both), at least half an ulp of the loss."""
    gaps, values = [], []
    for k in range(ROUNDING_POINTS):
        low = {
            i: (s if k == 0 else s + (1e-3 * rng.standard_normal(s.shape) * s).astype(s.dtype))
            for i, s in enumerate(native.snapshots)
        }
        f_low = native(low)[0]
        f_64 = wide({i: a.astype(np.float64) for i, a in low.items()})[0]
        gaps.append(f_low - f_64)
        values.append(abs(f_64))
    ulp = 0.5 * float(np.finfo(coarsest(native.snapshots)).eps) * max(values)
    return max(float(np.sqrt(np.mean(np.square(gaps)))), ulp)
