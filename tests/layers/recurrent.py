"""Vanilla RNN and LSTM (one step and over time), word embedding and temporal affine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tests.layers.planted import Wrong, planted_bug

Array = np.ndarray


def _sigmoid(z: Array) -> Array:
    """1 / (1 + exp(-z)), without overflow for large negative z."""
    return np.exp(-np.logaddexp(0.0, -z))


def rnn_step_forward(x: Array, prev_h: Array, Wx: Array, Wh: Array, b: Array) -> tuple[Array, Any]:
    """next_h = tanh(x @ Wx + prev_h @ Wh + b)."""
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h: Array, cache: Any) -> tuple[Array, ...]:
    """Gradients of x, prev_h, Wx, Wh and b."""
    x, prev_h, Wx, Wh, next_h = cache
    dpre = dnext_h * (1.0 - next_h**2)
    return dpre @ Wx.T, dpre @ Wh.T, x.T @ dpre, prev_h.T @ dpre, dpre.sum(axis=0)


@planted_bug("rnn step", Wh="transposed")
def rnn_step_backward_dWh_transposed(dnext_h: Array, cache: Any) -> tuple[Array, ...]:
    """Bug: dWh = dpre.T @ prev_h, the transpose of prev_h.T @ dpre (Wh is square)."""
    x, prev_h, Wx, Wh, next_h = cache
    dpre = dnext_h * (1.0 - next_h**2)
    return dpre @ Wx.T, dpre @ Wh.T, x.T @ dpre, dpre.T @ prev_h, dpre.sum(axis=0)


def rnn_forward(x: Array, h0: Array, Wx: Array, Wh: Array, b: Array) -> tuple[Array, Any]:
    """Run the step over x (N, T, D) from h0 (N, H); return every hidden state (N, T, H)."""
    steps = x.shape[1]
    h = np.zeros((x.shape[0], steps, h0.shape[1]), dtype=x.dtype)
    step_caches = []
    prev_h = h0
    for t in range(steps):
        prev_h, step_cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
        step_caches.append(step_cache)
    return h, step_caches


def _rnn_backward(dh: Array, cache: Any, bug: str = "") -> tuple[Array, ...]:
    """Backward through time; ``bug`` plants the mistake the public variants name."""
    step_caches = cache
    _, _, Wx, Wh, _ = step_caches[0]
    dWx, dWh = np.zeros_like(Wx), np.zeros_like(Wh)
    db = np.zeros(Wh.shape[0], dtype=dh.dtype)
    x_grads = []
    dcarry = np.zeros_like(dh[:, 0])
    for t in reversed(range(dh.shape[1])):
        dstep = dh[:, t] if bug == "no carry" else dh[:, t] + dcarry
        dx_t, dcarry, dWx_t, dWh_t, db_t = rnn_step_backward(dstep, step_caches[t])
        x_grads.append(dx_t)
        dWx += dWx_t
        if bug == "dWh assigned":
            dWh = dWh_t
        else:
            dWh += dWh_t
        db += db_t
    dx = np.stack(x_grads[::-1], axis=1)
    return dx, dcarry, dWx, dWh, db


def rnn_backward(dh: Array, cache: Any) -> tuple[Array, ...]:
    """Gradients of x, h0, Wx, Wh and b, given the upstream gradient of every h_t."""
    return _rnn_backward(dh, cache)


@planted_bug("rnn", Wh="mismatch")
def rnn_backward_dWh_assigned(dh: Array, cache: Any) -> tuple[Array, ...]:
    """Bug: ``dWh = dWh_t`` at each step instead of ``+=``; only step 0's part is left."""
    return _rnn_backward(dh, cache, bug="dWh assigned")


@planted_bug(
    "rnn",
    x="confined",
    h0="mismatch",
    Wx="upstream",
    Wh="mismatch",
    b="upstream",
    where={
        "x": "indices 0 to 8 of axis 1 (all but the last index)",
        "Wx": "the gradient of x·Wx would",
        "b": "the gradient of x·Wx + b would",
    },
)
def rnn_backward_no_carry(dh: Array, cache: Any) -> tuple[Array, ...]:
    """Bug: each step sees only dh[:, t], not the gradient carried back from step t + 1;
    dx is then wrong only at t < T-1, dh0, dWx, dWh and db everywhere (dWx and db as dx
    is: all three are computed from the pre-activations' gradient, which is wrong)."""
    return _rnn_backward(dh, cache, bug="no carry")


def word_embedding_forward(x: Array, W: Array) -> tuple[Array, Any]:
    """Look up the row of W for every integer index in x (N, T)."""
    return W[x], (x, W.shape)


