"""What every layout module promises besides correct numbers: the keys and shapes of its
parameters and gradients, fresh output arrays, untouched inputs, the loss at a known point,
the L2 term, and predict = argmax of the scores."""

import numpy as np
import pytest

from tests.reference_nets._problems import (
    DIMENSIONS,
    LAYOUTS,
    NETS,
    Array,
    Layout,
    NetName,
    is_classifier,
    module,
    random_problem,
    row_major_shapes,
    to_layout,
)

SIZES: dict[NetName, dict[str, int]] = {
    "two_layer_relu": {"batch": 7, "d_in": 3, "hidden": 5, "classes": 4},
    "three_layer_sigmoid": {"batch": 5, "d_in": 3, "hidden1": 4, "hidden2": 6, "d_out": 2},
    "linear_softmax": {"batch": 6, "d_in": 2, "classes": 3},
}

ALL = [(net, layout) for net in NETS for layout in LAYOUTS]


def init_kwargs(net: NetName) -> dict[str, int]:
    return {name: SIZES[net][name] for name in DIMENSIONS[net][1:]}


def bitwise_copy(value: Array) -> tuple[tuple[int, ...], str, bytes]:
    return value.shape, value.dtype.str, value.tobytes()


@pytest.mark.parametrize(("net", "layout"), ALL)
def test_init_params_shapes_scale_and_zero_biases(net: NetName, layout: Layout) -> None:
    params = module(net, layout).init_params(**init_kwargs(net), rng=np.random.default_rng(0))
    expected = row_major_shapes(net, SIZES[net])
    assert list(params) == list(expected)
    for name, row_shape in expected.items():
        shape = row_shape if layout == "row_major" else row_shape[::-1]
        assert params[name].shape == shape, name
        assert params[name].dtype == np.float64
        if name.startswith("b"):
            assert not np.any(params[name]), name
        else:
            assert 0 < np.max(np.abs(params[name])) < 0.05, name  # 0.01·N(0, 1)


def test_init_params_weights_have_standard_deviation_0_01() -> None:
    params = module("two_layer_relu", "row_major").init_params(
        d_in=200, hidden=300, classes=2, rng=np.random.default_rng(0)
    )
    # 60 000 draws: the sample standard deviation is within 1% of 0.01 with overwhelming odds.
    assert abs(np.std(params["W1"]) - 0.01) < 1e-4


@pytest.mark.parametrize(("net", "layout"), ALL)
def test_gradients_are_fresh_arrays_shaped_like_their_parameters(
    net: NetName, layout: Layout
) -> None:
    problem = random_problem(net, SIZES[net], seed=0, reg=0.1)
    params = problem.params_in(layout)
    grads = problem.gradients(layout, params)
    assert list(grads) == list(params)
    for name, grad in grads.items():
        assert grad.shape == params[name].shape, name
        assert grad.dtype == np.float64, name
        for other in (*params.values(), problem.inputs_in(layout), problem.target_in(layout)):
            assert not np.shares_memory(grad, other), name


@pytest.mark.parametrize(("net", "layout"), ALL)
def test_no_function_modifies_its_inputs(net: NetName, layout: Layout) -> None:
    problem = random_problem(net, SIZES[net], seed=1, reg=0.1)
    layout_module = problem.module(layout)
    params, X, target = problem.data_in(layout)
    before = {name: bitwise_copy(value) for name, value in params.items()}
    before_X, before_target = bitwise_copy(X), bitwise_copy(target)

    activations = layout_module.forward(params, X)
    before_activations = [bitwise_copy(value) for value in activations]
    layout_module.loss(params, X, target, *problem.extra())
    layout_module.backward(activations, target, params, *problem.extra())
    layout_module.gradients(params, X, target, *problem.extra())
    if is_classifier(net):
        layout_module.predict(params, X)

    assert {name: bitwise_copy(value) for name, value in params.items()} == before
    assert bitwise_copy(X) == before_X
    assert bitwise_copy(target) == before_target
    assert [bitwise_copy(value) for value in activations] == before_activations


