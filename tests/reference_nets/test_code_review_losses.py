"""The Code Review's two revisions of its squared loss (column-major, (d_out, batch) arrays).

Revision B, the norm over axis 0, is per example: it is the net's loss, and its gradient is
the Code Review's derivative (P − T)/batch. Revision A, the norm over axis 1, runs over the
batch and then averages over the outputs: it sums the same squared residuals but divides
by d_out instead of batch, so it is exactly batch/d_out times the loss and its gradient is
(P − T)/d_out.
"""

from collections.abc import Callable

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_nets._code_review_losses import squared_loss_norm_axis0, squared_loss_norm_axis1
from reference_nets.three_layer_sigmoid import column_major
from tests.reference_nets._problems import Array, random_problem

# The two revisions add up the same squares in different orders (per example, or per
# output); they agree to a few ulps of the sum, far below 1e-12 relative.
RTOL = 1e-12

# The Code Review's own dimensions: 3 → 4 → 4 → 2, batch 5.
CODE_REVIEW_SIZES = {"batch": 5, "d_in": 3, "hidden1": 4, "hidden2": 4, "d_out": 2}


def predictions_and_targets(sizes: dict[str, int], seed: int) -> tuple[Array, Array, float]:
    problem = random_problem("three_layer_sigmoid", sizes, seed)
    params = problem.params_in("column_major")
    X, targets = problem.inputs_in("column_major"), problem.target_in("column_major")
    predictions = column_major.forward(params, X).predictions
    return predictions, targets, column_major.loss(params, X, targets)


def derivative_by_central_differences(
    loss_of_predictions: Callable[[Array], float], predictions: Array
) -> Array:
    step = 1e-6
    estimate = np.zeros_like(predictions)
    for index in np.ndindex(predictions.shape):
        up, down = predictions.copy(), predictions.copy()
        up[index] += step
        down[index] -= step
        estimate[index] = (loss_of_predictions(up) - loss_of_predictions(down)) / (2 * step)
    return estimate


sizes_with_batch_and_outputs = st.fixed_dictionaries(
    {
        "batch": st.integers(1, 9),
        "d_in": st.integers(1, 4),
        "hidden1": st.integers(1, 4),
        "hidden2": st.integers(1, 4),
        "d_out": st.integers(1, 9),
    }
)


@settings(max_examples=40, deadline=None)
@given(sizes=sizes_with_batch_and_outputs, seed=st.integers(0, 2**32 - 1))
def test_axis0_is_the_nets_loss(sizes: dict[str, int], seed: int) -> None:
    predictions, targets, net_loss = predictions_and_targets(sizes, seed)
    np.testing.assert_allclose(squared_loss_norm_axis0(predictions, targets), net_loss, rtol=RTOL)


@settings(max_examples=40, deadline=None)
@given(sizes=sizes_with_batch_and_outputs, seed=st.integers(0, 2**32 - 1))
def test_axis1_is_the_loss_times_batch_over_d_out(sizes: dict[str, int], seed: int) -> None:
    # axis 1: (1/O) Σ_k ½ Σ_i R[k, i]²;  axis 0: (1/N) Σ_i ½ Σ_k R[k, i]².
    # Same double sum, so axis1 / axis0 = N / O exactly (up to rounding).
    predictions, targets, _ = predictions_and_targets(sizes, seed)
    batch, d_out = sizes["batch"], sizes["d_out"]
    expected = squared_loss_norm_axis0(predictions, targets) * batch / d_out
    np.testing.assert_allclose(squared_loss_norm_axis1(predictions, targets), expected, rtol=RTOL)


def test_only_axis0_agrees_with_the_code_reviews_derivative() -> None:
    predictions, targets, _ = predictions_and_targets(CODE_REVIEW_SIZES, seed=0)
    batch, d_out = CODE_REVIEW_SIZES["batch"], CODE_REVIEW_SIZES["d_out"]
    code_review_derivative = (predictions - targets) / targets.shape[-1]  # (P − T)/batch

    def loss_axis0(p: Array) -> float:
        return squared_loss_norm_axis0(p, targets)

    def loss_axis1(p: Array) -> float:
        return squared_loss_norm_axis1(p, targets)

    derivative_axis0 = derivative_by_central_differences(loss_axis0, predictions)
    derivative_axis1 = derivative_by_central_differences(loss_axis1, predictions)
    # Central differences with h = 1e-6 of a quadratic: no truncation error, rounding
    # ~1e-16·|L|/1e-6 ≈ 1e-9 here; 1e-7 leaves a wide margin.
    np.testing.assert_allclose(derivative_axis0, code_review_derivative, atol=1e-7)
    np.testing.assert_allclose(derivative_axis1, (predictions - targets) / d_out, atol=1e-7)
    # With batch 5 and d_out 2 the wrong revision's gradient is 2.5 times too large.
    ratio = derivative_axis1 / code_review_derivative
    np.testing.assert_allclose(ratio, batch / d_out, rtol=1e-6)


def test_the_slip_hides_when_batch_equals_d_out() -> None:
    # Why the revisions are easy to confuse: with a square (d_out, batch) array they agree.
    sizes = {**CODE_REVIEW_SIZES, "batch": 2}
    predictions, targets, _ = predictions_and_targets(sizes, seed=1)
    np.testing.assert_allclose(
        squared_loss_norm_axis1(predictions, targets),
        squared_loss_norm_axis0(predictions, targets),
        rtol=RTOL,
    )
