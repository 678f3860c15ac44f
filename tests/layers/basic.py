"""Affine, ReLU and dropout layers, with realistic ways to get their backward wrong."""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.layers.planted import planted_bug

Array = np.ndarray


def affine_forward(x: Array, w: Array, b: Array) -> tuple[Array, Any]:
    """out = x @ w + b, with each example of ``x`` flattened to one row."""
    rows = x.reshape(x.shape[0], -1)
    return rows @ w + b, (x, w)


def affine_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Gradients of x, w and b."""
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    return dx, dw, dout.sum(axis=0)


def affine_backward_as_dict(dout: Array, cache: Any) -> dict[str, Array]:
    """The same gradients, by forward's argument names."""
    dx, dw, db = affine_backward(dout, cache)
    return {"x": dx, "w": dw, "b": db}


@planted_bug("affine", x="shape")
def affine_backward_dx_not_reshaped(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: dx stays (N, D) instead of being reshaped back to x's (N, d1, d2, ...)."""
    x, w = cache
    dx = dout @ w.T
    dw = x.reshape(x.shape[0], -1).T @ dout
    return dx, dw, dout.sum(axis=0)


def relu_forward(x: Array) -> tuple[Array, Array]:
    """max(0, x); the cache is x itself."""
    return np.maximum(x, 0), x


def relu_backward(dout: Array, cache: Array) -> Array:
    """Pass the upstream gradient where x was positive."""
    return dout * (cache > 0)


@planted_bug("relu", x="confined", where={"x": "where the loss does not depend on it"})
def relu_backward_without_mask(dout: Array, cache: Array) -> Array:
    """Bug: dout passed straight through, also where x <= 0 and the output is a constant 0."""
    return dout.copy()


@planted_bug("relu", x="mutated")
def relu_backward_masks_cache_in_place(dout: Array, cache: Array) -> Array:
    """Bug: turns the cached x (the caller's own array) into a 0/1 mask in place."""
    x = cache
    x[x <= 0] = 0
    x[x > 0] = 1
    return dout * x


def dropout_forward(x: Array, dropout_param: dict[str, Any]) -> tuple[Array, Any]:
    """Inverted dropout: keep each unit with probability ``p``, scale kept ones by 1/p.

    In train mode the mask comes from a generator seeded with ``dropout_param["seed"]``
    on every call (no seed: a fresh mask per call); in test mode the layer is the identity.
    """
    if dropout_param["mode"] == "test":
        return x.copy(), None
    keep = dropout_param["p"]
    rng = np.random.default_rng(dropout_param.get("seed"))
    scaled_mask = (rng.random(x.shape) < keep) / keep
    return x * scaled_mask, scaled_mask


def dropout_backward(dout: Array, cache: Any) -> Array:
    """Gradient of x: the upstream gradient through the same scaled mask."""
    scaled_mask = cache
    return dout if scaled_mask is None else dout * scaled_mask


@planted_bug("dropout", factor=0.2, x="scaled")
def dropout_backward_unscaled(dout: Array, cache: Any) -> Array:
    """Bug: masks the gradient but forgets the 1/p the forward applied."""
    return dout * (cache > 0)


def softmax_forward(x: Array) -> tuple[Array, Array]:
    """The probabilities of each row of x (N, K); the cache is those probabilities."""
    exp = np.exp(x - x.max(axis=1, keepdims=True))
    probs = exp / exp.sum(axis=1, keepdims=True)
    return probs, probs


def softmax_backward(dout: Array, cache: Array) -> Array:
    """The full Jacobian per row: dx = s * (dout - sum(dout * s))."""
    probs = cache
    return probs * (dout - np.sum(dout * probs, axis=1, keepdims=True))


@planted_bug("softmax", x="mismatch")
def softmax_backward_diagonal_only(dout: Array, cache: Array) -> Array:
    """Bug: keeps only the Jacobian's diagonal s * (1 - s), as for K independent sigmoids;
    dx is then wrong at every entry, by s_i * sum over j != i of dout_j * s_j."""
    probs = cache
    return dout * probs * (1 - probs)


def _sandwich_forward(
    x: Array, w1: Array, b1: Array, w2: Array, b2: Array, sigmoid: bool
) -> tuple[Array, Any]:
    """out = act(x @ w1 + b1) @ w2 + b2, act a ReLU or a sigmoid; the cache keeps h."""
    hidden = x @ w1 + b1
    h = 1 / (1 + np.exp(-hidden)) if sigmoid else np.maximum(hidden, 0)
    return h @ w2 + b2, (x, w1, w2, h, sigmoid)


def affine_relu_affine_forward(
    x: Array, w1: Array, b1: Array, w2: Array, b2: Array
) -> tuple[Array, Any]:
    """Two affine layers with a ReLU between them: x (N, D), w1 (D, H), w2 (H, M)."""
    return _sandwich_forward(x, w1, b1, w2, b2, sigmoid=False)


def affine_sigmoid_affine_forward(
    x: Array, w1: Array, b1: Array, w2: Array, b2: Array
) -> tuple[Array, Any]:
    """Two affine layers with a sigmoid between them: x (N, D), w1 (D, H), w2 (H, M)."""
    return _sandwich_forward(x, w1, b1, w2, b2, sigmoid=True)


def _sandwich_backward(dout: Array, cache: Any, bug: str = "") -> tuple[Array, ...]:
    """Gradients of x, w1, b1, w2, b2; ``bug`` plants one of the public variants' mistakes."""
    x, w1, w2, h, sigmoid = cache
    dh = dout @ w2.T
    if bug == "in-place derivative":
        h *= 1 - h  # the sigmoid's derivative, written over the cached h
        dhidden = dh * h
    else:
        dhidden = dh * (h * (1 - h) if sigmoid else h > 0)
    # After the derivative, as some write it: the in-place bug's dw2 reads h * (1 - h).
    dw2 = (x if bug == "x for h" else h).T @ dout
    dw1 = (h if bug == "h for x" else x).T @ dhidden
    return dhidden @ w1.T, dw1, dhidden.sum(axis=0), dw2, dout.sum(axis=0)


def affine_act_affine_backward(dout: Array, cache: Any) -> tuple[Array, ...]:
    """Gradients of x, w1, b1, w2 and b2, for either activation."""
    return _sandwich_backward(dout, cache)


@planted_bug("affine relu affine", w2="mismatch")
def affine_relu_affine_backward_dw2_from_x(dout: Array, cache: Any) -> tuple[Array, ...]:
    """Bug: dw2 = x.T @ dout, the block's input where the hidden activation h belongs
    (D == H lets the shapes fit); dw2 is then wrong at every entry."""
    return _sandwich_backward(dout, cache, bug="x for h")


@planted_bug("affine relu affine", w1="mismatch")
def affine_relu_affine_backward_dw1_from_h(dout: Array, cache: Any) -> tuple[Array, ...]:
    """Bug: dw1 = h.T @ dhidden, the hidden activation where the input x belongs."""
    return _sandwich_backward(dout, cache, bug="h for x")


@planted_bug("affine sigmoid affine", w2="mismatch")
def affine_sigmoid_affine_backward_overwrites_h(dout: Array, cache: Any) -> tuple[Array, ...]:
    """Bug: turns the cached sigmoid output h into its derivative h * (1 - h) in place
    (cache only: h is the forward's own array), then computes dw2 from it; dw2 is then
    wrong at every entry, and every other gradient is right."""
    return _sandwich_backward(dout, cache, bug="in-place derivative")
