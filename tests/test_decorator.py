"""@checked_backward: shape errors in words, policies, the three shapes of user code."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import GradientReport, GradientShapeError, checked_backward
from gradcheck._integrations import policy
from tests._forum import (
    H,
    K,
    Params,
    forum_grads,
    forum_loss,
    make_forum,
    no_override,  # noqa: F401 (a fixture: see pytestmark)
    override_in_force,
)

pytestmark = pytest.mark.usefixtures("no_override")

NOT_FIT = "backward() returned gradients that do not fit its parameters:"


def error_lines(excinfo: pytest.ExceptionInfo[BaseException]) -> list[str]:
    return str(excinfo.value).splitlines()


def shape_error(backward: Callable[..., Any], *args: Any, **kwargs: Any) -> list[str]:
    """The lines of the GradientShapeError that ``backward(*args, **kwargs)`` raises."""
    with pytest.raises(GradientShapeError) as excinfo:
        backward(*args, **kwargs)
    return error_lines(excinfo)


def with_slip(slip: Callable[[Params, Params, np.ndarray], Any]) -> Any:
    """A checked forum backward whose gradients go through ``slip(grads, params, X)``."""

    @checked_backward(forum_loss)
    def backward(params: Params, X: np.ndarray, y: np.ndarray) -> Any:
        return slip(forum_grads(params, X, y), params, X)

    return backward


def last_report(backward: Any) -> GradientReport:
    """The report of ``backward``'s last check (there must be one)."""
    report: GradientReport | None = backward.gradcheck.last_report
    assert report is not None
    return report


# ------------------------------------------------------------------- the happy path


def test_a_correct_backward_passes_and_returns_its_own_result() -> None:
    params, X, y = make_forum()
    returned: list[Params] = []

    @checked_backward(forum_loss)
    def backward(params: Params, X: np.ndarray, y: np.ndarray) -> Params:
        grads = forum_grads(params, X, y)
        returned.append(grads)
        return grads

    grads = backward(params, X, y)
    assert grads is returned[0]
    assert backward.gradcheck.calls == 1
    assert backward.gradcheck.checks == 1
    report = last_report(backward)
    assert report.passed
    assert [r.name for r in report.results] == ["W1", "b1", "W2", "b2"]


def test_the_wrapper_looks_like_the_function() -> None:
    def backward(params: Params, X: np.ndarray, y: np.ndarray) -> Params:
        """Doc."""
        return forum_grads(params, X, y)

    wrapped = checked_backward(forum_loss)(backward)
    assert wrapped.__name__ == "backward"
    assert wrapped.__doc__ == "Doc."
    assert wrapped.__wrapped__ is backward


def test_user_arrays_are_never_mutated() -> None:
    params, X, y = make_forum()
    before = ({k: v.copy() for k, v in params.items()}, X.copy(), y.copy())
    ids = {k: id(v) for k, v in params.items()}

    @checked_backward(forum_loss, when="always")
    def backward(params: Params, X: np.ndarray, y: np.ndarray) -> Params:
        return forum_grads(params, X, y)

    for _ in range(3):
        backward(params, X, y)
    assert {k: id(v) for k, v in params.items()} == ids
    for key, value in before[0].items():
        np.testing.assert_array_equal(params[key], value)
    np.testing.assert_array_equal(X, before[1])
    np.testing.assert_array_equal(y, before[2])


# --------------------------------------------------------------------- shape errors


def test_a_transposed_gradient_is_named_and_explained() -> None:
    # dW2 = dscores.T @ hidden instead of hidden.T @ dscores
    backward = with_slip(lambda grads, *_: {**grads, "W2": grads["W2"].T})
    with pytest.raises(GradientShapeError) as excinfo:
        backward(*make_forum())
    assert error_lines(excinfo) == [
        NOT_FIT,
        "- dW2 has shape (4, 5) but W2 has shape (5, 4): the axes are reversed, so the "
        "gradient is transposed (swap the operands of the product and transpose them, "
        "e.g. hidden.T @ dscores instead of dscores.T @ hidden)",
    ]
    assert isinstance(excinfo.value, AssertionError)
    assert excinfo.value.problems == (("W2", (5, 4), (4, 5), "transposed"),)


