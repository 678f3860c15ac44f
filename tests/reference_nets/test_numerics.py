"""Extreme inputs: scores of ±1e3 and sigmoid arguments of ±1000 give exact, finite results
with no floating-point warning.

Every check runs with overflow, division by zero and invalid operations raising
FloatingPointError, and with every warning turned into an error. Underflow is left at
NumPy's default (ignored): e^(−1000) rounding to 0 is the correctly rounded answer, and
it is what makes σ(−1000) exactly 0 and a probability of e^(−2000) exactly 0.
"""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from reference_nets import linear_softmax
from reference_nets._numerics import log_softmax, sigmoid
from tests.reference_nets._problems import LAYOUTS, Layout, module, random_problem, to_layout


@contextmanager
def strict_floating_point() -> Iterator[None]:
    with (
        np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("error")
        yield


def test_the_naive_formulas_would_overflow_here() -> None:
    # The inputs below are extreme enough to matter: the seeds' np.exp(scores) and
    # 1 / (1 + np.exp(-z)) overflow on them.
    with strict_floating_point(), pytest.raises(FloatingPointError):
        np.exp(np.array([1000.0]))
    with strict_floating_point(), pytest.raises(FloatingPointError):
        1 / (1 + np.exp(-np.array([-1000.0])))


def test_log_softmax_of_huge_scores_is_exact() -> None:
    scores = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 1000.0]])
    with strict_floating_point():
        log_probs = log_softmax(scores, axis=1)
        by_columns = log_softmax(np.ascontiguousarray(scores.T), axis=0)
    # log(e^1000 / (e^1000 + 1 + e^-1000)) = −log(1 + e^−1000 + e^−2000) rounds to 0.
    # The second row: log(e^1000 / 2e^1000) = −log 2, and log(e^−1000 / 2e^1000) = −2000 − log 2.
    log2 = np.log(2.0)
    expected = np.array([[0.0, -1000.0, -2000.0], [-2000.0 - log2, -log2, -log2]])
    np.testing.assert_allclose(log_probs, expected, rtol=1e-15)
    np.testing.assert_array_equal(by_columns, log_probs.T)


def test_log_softmax_matches_the_textbook_formula_on_moderate_scores() -> None:
    scores = np.random.default_rng(0).normal(scale=5.0, size=(6, 4))
    textbook = np.log(np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True))
    np.testing.assert_allclose(log_softmax(scores, axis=1), textbook, rtol=1e-13, atol=1e-13)


def test_sigmoid_at_the_extremes_is_exact() -> None:
    z = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    with strict_floating_point():
        values = sigmoid(z)
    assert values[0] == 0.0
    assert values[2] == 0.5
    assert values[4] == 1.0
    np.testing.assert_allclose(values[1], np.exp(-40.0), rtol=1e-15)
    assert values[3] == 1.0  # 1 − e^−40 rounds to 1 in float64


def test_sigmoid_matches_the_textbook_formula_and_its_symmetry() -> None:
    z = np.linspace(-30.0, 30.0, 601)
    textbook = 1.0 / (1.0 + np.exp(-z))
    np.testing.assert_allclose(sigmoid(z), textbook, rtol=1e-15, atol=0)
    # 1 − σ(z) inherits the rounding of σ(z) ≈ 1, up to half an ulp of 1 (1.1e-16).
    np.testing.assert_allclose(sigmoid(-z), 1.0 - sigmoid(z), rtol=1e-15, atol=2.3e-16)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_two_layer_relu_with_scores_of_1e3(layout: Layout) -> None:
    sizes = {"batch": 6, "d_in": 3, "hidden": 5, "classes": 4}
    problem = random_problem("two_layer_relu", sizes, seed=0, reg=1e-3)
    params = {name: value.copy() for name, value in problem.params.items()}
    params["W2"] *= 1e3 / np.max(np.abs(problem.params["W2"]))  # scores of order 1e3
    net = module("two_layer_relu", layout)
    X, y = problem.inputs_in(layout), problem.target_in(layout)
    in_layout = {name: to_layout(value, layout) for name, value in params.items()}
    with strict_floating_point():
        scores = net.forward(in_layout, X).scores
        value = net.loss(in_layout, X, y, 1e-3)
        grads = net.gradients(in_layout, X, y, 1e-3)
    assert np.max(np.abs(scores)) > 500
    assert np.isfinite(value)
    assert all(np.all(np.isfinite(grad)) for grad in grads.values())


@pytest.mark.parametrize("layout", LAYOUTS)
def test_linear_softmax_with_scores_of_1e3(layout: Layout) -> None:
    net = linear_softmax.row_major if layout == "row_major" else linear_softmax.column_major
    X_rows = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    y = np.array([1, 0, 2])
    W_rows = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]])
    params = {"W": to_layout(W_rows, layout), "b": to_layout(np.zeros((1, 3)), layout)}
    X = to_layout(X_rows, layout)
    with strict_floating_point():
        value = net.loss(params, X, y)
        grads = net.gradients(params, X, y)
    # Scores: [1000, 0, −1000], [0, 1000, 0], [−1000, −1000, 1000]; the labels' log P are
    # −1000, −1000 and 0 (to rounding), so the mean cross-entropy is 2000/3.
    np.testing.assert_allclose(value, 2000.0 / 3.0, rtol=1e-15)
    assert all(np.all(np.isfinite(grad)) for grad in grads.values())


@pytest.mark.parametrize("layout", LAYOUTS)
def test_three_layer_sigmoid_with_preactivations_of_1000(layout: Layout) -> None:
    sizes = {"batch": 4, "d_in": 3, "hidden1": 5, "hidden2": 2, "d_out": 3}
    problem = random_problem("three_layer_sigmoid", sizes, seed=1)
    params = {name: value.copy() for name, value in problem.params.items()}
    params["W1"] *= 1e4  # first-layer pre-activations in the thousands, of both signs
    params["W2"] *= 1e4
    first_preactivations = problem.X @ params["W1"] + params["b1"]
    assert first_preactivations.max() > 1000
    assert first_preactivations.min() < -1000
    net = module("three_layer_sigmoid", layout)
    X, targets = problem.inputs_in(layout), problem.target_in(layout)
    in_layout = {name: to_layout(value, layout) for name, value in params.items()}
    with strict_floating_point():
        activations = net.forward(in_layout, X)
        value = net.loss(in_layout, X, targets)
        grads = net.gradients(in_layout, X, targets)
    # Saturated units are exactly 0 or 1 (and then pass no gradient back).
    assert np.any(activations.hidden1 == 0.0)
    assert np.any(activations.hidden1 == 1.0)
    assert np.isfinite(value)
    assert all(np.all(np.isfinite(grad)) for grad in grads.values())
