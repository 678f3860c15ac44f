"""Steps 3 and 4 for one parameter: read its gradient, probe the planned lines (and more
after a failure), and hand the probes to ``verdict.py``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._check import diagnose
from gradcheck._check.evaluate import Evaluator
from gradcheck._check.joint import JointCover
from gradcheck._check.locate import Mapper
from gradcheck._check.plan import Planner
from gradcheck._check.report import Diagnosis, ParameterResult
from gradcheck._check.unchecked import Blur
from gradcheck._check.verdict import SWAPPED_PREFIX, Evidence, ParameterOutcome, verdict
from gradcheck._numerics.probe import NonFiniteLossError, Probe, Prober
from gradcheck._numerics.scales import gradient_eps, param_scale
from gradcheck._shapes.rule import ShapeSlip, classify_shape_slip


@dataclass
class ParameterChecker:
    """What checking any one parameter needs from the check as a whole."""

    evaluator: Evaluator
    prober: Prober
    planner: Planner
    cover: JointCover
    global_scale: float
    #: By parameter, the precision its gradient was computed in, at least (its dtype's ε:
    #: float32 code may return float64 arrays that carry float32 rounding).
    grad_eps: list[float]
    blurred_by: Blur
    #: Every parameter's gradient as given (None where missing): one given for another
    #: parameter of this one's shape is read as this one's too, to spot gradients swapped.
    grads: list[NDArray[Any] | None]
    #: By parameter, its axis names where annotations (or ``axes=``) give them.
    axes: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Each finite gradient in float64, and its largest entry, once per check (every
        # parameter reads the others'; none of them changes).
        self._finite: dict[int, NDArray[np.float64]] = {
            j: np.asarray(g, dtype=np.float64)
            for j, g in enumerate(self.grads)
            if g is not None and g.size and np.all(np.isfinite(g))
        }
        self._largest = {j: float(np.abs(g).max()) for j, g in self._finite.items()}

    def check(
        self, index: int, name: str, grad: NDArray[Any] | None, grad_problem: str | None
    ) -> ParameterOutcome:
        """Check parameter ``index``'s gradient ``grad`` (``None`` if missing, with
        ``grad_problem`` saying why when it was not an array)."""
        shape = tuple(self.evaluator.snapshots[index].shape)
        if grad is None:
            return _failed(name, shape, None, diagnose.missing(name, grad_problem))
        grad_shape = tuple(grad.shape)
        if grad.ndim == 0 and shape and not np.any(grad):
            return _failed(name, shape, grad_shape, diagnose.scalar_zero(name, shape))
        grad64 = grad.astype(np.float64)
        if not np.all(np.isfinite(grad64)):
            return _failed(name, shape, grad_shape, diagnose.nonfinite_gradient(name, grad64))
        slip = classify_shape_slip(shape, grad_shape)
        readings = _readings(shape, grad64, slip) | self._given_for_others(index, shape)
        try:
            probes = self._probe(index, grad, readings)
        except NonFiniteLossError as error:
            return _failed(name, shape, grad_shape, diagnose.nonfinite_loss(name, error))
        if index in self.evaluator.mutated:
            return _failed(name, shape, grad_shape, diagnose.mutated(name))
        evidence = Evidence(
            name=name,
            shape=shape,
            grad_shape=grad_shape,
            slip=slip,
            readings=readings,
            grad64=grad64,
            direct=probes,
            joint=self.cover.probes.get(index, []),
            together=self.cover.together.get(index, ()),
            typical=max((m for j, m in self._largest.items() if j != index), default=0.0),
            axes=self.axes.get(index),
        )
        outcome = verdict(evidence, self.blurred_by)
        if _worth_mapping(outcome, evidence, self.planner.options.entries):
            array, scale, eps = self._settings(index, grad)
            mapped = Mapper(self.prober, self.planner, readings, eps, scale).map(
                index, array, probes
            )
            evidence = dataclasses.replace(evidence, direct=mapped.probes, mapped=mapped)
            outcome = verdict(evidence, self.blurred_by)
        return outcome

    def _settings(self, index: int, grad: NDArray[Any]) -> tuple[NDArray[Any], float, float]:
        """Parameter ``index`` at x, its step scale, and the precision its gradient was
        computed in: what every probe through it needs."""
        array = self.evaluator.snapshots[index]
        eps = max(gradient_eps(grad), self.grad_eps[index])
        return array, param_scale(array, self.global_scale), eps

    def line_settings(self, index: int) -> tuple[NDArray[Any], float, float, NDArray[np.float64]]:
        """What a probe of parameter ``index`` along any line needs: its array at x, step
        scale and gradient precision (``_settings``), and its gradient in float64 (the
        parameter must have a finite gradient)."""
        grad = self.grads[index]
        assert grad is not None
        assert index in self._finite
        return (*self._settings(index, grad), self._finite[index])

    def _given_for_others(
        self, index: int, shape: tuple[int, ...]
    ) -> dict[str, NDArray[np.float64]]:
        """The gradients given for other parameters of this one's shape, as readings
        ``"given for <name>"``: one that matches shows the gradients swapped."""
        names = self.evaluator.layout.names
        return {
            f"{SWAPPED_PREFIX}{names[j]}": g
            for j, g in self._finite.items()
            if j != index and g.shape == shape
        }

    def _probe(
        self, index: int, grad: NDArray[Any], readings: dict[str, NDArray[np.float64]]
    ) -> list[Probe]:
        """The planned lines; after a failure, random entries to say where; in place of each
        direction that could not decide, random entries."""
        array, scale, eps = self._settings(index, grad)
        if not readings or not array.size:
            return []
        primary = next(iter(readings))
        lines = self.planner.first_lines(
            index,
            array,
            readings[primary],
            scale,
            directions_covered=self.cover.directions.get(index, 0),
            largest_covered=index in self.cover.largest_entry,
        )
        probes = [p for line in lines for p in self.prober.probe(line, readings, eps, scale)]
        if any(not (p.inconclusive or p.verdicts[primary].passed) for p in probes):
            for line in self.planner.localising_lines(index, array, probes, scale):
                probes.extend(self.prober.probe(line, readings, eps, scale))
        for line in self.planner.replacing_lines(index, array, probes, scale):
            probes.extend(self.prober.probe(line, readings, eps, scale))
        return probes


def _worth_mapping(outcome: ParameterOutcome, evidence: Evidence, entries: int) -> bool:
    """A failure with no pattern found, from the parameter's own probes, that did not map
    every entry (and the user did not ask for directions only, ``entries=0``)."""
    result = outcome.result
    if result.outcome != "failed" or result.diagnosis.kind != "mismatch" or entries == 0:
        return False
    mapped = sum(p.entry is not None for p in evidence.direct)
    return bool(evidence.direct) and mapped < int(np.prod(evidence.shape))


def _readings(
    shape: tuple[int, ...], grad64: NDArray[np.float64], slip: ShapeSlip | None
) -> dict[str, NDArray[np.float64]]:
    """The ways to read the user's gradient that its shape allows, the primary first: as
    given (and transposed, if square), transposed (axes reversed), reshaped (an axis of
    size 1 slipped), or summed over a batch axis left in."""
    readings: dict[str, NDArray[np.float64]] = {}
    if slip is None:
        readings["given"] = grad64
        if grad64.ndim == 2 and grad64.shape[0] == grad64.shape[1] and grad64.shape[0] > 1:
            readings["transposed"] = np.ascontiguousarray(grad64.T)
    elif slip == "transposed":
        readings["transposed"] = np.ascontiguousarray(grad64.T)
    elif grad64.size == int(np.prod(shape)):
        readings["reshaped"] = grad64.reshape(shape)
    elif slip == "batch":
        summed = _sum_batch_axis(grad64, shape)
        if summed is not None:
            readings["summed"] = summed
    return readings


def _sum_batch_axis(
    grad: NDArray[np.float64], shape: tuple[int, ...]
) -> NDArray[np.float64] | None:
    """Sum the batch axis the user forgot to sum, if that gives the parameter's shape."""
    for axis in range(grad.ndim):
        summed: NDArray[np.float64] = grad.sum(axis=axis, keepdims=True)
        if summed.shape == shape:
            return summed
        squeezed: NDArray[np.float64] = grad.sum(axis=axis)
        if squeezed.shape == shape:
            return squeezed
    return None


def _failed(
    name: str, shape: tuple[int, ...], grad_shape: tuple[int, ...] | None, diagnosis: Diagnosis
) -> ParameterOutcome:
    result = ParameterResult(
        name=name, shape=shape, grad_shape=grad_shape, outcome="failed", diagnosis=diagnosis
    )
    return ParameterOutcome(result)
