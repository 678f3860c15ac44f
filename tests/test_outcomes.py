"""The third outcome (issue #14, part 1): a gradient the check could not look at is
"inconclusive", and never reads as a pass: not in the headline, the row, ``bool(report)``,
``report.passed``, ``assert_passed``, the HTML, ``@checked_backward`` or the pytest plugin.

The unchecked gradients come from real numerics, not from a stub:

* ``float32``: a loss that casts to float32 itself, with a term whose gradient (1e-6) is
  below its rounding noise (about 1e-6 for a loss of about 50);
* ``flat``: a float64 loss that is exactly flat in one parameter, whose gradient (1e-20)
  vanishes when added to a loss of about 1.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import GradientReport
from tests._forum import no_override  # noqa: F401 (a fixture, used by name)

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class Case:
    """A loss, its (correct) gradient function and parameters; ``tiny`` is the parameter
    the loss's rounding hides, ``remedy`` words of what its diagnosis says to do."""

    loss: Callable[[Arrays], Any]
    grads: Callable[[Arrays], Arrays]
    params: Arrays
    tiny: str
    remedy: str


def _float32_case() -> Case:
    rng = np.random.default_rng(1)
    params = {
        "w": (3 * rng.standard_normal(4)).astype(np.float32),
        "tiny": rng.standard_normal(3).astype(np.float32),
    }
    tiny = np.float32(1e-6)

    def loss(p: Arrays) -> np.float32:
        q = {k: np.asarray(v, dtype=np.float32) for k, v in p.items()}
        return np.float32(np.sum(q["w"] ** 2) + tiny * np.sum(q["tiny"]))

    def grads(p: Arrays) -> Arrays:
        return {"w": 2 * np.asarray(p["w"], np.float32), "tiny": np.full(3, tiny, np.float32)}

    return Case(loss, grads, params, "tiny", "no cast to float32 inside")


def _flat_case() -> Case:
    rng = np.random.default_rng(2)
    params = {"w": rng.standard_normal(3), "t": rng.standard_normal(2)}
    tiny = 1e-20  # below 1.0's half-ulp (1.1e-16): the loss does not move at all

    def loss(p: Arrays) -> float:
        return float(np.sum(p["w"] ** 2) + 1.0 + tiny * np.sum(p["t"]))

    def grads(p: Arrays) -> Arrays:
        return {"w": 2 * p["w"], "t": np.full(2, tiny)}

    return Case(loss, grads, params, "t", "check at a point away from saturation")


CASES = {"float32": _float32_case, "flat": _flat_case}


