"""Every net's hand-written gradients agree with central differences of its own loss.

The finite differences here are a deliberately plain loop, written independently of
gradcheck: perturb one entry by ±h, evaluate the loss, divide. Data are random with
nonzero biases and no point at the origin, and each test first asserts that no ReLU
pre-activation is within reach of a perturbation, so no kink can spoil the comparison.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests.reference_nets._problems import LAYOUTS, NETS, Array, Layout, NetName, random_problem

# h = 1e-6 in float64. The central difference (L(θ + h) − L(θ − h)) / 2h errs by
#   truncation  h²/6 · |L'''|       ≈ 1e-12 · |L'''|  (L''' is of order 1 to 10 here), and
#   rounding    ~ε · |L| / h        ≈ 2e-16 · |L| / 1e-6 ≈ 2e-10 · |L|  (|L| is at most ~10).
# Both are below 1e-8, so ATOL = 1e-7 leaves a margin of ten or more; RTOL = 1e-6 covers
# the rounding of the few large entries. A wrong formula is off by far more (see
# test_the_comparison_catches_a_missing_one_over_batch).
STEP = 1e-6
ATOL = 1e-7
RTOL = 1e-6

#: Small sizes, all different, so every entry can be probed. The sigmoid net uses the Code
#: Review's own dimensions (3 → 4 → 4 → 2, batch 5), plus one more batch size.
SIZES: dict[NetName, list[dict[str, int]]] = {
    "two_layer_relu": [
        {"batch": 7, "d_in": 3, "hidden": 5, "classes": 4},
        {"batch": 1, "d_in": 2, "hidden": 6, "classes": 3},
    ],
    "three_layer_sigmoid": [
        {"batch": 5, "d_in": 3, "hidden1": 4, "hidden2": 4, "d_out": 2},
        {"batch": 1, "d_in": 2, "hidden1": 5, "hidden2": 3, "d_out": 4},
    ],
    "linear_softmax": [
        {"batch": 6, "d_in": 2, "classes": 3},
        {"batch": 1, "d_in": 4, "classes": 2},
    ],
}


def central_differences(
    loss_of: Callable[[dict[str, Array]], float], params: dict[str, Array], step: float = STEP
) -> dict[str, Array]:
    """∂L/∂θ[index] ≈ (L(θ + h·e_index) − L(θ − h·e_index)) / 2h, for every entry."""
    numeric: dict[str, Array] = {}
    for name, value in params.items():
        estimate = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            shifted_up = value.copy()
            shifted_up[index] += step
            shifted_down = value.copy()
            shifted_down[index] -= step
            loss_up = loss_of({**params, name: shifted_up})
            loss_down = loss_of({**params, name: shifted_down})
            estimate[index] = (loss_up - loss_down) / (2 * step)
        numeric[name] = estimate
    return numeric


def assert_no_relu_near_its_kink(
    module: Any, params: dict[str, Array], X: Array, margin: float = 1e-3
) -> None:
    """Perturbing one weight by h moves a pre-activation by at most h·max|X| ≪ margin."""
    if hasattr(module.forward(params, X), "hidden_pre"):
        hidden_pre = module.forward(params, X).hidden_pre
        assert np.min(np.abs(hidden_pre)) > margin, "a ReLU sits near its kink: pick another seed"
    assert STEP * max(1.0, float(np.max(np.abs(X)))) < margin


CASES = [
    (net, layout, sizes, seed, reg)
    for net in NETS
    for layout in LAYOUTS
    for sizes in SIZES[net]
    for seed in (0, 1)
    for reg in ((0.0, 0.25) if net != "three_layer_sigmoid" else (0.0,))
]


@pytest.mark.parametrize(("net", "layout", "sizes", "seed", "reg"), CASES)
def test_gradients_match_central_differences(
    net: NetName, layout: Layout, sizes: dict[str, int], seed: int, reg: float
) -> None:
    problem = random_problem(net, sizes, seed, reg=reg)
    params = problem.params_in(layout)
    assert_no_relu_near_its_kink(problem.module(layout), params, problem.inputs_in(layout))

    analytic = problem.gradients(layout)
    numeric = central_differences(lambda p: problem.loss(layout, p), params)

    assert list(analytic) == list(params)
    for name in params:
        assert analytic[name].shape == params[name].shape, name
        np.testing.assert_allclose(
            analytic[name], numeric[name], rtol=RTOL, atol=ATOL, err_msg=name
        )


def test_the_comparison_catches_a_missing_one_over_batch() -> None:
    # The same comparison must fail for a gradient that forgot to divide by the batch:
    # otherwise passing above would mean nothing.
    problem = random_problem("two_layer_relu", SIZES["two_layer_relu"][0], seed=0)
    params = problem.params_in("row_major")
    batch = problem.sizes["batch"]
    wrong = {name: batch * grad for name, grad in problem.gradients("row_major").items()}
    numeric = central_differences(lambda p: problem.loss("row_major", p), params)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(wrong["W2"], numeric["W2"], rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------------------------------
# Verification with gradcheck itself: see test_with_gradcheck.py.
