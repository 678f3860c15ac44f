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
    # Wrong exactly where x < 0 (the mask forgotten), where the loss stays put: it says so.
    assert report["x"].diagnosis.kind == "confined"
    message = report["x"].diagnosis.message
    assert "dx is wrong only where the loss does not depend on it" in message
    assert "apply the forward's mask to the gradient too" in message


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


# ------------------------------------------------------------ the caller's arrays, untouched


def relu_backward_masking_its_cache(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    cache[cache <= 0] = 0  # the mask computed in place, on the cached input itself
    cache[cache > 0] = 1
    return dout * cache


def centering_forward(x: np.ndarray) -> tuple[np.ndarray, None]:
    x -= x.mean()  # writes into its input
    return x * 2.0, None


@pytest.mark.parametrize(
    ("forward", "backward", "writer"),
    [
        (relu_forward, relu_backward_masking_its_cache, "backward"),
        (centering_forward, lambda dout, cache: 2.0 * (dout - dout.mean()), "forward"),
    ],
)
def test_a_layer_that_writes_into_its_input_is_mutated_and_the_callers_input_is_unchanged(
    forward: Any, backward: Any, writer: str
) -> None:
    x = np.random.default_rng(3).standard_normal((4, 3))
    before = x.copy()
    report = gradcheck.check_layer(forward, backward, x)
    assert report["x"].diagnosis.kind == "mutated"
    assert f"the layer's {writer} wrote into x" in report["x"].diagnosis.message
    assert not report.passed
    assert np.array_equal(x, before)


def test_the_callers_arrays_and_options_are_unchanged_when_the_layer_raises() -> None:
    x = np.random.default_rng(4).standard_normal((3, 2))
    options = {"running_mean": np.zeros(2), "calls": 0}
    before, running = x.copy(), options["running_mean"].copy()

    def forward(x: np.ndarray, options: dict[str, Any]) -> tuple[np.ndarray, Any]:
        options["running_mean"] += x.mean(axis=0)  # legitimately updated, on a private copy
        options["calls"] += 1
        x *= 3.0
        return x, None

    def backward(dout: np.ndarray, cache: Any) -> np.ndarray:
        raise RuntimeError("not written yet")

    with pytest.raises(RuntimeError) as excinfo:
        gradcheck.check_layer(forward, backward, x, options)
    assert np.array_equal(x, before)
    assert np.array_equal(options["running_mean"], running)
    assert options["calls"] == 0
    (note,) = excinfo.value.__notes__
    assert "raised by backward() (the layer's backward), called by check_layer" in note
    assert "ndarray(3, 2)" in note


def test_a_backward_that_writes_into_dout_gets_a_note() -> None:
    def backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
        dout[cache <= 0] = 0
        return dout

    x = np.random.default_rng(5).standard_normal((4, 3))
    report = gradcheck.check_layer(relu_forward, backward, x)
    assert report.passed, str(report)
    assert any("wrote into the dout it was given" in note for note in report.notes)


# ----------------------------------------------------------------- several outputs, dicts


def squares_forward(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any]:
    """Two outputs and a cache, like an LSTM step's (next_h, next_c, cache)."""
    a = x @ w
    return np.tanh(a), a * a, (x, w, a)


def squares_backward(dtanh: np.ndarray, dsquare: np.ndarray, cache: Any) -> dict[str, Any]:
    x, w, a = cache
    da = dtanh * (1 - np.tanh(a) ** 2) + dsquare * 2 * a
    return {"x": da @ w.T, "w": x.T @ da}


def test_a_layer_with_two_outputs_and_dict_gradients_passes(affine_inputs: Any) -> None:
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    report = gradcheck.check_layer(squares_forward, squares_backward, x, w)
    assert report.passed, str(report)
    assert [r.name for r in report.results] == ["x", "w"]


def test_the_second_output_is_checked_too() -> None:
    def backward_without_the_square(dtanh: np.ndarray, dsquare: np.ndarray, cache: Any) -> Any:
        x, w, a = cache
        da = dtanh * (1 - np.tanh(a) ** 2)
        return da @ w.T, x.T @ da

    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    report = gradcheck.check_layer(squares_forward, backward_without_the_square, x, w)
    assert {r.name for r in report.failed} == {"x", "w"}


def test_outputs_says_how_many_values_are_outputs() -> None:
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    report = gradcheck.check_layer(squares_forward, squares_backward, x, w, outputs=2)
    assert report.passed, str(report)
    with pytest.raises(TypeError, match="outputs=1 means 1 outputs and a cache"):
        gradcheck.check_layer(squares_forward, squares_backward, x, w, outputs=1)


def test_a_backward_that_returns_none_is_missing_with_a_note() -> None:
    x = np.random.default_rng(9).standard_normal((4, 3))
    report = gradcheck.check_layer(relu_forward, lambda dout, cache: None, x)
    assert report["x"].diagnosis.kind == "missing"
    assert any("returned None" in note for note in report.notes)


def test_forward_and_backward_passed_the_other_way_round_are_named(affine_inputs: Any) -> None:
    x, w, b = affine_inputs
    with pytest.raises(TypeError, match="passed the other way round"):
        gradcheck.check_layer(affine_backward, affine_forward, x, w, b)


def test_an_empty_padding_slice_is_named_as_one() -> None:
    pad = 0

    def padded_forward(x: np.ndarray) -> tuple[np.ndarray, None]:
        return 2.0 * x, None

    def padded_backward(dout: np.ndarray, cache: None) -> np.ndarray:
        dx_padded = np.pad(2.0 * dout, ((0, 0), (pad, pad)))
        return dx_padded[:, pad:-pad]  # empty when pad == 0

    x = np.random.default_rng(10).standard_normal((3, 4))
    report = gradcheck.check_layer(padded_forward, padded_backward, x)
    assert report["x"].diagnosis.kind == "shape"
    assert "an axis of size 0 comes from an empty slice" in report["x"].diagnosis.message


def test_the_callers_arrays_are_unchanged_when_the_user_interrupts() -> None:
    def interrupted_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
        cache[cache <= 0] = 0  # written first, into the cache...
        raise KeyboardInterrupt  # ...then Ctrl-C

    x = np.random.default_rng(11).standard_normal((4, 3))
    before = x.copy()
    with pytest.raises(KeyboardInterrupt):
        gradcheck.check_layer(relu_forward, interrupted_backward, x)
    assert np.array_equal(x, before)


def test_a_loss_layer_passed_as_a_forward_is_pointed_to_check_gradients() -> None:
    x, y = np.random.default_rng(12).standard_normal((7, 4)), np.arange(7) % 4
    with pytest.raises(TypeError, match=r"check_gradients\(lambda x: softmax_loss\(x, y\)"):
        gradcheck.check_layer(softmax_loss, lambda dout, cache: None, x, y)
