"""check_gradients on the seeds' own networks: correct code passes, each bug is named.

The forum net (two-layer ReLU + softmax, 2 classes × 400 spiral points, hidden 1000) and
the Code Review net (three-layer sigmoid + squared loss, 3 → 4 → 4 → 2, batch 5), each in
both layouts. Bugs are applied to the correct gradients the way they arise in code: a
flipped sign, a missing 1/N, a transposed product, a dropped keepdims, a batch axis never
summed, a gradient never written, a ReLU mask forgotten, an L2 term's reg·W forgotten or
added twice.
"""

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck._check.fit import fit_regularisation
from gradcheck._check.joint import stands_in
from gradcheck._numerics.probe import Probe
from gradcheck._numerics.stencil import Verdict
from reference_nets import linear_softmax, three_layer_sigmoid, two_layer_relu
from reference_nets._code_review_losses import squared_loss_norm_axis0, squared_loss_norm_axis1
from reference_nets._experiments import COURSE_NET, make_problem
from reference_nets.data import spiral

Grads = dict[str, np.ndarray]
LAYOUTS = ("row_major", "column_major")


@dataclass
class Net:
    """One net in one layout, with its data, parameters and correct gradients."""

    module: ModuleType
    layout: str
    X: np.ndarray
    y: np.ndarray
    params: dict[str, np.ndarray]

    def loss(self, params: dict[str, np.ndarray]) -> float:
        return float(self.module.loss(params, self.X, self.y))

    def grads(self) -> Grads:
        return dict(self.module.gradients(self.params, self.X, self.y))

    @property
    def batch_axis(self) -> int:
        return 0 if self.layout == "row_major" else 1


def forum_net(layout: str, seed: int = 0, hidden: int = 1000) -> Net:
    rng = np.random.default_rng(seed)
    X, y = spiral(400, 2, noise=0.5, rng=rng, layout=layout)
    module = getattr(two_layer_relu, layout)
    params = module.init_params(d_in=2, hidden=hidden, classes=2, rng=rng)
    return Net(module, layout, X, y, params)


def code_review_net(layout: str, seed: int = 0) -> Net:
    rng = np.random.default_rng(seed)
    module = getattr(three_layer_sigmoid, layout)
    params = module.init_params(d_in=3, hidden1=4, hidden2=4, d_out=2, rng=rng)
    X = rng.random((5, 3))
    targets = rng.standard_normal((5, 2))
    if layout == "column_major":
        X, targets = X.T.copy(), targets.T.copy()
    return Net(module, layout, X, targets, params)


@pytest.fixture(scope="module", params=LAYOUTS)
def forum(request: pytest.FixtureRequest) -> Net:
    return forum_net(request.param)


@pytest.fixture(scope="module", params=LAYOUTS)
def code_review(request: pytest.FixtureRequest) -> Net:
    return code_review_net(request.param)


# --------------------------------------------------------------------- correct code


def test_forum_net_passes_within_100_loss_calls(forum: Net) -> None:
    """The issue's budget: 5,002 parameters checked correctly in at most 100 loss calls."""
    report = gradcheck.check_gradients(forum.loss, forum.grads(), forum.params)
    assert report.passed, str(report)
    assert report.loss_calls <= 100
    assert [r.name for r in report.results] == ["W1", "b1", "W2", "b2"]
    assert all(r.diagnosis.kind == "ok" for r in report.results)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_nets_at_the_origin_kink_pass(layout: str) -> None:
    """The spiral's first points are the origin and b1 = 0: every hidden unit is at ReLU(0),
    so finite differences of b1 straddle a kink, and gradcheck must still pass. (In the
    2-class forum net at init the two origin points' contributions cancel exactly; in the
    3-class course net they do not, so the kink shows.)"""
    rng = np.random.default_rng(0)
    module = getattr(two_layer_relu, layout)
    X, y = spiral(100, 3, noise=0.2, rng=rng, layout=layout)
    params = module.init_params(d_in=2, hidden=100, classes=3, rng=rng)
    assert not np.any(params["b1"])
    assert np.sum(np.all(X == 0, axis=0 if layout == "column_major" else 1)) == 3
    grads = module.gradients(params, X, y)
    for seed in range(3):
        report = gradcheck.check_gradients(lambda p: module.loss(p, X, y), grads, params, seed=seed)
        assert report.passed, str(report)
    # The default check may pass b1 on its quick first look, which does not measure kinks;
    # entry by entry, the kinks it passed through are seen.
    report = gradcheck.check_gradients(lambda p: module.loss(p, X, y), grads, params, full=True)
    assert report.passed, str(report)
    assert report["b1"].kinks > 0


