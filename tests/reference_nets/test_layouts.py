"""The two layouts of every net are the same net: transposing the data and the weights of
one gives the other's loss, gradients (transposed), activations and predictions.

Sizes are drawn distinct per dimension, so a gradient transposed by mistake, or a sum over
the wrong axis, changes a shape or a value instead of hiding behind a square array.
"""

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.reference_nets._problems import (
    DIMENSIONS,
    NETS,
    NetName,
    module,
    random_problem,
    to_layout,
)

# Layout agreement is to rounding: the two layouts multiply the same numbers in transposed
# products, which BLAS may sum in a different order. Each value passes through a handful of
# products and sums, so the two differ by a few ulps, far below 1e-12 (relative, and
# absolute for entries near zero, since every value here is of order 1).
RTOL = ATOL = 1e-12


def distinct_sizes(net: NetName) -> st.SearchStrategy[dict[str, int]]:
    """Sizes from 1 to 9, all different; the classifiers get at least 2 classes."""
    names = DIMENSIONS[net]
    return (
        st.lists(st.integers(1, 9), min_size=len(names), max_size=len(names), unique=True)
        .map(lambda values: dict(zip(names, values, strict=True)))
        .filter(lambda sizes: sizes.get("classes", 2) >= 2)
    )


def check_layouts_agree(net: NetName, sizes: dict[str, int], seed: int, reg: float) -> None:
    problem = random_problem(net, sizes, seed, reg=reg)
    row = problem.module("row_major")
    column = problem.module("column_major")

    row_loss = problem.loss("row_major")
    column_loss = problem.loss("column_major")
    np.testing.assert_allclose(column_loss, row_loss, rtol=RTOL, atol=ATOL)

    row_grads = problem.gradients("row_major")
    column_grads = problem.gradients("column_major")
    assert list(column_grads) == list(row_grads) == list(problem.params)
    for name, row_grad in row_grads.items():
        assert column_grads[name].shape == row_grad.T.shape, name
        np.testing.assert_allclose(column_grads[name], row_grad.T, rtol=RTOL, atol=ATOL)

    row_acts = row.forward(problem.params_in("row_major"), problem.inputs_in("row_major"))
    column_acts = column.forward(
        problem.params_in("column_major"), problem.inputs_in("column_major")
    )
    assert row_acts._fields == column_acts._fields
    for field, row_value, column_value in zip(row_acts._fields, row_acts, column_acts, strict=True):
        assert column_value.shape == row_value.T.shape, field
        np.testing.assert_allclose(column_value, row_value.T, rtol=RTOL, atol=ATOL)

    if hasattr(row, "predict"):
        row_labels = row.predict(problem.params_in("row_major"), problem.inputs_in("row_major"))
        column_labels = column.predict(
            problem.params_in("column_major"), problem.inputs_in("column_major")
        )
        np.testing.assert_array_equal(column_labels, row_labels)


@settings(max_examples=40, deadline=None)
@given(sizes=distinct_sizes("two_layer_relu"), seed=st.integers(0, 2**32 - 1))
@example(sizes={"batch": 1, "d_in": 2, "hidden": 3, "classes": 4}, seed=0)
def test_two_layer_relu_layouts_agree(sizes: dict[str, int], seed: int) -> None:
    check_layouts_agree("two_layer_relu", sizes, seed, reg=0.0)
    check_layouts_agree("two_layer_relu", sizes, seed, reg=0.3)


@settings(max_examples=40, deadline=None)
@given(sizes=distinct_sizes("three_layer_sigmoid"), seed=st.integers(0, 2**32 - 1))
@example(sizes={"batch": 1, "d_in": 3, "hidden1": 4, "hidden2": 5, "d_out": 2}, seed=0)
def test_three_layer_sigmoid_layouts_agree(sizes: dict[str, int], seed: int) -> None:
    check_layouts_agree("three_layer_sigmoid", sizes, seed, reg=0.0)


@settings(max_examples=40, deadline=None)
@given(sizes=distinct_sizes("linear_softmax"), seed=st.integers(0, 2**32 - 1))
@example(sizes={"batch": 1, "d_in": 2, "classes": 3}, seed=0)
def test_linear_softmax_layouts_agree(sizes: dict[str, int], seed: int) -> None:
    check_layouts_agree("linear_softmax", sizes, seed, reg=0.0)
    check_layouts_agree("linear_softmax", sizes, seed, reg=0.3)


def test_same_seed_gives_the_same_start_in_both_layouts() -> None:
    # init_params draws column-major weights in the row-major shape and transposes them.
    sizes = {"d_in": 3, "hidden": 5, "hidden1": 5, "hidden2": 4, "d_out": 2, "classes": 6}
    for net in NETS:
        kwargs = {name: sizes[name] for name in DIMENSIONS[net][1:]}
        row_params = module(net, "row_major").init_params(**kwargs, rng=np.random.default_rng(7))
        column_params = module(net, "column_major").init_params(
            **kwargs, rng=np.random.default_rng(7)
        )
        assert list(column_params) == list(row_params)
        for name, value in row_params.items():
            np.testing.assert_array_equal(column_params[name], to_layout(value, "column_major"))
