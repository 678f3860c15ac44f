"""Linear softmax classifier with L2, examples in rows (the course notebook's layout).

Layout: row-major, one example per row. The layer multiplies from the right (X·W), and
sums over the batch run along axis 0. The twin module
:mod:`reference_nets.linear_softmax.column_major` takes the same steps in the same order
under the same names; only the transposes and the summation axis differ.

Shapes, with N = batch, D = d_in, K = classes:

=================  ======  =================================================
array              shape   what it holds
=================  ======  =================================================
``X``              (N, D)  inputs, one example per row
``y``              (N,)    labels in 0 … K − 1
``W``              (D, K)  weights
``b``              (1, K)  bias (a row, as in the notebook)
``scores``         (N, K)  S = X·W + b
``log_probs``      (N, K)  log P, where row i of P is softmax(S[i, :])
``probs``          (N, K)  P
``onehot``         (N, K)  Y, Y[i, k] = 1 if k = y_i else 0
``dloss_d<name>``  same    ∂L/∂<name>, the shape of <name>
=================  ======  =================================================

Loss: L = −(1/N) Σ_i log P[i, y_i] + ½·reg·ΣW².
"""

from typing import NamedTuple

import numpy as np
from jaxtyping import Float, Int

from reference_nets._numerics import log_softmax
from reference_nets._types import ParamDict, Params

__all__ = ["Activations", "backward", "forward", "gradients", "init_params", "loss", "predict"]


class Activations(NamedTuple):
    """The forward pass's intermediate arrays, which the backward pass reads."""

    X: Float[np.ndarray, "batch d_in"]
    scores: Float[np.ndarray, "batch classes"]
    log_probs: Float[np.ndarray, "batch classes"]


def init_params(*, d_in: int, classes: int, rng: np.random.Generator) -> ParamDict:
    """Weights 0.01·N(0, 1) and a zero bias, as in the notebook."""
    return {
        "W": 0.01 * rng.standard_normal((d_in, classes)),
        "b": np.zeros((1, classes)),
    }


def forward(params: Params, X: Float[np.ndarray, "batch d_in"]) -> Activations:
    """Run the classifier on ``X`` and keep every intermediate array."""
    W, b = params["W"], params["b"]
    scores = X @ W + b  # S = X·W + b
    log_probs = log_softmax(scores, axis=1)  # log P[i, :] = S[i, :] − log Σ_k exp S[i, k]
    return Activations(X, scores, log_probs)


def loss(
    params: Params,
    X: Float[np.ndarray, "batch d_in"],
    y: Int[np.ndarray, " batch"],
    reg: float = 0.0,
) -> float:
    """Mean cross-entropy over the batch plus ½·reg·ΣW²."""
    W = params["W"]
    log_probs = forward(params, X).log_probs
    batch = X.shape[0]
    correct_log_probs = log_probs[np.arange(batch), y]  # log P[i, y_i]
    data_loss = -np.mean(correct_log_probs)  # −(1/N) Σ_i log P[i, y_i]
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
    batch, classes = scores.shape
    probs = np.exp(log_probs)  # P = softmax(S)
    onehot = np.eye(classes)[y]  # Y[i, k] = 1 if k = y_i else 0
    dloss_dscores = (probs - onehot) / batch  # ∂L/∂S = (P − Y)/N
    dloss_dW = X.T @ dloss_dscores + reg * W  # ∂L/∂W = Xᵀ·∂L/∂S + reg·W
    dloss_db = np.sum(dloss_dscores, axis=0, keepdims=True)  # ∂L/∂b = Σ_i ∂L/∂S[i, :]
    return {"W": dloss_dW, "b": dloss_db}


def gradients(
    params: Params,
    X: Float[np.ndarray, "batch d_in"],
    y: Int[np.ndarray, " batch"],
    reg: float = 0.0,
) -> ParamDict:
    """∂L/∂θ for both parameters θ (same keys and shapes as ``params``)."""
    return backward(forward(params, X), y, params, reg)


def predict(params: Params, X: Float[np.ndarray, "batch d_in"]) -> Int[np.ndarray, " batch"]:
    """The class with the highest score, for each example."""
    scores = forward(params, X).scores
    labels: Int[np.ndarray, " batch"] = np.argmax(scores, axis=1)  # ŷ_i = argmax_k S[i, k]
    return labels
