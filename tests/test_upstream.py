"""A gradient wrong at every entry only because the gradient it is computed from is wrong
(``upstream``, issue #17): named on layers whose mistake sits before a product, never on
gradients wrong in their own lines or on parameters that meet in no product; a budget cut
says so. tests/layers holds more (the LSTM step's dx and dprev_h, the RNN's dWx and db)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jaxtyping import Float

import gradcheck
from tests.layers import recurrent

Array = np.ndarray


def affine_tanh_forward(
    x: Float[Array, "N D"], W: Float[Array, "D H"], b: Float[Array, " H"]
) -> tuple[Array, Any]:
    """out = tanh(x·W + b), examples in rows."""
    out = np.tanh(x @ W + b)
    return out, (x, W, out)


def affine_tanh_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    x, W, out = cache
    dloss_dpre = dout * (1 - out**2)  # tanh'(a) = 1 - tanh(a)²
    return dloss_dpre @ W.T, x.T @ dloss_dpre, dloss_dpre.sum(axis=0)


def affine_tanh_backward_wrong_slope(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: tanh' taken as 1 - tanh(a); the three lines after it are right."""
    x, W, out = cache
    dloss_dpre = dout * (1 - out)
    return dloss_dpre @ W.T, x.T @ dloss_dpre, dloss_dpre.sum(axis=0)


