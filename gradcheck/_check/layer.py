"""check_layer: check a layer written as ``forward(*inputs) -> (out, cache)`` and
``backward(dout, cache) -> gradients`` (the cs231n convention), with several outputs too.

A layer has no loss, so one is made: ``L = Σₖ Σ outₖ ⊙ doutₖ`` with fixed random upstream
gradients ``doutₖ``. Then ``∂L/∂input`` is exactly what ``backward(dout_1, ..., cache)``
must return, and ``check_gradients`` checks it. Forward and backward only ever see
private copies of the inputs (``layer_calls.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._check import diagnose, notes
from gradcheck._check.check import check_gradients
from gradcheck._check.inputs import validate_outputs
from gradcheck._check.layer_calls import LayerCalls, check_signatures
from gradcheck._check.report import GradientReport
from gradcheck._shapes.annotations import axis_names


def check_layer(
    forward: Callable[..., Any],
    backward: Callable[..., Any],
    *inputs: Any,
    seed: int | None = 0,
    outputs: int | None = None,
    **check_options: Any,
) -> GradientReport:
    """Check a layer's backward against finite differences of its forward.

    >>> report = gradcheck.check_layer(affine_forward, affine_backward, x, w, b)
    >>> report["w"].passed

    Args:
        forward: ``forward(*inputs) -> (out, cache)``, or ``(out_1, ..., out_k, cache)``
            for a layer with k outputs (an LSTM step's ``(next_h, next_c, cache)``).
        backward: ``backward(dout, cache)`` (``backward(dout_1, ..., dout_k, cache)``)
            returning one gradient per floating-point input, in input order (a tuple, or
            one array when there is one such input), or a dict of gradients by
            ``forward``'s argument names. Integer arrays (labels, indices) and other
            arguments (option dicts, scalars) get no gradient; ``None`` in their places
            is accepted.
        inputs: the layer's inputs, as ``forward`` takes them positionally. Never modified:
            forward and backward get private copies, and a call that writes into a
            floating-point input is reported as ``mutated``.
        seed: seeds the upstream gradients (standard normal, shaped like each output) and
            the check's random directions.
        outputs: how many outputs ``forward`` returns before its cache; by default all the
            values it returns but the last.
        check_options: passed to ``check_gradients`` (``full=True``, ...). Axis names
            for the diagnosis words come from ``forward``'s jaxtyping annotations
            (``x: Float[np.ndarray, "N T D"]``); ``axes=`` adds to or overrides them.

    Returns:
        A ``GradientReport`` whose parameters are named after ``forward``'s own
        parameters (``x``, ``w``, ``b``, ...).
    """
    __tracebackhide__ = True
    for role, fn in (("forward", forward), ("backward", backward)):
        if not callable(fn):
            raise TypeError(f"check_layer's {role} must be callable; got {type(fn).__name__}")
    validate_outputs(outputs)
    calls = LayerCalls(forward, backward, inputs, outputs)
    if not calls.checked:
        raise TypeError(
            "check_layer found no floating-point array among the inputs, so there is "
            "nothing to check: pass the layer's inputs as forward takes them"
        )
    check_signatures(forward, backward, inputs)
    douts, returned = calls.first_pass(np.random.default_rng(seed))
    douts64 = [d.astype(np.float64) for d in douts]
    shapes = [d.shape for d in douts]

    def loss(params: list[NDArray[Any]]) -> float:
        replaced = dict(zip(calls.checked, params, strict=True))
        outs, _, _ = calls.run_forward(replaced, "at perturbed inputs")
        total = 0.0
        for k, (out, dout64) in enumerate(zip(outs, douts64, strict=True)):
            if out.shape != shapes[k]:
                raise ValueError(f"output {k}'s shape changed from {shapes[k]} to {out.shape}")
            # Elementwise product and numpy's pairwise sum, not np.vdot: BLAS's dot product
            # rounds differently on different CPUs, and a layer's check should not.
            total += float(np.sum(out.astype(np.float64) * dout64))
        return total

    checked_names = [calls.names[i] for i in calls.checked]
    ndims = {calls.names[i]: calls.snapshots[i].ndim for i in calls.checked}
    annotated = {n: a for n, a in axis_names(forward).items() if len(a) == ndims.get(n)}
    given = check_options.get("axes")  # not a mapping: check_gradients says what is wrong
    if given is None or isinstance(given, Mapping):
        check_options["axes"] = {**annotated, **(given or {})}
    report = check_gradients(
        loss,
        _gradients(calls, returned),
        [calls.snapshots[i] for i in calls.checked],
        names=checked_names,
        seed=seed,
        **check_options,
    )
    return _with_writes(report, calls, returned_none=returned is None)


def _gradients(calls: LayerCalls, returned: object) -> list[Any]:
    """What backward returned, one entry per checked input (``None`` where missing)."""
    checked = calls.checked
    if returned is None:
        return [None] * len(checked)
    if isinstance(returned, np.ndarray):
        returned = (returned,)
    if isinstance(returned, Mapping):
        return [returned.get(calls.names[i]) for i in checked]
    if not isinstance(returned, tuple | list):
        raise TypeError(
            f"{calls.backward_name} must return a tuple of gradients (or one array, or a dict "
            f"by input name); got {type(returned).__name__}"
        )
    if len(returned) == len(calls.inputs) and len(calls.inputs) != len(checked):
        return [returned[i] for i in checked]
    if len(returned) != len(checked):
        raise TypeError(
            f"{calls.backward_name} returned {len(returned)} gradients, but the layer has "
            f"{len(checked)} floating-point inputs ({', '.join(calls.names[i] for i in checked)}):"
            " return one gradient per input, in the order forward takes them"
        )
    return list(returned)


def _with_writes(report: GradientReport, calls: LayerCalls, returned_none: bool) -> GradientReport:
    """The report, with ``mutated`` for every input forward or backward wrote into, and
    notes when backward wrote into ``dout`` or returned nothing."""
    results = list(report.results)
    for position, caller in calls.writers.items():
        k = calls.checked.index(position)
        diagnosis = diagnose.mutated(results[k].name, caller)
        results[k] = dataclasses.replace(results[k], outcome="failed", diagnosis=diagnosis)
    said = report.notes
    if calls.dout_written:
        said = (*said, notes.backward_wrote_dout(calls.backward_name))
    if returned_none:
        said = (*said, notes.backward_returned_none(calls.backward_name))
    return dataclasses.replace(report, results=tuple(results), notes=said)
