"""@checked_backward on a model's method: the parameters live on ``self.params``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import GradientMismatch, GradientShapeError, checked_backward
from tests._forum import (
    D,
    H,
    K,
    N,
    Params,
    no_override,  # noqa: F401 (a fixture: see pytestmark)
)

pytestmark = pytest.mark.usefixtures("no_override")

Slip = Callable[[Params], Params]
REG = 0.1


def data(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, D)), rng.integers(0, K, size=N)


class Model:
    """A two-layer ReLU + softmax net, cs231n's TwoLayerNet layout: ``self.params``."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.params: Any = {
            "W1": rng.standard_normal((D, H)),
            "b1": 0.1 * rng.standard_normal(H),
            "W2": rng.standard_normal((H, K)),
            "b2": 0.1 * rng.standard_normal(K),
        }
        self.params["b1"][0] = -0.0  # a signed zero: "unchanged" means bit for bit

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        hidden = np.maximum(0, X @ p["W1"] + p["b1"])
        return hidden, hidden @ p["W2"] + p["b2"]

    def data_loss(self, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """The softmax loss, the hidden layer, and dscores (already divided by N)."""
        hidden, scores = self.forward(X)
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        dscores = np.exp(log_probs)
        dscores[np.arange(len(y)), y] -= 1
        return float(-log_probs[np.arange(len(y)), y].mean()), hidden, dscores / len(y)

    def grads(self, X: np.ndarray, y: np.ndarray) -> Params:
        p = self.params
        _, hidden, dscores = self.data_loss(X, y)
        dhidden = (dscores @ p["W2"].T) * (hidden > 0)
        return {
            "W1": X.T @ dhidden,
            "b1": dhidden.sum(axis=0),
            "W2": hidden.T @ dscores,
            "b2": dscores.sum(axis=0),
        }


def model_class(slip: Slip = dict, **options: Any) -> Any:
    """A model whose ``backward`` method is checked against its ``loss`` method."""

    class Net(Model):
        def loss(self, X: np.ndarray, y: np.ndarray) -> float:
            return self.data_loss(X, y)[0]

        @checked_backward(loss, **options)
        def backward(self, X: np.ndarray, y: np.ndarray) -> Params:
            return slip(self.grads(X, y))

    return Net


def snapshot(params: Params) -> dict[str, tuple[int, bytes]]:
    """Each array's identity and bytes."""
    return {name: (id(array), array.tobytes()) for name, array in params.items()}


def raised_leaving_params_unchanged(net: Model, error: type[Exception]) -> Exception:
    """What ``net.backward(*data())`` raises; ``net.params`` must be unchanged bit for bit."""
    before = snapshot(net.params)
    with pytest.raises(error) as excinfo:
        net.backward(*data())  # type: ignore[attr-defined]
    assert snapshot(net.params) == before
    return excinfo.value


def report_of(function: Any) -> gradcheck.GradientReport:
    report: gradcheck.GradientReport | None = function.gradcheck.last_report
    assert report is not None
    return report


# ------------------------------------------------------ a backward method with a loss


def test_a_correct_backward_method_passes() -> None:
    Net = model_class()
    net = Net()
    grads = net.backward(*data())
    assert set(grads) == {"W1", "b1", "W2", "b2"}
    assert repr(Net.backward.gradcheck) == "<CheckState calls=1 checks=1 last passed=True>"
    assert [r.name for r in report_of(Net.backward).results] == ["W1", "b1", "W2", "b2"]


@pytest.mark.parametrize(
    ("slip", "name", "kind"),
    [
        (lambda g: {**g, "W2": -g["W2"]}, "W2", "negated"),
        (lambda g: {**g, "b2": g["b2"] * N}, "b2", "scaled"),  # the /N forgotten in db2
        (lambda g: {**g, "W1": np.zeros_like(g["W1"])}, "W1", "zero"),
    ],
)
def test_a_wrong_gradient_in_a_method_is_named(slip: Slip, name: str, kind: str) -> None:
    net = model_class(slip)()
    with pytest.raises(GradientMismatch) as excinfo:
        net.backward(*data())
    report = excinfo.value.report
    assert [r.name for r in report.failed] == [name]
    assert report[name].diagnosis.kind == kind
    rows = [line for line in str(excinfo.value).splitlines() if line.startswith(f"{name} ")]
    assert len(rows) == 1
    assert kind in rows[0]


def test_shapes_are_checked_against_self_params_on_every_call() -> None:
    calls = [0]

    def slip(grads: Params) -> Params:
        calls[0] += 1
        return {**grads, "W2": grads["W2"].T} if calls[0] == 3 else grads

    net = model_class(slip, when="never")()
    net.backward(*data())
    net.backward(*data())
    with pytest.raises(GradientShapeError) as excinfo:
        net.backward(*data())
    assert (
        str(excinfo.value)
        .splitlines()[1]
        .startswith("- dW2 has shape (4, 5) but W2 has shape (5, 4): the axes are reversed")
    )
    assert excinfo.value.problems == (("W2", (5, 4), (4, 5), "transposed"),)


def test_a_missing_gradient_of_self_params_is_named_on_the_first_call() -> None:
    net = model_class(lambda g: {k: v for k, v in g.items() if k != "b1"})()
    with pytest.raises(GradientShapeError, match="no gradient for 'b1' \\(shape \\(5,\\)\\)"):
        net.backward(*data())


def test_self_params_are_unchanged_bit_for_bit_after_every_check() -> None:
    Net = model_class(when="always")
    net = Net()
    before, dict_id = snapshot(net.params), id(net.params)
    for _ in range(3):
        net.backward(*data())
    assert Net.backward.gradcheck.checks == 3
    assert id(net.params) == dict_id
    assert snapshot(net.params) == before


def test_self_params_are_restored_when_the_loss_raises_half_way() -> None:
    seen_perturbed = []

    class Net(Model):
        calls = 0

        def loss(self, X: np.ndarray, y: np.ndarray) -> float:
            Net.calls += 1
            if Net.calls == 6:  # inside the check, at perturbed parameters
                seen_perturbed.append(snapshot(self.params) != before)
                raise FloatingPointError("overflow in exp")
            return self.data_loss(X, y)[0]

        @checked_backward(loss)
        def backward(self, X: np.ndarray, y: np.ndarray) -> Params:
            return self.grads(X, y)

    net = Net()
    before = snapshot(net.params)
    error = raised_leaving_params_unchanged(net, FloatingPointError)
    assert seen_perturbed == [True]
    assert "your arrays were left unchanged" in error.__notes__[-1]


def test_a_loss_that_writes_into_self_params_is_reported_and_undone() -> None:
    class Net(Model):
        def loss(self, X: np.ndarray, y: np.ndarray) -> float:
            value = self.data_loss(X, y)[0]
            self.params["b2"] += 1.0  # e.g. an update step left in the loss
            return value

        @checked_backward(loss)
        def backward(self, X: np.ndarray, y: np.ndarray) -> Params:
            return self.grads(X, y)

    error = raised_leaving_params_unchanged(Net(), GradientMismatch)
    assert isinstance(error, GradientMismatch)
    assert error.report["b2"].diagnosis.kind == "mutated"


def test_params_arg_self_says_the_same() -> None:
    class Net(Model):
        def loss(self, X: np.ndarray, y: np.ndarray) -> float:
            return self.data_loss(X, y)[0]

        @checked_backward(loss, params_arg="self")
        def backward(self, X: np.ndarray, y: np.ndarray) -> Params:
            return self.grads(X, y)

    Net().backward(*data())
    assert report_of(Net.backward).passed


def test_a_list_of_self_params_is_named_from_the_unpacking() -> None:
    class Net(Model):
        def __init__(self) -> None:
            super().__init__()
            self.named = self.params
            self.params = [self.named[k] for k in ("W1", "b1", "W2", "b2")]

        def loss(self, X: np.ndarray, y: np.ndarray) -> float:
            W1, b1, W2, b2 = self.params
            self.params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
            try:
                return self.data_loss(X, y)[0]
            finally:
                self.params = [W1, b1, W2, b2]

        @checked_backward(loss)
        def backward(self, X: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
            W1, b1, W2, b2 = self.params
            self.params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
            try:
                grads = self.grads(X, y)
            finally:
                self.params = [W1, b1, W2, b2]
            return [grads["W1"], grads["b1"], grads["W2"].T, grads["b2"]]

    with pytest.raises(GradientShapeError, match="dW2 has shape \\(4, 5\\) but W2 has shape"):
        Net().backward(*data())


# ----------------------------------------- cs231n: model.loss(X, y) -> (loss, grads)


class TwoLayerNet(Model):
    """cs231n's TwoLayerNet: ``loss(X)`` returns the scores, ``loss(X, y)`` the pair."""

    forget_reg = False

    @checked_backward()
    def loss(self, X: np.ndarray, y: np.ndarray | None = None) -> Any:
        if y is None:
            return self.forward(X)[1]
        p = self.params
        data_loss = self.data_loss(X, y)[0]
        reg_loss = 0.5 * REG * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        grads = self.grads(X, y)
        if not self.forget_reg:
            grads["W1"] += REG * p["W1"]
        grads["W2"] += REG * p["W2"]
        return data_loss + reg_loss, grads


def test_the_cs231n_loss_method_is_checked_and_its_scores_pass_through() -> None:
    TwoLayerNet.loss.gradcheck.reset()
    net = TwoLayerNet()
    X, y = data()
    before = snapshot(net.params)
    assert net.loss(X).shape == (N, K)  # test time: the scores, not a backward
    assert TwoLayerNet.loss.gradcheck.calls == 0
    value, grads = net.loss(X, y)
    assert isinstance(value, float)
    assert set(grads) == set(net.params)
    assert repr(TwoLayerNet.loss.gradcheck) == "<CheckState calls=1 checks=1 last passed=True>"
    assert snapshot(net.params) == before


def test_the_cs231n_loss_method_with_a_forgotten_regularisation_fails() -> None:
    TwoLayerNet.loss.gradcheck.reset()
    net = TwoLayerNet()
    net.forget_reg = True
    with pytest.raises(GradientMismatch) as excinfo:
        net.loss(*data())
    report = excinfo.value.report
    assert [r.name for r in report.failed] == ["W1"]
    assert report["W1"].diagnosis.kind == "regularisation"
    assert report["W1"].diagnosis.factor == pytest.approx(REG, rel=1e-3)  # reg·W1 missing


# ------------------------------------------------------------------- clear refusals


def test_an_object_without_params_is_refused_with_what_to_do() -> None:
    class Net:
        def loss(self, X: np.ndarray, y: np.ndarray) -> float:
            return 0.0

        @checked_backward(loss)
        def backward(self, X: np.ndarray, y: np.ndarray) -> Params:
            return {}

    with pytest.raises(TypeError) as excinfo:
        Net().backward(*data())
    assert str(excinfo.value) == (
        "backward()'s parameters (self) are a Net, which has no .params: they must be a "
        "dict name -> array or a list of arrays, or an object whose .params is one (on a "
        "model's method: keep the parameters in self.params); set params_arg= if the "
        "parameters are another argument"
    )


def test_params_that_are_not_a_container_are_refused() -> None:
    net = model_class()()
    net.params = np.zeros(3)
    with pytest.raises(TypeError, match=r"are a Net, whose \.params is a ndarray: they must"):
        net.backward(*data())


def test_inplace_is_the_decorators_own_option() -> None:
    with pytest.raises(TypeError, match="options that check_gradients does not take: inplace"):
        checked_backward(None, inplace=True)