def test_cs231n_rule_flags_the_correct_forum_net_but_gradcheck_does_not() -> None:
    """The rule of thumb "relative error < 1e-7" cries wolf on most b1 entries of the
    correct net (kinks at the origin, tiny gradients); gradcheck, entry by entry, on all of
    b1, does not."""
    net = forum_net("row_major", hidden=200)
    grads = net.grads()
    flagged = 0
    for j in range(net.params["b1"].shape[1]):
        numeric = _central_difference(net.loss, net.params, "b1", (0, j), 1e-5)
        analytic = grads["b1"][0, j]
        flagged += abs(analytic - numeric) / max(abs(analytic), abs(numeric)) > 1e-7
    assert flagged > 0.5 * net.params["b1"].size
    report = gradcheck.check_gradients(net.loss, grads, net.params, full=True)
    assert report.passed, str(report)
    assert report["b1"].probes == net.params["b1"].size


def _central_difference(
    loss: Callable[[Any], float], params: dict[str, np.ndarray], name: str, idx: Any, h: float
) -> float:
    shifted = {k: v.copy() for k, v in params.items()}
    shifted[name][idx] += h
    plus = loss(shifted)
    shifted[name][idx] -= 2 * h
    minus = loss(shifted)
    return (plus - minus) / (2 * h)


def test_code_review_net_passes(code_review: Net) -> None:
    report = gradcheck.check_gradients(code_review.loss, code_review.grads(), code_review.params)
    assert report.passed, str(report)
    assert all(r.method == "entries" for r in report.results)


def test_float32_parameters_pass(forum: Net) -> None:
    params32 = {k: v.astype(np.float32) for k, v in forum.params.items()}
    X32 = forum.X.astype(np.float32)
    grads32 = forum.module.gradients(params32, X32, forum.y)

    def loss(p: dict[str, np.ndarray]) -> float:
        return float(forum.module.loss(p, X32, forum.y))

    report = gradcheck.check_gradients(loss, grads32, params32)
    assert report.passed, str(report)


def test_saturated_sigmoids_never_fail_and_say_what_was_not_checked(code_review: Net) -> None:
    """Large weights drive every sigmoid to 0 or 1: gradients of 1e-10 and less. Those far
    below the loss's noise (1e-241 here) are unchecked, never ok; none fails."""
    params = {k: (v * 1e5 if k.startswith("W") else v + 4.0) for k, v in code_review.params.items()}
    grads = code_review.module.gradients(params, code_review.X, code_review.y)
    assert np.median(np.abs(grads["W1"])) < 1e-10
    report = gradcheck.check_gradients(code_review.loss, grads, params)
    assert not report.failed, str(report)
    hidden = {r.name for r in report.inconclusive}
    # W2, b2: 1e-241; b1: zero, the loss moving only by its rounding; W3, b3 are checked.
    assert {"W2", "b2"} <= hidden <= {"b1", "W2", "b2"}, str(report)
    assert report["W3"].passed, str(report)
    assert report["b3"].passed, str(report)
    assert not report.passed
    assert not bool(report)
    assert "could not be checked" in report.to_text(width=100).splitlines()[0]
    for name in hidden:
        assert "rounding noise" in report[name].diagnosis.message
        assert "away from saturation" in report[name].diagnosis.message
    with pytest.raises(gradcheck.GradientMismatch, match="not every one could be checked"):
        report.assert_passed()


def confident_linear_softmax(seed: int) -> Net:
    """One example, classified right with a margin of 14 to 18 between the two top scores:
    a loss of about 1e-7, computed as log(1 + δ), so resolved at an ulp of 1, not of 1e-7."""
    rng = np.random.default_rng(seed)
    d_in, classes = int(rng.integers(2, 8)), int(rng.integers(2, 7))
    W = rng.standard_normal((d_in, classes))
    X = rng.standard_normal((1, d_in))
    y = np.array([int(np.argmax(X @ W))])
    top = np.sort((X @ W)[0])[::-1]
    X = X * rng.uniform(14, 18) / (top[0] - top[1])
    params = {"W": W, "b": np.zeros((1, classes))}
    return Net(linear_softmax.row_major, "row_major", X, y, params)


# Seeds whose loss, on gradcheck's noise line, climbed exactly a whole number of its
# stairs per point: the difference table saw no noise at all (σ ≈ 1e-23 instead of 1e-16)
# and every one of these correct nets was called wrong, until the slope check.
STAIRCASE_SEEDS = [2, 32, 33, 44, 47, 55, 79, 146]


@pytest.mark.parametrize("seed", STAIRCASE_SEEDS)
def test_confident_softmax_with_a_staircase_loss_passes(seed: int) -> None:
    net = confident_linear_softmax(seed)
    assert 1e-8 < net.loss(net.params) < 1e-6
    report = gradcheck.check_gradients(net.loss, net.grads(), net.params)
    assert report.passed, str(report)
    # The noise is that of log(1 + δ): about an ulp of 1 (2.2e-16), not of the loss.
    assert report.noise > 1e-18, str(report)


