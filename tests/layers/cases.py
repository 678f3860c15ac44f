"""Every layer of the family with random inputs at the course notebooks' sizes.

Shared by tests/test_layer_family.py and benchmarks/bench_layers.py. ``make_inputs`` draws
new inputs from the generator it is given, so each seed checks the layer somewhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tests.layers import basic, conv, losses, norms, recurrent
from tests.layers.planted import PLANTED, PlantedBug

Rng = np.random.Generator
MakeInputs = Callable[[Rng], tuple[Any, ...]]


@dataclass(frozen=True)
class LayerCase:
    """A forward/backward pair, how to draw its inputs, and extra check_layer options."""

    forward: Callable[..., Any]
    backward: Callable[..., Any]
    make_inputs: MakeInputs
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LossCase:
    """A ``loss(x, *data) -> (loss, dx)`` layer and how to draw ``(x, *data)``."""

    loss: Callable[..., tuple[float, np.ndarray]]
    make_inputs: MakeInputs


def checked_positions(inputs: tuple[Any, ...]) -> list[int]:
    """Where the floating-point arrays stand among ``inputs``: the inputs check_layer
    checks (its report's parameters, in this order)."""
    return [i for i, v in enumerate(inputs) if isinstance(v, np.ndarray) and v.dtype.kind == "f"]


def affine_inputs(rng: Rng) -> tuple[Any, ...]:
    """x (10, 2, 3) flattened to 6 features, w (6, 5), b (5,)."""
    return rng.standard_normal((10, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)


def relu_inputs(rng: Rng) -> tuple[Any, ...]:
    """x (10, 10)."""
    return (rng.standard_normal((10, 10)),)


def softmax_inputs(rng: Rng) -> tuple[Any, ...]:
    """x (6, 5): six rows of five class scores."""
    return (rng.standard_normal((6, 5)),)


def sandwich_inputs(rng: Rng) -> tuple[Any, ...]:
    """N, D, H, M = 8, 5, 5, 3: x (N, D), w1 (D, H), b1 (H,), w2 (H, M), b2 (M,); D == H
    so that a backward mixing up x and h still returns gradients of the right shapes."""
    shapes = [(8, 5), (5, 5), (5,), (5, 3), (3,)]
    return tuple(rng.standard_normal(shape) for shape in shapes)


def batchnorm_inputs(rng: Rng) -> tuple[Any, ...]:
    """x (4, 5) with mean 12 and scale 5, gamma and beta (5,), train mode."""
    x = 5 * rng.standard_normal((4, 5)) + 12
    return x, rng.standard_normal(5), rng.standard_normal(5), {"mode": "train"}


def layernorm_inputs(rng: Rng) -> tuple[Any, ...]:
    """x (4, 5) with mean 12 and scale 5, gamma and beta (5,)."""
    x = 5 * rng.standard_normal((4, 5)) + 12
    return x, rng.standard_normal(5), rng.standard_normal(5), {}


def dropout_inputs(rng: Rng) -> tuple[Any, ...]:
    """x (10, 10) around 10, keep probability 0.2, a fixed seed for the mask."""
    return rng.standard_normal((10, 10)) + 10, {"mode": "train", "p": 0.2, "seed": 123}


def conv_inputs(pad: int, stride: int) -> MakeInputs:
    """x (2, 3, 4, 4) for stride 1, (2, 3, 5, 5) for stride 2; w (3, 3, 3, 3), b (3,)."""
    side = 4 if stride == 1 else 5

    def make(rng: Rng) -> tuple[Any, ...]:
        x = rng.standard_normal((2, 3, side, side))
        w, b = rng.standard_normal((3, 3, 3, 3)), rng.standard_normal(3)
        return x, w, b, {"stride": stride, "pad": pad}

    return make


def conv_sized_inputs(
    x_shape: tuple[int, ...], filters: int, kernel: int, **conv_param: Any
) -> MakeInputs:
    """x of ``x_shape``, ``filters`` square kernels of side ``kernel``, and ``conv_param``."""
    w_shape = (filters, x_shape[1], kernel, kernel)

    def make(rng: Rng) -> tuple[Any, ...]:
        x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        return x, w, rng.standard_normal(filters), dict(conv_param)

    return make


def max_pool_inputs(shape: tuple[int, ...], pool: int, stride: int) -> MakeInputs:
    """x of ``shape``, square windows of ``pool`` with ``stride``."""

    def make(rng: Rng) -> tuple[Any, ...]:
        params = {"pool_height": pool, "pool_width": pool, "stride": stride}
        return rng.standard_normal(shape), params

    return make


def spatial_batchnorm_inputs(rng: Rng) -> tuple[Any, ...]:
    """x (2, 3, 4, 5) with mean 10 and scale 4, gamma and beta (3,), train mode."""
    x = 4 * rng.standard_normal((2, 3, 4, 5)) + 10
    return x, rng.standard_normal(3), rng.standard_normal(3), {"mode": "train"}


def spatial_groupnorm_inputs(rng: Rng) -> tuple[Any, ...]:
    """x (2, 6, 4, 5) in 2 groups, gamma and beta (1, 6, 1, 1)."""
    x = 4 * rng.standard_normal((2, 6, 4, 5)) + 10
    gamma, beta = rng.standard_normal((1, 6, 1, 1)), rng.standard_normal((1, 6, 1, 1))
    return x, gamma, beta, 2, {}


def rnn_step_inputs(rng: Rng) -> tuple[Any, ...]:
    """N, D, H = 4, 5, 6: x, prev_h, Wx, Wh, b."""
    n, d, h = 4, 5, 6
    shapes = [(n, d), (n, h), (d, h), (h, h), (h,)]
    return tuple(rng.standard_normal(shape) for shape in shapes)


def sequence_inputs(n: int, d: int, steps: int, hidden: int, gates: int) -> MakeInputs:
    """x (N, T, D), h0 (N, H), Wx (D, gates*H), Wh (H, gates*H), b (gates*H,)."""
    width = gates * hidden
    shapes = [(n, steps, d), (n, hidden), (d, width), (hidden, width), (width,)]

    def make(rng: Rng) -> tuple[Any, ...]:
        return tuple(rng.standard_normal(shape) for shape in shapes)

    return make


def lstm_step_sized_inputs(n: int, d: int, h: int) -> MakeInputs:
    """x (N, D), prev_h and prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,)."""
    shapes = [(n, d), (n, h), (n, h), (d, 4 * h), (h, 4 * h), (4 * h,)]

    def make(rng: Rng) -> tuple[Any, ...]:
        return tuple(rng.standard_normal(shape) for shape in shapes)

    return make


#: N, D, H = 4, 5, 6, the notebook's sizes.
lstm_step_inputs = lstm_step_sized_inputs(4, 5, 6)


def word_embedding_inputs(rng: Rng) -> tuple[Any, ...]:
    """N, T, V, D = 2, 3, 5, 6: integer indices x (N, T) and W (V, D)."""
    return rng.integers(0, 5, size=(2, 3)), rng.standard_normal((5, 6))


def temporal_affine_inputs(rng: Rng) -> tuple[Any, ...]:
    """N, T, D, M = 2, 3, 4, 5: x (N, T, D), w (D, M), b (M,)."""
    return rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)


def class_scores_inputs(rng: Rng) -> tuple[Any, ...]:
    """50 examples of 10 small class scores, and their labels."""
    return 0.001 * rng.standard_normal((50, 10)), rng.integers(0, 10, size=50)


def temporal_scores_inputs(rng: Rng) -> tuple[Any, ...]:
    """N, T, V = 7, 8, 9: scores, labels and a random mask of the steps that count."""
    x = 0.01 * rng.standard_normal((7, 8, 9))
    return x, rng.integers(0, 9, size=(7, 8)), rng.random((7, 8)) > 0.5


LAYERS: dict[str, LayerCase] = {
    "affine": LayerCase(basic.affine_forward, basic.affine_backward, affine_inputs),
    "affine, dict of gradients": LayerCase(
        basic.affine_forward, basic.affine_backward_as_dict, affine_inputs
    ),
    "relu": LayerCase(basic.relu_forward, basic.relu_backward, relu_inputs),
    "softmax": LayerCase(basic.softmax_forward, basic.softmax_backward, softmax_inputs),
    "affine relu affine": LayerCase(
        basic.affine_relu_affine_forward, basic.affine_act_affine_backward, sandwich_inputs
    ),
    "affine sigmoid affine": LayerCase(
        basic.affine_sigmoid_affine_forward, basic.affine_act_affine_backward, sandwich_inputs
    ),
    "batchnorm, step by step": LayerCase(
        norms.batchnorm_forward, norms.batchnorm_backward, batchnorm_inputs
    ),
    "batchnorm, simplified": LayerCase(
        norms.batchnorm_forward, norms.batchnorm_backward_alt, batchnorm_inputs
    ),
    "layernorm": LayerCase(norms.layernorm_forward, norms.layernorm_backward, layernorm_inputs),
    "dropout": LayerCase(basic.dropout_forward, basic.dropout_backward, dropout_inputs),
    **{
        f"conv, pad {pad}, stride {stride}": LayerCase(
            conv.conv_forward_naive, conv.conv_backward_naive, conv_inputs(pad, stride)
        )
        for pad in (1, 0)
        for stride in (1, 2)
    },
    "conv, edge padding, 1 channel": LayerCase(
        conv.conv_forward_naive,
        conv.conv_backward_naive,
        conv_sized_inputs((1, 1, 5, 5), 2, 3, stride=1, pad=1, pad_mode="edge"),
    ),
    "conv, edge padding": LayerCase(
        conv.conv_forward_naive,
        conv.conv_backward_naive,
        conv_sized_inputs((2, 3, 5, 5), 3, 3, stride=1, pad=1, pad_mode="edge"),
    ),
    "conv 3x3 on 1 channel, vectorised": LayerCase(
        conv.conv_forward_naive,
        conv.conv_backward_by_offsets,
        conv_sized_inputs((2, 1, 4, 4), 3, 3, stride=1, pad=1),
    ),
    "conv 2x2, stride 2, vectorised": LayerCase(
        conv.conv_forward_naive,
        conv.conv_backward_by_offsets,
        conv_sized_inputs((2, 2, 4, 4), 2, 2, stride=2, pad=0),
    ),
    "conv, None for conv_param": LayerCase(
        conv.conv_forward_naive, conv.conv_backward_with_none, conv_inputs(1, 1)
    ),
    "max pool 2x2, stride 2": LayerCase(
        conv.max_pool_forward_naive,
        conv.max_pool_backward_naive,
        max_pool_inputs((3, 2, 8, 8), 2, 2),
    ),
    "max pool 3x3, stride 2 (overlapping)": LayerCase(
        conv.max_pool_forward_naive,
        conv.max_pool_backward_naive,
        max_pool_inputs((2, 3, 5, 5), 3, 2),
    ),
    "spatial batchnorm": LayerCase(
        norms.spatial_batchnorm_forward, norms.spatial_batchnorm_backward, spatial_batchnorm_inputs
    ),
    "spatial groupnorm": LayerCase(
        norms.spatial_groupnorm_forward, norms.spatial_groupnorm_backward, spatial_groupnorm_inputs
    ),
    "rnn step": LayerCase(recurrent.rnn_step_forward, recurrent.rnn_step_backward, rnn_step_inputs),
    "rnn": LayerCase(
        recurrent.rnn_forward, recurrent.rnn_backward, sequence_inputs(2, 3, 10, 5, gates=1)
    ),
    "word embedding": LayerCase(
        recurrent.word_embedding_forward, recurrent.word_embedding_backward, word_embedding_inputs
    ),
    "word embedding, None for x": LayerCase(
        recurrent.word_embedding_forward,
        recurrent.word_embedding_backward_with_none,
        word_embedding_inputs,
    ),
    "temporal affine": LayerCase(
        recurrent.temporal_affine_forward,
        recurrent.temporal_affine_backward,
        temporal_affine_inputs,
    ),
    "lstm step": LayerCase(
        recurrent.lstm_step_forward, recurrent.lstm_step_backward, lstm_step_inputs
    ),
    "lstm step, H = 2": LayerCase(
        recurrent.lstm_step_forward, recurrent.lstm_step_backward, lstm_step_sized_inputs(3, 3, 2)
    ),
    "lstm step, outputs=2": LayerCase(
        recurrent.lstm_step_forward,
        recurrent.lstm_step_backward,
        lstm_step_inputs,
        options={"outputs": 2},
    ),
    "lstm": LayerCase(
        recurrent.lstm_forward, recurrent.lstm_backward, sequence_inputs(2, 3, 10, 6, gates=4)
    ),
}

LOSSES: dict[str, LossCase] = {
    "svm loss": LossCase(losses.svm_loss, class_scores_inputs),
    "softmax loss": LossCase(losses.softmax_loss, class_scores_inputs),
    "temporal softmax loss": LossCase(losses.temporal_softmax_loss, temporal_scores_inputs),
}

#: Every planted bug of the modules above (they register themselves when imported).
PLANTED_BUGS: tuple[PlantedBug, ...] = tuple(PLANTED)
