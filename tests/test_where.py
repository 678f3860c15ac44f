"""Where a gradient is wrong (issue #17), on realistic layers: each report names the
diagnosis (``confined``, ``partial``, ``rearranged``) and the part of the tensor, in the
parameter's own axis names where annotations give them; each correct twin passes. Also
what the map costs, that a budget cuts it short, and that it claims no pattern in noise.
tests/layers holds more planted bugs (tests/test_layer_family.py checks their words)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from jaxtyping import Float

import gradcheck
from tests.layers import conv, norms, recurrent

Array = np.ndarray


def rnn_forward(
    x: Float[Array, "N T D"],
    h0: Float[Array, "N H"],
    Wx: Float[Array, "D H"],
    Wh: Float[Array, "H H"],
    b: Float[Array, " H"],
) -> tuple[Array, Any]:
    """The vanilla RNN of tests/layers, with its axes named."""
    return recurrent.rnn_forward(x, h0, Wx, Wh, b)


def rnn_inputs(seed: int) -> tuple[Array, ...]:
    rng = np.random.default_rng(seed)
    n, t, d, h = 2, 6, 3, 4
    shapes = [(n, t, d), (n, h), (d, h), (h, h), (h,)]
    return tuple(0.5 * rng.standard_normal(shape) for shape in shapes)


@pytest.mark.parametrize("seed", range(3))
def test_rnn_through_time_without_the_carry_is_confined_to_earlier_steps(seed: int) -> None:
    inputs = rnn_inputs(seed)
    assert gradcheck.check_layer(rnn_forward, recurrent.rnn_backward, *inputs).passed
    report = gradcheck.check_layer(rnn_forward, recurrent.rnn_backward_no_carry, *inputs)
    x = report["x"].diagnosis
    assert x.kind == "confined", str(report)
    assert "wrong only at indices 0 to 4 of axis 1 (T) (all but the last index)" in x.message
    assert "not carried back from step t + 1" in x.message


def pool_inputs(seed: int) -> tuple[Array, dict[str, int]]:
    x = np.random.default_rng(seed).standard_normal((4, 4, 7, 7))  # 3x3 windows, stride 2
    return x, {"pool_height": 3, "pool_width": 3, "stride": 2}


@pytest.mark.parametrize("seed", range(3))
def test_overlapping_max_pool_that_assigns_is_confined_to_shared_entries(seed: int) -> None:
    x, pool = pool_inputs(seed)
    forward = conv.max_pool_forward_naive
    assert gradcheck.check_layer(forward, conv.max_pool_backward_naive, x, pool).passed
    report = gradcheck.check_layer(forward, conv.max_pool_backward_assigns, x, pool, full=True)
    words = report["x"].diagnosis.message
    assert report["x"].diagnosis.kind == "confined", str(report)
    # Rows or columns 2 and 4: the entries two neighbouring windows share.
    assert "where the index along axis 2 or axis 3 is a multiple of 2" in words
    assert "(2, 4)" in words
    assert "add up (+=), not overwrite each other (=)" in words


def test_a_missing_per_example_normalisation_is_partial_along_the_batch_axis() -> None:
    rng = np.random.default_rng(0)
    x, gamma, beta = rng.standard_normal((4, 5)), rng.standard_normal(5), rng.standard_normal(5)
    params = {"eps": 1e-5}
    forward = norms.layernorm_forward
    assert gradcheck.check_layer(forward, norms.layernorm_backward, x, gamma, beta, params).passed
    report = gradcheck.check_layer(
        forward,
        norms.layernorm_backward_no_inv_std,
        x,
        gamma,
        beta,
        params,
        axes={"x": "N D"},
    )
    assert [r.name for r in report.failed] == ["x"]
    assert report["x"].diagnosis.kind == "partial", str(report)
    assert "differs between the indices of axis 0 (N)" in report["x"].diagnosis.message


def test_one_lstm_gate_wrong_is_confined_to_its_block() -> None:
    rng = np.random.default_rng(1)
    n, d, h = 4, 5, 6
    x, prev_h, prev_c = (rng.standard_normal(s) for s in [(n, d), (n, h), (n, h)])
    wx, wh, b = rng.standard_normal((d, 4 * h)), rng.standard_normal((h, 4 * h)), np.zeros(4 * h)
    inputs = (x, prev_h, prev_c, 0.3 * wx, 0.3 * wh, b)
    forward = recurrent.lstm_step_forward
    assert gradcheck.check_layer(forward, recurrent.lstm_step_backward, *inputs).passed
    wrong = recurrent.lstm_step_backward_output_gate_tanh_slope
    report = gradcheck.check_layer(forward, wrong, *inputs)
    for name in ("Wx", "Wh", "b"):
        assert report[name].diagnosis.kind == "confined", str(report)
        assert "block 3 of 4 equal blocks" in report[name].diagnosis.message
        assert "(indices 12 to 17)" in report[name].diagnosis.message


def quadratic(n: int, seed: int = 0) -> tuple[Any, Array, Array]:
    """loss(w) = Σ c·w² / 2 over one large parameter, its point and its gradient."""
    rng = np.random.default_rng(seed)
    c, w = rng.uniform(0.5, 2.0, n), rng.standard_normal(n)

    def loss(p: dict[str, Array]) -> float:
        return float(np.sum(c * p["w"].reshape(-1) ** 2) / 2)

    return loss, w, c * w


def test_one_wrong_entry_of_a_large_parameter_is_found_by_halving() -> None:
    loss, w, right = quadratic(3000)
    wrong = right.copy()
    wrong[1234] *= 1.5
    before = w.copy()
    report = gradcheck.check_gradients(loss, {"w": wrong}, {"w": w})
    message = report["w"].diagnosis.message
    assert report["w"].diagnosis.kind == "confined", str(report)
    assert "wrong only at dw[1234], and right at every other entry" in message
    assert "entries probed and the rest halved" in message
    assert report.loss_calls < 400  # a few dozen probes, not one per entry (3000)
    assert w.tobytes() == before.tobytes()


def test_two_entries_exchanged_in_a_large_parameter_are_named() -> None:
    loss, w, right = quadratic(500, seed=1)
    wrong = right.copy()
    wrong[[17, 301]] = wrong[[301, 17]]
    report = gradcheck.check_gradients(loss, {"w": wrong}, {"w": w})
    assert report["w"].diagnosis.kind == "rearranged", str(report)
    assert "two entries exchanged: dw[17] and dw[301]" in report["w"].diagnosis.message


def test_the_map_says_what_it_cost_and_a_budget_cuts_it_short() -> None:
    loss, w, right = quadratic(400, seed=2)
    wrong = right + 0.3 * np.random.default_rng(3).standard_normal(400)  # wrong everywhere
    report = gradcheck.check_gradients(loss, {"w": wrong}, {"w": w})
    said = re.search(r"\(the error map: 48 entries sampled, (\d+) more loss calls\)", str(report))
    assert said is not None, str(report)
    extra = int(said.group(1))
    assert 46 <= extra < report.loss_calls  # at least one call for each entry it added
    budget = report.loss_calls - extra + 20  # enough for the first probes, not the map
    cut = gradcheck.check_gradients(loss, {"w": wrong}, {"w": w}, max_calls=budget)
    assert cut["w"].outcome == "failed"
    assert f"cut short: the budget of {budget} loss calls ran out" in cut["w"].diagnosis.message
    assert cut.loss_calls <= budget


@pytest.mark.parametrize("seed", range(5))
def test_noise_over_a_whole_tensor_is_never_given_a_pattern(seed: int) -> None:
    loss, w, right = quadratic(600, seed=seed)
    wrong = right * (1 + 0.2 * np.random.default_rng(seed + 10).standard_normal(600))
    report = gradcheck.check_gradients(loss, {"w": wrong.reshape(20, 30)}, {"w": w.reshape(20, 30)})
    assert report["w"].diagnosis.kind == "mismatch", str(report)
    assert "entries sampled, in no part beyond chance" in report["w"].diagnosis.message


def test_axes_names_must_fit_the_parameters() -> None:
    loss, w, right = quadratic(6)
    params, grads = {"w": w.reshape(2, 3)}, {"w": right.reshape(2, 3)}
    with pytest.raises(ValueError, match="gives w 3 axis names"):
        gradcheck.check_gradients(loss, grads, params, axes={"w": "N T D"})
    with pytest.raises(ValueError, match="not a parameter"):
        gradcheck.check_gradients(loss, grads, params, axes={"v": "N T"})
    with pytest.raises(TypeError, match="mapping of parameter name"):
        gradcheck.check_gradients(loss, grads, params, axes=["N", "T"])  # type: ignore[arg-type]
    assert gradcheck.check_gradients(loss, grads, params, axes={"w": ("rows", "cols")}).passed


def test_check_layer_takes_axes_given_over_its_annotations() -> None:
    inputs = rnn_inputs(0)
    wrong = recurrent.rnn_backward_no_carry
    report = gradcheck.check_layer(rnn_forward, wrong, *inputs, axes={"x": "batch time feature"})
    assert "of axis 1 (time) (all but the last index)" in report["x"].diagnosis.message
    assert (
        "axis 1 (T)"
        in gradcheck.check_layer(rnn_forward, wrong, *inputs, axes=None)["x"].diagnosis.message
    )
    with pytest.raises(TypeError, match="mapping of parameter name"):
        gradcheck.check_layer(rnn_forward, wrong, *inputs, axes="N T D")


@pytest.mark.parametrize("seed", range(3))
def test_many_scattered_wrong_entries_are_listed_as_found_not_given_a_part(seed: int) -> None:
    loss, w, right = quadratic(2000, seed=seed)
    wrong = right.copy()
    scattered = np.random.default_rng(seed).choice(2000, size=30, replace=False)
    wrong[scattered] *= 1.5
    report = gradcheck.check_gradients(loss, {"w": wrong.reshape(40, 50)}, {"w": w.reshape(40, 50)})
    message = report["w"].diagnosis.message
    assert report["w"].diagnosis.kind == "mismatch", str(report)
    # Halving stops after 8 wrong entries or 96 probes, and lists the first it found.
    listed = re.search(r"halving found (\d+) wrong entries \(\[(\d+), (\d+)\]", message)
    assert listed is not None, message
    assert 1 <= int(listed.group(1)) <= 9
    assert 50 * int(listed.group(2)) + int(listed.group(3)) in scattered  # one of the 30


def test_a_missing_gradient_through_the_mean_is_partial_along_the_batch_axis() -> None:
    rng = np.random.default_rng(4)
    x, gamma, beta = rng.standard_normal((6, 4)), rng.standard_normal(4), rng.standard_normal(4)
    params = {"mode": "train"}
    forward = norms.batchnorm_forward
    assert gradcheck.check_layer(forward, norms.batchnorm_backward, x, gamma, beta, params).passed
    wrong = norms.batchnorm_backward_no_path_through_mean
    report = gradcheck.check_layer(forward, wrong, x, gamma, beta, params, axes={"x": "N D"})
    assert [r.name for r in report.failed] == ["x"]
    assert report["x"].diagnosis.kind == "partial", str(report)
    assert "the same at every index of axis 0 (N)" in report["x"].diagnosis.message
    assert "the gradient through the mean" in report["x"].diagnosis.message


def test_directions_only_maps_nothing() -> None:
    loss, w, right = quadratic(400, seed=5)
    wrong = right * (1 + 0.2 * np.random.default_rng(6).standard_normal(400))
    mapped = gradcheck.check_gradients(loss, {"w": wrong}, {"w": w})
    plain = gradcheck.check_gradients(loss, {"w": wrong}, {"w": w}, entries=0)
    assert plain["w"].outcome == mapped["w"].outcome == "failed"
    assert "error map" in mapped["w"].diagnosis.message
    assert "error map" not in plain["w"].diagnosis.message
    assert plain.loss_calls < mapped.loss_calls


def test_one_unit_of_a_large_weight_is_found_by_halving_its_slices() -> None:
    rng = np.random.default_rng(0)
    c, w = rng.uniform(0.5, 2.0, (30, 50)), rng.standard_normal((30, 50))

    def loss(p: dict[str, Array]) -> float:
        return float(np.sum(c * p["W"] ** 2) / 2)

    wrong = c * w
    wrong[:, 40] = 0.0  # hidden unit 40's column never written: 30 wrong entries
    report = gradcheck.check_gradients(loss, {"W": wrong}, {"W": w}, axes={"W": "D H"})
    message = report["W"].diagnosis.message
    assert report["W"].diagnosis.kind == "confined", str(report)
    assert "dW is wrong only at index 40 of axis 1 (H), and right everywhere else" in message
    assert "then halving the slices along axis 1" in message


def test_two_entries_swapped_among_kinks_are_never_given_a_part_or_a_factor() -> None:
    """The forum net at h = 1,000: halving W1 (2, 1000) meets ReLU kinks and cannot
    finish, and the sample holds neither swapped entry. Nothing may then be named: not a
    factor that 'fits' a map with no wrong entry, not row 0 (half the tensor)."""
    from reference_nets.data import spiral
    from reference_nets.two_layer_relu import row_major as net

    rng = np.random.default_rng(0)
    x, y = spiral(400, 2, noise=0.5, rng=rng, layout="row_major")
    params = net.init_params(d_in=2, hidden=1000, classes=2, rng=rng)
    grads = net.gradients(params, x, y, 0.0)
    flat = grads["W1"].reshape(-1)
    i, j = (int(k) for k in np.random.default_rng(102).choice(flat.size, 2, replace=False))
    flat[i], flat[j] = flat[j], flat[i]
    report = gradcheck.check_gradients(net.loss, grads, params, args=(x, y), seed=2)
    assert report["W1"].outcome == "failed"
    assert report["W1"].diagnosis.kind in ("rearranged", "mismatch"), str(report)


def masked_mean_forward(x: Float[Array, "N T D"], lengths: Array) -> tuple[Array, Any]:
    """Each sequence's mean over its own steps, t < lengths[n]; later steps are padding."""
    valid = (np.arange(x.shape[1]) < lengths[:, None])[:, :, None]
    return (x * valid).sum(axis=1) / lengths[:, None], (valid, lengths)


