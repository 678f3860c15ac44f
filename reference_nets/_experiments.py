"""The source threads' training set-ups on the spiral data, shared by the demo and the tests.

Each set-up fixes what its source fixed: the data (points per class, classes, angle noise),
the model (hidden size, or none for the linear classifier), the L2 strength, the step size
and the number of full-batch gradient-descent steps. A seed then fixes the rest: the data
are drawn first and the initial parameters next, from one ``np.random.default_rng(seed)``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from jaxtyping import Float, Int

from reference_nets import data, linear_softmax, two_layer_relu
from reference_nets._training import TrainingRun, accuracy, train
from reference_nets._types import ParamDict, Params
from reference_nets.data import Layout

#: The data: the points (in rows or in columns, by layout) and their class labels.
Points = Float[np.ndarray, "_ _"]
Labels = Int[np.ndarray, " batch"]


class SpiralClassifier(Protocol):
    """What every classifier layout module provides (modules satisfy this protocol)."""

    def loss(self, params: Params, X: Points, y: Labels, reg: float = 0.0) -> float: ...

    def gradients(self, params: Params, X: Points, y: Labels, reg: float = 0.0) -> ParamDict: ...

    def predict(self, params: Params, X: Points) -> Labels: ...


@dataclass(frozen=True)
class SpiralExperiment:
    """One source's training set-up.

    Attributes:
        title: a short name for printing.
        points_per_class, classes, noise: the arguments of :func:`reference_nets.data.spiral`.
        hidden: hidden units of the two-layer ReLU net, or ``None`` for the linear classifier.
        reg: L2 strength (the loss adds ½·reg·ΣW² over the weight matrices).
        step_size: the gradient-descent step.
        steps: how many steps the source took.
    """

    title: str
    points_per_class: int
    classes: int
    noise: float
    hidden: int | None
    reg: float
    step_size: float
    steps: int


#: The forum question's net (source 000); the issue measured 0.981–0.984 training accuracy.
FORUM_NET = SpiralExperiment(
    "forum net", points_per_class=400, classes=2, noise=0.5, hidden=1000, reg=0.0,
    step_size=1.0, steps=3000,
)  # fmt: skip

#: The course's three-class two-layer net (the case study the notebook, source 002, follows).
COURSE_NET = SpiralExperiment(
    "course net", points_per_class=100, classes=3, noise=0.2, hidden=100, reg=1e-3,
    step_size=1.0, steps=10_000,
)  # fmt: skip

#: The notebook's linear softmax classifier (source 002); it reports 0.51 training accuracy.
LINEAR_NET = SpiralExperiment(
    "linear softmax", points_per_class=100, classes=3, noise=0.2, hidden=None, reg=1e-3,
    step_size=1.0, steps=200,
)  # fmt: skip


class ReluLayout(SpiralClassifier, Protocol):
    """A two-layer ReLU layout module (it also draws its initial parameters)."""

    def init_params(
        self, *, d_in: int, hidden: int, classes: int, rng: np.random.Generator
    ) -> ParamDict: ...


class LinearLayout(SpiralClassifier, Protocol):
    """A linear softmax layout module (it also draws its initial parameters)."""

    def init_params(self, *, d_in: int, classes: int, rng: np.random.Generator) -> ParamDict: ...


# The layout modules, by layout; mypy checks that each one satisfies its protocol.
_RELU_NETS: dict[Layout, ReluLayout] = {
    "row_major": two_layer_relu.row_major,
    "column_major": two_layer_relu.column_major,
}
_LINEAR_NETS: dict[Layout, LinearLayout] = {
    "row_major": linear_softmax.row_major,
    "column_major": linear_softmax.column_major,
}


@dataclass(frozen=True)
class SpiralProblem:
    """An experiment made concrete for one layout and seed: the net, its data, its start."""

    experiment: SpiralExperiment
    layout: Layout
    net: SpiralClassifier
    X: Points
    y: Labels
    initial_params: ParamDict

    def loss(self, params: Params) -> float:
        """The training loss at ``params``, on this problem's data and L2 strength."""
        return self.net.loss(params, self.X, self.y, self.experiment.reg)

    def gradients(self, params: Params) -> ParamDict:
        """The net's hand-written gradients at ``params``."""
        return self.net.gradients(params, self.X, self.y, self.experiment.reg)

    def accuracy(self, params: Params) -> float:
        """The training accuracy at ``params``."""
        return accuracy(self.net.predict(params, self.X), self.y)

    def train(
        self,
        *,
        steps: int | None = None,
        log_every: int = 100,
        on_log: Callable[[int, float], None] | None = None,
    ) -> TrainingRun:
        """Gradient descent from the initial parameters (``steps`` defaults to the source's)."""
        return train(
            self.loss,
            self.gradients,
            self.initial_params,
            steps=self.experiment.steps if steps is None else steps,
            step_size=self.experiment.step_size,
            log_every=log_every,
            on_log=on_log,
        )


def make_problem(experiment: SpiralExperiment, *, layout: Layout, seed: int) -> SpiralProblem:
    """Draw the data, then the initial parameters, from ``np.random.default_rng(seed)``.

    The column-major nets draw their weights in the row-major shape and transpose them, so
    one seed gives the same data and the same start in both layouts.
    """
    rng = np.random.default_rng(seed)
    X, y = data.spiral(
        experiment.points_per_class,
        experiment.classes,
        noise=experiment.noise,
        rng=rng,
        layout=layout,
    )
    params: ParamDict
    net: SpiralClassifier
    if experiment.hidden is None:
        linear = _LINEAR_NETS[layout]
        params = linear.init_params(d_in=data.FEATURES, classes=experiment.classes, rng=rng)
        net = linear
    else:
        relu = _RELU_NETS[layout]
        params = relu.init_params(
            d_in=data.FEATURES, hidden=experiment.hidden, classes=experiment.classes, rng=rng
        )
        net = relu
    return SpiralProblem(experiment, layout, net, X, y, params)
