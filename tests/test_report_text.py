"""The report as text, as a terminal shows it: fitted to the width, names of any length, a
shared diagnosis said once, the table at the REPL, and ``name in report``."""

from __future__ import annotations

import os

import numpy as np
import pytest

import gradcheck
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
    assert row.split()[:3] == ["(5,", "4)", "transposed"]
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