def masked_mean_backward(dout: Array, cache: Any) -> Array:
    valid, lengths = cache
    return valid * (dout / lengths[:, None])[:, None, :]


def masked_mean_backward_pads_too(dout: Array, cache: Any) -> Array:
    """Bug: the padded steps get the mean's gradient as well."""
    valid, lengths = cache
    return np.broadcast_to((dout / lengths[:, None])[:, None, :], valid.shape[:2] + dout.shape[1:])


@pytest.mark.parametrize("seed", range(3))
def test_a_gradient_at_padded_steps_is_confined_to_where_the_loss_does_not_look(
    seed: int,
) -> None:
    """The padded steps are no fixed slice (each sequence has its own length), but the
    loss does not change at all when they move: that part is named, with its cause."""
    rng = np.random.default_rng(seed)
    x, lengths = rng.standard_normal((6, 9, 4)), rng.integers(2, 8, size=6)
    forward = masked_mean_forward
    assert gradcheck.check_layer(forward, masked_mean_backward, x, lengths).passed
    report = gradcheck.check_layer(forward, masked_mean_backward_pads_too, x, lengths)
    dx = report["x"].diagnosis
    assert dx.kind == "confined", str(report)
    assert "dx is wrong only where the loss does not depend on it" in dx.message
    assert "apply the forward's mask to the gradient too" in dx.message