def test_a_keepdims_slip_is_named_and_explained() -> None:
    params, X, y = make_forum()
    params["b1"] = params["b1"].reshape(H)  # b1 is (h,), the gradient (1, h)

    def loss(params: Params, X: np.ndarray, y: np.ndarray) -> float:
        return forum_loss({**params, "b1": params["b1"].reshape(1, H)}, X, y)

    @checked_backward(loss)
    def backward(params: Params, X: np.ndarray, y: np.ndarray) -> Params:
        return forum_grads({**params, "b1": params["b1"].reshape(1, H)}, X, y)

    assert shape_error(backward, params, X, y) == [
        NOT_FIT,
        "- db1 has shape (1, 5) but b1 has shape (5,): an axis of size 1 is missing or extra "
        "(a keepdims=True slip in a sum, or a squeeze/reshape)",
    ]


def test_a_gradient_not_summed_over_the_batch_is_named_and_explained() -> None:
    def slip(grads: Params, params: Params, X: np.ndarray) -> Params:
        hidden = np.maximum(0, X @ params["W1"] + params["b1"])
        return {**grads, "b1": np.ones_like(hidden)}  # dhidden, never summed over the examples

    assert shape_error(with_slip(slip), *make_forum()) == [
        NOT_FIT,
        "- db1 has shape (7, 5) but b1 has shape (1, 5): it still has the batch axis, so the "
        "gradient was not summed over the examples (sum over the batch axis, e.g. "
        "np.sum(..., axis=0))",
    ]


def test_several_wrong_gradients_get_one_line_each() -> None:
    backward = with_slip(lambda g, *_: {**g, "W1": g["W1"].T, "b2": g["b2"].ravel()})
    lines = shape_error(backward, *make_forum())
    assert len(lines) == 3
    assert lines[1].startswith("- dW1 has shape (5, 3) but W1 has shape (3, 5): the axes")
    assert lines[2].startswith("- db2 has shape (4,) but b2 has shape (1, 4): an axis of size 1")


def test_missing_and_extra_keys_are_listed() -> None:
    backward = with_slip(
        lambda g, *_: {"W1": g["W1"], "b1": g["b1"], "W2": g["W2"], "bias2": g["b2"]}
    )
    assert shape_error(backward, *make_forum()) == [
        NOT_FIT,
        "- no gradient for 'b2' (shape (1, 4)): the gradients must have the parameters' keys, "
        "'W1', 'b1', 'W2', 'b2'",
        "- a gradient 'bias2' (shape (1, 4)) for no parameter: the parameters' keys are "
        "'W1', 'b1', 'W2', 'b2'",
    ]


def test_gradients_keyed_with_a_d_prefix_get_a_hint() -> None:
    backward = with_slip(lambda grads, *_: {f"d{k}": v for k, v in grads.items()})
    assert shape_error(backward, *make_forum())[-1] == (
        "The gradients are keyed 'd' + the parameter's name: key them by the parameters' "
        "own names (grads['W1'], not grads['dW1'])."
    )


def test_a_list_of_gradients_for_a_dict_of_parameters_is_a_structure_error() -> None:
    backward = with_slip(lambda grads, *_: list(grads.values()))
    assert shape_error(backward, *make_forum()) == [
        NOT_FIT,
        "- the gradients are a list, but the parameters are a dict: return a dict of "
        "gradients in the parameters' keys",
    ]


def test_shapes_are_checked_on_every_call_even_when_the_check_is_off() -> None:
    params, X, y = make_forum()
    calls = 0

    @checked_backward(forum_loss, when="never")
    def backward(params: Params, X: np.ndarray, y: np.ndarray) -> Params:
        nonlocal calls
        calls += 1
        grads = forum_grads(params, X, y)
        if calls == 3:
            grads["W2"] = grads["W2"].T
        return grads

    backward(params, X, y)
    backward(params, X, y)
    with pytest.raises(GradientShapeError, match=r"dW2 has shape \(4, 5\) but W2"):
        backward(params, X, y)
    assert backward.gradcheck.checks == 0


