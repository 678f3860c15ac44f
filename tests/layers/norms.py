"""Batch, layer, spatial batch and spatial group normalisation, with realistic bugs."""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.layers.planted import planted_bug

Array = np.ndarray


def batchnorm_forward(
    x: Array, gamma: Array, beta: Array, bn_param: dict[str, Any]
) -> tuple[Array, Any]:
    """Normalise each feature over the batch, then scale by gamma and shift by beta.

    Train mode uses the batch's statistics and updates ``bn_param``'s running mean and
    variance; test mode uses those running averages.
    """
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    features = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(features, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(features, dtype=x.dtype))
    if bn_param["mode"] == "test":
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        return gamma * x_hat + beta, None
    mean = x.mean(axis=0)
    centred = x - mean
    var = (centred**2).mean(axis=0)
    std = np.sqrt(var + eps)
    inv_std = 1.0 / std
    x_hat = centred * inv_std
    bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
    bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    return gamma * x_hat + beta, (x_hat, centred, inv_std, std, gamma)


def batchnorm_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Backward node by node through the forward's graph (mean, centre, var, std, 1/std)."""
    x_hat, centred, inv_std, std, gamma = cache
    batch = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dinv_std = (dx_hat * centred).sum(axis=0)
    dcentred = dx_hat * inv_std
    dstd = -dinv_std / std**2
    dvar = 0.5 * dstd / std
    dcentred += 2.0 * centred * dvar / batch
    dmean = -dcentred.sum(axis=0)
    dx = dcentred + dmean / batch
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """The same gradients from the simplified closed form of dx."""
    x_hat, _, inv_std, _, gamma = cache
    batch = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = (gamma * inv_std / batch) * (batch * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


@planted_bug("batchnorm, simplified", gamma="shape")
def batchnorm_backward_dgamma_keepdims(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: dgamma summed with keepdims=True, so it is (1, D) for a (D,) gamma."""
    dx, _, dbeta = batchnorm_backward_alt(dout, cache)
    x_hat = cache[0]
    return dx, (dout * x_hat).sum(axis=0, keepdims=True), dbeta


@planted_bug(
    "batchnorm, simplified",
    x="partial",
    where={"x": "a factor that differs between the indices of axis 1"},
)
def batchnorm_backward_alt_no_inv_std(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: the closed form of dx without its 1/std; each feature's column (axis 1) of dx
    is then the true one times that feature's std, a factor that differs between columns."""
    x_hat, _, _, _, gamma = cache
    batch = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = (gamma / batch) * (batch * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


@planted_bug(
    "batchnorm, step by step",
    x="partial",
    where={"x": "off by an amount that is the same at every index of axis 0"},
)
def batchnorm_backward_no_path_through_mean(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: the step-by-step backward forgets that the mean depends on x (no dmean term)."""
    x_hat, centred, inv_std, std, gamma = cache
    batch = dout.shape[0]
    dx_hat = dout * gamma
    dinv_std = (dx_hat * centred).sum(axis=0)
    dvar = 0.5 * (-dinv_std / std**2) / std
    dx = dx_hat * inv_std + 2.0 * centred * dvar / batch
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def layernorm_forward(
    x: Array, gamma: Array, beta: Array, ln_param: dict[str, Any]
) -> tuple[Array, Any]:
    """Normalise each example over its features, then scale and shift per feature."""
    eps = ln_param.get("eps", 1e-5)
    centred = x - x.mean(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt((centred**2).mean(axis=1, keepdims=True) + eps)
    x_hat = centred * inv_std
    return gamma * x_hat + beta, (x_hat, inv_std, gamma)


def layernorm_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Gradients of x, gamma and beta."""
    x_hat, inv_std, gamma = cache
    dx_hat = dout * gamma
    dx = inv_std * (
        dx_hat
        - dx_hat.mean(axis=1, keepdims=True)
        - x_hat * (dx_hat * x_hat).mean(axis=1, keepdims=True)
    )
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


@planted_bug("layernorm", gamma="shape")
def layernorm_backward_dgamma_keepdims(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: dgamma kept as (1, D) by keepdims=True for a (D,) gamma."""
    dx, _, dbeta = layernorm_backward(dout, cache)
    return dx, (dout * cache[0]).sum(axis=0, keepdims=True), dbeta


@planted_bug(
    "layernorm",
    x="partial",
    where={"x": "a factor that differs between the indices of axis 0"},
)
def layernorm_backward_no_inv_std(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: drops the leading 1/std of the closed form of dx; each example's row (axis 0)
    of dx is then the true one times its own std, a factor that differs between rows."""
    x_hat, _, gamma = cache
    dx_hat = dout * gamma
    dx = (
        dx_hat
        - dx_hat.mean(axis=1, keepdims=True)
        - x_hat * (dx_hat * x_hat).mean(axis=1, keepdims=True)
    )
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def _channels_last_rows(x: Array) -> Array:
    """(N, C, H, W) -> (N*H*W, C): one row per pixel, one column per channel."""
    return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])


def _rows_to_channels_first(rows: Array, shape: tuple[int, ...]) -> Array:
    """Undo :func:`_channels_last_rows` for an array of ``shape`` (N, C, H, W)."""
    n, c, h, w = shape
    return rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def spatial_batchnorm_forward(
    x: Array, gamma: Array, beta: Array, bn_param: dict[str, Any]
) -> tuple[Array, Any]:
    """Batchnorm per channel, over the batch and both spatial axes."""
    out_rows, cache = batchnorm_forward(_channels_last_rows(x), gamma, beta, bn_param)
    return _rows_to_channels_first(out_rows, x.shape), (cache, x.shape)


def spatial_batchnorm_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Gradients of x, gamma and beta, through the same reshapes."""
    bn_cache, shape = cache
    dx_rows, dgamma, dbeta = batchnorm_backward_alt(_channels_last_rows(dout), bn_cache)
    return _rows_to_channels_first(dx_rows, shape), dgamma, dbeta


@planted_bug("spatial batchnorm", x="mismatch")
def spatial_batchnorm_backward_no_transpose(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: reshapes dx straight back to (N, C, H, W) without undoing the transpose."""
    bn_cache, shape = cache
    dx_rows, dgamma, dbeta = batchnorm_backward_alt(_channels_last_rows(dout), bn_cache)
    return dx_rows.reshape(shape), dgamma, dbeta


def spatial_groupnorm_forward(
    x: Array, gamma: Array, beta: Array, groups: int, gn_param: dict[str, Any]
) -> tuple[Array, Any]:
    """Normalise each example over groups of channels; gamma and beta are (1, C, 1, 1)."""
    eps = gn_param.get("eps", 1e-5)
    n, c, h, w = x.shape
    grouped = x.reshape(n, groups, c // groups, h, w)
    centred = grouped - grouped.mean(axis=(2, 3, 4), keepdims=True)
    inv_std = 1.0 / np.sqrt((centred**2).mean(axis=(2, 3, 4), keepdims=True) + eps)
    x_hat = (centred * inv_std).reshape(x.shape)
    return gamma * x_hat + beta, (x_hat, inv_std, gamma, groups)


def _groupnorm_dx(dx_hat: Array, x_hat: Array, inv_std: Array, groups: int) -> Array:
    """dx from the gradient of the normalised input, group by group."""
    n, c, h, w = x_hat.shape
    dx_hat_g = dx_hat.reshape(n, groups, c // groups, h, w)
    x_hat_g = x_hat.reshape(dx_hat_g.shape)
    axes = (2, 3, 4)
    dx_g = inv_std * (
        dx_hat_g
        - dx_hat_g.mean(axis=axes, keepdims=True)
        - x_hat_g * (dx_hat_g * x_hat_g).mean(axis=axes, keepdims=True)
    )
    return dx_g.reshape(x_hat.shape)


def spatial_groupnorm_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Gradients of x, gamma and beta (the int and the option dict get none)."""
    x_hat, inv_std, gamma, groups = cache
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    return _groupnorm_dx(dout * gamma, x_hat, inv_std, groups), dgamma, dbeta


@planted_bug("spatial groupnorm", x="mismatch")
def spatial_groupnorm_backward_forgets_gamma(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: uses dout as the gradient of x_hat, forgetting to multiply by gamma."""
    x_hat, inv_std, _, groups = cache
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    return _groupnorm_dx(dout, x_hat, inv_std, groups), dgamma, dbeta