@pytest.mark.parametrize("seed", STAIRCASE_SEEDS)
def test_confident_softmax_still_catches_a_doubled_db(seed: int) -> None:
    net = confident_linear_softmax(seed)
    grads = net.grads()
    grads["b"] = 2 * grads["b"]
    report = gradcheck.check_gradients(net.loss, grads, net.params)
    assert [r.name for r in report.failed] == ["b"], str(report)
    assert report["b"].diagnosis.kind == "scaled", str(report)


def test_exact_minimum_passes(code_review: Net) -> None:
    """Targets equal to the predictions: loss 0, gradient exactly 0."""
    targets = code_review.module.forward(code_review.params, code_review.X).predictions.copy()
    grads = code_review.module.gradients(code_review.params, code_review.X, targets)

    def loss(p: dict[str, np.ndarray]) -> float:
        return float(code_review.module.loss(p, code_review.X, targets))

    assert loss(code_review.params) == 0.0
    report = gradcheck.check_gradients(loss, grads, code_review.params)
    assert report.passed, str(report)


def test_regularised_trained_net_passes() -> None:
    """The course's 3-class net with L2 after 300 steps: kinks everywhere, reg terms."""
    rng = np.random.default_rng(5)
    for layout in LAYOUTS:
        module = getattr(two_layer_relu, layout)
        X, y = spiral(100, 3, noise=0.2, rng=rng, layout=layout)
        params = module.init_params(d_in=2, hidden=100, classes=3, rng=rng)
        for _ in range(300):
            grads = module.gradients(params, X, y, 1e-3)
            params = {k: params[k] - grads[k] for k in params}
        grads = module.gradients(params, X, y, 1e-3)
        report = gradcheck.check_gradients(
            lambda p, module=module, X=X, y=y: module.loss(p, X, y, 1e-3), grads, params
        )
        assert report.passed, f"{layout}\n{report}"


# -------------------------------------------------------------------------- bugs


def _only_failures(report: gradcheck.GradientReport) -> list[str]:
    return [r.name for r in report.results if not r.passed]


def test_negated_dW2_is_named_and_only_W2_fails(forum: Net) -> None:
    grads = forum.grads()
    grads["W2"] = -grads["W2"]
    report = gradcheck.check_gradients(forum.loss, grads, forum.params)
    assert _only_failures(report) == ["W2"]
    assert report["W2"].diagnosis.kind == "negated"
    assert report["W2"].diagnosis.factor == -1.0
    assert "dW2 has the wrong sign" in report["W2"].diagnosis.message


def test_missing_one_over_n_is_scaled_by_n_everywhere(forum: Net) -> None:
    batch = forum.X.shape[forum.batch_axis]
    grads = {k: v * batch for k, v in forum.grads().items()}
    report = gradcheck.check_gradients(forum.loss, grads, forum.params)
    assert _only_failures(report) == ["W1", "b1", "W2", "b2"]
    for result in report.results:
        assert result.diagnosis.kind == "scaled"
        assert result.diagnosis.factor == pytest.approx(batch, rel=1e-3)
        assert f"a division by {batch} is missing" in result.diagnosis.message
    # Said once for all four, not four times and again in a note.
    text = report.to_text(width=1000)
    assert f"- all 4 gradients are {batch}× the finite-difference value" in text
    assert text.count("a division by") == 1
    assert report.notes == ()


def test_scaled_factor_13_as_in_the_issue() -> None:
    """A missing 1/N with N = 13 reads factor 13.0."""
    rng = np.random.default_rng(1)
    module = two_layer_relu.row_major
    X, y = rng.standard_normal((13, 3)), rng.integers(0, 4, 13)
    params = module.init_params(d_in=3, hidden=7, classes=4, rng=rng)
    params = {k: v + 0.1 for k, v in params.items()}  # off the kinks
    grads = {k: v * 13 for k, v in module.gradients(params, X, y).items()}
    report = gradcheck.check_gradients(lambda p: module.loss(p, X, y), grads, params)
    assert {r.diagnosis.kind for r in report.results} == {"scaled"}
    assert report["W2"].diagnosis.factor == pytest.approx(13.0, rel=1e-6)


def test_transposed_dW2_with_reversed_shape(forum: Net) -> None:
    grads = forum.grads()
    grads["W2"] = grads["W2"].T.copy()
    report = gradcheck.check_gradients(forum.loss, grads, forum.params)
    assert _only_failures(report) == ["W2"]
    result = report["W2"]
    assert result.diagnosis.kind == "transposed"
    assert result.grad_shape == forum.params["W2"].shape[::-1]
    assert str(forum.params["W2"].shape) in result.diagnosis.message
    assert "dW2.T matches the finite differences" in result.diagnosis.message


