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