def word_embedding_backward(dout: Array, cache: Any) -> Array:
    """Gradient of W: each index's rows of dout added up (indices repeat)."""
    x, w_shape = cache
    dW = np.zeros(w_shape, dtype=dout.dtype)
    np.add.at(dW, x, dout)
    return dW


def word_embedding_backward_with_none(dout: Array, cache: Any) -> tuple[None, Array]:
    """The same gradient, with None in the place of the integer indices."""
    return None, word_embedding_backward(dout, cache)


@planted_bug("word embedding", W="confined", where={"W": "is wrong only at ind"})
def word_embedding_backward_fancy_add(dout: Array, cache: Any) -> Array:
    """Bug: ``dW[x] += dout`` keeps one write per repeated index instead of adding them."""
    x, w_shape = cache
    dW = np.zeros(w_shape, dtype=dout.dtype)
    dW[x] += dout
    return dW


def temporal_affine_forward(x: Array, w: Array, b: Array) -> tuple[Array, Any]:
    """The affine map x[n, t] @ w + b at every time step: (N, T, D) -> (N, T, M)."""
    n, t, d = x.shape
    out = (x.reshape(n * t, d) @ w + b).reshape(n, t, w.shape[1])
    return out, (x, w)


def temporal_affine_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Gradients of x, w and b, summed over examples and time steps."""
    x, w = cache
    rows = dout.reshape(-1, dout.shape[2])
    dx = (rows @ w.T).reshape(x.shape)
    dw = x.reshape(-1, x.shape[2]).T @ rows
    return dx, dw, dout.sum(axis=(0, 1))


@planted_bug("temporal affine", b="shape")
def temporal_affine_backward_db_per_step(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: db summed over the examples only, so it keeps the time axis: (T, M)."""
    dx, dw, _ = temporal_affine_backward(dout, cache)
    return dx, dw, dout.sum(axis=0)


def lstm_step_forward(
    x: Array, prev_h: Array, prev_c: Array, Wx: Array, Wh: Array, b: Array
) -> tuple[Array, Array, Any]:
    """One LSTM step; the 4H activations are the input, forget, output and block gates."""
    hidden = prev_h.shape[1]
    activations = x @ Wx + prev_h @ Wh + b
    gates = _sigmoid(activations[:, : 3 * hidden])
    input_gate, forget_gate, output_gate = np.split(gates, 3, axis=1)
    block = np.tanh(activations[:, 3 * hidden :])
    next_c = forget_gate * prev_c + input_gate * block
    tanh_c = np.tanh(next_c)
    next_h = output_gate * tanh_c
    cache = (x, prev_h, prev_c, Wx, Wh, input_gate, forget_gate, output_gate, block, tanh_c)
    return next_h, next_c, cache


def _lstm_step_backward(
    dnext_h: Array, dnext_c: Array, cache: Any, gate_order: str = "ifog", bug: str = ""
) -> tuple[Array, ...]:
    """Gradients of the step's six inputs; ``gate_order`` is the order dactivations uses,
    ``bug`` plants one gate's wrong derivative."""
    x, prev_h, prev_c, Wx, Wh, input_gate, forget_gate, output_gate, block, tanh_c = cache
    dc = dnext_c + dnext_h * output_gate * (1.0 - tanh_c**2)
    # The slope of each gate's own activation: sigmoid' = s(1 - s), tanh' = 1 - t².
    forget_slope = forget_gate * (1.0 - forget_gate)
    output_slope = output_gate * (1.0 - output_gate)
    if bug == "forget slope from input gate":
        forget_slope = input_gate * (1.0 - input_gate)
    if bug == "tanh slope for output gate":
        output_slope = 1.0 - output_gate**2
    dgate_pre = {
        "i": dc * block * input_gate * (1.0 - input_gate),
        "f": dc * prev_c * forget_slope,
        "o": dnext_h * tanh_c * output_slope,
        "g": dc * input_gate * (1.0 - block**2),
    }
    dactivations = np.concatenate([dgate_pre[gate] for gate in gate_order], axis=1)
    return (
        dactivations @ Wx.T,
        dactivations @ Wh.T,
        dc * forget_gate,
        x.T @ dactivations,
        prev_h.T @ dactivations,
        dactivations.sum(axis=0),
    )


def lstm_step_backward(dnext_h: Array, dnext_c: Array, cache: Any) -> tuple[Array, ...]:
    """Gradients of x, prev_h, prev_c, Wx, Wh and b."""
    return _lstm_step_backward(dnext_h, dnext_c, cache)