def test_transposed_square_dW2_has_the_right_shape_but_is_named(code_review: Net) -> None:
    """hidden1 = hidden2 = 4: W2 is square, so the shape cannot show the transpose."""
    grads = code_review.grads()
    assert grads["W2"].shape == (4, 4)
    grads["W2"] = grads["W2"].T.copy()
    report = gradcheck.check_gradients(code_review.loss, grads, code_review.params)
    assert _only_failures(report) == ["W2"]
    assert report["W2"].diagnosis.kind == "transposed"


def test_keepdims_slip_is_a_shape_error_with_both_shapes(forum: Net) -> None:
    grads = forum.grads()
    grads["b1"] = grads["b1"].ravel()
    report = gradcheck.check_gradients(forum.loss, grads, forum.params)
    assert _only_failures(report) == ["b1"]
    result = report["b1"]
    assert result.diagnosis.kind == "shape"
    message = result.diagnosis.message
    assert str(forum.params["b1"].shape) in message
    assert str(grads["b1"].shape) in message
    assert "keepdims" in message
    assert "after that fix the values are right" in message


def test_batch_axis_not_summed_is_a_shape_error(forum: Net) -> None:
    """db2 left as the per-example (N, K) array instead of its sum over the batch."""
    probs_minus_onehot = np.ones((forum.X.shape[forum.batch_axis], 2))
    if forum.layout == "column_major":
        probs_minus_onehot = probs_minus_onehot.T
    grads = forum.grads()
    grads["b2"] = probs_minus_onehot
    report = gradcheck.check_gradients(forum.loss, grads, forum.params)
    assert report["b2"].diagnosis.kind == "shape"
    assert "not summed over the examples" in report["b2"].diagnosis.message


def test_zero_gradient(forum: Net) -> None:
    grads = forum.grads()
    grads["W1"] = np.zeros_like(grads["W1"])
    report = gradcheck.check_gradients(forum.loss, grads, forum.params)
    assert _only_failures(report) == ["W1"]
    assert report["W1"].diagnosis.kind == "zero"


def test_forgotten_relu_mask_is_a_mismatch_in_the_first_layer_only(forum: Net) -> None:
    """dhidden used without `dhidden[hidden <= 0] = 0`: dW1 and db1 are wrong, W2 and b2 not."""
    act = forum.module.forward(forum.params, forum.X)
    grads = forum.grads()
    probs = np.exp(act.scores - act.scores.max(axis=1 - forum.batch_axis, keepdims=True))
    probs /= probs.sum(axis=1 - forum.batch_axis, keepdims=True)
    onehot = np.eye(2)[forum.y]
    batch = forum.X.shape[forum.batch_axis]
    if forum.layout == "row_major":
        dscores = (probs - onehot) / batch
        dhidden = dscores @ forum.params["W2"].T  # the mask is missing here
        grads["W1"] = forum.X.T @ dhidden
        grads["b1"] = dhidden.sum(axis=0, keepdims=True)
    else:
        dscores = (probs - onehot.T) / batch
        dhidden = forum.params["W2"].T @ dscores
        grads["W1"] = dhidden @ forum.X.T
        grads["b1"] = dhidden.sum(axis=1, keepdims=True)
    report = gradcheck.check_gradients(forum.loss, grads, forum.params)
    assert _only_failures(report) == ["W1", "b1"]
    assert report["W1"].diagnosis.kind == "mismatch"


def test_nonfinite_and_missing_gradients(code_review: Net) -> None:
    grads = code_review.grads()
    grads["W3"] = grads["W3"].copy()
    grads["W3"][1, 0] = np.nan
    del grads["b3"]
    report = gradcheck.check_gradients(code_review.loss, grads, code_review.params)
    assert report["W3"].diagnosis.kind == "nonfinite"
    assert "(1, 0)" in report["W3"].diagnosis.message
    assert report["b3"].diagnosis.kind == "missing"
    assert _only_failures(report) == ["W3", "b3"]


