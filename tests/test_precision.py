"""float32 and float16 code checked at float64 precision (issue #14, part 2).

The forum net (two-layer ReLU + softmax, 3 spiral arms of 100 points, hidden 100, reg 1e-3)
in both layouts, at its initialisation and after 300 steps of gradient descent (step size
1.0), with its parameters and data in float32 or float16:

* float32: the correct gradients pass and the report says they were checked in float64; a
  2% slip in any one parameter's gradient fails that parameter alone and is named
  (``scaled``, factor 1.02), whether the gradients come as arrays or as a function;
* float16: with the gradients as a function, the same for a 10% slip, and the report's
  measure of the float16 gradients' own rounding agrees with one taken here; with float16
  arrays, a slipped gradient never passes and a correct one never fails;
* a loss that casts to float32 itself: a 2% slip never passes, ``bool(report)`` is False;
* the user's arrays are never touched by the float64 re-check, and a loss that refuses
  float64 inputs is still checked, in its own dtype.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import GradientReport
from reference_nets._training import train
from reference_nets.data import spiral
from reference_nets.two_layer_relu import column_major, row_major

Arrays = dict[str, np.ndarray]
GradFunction = Callable[..., Arrays]

MODULES = {"row_major": row_major, "column_major": column_major}
LAYOUTS = tuple(MODULES)
STAGES = ("init", "trained")
PARAMS = ("W1", "b1", "W2", "b2")
FORMS = ("arrays", "function")
#: Every (layout, stage) the issue names: both layouts, at initialisation and trained.
NETS = [(layout, stage) for layout in LAYOUTS for stage in STAGES]
REG = 1e-3

#: The slips issue #14 names: 2% must be caught in float32, 10% in float16.
SLIP32 = 1.02
SLIP16 = 1.10
#: The diagnosis snaps its factor to a nearby simple fraction (51/50 for a float32-rounded
#: 1.02): a quarter of the slip tells a 2% slip from 1% or 3%, 10% from 7.5% or 12.5%.
FACTOR_TOLERANCE = 0.25


@dataclass(frozen=True)
class Forum:
    """The forum net in one layout, at one stage, in one dtype."""

    module: ModuleType
    params: Arrays
    X: np.ndarray
    y: np.ndarray
    stage: str  # "init" or "trained"

    @property
    def args(self) -> tuple[Any, ...]:
        return (self.X, self.y, REG)

    def gradients(self) -> Arrays:
        """The net's own gradients, computed in the parameters' dtype (their arrays may be
        float64, but carry that dtype's rounding)."""
        return dict(self.module.gradients(self.params, *self.args))

    def float64_gradients(self) -> Arrays:
        """The same code on float64 copies: the reference for the low-precision ones."""
        wide = {k: v.astype(np.float64) for k, v in self.params.items()}
        return dict(self.module.gradients(wide, self.X.astype(np.float64), self.y, REG))


@functools.cache
def _float64_forum(layout: str, stage: str) -> tuple[Arrays, np.ndarray, np.ndarray]:
    module = MODULES[layout]
    rng = np.random.default_rng(0)
    X, y = spiral(100, 3, noise=0.2, rng=rng, layout=layout)  # type: ignore[arg-type]
    params = module.init_params(d_in=2, hidden=100, classes=3, rng=rng)
    if stage == "trained":
        params = train(
            lambda p: module.loss(p, X, y, REG),
            lambda p: module.gradients(p, X, y, REG),
            params,
            steps=300,
            step_size=1.0,
        ).params
    return params, X, y


def forum(layout: str, stage: str, dtype: type[np.floating[Any]]) -> Forum:
    """Fresh low-precision copies each time: no test can change another's arrays."""
    params, X, y = _float64_forum(layout, stage)
    low = {k: v.astype(dtype) for k, v in params.items()}
    return Forum(MODULES[layout], low, X.astype(dtype), y.copy(), stage)


@pytest.fixture(params=NETS, ids=["-".join(n) for n in NETS])
def net32(request: pytest.FixtureRequest) -> Forum:
    """The forum net in float32, in each layout, at initialisation and trained."""
    layout, stage = request.param
    return forum(layout, stage, np.float32)


@pytest.fixture(params=NETS, ids=["-".join(n) for n in NETS])
def net16(request: pytest.FixtureRequest) -> Forum:
    """The forum net in float16, in each layout, at initialisation and trained."""
    layout, stage = request.param
    return forum(layout, stage, np.float16)


def slipped(gradients: GradFunction, name: str, factor: float) -> GradFunction:
    """``gradients`` with ``name``'s gradient ``factor`` times too large."""

    def wrong(*args: Any) -> Arrays:
        grads = dict(gradients(*args))
        grads[name] = grads[name] * factor
        return grads

    return wrong


def given_as(form: str, net: Forum, name: str | None, factor: float) -> Any:
    """The net's gradients (``name``'s slipped by ``factor``) as the user would pass them:
    arrays in the parameters' dtype, or the gradient function."""
    function = net.module.gradients if name is None else slipped(net.module.gradients, name, factor)
    if form == "function":
        return function
    dtype = next(iter(net.params.values())).dtype
    return {k: np.asarray(v).astype(dtype) for k, v in function(net.params, *net.args).items()}


def check(net: Forum, grads: Any, loss: Callable[..., Any] | None = None) -> GradientReport:
    return gradcheck.check_gradients(loss or net.module.loss, grads, net.params, args=net.args)


def outcomes(report: GradientReport) -> dict[str, str]:
    return {r.name: r.outcome for r in report}


def note_with(report: GradientReport, text: str) -> str:
    """The report's note containing ``text`` (fails, showing the report, if none does)."""
    found = [note for note in report.notes if text in note]
    assert found, f"no note says {text!r}:\n{report}"
    return found[0]


def relative_gap(low: np.ndarray, wide: np.ndarray) -> float:
    """How far a low-precision gradient is from the float64 one, relative to its largest
    entry (the measure the report states)."""
    gap = np.abs(np.asarray(low, dtype=np.float64) - wide).max()
    return float(gap / np.abs(wide).max())


# ---------------------------------------------------------------------------- float32


@pytest.mark.parametrize("form", FORMS)
def test_float32_correct_gradients_pass_checked_in_float64(net32: Forum, form: str) -> None:
    net = net32
    report = check(net, given_as(form, net, None, 1.0))
    assert report.passed, str(report)
    assert bool(report), str(report)
    note_with(report, "checked in float64")


@pytest.mark.parametrize("name", PARAMS)
@pytest.mark.parametrize("form", FORMS)
def test_float32_two_percent_slip_in_one_gradient_is_caught_and_named(
    net32: Forum, form: str, name: str
) -> None:
    net = net32
    report = check(net, given_as(form, net, name, SLIP32))
    expected = {p: "failed" if p == name else "passed" for p in PARAMS}
    if form == "arrays" and report[name].outcome == "inconclusive":
        # A gradient given as float32 arrays may carry rounding up to the loss's own per
        # step scale (P - Y formed in float32); db2 at initialisation is so small that a
        # 2% slip is within it. Never passed, and the way to a verdict is named; given as
        # a function (the other form), the slip is caught.
        assert name == "b2", str(report)
        assert "pass the gradients as a function" in report[name].diagnosis.message
        expected[name] = "inconclusive"
        assert outcomes(report) == expected, str(report)
        return
    assert outcomes(report) == expected, str(report)
    diagnosis = report[name].diagnosis
    assert diagnosis.kind == "scaled", str(report)
    assert diagnosis.factor == pytest.approx(SLIP32, abs=FACTOR_TOLERANCE * (SLIP32 - 1))
    assert not report.passed
    note_with(report, "checked in float64")


# ---------------------------------------------------------------------------- float16

REPORTED_GAP = re.compile(r"(\w+) ([0-9.e+-]+)%")


def reported_gaps(report: GradientReport) -> dict[str, float]:
    """The note's "differ from them by at most ...: W1 0.13%, b1 0.61%, ..." as fractions."""
    note = note_with(report, "differ from them by at most")
    listing = note.split("largest entry):", 1)[1]
    return {name: float(percent) / 100 for name, percent in REPORTED_GAP.findall(listing)}


def test_float16_gradient_function_passes_and_its_rounding_is_measured_truly(net16: Forum) -> None:
    net = net16
    module, X16, y = net.module, net.X, net.y
    report = gradcheck.check_gradients(
        lambda p: module.loss(p, X16, y, REG),
        lambda p: module.gradients(p, X16, y, REG),
        net.params,
    )
    assert report.passed, str(report)
    reported = reported_gaps(report)
    assert set(reported) == set(PARAMS), str(report)
    low, wide = net.gradients(), net.float64_gradients()
    for name in PARAMS:
        measured = relative_gap(low[name], wide[name])
        # The report prints two significant digits: a factor 2 either way is the claim.
        assert measured / 2 <= reported[name] <= 2 * measured, (
            f"{name}: the report says {reported[name]:.2%}, measured {measured:.2%}\n{report}"
        )


@pytest.mark.parametrize("name", PARAMS)
def test_float16_ten_percent_slip_in_a_gradient_function_is_caught(net16: Forum, name: str) -> None:
    net = net16
    module, X16, y = net.module, net.X, net.y
    report = gradcheck.check_gradients(
        lambda p: module.loss(p, X16, y, REG),
        slipped(lambda p: module.gradients(p, X16, y, REG), name, SLIP16),
        net.params,
    )
    accuracy = relative_gap(net.gradients()[name], net.float64_gradients()[name])
    result = report[name]
    if accuracy < SLIP16 - 1:  # the float16 gradient itself is finer than the slip
        assert result.outcome == "failed", f"{name} accurate to {accuracy:.2%}\n{report}"
        assert result.diagnosis.kind == "scaled", str(report)
        assert result.diagnosis.factor == pytest.approx(SLIP16, abs=FACTOR_TOLERANCE * (SLIP16 - 1))
    else:
        assert result.outcome != "passed", f"{name} accurate to {accuracy:.2%}\n{report}"
    others = {p: o for p, o in outcomes(report).items() if p != name}
    assert set(others.values()) == {"passed"}, str(report)
    assert not report.passed


@pytest.mark.parametrize("name", [None, *PARAMS])
def test_float16_arrays_never_pass_a_slip_nor_fail_a_correct_gradient(
    net16: Forum, name: str | None
) -> None:
    net = net16
    grads = given_as("arrays", net, name, SLIP16)
    assert all(g.dtype == np.float16 for g in grads.values())
    report = check(net, grads)
    for result in report:
        if result.name == name:
            assert result.outcome in ("failed", "inconclusive"), str(report)
        else:
            assert result.outcome != "failed", str(report)
        if result.outcome == "inconclusive":
            # What to do: only a function lets the check measure float16's own rounding.
            assert "pass the gradients as a function" in result.diagnosis.message, str(report)
    if name is not None:
        assert not report.passed, str(report)
        assert not bool(report), str(report)
    note_with(report, "allowing for their own float16 rounding")


# ------------------------------------------------------- a loss that casts to float32


def casting_loss(module: ModuleType) -> Callable[..., np.float32]:
    """The net's loss as float32 code that casts its inputs itself: float64 copies of the
    parameters change nothing, and it returns a float32 number."""

    def loss(params: Arrays, X: np.ndarray, y: np.ndarray, reg: float) -> np.float32:
        low = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}
        value = module.loss(low, np.asarray(X, dtype=np.float32), y, np.float32(reg))
        return np.float32(value)

    return loss