def test_a_gradient_wrong_also_where_the_loss_looks_is_not_confined_to_padding() -> None:
    rng = np.random.default_rng(0)
    x, lengths = rng.standard_normal((6, 9, 4)), rng.integers(2, 8, size=6)

    def pads_and_doubles(dout: Array, cache: Any) -> Array:
        return 2 * masked_mean_backward_pads_too(dout, cache)

    report = gradcheck.check_layer(masked_mean_forward, pads_and_doubles, x, lengths)
    assert report["x"].outcome == "failed"
    assert "does not depend on it" not in report["x"].diagnosis.message, str(report)


def test_a_tensor_wrong_at_most_entries_is_not_listed_as_a_few() -> None:
    """8 of 10 entries wrong (two right by chance, their errors under the tolerance) is
    no part of the tensor: the map says how many are wrong instead."""
    target = np.arange(1.0, 11.0).reshape(2, 5)

    def loss(p: dict[str, Array]) -> float:
        return float(np.sum((p["W"] - target) ** 2) / 2)

    w = np.zeros((2, 5))
    grads = w - target
    grads.ravel()[2:] *= 1.3  # every entry but the first two 30% too large
    report = gradcheck.check_gradients(loss, {"W": grads}, {"W": w})
    assert report["W"].diagnosis.kind == "mismatch", str(report)
    assert "wrong in 8 of 10 entries" in report["W"].diagnosis.message
