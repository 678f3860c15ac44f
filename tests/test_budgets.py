"""Checks people wait for (issue 16): budgets on loss calls and time, Ctrl-C, the progress
display and a quiet switch for losses that print, through the public API."""

from __future__ import annotations

import io
import sys
import time
import types
from typing import Any

import numpy as np
import pytest

import gradcheck

RNG = np.random.default_rng(3)
NAMES = ("W1", "b1", "W2", "b2")


def make_params() -> dict[str, np.ndarray]:
    shapes = {"W1": (3, 4), "b1": (4,), "W2": (4, 2), "b2": (2,)}
    return {name: RNG.standard_normal(shape) for name, shape in shapes.items()}


PARAMS = make_params()


def smooth_loss(p: dict[str, np.ndarray]) -> float:
    """Σ sin(W1) + ½‖b1‖² + Σ tanh(W2) + Σ b2³: each parameter on its own."""
    return float(
        np.sum(np.sin(p["W1"]))
        + 0.5 * np.sum(p["b1"] ** 2)
        + np.sum(np.tanh(p["W2"]))
        + np.sum(p["b2"] ** 3)
    )


def smooth_grads(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Right for W1, W2 and b2; b1's is twice too large, so one parameter fails."""
    return {
        "W1": np.cos(p["W1"]),
        "b1": 2.0 * p["b1"],
        "W2": 1 - np.tanh(p["W2"]) ** 2,
        "b2": 3 * p["b2"] ** 2,
    }


class Counted:
    """A loss that counts its calls; it can advance a fake clock, print, or raise."""

    def __init__(
        self,
        clock: list[float] | None = None,
        interrupt_at: int | None = None,
        sleep: float = 0.0,
    ) -> None:
        self.calls = 0
        self.clock = clock
        self.interrupt_at = interrupt_at
        self.sleep = sleep

    def __call__(self, p: dict[str, np.ndarray]) -> float:
        self.calls += 1
        if self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        if self.clock is not None:
            self.clock[0] += 1.0  # each call takes a (fake) second
        time.sleep(self.sleep)
        return smooth_loss(p)


def unbudgeted() -> gradcheck.GradientReport:
    return gradcheck.check_gradients(smooth_loss, smooth_grads(PARAMS), PARAMS)


def test_the_full_check_fails_b1_only() -> None:
    report = unbudgeted()
    assert [r.outcome for r in report.results] == ["passed", "failed", "passed", "passed"]


def assert_cut_short(report: gradcheck.GradientReport, budget: str, option: str) -> list[str]:
    """The parameters finished keep their unbudgeted outcome, the others are inconclusive
    with a message naming the budget; returns the names of those not checked."""
    full = unbudgeted()
    unchecked = []
    for result in report.results:
        if result.diagnosis.kind == "unchecked":
            assert result.outcome == "inconclusive"
            assert not result.passed
            assert f"{budget} ran out before {result.name}" in result.diagnosis.message
            assert f"raise {option}=, or check {result.name} alone" in result.diagnosis.message
            unchecked.append(result.name)
        else:
            assert result.outcome == full[result.name].outcome
    # Parameters are checked in order: the unfinished ones are the last.
    assert unchecked == list(NAMES[len(NAMES) - len(unchecked) :])
    if unchecked:
        assert not report
        assert not report.passed
        note = next(n for n in report.notes if f"{budget} ran out" in n)
        assert f"not checked (inconclusive) {', '.join(unchecked)}" in note
        done = [n for n in NAMES if n not in unchecked]
        assert f"checked {', '.join(done) or 'none'};" in note
    return unchecked


def test_max_calls_is_never_exceeded_and_cuts_the_check_short() -> None:
    needed = unbudgeted().loss_calls
    mixed = 0
    for max_calls in range(1, needed + 2):
        loss = Counted()
        report = gradcheck.check_gradients(loss, smooth_grads(PARAMS), PARAMS, max_calls=max_calls)
        assert loss.calls <= max_calls
        assert report.loss_calls == loss.calls
        unchecked = assert_cut_short(report, f"the budget of {max_calls} loss calls", "max_calls")
        mixed += 0 < len(unchecked) < len(NAMES)
        if max_calls >= needed:
            assert unchecked == []
    assert mixed > 0  # some budgets let some parameters finish and not others


def test_max_calls_message_names_the_budget() -> None:
    report = gradcheck.check_gradients(smooth_loss, smooth_grads(PARAMS), PARAMS, max_calls=1)
    assert report["W2"].diagnosis.message == (
        "dW2 not checked: the budget of 1 loss calls ran out before W2 "
        "(raise max_calls=, or check W2 alone)"
    )
    assert report.inconclusive
    assert not report.failed


def test_max_seconds_stops_calling_the_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    fake_time = types.SimpleNamespace(monotonic=lambda: clock[0])
    monkeypatch.setattr("gradcheck._check.budget.time", fake_time)
    loss = Counted(clock)
    report = gradcheck.check_gradients(loss, smooth_grads(PARAMS), PARAMS, max_seconds=40.5)
    # Calls start at 0, 1, ..., 40 s: the one due at 41 s would be past the budget.
    assert loss.calls == 41
    unchecked = assert_cut_short(report, "the budget of 40.5 s", "max_seconds")
    assert 0 < len(unchecked) < len(NAMES)


def test_max_seconds_in_real_time() -> None:
    slow_loss = Counted(sleep=0.005)
    report = gradcheck.check_gradients(slow_loss, smooth_grads(PARAMS), PARAMS, max_seconds=0.05)
    # Each call takes at least 5 ms, and none starts after 50 ms.
    assert slow_loss.calls <= 11
    assert_cut_short(report, "the budget of 0.05 s", "max_seconds")
    assert not report


def test_the_loss_at_the_parameters_is_called_whatever_the_time_budget() -> None:
    loss = Counted()
    report = gradcheck.check_gradients(loss, smooth_grads(PARAMS), PARAMS, max_seconds=1e-12)
    assert loss.calls == 1
    assert [r.outcome for r in report.results] == ["inconclusive"] * 4


def test_check_layer_passes_the_budget_through() -> None:
    w = RNG.standard_normal((3, 2))

    def forward(x: np.ndarray) -> tuple[np.ndarray, Any]:
        return np.tanh(x @ w), x

    def backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
        return (dout * (1 - np.tanh(cache @ w) ** 2)) @ w.T

    x = RNG.standard_normal((2, 3))
    assert gradcheck.check_layer(forward, backward, x)
    report = gradcheck.check_layer(forward, backward, x, max_calls=3)
    assert report.loss_calls <= 3
    assert report["x"].outcome == "inconclusive"


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("max_calls", "10", TypeError),
        ("max_calls", True, TypeError),
        ("max_calls", 2.5, TypeError),
        ("max_calls", 0, ValueError),
        ("max_seconds", "1", TypeError),
        ("max_seconds", True, TypeError),
        ("max_seconds", 0, ValueError),
        ("max_seconds", float("nan"), ValueError),
        ("progress", "yes", TypeError),
        ("progress", 1, TypeError),
        ("quiet", 1, TypeError),
        ("quiet", None, TypeError),
    ],
)
def test_options_are_validated_by_type(option: str, value: object, error: type) -> None:
    with pytest.raises(error, match=option):
        gradcheck.check_gradients(smooth_loss, smooth_grads(PARAMS), PARAMS, **{option: value})


