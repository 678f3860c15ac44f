"""Linear softmax classifier with L2, examples in columns.

Layout: column-major, one example per column. The layer multiplies from the left (W·X),
and sums over the batch run along axis 1. The twin module
:mod:`reference_nets.linear_softmax.row_major` takes the same steps in the same order
under the same names; only the transposes and the summation axis differ.

Shapes, with N = batch, D = d_in, K = classes:

=================  ======  =================================================
array              shape   what it holds
=================  ======  =================================================
``X``              (D, N)  inputs, one example per column
``y``              (N,)    labels in 0 … K − 1
``W``              (K, D)  weights
``b``              (K, 1)  bias (a column)
``scores``         (K, N)  S = W·X + b
``log_probs``      (K, N)  log P, where column i of P is softmax(S[:, i])
``probs``          (K, N)  P
``onehot``         (K, N)  Y, Y[k, i] = 1 if k = y_i else 0
``dloss_d<name>``  same    ∂L/∂<name>, the shape of <name>
=================  ======  =================================================

Loss: L = −(1/N) Σ_i log P[y_i, i] + ½·reg·ΣW².
"""

from typing import NamedTuple

import numpy as np
from jaxtyping import Float, Int

from reference_nets._numerics import log_softmax
from reference_nets._types import ParamDict, Params

__all__ = ["Activations", "backward", "forward", "gradients", "init_params", "loss", "predict"]


class Activations(NamedTuple):
    """The forward pass's intermediate arrays, which the backward pass reads."""

    X: Float[np.ndarray, "d_in batch"]
    scores: Float[np.ndarray, "classes batch"]
    log_probs: Float[np.ndarray, "classes batch"]


def init_params(*, d_in: int, classes: int, rng: np.random.Generator) -> ParamDict:
    """Weights 0.01·N(0, 1) and a zero bias, as in the notebook.

    The weights are drawn in the row-major shape and transposed, so the same ``rng`` state
    gives the same classifier as ``row_major.init_params``, transposed.
    """
    return {
        "W": 0.01 * rng.standard_normal((d_in, classes)).T,
        "b": np.zeros((classes, 1)),
    }


def forward(params: Params, X: Float[np.ndarray, "d_in batch"]) -> Activations:
    """Run the classifier on ``X`` and keep every intermediate array."""
    W, b = params["W"], params["b"]
    scores = W @ X + b  # S = W·X + b
    log_probs = log_softmax(scores, axis=0)  # log P[:, i] = S[:, i] − log Σ_k exp S[k, i]
    return Activations(X, scores, log_probs)


def loss(
    params: Params,
    X: Float[np.ndarray, "d_in batch"],
    y: Int[np.ndarray, " batch"],
    reg: float = 0.0,
) -> float:
    """Mean cross-entropy over the batch plus ½·reg·ΣW²."""
    W = params["W"]
    log_probs = forward(params, X).log_probs
    batch = X.shape[1]
    correct_log_probs = log_probs[y, np.arange(batch)]  # log P[y_i, i]
    data_loss = -np.mean(correct_log_probs)  # −(1/N) Σ_i log P[y_i, i]
    reg_loss = 0.5 * reg * np.sum(W * W)  # ½·reg·ΣW²
    return float(data_loss + reg_loss)


def backward(
    activations: Activations,
    y: Int[np.ndarray, " batch"],
    params: Params,
    reg: float = 0.0,
) -> ParamDict:
    """∂L/∂θ for both parameters θ, from the arrays a forward pass kept."""
    X, scores, log_probs = activations
    W = params["W"]
    classes, batch = scores.shape
    probs = np.exp(log_probs)  # P = softmax(S)
    onehot = np.eye(classes)[:, y]  # Y[k, i] = 1 if k = y_i else 0
    dloss_dscores = (probs - onehot) / batch  # ∂L/∂S = (P − Y)/N
    dloss_dW = dloss_dscores @ X.T + reg * W  # ∂L/∂W = ∂L/∂S·Xᵀ + reg·W
    dloss_db = np.sum(dloss_dscores, axis=1, keepdims=True)  # ∂L/∂b = Σ_i ∂L/∂S[:, i]
    return {"W": dloss_dW, "b": dloss_db}


def gradients(
    params: Params,
    X: Float[np.ndarray, "d_in batch"],
    y: Int[np.ndarray, " batch"],
    reg: float = 0.0,
) -> ParamDict:
    """∂L/∂θ for both parameters θ (same keys and shapes as ``params``)."""
    return backward(forward(params, X), y, params, reg)


def predict(params: Params, X: Float[np.ndarray, "d_in batch"]) -> Int[np.ndarray, " batch"]:
    """The class with the highest score, for each example."""
    scores = forward(params, X).scores
    labels: Int[np.ndarray, " batch"] = np.argmax(scores, axis=0)  # ŷ_i = argmax_k S[k, i]
    return labels
