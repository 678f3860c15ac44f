"""The wrong stories issue #14 lists, each told right: swapped gradients and arguments, a
quantised loss, nan in a parameter, a loss that writes into one parameter, vanishing and
scalar-zero gradients. The forum net, in both layouts."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck
from reference_nets.data import spiral
from reference_nets.two_layer_relu import column_major, row_major

LAYOUTS = {"row_major": row_major, "column_major": column_major}


@pytest.fixture(params=list(LAYOUTS))
def forum(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    module = LAYOUTS[request.param]
    rng = np.random.default_rng(3)
    X, y = spiral(40, 3, noise=0.2, rng=rng, layout=request.param)
    params = module.init_params(d_in=2, hidden=20, classes=3, rng=rng)
    params = {k: v + 0.01 * rng.standard_normal(v.shape) for k, v in params.items()}

    def loss(p: dict[str, np.ndarray]) -> float:
        return float(module.loss(p, X, y, 1e-3))

    return loss, module.gradients(params, X, y, 1e-3), params


def test_params_and_grads_passed_in_each_others_places_are_named_swapped(forum) -> None:  # type: ignore[no-untyped-def]
    loss, grads, params = forum
    report = gradcheck.check_gradients(loss, params, grads)
    assert not report.passed
    assert {r.diagnosis.kind for r in report} == {"swapped"}, str(report)
    assert "check_gradients(loss, grads, params)" in report["W1"].diagnosis.message


def test_params_named_like_gradients_are_refused_before_any_loss_call(forum) -> None:  # type: ignore[no-untyped-def]
    loss, grads, params = forum
    calls = []

    def counting(p: dict[str, np.ndarray]) -> float:
        calls.append(1)
        return loss(p)

    named_as_grads = {f"d{k}": v for k, v in grads.items()}
    with pytest.raises(TypeError, match="params and grads look swapped"):
        gradcheck.check_gradients(counting, params, named_as_grads)
    assert calls == []


def test_gradients_in_the_wrong_order_say_which_goes_where(forum) -> None:  # type: ignore[no-untyped-def]
    loss, grads, params = forum
    names = list(params)
    wrong_order = [grads["b1"], grads["W1"], grads["b2"], grads["W2"]]
    report = gradcheck.check_gradients(
        lambda p: loss(dict(zip(names, p, strict=True))),
        wrong_order,
        [params[k] for k in names],
        names=names,
    )
    assert [r.diagnosis.kind for r in report] == ["swapped"] * 4, str(report)
    assert "given in b1's place" in report["W1"].diagnosis.message
    assert "given in W1's place" in report["b1"].diagnosis.message


def test_two_gradients_of_one_shape_exchanged_are_swapped() -> None:
    rng = np.random.default_rng(0)
    params = {"A": rng.standard_normal((3, 4)), "B": rng.standard_normal((3, 4))}

    def loss(p: dict[str, np.ndarray]) -> float:
        return float(np.sum(np.sin(p["A"])) + 0.5 * np.sum(p["B"] ** 3))

    exchanged = {"A": 1.5 * params["B"] ** 2, "B": np.cos(params["A"])}
    report = gradcheck.check_gradients(loss, exchanged, params)
    assert [r.diagnosis.kind for r in report] == ["swapped", "swapped"], str(report)
    assert "given in B's place" in report["A"].diagnosis.message


@pytest.mark.parametrize(
    ("quantise", "words"),
    [(lambda v: int(v * 1000), "whole numbers"), (lambda v: round(v, 3), "coarse grid")],
)
def test_a_quantised_loss_is_named_and_never_passes(forum, quantise, words) -> None:  # type: ignore[no-untyped-def]
    loss, grads, params = forum
    report = gradcheck.check_gradients(lambda p: quantise(loss(p)), grads, params)
    assert not report.passed
    assert not report.failed, "the gradients are right: not failed, not checked"
    assert {r.diagnosis.kind for r in report} == {"quantised"}, str(report)
    assert words in report["b2"].diagnosis.message
    assert "does the loss use the parameters" not in str(report)


@pytest.mark.parametrize("where", ["param", "arg"])
def test_nan_in_a_parameter_or_argument_is_named_before_any_loss_call(forum, where) -> None:  # type: ignore[no-untyped-def]
    loss, grads, params = forum
    calls = []
    data = np.ones((3, 2))
    if where == "param":
        params = {**params, "b1": params["b1"].copy()}
        params["b1"].flat[2] = np.nan
        match = "parameter 'b1' holds 1 non-finite entry"
    else:
        data[1, 0] = np.inf
        match = r"args\[0\] holds 1 non-finite entry"

    def counting(p: dict[str, np.ndarray], extra: np.ndarray) -> float:
        calls.append(1)
        return loss(p)

    with pytest.raises(ValueError, match=match):
        gradcheck.check_gradients(counting, grads, params, args=(data,))
    assert calls == []


def test_a_loss_that_writes_into_one_parameter_does_not_smear_mismatch(forum) -> None:  # type: ignore[no-untyped-def]
    loss, grads, params = forum

    def writes_into_b1(p: dict[str, np.ndarray]) -> float:
        p["b1"] += 1e-3
        return loss(p)

    report = gradcheck.check_gradients(writes_into_b1, grads, params)
    assert report["b1"].diagnosis.kind == "mutated"
    others = [r for r in report if r.name != "b1"]
    assert all(r.outcome in ("passed", "inconclusive") for r in others), str(report)
    assert "mismatch" not in str(report)
    assert all("clean point" in r.diagnosis.message for r in others if not r.passed)


def test_vanishing_and_scalar_zero_gradients_are_zero(forum) -> None:  # type: ignore[no-untyped-def]
    loss, grads, params = forum
    vanishing = gradcheck.check_gradients(loss, {**grads, "W2": grads["W2"] * 1e-16}, params)
    assert vanishing["W2"].diagnosis.kind == "zero", str(vanishing)
    assert "vanishes" in vanishing["W2"].diagnosis.message
    scalar = gradcheck.check_gradients(loss, {**grads, "b2": 0.0}, params)
    assert scalar["b2"].diagnosis.kind == "zero", str(scalar)
    assert "scalar 0" in scalar["b2"].diagnosis.message


def _affine_layer() -> tuple[object, object, tuple[np.ndarray, ...]]:
    """An affine layer whose input and weight have one shape (4, 4), so that returning
    their gradients in each other's places fits every shape."""
    rng = np.random.default_rng(0)
    inputs = (rng.standard_normal((4, 4)), rng.standard_normal((4, 4)), rng.standard_normal(4))

    def forward(x, w, b):  # type: ignore[no-untyped-def]
        return x @ w + b, (x, w)

    def backward(dout, cache):  # type: ignore[no-untyped-def]
        x, w = cache
        return dout @ w.T, x.T @ dout, dout.sum(axis=0)

    return forward, backward, inputs


def test_a_layer_returning_dw_dx_db_is_named_swapped_not_mismatch() -> None:
    forward, backward, inputs = _affine_layer()

    def backward_swapped(dout, cache):  # type: ignore[no-untyped-def]
        dx, dw, db = backward(dout, cache)  # type: ignore[operator]
        return dw, dx, db

    report = gradcheck.check_layer(forward, backward_swapped, *inputs)
    assert [r.diagnosis.kind for r in report] == ["swapped", "swapped", "ok"], str(report)
    assert "given in w's place" in report["x"].diagnosis.message


def test_a_layer_returning_the_scalar_0_for_an_array_is_zero_not_shape() -> None:
    forward, backward, inputs = _affine_layer()

    def backward_zero(dout, cache):  # type: ignore[no-untyped-def]
        dx, dw, _ = backward(dout, cache)  # type: ignore[operator]
        return dx, dw, 0

    report = gradcheck.check_layer(forward, backward_zero, *inputs)
    assert report["b"].diagnosis.kind == "zero", str(report)
    assert "scalar 0" in report["b"].diagnosis.message