# ------------------------------------------------------------- finite differences


def test_a_negated_gradient_raises_gradient_mismatch_naming_it() -> None:
    backward = with_slip(lambda grads, *_: {**grads, "W2": -grads["W2"]})
    with pytest.raises(gradcheck.GradientMismatch) as excinfo:
        backward(*make_forum())
    report = excinfo.value.report
    assert [r.name for r in report.failed] == ["W2"]
    assert report["W2"].diagnosis.kind == "negated"
    w2_rows = [line for line in str(excinfo.value).splitlines() if line.startswith("W2 ")]
    assert len(w2_rows) == 1
    assert "negated" in w2_rows[0]
    assert backward.gradcheck.last_report is report
    assert excinfo.value.__notes__ == [
        "Checked by @checked_backward on call 1 of backward() (when='first'); "
        "the report is also backward.gradcheck.last_report."
    ]


def test_check_options_are_passed_to_check_gradients() -> None:
    params, X, y = make_forum()

    @checked_backward(forum_loss, seed=3)
    def backward(params: Params, X: np.ndarray, y: np.ndarray) -> Params:
        return forum_grads(params, X, y)

    backward(params, X, y)
    report = last_report(backward)
    assert report.seed == 3


def test_a_misspelt_check_option_fails_at_decoration() -> None:
    with pytest.raises(TypeError, match="options that check_gradients does not take: sed"):
        checked_backward(forum_loss, sed=3)


# --------------------------------------------------------------------------- policies


def counting_backward(when: Any) -> tuple[Any, list[int]]:
    """A correct backward whose loss counts in which backward calls it was evaluated."""
    evaluated_in: list[int] = []
    calls = [0]

    def loss(params: Params, X: np.ndarray, y: np.ndarray) -> float:
        if not evaluated_in or evaluated_in[-1] != calls[0]:
            evaluated_in.append(calls[0])
        return forum_loss(params, X, y)

    @checked_backward(loss, when=when)
    def backward(params: Params, X: np.ndarray, y: np.ndarray) -> Params:
        calls[0] += 1
        return forum_grads(params, X, y)

    return backward, evaluated_in


@pytest.mark.parametrize(
    ("when", "checked"),
    [
        ("first", [1]),
        ("always", [1, 2, 3, 4, 5, 6, 7]),
        ("never", []),
        (1, [1, 2, 3, 4, 5, 6, 7]),
        (3, [1, 4, 7]),
        ("FIRST", [1]),
    ],
)
def test_when_selects_the_checked_calls(when: Any, checked: list[int]) -> None:
    params, X, y = make_forum()
    backward, evaluated_in = counting_backward(when)
    for _ in range(7):
        backward(params, X, y)
    assert evaluated_in == checked
    assert backward.gradcheck.calls == 7
    assert backward.gradcheck.checks == len(checked)


