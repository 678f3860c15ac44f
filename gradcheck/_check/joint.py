"""Joint probes: pieces of several large parameters probed together, to spend fewer loss
calls on correct code.

A joint probe moves the largest entry of each large parameter, or all their entries along
one random direction, each piece weighted to contribute the same ``Σ|gᵢ·dᵢ|``. It stands in
for one probe of each parameter only when it passed cleanly (``stands_in``); otherwise
every parameter gets its own probes as before, so a joint probe never decides a verdict.
Why this loses no detection: docs/how-it-decides.md, "Directions or entries".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._check.evaluate import Evaluator
from gradcheck._check.inputs import Options
from gradcheck._check.plan import random_weights
from gradcheck._numerics.loss import LossResult
from gradcheck._numerics.probe import Line, NonFiniteLossError, Probe, Prober, ProbeSettings
from gradcheck._numerics.scales import entry_scales, gradient_eps, param_scale
from gradcheck._numerics.stencil import central_noise_tolerance
from gradcheck._numerics.steps import smooth

#: How finely a joint probe of K pieces must resolve each piece (K times its uncertainty)
#: to stand in for their own probes: 10× finer than the smallest slip the check is shown
#: to find in one parameter (docs/benchmarks.md). Only float64 losses get there.
JOINT_RESOLUTION = 1e-5


@dataclass(frozen=True)
class Piece:
    """Entries ``flat`` (indices into the raveled array) of parameter ``index``."""

    index: int
    flat: NDArray[np.intp]


class JointView:
    """The loss as a function of one vector: pieces of several parameters end to end.

    It is what a ``gradcheck._numerics.probe.Prober`` probes (as parameter 0). Every
    call goes through the check's evaluator, so calls are counted and a loss that writes
    into its inputs is still caught.
    """

    def __init__(self, evaluator: Evaluator, pieces: Sequence[Piece]) -> None:
        self.evaluator = evaluator
        self.pieces = list(pieces)
        self.bounds = np.cumsum([0, *(len(p.flat) for p in self.pieces)])
        self._snapshots = [
            np.concatenate([evaluator.snapshots[p.index].ravel()[p.flat] for p in self.pieces])
        ]
        self.names = ", ".join(evaluator.name(p.index) for p in self.pieces)

    @property
    def snapshots(self) -> Sequence[NDArray[Any]]:
        return self._snapshots

    def name(self, index: int) -> str:
        del index
        return f"({self.names}) together"

    def join(self, arrays: Mapping[int, NDArray[Any]]) -> NDArray[np.float64]:
        """The pieces of ``arrays`` (by parameter index) end to end."""
        return np.concatenate(
            [np.asarray(arrays[p.index], dtype=np.float64).ravel()[p.flat] for p in self.pieces]
        )

    def __call__(self, replaced: Mapping[int, NDArray[Any]]) -> LossResult:
        vector = replaced[0]
        full: dict[int, NDArray[Any]] = {}
        for k, piece in enumerate(self.pieces):
            array = self.evaluator.snapshots[piece.index].copy()
            array.reshape(-1)[piece.flat] = vector[self.bounds[k] : self.bounds[k + 1]]
            full[piece.index] = array
        return self.evaluator(full)


def equal_shares(
    view: JointView, grads: NDArray[np.float64], direction: NDArray[np.float64]
) -> NDArray[np.float64] | None:
    """``direction`` reweighted piece by piece so that every piece contributes the same
    ``Σ|gᵢ·dᵢ|`` (the smallest of them: no entry moves farther than ``direction`` says),
    or ``None`` when a piece contributes nothing (its gradient is zero there)."""
    shares = np.array(
        [
            float(np.sum(np.abs(grads[lo:hi] * direction[lo:hi])))
            for lo, hi in zip(view.bounds[:-1], view.bounds[1:], strict=True)
        ]
    )
    if not np.all(shares > 0):
        return None
    weights = np.repeat(shares.min() / shares, np.diff(view.bounds))
    reweighted: NDArray[np.float64] = direction * weights
    return reweighted


def stands_in(probes: Sequence[Probe], count: int) -> bool:
    """Whether a joint probe of ``count`` pieces passed cleanly enough to stand in for one
    probe of each: on a smooth line, at every step it tried, and uncertain by at most
    JOINT_RESOLUTION / count. A pass that needed the line's roughness is not enough: one
    piece's small mistake can hide in a range that another piece's kinks widened."""
    return bool(probes) and all(
        not p.inconclusive
        and p.failed_attempts == 0
        and p.verdicts["given"].passed
        and smooth(p.verdicts["given"])
        and p.uncertainty * count <= JOINT_RESOLUTION
        for p in probes
    )


@dataclass
class JointCover:
    """What joint probes stood in for, by parameter index."""

    largest_entry: set[int] = field(default_factory=set)  # its largest-entry probe
    directions: dict[int, int] = field(default_factory=dict)  # how many of its directions
    probes: dict[int, list[Probe]] = field(default_factory=dict)  # the joint probes
    together: dict[int, tuple[str, ...]] = field(default_factory=dict)  # moved with it

    def add(self, view: JointView, probes: list[Probe]) -> None:
        for piece in view.pieces:
            self.probes.setdefault(piece.index, []).extend(probes)
            others = (view.evaluator.name(p.index) for p in view.pieces if p is not piece)
            self.together[piece.index] = tuple(others)


def screen_jointly(
    evaluator: Evaluator,
    settings: ProbeSettings,
    rng: np.random.Generator,
    options: Options,
    global_scale: float,
    grads: Sequence[NDArray[Any] | None],
    grad_eps: Sequence[float],
) -> JointCover:
    """Probe the large parameters of one dtype together: once through their largest
    entries, then along up to ``options.directions`` random directions, stopping at the
    first joint direction that does not stand in. ``grad_eps[i]`` is the precision
    parameter ``i``'s gradient was computed in, at least."""
    cover = JointCover()
    joined = {} if options.full else _joinable(evaluator, options, grads, grad_eps)
    if len(joined) < 2:
        return cover
    eps = max(max(grad_eps[i], gradient_eps(grad)) for i, grad in joined.items())
    grads64 = {i: g.astype(np.float64) for i, g in joined.items()}
    screen = _JointProbe(evaluator, settings, rng, global_scale, grads64, eps)
    if options.entries:
        largest = [Piece(i, np.array([int(np.argmax(np.abs(g)))])) for i, g in grads64.items()]
        view = JointView(evaluator, largest)
        probes = screen.run(view, random=False)
        if probes:
            cover.largest_entry = set(joined)
            cover.add(view, probes)
    whole = JointView(evaluator, [Piece(i, np.arange(evaluator.snapshots[i].size)) for i in joined])
    for passed in range(options.directions):
        probes = screen.run(whole, random=True)
        if not probes:
            break
        cover.directions = dict.fromkeys(joined, passed + 1)
        cover.add(whole, probes)
    return cover