def test_code_review_squared_loss_revisions() -> None:
    """Norm over axis 0 (per example, columns layout) agrees with the derivative
    (P − T)/batch; over axis 1 it averages over outputs instead: every gradient is
    d_out/batch = 2/5 of what that loss needs."""
    net = code_review_net("column_major")
    grads = net.grads()

    def make_loss(squared_loss: Callable[..., float]) -> Callable[[dict[str, np.ndarray]], float]:
        def loss(p: dict[str, np.ndarray]) -> float:
            return float(squared_loss(net.module.forward(p, net.X).predictions, net.y))

        return loss

    good = gradcheck.check_gradients(make_loss(squared_loss_norm_axis0), grads, net.params)
    assert good.passed, str(good)
    bad = gradcheck.check_gradients(make_loss(squared_loss_norm_axis1), grads, net.params)
    assert {r.diagnosis.kind for r in bad.results} == {"scaled"}
    for result in bad.results:
        assert result.diagnosis.factor == pytest.approx(2 / 5, rel=1e-6)
    assert "- all 6 gradients are 0.4× (= 2/5) the finite-difference value" in bad.to_text(1000)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_kinks_on_both_sides_of_x_raise_no_false_alarm(layout: str) -> None:
    """The forum net at h = 100, initialised with seed 1, with reg = 1e-3 in the loss:
    b1 = 0 puts the two origin points' units on their kinks, and a few other inputs sit
    within 1e-8 of theirs. A half-direction through b1 then crosses a kink on each side
    of x, and every average of slopes the stencil forms lies above the derivative at x
    by a few parts in 1e5, too little for a smaller step's noise to show. A pass at the
    smaller step (which crosses neither) says the discrepancy is the kinks': 240 correct
    checks, no alarm (one, at seed 66 in column-major, before that retry)."""
    net = forum_net(layout, seed=1, hidden=100)
    reg = 1e-3
    grads = dict(net.module.gradients(net.params, net.X, net.y, reg))

    def loss(params: dict[str, np.ndarray]) -> float:
        return float(net.module.loss(params, net.X, net.y, reg))

    alarms = [
        seed
        for seed in range(120)
        if not gradcheck.check_gradients(loss, grads, net.params, seed=seed).passed
    ]
    assert alarms == []


# ------------------------------------------------- small slips, and where they are


@pytest.mark.parametrize("seed", range(6))
def test_one_wrong_b1_entry_is_caught_through_kinks(seed: int) -> None:
    """One db1 entry off by 1% of the largest, at initialisation (zero biases: a direction
    through b1 crosses kinks at its largest step, so the numeric value moves a little
    with the step). The backward's value lies farther outside every attempt than they
    spread, so the failure stands instead of being called inconclusive."""
    net = forum_net("row_major")
    grads = net.grads()
    rng = np.random.default_rng(100 + seed)
    wrong = int(rng.integers(grads["b1"].size))
    grads["b1"] = grads["b1"].copy()
    grads["b1"][0, wrong] += 0.01 * np.abs(grads["b1"]).max()
    report = gradcheck.check_gradients(net.loss, grads, net.params, seed=seed)
    assert _only_failures(report) == ["b1"], str(report)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_scale_slip_of_1e_4_is_caught_at_the_largest_entry(layout: str) -> None:
    """db1 × (1 + 1e-4) on the course net at initialisation: the directions through 100
    ReLU units at zero bias are too rough to resolve it for every seed, the entry with
    the largest gradient is not."""
    rng = np.random.default_rng(1)
    module = getattr(two_layer_relu, layout)
    X, y = spiral(100, 3, noise=0.2, rng=rng, layout=layout)
    params = module.init_params(d_in=2, hidden=100, classes=3, rng=rng)
    grads = dict(module.gradients(params, X, y))
    grads["b1"] = grads["b1"] * (1 + 1e-4)
    kinds = []
    for seed in range(5):
        report = gradcheck.check_gradients(lambda p: module.loss(p, X, y), grads, params, seed=seed)
        assert _only_failures(report) == ["b1"], str(report)
        b1 = report["b1"]
        assert b1.worst_index is not None
        assert b1.analytic / b1.numeric == pytest.approx(1 + 1e-4, abs=1e-5)
        kinds.append(b1.diagnosis.kind)
    # Two points sit at the origin, so at b1 = 0 every unit is on its kink for them and a
    # random direction's central difference is off by half of each kink's jump, whatever
    # the step. Now and then that bias matches the slip to within the quick look's
    # tolerance: the direction passes, contradicts the factor, and the diagnosis is the
    # plainer `mismatch` (the worst entry above still shows the slip's size).
    assert kinds.count("scaled") >= 4, kinds


def test_correct_code_pays_for_joint_probes_only(forum: Net) -> None:
    """On correct code the three large parameters are probed together three times (through
    their largest entries, and along two random directions, each an equal share), which
    stands in for all their own probes; b2 gets its two entries. Two loss calls per probe
    when the first look agrees; the value at x, the rest of the noise line and its slope
    check take eleven at most: 11 + 3·2 + 2·2 = 21 calls (19 without the slope check, on a
    line that shows noise). Random entries wait for a failure."""
    grads = forum.grads()
    report = gradcheck.check_gradients(forum.loss, grads, forum.params)
    assert report.passed, str(report)
    assert [r.probes for r in report] == [3, 3, 3, 2]
    for name, others in (("W1", ("b1", "W2")), ("b1", ("W1", "W2")), ("W2", ("W1", "b1"))):
        assert report[name].method == "joint"
        assert report[name].together == others
        assert f"probed together with {', '.join(others)}" in report[name].diagnosis.message
    assert report["b2"].together == ()
    assert "joint" in str(report)
    assert report.loss_calls <= 21


