"""What the numerics evaluate: the loss with some parameters replaced.

The check's ``gradcheck._check.evaluate.Evaluator`` is one (it calls the user's loss on
private copies); ``gradcheck._check.joint.JointView`` is another (pieces of several
parameters seen as one vector).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

#: A loss call's result: its value as a float, the dtype it was computed in, and the
#: gradients it returned alongside (cs231n's ``(loss, grads)``), else ``None``.
LossResult = tuple[float, np.dtype[Any], object | None]


class LossAt(Protocol):
    """The loss as a function of the parameters, by index."""

    @property
    def snapshots(self) -> Sequence[NDArray[Any]]:
        """The parameters at ``x`` (never changed)."""
        ...

    def name(self, index: int) -> str:
        """How messages call parameter ``index``."""
        ...

    def __call__(self, replaced: Mapping[int, NDArray[Any]]) -> LossResult:
        """The loss with parameter ``i`` replaced by ``replaced[i]``."""
        ...
