"""Two-layer ReLU net, softmax cross-entropy, examples in columns.

Layout: column-major, one example per column. Layers multiply from the left (W1·X), and
sums over the batch run along axis 1. The twin module
:mod:`reference_nets.two_layer_relu.row_major` takes the same steps in the same order
under the same names; only the transposes and the summation axis differ.

Shapes, with N = batch, D = d_in, H = hidden, K = classes:

=================  ======  =================================================
array              shape   what it holds
=================  ======  =================================================
``X``              (D, N)  inputs, one example per column
``y``              (N,)    labels in 0 … K − 1
``W1``             (H, D)  first-layer weights
``b1``             (H, 1)  first-layer bias (a column)
``W2``             (K, H)  second-layer weights
``b2``             (K, 1)  second-layer bias
``hidden_pre``     (H, N)  Z1 = W1·X + b1
``hidden``         (H, N)  H = relu(Z1)
``scores``         (K, N)  S = W2·H + b2
``log_probs``      (K, N)  log P, where column i of P is softmax(S[:, i])
``probs``          (K, N)  P
``onehot``         (K, N)  Y, Y[k, i] = 1 if k = y_i else 0
``dloss_d<name>``  same    ∂L/∂<name>, the shape of <name>
=================  ======  =================================================

Loss: L = −(1/N) Σ_i log P[y_i, i] + ½·reg·(ΣW1² + ΣW2²).

At a kink (Z1 exactly 0) the ReLU's derivative is taken as 0, as in the forum code.
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
    hidden_pre: Float[np.ndarray, "hidden batch"]
    hidden: Float[np.ndarray, "hidden batch"]
    scores: Float[np.ndarray, "classes batch"]
    log_probs: Float[np.ndarray, "classes batch"]


def init_params(*, d_in: int, hidden: int, classes: int, rng: np.random.Generator) -> ParamDict:
    """Weights 0.01·N(0, 1) and zero biases, as in the forum code.

    The weights are drawn in the row-major shape and transposed, so the same ``rng`` state
    gives the same network as ``row_major.init_params``, transposed.
    """
    return {
        "W1": 0.01 * rng.standard_normal((d_in, hidden)).T,
        "b1": np.zeros((hidden, 1)),
        "W2": 0.01 * rng.standard_normal((hidden, classes)).T,
        "b2": np.zeros((classes, 1)),
    }


def forward(params: Params, X: Float[np.ndarray, "d_in batch"]) -> Activations:
    """Run the net on ``X`` and keep every intermediate array."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    hidden_pre = W1 @ X + b1  # Z1 = W1·X + b1
    hidden = np.maximum(hidden_pre, 0.0)  # H = relu(Z1)
    scores = W2 @ hidden + b2  # S = W2·H + b2
    log_probs = log_softmax(scores, axis=0)  # log P[:, i] = S[:, i] − log Σ_k exp S[k, i]
    return Activations(X, hidden_pre, hidden, scores, log_probs)


def loss(
    params: Params,
    X: Float[np.ndarray, "d_in batch"],
    y: Int[np.ndarray, " batch"],
    reg: float = 0.0,
) -> float:
    """Mean cross-entropy over the batch plus ½·reg·(ΣW1² + ΣW2²)."""
    W1, W2 = params["W1"], params["W2"]
    log_probs = forward(params, X).log_probs
    batch = X.shape[1]
    correct_log_probs = log_probs[y, np.arange(batch)]  # log P[y_i, i]
    data_loss = -np.mean(correct_log_probs)  # −(1/N) Σ_i log P[y_i, i]
    reg_loss = 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))  # ½·reg·(ΣW1² + ΣW2²)
    return float(data_loss + reg_loss)


def backward(
    activations: Activations,
    y: Int[np.ndarray, " batch"],
    params: Params,
    reg: float = 0.0,
) -> ParamDict:
    """∂L/∂θ for every parameter θ, from the arrays a forward pass kept."""
    X, hidden_pre, hidden, scores, log_probs = activations
    W1, W2 = params["W1"], params["W2"]
    classes, batch = scores.shape
    probs = np.exp(log_probs)  # P = softmax(S)
    onehot = np.eye(classes)[:, y]  # Y[k, i] = 1 if k = y_i else 0
    dloss_dscores = (probs - onehot) / batch  # ∂L/∂S = (P − Y)/N
    dloss_dW2 = dloss_dscores @ hidden.T + reg * W2  # ∂L/∂W2 = ∂L/∂S·Hᵀ + reg·W2
    dloss_db2 = np.sum(dloss_dscores, axis=1, keepdims=True)  # ∂L/∂b2 = Σ_i ∂L/∂S[:, i]
    dloss_dhidden = W2.T @ dloss_dscores  # ∂L/∂H = W2ᵀ·∂L/∂S
    dloss_dhidden_pre = dloss_dhidden * (hidden_pre > 0)  # ∂L/∂Z1 = ∂L/∂H ⊙ 1[Z1 > 0]
    dloss_dW1 = dloss_dhidden_pre @ X.T + reg * W1  # ∂L/∂W1 = ∂L/∂Z1·Xᵀ + reg·W1
    dloss_db1 = np.sum(dloss_dhidden_pre, axis=1, keepdims=True)  # ∂L/∂b1 = Σ_i ∂L/∂Z1[:, i]
    return {"W1": dloss_dW1, "b1": dloss_db1, "W2": dloss_dW2, "b2": dloss_db2}


def gradients(
    params: Params,
    X: Float[np.ndarray, "d_in batch"],
    y: Int[np.ndarray, " batch"],
    reg: float = 0.0,
) -> ParamDict:
    """∂L/∂θ for every parameter θ (same keys and shapes as ``params``)."""
    return backward(forward(params, X), y, params, reg)


def predict(params: Params, X: Float[np.ndarray, "d_in batch"]) -> Int[np.ndarray, " batch"]:
    """The class with the highest score, for each example."""
    scores = forward(params, X).scores
    labels: Int[np.ndarray, " batch"] = np.argmax(scores, axis=0)  # ŷ_i = argmax_k S[k, i]
    return labels
