"""The jaxtyping shape annotations are true: every public function, wrapped in
``jaxtyped(typechecker=beartype)``, accepts what the nets really pass and returns what they
really return, the Activations fields agree on their named sizes, and the wrappers do
reject a shape mix-up (so the passing calls are not vacuous)."""

import typing
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pytest
from beartype import beartype
from jaxtyping import TypeCheckError, jaxtyped

from reference_nets import _code_review_losses, _numerics, _training, data
from tests.reference_nets._problems import (
    DIMENSIONS,
    LAYOUTS,
    NETS,
    Layout,
    NetName,
    is_classifier,
    random_problem,
)

F = TypeVar("F", bound=Callable[..., Any])

# Distinct sizes: a swapped axis cannot satisfy the annotations by coincidence.
SIZES: dict[NetName, dict[str, int]] = {
    "two_layer_relu": {"batch": 7, "d_in": 3, "hidden": 5, "classes": 4},
    "three_layer_sigmoid": {"batch": 7, "d_in": 3, "hidden1": 4, "hidden2": 6, "d_out": 2},
    "linear_softmax": {"batch": 7, "d_in": 2, "classes": 3},
}


def checked(function: F) -> F:
    wrapped: F = jaxtyped(typechecker=beartype)(function)
    return wrapped


def mismatched_fields(activations: tuple[Any, ...]) -> list[str]:
    """Fields whose array does not match its annotation, with sizes shared across fields."""
    hints = typing.get_type_hints(type(activations), include_extras=True)

    @jaxtyped(typechecker=None)  # one jaxtyping memo for all the isinstance checks below
    def check() -> list[str]:
        return [
            name for name, hint in hints.items() if not isinstance(getattr(activations, name), hint)
        ]

    return check()


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("net", NETS)
def test_public_functions_satisfy_their_annotations(net: NetName, layout: Layout) -> None:
    problem = random_problem(net, SIZES[net], seed=0, reg=0.1)
    layout_module = problem.module(layout)
    params, X, target = problem.data_in(layout)
    extra = problem.extra()

    sizes = {name: SIZES[net][name] for name in DIMENSIONS[net][1:]}
    initial = checked(layout_module.init_params)(**sizes, rng=np.random.default_rng(0))
    assert list(initial) == list(params)

    activations = checked(layout_module.forward)(params, X)
    assert mismatched_fields(activations) == []
    assert isinstance(checked(layout_module.loss)(params, X, target, *extra), float)
    grads = checked(layout_module.backward)(activations, target, params, *extra)
    assert list(grads) == list(params)
    assert list(checked(layout_module.gradients)(params, X, target, *extra)) == list(params)
    if is_classifier(net):
        assert checked(layout_module.predict)(params, X).shape == (SIZES[net]["batch"],)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("net", NETS)
def test_the_wrapped_functions_reject_a_shape_mix_up(net: NetName, layout: Layout) -> None:
    problem = random_problem(net, SIZES[net], seed=0)
    layout_module = problem.module(layout)
    params, X, target = problem.data_in(layout)
    # One example too few in the labels or targets: "batch" cannot bind twice.
    short_target = target[:-1] if target.ndim == 1 or layout == "row_major" else target[:, :-1]
    with pytest.raises(TypeCheckError):
        checked(layout_module.loss)(params, X, short_target, *problem.extra())
    # X in the other layout: its batch axis lands where d_in should be.
    with pytest.raises(TypeCheckError):
        checked(layout_module.loss)(params, np.ascontiguousarray(X.T), target, *problem.extra())


def test_the_field_check_rejects_a_transposed_activation() -> None:
    problem = random_problem("two_layer_relu", SIZES["two_layer_relu"], seed=0)
    layout_module = problem.module("row_major")
    activations = layout_module.forward(
        problem.params_in("row_major"), problem.inputs_in("row_major")
    )
    broken = activations._replace(hidden=np.ascontiguousarray(activations.hidden.T))
    assert mismatched_fields(broken) == ["hidden"]


def test_helpers_satisfy_their_annotations() -> None:
    rng = np.random.default_rng(0)
    for layout in ("row_major", "column_major"):
        X, y = checked(data.spiral)(5, 3, noise=0.2, rng=rng, layout=layout)
        assert X.size == 30
        assert y.shape == (15,)
    scores = rng.standard_normal((4, 3))
    assert checked(_numerics.log_softmax)(scores, axis=1).shape == (4, 3)
    assert checked(_numerics.sigmoid)(scores).shape == (4, 3)
    assert checked(_numerics.sigmoid)(rng.standard_normal((2, 3, 5))).shape == (2, 3, 5)
    predictions, targets = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    assert isinstance(
        checked(_code_review_losses.squared_loss_norm_axis0)(predictions, targets), float
    )
    assert isinstance(
        checked(_code_review_losses.squared_loss_norm_axis1)(predictions, targets), float
    )
    with pytest.raises(TypeCheckError):
        checked(_code_review_losses.squared_loss_norm_axis0)(predictions, targets.T)
    labels = np.array([0, 1, 1, 2])
    assert checked(_training.accuracy)(labels, np.array([0, 1, 2, 2])) == 0.75