class Model:
    """cs231n style: model.loss() reads model.params in place."""

    def __init__(self, loss: Counted) -> None:
        self.params = make_params()
        self.counted = loss

    def loss(self) -> float:
        return self.counted(self.params)


@pytest.mark.parametrize("inplace", [False, True])
def test_ctrl_c_leaves_the_arrays_unchanged_and_says_how_far(inplace: bool) -> None:
    counted = Counted(interrupt_at=30)
    model = Model(counted)
    before = {name: array.copy() for name, array in model.params.items()}
    loss = model.loss if inplace else counted
    with pytest.raises(KeyboardInterrupt) as interrupted:
        gradcheck.check_gradients(loss, smooth_grads(model.params), model.params)
    for name, array in model.params.items():
        assert array.tobytes() == before[name].tobytes(), name
    (note,) = [n for n in interrupted.value.__notes__ if n.startswith("gradcheck:")]
    assert "interrupted in loss call 30" in note
    assert "your arrays were left unchanged" in note
    checked, unchecked = note.split("parameters checked: ")[1].split("; not checked: ")
    said = {name for part in (checked, unchecked) for name in part.split(";")[0].split(", ")}
    assert said - {"none"} == set(NAMES)


class Terminal(io.StringIO):
    """A captured stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True

    def check(self, *args: Any, **kwargs: Any) -> gradcheck.GradientReport:
        """check_gradients with this as sys.stderr. Set here, in the test's call: pytest's
        capture sets sys.stderr anew when the call starts, after the fixtures ran."""
        saved, sys.stderr = sys.stderr, self
        try:
            return gradcheck.check_gradients(*args, **kwargs)
        finally:
            sys.stderr = saved


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    monkeypatch.delenv("CI", raising=False)
    return Terminal()


@pytest.mark.parametrize("with_tqdm", [True, False])
def test_progress_shows_parameters_and_loss_calls(
    terminal: Terminal, monkeypatch: pytest.MonkeyPatch, with_tqdm: bool
) -> None:
    if with_tqdm:
        pytest.importorskip("tqdm")
    else:
        monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm fails: the fallback
    report = terminal.check(smooth_loss, smooth_grads(PARAMS), PARAMS, progress=True)
    shown = terminal.getvalue()
    assert "checking W1" in shown
    assert f"{report.loss_calls} loss calls" in shown  # the final count
    assert "4/4" in shown or not with_tqdm
    if not with_tqdm:
        assert "\r" in shown
        assert "gradcheck: 4/4 done" in shown


def test_progress_off_is_silent(terminal: Terminal) -> None:
    terminal.check(smooth_loss, smooth_grads(PARAMS), PARAMS, progress=False)
    assert terminal.getvalue() == ""


def test_automatic_progress_waits_for_a_slow_check(terminal: Terminal) -> None:
    terminal.check(smooth_loss, smooth_grads(PARAMS), PARAMS)
    assert terminal.getvalue() == ""  # over in well under two seconds


def test_automatic_progress_is_off_in_ci(
    terminal: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    clock = [0.0]
    monkeypatch.setattr(
        "gradcheck._check.budget.time", types.SimpleNamespace(monotonic=lambda: clock[0])
    )
    terminal.check(Counted(clock), smooth_grads(PARAMS), PARAMS)
    assert terminal.getvalue() == ""


def test_automatic_progress_shows_a_slow_check_on_a_terminal(
    terminal: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [0.0]
    monkeypatch.setattr(
        "gradcheck._check.budget.time", types.SimpleNamespace(monotonic=lambda: clock[0])
    )
    terminal.check(Counted(clock), smooth_grads(PARAMS), PARAMS)
    assert "loss calls" in terminal.getvalue()


class _NotebookStream(io.StringIO):
    """A Jupyter kernel's stderr: no terminal."""

    def isatty(self) -> bool:
        return False


