"""Three-layer sigmoid net with squared loss, examples in columns (the Code Review's layout).

Layout: column-major, one example per column. Layers multiply from the left (W1·X), and
sums over the batch run along axis 1. The twin module
:mod:`reference_nets.three_layer_sigmoid.row_major` takes the same steps in the same order
under the same names; only the transposes and the summation axis differ.

Shapes, with N = batch, D = d_in, H1 = hidden1, H2 = hidden2, O = d_out:

=================  ========  ===============================================
array              shape     what it holds
=================  ========  ===============================================
``X``              (D, N)    inputs, one example per column
``targets``        (O, N)    targets, one example per column
``W1``             (H1, D)   first-layer weights
``b1``             (H1, 1)   first-layer bias (a column)
``W2``             (H2, H1)  second-layer weights
``b2``             (H2, 1)   second-layer bias
``W3``             (O, H2)   output-layer weights
``b3``             (O, 1)    output-layer bias
``hidden1``        (H1, N)   H1 = σ(W1·X + b1)
``hidden2``        (H2, N)   H2 = σ(W2·H1 + b2)
``predictions``    (O, N)    P = W3·H2 + b3 (the output layer is linear)
``residuals``      (O, N)    R = P − T
``squared_norms``  (N,)      ‖R[:, i]‖², one per example
``dloss_d<name>``  same      ∂L/∂<name>, the shape of <name>
=================  ========  ===============================================

``dloss_dhidden1_pre`` and ``dloss_dhidden2_pre`` are ∂L/∂Z1 and ∂L/∂Z2 for the
pre-activations Z1 = W1·X + b1 and Z2 = W2·H1 + b2, shaped like ``hidden1`` and ``hidden2``
(the forward pass does not keep Z1 and Z2 themselves).

Loss: L = (1/N) Σ_i ½‖P[:, i] − T[:, i]‖². The per-example norm runs down each column,
over axis 0; taking it along axis 1 instead (over the batch) is the Code Review's first
revision, which disagrees with its own derivative (see
``reference_nets._code_review_losses``).

The sigmoid's derivative is written through its output, σ'(Z) = σ(Z)(1 − σ(Z)) = H ⊙ (1 − H),
so :func:`backward` needs only the activations, as in the Code Review's
``backward(activations, targets, parameters)``.
"""

from typing import NamedTuple

import numpy as np
from jaxtyping import Float

from reference_nets._numerics import sigmoid
from reference_nets._types import ParamDict, Params

__all__ = ["Activations", "backward", "forward", "gradients", "init_params", "loss"]


class Activations(NamedTuple):
    """The forward pass's intermediate arrays, which the backward pass reads."""

    X: Float[np.ndarray, "d_in batch"]
    hidden1: Float[np.ndarray, "hidden1 batch"]
    hidden2: Float[np.ndarray, "hidden2 batch"]
    predictions: Float[np.ndarray, "d_out batch"]


def init_params(
    *, d_in: int, hidden1: int, hidden2: int, d_out: int, rng: np.random.Generator
) -> ParamDict:
    """Weights 0.01·N(0, 1) and zero biases, as in the Code Review.

    The weights are drawn in the row-major shape and transposed, so the same ``rng`` state
    gives the same network as ``row_major.init_params``, transposed.
    """
    return {
        "W1": 0.01 * rng.standard_normal((d_in, hidden1)).T,
        "b1": np.zeros((hidden1, 1)),
        "W2": 0.01 * rng.standard_normal((hidden1, hidden2)).T,
        "b2": np.zeros((hidden2, 1)),
        "W3": 0.01 * rng.standard_normal((hidden2, d_out)).T,
        "b3": np.zeros((d_out, 1)),
    }


def forward(params: Params, X: Float[np.ndarray, "d_in batch"]) -> Activations:
    """Run the net on ``X`` and keep every intermediate array."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    W3, b3 = params["W3"], params["b3"]
    hidden1 = sigmoid(W1 @ X + b1)  # H1 = σ(W1·X + b1)
    hidden2 = sigmoid(W2 @ hidden1 + b2)  # H2 = σ(W2·H1 + b2)
    predictions = W3 @ hidden2 + b3  # P = W3·H2 + b3
    return Activations(X, hidden1, hidden2, predictions)


def loss(
    params: Params,
    X: Float[np.ndarray, "d_in batch"],
    targets: Float[np.ndarray, "d_out batch"],
) -> float:
    """Mean over the batch of ½‖prediction − target‖²."""
    predictions = forward(params, X).predictions
    residuals = predictions - targets  # R = P − T
    squared_norms = np.sum(residuals * residuals, axis=0)  # ‖R[:, i]‖² for each example i
    return float(0.5 * np.mean(squared_norms))  # L = (1/N) Σ_i ½‖R[:, i]‖²


def backward(
    activations: Activations,
    targets: Float[np.ndarray, "d_out batch"],
    params: Params,
) -> ParamDict:
    """∂L/∂θ for every parameter θ, from the arrays a forward pass kept."""
    X, hidden1, hidden2, predictions = activations
    W2, W3 = params["W2"], params["W3"]
    batch = X.shape[1]
    dloss_dpredictions = (predictions - targets) / batch  # ∂L/∂P = (P − T)/N
    dloss_dW3 = dloss_dpredictions @ hidden2.T  # ∂L/∂W3 = ∂L/∂P·H2ᵀ
    dloss_db3 = np.sum(dloss_dpredictions, axis=1, keepdims=True)  # ∂L/∂b3 = Σ_i ∂L/∂P[:, i]
    dloss_dhidden2 = W3.T @ dloss_dpredictions  # ∂L/∂H2 = W3ᵀ·∂L/∂P
    dloss_dhidden2_pre = dloss_dhidden2 * hidden2 * (1.0 - hidden2)  # ∂L/∂Z2 = ∂L/∂H2 ⊙ σ'(Z2)
    dloss_dW2 = dloss_dhidden2_pre @ hidden1.T  # ∂L/∂W2 = ∂L/∂Z2·H1ᵀ
    dloss_db2 = np.sum(dloss_dhidden2_pre, axis=1, keepdims=True)  # ∂L/∂b2 = Σ_i ∂L/∂Z2[:, i]
    dloss_dhidden1 = W2.T @ dloss_dhidden2_pre  # ∂L/∂H1 = W2ᵀ·∂L/∂Z2
    dloss_dhidden1_pre = dloss_dhidden1 * hidden1 * (1.0 - hidden1)  # ∂L/∂Z1 = ∂L/∂H1 ⊙ σ'(Z1)
    dloss_dW1 = dloss_dhidden1_pre @ X.T  # ∂L/∂W1 = ∂L/∂Z1·Xᵀ
    dloss_db1 = np.sum(dloss_dhidden1_pre, axis=1, keepdims=True)  # ∂L/∂b1 = Σ_i ∂L/∂Z1[:, i]
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
    X: Float[np.ndarray, "d_in batch"],
    targets: Float[np.ndarray, "d_out batch"],
) -> ParamDict:
    """∂L/∂θ for every parameter θ (same keys and shapes as ``params``)."""
    return backward(forward(params, X), targets, params)
