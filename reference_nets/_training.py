"""Plain full-batch gradient descent, as in the source threads, shared by the demo and tests.

Nothing here knows about a particular net: :func:`train` takes the loss and the gradients
as functions of the parameters only (close over the data), which is also the form
``gradcheck.check_gradients`` takes.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from jaxtyping import Int

from reference_nets._types import Matrix, ParamDict, Params


@dataclass(frozen=True)
class TrainingRun:
    """What :func:`train` returns.

    Attributes:
        params: the parameters after the last step (new arrays; the start is untouched).
        steps: the step numbers at which the loss was recorded: 0, log_every, 2·log_every, …
            and finally the number of steps taken.
        losses: the loss at each of those steps (before that step's update).
    """

    params: ParamDict
    steps: list[int]
    losses: list[float]


def train(
    loss: Callable[[Params], float],
    gradients: Callable[[Params], Mapping[str, Matrix]],
    params: Params,
    *,
    steps: int,
    step_size: float,
    log_every: int = 100,
    on_log: Callable[[int, float], None] | None = None,
) -> TrainingRun:
    """Take ``steps`` gradient-descent steps θ ← θ − step_size·∂L/∂θ from ``params``.

    ``params`` is not modified: every step builds a new dict of new arrays. The loss is
    evaluated every ``log_every`` steps and once more at the end, and each value is passed
    to ``on_log(step, loss)`` if given (e.g. to print progress).
    """
    if steps < 0 or log_every < 1:
        raise ValueError(f"need steps >= 0 and log_every >= 1, got {steps} and {log_every}")
    current: ParamDict = dict(params)
    recorded_steps: list[int] = []
    recorded_losses: list[float] = []
    for step in range(steps + 1):
        if step % log_every == 0 or step == steps:
            recorded_steps.append(step)
            recorded_losses.append(loss(current))
            if on_log is not None:
                on_log(step, recorded_losses[-1])
        if step < steps:
            grads = gradients(current)
            current = {name: param - step_size * grads[name] for name, param in current.items()}
    return TrainingRun(params=current, steps=recorded_steps, losses=recorded_losses)


def accuracy(predicted: Int[np.ndarray, " batch"], labels: Int[np.ndarray, " batch"]) -> float:
    """The fraction of examples whose predicted label is the true one."""
    return float(np.mean(predicted == labels))
