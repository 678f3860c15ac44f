"""Probes through several parameters at once, to spend fewer loss calls on correct code.

A large parameter is screened by random directions and by its largest entry (see
``_Checker.plan``). Each probe costs two loss calls at least, and on a net with three large
parameters they are most of a check's cost. A *joint* probe moves pieces of several
parameters together: the largest entry of each, or all their entries along one random
direction. Each piece is weighted so that it contributes the same ``Σ|gᵢ·dᵢ|`` to the
directional derivative, so a mistake in one piece of relative size ``r`` changes the joint
derivative by ``r / K`` for ``K`` pieces.

A joint probe therefore stands in for one probe of each parameter only when it passed at
its first step on a smooth line, resolving every piece to JOINT_RESOLUTION (its
uncertainty at most ``JOINT_RESOLUTION / K``): see :func:`vouches`. When it fails, cannot
decide, or passes less cleanly, every parameter gets its own probes exactly as before. A
joint probe can only save calls; it never decides a verdict, so it adds no false alarm, and
the mistakes it could miss are those that cancel between pieces, as unlikely as those that
cancel between the entries of one direction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._diagnose import Probe
from gradcheck._evaluate import Evaluator, LossResult
from gradcheck._probe import smooth

#: How finely a joint probe of K pieces must resolve each piece to stand in for its own
#: probes: K times its uncertainty (relative to the joint derivative) at most this. Ten
#: times finer than the smallest mistake the check is shown to find in one parameter (all
#: entries 1e-4 off, docs/benchmarks.md), so a mistake the piece's own probe would find
#: is not lost to the joint probe's coarser view. In float64 a smooth joint probe reaches
#: about 1e-6 (the noise target, RESOLUTION, times K); in float32 noise keeps every probe
#: far coarser, and then each parameter gets its own probes.
JOINT_RESOLUTION = 1e-5


@dataclass(frozen=True)
class Piece:
    """Entries ``flat`` (indices into the raveled array) of parameter ``index``."""

    index: int
    flat: NDArray[np.intp]


class Pieces:
    """The loss as a function of one vector: the pieces of several parameters end to end.

    It is what a :class:`~gradcheck._probe.Prober` probes (parameter 0). Every call goes
    through the check's own evaluator, so loss calls are counted and a loss that writes into
    its inputs is still caught.
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
    pieces: Pieces, grads: NDArray[np.float64], direction: NDArray[np.float64]
) -> NDArray[np.float64] | None:
    """``direction`` reweighted piece by piece so that every piece contributes the same
    ``Σ|gᵢ·dᵢ|`` (the smallest of them: no entry moves farther than ``direction`` says),
    or ``None`` when a piece contributes nothing (its gradient is zero there)."""
    shares = np.array(
        [
            float(np.sum(np.abs(grads[lo:hi] * direction[lo:hi])))
            for lo, hi in zip(pieces.bounds[:-1], pieces.bounds[1:], strict=True)
        ]
    )
    if not np.all(shares > 0):
        return None
    weights = np.repeat(shares.min() / shares, np.diff(pieces.bounds))
    reweighted: NDArray[np.float64] = direction * weights
    return reweighted


def vouches(probes: Sequence[Probe], count: int) -> bool:
    """Whether a joint probe of ``count`` pieces passed cleanly enough to stand in for one
    probe of each: on a smooth line (no kink, noise dominating its tolerance), at every
    step it tried, and uncertain by at most JOINT_RESOLUTION / count.

    A pass that needed the line's roughness to explain a failure at another step is not
    enough: one piece's small mistake can hide in a range that kinks in another piece
    widened, where that piece's own, smoother probe would have shown it.
    """
    return bool(probes) and all(
        not p.inconclusive
        and p.failed_attempts == 0
        and p.verdicts["given"].passed
        and smooth(p.verdicts["given"])
        and p.uncertainty * count <= JOINT_RESOLUTION
        for p in probes
    )
