"""Three-layer sigmoid net with squared loss, examples in rows.

Layout: row-major, one example per row. Layers multiply from the right (X·W1), and sums
over the batch run along axis 0. The twin module
:mod:`reference_nets.three_layer_sigmoid.column_major` (the Code Review's layout) takes the
same steps in the same order under the same names; only the transposes and the summation
axis differ.

Shapes, with N = batch, D = d_in, H1 = hidden1, H2 = hidden2, O = d_out:

=================  ========  ===============================================
array              shape     what it holds
=================  ========  ===============================================
``X``              (N, D)    inputs, one example per row
``targets``        (N, O)    targets, one example per row
``W1``             (D, H1)   first-layer weights
``b1``             (1, H1)   first-layer bias (a row)
``W2``             (H1, H2)  second-layer weights
``b2``             (1, H2)   second-layer bias
``W3``             (H2, O)   output-layer weights
``b3``             (1, O)    output-layer bias
``hidden1``        (N, H1)   H1 = σ(X·W1 + b1)
``hidden2``        (N, H2)   H2 = σ(H1·W2 + b2)
``predictions``    (N, O)    P = H2·W3 + b3 (the output layer is linear)
``residuals``      (N, O)    R = P − T
``squared_norms``  (N,)      ‖R[i, :]‖², one per example
``dloss_d<name>``  same      ∂L/∂<name>, the shape of <name>
=================  ========  ===============================================

``dloss_dhidden1_pre`` and ``dloss_dhidden2_pre`` are ∂L/∂Z1 and ∂L/∂Z2 for the
pre-activations Z1 = X·W1 + b1 and Z2 = H1·W2 + b2, shaped like ``hidden1`` and ``hidden2``
(the forward pass does not keep Z1 and Z2 themselves).

Loss: L = (1/N) Σ_i ½‖P[i, :] − T[i, :]‖².

The sigmoid's derivative is written through its output, σ'(Z) = σ(Z)(1 − σ(Z)) = H ⊙ (1 − H),
so the backward pass needs only the activations, not the pre-activations.
"""

from typing import NamedTuple

import numpy as np
from jaxtyping import Float

from reference_nets._numerics import sigmoid
from reference_nets._types import ParamDict, Params

__all__ = ["Activations", "backward", "forward", "gradients", "init_params", "loss"]


class Activations(NamedTuple):
    """The forward pass's intermediate arrays, which the backward pass reads."""

    X: Float[np.ndarray, "batch d_in"]
    hidden1: Float[np.ndarray, "batch hidden1"]
    hidden2: Float[np.ndarray, "batch hidden2"]
    predictions: Float[np.ndarray, "batch d_out"]


def init_params(
    *, d_in: int, hidden1: int, hidden2: int, d_out: int, rng: np.random.Generator
) -> ParamDict:
    """Weights 0.01·N(0, 1) and zero biases, as in the Code Review."""
    return {
        "W1": 0.01 * rng.standard_normal((d_in, hidden1)),
        "b1": np.zeros((1, hidden1)),
        "W2": 0.01 * rng.standard_normal((hidden1, hidden2)),
        "b2": np.zeros((1, hidden2)),
        "W3": 0.01 * rng.standard_normal((hidden2, d_out)),
        "b3": np.zeros((1, d_out)),
    }


def forward(params: Params, X: Float[np.ndarray, "batch d_in"]) -> Activations:
    """Run the net on ``X`` and keep every intermediate array."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    W3, b3 = params["W3"], params["b3"]
    hidden1 = sigmoid(X @ W1 + b1)  # H1 = σ(X·W1 + b1)
    hidden2 = sigmoid(hidden1 @ W2 + b2)  # H2 = σ(H1·W2 + b2)
    predictions = hidden2 @ W3 + b3  # P = H2·W3 + b3
    return Activations(X, hidden1, hidden2, predictions)


def loss(
    params: Params,
    X: Float[np.ndarray, "batch d_in"],
    targets: Float[np.ndarray, "batch d_out"],
) -> float:
    """Mean over the batch of ½‖prediction − target‖²."""
    predictions = forward(params, X).predictions
    residuals = predictions - targets  # R = P − T
    squared_norms = np.sum(residuals * residuals, axis=1)  # ‖R[i, :]‖² for each example i
    return float(0.5 * np.mean(squared_norms))  # L = (1/N) Σ_i ½‖R[i, :]‖²


def backward(
    activations: Activations,
    targets: Float[np.ndarray, "batch d_out"],
    params: Params,
) -> ParamDict:
    """∂L/∂θ for every parameter θ, from the arrays a forward pass kept."""
    X, hidden1, hidden2, predictions = activations
    W2, W3 = params["W2"], params["W3"]
    batch = X.shape[0]
    dloss_dpredictions = (predictions - targets) / batch  # ∂L/∂P = (P − T)/N
    dloss_dW3 = hidden2.T @ dloss_dpredictions  # ∂L/∂W3 = H2ᵀ·∂L/∂P
    dloss_db3 = np.sum(dloss_dpredictions, axis=0, keepdims=True)  # ∂L/∂b3 = Σ_i ∂L/∂P[i, :]
    dloss_dhidden2 = dloss_dpredictions @ W3.T  # ∂L/∂H2 = ∂L/∂P·W3ᵀ
    dloss_dhidden2_pre = dloss_dhidden2 * hidden2 * (1.0 - hidden2)  # ∂L/∂Z2 = ∂L/∂H2 ⊙ σ'(Z2)
    dloss_dW2 = hidden1.T @ dloss_dhidden2_pre  # ∂L/∂W2 = H1ᵀ·∂L/∂Z2
    dloss_db2 = np.sum(dloss_dhidden2_pre, axis=0, keepdims=True)  # ∂L/∂b2 = Σ_i ∂L/∂Z2[i, :]
    dloss_dhidden1 = dloss_dhidden2_pre @ W2.T  # ∂L/∂H1 = ∂L/∂Z2·W2ᵀ
    dloss_dhidden1_pre = dloss_dhidden1 * hidden1 * (1.0 - hidden1)  # ∂L/∂Z1 = ∂L/∂H1 ⊙ σ'(Z1)
    dloss_dW1 = X.T @ dloss_dhidden1_pre  # ∂L/∂W1 = Xᵀ·∂L/∂Z1
    dloss_db1 = np.sum(dloss_dhidden1_pre, axis=0, keepdims=True)  # ∂L/∂b1 = Σ_i ∂L/∂Z1[i, :]
    return {
        "W1": dloss_dW1,
        "b1": dloss_db1,
        "W2": dloss_dW2,
        "b2": dloss_db2,
        "W3": dloss_dW3,
        "b3": dloss_db3,
    }


def gradients(
    params: Params,
    X: Float[np.ndarray, "batch d_in"],
    targets: Float[np.ndarray, "batch d_out"],
) -> ParamDict:
    """∂L/∂θ for every parameter θ (same keys and shapes as ``params``)."""
    return backward(forward(params, X), targets, params)