def _joinable(
    evaluator: Evaluator,
    options: Options,
    grads: Sequence[NDArray[Any] | None],
    grad_eps: Sequence[float],
) -> dict[int, NDArray[Any]]:
    """The largest group of large parameters of one dtype (a joint step must mean the same
    in every piece, and the user's own dtypes decide it when the check runs on float64
    copies) whose gradients can be probed: their gradients, by index."""
    groups: dict[tuple[np.dtype[Any], float], dict[int, NDArray[Any]]] = {}
    for index, (array, grad) in enumerate(zip(evaluator.snapshots, grads, strict=True)):
        if (
            array.size > options.max_entries
            and grad is not None
            and grad.shape == array.shape
            and np.all(np.isfinite(grad))
            and np.any(grad)
        ):
            groups.setdefault((array.dtype, grad_eps[index]), {})[index] = grad
    return max(groups.values(), key=len, default={})


@dataclass
class _JointProbe:
    """Runs one joint probe at a time, with what all of them share."""

    evaluator: Evaluator
    settings: ProbeSettings
    rng: np.random.Generator
    global_scale: float
    grads64: Mapping[int, NDArray[np.float64]]
    grad_eps: float

    def run(self, view: JointView, *, random: bool) -> list[Probe]:
        """The probes of one joint line if they stand in for every piece, else ``[]``."""
        snapshots = self.evaluator.snapshots
        scales = view.join(
            {
                p.index: entry_scales(
                    snapshots[p.index], param_scale(snapshots[p.index], self.global_scale)
                )
                for p in view.pieces
            }
        )
        grad = view.join(self.grads64)
        # Each entry up its gradient's slope (unless random): a mistake common to all (a
        # missing 1/N, a flipped sign) then adds up instead of cancelling between pieces.
        scales *= random_weights(self.rng, scales.shape) if random else np.sign(grad)
        direction = equal_shares(view, grad, scales)
        if direction is None:
            return []
        prober = Prober(view, self.settings)
        # Noise alone would keep this probe from standing in (a float32 loss): save its calls.
        magnitude = float(np.sum(np.abs(grad * direction)))
        noise = central_noise_tolerance(self.settings.sigma, self.settings.first_step(magnitude))
        if noise * len(view.pieces) > JOINT_RESOLUTION * magnitude:
            return []
        self.evaluator.context = f"while checking {view.names} together"
        try:
            line = Line.along(0, direction, random_signs=random)
            probes = prober.probe(line, {"given": grad}, self.grad_eps)
        except NonFiniteLossError:
            return []  # each parameter's own probes will find and report it
        return probes if stands_in(probes, len(view.pieces)) else []
