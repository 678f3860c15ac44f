"""Naive convolution and max pooling (loops over output positions), with realistic bugs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tests.layers.planted import planted_bug

Array = np.ndarray


def _output_size(size: int, window: int, stride: int, pad: int = 0) -> int:
    """Positions a window takes along one axis; the stride must fit exactly."""
    span = size + 2 * pad - window
    if span % stride:
        raise ValueError(f"a window of {window} with stride {stride} does not tile {size}")
    return span // stride + 1


def _windows(out_h: int, out_w: int, stride: int) -> Iterator[tuple[int, int, int, int]]:
    """Each output position (i, j) with the top-left corner of its input window."""
    for i in range(out_h):
        for j in range(out_w):
            yield i, j, i * stride, j * stride


def _pad(x: Array, pad: int) -> Array:
    """Zero-pad the two spatial axes of (N, C, H, W)."""
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def conv_forward_naive(
    x: Array, w: Array, b: Array, conv_param: dict[str, int]
) -> tuple[Array, Any]:
    """Cross-correlate x (N, C, H, W) with filters w (F, C, HH, WW), plus bias b (F,)."""
    stride, pad = conv_param["stride"], conv_param["pad"]
    n_examples, _, height, width = x.shape
    n_filters, _, filter_h, filter_w = w.shape
    out_h = _output_size(height, filter_h, stride, pad)
    out_w = _output_size(width, filter_w, stride, pad)
    padded = _pad(x, pad)
    out = np.zeros((n_examples, n_filters, out_h, out_w), dtype=x.dtype)
    for n in range(n_examples):
        for f in range(n_filters):
            for i, j, top, left in _windows(out_h, out_w, stride):
                window = padded[n, :, top : top + filter_h, left : left + filter_w]
                out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, conv_param)


def _conv_backward(dout: Array, cache: Any, bug: str = "") -> tuple[Array, Array, Array]:
    """The naive backward; ``bug`` plants one of the mistakes the public variants name."""
    x, w, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    n_examples, n_filters, out_h, out_w = dout.shape
    filter_h, filter_w = w.shape[2:]
    padded = _pad(x, pad)
    dpadded = np.zeros_like(padded)
    dw = np.zeros_like(w)
    for n in range(n_examples):
        for f in range(n_filters):
            for i, j, top, left in _windows(out_h, out_w, stride):
                rows, cols = slice(top, top + filter_h), slice(left, left + filter_w)
                window = padded[n, :, rows, cols]
                if bug == "flipped dw":
                    window = window[:, ::-1, ::-1]
                dw[f] += dout[n, f, i, j] * window
                dpadded[n, :, rows, cols] += dout[n, f, i, j] * w[f]
    db = np.zeros(n_filters, dtype=dout.dtype) if bug == "zero db" else dout.sum(axis=(0, 2, 3))
    if bug == "empty slice at pad 0":
        return dpadded[:, :, pad:-pad, pad:-pad], dw, db
    return dpadded[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]], dw, db


def conv_backward_naive(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Gradients of x, w and b."""
    return _conv_backward(dout, cache)


def conv_backward_with_none(dout: Array, cache: Any) -> tuple[Array, Array, Array, None]:
    """The same gradients, with None in the place of conv_param."""
    return (*_conv_backward(dout, cache), None)


@planted_bug("conv, pad 0, stride 1", "conv, pad 0, stride 2", x="shape")
def conv_backward_unpad_empty_at_pad_0(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: strips the padding with ``[pad:-pad]``, which is empty when pad is 0."""
    return _conv_backward(dout, cache, bug="empty slice at pad 0")


@planted_bug("conv, pad 1, stride 1", b="zero")
def conv_backward_db_left_zero(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: db is allocated with np.zeros and never accumulated."""
    return _conv_backward(dout, cache, bug="zero db")


@planted_bug("conv, pad 1, stride 2", w="mismatch")
def conv_backward_flipped_dw(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: flips each input window before accumulating dw ("backward is a convolution")."""
    return _conv_backward(dout, cache, bug="flipped dw")


def max_pool_forward_naive(x: Array, pool_param: dict[str, int]) -> tuple[Array, Any]:
    """The maximum of each pooling window, per example and channel."""
    pool_h, pool_w = pool_param["pool_height"], pool_param["pool_width"]
    stride = pool_param["stride"]
    out_h = _output_size(x.shape[2], pool_h, stride)
    out_w = _output_size(x.shape[3], pool_w, stride)
    out = np.zeros((*x.shape[:2], out_h, out_w), dtype=x.dtype)
    for i, j, top, left in _windows(out_h, out_w, stride):
        out[:, :, i, j] = x[:, :, top : top + pool_h, left : left + pool_w].max(axis=(2, 3))
    return out, (x, pool_param)


def _max_pool_backward(dout: Array, cache: Any, accumulate: bool) -> Array:
    """Route each output's gradient to its window's maximum."""
    x, pool_param = cache
    pool_h, pool_w = pool_param["pool_height"], pool_param["pool_width"]
    dx = np.zeros_like(x)
    for i, j, top, left in _windows(dout.shape[2], dout.shape[3], pool_param["stride"]):
        rows, cols = slice(top, top + pool_h), slice(left, left + pool_w)
        window = x[:, :, rows, cols]
        is_max = window == window.max(axis=(2, 3), keepdims=True)
        routed = is_max * dout[:, :, i, j][:, :, None, None]
        if accumulate:
            dx[:, :, rows, cols] += routed
        else:
            dx[:, :, rows, cols] = routed
    return dx


def max_pool_backward_naive(dout: Array, cache: Any) -> Array:
    """Gradient of x (windows that overlap add up)."""
    return _max_pool_backward(dout, cache, accumulate=True)


@planted_bug("max pool 3x3, stride 2 (overlapping)", x="mismatch")
def max_pool_backward_assigns(dout: Array, cache: Any) -> Array:
    """Bug: ``=`` instead of ``+=``, so an overlapping window overwrites its neighbour's."""
    return _max_pool_backward(dout, cache, accumulate=False)
