"""check_layer on cs231n-style layers, and the softmax_loss(x, y) -> (loss, dx) convention."""

from typing import Any

import numpy as np
import pytest

import gradcheck


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Any]:
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, w, _ = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def affine_backward_transposed_dw(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
    dx, dw, db = affine_backward(dout, cache)
    return dx, dw.T, db


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.maximum(0, x), x


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    return dout * (cache > 0)


def scale_forward(x: np.ndarray, labels: np.ndarray, options: dict[str, float]) -> tuple[Any, Any]:
    """A layer with an integer input and an options dict, which get no gradient."""
    factor = options["factor"]
    return factor * x[np.arange(len(labels)), labels], (x.shape, labels, factor)


def scale_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, None, None]:
    shape, labels, factor = cache
    dx = np.zeros(shape)
    dx[np.arange(len(labels)), labels] = factor * dout
    return dx, None, None


@pytest.fixture
def affine_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)


def test_affine_layer_passes_and_names_follow_forward(affine_inputs: Any) -> None:
    x, w, b = affine_inputs
    before = [a.tobytes() for a in affine_inputs]
    report = gradcheck.check_layer(affine_forward, affine_backward, x, w, b)
    assert report.passed, str(report)
    assert [r.name for r in report.results] == ["x", "w", "b"]
    assert [a.tobytes() for a in affine_inputs] == before


def test_transposed_dw_in_a_layer_is_named(affine_inputs: Any) -> None:
    x, w, b = affine_inputs
    report = gradcheck.check_layer(affine_forward, affine_backward_transposed_dw, x, w, b)
    assert [r.name for r in report.failed] == ["w"]
    assert report["w"].diagnosis.kind == "transposed"


def test_single_input_layer_returns_one_array_and_passes_at_kinks() -> None:
    x = np.array([[-1.0, 0.0, 2.0], [0.5, -0.25, 0.0]])  # exact zeros: ReLU kinks
    report = gradcheck.check_layer(relu_forward, relu_backward, x)
    assert report.passed, str(report)
    assert report["x"].kinks > 0


def test_wrong_relu_mask_is_caught() -> None:
    x = np.array([[-1.0, 0.3, 2.0], [0.5, -0.25, 1.5]])
    report = gradcheck.check_layer(relu_forward, lambda dout, cache: dout, x)
    assert not report.passed
    assert report["x"].diagnosis.kind == "mismatch"


def test_integer_and_option_inputs_are_passed_through_and_skipped() -> None:
    rng = np.random.default_rng(1)
    x, labels = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    report = gradcheck.check_layer(scale_forward, scale_backward, x, labels, {"factor": 3.0})
    assert report.passed, str(report)
    assert [r.name for r in report.results] == ["x"]


def test_same_seed_same_upstream_gradient(affine_inputs: Any) -> None:
    x, w, b = affine_inputs
    first = gradcheck.check_layer(affine_forward, affine_backward, x, w, b, seed=3)
    second = gradcheck.check_layer(affine_forward, affine_backward, x, w, b, seed=3)
    assert first.results == second.results


def test_layer_misuse_is_explained(affine_inputs: Any) -> None:
    x, w, b = affine_inputs
    with pytest.raises(TypeError, match=r"must return \(out, cache\)"):
        gradcheck.check_layer(lambda x: x, affine_backward, x)
    with pytest.raises(TypeError, match="returned 2 gradients, but the layer has 3"):
        gradcheck.check_layer(affine_forward, lambda d, c: affine_backward(d, c)[:2], x, w, b)
    with pytest.raises(TypeError, match="no floating-point array"):
        gradcheck.check_layer(lambda n: (np.zeros(2), None), affine_backward, 3)


def softmax_loss(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """cs231n's softmax_loss(x, y) -> (loss, dx)."""
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = x.shape[0]
    loss = -log_probs[np.arange(n), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    return float(loss), dx / n


def test_softmax_loss_convention_without_an_adapter() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((7, 4)), rng.integers(0, 4, 7)
    report = gradcheck.check_gradients(softmax_loss, None, x, args=(y,))
    assert report.passed, str(report)
    assert report.results[0].name == "x"

    def missing_mean(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        loss, dx = softmax_loss(x, y)
        return loss, dx * x.shape[0]

    broken = gradcheck.check_gradients(missing_mean, None, x, args=(y,))
    assert broken["x"].diagnosis.kind == "scaled"
    assert broken["x"].diagnosis.factor == pytest.approx(7.0)
