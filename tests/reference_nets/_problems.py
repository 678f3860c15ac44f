"""Random problems for the reference nets, kept in row-major and mapped to either layout.

A :class:`Problem` holds one net's parameters and data in the row-major layout. Asking it
for the column-major layout transposes every 2-D array: X, the targets of the sigmoid net,
and every parameter (biases included: (1, n) becomes (n, 1)). Labels are (batch,) in both.
"""

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np

from reference_nets import linear_softmax, three_layer_sigmoid, two_layer_relu

Layout = Literal["row_major", "column_major"]
LAYOUTS: tuple[Layout, ...] = ("row_major", "column_major")
NetName = Literal["two_layer_relu", "three_layer_sigmoid", "linear_softmax"]
NETS: tuple[NetName, ...] = ("two_layer_relu", "three_layer_sigmoid", "linear_softmax")

PACKAGES: dict[NetName, ModuleType] = {
    "two_layer_relu": two_layer_relu,
    "three_layer_sigmoid": three_layer_sigmoid,
    "linear_softmax": linear_softmax,
}

#: The named sizes each net needs, batch first.
DIMENSIONS: dict[NetName, tuple[str, ...]] = {
    "two_layer_relu": ("batch", "d_in", "hidden", "classes"),
    "three_layer_sigmoid": ("batch", "d_in", "hidden1", "hidden2", "d_out"),
    "linear_softmax": ("batch", "d_in", "classes"),
}

Array = np.ndarray[Any, np.dtype[Any]]


def is_classifier(net: NetName) -> bool:
    return net != "three_layer_sigmoid"


def module(net: NetName, layout: Layout) -> ModuleType:
    """The layout module, e.g. ``reference_nets.two_layer_relu.column_major``."""
    layout_module: ModuleType = getattr(PACKAGES[net], layout)
    return layout_module


def row_major_shapes(net: NetName, sizes: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Every parameter's row-major shape, as the spec gives it."""
    if net == "two_layer_relu":
        d_in, hidden, classes = sizes["d_in"], sizes["hidden"], sizes["classes"]
        return {
            "W1": (d_in, hidden),
            "b1": (1, hidden),
            "W2": (hidden, classes),
            "b2": (1, classes),
        }
    if net == "three_layer_sigmoid":
        d_in, h1, h2, d_out = sizes["d_in"], sizes["hidden1"], sizes["hidden2"], sizes["d_out"]
        return {
            "W1": (d_in, h1),
            "b1": (1, h1),
            "W2": (h1, h2),
            "b2": (1, h2),
            "W3": (h2, d_out),
            "b3": (1, d_out),
        }
    d_in, classes = sizes["d_in"], sizes["classes"]
    return {"W": (d_in, classes), "b": (1, classes)}


def to_layout(array: Array, layout: Layout) -> Array:
    """A row-major 2-D array as the given layout holds it (1-D labels are left alone)."""
    if layout == "row_major" or array.ndim == 1:
        return array
    return np.ascontiguousarray(array.T)


@dataclass(frozen=True)
class Problem:
    """One net's parameters and data, held row-major."""

    net: NetName
    sizes: dict[str, int]
    params: dict[str, Array]
    X: Array
    target: Array  # labels (batch,) for a classifier, targets (batch, d_out) otherwise
    reg: float = 0.0

    def module(self, layout: Layout) -> ModuleType:
        return module(self.net, layout)

    def params_in(self, layout: Layout) -> dict[str, Array]:
        return {name: to_layout(value, layout) for name, value in self.params.items()}

    def inputs_in(self, layout: Layout) -> Array:
        return to_layout(self.X, layout)

    def target_in(self, layout: Layout) -> Array:
        return to_layout(self.target, layout)

    def data_in(self, layout: Layout) -> tuple[dict[str, Array], Array, Array]:
        """``(params, X, target)`` as the layout holds them."""
        return self.params_in(layout), self.inputs_in(layout), self.target_in(layout)

    def extra(self) -> tuple[float, ...]:
        """The trailing ``reg`` argument, which only the classifiers take."""
        return (self.reg,) if is_classifier(self.net) else ()

    def loss(self, layout: Layout, params: dict[str, Array] | None = None) -> float:
        use = self.params_in(layout) if params is None else params
        value: float = self.module(layout).loss(
            use, self.inputs_in(layout), self.target_in(layout), *self.extra()
        )
        return value

    def gradients(self, layout: Layout, params: dict[str, Array] | None = None) -> dict[str, Array]:
        use = self.params_in(layout) if params is None else params
        grads: dict[str, Array] = self.module(layout).gradients(
            use, self.inputs_in(layout), self.target_in(layout), *self.extra()
        )
        return grads


def random_problem(
    net: NetName,
    sizes: dict[str, int],
    seed: int,
    *,
    reg: float = 0.0,
    scale: float = 1.0,
) -> Problem:
    """Standard-normal inputs, and weights and biases of size ``scale``, all nonzero.

    The weights are N(0, scale²/fan_in) so the pre-activations stay of order ``scale``;
    the biases are N(0, (scale/2)²), nonzero so that no ReLU sits on its kink by accident.
    """
    rng = np.random.default_rng(seed)
    params: dict[str, Array] = {}
    for name, shape in row_major_shapes(net, sizes).items():
        if name.startswith("W"):
            params[name] = scale * rng.standard_normal(shape) / np.sqrt(shape[0])
        else:
            params[name] = 0.5 * scale * rng.standard_normal(shape)
    batch = sizes["batch"]
    X = rng.standard_normal((batch, sizes["d_in"]))
    target: Array
    if is_classifier(net):
        target = rng.integers(0, sizes["classes"], size=batch, dtype=np.int64)
    else:
        target = rng.standard_normal((batch, sizes["d_out"]))
    return Problem(net, dict(sizes), params, X, target, reg)
