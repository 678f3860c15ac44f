"""Two-layer ReLU net, softmax cross-entropy, examples in rows (the forum's layout).

Layout: row-major, one example per row. Layers multiply from the right (X·W1), and sums
over the batch run along axis 0. The twin module
:mod:`reference_nets.two_layer_relu.column_major` takes the same steps in the same order
under the same names; only the transposes and the summation axis differ.

Shapes, with N = batch, D = d_in, H = hidden, K = classes:

=================  ======  =================================================
array              shape   what it holds
=================  ======  =================================================
``X``              (N, D)  inputs, one example per row
``y``              (N,)    labels in 0 … K − 1
``W1``             (D, H)  first-layer weights
``b1``             (1, H)  first-layer bias (a row, as in the forum code)
``W2``             (H, K)  second-layer weights
``b2``             (1, K)  second-layer bias
``hidden_pre``     (N, H)  Z1 = X·W1 + b1
``hidden``         (N, H)  H = relu(Z1)
``scores``         (N, K)  S = H·W2 + b2
``log_probs``      (N, K)  log P, where row i of P is softmax(S[i, :])
``probs``          (N, K)  P
``onehot``         (N, K)  Y, Y[i, k] = 1 if k = y_i else 0
``dloss_d<name>``  same    ∂L/∂<name>, the shape of <name>
=================  ======  =================================================

Loss: L = −(1/N) Σ_i log P[i, y_i] + ½·reg·(ΣW1² + ΣW2²).

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

    X: Float[np.ndarray, "batch d_in"]
    hidden_pre: Float[np.ndarray, "batch hidden"]
    hidden: Float[np.ndarray, "batch hidden"]
    scores: Float[np.ndarray, "batch classes"]
    log_probs: Float[np.ndarray, "batch classes"]


def init_params(*, d_in: int, hidden: int, classes: int, rng: np.random.Generator) -> ParamDict:
    """Weights 0.01·N(0, 1) and zero biases, as in the forum code."""
    return {
        "W1": 0.01 * rng.standard_normal((d_in, hidden)),
        "b1": np.zeros((1, hidden)),
        "W2": 0.01 * rng.standard_normal((hidden, classes)),
        "b2": np.zeros((1, classes)),
    }


def forward(params: Params, X: Float[np.ndarray, "batch d_in"]) -> Activations:
    """Run the net on ``X`` and keep every intermediate array."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    hidden_pre = X @ W1 + b1  # Z1 = X·W1 + b1
    hidden = np.maximum(hidden_pre, 0.0)  # H = relu(Z1)
    scores = hidden @ W2 + b2  # S = H·W2 + b2
    log_probs = log_softmax(scores, axis=1)  # log P[i, :] = S[i, :] − log Σ_k exp S[i, k]
    return Activations(X, hidden_pre, hidden, scores, log_probs)


def loss(
    params: Params,
    X: Float[np.ndarray, "batch d_in"],
    y: Int[np.ndarray, " batch"],
    reg: float = 0.0,
) -> float:
    """Mean cross-entropy over the batch plus ½·reg·(ΣW1² + ΣW2²)."""
    W1, W2 = params["W1"], params["W2"]
    log_probs = forward(params, X).log_probs
    batch = X.shape[0]
    correct_log_probs = log_probs[np.arange(batch), y]  # log P[i, y_i]
    data_loss = -np.mean(correct_log_probs)  # −(1/N) Σ_i log P[i, y_i]
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
    batch, classes = scores.shape
    probs = np.exp(log_probs)  # P = softmax(S)
    onehot = np.eye(classes)[y]  # Y[i, k] = 1 if k = y_i else 0
    dloss_dscores = (probs - onehot) / batch  # ∂L/∂S = (P − Y)/N
    dloss_dW2 = hidden.T @ dloss_dscores + reg * W2  # ∂L/∂W2 = Hᵀ·∂L/∂S + reg·W2
    dloss_db2 = np.sum(dloss_dscores, axis=0, keepdims=True)  # ∂L/∂b2 = Σ_i ∂L/∂S[i, :]
    dloss_dhidden = dloss_dscores @ W2.T  # ∂L/∂H = ∂L/∂S·W2ᵀ
    dloss_dhidden_pre = dloss_dhidden * (hidden_pre > 0)  # ∂L/∂Z1 = ∂L/∂H ⊙ 1[Z1 > 0]
    dloss_dW1 = X.T @ dloss_dhidden_pre + reg * W1  # ∂L/∂W1 = Xᵀ·∂L/∂Z1 + reg·W1
    dloss_db1 = np.sum(dloss_dhidden_pre, axis=0, keepdims=True)  # ∂L/∂b1 = Σ_i ∂L/∂Z1[i, :]
    return {"W1": dloss_dW1, "b1": dloss_db1, "W2": dloss_dW2, "b2": dloss_db2}


def gradients(
    params: Params,
    X: Float[np.ndarray, "batch d_in"],
    y: Int[np.ndarray, " batch"],
    reg: float = 0.0,
) -> ParamDict:
    """∂L/∂θ for every parameter θ (same keys and shapes as ``params``)."""
    return backward(forward(params, X), y, params, reg)


def predict(params: Params, X: Float[np.ndarray, "batch d_in"]) -> Int[np.ndarray, " batch"]:
    """The class with the highest score, for each example."""
    scores = forward(params, X).scores
    labels: Int[np.ndarray, " batch"] = np.argmax(scores, axis=1)  # ŷ_i = argmax_k S[i, k]
    return labels
