"""The report as text, as a terminal shows it: fitted to the width, names of any length, a
shared diagnosis said once, the table at the REPL, and ``name in report``."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pytest

import gradcheck
from reference_nets import two_layer_relu
from tests._forum import N, forum_grads, forum_loss, make_forum

WIDTHS = [60, 80, 120]

#: Torch-style names, longer than any column a table at 80 columns can give them.
LONG_NAMES = {
    "W1": "encoder.embedding.weight",
    "b1": "encoder.embedding.bias",
    "W2": "decoder.output_projection.weight",
    "b2": "decoder.output_projection.bias",
}


def missing_one_over_n() -> gradcheck.GradientReport:
    """The forum net whose backward forgot the 1/N of the mean: every gradient N×."""
    params, X, y = make_forum()
    grads = {k: v * N for k, v in forum_grads(params, X, y).items()}
    return gradcheck.check_gradients(lambda p: forum_loss(p, X, y), grads, params)


def long_names_transposed() -> gradcheck.GradientReport:
    """The forum net under long dotted names, with the output projection transposed."""
    params, X, y = make_forum()
    grads = forum_grads(params, X, y)
    grads["W2"] = grads["W2"].T
    renamed = {LONG_NAMES[k]: v for k, v in params.items()}
    back = {v: k for k, v in LONG_NAMES.items()}
    return gradcheck.check_gradients(
        lambda p: forum_loss({back[k]: v for k, v in p.items()}, X, y),
        {LONG_NAMES[k]: v for k, v in grads.items()},
        renamed,
    )


@pytest.fixture(scope="module")
def scaled() -> gradcheck.GradientReport:
    return missing_one_over_n()


@pytest.fixture(scope="module")
def long_names() -> gradcheck.GradientReport:
    return long_names_transposed()


def assert_fits(text: str, width: int) -> None:
    """No line longer than ``width``, unless it is one word that no line could hold."""
    for line in text.splitlines():
        assert len(line) <= width or len(line.split()) == 1, (width, line)


def assert_words_whole(text: str, sentence: str) -> None:
    """Every word of ``sentence`` is a word of ``text``: wrapping split none of them."""
    words = set(text.split())
    assert [w for w in sentence.split() if w not in words] == []


# ------------------------------------------------------------------ the width


@pytest.mark.parametrize("width", WIDTHS)
def test_a_failing_report_fits_the_width_without_splitting_words(
    scaled: gradcheck.GradientReport, width: int
) -> None:
    text = scaled.to_text(width=width)
    assert_fits(text, width)
    for result in scaled:
        assert result.name in text.split()
    # The shared diagnosis, wrapped at spaces only.
    message = scaled["W1"].diagnosis.message
    assert_words_whole(text, message.split(" ", 2)[2])  # after "dW1 is"
    assert " ".join(text.split()).count("a division by 7 is missing") == 1


@pytest.mark.parametrize("width", WIDTHS)
def test_long_parameter_names_keep_the_table_within_the_width(
    long_names: gradcheck.GradientReport, width: int
) -> None:
    text = long_names.to_text(width=width)
    assert_fits(text, width)
    lines = text.splitlines()
    for name in LONG_NAMES.values():
        # Each name whole, at the start of a line: in its row, or on a line of its own.
        assert any(line.split()[:1] == [name] for line in lines), name
    assert_words_whole(text, long_names[LONG_NAMES["W2"]].diagnosis.message)


def test_at_80_columns_a_long_name_gets_a_line_of_its_own(
    long_names: gradcheck.GradientReport,
) -> None:
    lines = long_names.to_text(width=80).splitlines()
    at = lines.index("decoder.output_projection.weight")
    # Its cells follow on the next line, under the columns of the header.
    header = lines[1]
    assert header.startswith("param")
    row = lines[at + 1]
    # The shape cell shows the parameter's shape, then the gradient's.
    assert row.split()[:6] == ["(5,", "4)", "≠", "(4,", "5)", "transposed"]
    assert row.index("transposed") == header.index("verdict")


def test_at_120_columns_long_names_stay_in_their_rows(
    long_names: gradcheck.GradientReport,
) -> None:
    lines = long_names.to_text(width=120).splitlines()
    assert lines[4].split()[:2] == ["decoder.output_projection.weight", "(5,"]
    assert len(lines[1]) <= 120


def test_at_60_columns_the_table_comes_in_two_parts(scaled: gradcheck.GradientReport) -> None:
    lines = scaled.to_text(width=60).splitlines()
    headers = [line.split() for line in lines if line.startswith("param")]
    assert headers == [
        ["param", "shape", "verdict", "worst", "at"],
        ["param", "analytic", "numeric", "err/tol"],
    ]


def test_a_long_names_gradient_is_called_the_gradient_of_it(
    long_names: gradcheck.GradientReport,
) -> None:
    message = long_names[LONG_NAMES["W2"]].diagnosis.message
    assert message.startswith(
        "the gradient of decoder.output_projection.weight has shape (4, 5) but "
        "decoder.output_projection.weight has shape (5, 4): the axes are reversed"
    )
    text = long_names.to_text(width=80)
    assert "ddecoder" not in text
    # The sentence names the parameter already: no "name:" before it.
    assert "- the gradient of decoder.output_projection.weight has shape" in text


def test_sentences_are_wrapped_with_a_hanging_indent(scaled: gradcheck.GradientReport) -> None:
    lines = scaled.to_text(width=60).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("- "))
    continued = lines[start + 1 :]
    assert continued
    assert all(line.startswith("  ") and line[2] != " " for line in continued)
    # No line ends with a lone symbol: "noise ≈" stays with its value.
    assert not any(line.endswith((" ≈", " @", " =")) for line in lines)


def test_the_default_width_is_the_terminals(
    scaled: gradcheck.GradientReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    assert str(scaled) == scaled.to_text(width=60)
    monkeypatch.setenv("COLUMNS", "120")
    assert str(scaled) == scaled.to_text(width=120)
    monkeypatch.delenv("COLUMNS")

    def no_terminal(fd: int = 1) -> os.terminal_size:
        raise OSError("not a terminal")

    # Output to a file or a pipe (or under pytest's capture): 80, as shutil falls back to.
    monkeypatch.setattr(os, "get_terminal_size", no_terminal)
    assert str(scaled) == scaled.to_text(width=80)


# ------------------------------------------------------- a diagnosis said once


def test_one_missing_division_is_said_once_for_every_gradient(
    scaled: gradcheck.GradientReport,
) -> None:
    text = scaled.to_text(width=80)
    findings = [line for line in text.splitlines() if line.startswith(("- ", "* "))]
    assert len(findings) == 1
    flat = " ".join(text.split())
    assert f"- all 4 gradients are {N}× the finite-difference value at every probe" in flat
    assert flat.count("finite-difference value") == 1
    assert scaled.notes == ()
    # Each parameter's own diagnosis still says it of that parameter.
    for result in scaled:
        assert result.diagnosis.kind == "scaled"
        assert result.diagnosis.message.startswith(f"d{result.name} is {N}× the finite")


def test_a_diagnosis_shared_by_some_parameters_names_them() -> None:
    params, X, y = make_forum()
    grads = forum_grads(params, X, y)
    grads["W2"] = -grads["W2"]
    grads["b2"] = -grads["b2"]
    grads["W1"] = np.zeros_like(grads["W1"])
    report = gradcheck.check_gradients(lambda p: forum_loss(p, X, y), grads, params)
    assert [r.diagnosis.kind for r in report.failed] == ["zero", "negated", "negated"]
    flat = " ".join(report.to_text(width=80).split())
    assert "- dW1 is all zeros" in flat
    assert "- the gradients of W2 and b2 have the wrong sign: each is −1 ×" in flat
    assert flat.count("wrong sign") == 1


def test_different_diagnoses_are_said_one_by_one() -> None:
    params, X, y = make_forum()
    grads = forum_grads(params, X, y)
    grads["W2"] = 3 * grads["W2"]
    grads["b2"] = -grads["b2"]
    report = gradcheck.check_gradients(lambda p: forum_loss(p, X, y), grads, params)
    lines = [line for line in report.to_text(width=200).splitlines() if line.startswith("- ")]
    assert [line.split()[1] for line in lines] == ["dW2", "db2"]


# ------------------------------------------------------------- the REPL


def test_repr_is_the_table(scaled: gradcheck.GradientReport) -> None:
    assert repr(scaled) == str(scaled)
    assert repr(scaled).startswith("gradcheck: 4 of 4 gradients wrong (")


def test_in_asks_for_a_parameter_by_name(scaled: gradcheck.GradientReport) -> None:
    assert "W2" in scaled
    assert "W3" not in scaled
    assert 2 not in scaled
    assert scaled["b1"] in scaled
    assert all(result in scaled for result in scaled)


# ------------------------------------------- rows never contradict their verdict

Grads = dict[str, np.ndarray]
LAYOUTS = {"row_major": two_layer_relu.row_major, "column_major": two_layer_relu.column_major}


def table(report: gradcheck.GradientReport) -> list[dict[str, str]]:
    """The table's rows as {column: cell}, read from the text at a width that keeps it
    whole: each column starts where its header does."""
    lines = report.to_text(width=250).splitlines()
    columns = ["param", "shape", "verdict", "worst at", "analytic", "numeric", "err/tol"]
    starts = [lines[1].index(c) for c in columns]
    ends = [*starts[1:], None]
    cut = list(zip(columns, starts, ends, strict=True))
    return [{c: line[s:e].strip() for c, s, e in cut} for line in lines[2 : 2 + len(report)]]


def net_report(
    layout: str, size: str, slip: str, dtype: type = np.float64
) -> gradcheck.GradientReport:
    """The forum net (two-layer ReLU, softmax) in ``layout``, small (every parameter
    probed entry by entry) or large (W1, b1 and W2 probed together), with ``slip``
    planted in its gradients."""
    d, h, k, n = (3, 5, 4, 7) if size == "small" else (30, 40, 10, 20)
    rng = np.random.default_rng(0)
    shapes = {"W1": (d, h), "b1": (1, h), "W2": (h, k), "b2": (1, k)}
    params = {name: rng.standard_normal(s) / (10 if s[0] == 1 else 1) for name, s in shapes.items()}
    X, y = rng.standard_normal((n, d)), rng.integers(0, k, n)
    if layout == "column_major":  # the same net, examples in columns
        params, X = {name: v.T.copy() for name, v in params.items()}, X.T.copy()
    params, X = {name: v.astype(dtype) for name, v in params.items()}, X.astype(dtype)
    net = LAYOUTS[layout]
    grads = SLIPS[slip](net.gradients(params, X, y), 0 if layout == "row_major" else 1, n)
    return gradcheck.check_gradients(lambda p: net.loss(p, X, y), grads, params)


def _slip(name: str, how: Callable[[np.ndarray, int, int], np.ndarray]) -> Callable[..., Grads]:
    """``how`` applied to the gradient of ``name`` (with the batch axis and size)."""
    return lambda g, batch_axis, n: {**g, name: how(g[name].copy(), batch_axis, n)}


#: Planted bugs: the gradients, the batch axis and the batch size -> the slipped gradients.
SLIPS: dict[str, Callable[[Grads, int, int], Grads]] = {
    "none": lambda g, batch_axis, n: g,
    "transposed W2": _slip("W2", lambda a, axis, n: a.T),
    "keepdims b1": _slip("b1", lambda a, axis, n: a.ravel()),
    "batch axis left in b2": _slip("b2", lambda a, axis, n: np.repeat(a / n, n, axis=axis)),
    "missing 1/N": lambda g, batch_axis, n: {name: v * n for name, v in g.items()},
    "negated W2": _slip("W2", lambda a, axis, n: -a),
    "zero W1": _slip("W1", lambda a, axis, n: 0 * a),
    "entry slip W1": _slip("W1", lambda a, axis, n: a * (1 + 0.5 * (a == a.flat[5]))),
    "2% slip b1": _slip("b1", lambda a, axis, n: 1.02 * a),
}

CASES = [
    *((layout, "small", slip, np.float64) for layout in LAYOUTS for slip in SLIPS),
    *(
        (layout, "large", slip, np.float64)
        for layout in LAYOUTS
        for slip in ("none", "2% slip b1", "transposed W2", "keepdims b1", "negated W2")
    ),
    ("row_major", "small", "2% slip b1", np.float32),
    ("row_major", "small", "none", np.float16),  # float16 arrays: could not be checked
]


@pytest.mark.parametrize(("layout", "size", "slip", "dtype"), CASES, ids=str)
def test_rows_never_contradict_their_verdict(
    layout: str, size: str, slip: str, dtype: type
) -> None:
    report = net_report(layout, size, slip, dtype)
    if slip != "none":
        assert not report.passed, str(report)
    planted = slip.split()[-1]
    if planted in report:
        assert report[planted].outcome == "failed", str(report)
    for result, row in zip(report, table(report), strict=True):
        ratio = row["err/tol"]
        if result.outcome == "failed":
            assert row["verdict"] == result.diagnosis.kind != "ok"
            assert ratio == "-" or float(ratio) > 1, row
        elif result.outcome == "passed":
            assert row["verdict"] == "ok"
            # "-" only where a joint group's numbers stand on another row.
            assert float(ratio) <= 1 if ratio != "-" else row["worst at"] == "joint", row
        else:
            assert row["verdict"] == "unchecked", row


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("slip", ["transposed W2", "keepdims b1", "batch axis left in b2"])
def test_a_shape_failure_shows_both_shapes_and_no_values(layout: str, slip: str) -> None:
    report = net_report(layout, "small", slip)
    name = slip.split()[-1]
    result = report[name]
    assert result.outcome == "failed"
    assert result.grad_shape != result.shape
    row = next(row for row in table(report) if row["param"] == name)
    assert row["shape"] == f"{result.shape} ≠ {result.grad_shape}"
    # The values after the fix (transposed, reshaped, summed) would pass: none is shown.
    assert [row[c] for c in ("worst at", "analytic", "numeric", "err/tol")] == ["-"] * 4
    assert np.isnan([result.analytic, result.numeric, result.error, result.tolerance]).all()
    assert result.worst_index is None
    # What it is and what to do stay said below the table.
    assert f"- d{name} has shape {result.grad_shape} but {name} has shape" in report.to_text(250)


def test_a_square_transposed_gradient_shows_its_values_as_given() -> None:
    A = np.random.default_rng(1).standard_normal((6, 4))
    W = np.random.default_rng(2).standard_normal((4, 4))
    dW = A.T @ (1 - np.tanh(A @ W) ** 2)
    report = gradcheck.check_gradients(
        lambda p: float(np.sum(np.tanh(A @ p["W"]))), {"W": dW.T}, {"W": W}
    )
    result = report["W"]
    assert result.diagnosis.kind == "transposed"
    assert result.worst_index is not None
    # The gradient as given, not transposed (to the probe's rounding of its step).
    assert result.analytic == pytest.approx(dW.T[result.worst_index], rel=1e-6)
    assert result.numeric == pytest.approx(dW[result.worst_index], rel=1e-6)
    assert dW.T[result.worst_index] != pytest.approx(dW[result.worst_index], rel=1e-3)
    (row,) = table(report)
    assert row["shape"] == "(4, 4)"
    assert float(row["err/tol"]) > 1


@pytest.mark.parametrize("layout", LAYOUTS)
def test_parameters_checked_together_show_their_numbers_once(layout: str) -> None:
    report = net_report(layout, "large", "none")
    assert report.passed
    assert [r.name for r in report if r.method == "joint"] == ["W1", "b1", "W2"]
    rows = {row["param"]: row for row in table(report)}
    assert rows["W1"]["worst at"] == "joint"
    assert float(rows["W1"]["err/tol"]) <= 1
    for name in ("b1", "W2"):
        assert rows[name]["worst at"] == "joint"
        assert [rows[name][c] for c in ("analytic", "numeric", "err/tol")] == ["-"] * 3
    assert rows["b2"]["worst at"] != "joint"
    flat = " ".join(report.to_text(width=80).split())
    assert (
        "* W1, b1 and W2 were checked together, to save loss calls: each probe moved all "
        "three at once, so their rows share one set of numbers, shown on W1's row"
    ) in flat
    assert flat.count("checked together") == 1
    # Each result still holds the numbers of the probes that checked it.
    assert report["b1"].analytic == report["W1"].analytic


def test_two_parameters_checked_together_are_both() -> None:
    # b1's gradient has the wrong shape, so only W1 and W2 are probed together.
    report = net_report("row_major", "large", "keepdims b1")
    assert [r.name for r in report if r.method == "joint"] == ["W1", "W2"]
    flat = " ".join(report.to_text(width=80).split())
    assert "* W1 and W2 were checked together, to save loss calls: each probe moved both" in flat


@pytest.mark.parametrize(
    ("outcome", "error", "shown"),
    [("failed", 1.004, "1.004"), ("failed", 1.0000003, "1.0000003"), ("passed", 0.996, "1")],
)
def test_err_tol_is_never_rounded_across_1(outcome: str, error: float, shown: str) -> None:
    # At two digits a failing 1.004 would read "1", the largest err/tol that passes.
    kind = "ok" if outcome == "passed" else "mismatch"
    compared = {"analytic": 1.0, "numeric": 1.0 + error, "error": error, "tolerance": 1.0}
    result = gradcheck.ParameterResult(
        name="W",
        shape=(3,),
        grad_shape=(3,),
        outcome=outcome,  # type: ignore[arg-type]
        diagnosis=gradcheck.Diagnosis(kind),  # type: ignore[arg-type]
        method="entries",
        **compared,
    )
    (row,) = table(gradcheck.GradientReport((result,)))
    assert row["err/tol"] == shown