@pytest.fixture(params=list(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    return CASES[request.param]()


def inconclusive_report(case: Case) -> GradientReport:
    report = gradcheck.check_gradients(case.loss, case.grads, case.params)
    # The premise: the small gradient could not be checked, the other one could.
    outcomes = {r.name: r.outcome for r in report}
    assert outcomes == {"w": "passed", case.tiny: "inconclusive"}, str(report)
    return report


def table_rows(text: str, names: list[str]) -> dict[str, list[str]]:
    """The cells of each parameter's row in the report's text."""
    rows = {}
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0] in names and len(cells) >= 7:
            rows[cells[0]] = cells
    assert set(rows) == set(names), text
    return rows


def one_line(text: str) -> str:
    return " ".join(text.split())


# ------------------------------------------------------------------ the report itself


def test_a_report_whose_gradients_all_agree_reads_as_passed() -> None:
    """The control: what an inconclusive report must not look like."""
    case = _flat_case()
    params = {"w": case.params["w"]}
    report = gradcheck.check_gradients(lambda p: float(np.sum(p["w"] ** 2)), case.grads, params)
    assert report.passed, str(report)
    assert bool(report), str(report)
    assert report.to_text(width=200).startswith("gradcheck: all gradients ok"), str(report)
    report.assert_passed()
    assert 'data-verdict="passed"' in report._repr_html_()


def test_an_inconclusive_report_says_so_first_and_counts_as_not_passed(case: Case) -> None:
    report = inconclusive_report(case)
    text = report.to_text(width=200)
    assert text.startswith("gradcheck: 1 of 2 gradients could not be checked"), text
    assert str(report).startswith("gradcheck: 1 of 2 gradients could not be checked"), text
    assert report.passed is False, text
    assert bool(report) is False, text
    assert not report, text
    assert report.failed == (), text
    assert [r.name for r in report.inconclusive] == [case.tiny], text
    assert report[case.tiny].passed is False, text


def test_an_unchecked_row_says_unchecked_never_ok(case: Case) -> None:
    report = inconclusive_report(case)
    text = report.to_text(width=200)
    rows = table_rows(text, list(case.params))
    assert rows[case.tiny][2] == "unchecked", text
    assert "ok" not in rows[case.tiny], text
    assert rows["w"][2] == "ok", text


def test_an_unchecked_gradients_diagnosis_says_why_and_what_to_do(case: Case) -> None:
    report = inconclusive_report(case)
    diagnosis = report[case.tiny].diagnosis
    assert diagnosis.kind == "unchecked", str(report)
    assert diagnosis.factor is None
    assert f"d{case.tiny} could not be checked" in diagnosis.message, str(report)
    assert "rounding noise" in diagnosis.message, str(report)  # why
    assert case.remedy in diagnosis.message, str(report)  # what to do
    assert one_line(diagnosis.message) in one_line(str(report)), str(report)


def test_assert_passed_raises_on_an_inconclusive_report_saying_why(case: Case) -> None:
    report = inconclusive_report(case)
    with pytest.raises(gradcheck.GradientMismatch) as caught:
        report.assert_passed()
    message = str(caught.value)
    assert isinstance(caught.value, AssertionError)
    assert caught.value.report is report
    first_line = "no gradient was found wrong, but not every one could be checked"
    assert message.startswith(first_line), message
    assert "gradcheck: 1 of 2 gradients could not be checked" in message, message
    assert one_line(report[case.tiny].diagnosis.message) in one_line(message), message


def html_rows(report: GradientReport) -> list[tuple[str, str, str]]:
    """(data-verdict, background, row markup) of each row of the report's HTML table."""
    found = re.findall(
        r'(<tr data-verdict="([a-z]+)" style="background:([^;"]+);">.*?</tr>)',
        report._repr_html_(),
        flags=re.DOTALL,
    )
    return [(verdict, background, row) for row, verdict, background in found]


def test_the_html_row_of_an_unchecked_gradient_is_marked_inconclusive_not_passed(
    case: Case,
) -> None:
    report = inconclusive_report(case)
    rows = dict(zip(case.params, html_rows(report), strict=True))
    verdict, background, markup = rows[case.tiny]
    assert verdict == "inconclusive", markup
    assert ">unchecked</td>" in markup, markup
    assert ">ok</td>" not in markup, markup
    passed_verdict, pass_tint, _ = rows["w"]
    assert passed_verdict == "passed"
    assert background != pass_tint, markup  # never the pass tint
    assert "font-weight:bold" in markup, markup  # marked without colour too


def test_a_wrong_gradient_is_counted_before_the_unchecked_one() -> None:
    case = _float32_case()
    params = {**case.params, "v": np.array([1.5, -2.0], dtype=np.float32)}

    def loss(p: Arrays) -> Any:
        v = np.asarray(p["v"], dtype=np.float32)
        return case.loss(p) + np.float32(np.sum(v**3))

    def grads(p: Arrays) -> Arrays:
        v = np.asarray(p["v"], dtype=np.float32)
        return {**case.grads(p), "v": 2 * v**2}  # 3v² is right: a factor 2/3

    report = gradcheck.check_gradients(loss, grads, params)
    text = report.to_text(width=200)
    assert text.startswith("gradcheck: 1 of 3 gradients wrong, 1 could not be checked"), text
    assert [r.name for r in report.failed] == ["v"], text
    assert [r.name for r in report.inconclusive] == ["tiny"], text
    with pytest.raises(gradcheck.GradientMismatch) as caught:
        report.assert_passed()
    assert not str(caught.value).startswith("no gradient was found wrong"), str(caught.value)


# --------------------------------------------------------- the decorator and the plugin


@pytest.mark.usefixtures("no_override")
def test_checked_backward_raises_when_its_check_is_inconclusive(case: Case) -> None:
    backward = gradcheck.checked_backward(case.loss, when="always")(case.grads)
    with pytest.raises(gradcheck.GradientMismatch) as caught:
        backward(case.params)
    assert [r.name for r in caught.value.report.inconclusive] == [case.tiny]
    assert "could not be checked" in str(caught.value)
    last = backward.gradcheck.last_report
    assert last is not None
    assert not last.passed, str(last)
    assert not last.failed, str(last)


INNER_TESTS = """
import numpy as np
import gradcheck

PARAMS = {
    "w": np.array([3.0, -1.5, 2.0, 0.5], dtype=np.float32),
    "tiny": np.array([0.3, -0.7, 1.1], dtype=np.float32),
}
TINY = np.float32(1e-6)

def loss(p):
    q = {k: np.asarray(v, dtype=np.float32) for k, v in p.items()}
    return np.float32(np.sum(q["w"] ** 2) + TINY * np.sum(q["tiny"]))

def grads(p):
    return {"w": 2 * np.asarray(p["w"], np.float32), "tiny": np.full(3, TINY, np.float32)}

@gradcheck.checked_backward(loss, when="always")
def backward(p):
    return grads(p)

def test_assert_passed():
    gradcheck.check_gradients(loss, grads, PARAMS).assert_passed()

def test_truthiness():
    assert gradcheck.check_gradients(loss, grads, PARAMS)

def test_decorated_backward():
    backward(PARAMS)
"""


@pytest.mark.usefixtures("no_override")
def test_the_pytest_plugin_fails_a_test_whose_check_is_inconclusive(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = pytester.runpytest("-p", "no:hypothesispytest")
    output = "\n".join(result.outlines + result.errlines)
    result.assert_outcomes(failed=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    result.stdout.fnmatch_lines(
        ["*gradcheck: 3 gradient checks ran, 3 failed (3 of them could not check every gradient)*"]
    )
    assert "could not check every gradient" in output
    assert "1 of 2 gradients could not be checked" in output, output
    assert "all gradients ok" not in output, output