def test_a_joint_probe_that_fails_gives_every_parameter_its_own_probes(forum: Net) -> None:
    """A wrong dW2 fails the joint probes: W1 and b1, which are right, get their two
    directions and their largest entry as if there were no joint probe, and pass."""
    grads = forum.grads()
    grads["W2"] = grads["W2"] * 1.01
    report = gradcheck.check_gradients(forum.loss, grads, forum.params)
    assert _only_failures(report) == ["W2"], str(report)
    assert report["W1"].probes == 3
    assert report["b1"].probes == 3


def test_only_parameters_of_one_dtype_are_probed_together() -> None:
    """A float32 parameter among float64 ones: the check runs on float64 copies, but the
    float64 ones are probed together and the float32 one alone (its gradient carries
    float32 rounding, which a joint probe of float64 gradients would not allow for)."""
    rng = np.random.default_rng(0)
    params = {
        "a": rng.standard_normal(40),
        "b": rng.standard_normal(50),
        "c": rng.standard_normal(60),
        "d": rng.standard_normal(40).astype(np.float32),
    }

    def loss(p: dict[str, np.ndarray]) -> float:
        d = p["d"].astype(np.float64)
        return float(
            0.5 * np.sum(p["a"] ** 2)
            + np.sum(np.sin(p["b"]))
            + 1.125 * np.sum(p["c"] ** 2)
            + 1e-3 * np.sum(d**2)
        )

    grads = {
        "a": params["a"],
        "b": np.cos(params["b"]),
        "c": 2.25 * params["c"],
        "d": (2e-3 * params["d"].astype(np.float64)).astype(np.float32),
    }
    report = gradcheck.check_gradients(loss, grads, params)
    assert report.passed, str(report)
    assert [r.together for r in report] == [("b", "c"), ("a", "c"), ("a", "b"), ()]
    assert report["d"].method == "directions"


def test_a_float32_net_gets_no_joint_probes(forum: Net) -> None:
    """In float32 noise keeps every probe far coarser than JOINT_RESOLUTION: a joint probe
    could not stand in for anything, so none is made, and no loss call is spent on one."""
    params = {k: v.astype(np.float32) for k, v in forum.params.items()}
    X = forum.X.astype(np.float32)
    grads = forum.module.gradients(params, X, forum.y)
    calls: list[int] = []

    def loss(p: dict[str, np.ndarray]) -> float:
        calls.append(1)
        return float(forum.module.loss(p, X, forum.y))

    report = gradcheck.check_gradients(loss, grads, params)
    assert all(r.together == () for r in report), str(report)
    assert [r.method for r in report] == ["directions", "directions", "directions", "entries"]
    assert [r.probes for r in report][:3] == [3, 3, 3]


def _settled(
    uncertainty: float,
    passed: bool = True,
    *,
    kink: bool = False,
    noise_limited: bool = True,
    failed_attempts: int = 0,
) -> Probe:
    verdict = Verdict(
        analytic=1.0,
        numeric=1.0 if passed else 2.0,
        low=1.0,
        high=1.0,
        error=0.0 if passed else 1.0,
        tolerance=uncertainty,
        kink=kink,
        step=1e-5,
        noise_limited=noise_limited,
    )
    return Probe(
        None,
        1.0,
        {"given": verdict},
        loss_moved=True,
        uncertainty=uncertainty,
        failed_attempts=failed_attempts,
    )


def test_a_joint_probe_vouches_only_with_k_times_the_resolution() -> None:
    """Each of K pieces is 1/K of the joint derivative: to stand in for probes of one
    parameter, the joint probe must resolve each piece to JOINT_RESOLUTION (1e-5), so it
    must be uncertain by at most 1e-5/K."""
    assert stands_in([_settled(3e-6)], 3)
    assert not stands_in([_settled(4e-6)], 3)
    assert stands_in([_settled(4e-6)], 2)
    assert not stands_in([_settled(1e-6, passed=False)], 3)
    assert not stands_in([], 3)


def test_a_joint_probe_vouches_only_for_a_clean_pass_on_a_smooth_line() -> None:
    """A pass that kinks explain (a kink seen, or estimates spread wider than noise), or
    that came after a failure at another step, could hide one piece's small mistake in
    the roughness of another: no stand-in, every parameter gets its own probes."""
    assert stands_in([_settled(1e-6)], 3)
    assert not stands_in([_settled(1e-6, kink=True)], 3)
    assert not stands_in([_settled(1e-6, noise_limited=False)], 3)
    assert not stands_in([_settled(1e-6, failed_attempts=1)], 3)


