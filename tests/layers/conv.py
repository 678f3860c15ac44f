"""Naive convolution and max pooling (loops over output positions), with realistic bugs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import numpy as np

from tests.layers.planted import planted_bug

Array = np.ndarray
#: The paddings conv_param["pad_mode"] may name: zeros, or copies of the border pixels.
PadMode = Literal["constant", "edge"]


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


def _pad(x: Array, pad: int, mode: PadMode = "constant") -> Array:
    """Pad the two spatial axes of (N, C, H, W): zeros, or ``"edge"`` copies of the border."""
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode=mode)


def _fold_edges(grad: Array, pad: int, axis: int) -> Array:
    """Undo edge padding along one axis: each copy's gradient goes to the pixel it copies."""
    along = np.moveaxis(grad, axis, 0)
    inner = along[pad : len(along) - pad].copy()
    inner[0] += along[:pad].sum(axis=0)
    inner[-1] += along[len(along) - pad :].sum(axis=0)
    return np.moveaxis(inner, 0, axis)


def _unpad(dpadded: Array, pad: int, mode: PadMode) -> Array:
    """The gradient of x from that of its padded copy (zeros: crop; edge: fold)."""
    if mode == "edge":
        return _fold_edges(_fold_edges(dpadded, pad, 2), pad, 3)
    height, width = dpadded.shape[2] - 2 * pad, dpadded.shape[3] - 2 * pad
    return dpadded[:, :, pad : pad + height, pad : pad + width]


def conv_forward_naive(
    x: Array, w: Array, b: Array, conv_param: dict[str, Any]
) -> tuple[Array, Any]:
    """Cross-correlate x (N, C, H, W) with filters w (F, C, HH, WW), plus bias b (F,).

    ``conv_param["pad_mode"]`` is ``"constant"`` (zeros, the default) or ``"edge"``
    (copies of the border pixels, a "replicate" padding).
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    n_examples, _, height, width = x.shape
    n_filters, _, filter_h, filter_w = w.shape
    out_h = _output_size(height, filter_h, stride, pad)
    out_w = _output_size(width, filter_w, stride, pad)
    padded = _pad(x, pad, conv_param.get("pad_mode", "constant"))
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
    mode = conv_param.get("pad_mode", "constant")
    n_examples, n_filters, out_h, out_w = dout.shape
    filter_h, filter_w = w.shape[2:]
    padded = _pad(x, pad, mode)
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
                if bug == "dx at filter index":
                    for c in range(w.shape[1]):
                        dpadded[n, f, rows, cols] += dout[n, f, i, j] * w[f, c]
                else:
                    dpadded[n, :, rows, cols] += dout[n, f, i, j] * w[f]
    db = np.zeros(n_filters, dtype=dout.dtype) if bug == "zero db" else dout.sum(axis=(0, 2, 3))
    if bug == "empty slice at pad 0":
        return dpadded[:, :, pad:-pad, pad:-pad], dw, db
    return _unpad(dpadded, pad, "constant" if bug == "cropped" else mode), dw, db


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


@planted_bug(
    "conv, pad 1, stride 2", w="rearranged", where={"w": "flipped along axis 2 and axis 3"}
)
def conv_backward_flipped_dw(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: flips each input window before accumulating dw ("backward is a convolution")."""
    return _conv_backward(dout, cache, bug="flipped dw")


@planted_bug(
    "conv, edge padding, 1 channel",
    "conv, edge padding",
    x="confined",
    where={"x": "on the border of axis 2 and axis 3 (their first and last index)"},
)
def conv_backward_crops_edge_padding(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: crops dx out of the padded gradient as for zeros, but the edge padding copied
    the border pixels, so dx is then wrong only on the border of axes 2 and 3."""
    return _conv_backward(dout, cache, bug="cropped")


@planted_bug("conv, pad 1, stride 1", x="mismatch")
def conv_backward_dx_at_filter_index(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: loops over channels c but adds ``dout[n, f] * w[f, c]`` into dx[n, f], the
    output channel's index, where dx[n, c] is meant (C == F lets the shapes fit)."""
    return _conv_backward(dout, cache, bug="dx at filter index")


def _conv_backward_by_offsets(
    dout: Array, cache: Any, dw_subscripts: str = "fckl"
) -> tuple[Array, Array, Array]:
    """The backward vectorised over examples and positions, one kernel offset at a time;
    ``dw_subscripts`` is the einsum output of dw, whose right order is (F, C, HH, WW)."""
    x, w, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    mode = conv_param.get("pad_mode", "constant")
    out_h, out_w = dout.shape[2:]
    padded = _pad(x, pad, mode)
    # (N, C, out_h, out_w, HH, WW): every input window, a view, no copies.
    windows = np.lib.stride_tricks.sliding_window_view(padded, w.shape[2:], axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]
    dw = np.einsum(f"nfij,ncijkl->{dw_subscripts}", dout, windows)
    dpadded = np.zeros_like(padded)
    for k in range(w.shape[2]):
        for m in range(w.shape[3]):
            rows = slice(k, k + stride * out_h, stride)
            cols = slice(m, m + stride * out_w, stride)
            dpadded[:, :, rows, cols] += np.einsum("nfij,fc->ncij", dout, w[:, :, k, m])
    return _unpad(dpadded, pad, mode), dw, dout.sum(axis=(0, 2, 3))


def conv_backward_by_offsets(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Gradients of x, w and b, vectorised."""
    return _conv_backward_by_offsets(dout, cache)


@planted_bug(
    "conv 3x3 on 1 channel, vectorised",
    w="rearranged",
    where={"w": "dw.transpose(0, 1, 3, 2) matches"},
)
def conv_backward_dw_kernel_axes_swapped(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: dw's einsum output is "fclk", kernel rows and columns swapped (F, C, WW, HH);
    dw is then wrong at every kernel entry off the diagonal of axes 2 and 3."""
    return _conv_backward_by_offsets(dout, cache, dw_subscripts="fclk")


@planted_bug(
    "conv 2x2, stride 2, vectorised",
    w="rearranged",
    where={"w": "dw.transpose(1, 0, 2, 3) matches"},
)
def conv_backward_dw_channels_swapped(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: dw's einsum output is "cfkl", laid out (C, F, HH, WW) like a filter bank read
    the other way round (F == C hides it); dw is then wrong wherever f != c."""
    return _conv_backward_by_offsets(dout, cache, dw_subscripts="cfkl")


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


@planted_bug(
    "max pool 3x3, stride 2 (overlapping)",
    x="confined",
    # Only the shared entries where the earlier window had its maximum are wrong: a few,
    # listed, with the part that holds them.
    where={"x": "dx is wrong only at dx["},
)
def max_pool_backward_assigns(dout: Array, cache: Any) -> Array:
    """Bug: ``=`` instead of ``+=``, so an overlapping window overwrites its neighbour's;
    dx is then wrong only at entries two windows share (index 2 of axis 2 or axis 3)."""
    return _max_pool_backward(dout, cache, accumulate=False)