def affine_tanh_backward_own_lines(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Two independent bugs in the lines themselves: dx uses W where Wᵀ is meant (W is
    square), and dW leaves out its first column."""
    x, W, out = cache
    dloss_dpre = dout * (1 - out**2)
    dW = x.T @ dloss_dpre
    dW[:, 0] = 0.0
    return dloss_dpre @ W, dW, dloss_dpre.sum(axis=0)


def column_sigmoid_forward(
    W: Float[Array, "K D"], X: Float[Array, "D N"], b: Float[Array, "K 1"]
) -> tuple[Array, Any]:
    """out = σ(W·X + b), examples in columns."""
    out = 1 / (1 + np.exp(-(W @ X + b)))
    return out, (W, X, out)


def column_sigmoid_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    W, X, out = cache
    dloss_dpre = dout * out * (1 - out)  # σ'(z) = σ(z)(1 - σ(z))
    return dloss_dpre @ X.T, W.T @ dloss_dpre, dloss_dpre.sum(axis=1, keepdims=True)


def column_sigmoid_backward_wrong_cache(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: σ'(z) = σ(z)(1 - σ(z)) taken from the pre-activation z instead of σ(z)."""
    W, X, out = cache
    pre = np.log(out / (1 - out))  # z, recovered: the value the bug reads by mistake
    dloss_dpre = dout * pre * (1 - pre)
    return dloss_dpre @ X.T, W.T @ dloss_dpre, dloss_dpre.sum(axis=1, keepdims=True)


def affine_inputs(seed: int, square: bool = False) -> tuple[Array, Array, Array]:
    rng = np.random.default_rng(seed)
    d, h = (5, 5) if square else (4, 6)
    return rng.standard_normal((3, d)), 0.5 * rng.standard_normal((d, h)), rng.standard_normal(h)


@pytest.mark.parametrize("seed", range(3))
def test_a_wrong_slope_before_the_product_makes_every_gradient_upstream(seed: int) -> None:
    inputs = affine_inputs(seed)
    assert gradcheck.check_layer(affine_tanh_forward, affine_tanh_backward, *inputs).passed
    report = gradcheck.check_layer(affine_tanh_forward, affine_tanh_backward_wrong_slope, *inputs)
    assert [r.diagnosis.kind for r in report] == ["upstream"] * 3, str(report)
    x = report["x"].diagnosis.message
    assert "its error and dW's agree along directions that move x·W alike" in x
    assert "look upstream of dx and dW" in x
    assert "the gradient of x·W + b" in report["b"].diagnosis.message


@pytest.mark.parametrize("seed", range(3))
def test_examples_in_columns_relate_through_w_times_x(seed: int) -> None:
    rng = np.random.default_rng(seed)
    inputs = (rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal((3, 1)))
    assert gradcheck.check_layer(column_sigmoid_forward, column_sigmoid_backward, *inputs).passed
    report = gradcheck.check_layer(
        column_sigmoid_forward, column_sigmoid_backward_wrong_cache, *inputs
    )
    assert [r.diagnosis.kind for r in report] == ["upstream"] * 3, str(report)
    assert "move W·X alike" in report["W"].diagnosis.message
    assert "move W·X + b alike" in report["b"].diagnosis.message


@pytest.mark.parametrize("seed", range(3))
def test_mistakes_in_the_lines_themselves_are_not_upstream(seed: int) -> None:
    inputs = affine_inputs(seed, square=True)
    report = gradcheck.check_layer(affine_tanh_forward, affine_tanh_backward_own_lines, *inputs)
    assert report["x"].diagnosis.kind == "mismatch", str(report)
    assert report["W"].diagnosis.kind == "confined", str(report)
    assert report["b"].passed


@pytest.mark.parametrize("seed", range(3))
def test_parameters_that_meet_in_no_product_are_not_related(seed: int) -> None:
    """W1 (4, 6) and W2 (6, 2) have shapes a product W1·W2 would take, but the loss
    multiplies them with tanh between: the finite differences along the paired lines
    differ, so neither gradient is called upstream of the other."""
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    params = {"W1": rng.standard_normal((4, 6)), "W2": rng.standard_normal((6, 2))}

    def loss(p: dict[str, Array]) -> float:
        return float(np.sum((np.tanh(x @ p["W1"]) @ p["W2"] - y) ** 2) / 2)

    hidden = np.tanh(x @ params["W1"])
    dscores = hidden @ params["W2"] - y**2  # bug: y² for y in the residual
    grads = {
        "W1": x.T @ ((dscores @ params["W2"].T) * (1 - hidden**2)),
        "W2": hidden.T @ dscores,
    }
    report = gradcheck.check_gradients(loss, grads, params)
    assert [r.outcome for r in report] == ["failed", "failed"]
    assert "upstream" not in [r.diagnosis.kind for r in report], str(report)


def test_a_budget_spent_while_relating_keeps_the_rows_and_says_so() -> None:
    inputs = affine_inputs(0)
    wrong = affine_tanh_backward_wrong_slope
    full = gradcheck.check_layer(affine_tanh_forward, wrong, *inputs)
    cut = gradcheck.check_layer(affine_tanh_forward, wrong, *inputs, max_calls=full.loss_calls - 1)
    assert [r.outcome for r in cut] == [r.outcome for r in full]
    assert "mismatch" in [r.diagnosis.kind for r in cut], str(cut)
    assert any("compared with each other" in note for note in cut.notes), cut.notes


def test_the_rnn_relates_dwx_and_db_to_dx_and_leaves_dwh_alone() -> None:
    """Without the carry, dx is wrong only before the last step; dWx and db are computed
    from the same pre-activation gradients, so their rows point to dx's. dWh multiplies
    h_{t-1}, which is not a parameter, so it has no partner to share its error with."""
    rng = np.random.default_rng(0)
    n, t, d, h = 2, 6, 3, 4
    inputs = [0.5 * rng.standard_normal(s) for s in [(n, t, d), (n, h), (d, h), (h, h), (h,)]]
    before = [a.copy() for a in inputs]
    report = gradcheck.check_layer(recurrent.rnn_forward, recurrent.rnn_backward_no_carry, *inputs)
    kinds = {r.name: r.diagnosis.kind for r in report}
    assert kinds == {
        "x": "confined",
        "h0": "mismatch",
        "Wx": "upstream",
        "Wh": "mismatch",
        "b": "upstream",
    }, str(report)
    assert "dx's row shows how (confined)" in report["Wx"].diagnosis.message
    assert all(np.array_equal(a, b) for a, b in zip(inputs, before, strict=True))


def test_independent_noise_in_a_net_whose_shapes_allow_many_pairings_is_not_upstream() -> None:
    """Examples in columns, two inputs and two outputs: W1 (6, 2), W2 (2, 6) and b1 (6, 1)
    pair up in products and biases both ways round (W1·W2 + b1 and W2·W1 ...). Noise put
    into dW2 and db1 on their own is no shared error."""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((2, 8)), rng.standard_normal((2, 8))
    params = {
        "W1": rng.standard_normal((6, 2)),
        "b1": rng.standard_normal((6, 1)),
        "W2": rng.standard_normal((2, 6)),
        "b2": rng.standard_normal((2, 1)),
    }

    def loss(p: dict[str, Array]) -> float:
        hidden = np.tanh(p["W1"] @ X + p["b1"])
        return float(np.sum((p["W2"] @ hidden + p["b2"] - Y) ** 2) / 2)

    hidden = np.tanh(params["W1"] @ X + params["b1"])
    dscores = params["W2"] @ hidden + params["b2"] - Y
    dpre = (params["W2"].T @ dscores) * (1 - hidden**2)
    grads = {
        "W1": dpre @ X.T,
        "b1": dpre.sum(axis=1, keepdims=True),
        "W2": dscores @ hidden.T,
        "b2": dscores.sum(axis=1, keepdims=True),
    }
    assert gradcheck.check_gradients(loss, grads, params).passed
    for name in ("W2", "b1"):
        grads[name] = grads[name] * (1 + 0.2 * rng.standard_normal(grads[name].shape))
    report = gradcheck.check_gradients(loss, grads, params)
    assert [r.name for r in report.failed] == ["b1", "W2"], str(report)
    assert "upstream" not in [r.diagnosis.kind for r in report], str(report)


def image_affine_forward(
    x: Float[Array, "N C W"], w: Float[Array, "D M"], b: Float[Array, " M"]
) -> tuple[Array, Any]:
    """relu(x·w + b) with each example's (C, W) image flattened to D = C·W features."""
    out = np.maximum(x.reshape(x.shape[0], -1) @ w + b, 0)
    return out, (x, w, out)


def image_affine_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    x, w, out = cache
    dloss_dpre = dout * (out > 0)  # relu'(a) = 1 where a > 0
    flat = x.reshape(x.shape[0], -1)
    return (dloss_dpre @ w.T).reshape(x.shape), flat.T @ dloss_dpre, dloss_dpre.sum(axis=0)


def image_affine_backward_mask_of_input(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """Bug: the ReLU mask is taken where the output is below 1, not above 0."""
    x, w, out = cache
    dloss_dpre = dout * (out < 1)
    flat = x.reshape(x.shape[0], -1)
    return (dloss_dpre @ w.T).reshape(x.shape), flat.T @ dloss_dpre, dloss_dpre.sum(axis=0)


@pytest.mark.parametrize("seed", range(3))
def test_an_image_flattened_into_an_affine_layer_relates_through_its_trailing_axes(
    seed: int,
) -> None:
    """x (N, 2, 3) meets w (6, 4) through its last two axes flattened, as cs231n's affine
    layer flattens each example."""
    rng = np.random.default_rng(seed)
    inputs = (rng.standard_normal((5, 2, 3)), rng.standard_normal((6, 4)), rng.standard_normal(4))
    assert gradcheck.check_layer(image_affine_forward, image_affine_backward, *inputs).passed
    report = gradcheck.check_layer(
        image_affine_forward, image_affine_backward_mask_of_input, *inputs
    )
    assert report["x"].diagnosis.kind == "upstream", str(report)
    assert "move x·w alike" in report["x"].diagnosis.message


def linear_forward(x: Array, W: Array, b: Array) -> tuple[Array, Any]:
    """out = x·W + b."""
    return x @ W + b, (x, W)


@st.composite
def linear_layers(draw: st.DrawFn) -> tuple[tuple[Array, Array, Array], np.random.Generator]:
    """x (N, D), W (D, K) and b (K,) with N, D, K from 2 to 6, and a generator for the
    errors put into the backward."""
    n, d, k = (draw(st.integers(2, 6)) for _ in range(3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    inputs = (rng.standard_normal((n, d)), rng.standard_normal((d, k)), rng.standard_normal(k))
    return inputs, rng


RELATED = settings(max_examples=30, deadline=None)


@RELATED
@given(linear_layers(), st.sampled_from([0.3, 3.0]))
def test_any_error_in_the_products_gradient_is_upstream(layer, size: float) -> None:
    """dx, dW and db computed from one wrong dA (dout plus random noise of ``size`` times
    its own scale) are each called upstream."""
    inputs, rng = layer

    def backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
        x, W = cache
        wrong = dout + size * np.abs(dout).mean() * rng.standard_normal(dout.shape)
        return wrong @ W.T, x.T @ wrong, wrong.sum(axis=0)

    report = gradcheck.check_layer(linear_forward, backward, *inputs)
    assert [r.diagnosis.kind for r in report] == ["upstream"] * 3, str(report)


@RELATED
@given(linear_layers(), st.sampled_from([0.01, 0.3, 3.0]), st.sampled_from([0.01, 0.3, 3.0]))
def test_independent_errors_in_dx_and_dw_are_never_upstream(
    layer, size_x: float, size_w: float
) -> None:
    """dx and dW with their own random errors (each ``size`` times its gradient's scale,
    small or large) fail, and neither is called upstream of the other."""
    inputs, rng = layer

    def backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
        x, W = cache
        dx, dW = dout @ W.T, x.T @ dout
        dx = dx + size_x * np.abs(dx).mean() * rng.standard_normal(dx.shape)
        dW = dW + size_w * np.abs(dW).mean() * rng.standard_normal(dW.shape)
        return dx, dW, dout.sum(axis=0)

    report = gradcheck.check_layer(linear_forward, backward, *inputs)
    assert [r.outcome for r in report] == ["failed", "failed", "passed"], str(report)
    assert "upstream" not in [r.diagnosis.kind for r in report], str(report)