def test_a_small_slip_in_a_smooth_parameter_is_not_hidden_by_kinks_in_others() -> None:
    """Two entries of dW2 swapped, 0.4% of its largest entry apart, on the forum net at
    h = 100: W2's own direction (smooth: the loss is linear in W2 up to the softmax) shows
    it at a thousand tolerances, while a joint direction crosses b1's and W1's kinks. The
    joint probe fails its first look and passes only at a step where kinks widen its
    range: that vouches for nothing, so W2 gets its own probes and fails."""
    net = forum_net("row_major", hidden=100)
    grads = net.grads()
    swapped = grads["W2"].copy()
    swapped[76, 0], swapped[83, 0] = grads["W2"][83, 0], grads["W2"][76, 0]
    grads["W2"] = swapped
    report = gradcheck.check_gradients(net.loss, grads, net.params, seed=0)
    assert _only_failures(report) == ["W2"], str(report)
    assert report["W2"].method == "directions"


def test_a_failing_parameter_gets_entries_and_reports_one(forum: Net) -> None:
    """After a failing direction, random entries follow so the report says where."""
    grads = forum.grads()
    grads["W2"] = -grads["W2"]
    report = gradcheck.check_gradients(forum.loss, grads, forum.params)
    assert _only_failures(report) == ["W2"]
    assert report["W2"].probes == 4  # two directions, the largest entry, one random entry
    assert report["W2"].worst_index is not None
    assert report["W1"].probes == 3


def test_no_loss_value_is_computed_twice() -> None:
    """A probe that steps up and back down reuses the verdict of a step it already tried,
    and the noise line's centre is x itself, whose loss is known: on a loss smooth to its
    last bit (no determinism check needed) every loss call is at a new point."""
    net = forum_net("row_major")
    grads = net.grads()
    grads["b1"] = grads["b1"].copy()
    grads["b1"][0, 696] += 0.01 * np.abs(grads["b1"]).max()  # retried at several steps
    seen: list[bytes] = []

    def loss(params: dict[str, np.ndarray]) -> float:
        seen.append(b"".join(np.ascontiguousarray(params[k]).tobytes() for k in sorted(params)))
        return net.loss(params)

    report = gradcheck.check_gradients(loss, grads, net.params, seed=1)
    assert not report.passed
    assert len(seen) == report.loss_calls
    assert len(set(seen)) == len(seen)


# ------------------------------------------- the gradient of an L2 term, missing or twice

REG = 1e-3


def _regularised(net_name: str, layout: str) -> tuple[Callable[[Any], float], Grads, Grads]:
    """The loss with ½·REG·ΣW², the correct gradients with REG·W, and the parameters: the
    course net (3 classes, hidden 100, its own reg 1e-3) or the forum net (hidden 1000)."""
    if net_name == "course":
        problem = make_problem(COURSE_NET, layout=layout, seed=0)
        module, X, y, params = problem.net, problem.X, problem.y, problem.initial_params
    else:
        net = forum_net(layout)
        module, X, y, params = net.module, net.X, net.y, net.params
    grads = dict(module.gradients(params, X, y, REG))
    return (lambda p: module.loss(p, X, y, REG)), grads, params


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("net_name", ["course", "forum"])
def test_regularised_nets_pass(net_name: str, layout: str) -> None:
    loss, grads, params = _regularised(net_name, layout)
    report = gradcheck.check_gradients(loss, grads, params)
    assert report.passed, str(report)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("net_name", ["course", "forum"])
def test_missing_reg_gradient_is_named_with_its_coefficient(net_name: str, layout: str) -> None:
    """`+ reg * W` forgotten in dW1 and dW2: off by reg·W, neither a scale nor a sign."""
    loss, grads, params = _regularised(net_name, layout)
    for name in ("W1", "W2"):
        grads[name] = grads[name] - REG * params[name]
    report = gradcheck.check_gradients(loss, grads, params)
    assert _only_failures(report) == ["W1", "W2"], str(report)
    for name in ("W1", "W2"):
        diagnosis = report[name].diagnosis
        assert diagnosis.kind == "regularisation", str(report)
        assert diagnosis.factor == REG  # snapped to the round number
        assert diagnosis.message.startswith(
            f"d{name} differs from the finite differences by 0.001·{name} at every probe"
        )
        assert f"(reg·{name}, reg ≈ 0.001, for ½·reg·Σ{name}² in the loss) is missing" in (
            diagnosis.message
        )


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("net_name", ["course", "forum"])
def test_reg_gradient_counted_twice_is_named(net_name: str, layout: str) -> None:
    """`+ reg * W` added twice (once in the backward, once again by the caller)."""
    loss, grads, params = _regularised(net_name, layout)
    for name in ("W1", "W2"):
        grads[name] = grads[name] + REG * params[name]
    report = gradcheck.check_gradients(loss, grads, params)
    assert _only_failures(report) == ["W1", "W2"], str(report)
    for name in ("W1", "W2"):
        diagnosis = report[name].diagnosis
        assert diagnosis.kind == "regularisation", str(report)
        assert diagnosis.factor == -REG
        assert f"by −0.001·{name} at every probe" in diagnosis.message
        assert f"(reg·{name}, reg ≈ 0.001) is counted twice" in diagnosis.message