@planted_bug(
    "lstm step",
    x="upstream",
    prev_h="upstream",
    Wx="rearranged",
    Wh="rearranged",
    b="rearranged",
    where={
        "x": "the gradient of x·Wx",
        "prev_h": "the gradient of prev_h·Wh",
        "Wx": "blocks 1 and 2 of its 4 equal blocks along axis 1 exchanged",
        "Wh": "blocks 1 and 2 of its 4 equal blocks along axis 1 exchanged",
        "b": "blocks 1 and 2 of its 4 equal blocks along axis 0 exchanged",
    },
)
def lstm_step_backward_gates_swapped(
    dnext_h: Array, dnext_c: Array, cache: Any
) -> tuple[Array, ...]:
    """Bug: stacks the gate gradients as (f, i, o, g) while the forward sliced (i, f, o, g)."""
    return _lstm_step_backward(dnext_h, dnext_c, cache, gate_order="fiog")


def _one_gate_wrong(block: int) -> Callable[[Wrong], Wrong]:
    """The registration of a step whose gate ``block`` (1 to 4) has the wrong derivative:
    dWx, dWh and db wrong only in that gate's block of their last axis, dx and dprev_h
    everywhere (both step cases, H = 6 and H = 2)."""
    words = f"block {block} of 4 equal blocks along axis"
    return planted_bug(
        "lstm step",
        "lstm step, H = 2",
        x="upstream",
        prev_h="upstream",
        Wx="confined",
        Wh="confined",
        b="confined",
        where={
            "x": "the gradient of x·Wx",
            "prev_h": "the gradient of prev_h·Wh",
            "Wx": f"{words} 1",
            "Wh": f"{words} 1",
            "b": f"{words} 0",
        },
    )


@_one_gate_wrong(3)
def lstm_step_backward_output_gate_tanh_slope(
    dnext_h: Array, dnext_c: Array, cache: Any
) -> tuple[Array, ...]:
    """Bug: the output gate's derivative is tanh' (1 - o²) instead of sigmoid' o(1 - o);
    dWx, dWh and db are then wrong only in the output gate's block (3 of 4 on their last
    axis), dx and dprev_h everywhere."""
    return _lstm_step_backward(dnext_h, dnext_c, cache, bug="tanh slope for output gate")


@_one_gate_wrong(2)
def lstm_step_backward_forget_slope_of_input_gate(
    dnext_h: Array, dnext_c: Array, cache: Any
) -> tuple[Array, ...]:
    """Bug: the forget gate's derivative uses the input gate's sigmoid, i(1 - i) for f(1 - f)
    (a copy-paste of the line above); dWx, dWh and db are then wrong only in the forget
    gate's block (2 of 4 on their last axis), dx and dprev_h everywhere."""
    return _lstm_step_backward(dnext_h, dnext_c, cache, bug="forget slope from input gate")


def lstm_forward(x: Array, h0: Array, Wx: Array, Wh: Array, b: Array) -> tuple[Array, Any]:
    """Run the LSTM step over x (N, T, D) from h0 and a zero cell; return every h_t."""
    steps = x.shape[1]
    h = np.zeros((x.shape[0], steps, h0.shape[1]), dtype=x.dtype)
    prev_h, prev_c = h0, np.zeros_like(h0)
    step_caches = []
    for t in range(steps):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t] = prev_h
        step_caches.append(step_cache)
    return h, step_caches


def _lstm_backward(dh: Array, cache: Any, bug: str = "") -> tuple[Array, ...]:
    """Backward through time; ``bug`` plants the mistake the public variant names."""
    step_caches = cache
    _, _, _, Wx, Wh = step_caches[0][:5]
    dWx, dWh = np.zeros_like(Wx), np.zeros_like(Wh)
    db = np.zeros(Wx.shape[1], dtype=dh.dtype)
    dcarry_h, dcarry_c = np.zeros_like(dh[:, 0]), np.zeros_like(dh[:, 0])
    x_grads = []
    for t in reversed(range(dh.shape[1])):
        dx_t, dcarry_h, dcarry_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + dcarry_h, dcarry_c, step_caches[t]
        )
        x_grads.append(dx_t)
        if bug == "dWx assigned":
            dWx = dWx_t
        else:
            dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return np.stack(x_grads[::-1], axis=1), dcarry_h, dWx, dWh, db


def lstm_backward(dh: Array, cache: Any) -> tuple[Array, ...]:
    """Gradients of x, h0, Wx, Wh and b, given the upstream gradient of every h_t."""
    return _lstm_backward(dh, cache)


@planted_bug("lstm", Wx="mismatch")
def lstm_backward_dWx_assigned(dh: Array, cache: Any) -> tuple[Array, ...]:
    """Bug: ``dWx = dWx_t`` at each step instead of ``+=``; only step 0's part is left."""
    return _lstm_backward(dh, cache, bug="dWx assigned")
