"""The two revisions of the Code Review's squared loss, for column-major arrays.

The Code Review's net (source 003) keeps examples in columns: predictions and targets are
(d_out, batch). Its ``squared_loss`` went through two revisions that differ in one
argument, the axis of ``np.linalg.norm``; its derivative stayed ``(P − T) / batch``.

- :func:`squared_loss_norm_axis0` takes the norm down each column, i.e. per example, then
  averages over the batch: L = (1/N) Σ_i ½‖P[:, i] − T[:, i]‖². Its gradient is
  (P − T)/N, so it agrees with the derivative. It equals
  ``reference_nets.three_layer_sigmoid.column_major.loss``.
- :func:`squared_loss_norm_axis1` takes the norm along each row, i.e. over the batch, then
  averages over the O = d_out outputs: L₁ = (1/O) Σ_k ½‖P[k, :] − T[k, :]‖². Both sum all
  squared residuals once, so L₁ = (N/O)·L, and its gradient is (P − T)/O: it disagrees
  with the derivative by the factor N/O, and only when batch = d_out does the slip go
  unnoticed.

These are kept as a worked example of a loss/derivative mismatch for the documentation,
the tests and the demo (which plants the first revision); the nets themselves do not use
them.
"""

import numpy as np
from jaxtyping import Float


def squared_loss_norm_axis0(
    predictions: Float[np.ndarray, "d_out batch"], targets: Float[np.ndarray, "d_out batch"]
) -> float:
    """Revision B (right): mean over the batch of ½‖p_i − t_i‖², the norm over axis 0."""
    per_example_norms = np.linalg.norm(predictions - targets, ord=2, axis=0)  # ‖P[:, i] − T[:, i]‖
    return float(np.mean(0.5 * per_example_norms**2))  # (1/N) Σ_i ½‖P[:, i] − T[:, i]‖²


def squared_loss_norm_axis1(
    predictions: Float[np.ndarray, "d_out batch"], targets: Float[np.ndarray, "d_out batch"]
) -> float:
    """Revision A (wrong): the norm over axis 1 runs over the batch; the mean is over outputs."""
    per_output_norms = np.linalg.norm(predictions - targets, ord=2, axis=1)  # ‖P[k, :] − T[k, :]‖
    return float(np.mean(0.5 * per_output_norms**2))  # (1/O) Σ_k ½‖P[k, :] − T[k, :]‖²