@pytest.mark.parametrize("layout", LAYOUTS)
def test_other_bugs_with_reg_are_not_called_regularisation(layout: str) -> None:
    """With the L2 term in loss and backward, a forgotten ReLU mask is still a mismatch, a
    gradient × 800 still scaled and a flipped one still negated."""
    loss, grads, params = _regularised("forum", layout)
    net = forum_net(layout)
    # The ReLU mask forgotten: the backward sees every pre-activation as positive.
    act = net.module.forward(params, net.X)
    unmasked = act._replace(hidden_pre=np.ones_like(act.hidden_pre))
    no_mask = dict(net.module.backward(unmasked, net.y, params, REG))
    report = gradcheck.check_gradients(loss, no_mask, params)
    assert _only_failures(report) == ["W1", "b1"], str(report)
    assert report["W1"].diagnosis.kind == "mismatch", str(report)
    assert report["b1"].diagnosis.kind == "mismatch", str(report)
    report = gradcheck.check_gradients(loss, grads | {"W2": grads["W2"] * 800}, params)
    assert _only_failures(report) == ["W2"]
    assert report["W2"].diagnosis.kind == "scaled"
    assert report["W2"].diagnosis.factor == pytest.approx(800)
    report = gradcheck.check_gradients(loss, grads | {"W1": -grads["W1"]}, params)
    assert _only_failures(report) == ["W1"]
    assert report["W1"].diagnosis.kind == "negated"


def test_one_probe_is_not_enough_to_name_a_reg_gradient() -> None:
    """One direction and no entries: any single probe is explained by some coefficient,
    so a missing reg·W is not named from it. (It is explained by some factor too, and the
    "scaled" diagnosis, which asks for no second probe, claims it: a separate matter.)"""
    loss, grads, params = _regularised("course", "row_major")
    grads["W1"] = grads["W1"] - REG * params["W1"]
    report = gradcheck.check_gradients(loss, grads, params, directions=1, entries=0)
    assert _only_failures(report) == ["W1"], str(report)
    assert report["W1"].probes == 1
    assert report["W1"].diagnosis.kind != "regularisation"


def _probe(analytic: float, numeric: float, x_dot_d: float, kink: bool = False) -> Probe:
    """A settled probe on a smooth line: estimates within 1e-10, tolerance 1e-9."""
    verdict = Verdict(
        analytic=analytic,
        numeric=numeric,
        low=numeric - 1e-10,
        high=numeric + 1e-10,
        error=max(abs(analytic - numeric) - 1e-10, 0.0),
        tolerance=1e-9,
        kink=kink,
        step=1e-5,
        noise_limited=True,
    )
    return Probe(
        entry=None, scale=1.0, verdicts={"given": verdict}, loss_moved=True, x_dot_d=x_dot_d
    )


def test_reg_fit_needs_two_probes_that_agree_on_one_coefficient() -> None:
    """numeric = analytic + c·x_dot_d with c = 1e-3 on two probes: c is found, rounded; one
    probe alone, a probe that disagrees, or a failing probe along which the parameter is 0
    (nothing c·x could explain) leave it unnamed. A probe that saw a kink is left out."""
    first = _probe(4.8e-5, 4.8e-5 + 1.00003e-3 * 3.5e-3, 3.5e-3)
    second = _probe(2.0e-5, 2.0e-5 - 1.00003e-3 * 2.4e-3, -2.4e-3)
    fit = fit_regularisation([first, second])
    assert fit is not None
    assert fit.value == 1e-3
    assert fit_regularisation([first]) is None
    assert fit_regularisation([first, second, _probe(1e-5, 1.2e-5, 1e-3)]) is None
    assert fit_regularisation([first, second, _probe(1e-5, 1.2e-5, 0.0)]) is None
    assert fit_regularisation([first, second, _probe(1e-5, 1.2e-5, 1e-3, kink=True)]) == fit
    assert fit_regularisation([first, _probe(1e-5, 1.2e-5, 1e-3, kink=True)]) is None