@pytest.mark.parametrize(("net", "layout"), ALL)
def test_backward_of_forward_is_gradients(net: NetName, layout: Layout) -> None:
    # The Code Review's calling shape: grads = backward(forward(params, X), targets, params).
    problem = random_problem(net, SIZES[net], seed=2, reg=0.1)
    layout_module = problem.module(layout)
    params, X, target = problem.data_in(layout)
    activations = layout_module.forward(params, X)
    from_backward = layout_module.backward(activations, target, params, *problem.extra())
    from_gradients = problem.gradients(layout)
    assert list(from_backward) == list(from_gradients)
    for name, value in from_gradients.items():
        np.testing.assert_array_equal(from_backward[name], value)


@pytest.mark.parametrize(
    ("net", "layout"), [(net, layout) for net in NETS if is_classifier(net) for layout in LAYOUTS]
)
def test_cross_entropy_at_zero_weights_is_log_classes(net: NetName, layout: Layout) -> None:
    # All scores equal: P = 1/K for every class, so L = log K, and the L2 term is 0.
    problem = random_problem(net, SIZES[net], seed=3, reg=0.5)
    zero = {name: np.zeros_like(value) for name, value in problem.params_in(layout).items()}
    classes = SIZES[net]["classes"]
    np.testing.assert_allclose(problem.loss(layout, zero), np.log(classes), rtol=1e-15)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_squared_loss_at_zero_weights(layout: Layout) -> None:
    # Zero weights: hidden units are σ(b) and the prediction is b3 for every example, so
    # L = (1/N) Σ_i ½‖b3 − t_i‖².
    problem = random_problem("three_layer_sigmoid", SIZES["three_layer_sigmoid"], seed=4)
    params = {
        name: value if name.startswith("b") else np.zeros_like(value)
        for name, value in problem.params.items()
    }
    b3_row = params["b3"][0]
    by_hand = np.mean([0.5 * np.sum((b3_row - t) ** 2) for t in problem.target])
    in_layout = {name: to_layout(value, layout) for name, value in params.items()}
    np.testing.assert_allclose(problem.loss(layout, in_layout), by_hand, rtol=1e-14)


@pytest.mark.parametrize(
    ("net", "layout"), [(net, layout) for net in NETS if is_classifier(net) for layout in LAYOUTS]
)
def test_l2_term_adds_half_reg_sum_of_squares_and_reg_times_weights(
    net: NetName, layout: Layout
) -> None:
    reg = 0.37
    with_reg = random_problem(net, SIZES[net], seed=5, reg=reg)
    without = random_problem(net, SIZES[net], seed=5, reg=0.0)
    weights = [name for name in with_reg.params if name.startswith("W")]
    sum_of_squares = sum(float(np.sum(with_reg.params[name] ** 2)) for name in weights)
    np.testing.assert_allclose(
        with_reg.loss(layout) - without.loss(layout), 0.5 * reg * sum_of_squares, rtol=1e-12
    )
    grads_with, grads_without = with_reg.gradients(layout), without.gradients(layout)
    params = with_reg.params_in(layout)
    for name in params:
        expected = reg * params[name] if name in weights else np.zeros_like(params[name])
        np.testing.assert_allclose(
            grads_with[name] - grads_without[name], expected, rtol=1e-12, atol=1e-15
        )


@pytest.mark.parametrize(
    ("net", "layout"), [(net, layout) for net in NETS if is_classifier(net) for layout in LAYOUTS]
)
def test_predict_is_the_argmax_of_the_scores(net: NetName, layout: Layout) -> None:
    problem = random_problem(net, {**SIZES[net], "batch": 40}, seed=6)
    layout_module = problem.module(layout)
    params, X = problem.params_in(layout), problem.inputs_in(layout)
    labels = layout_module.predict(params, X)
    scores = layout_module.forward(params, X).scores
    scores_rows = scores if layout == "row_major" else scores.T  # one example per row
    assert labels.shape == (40,)
    assert np.issubdtype(labels.dtype, np.integer)
    np.testing.assert_array_equal(labels, np.argmax(scores_rows, axis=1))
    assert len(np.unique(labels)) > 1  # a constant prediction would test little
