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
