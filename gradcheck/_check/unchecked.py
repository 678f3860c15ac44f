"""The words for a gradient that could not be checked (outcome ``inconclusive``): what
hid it, and what to do. Said the same way for every parameter with the same cause, so
that the report can say it once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from gradcheck._check.report import Diagnosis
from gradcheck._shapes.rule import grad_label


def no_verdict(name: str) -> Diagnosis:
    """No probe decided: kinks closer together than any step the noise allows."""
    return Diagnosis(
        "unchecked",
        None,
        f"{grad_label(name)} could not be checked: every probe crossed kinks closer "
        "together than the loss's rounding lets a finite difference resolve (inputs within "
        "a hair of a ReLU's kink?), so its gradient was neither confirmed nor refuted: "
        "check again at other parameters (another initialisation, or a few training steps "
        "on)",
    )


class Blur(NamedTuple):
    """What blurs a check's view of a gradient, for the words of an unchecked one."""

    cause: str  # "the loss's rounding noise (4.1e-08)", or the gradient's own rounding
    remedy: str  # what to do: check in float64, pass a function, another point...
    own_rounding: bool = False  # the cause is the gradient's own low-precision rounding
    #: A pass must resolve the gradient to this fraction of its size (see verdict.py).
    checked_to: float = 0.1


def imprecise(name: str, blur: float, blurred_by: Blur, *, zero: bool = False) -> Diagnosis:
    """No probe refuted the gradient, but rounding hides it (``blur`` above 1: even a zero
    gradient would pass) or hides mistakes up to ``blur`` of its size (of the other
    parameters' gradients, for a ``zero`` one). Said the same way for every parameter with
    the same cause, so that the report can say it once."""
    cause, remedy, own, _ = blurred_by
    label = grad_label(name)
    if zero:
        text = (
            f"{label} is all zeros, and {cause} would hide a gradient of up to "
            f"{blur:.0%} of the other parameters' here, so a pass would say little: {remedy}"
        )
    elif blur <= 1:
        text = (
            f"{label} was checked only to ±{blur:.0%} of its size: {cause} would hide a "
            f"smaller mistake, so a pass would say little: {remedy}"
        )
    elif own:
        text = (
            f"{label} could not be checked: {cause} can be as large as the gradient "
            f"itself (sums whose terms cancel), so any mistake would hide in it: {remedy}"
        )
    else:
        text = (
            f"{label} could not be checked: it is below what {cause} lets any finite "
            f"difference see, so even a zero gradient would pass: {remedy}"
        )
    return Diagnosis("unchecked", None, text)


def quantised(name: str, f0: float, whole: bool) -> Diagnosis:
    """The loss returns whole numbers (``whole``), or values on a grid so coarse that it
    did not move at all near ``x``: no finite difference can see its slope."""
    what = (
        "whole numbers (an int: int(loss * 1000)?)"
        if whole
        else f"values on a coarse grid ({f0!r}: rounded, e.g. round(loss, 4)?)"
    )
    return Diagnosis(
        "quantised",
        None,
        f"{grad_label(name)} could not be checked: the loss is quantised, it returns {what}, "
        "so it is flat between its steps and no finite difference can see its slope: "
        "return the loss as the float it is, unrounded",
    )


def unclean(name: str, writers: Sequence[str]) -> Diagnosis:
    """A parameter that failed while the loss wrote into others: its probes ran on a loss
    whose inputs were changing, so its comparison says nothing."""
    return Diagnosis(
        "unchecked",
        None,
        f"{grad_label(name)} could not be checked: the loss wrote into "
        f"{', '.join(writers)} while it ran, so its values at the other parameters' "
        "probes were not taken at a clean point; fix the loss (it must not change its "
        "inputs) and check again",
    )


def own_rounding(name: str, blurred_by: Blur) -> Diagnosis:
    """It failed, but by no more than its own low-precision rounding could (a gradient
    given as arrays: the rounding cannot be measured)."""
    return Diagnosis(
        "unchecked",
        None,
        f"{grad_label(name)} could not be checked: it differs from the float64 finite "
        "differences by no more than its own low-precision rounding could (sums whose "
        f"terms cancel, e.g. P − Y formed in float32), so it may be right: {blurred_by.remedy}",
    )
