"""Sentences about a check as a whole, shown under the report's table (``report.notes``)."""

from __future__ import annotations

from collections.abc import Sequence


def extra_gradients(names: Sequence[str]) -> str:
    return f"gradients with no parameter of that name were ignored: {', '.join(names)}"


def noise_flaw(flaw: str, resolution: float) -> str:
    """What went wrong while measuring the loss's noise (see ``NoiseEstimate.flaw``)."""
    if flaw == "nonfinite":
        return "the loss was not finite on the noise-estimation line; noise set to 1 ulp"
    return (
        "the loss did not change at all when every parameter was nudged (saturated outputs, "
        "or a loss that ignores its parameters?): its resolution was taken as that of a "
        f"loss of order one, ε·max(|loss|, 1) = {resolution:.1e}"
    )


def backward_wrote_dout(backward: str) -> str:
    return (
        f"{backward}() wrote into the dout it was given: harmless for this check, but in a "
        "network where one upstream gradient feeds two branches the second branch would "
        "get the changed values; copy it first (dout = dout.copy())"
    )


def backward_returned_none(backward: str) -> str:
    return (
        f"{backward}() returned None: it must return the gradient of each floating-point "
        "input (return dx, or return dx, dw, db; a missing return statement?)"
    )


def no_verdict(name: str) -> str:
    return (
        f"{name}: no verdict: every probe crossed kinks closer together than the loss's "
        "rounding lets a finite difference resolve (inputs within a hair of a ReLU's "
        "kink?); its gradient was neither confirmed nor refuted"
    )


#: The way out of a loss too noisy to see a gradient (float32, a loss dominated by others).
_IN_FLOAT64 = "check again in float64 (.astype(np.float64) on parameters and data)"


def imprecise(name: str, uncertainty: float, largest: float, sigma: float) -> str:
    """A pass that says little: the noise ``sigma`` hides the gradient (``uncertainty``
    above 1: even a zero gradient would pass), or hides mistakes below ``uncertainty``."""
    if uncertainty > 1:
        return (
            f"{name}: not checked: its gradient (at most {largest:.1e}) is below what the "
            f"loss's rounding noise ({sigma:.1e}) lets any finite difference see, so even a "
            "zero gradient would pass (a float32 loss dominated by other terms, or saturated "
            f"outputs?): {_IN_FLOAT64}, away from saturation."
        )
    return (
        f"{name}: checked only to ±{uncertainty:.0%} of its gradient: the loss's rounding "
        f"noise ({sigma:.1e}) nearly hides how it changes with {name} (a float32 loss "
        f"dominated by other terms?). A mistake smaller than that would not show: {_IN_FLOAT64}."
    )