def test_automatic_progress_shows_a_slow_check_in_a_notebook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class ZMQInteractiveShell:  # the class name is what tells a Jupyter kernel
        pass

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setitem(
        sys.modules, "IPython", types.SimpleNamespace(get_ipython=ZMQInteractiveShell)
    )
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # the plain line, deterministic
    monkeypatch.setitem(sys.modules, "tqdm", None)
    clock = [0.0]
    monkeypatch.setattr(
        "gradcheck._check.budget.time", types.SimpleNamespace(monotonic=lambda: clock[0])
    )
    stream = _NotebookStream()
    saved, sys.stderr = sys.stderr, stream
    try:
        gradcheck.check_gradients(Counted(clock), smooth_grads(PARAMS), PARAMS)
    finally:
        sys.stderr = saved
    assert "loss calls" in stream.getvalue()


def test_automatic_progress_is_silent_under_capture(capsys: pytest.CaptureFixture[str]) -> None:
    gradcheck.check_gradients(smooth_loss, smooth_grads(PARAMS), PARAMS)
    assert capsys.readouterr().err == ""


def test_quiet_swallows_the_prints_of_the_loss_and_gradient_function(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def chatty_loss(p: dict[str, np.ndarray]) -> float:
        print("loss says hello")
        return smooth_loss(p)

    def chatty_grads(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        print("grads say hello")
        return smooth_grads(p)

    gradcheck.check_gradients(chatty_loss, chatty_grads, PARAMS)
    out = capsys.readouterr().out
    assert "loss says hello" in out
    assert "grads say hello" in out
    report = gradcheck.check_gradients(chatty_loss, chatty_grads, PARAMS, quiet=True)
    assert capsys.readouterr().out == ""
    print(report)  # the check's own output is not swallowed after it
    assert "b1" in capsys.readouterr().out