def test_reset_makes_first_check_again() -> None:
    params, X, y = make_forum()
    backward, evaluated_in = counting_backward("first")
    backward(params, X, y)
    backward(params, X, y)
    backward.gradcheck.reset()
    backward(params, X, y)
    assert evaluated_in == [1, 3]


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("sometimes", "when='sometimes' is not a policy: use 'first', 'always', 'never' or a"),
        (0, "when=0 is not a policy: an every-N policy needs N >= 1"),
        (-2, "when=-2 is not a policy: an every-N policy needs N >= 1"),
    ],
)
def test_a_bad_when_fails_at_decoration(when: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        checked_backward(forum_loss, when=when)


def test_when_true_is_refused() -> None:
    with pytest.raises(TypeError, match="when=True is not a policy"):
        checked_backward(forum_loss, when=True)


def test_gradcheck_never_in_the_environment_removes_every_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params, X, y = make_forum()
    monkeypatch.setenv("GRADCHECK", "never")
    policy.override.reload_environment()
    assert override_in_force() == "never"

    @checked_backward(forum_loss, when="always")
    def backward(params: Params, X: np.ndarray, y: np.ndarray) -> Params:
        grads = forum_grads(params, X, y)
        grads["W2"] = grads["W2"].T  # wrong, and nobody looks
        return grads

    grads = backward(params, X, y)
    assert grads["W2"].shape == (K, H)
    assert backward.gradcheck.calls == 0
    assert backward.gradcheck.checks == 0


@pytest.mark.parametrize(
    ("value", "checked"), [("always", [1, 2, 3]), ("first", [1]), ("2", [1, 3])]
)
def test_the_environment_overrides_when(
    monkeypatch: pytest.MonkeyPatch, value: str, checked: list[int]
) -> None:
    params, X, y = make_forum()
    monkeypatch.setenv("GRADCHECK", value)
    policy.override.reload_environment()
    backward, evaluated_in = counting_backward("never")
    for _ in range(3):
        backward(params, X, y)
    assert evaluated_in == checked


def test_the_explicit_override_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    params, X, y = make_forum()
    monkeypatch.setenv("GRADCHECK", "never")
    policy.override.reload_environment()
    policy.override.set("always")
    assert override_in_force() == "always"
    backward, evaluated_in = counting_backward("first")
    for _ in range(2):
        backward(params, X, y)
    assert evaluated_in == [1, 2]
    policy.override.set(None)
    assert override_in_force() == "never"


def test_a_bad_environment_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADCHECK", "sometimes")
    with pytest.raises(ValueError, match="GRADCHECK='sometimes' is not a policy"):
        policy.override.reload_environment()


# ------------------------------------------------- shape 2: (loss, grads) together


def test_a_function_returning_loss_and_grads_needs_no_separate_loss() -> None:
    params, X, y = make_forum()

    @checked_backward()
    def loss_and_grads(params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        return forum_loss(params, X, y), forum_grads(params, X, y)

    value, grads = loss_and_grads(params, X, y)
    assert value == pytest.approx(forum_loss(params, X, y))
    assert set(grads) == set(params)
    assert last_report(loss_and_grads).passed


def test_loss_and_grads_with_a_wrong_gradient_fails() -> None:
    params, X, y = make_forum()

    @checked_backward()
    def loss_and_grads(params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        grads = forum_grads(params, X, y)
        grads["b1"] = -grads["b1"]
        return forum_loss(params, X, y), grads

    with pytest.raises(gradcheck.GradientMismatch) as excinfo:
        loss_and_grads(params, X, y)
    assert [r.name for r in excinfo.value.report.failed] == ["b1"]


def test_a_separate_loss_also_accepts_loss_and_grads_results() -> None:
    params, X, y = make_forum()

    @checked_backward(forum_loss)
    def loss_and_grads(params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        return forum_loss(params, X, y), forum_grads(params, X, y)

    loss_and_grads(params, X, y)
    assert last_report(loss_and_grads).passed


def test_without_a_loss_the_function_must_return_a_pair() -> None:
    params, X, y = make_forum()

    @checked_backward()
    def backward(params: Params, X: np.ndarray, y: np.ndarray) -> Params:
        return forum_grads(params, X, y)

    with pytest.raises(TypeError) as excinfo:
        backward(params, X, y)
    assert str(excinfo.value) == (
        "backward() returned a dict, but @checked_backward() without a loss expects "
        "(loss, grads): return both, or pass the loss, @checked_backward(loss)"
    )


def test_a_bare_decorator_says_to_add_parentheses() -> None:
    params, X, y = make_forum()

    def loss_and_grads(params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        return forum_loss(params, X, y), forum_grads(params, X, y)

    bare: Any = checked_backward(loss_and_grads)  # what a bare @checked_backward does
    with pytest.raises(TypeError, match=r"without parentheses.*Write\s+@checked_backward\(\)"):
        bare(params, X, y)


def test_a_loss_that_is_not_callable_is_refused() -> None:
    with pytest.raises(TypeError, match="needs a callable loss, got float"):
        checked_backward(1.5)  # type: ignore[arg-type]


# ------------------------------------ shape 3: the Code Review layout (columns, lists)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def cr_initialize(seed: int = 0) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    dims = [3, 4, 6, 2]  # 3 -> 4 -> 6 -> 2, distinct hidden sizes
    parameters: list[np.ndarray] = []
    for d_in, d_out in itertools.pairwise(dims):
        parameters += [rng.standard_normal((d_out, d_in)), 0.1 * rng.standard_normal(d_out)]
    X = rng.random((3, 5))
    Y = rng.standard_normal((2, 5))
    return parameters, X, Y


def cr_forward(parameters: list[np.ndarray], X: np.ndarray) -> list[np.ndarray]:
    W1, b1, W2, b2, W3, b3 = parameters
    hid_1 = sigmoid(W1 @ X + b1[:, np.newaxis])
    hid_2 = sigmoid(W2 @ hid_1 + b2[:, np.newaxis])
    outputs = W3 @ hid_2 + b3[:, np.newaxis]
    return [X, hid_1, hid_2, outputs]


def squared_loss(predictions: np.ndarray, targets: np.ndarray, axis: int = 0) -> float:
    norms = np.linalg.norm(predictions - targets, axis=axis, ord=2)
    return float(np.mean(0.5 * norms**2, axis=0))


def cr_backward_body(
    activations: list[np.ndarray], targets: np.ndarray, parameters: list[np.ndarray]
) -> list[np.ndarray]:
    X, hid_1, hid_2, predictions = activations
    W1, b1, W2, b2, W3, b3 = parameters  # noqa: RUF059 (the question's own line)
    batch_size = X.shape[-1]
    dL_dPredictions = (predictions - targets) / targets.shape[-1]
    dL_db3 = np.dot(dL_dPredictions, np.ones((batch_size,)))
    dL_dW3 = np.dot(dL_dPredictions, hid_2.T)
    dL_hid_2 = np.dot(W3.T, dL_dPredictions) * hid_2 * (1 - hid_2)
    dL_db2 = np.dot(dL_hid_2, np.ones((batch_size,)))
    dL_dW2 = np.dot(dL_hid_2, hid_1.T)
    dL_hid_1 = np.dot(W2.T, dL_hid_2) * hid_1 * (1 - hid_1)
    dL_db1 = np.dot(dL_hid_1, np.ones((batch_size,)))
    dL_dW1 = np.dot(dL_hid_1, X.T)
    return [dL_dW1, dL_db1, dL_dW2, dL_db2, dL_dW3, dL_db3]


def cr_loss(
    activations: list[np.ndarray], targets: np.ndarray, parameters: list[np.ndarray]
) -> float:
    """The loss as a function of the parameters: redo the forward pass from X."""
    X = activations[0]
    return squared_loss(cr_forward(parameters, X)[-1], targets, axis=0)


def cr_unpacking(slip: Callable[[list[np.ndarray]], Any] = list) -> Any:
    """The Code Review backward, checked, unpacking its parameters into named variables."""

    @checked_backward(cr_loss, params_arg="parameters")
    def backward(
        activations: list[np.ndarray], targets: np.ndarray, parameters: list[np.ndarray]
    ) -> Any:
        W1, b1, W2, b2, W3, b3 = parameters
        return slip(cr_backward_body(activations, targets, [W1, b1, W2, b2, W3, b3]))

    return backward


def test_the_code_review_layout_passes_with_params_arg_by_name() -> None:
    parameters, X, Y = cr_initialize()
    backward = cr_unpacking()
    grads = backward(cr_forward(parameters, X), Y, parameters)
    assert [g.shape for g in grads] == [p.shape for p in parameters]
    report = last_report(backward)
    assert report.passed
    # the names come from the unpacking "W1, b1, W2, b2, W3, b3 = parameters"
    assert [r.name for r in report.results] == ["W1", "b1", "W2", "b2", "W3", "b3"]


def test_the_code_review_loss_over_the_wrong_axis_is_caught() -> None:
    """The question's first squared_loss took the norm over axis=1: not its derivative's."""
    parameters, X, Y = cr_initialize()

    def wrong_loss(
        activations: list[np.ndarray], targets: np.ndarray, parameters: list[np.ndarray]
    ) -> float:
        return squared_loss(cr_forward(parameters, activations[0])[-1], targets, axis=1)

    backward = checked_backward(wrong_loss, params_arg=2)(cr_backward_body)
    with pytest.raises(gradcheck.GradientMismatch) as excinfo:
        backward(cr_forward(parameters, X), Y, parameters)
    report = excinfo.value.report
    # the loss divides by K = 2 outputs, the backward by N = 5 examples: 2/5 everywhere
    assert [r.diagnosis.kind for r in report.results] == ["scaled"] * 6
    assert [r.diagnosis.factor for r in report.results] == pytest.approx([2 / 5] * 6, rel=1e-3)


def test_a_code_review_shape_error_uses_the_unpacked_names() -> None:
    parameters, X, Y = cr_initialize()
    # dW3 = np.dot(hid_2, dL_dPredictions.T): transposed
    backward = cr_unpacking(lambda grads: [*grads[:4], grads[4].T, grads[5]])
    assert shape_error(backward, cr_forward(parameters, X), Y, parameters)[1].startswith(
        "- dW3 has shape (6, 2) but W3 has shape (2, 6): the axes are reversed"
    )


def test_names_can_be_given_for_a_list_of_parameters() -> None:
    parameters, X, Y = cr_initialize()
    names = ["A1", "c1", "A2", "c2", "A3", "c3"]
    backward = checked_backward(cr_loss, params_arg="parameters", names=names)(cr_backward_body)
    backward(cr_forward(parameters, X), Y, parameters)
    report = last_report(backward)
    assert [r.name for r in report.results] == names


def test_without_names_a_list_is_named_by_position() -> None:
    parameters, X, Y = cr_initialize()

    def backward(
        activations: list[np.ndarray], targets: np.ndarray, parameters: list[np.ndarray]
    ) -> list[np.ndarray]:
        grads = cr_backward_body(activations, targets, parameters)
        grads[1] = grads[1][:, np.newaxis]
        return grads

    checked = checked_backward(cr_loss, params_arg="parameters", when="never")(backward)
    assert shape_error(checked, cr_forward(parameters, X), Y, parameters)[1] == (
        "- the gradient of parameters[1] has shape (4, 1) but parameters[1] has shape (4,): "
        "an axis of size 1 is missing or extra (a keepdims=True slip in a sum, or a "
        "squeeze/reshape)"
    )


def test_a_wrong_number_of_gradients_is_reported() -> None:
    parameters, X, Y = cr_initialize()

    def backward(
        activations: list[np.ndarray], targets: np.ndarray, parameters: list[np.ndarray]
    ) -> list[np.ndarray]:
        return cr_backward_body(activations, targets, parameters)[:-1]

    checked = checked_backward(cr_loss, params_arg="parameters", names=list("ABCDEF"))(backward)
    assert shape_error(checked, cr_forward(parameters, X), Y, parameters)[1] == (
        "- 5 gradients for 6 parameters: return one gradient per parameter, in the "
        "parameters' order (A, B, C, D, E, F)"
    )


def test_params_can_be_passed_by_keyword() -> None:
    parameters, X, Y = cr_initialize()
    backward = checked_backward(cr_loss, params_arg="parameters")(cr_backward_body)
    backward(cr_forward(parameters, X), targets=Y, parameters=parameters)
    assert last_report(backward).passed


def test_an_unknown_params_arg_fails_at_decoration() -> None:
    with pytest.raises(TypeError) as excinfo:
        checked_backward(cr_loss, params_arg="params")(cr_backward_body)
    assert str(excinfo.value) == (
        "params_arg='params', but cr_backward_body() has no argument of that name; "
        "it has activations, targets, parameters"
    )
    with pytest.raises(TypeError, match=r"params_arg=3, but cr_backward_body\(\) has 3"):
        checked_backward(cr_loss, params_arg=3)(cr_backward_body)


def test_parameters_that_are_not_a_container_are_refused() -> None:
    params, X, y = make_forum()
    backward = checked_backward(forum_loss, params_arg=1)(forum_grads)
    with pytest.raises(TypeError, match=r"forum_grads\(\)'s parameters \(X\) are a ndarray"):
        backward(params, X, y)