@pytest.mark.parametrize("name", [None, *PARAMS])
def test_float32_loss_that_casts_never_passes_a_slip(net32: Forum, name: str | None) -> None:
    net = net32
    loss = casting_loss(net.module)
    assert isinstance(loss(net.params, *net.args), np.float32)
    report = check(net, given_as("arrays", net, name, SLIP32), loss)
    note_with(report, "computes in float32 whatever its inputs")
    assert not any("checked in float64" in note for note in report.notes), str(report)
    for result in report:
        if result.name == name:
            assert result.outcome in ("failed", "inconclusive"), str(report)
        else:
            assert result.outcome != "failed", str(report)
    if name is not None:
        assert not bool(report), str(report)
        assert not report.passed, str(report)


# ---------------------------------------------------- the user's arrays, the fallback


def fingerprint(arrays: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Each array's dtype, shape and bytes: equal fingerprints are equal bit for bit."""
    return {k: (a.dtype, a.shape, a.tobytes()) for k, a in arrays.items()}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_float64_recheck_never_changes_the_users_arrays(
    layout: str, dtype: type[np.floating[Any]], form: str
) -> None:
    net = forum(layout, "trained", dtype)
    grads = given_as(form, net, None, 1.0)
    params_objects = dict(net.params)
    before = fingerprint({**net.params, "X": net.X, "y": net.y})
    grads_before = None if callable(grads) else fingerprint(grads)
    report = check(net, grads)
    note_with(report, "checked in float64")  # the re-check did run
    assert fingerprint({**net.params, "X": net.X, "y": net.y}) == before
    assert all(net.params[k] is v for k, v in params_objects.items())
    if grads_before is not None:
        assert fingerprint(grads) == grads_before


def test_a_loss_that_refuses_float64_is_checked_in_its_own_dtype(net32: Forum) -> None:
    net = net32

    def float32_only(params: Arrays, X: np.ndarray, y: np.ndarray, reg: float) -> float:
        assert all(v.dtype == np.float32 for v in params.values()), "float32 only"
        assert X.dtype == np.float32, "float32 only"
        return float(net.module.loss(params, X, y, reg))

    report = check(net, net.module.gradients, float32_only)
    note = note_with(report, "raised AssertionError on float64 copies")
    assert "float32" in note, str(report)
    assert not any("checked in float64" in n for n in report.notes), str(report)
    assert all(r.method != "none" and r.probes > 0 for r in report), str(report)
    assert not report.failed, str(report)
    if net.stage == "trained":  # gradients well above float32's noise: checked and passed
        assert report.passed, str(report)
