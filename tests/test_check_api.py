"""check_gradients as a user calls it: structures, conventions, safety, misuse, the report."""

import os
import pydoc
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck._integrations import policy
from tests._forum import no_override  # noqa: F401 (a fixture)

RNG = np.random.default_rng(0)
A = RNG.standard_normal((5, 3))
B = RNG.standard_normal((4, 2))


def loss(p: dict[str, np.ndarray]) -> float:
    """A smooth two-parameter loss: Σ tanh(A·W·B) + ½‖b‖² + Σ b·W[0,:2]."""
    W, b = p["W"], p["b"]
    return float(np.sum(np.tanh(A @ W @ B)) + 0.5 * np.sum(b * b) + np.sum(b * W[0, :2]))


def grads(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    W, b = p["W"], p["b"]
    sech2 = 1 - np.tanh(A @ W @ B) ** 2
    dW = A.T @ sech2 @ B.T
    dW[0, :2] += b
    return {"W": dW, "b": b + W[0, :2]}


def params() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {"W": 0.3 * rng.standard_normal((3, 4)), "b": rng.standard_normal(2)}


def snapshot(p: dict[str, np.ndarray]) -> dict[str, bytes]:
    return {k: v.tobytes() for k, v in p.items()}


# ------------------------------------------------------------------ structures


def test_mapping_params_with_mapping_grads() -> None:
    p = params()
    report = gradcheck.check_gradients(loss, grads(p), p)
    assert report.passed, str(report)
    assert [r.name for r in report.results] == ["W", "b"]
    assert report["W"].shape == (3, 4)
    assert report["W"].method == "entries"


def test_grads_as_a_function_of_params() -> None:
    p = params()
    assert gradcheck.check_gradients(loss, grads, p).passed


def test_loss_returning_loss_and_grads_needs_no_grads_argument() -> None:
    p = params()
    report = gradcheck.check_gradients(lambda q: (loss(q), grads(q)), None, p)
    assert report.passed, str(report)
    assert gradcheck.check_gradients(lambda q: (loss(q), grads(q)), params=p).passed


def test_list_params_are_named_by_position_or_by_names() -> None:
    p = params()
    as_list = [p["W"], p["b"]]

    def list_loss(q: list[np.ndarray]) -> float:
        return loss({"W": q[0], "b": q[1]})

    g = grads(p)
    report = gradcheck.check_gradients(list_loss, [g["W"], g["b"]], as_list)
    assert [r.name for r in report.results] == ["params[0]", "params[1]"]
    assert report.passed
    named = gradcheck.check_gradients(list_loss, [g["W"], -g["b"]], as_list, names=["W", "b"])
    assert named["b"].diagnosis.kind == "negated"
    assert "db has the wrong sign" in named["b"].diagnosis.message


def test_single_array_params() -> None:
    x = np.linspace(-1, 1, 7)
    report = gradcheck.check_gradients(lambda v: float(np.sum(np.sin(v))), np.cos(x), x)
    assert report.passed
    assert report.results[0].name == "x"


def test_args_and_kwargs_are_passed_after_params() -> None:
    p = params()

    def data_loss(q: dict[str, np.ndarray], scale: float, *, shift: float) -> float:
        return scale * loss(q) + shift

    def data_grads(q: dict[str, np.ndarray], scale: float, *, shift: float) -> dict[str, Any]:
        return {k: scale * v for k, v in grads(q).items()}

    report = gradcheck.check_gradients(data_loss, data_grads, p, args=(3.0,), kwargs={"shift": 1.0})
    assert report.passed, str(report)


class Cs231nModel:
    """cs231n's convention: the model holds self.params and loss(X, y) returns (loss, grads)."""

    def __init__(self) -> None:
        self.params = params()

    def loss(self, X: np.ndarray, y: np.ndarray | None = None) -> tuple[float, dict[str, Any]]:
        return loss(self.params) + 0 * float(np.sum(X)), grads(self.params)


def test_cs231n_model_loss_is_checked_in_place_and_restored() -> None:
    model = Cs231nModel()
    before = snapshot(model.params)
    X, y = np.zeros((2, 3)), np.zeros(2, dtype=int)
    report = gradcheck.check_gradients(model.loss, None, model.params, args=(X, y))
    assert report.passed, str(report)
    assert snapshot(model.params) == before


def test_zero_argument_closure_is_checked_in_place() -> None:
    model = Cs231nModel()
    before = snapshot(model.params)
    report = gradcheck.check_gradients(
        lambda: loss(model.params), grads(model.params), model.params
    )
    assert report.passed, str(report)
    assert snapshot(model.params) == before


# ------------------------------------------------------------------ safety


def test_user_arrays_are_never_changed() -> None:
    p = params()
    g = grads(p)
    before, grads_before = snapshot(p), snapshot(g)
    gradcheck.check_gradients(loss, g, p)
    assert snapshot(p) == before
    assert snapshot(g) == grads_before


@pytest.mark.parametrize("inplace", [False, True])
def test_arrays_are_restored_when_the_loss_raises_half_way(inplace: bool) -> None:
    model = Cs231nModel()
    before = snapshot(model.params)
    calls = {"n": 0}

    def flaky() -> float:
        calls["n"] += 1
        if calls["n"] == 20:
            raise RuntimeError("boom")
        return loss(model.params)

    def flaky_by_argument(q: dict[str, np.ndarray]) -> float:
        calls["n"] += 1
        if calls["n"] == 20:
            raise RuntimeError("boom")
        return loss(q)

    with pytest.raises(RuntimeError, match="boom") as caught:
        gradcheck.check_gradients(
            flaky if inplace else flaky_by_argument, grads(model.params), model.params
        )
    assert snapshot(model.params) == before
    notes = "\n".join(caught.value.__notes__)
    assert "gradcheck: raised by the loss" in notes
    assert "your arrays were left unchanged" in notes


def test_a_loss_that_writes_into_its_input_is_reported_as_mutated() -> None:
    p = params()

    def mutating(q: dict[str, np.ndarray]) -> float:
        value = loss(q)
        q["b"] *= 0.5  # e.g. an in-place update left in the loss
        return value

    before = snapshot(p)
    report = gradcheck.check_gradients(mutating, grads(p), p)
    assert report["b"].diagnosis.kind == "mutated"
    assert "must not modify its inputs" in report["b"].diagnosis.message
    assert snapshot(p) == before


def test_nonfinite_loss_at_the_start() -> None:
    p = params()
    report = gradcheck.check_gradients(lambda q: float("nan"), grads(p), p)
    assert not report.passed
    assert {r.diagnosis.kind for r in report.results} == {"nonfinite"}


def test_loss_that_ignores_its_argument_is_explained() -> None:
    p = params()
    fixed = {k: v.copy() for k, v in p.items()}
    report = gradcheck.check_gradients(lambda q: loss(fixed), grads(p), p)
    assert not report.passed
    assert "does the loss use the parameters it is given" in report["W"].diagnosis.message


# ------------------------------------------------------------------ misuse


def test_integer_params_are_rejected() -> None:
    with pytest.raises(TypeError, match="labels, indices"):
        gradcheck.check_gradients(loss, None, {"W": np.arange(3)})


def test_non_array_params_are_rejected() -> None:
    with pytest.raises(TypeError, match=r"np\.asarray"):
        gradcheck.check_gradients(loss, None, {"W": [1.0, 2.0]})


def test_vector_loss_is_rejected() -> None:
    p = params()
    with pytest.raises(ValueError, match=r"must return a scalar.*shape \(3,\)"):
        gradcheck.check_gradients(lambda q: np.ones(3), grads(p), p)


def test_unknown_option_is_rejected() -> None:
    p = params()
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        gradcheck.check_gradients(loss, grads(p), p, tolerance=1e-3)  # type: ignore[call-arg]


def test_bad_option_values_are_rejected() -> None:
    p = params()
    with pytest.raises(ValueError, match="directions must be a whole number"):
        gradcheck.check_gradients(loss, grads(p), p, directions=-1)
    with pytest.raises(ValueError, match="both 0"):
        gradcheck.check_gradients(loss, grads(p), p, directions=0, entries=0)


def test_missing_params_and_missing_grads_are_explained() -> None:
    with pytest.raises(TypeError, match="needs params"):
        gradcheck.check_gradients(loss)
    with pytest.raises(TypeError, match="no gradients to check"):
        gradcheck.check_gradients(loss, None, params())


def test_nondeterministic_loss_is_rejected() -> None:
    p = params()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="not deterministic"):
        gradcheck.check_gradients(lambda q: loss(q) + rng.random(), grads(p), p)


def test_randomness_a_millionth_of_the_loss_is_rejected() -> None:
    """Randomness a million times smaller than the loss is still far above √ε of it (half
    its digits): the noise line shows it, and a second call at x says what it is."""
    p = params()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="not deterministic"):
        gradcheck.check_gradients(lambda q: loss(q) * (1 + 1e-6 * rng.random()), grads(p), p)


def test_randomness_below_half_the_digits_is_treated_as_noise() -> None:
    """Randomness of 1e-12 of the loss is noise like rounding: the noise line measures it,
    the tolerance allows for it, and correct gradients pass."""
    p = params()
    rng = np.random.default_rng(0)
    f0 = loss(p)
    report = gradcheck.check_gradients(lambda q: loss(q) * (1 + 1e-12 * rng.random()), grads(p), p)
    assert report.passed, str(report)
    assert report.noise > 1e-14 * f0


def test_a_loss_smooth_to_its_last_bit_is_not_called_twice_at_x() -> None:
    """A noise line with no noise above the loss's last bit is evidence enough that the
    loss is deterministic: no second call at x (it would cost a call on every check)."""
    p = params()
    at_x: list[float] = []

    def counting(q: dict[str, np.ndarray]) -> float:
        value = loss(q)
        if all(np.array_equal(q[k], p[k]) for k in p):
            at_x.append(value)
        return value

    gradcheck.check_gradients(counting, grads(p), p)
    assert len(at_x) == 1


def test_mapping_params_with_list_grads_is_rejected() -> None:
    p = params()
    with pytest.raises(TypeError, match="return a mapping with the same keys"):
        gradcheck.check_gradients(loss, [np.zeros(1)], p)


def test_extra_gradient_keys_are_noted() -> None:
    p = params()
    report = gradcheck.check_gradients(loss, {**grads(p), "X": np.zeros(3)}, p)
    assert report.passed
    assert any("X" in note for note in report.notes)


# ------------------------------------------------------------------ reproducibility and budget


def big_params() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    return {"W": 0.3 * rng.standard_normal((3, 40)), "b": rng.standard_normal(2)}


def big_loss(p: dict[str, np.ndarray]) -> float:
    return float(np.sum(np.tanh(A @ p["W"])) + 0.5 * np.sum(p["b"] ** 2))


def big_grads(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"W": A.T @ (1 - np.tanh(A @ p["W"]) ** 2), "b": p["b"].copy()}


def test_same_seed_same_report() -> None:
    p = big_params()
    first = gradcheck.check_gradients(big_loss, big_grads(p), p, seed=7)
    second = gradcheck.check_gradients(big_loss, big_grads(p), p, seed=7)
    assert str(first) == str(second)
    assert first.results == second.results
    assert first["W"].method == "directions"


def test_no_seed_records_the_seed_drawn() -> None:
    p = big_params()
    report = gradcheck.check_gradients(big_loss, big_grads(p), p, seed=None)
    assert isinstance(report.seed, int)
    again = gradcheck.check_gradients(big_loss, big_grads(p), p, seed=report.seed)
    assert again.results == report.results


def test_full_checks_every_entry() -> None:
    p = big_params()
    report = gradcheck.check_gradients(big_loss, big_grads(p), p, full=True)
    assert report["W"].method == "entries"
    assert report["W"].probes == p["W"].size
    default = gradcheck.check_gradients(big_loss, big_grads(p), p)
    assert default.loss_calls < report.loss_calls / 4


def test_a_single_wrong_entry_of_a_large_parameter_is_caught() -> None:
    """Random ±1 directions weigh every entry fully, so one bad entry cannot hide."""
    p = big_params()
    g = big_grads(p)
    g["W"][2, 17] += 0.05 * np.abs(g["W"]).max()
    for seed in range(5):
        report = gradcheck.check_gradients(big_loss, g, p, seed=seed)
        assert not report["W"].passed
        assert report["b"].passed


# ------------------------------------------------------------------ the report


def failing_report() -> gradcheck.GradientReport:
    p = params()
    g = grads(p)
    g["W"] = -g["W"]
    return gradcheck.check_gradients(loss, g, p)


def test_report_table_lists_every_parameter_and_the_diagnosis() -> None:
    report = failing_report()
    text = str(report)
    lines = text.splitlines()
    assert lines[0].startswith("gradcheck: 1 of 2 gradients wrong (")
    assert lines[1].split() == [
        "param",
        "shape",
        "verdict",
        "worst",
        "at",
        "analytic",
        "numeric",
        "err/tol",
    ]
    assert lines[2].split()[:4] == ["W", "(3,", "4)", "negated"]
    assert lines[3].split()[:3] == ["b", "(2,)", "ok"]
    assert lines[4].startswith("- dW has the wrong sign")


def test_worst_entry_shows_index_and_both_values() -> None:
    result = failing_report()["W"]
    assert result.worst_index is not None
    assert result.analytic == pytest.approx(-result.numeric, rel=1e-6)
    assert result.error > result.tolerance > 0
    assert result.error_ratio > 1


def test_assert_passed_raises_gradient_mismatch_with_the_table() -> None:
    report = failing_report()
    with pytest.raises(gradcheck.GradientMismatch) as caught:
        report.assert_passed()
    assert isinstance(caught.value, AssertionError)
    assert str(caught.value) == str(report)
    assert caught.value.report is report
    p = params()
    gradcheck.check_gradients(loss, grads(p), p).assert_passed()


def test_report_lookup_by_name_and_iteration() -> None:
    report = failing_report()
    assert [r.name for r in report] == ["W", "b"]
    assert len(report) == 2
    assert report.failed == (report["W"],)
    with pytest.raises(KeyError, match=r"no parameter named 'V'.*'W', 'b'"):
        report["V"]


def test_html_repr_for_notebooks() -> None:
    html = failing_report()._repr_html_()
    assert html.startswith("<div")
    assert "<table" in html
    assert html.count("<tr") == 3
    assert "negated" in html
    assert "dW has the wrong sign" in html


# ------------------------------------------------------- options, by their types


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("full", "yes"),
        ("full", 1),
        ("full", None),
        ("inplace", "no"),
        ("inplace", 0),
        ("max_entries", "32"),
        ("directions", 2.0),
        ("entries", True),
    ],
)
def test_an_option_of_the_wrong_type_is_refused(option: str, value: object) -> None:
    p = params()
    with pytest.raises(TypeError, match=rf"^{option} must be .*, got {value!r}$"):
        gradcheck.check_gradients(loss, grads(p), p, **{option: value})


def test_numpy_bools_and_ints_are_options_too() -> None:
    p = params()
    report = gradcheck.check_gradients(
        loss, grads(p), p, full=np.bool_(False), inplace=None, directions=np.int64(2)
    )
    assert report.passed, str(report)


def affine_forward(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, Any]:
    return x @ w, (x, w)


def affine_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, np.ndarray]:
    x, w = cache
    return dout @ w.T, x.T @ dout


@pytest.mark.parametrize(
    ("outputs", "error", "match"),
    [
        ("1", TypeError, r"outputs must be a whole number >= 1 \(an int\) or None, got '1'"),
        (True, TypeError, "outputs must be a whole number >= 1"),
        (1.0, TypeError, "outputs must be a whole number >= 1"),
        (0, ValueError, r"outputs must be >= 1 \(how many outputs forward returns"),
    ],
)
def test_check_layers_outputs_is_a_whole_number(
    outputs: object, error: type[Exception], match: str
) -> None:
    x, w = A[:, :3], A[:3, :2].copy()
    with pytest.raises(error, match=match):
        gradcheck.check_layer(affine_forward, affine_backward, x, w, outputs=outputs)
    assert gradcheck.check_layer(affine_forward, affine_backward, x, w, outputs=1).passed


# ------------------------------------------------------------- help(gradcheck)


def test_help_opens_with_a_short_page_of_the_public_names() -> None:
    text = pydoc.render_doc(gradcheck, renderer=pydoc.plaintext)
    assert text.splitlines()[3] == (
        "    gradcheck - Trustworthy, readable checks for hand-written NumPy backpropagation."
    )
    page = text.split("DESCRIPTION\n", 1)[1].split("\nPACKAGE CONTENTS", 1)[0]
    lines = page.splitlines()
    assert len(lines) <= 40
    assert max(len(line) for line in lines) <= 80
    listed = {line.split()[0] for line in lines if line.startswith("        ") and line.split()}
    assert {"check_gradients", "check_layer", "checked_backward", "shape_trace"} <= listed
    assert [name for name in gradcheck.__all__ if name not in page] == []
    # Plain text: no Sphinx roles, reST literals or doctest markers.
    for marker in (":func:", ":class:", ":mod:", "``", ">>>", "doctest"):
        assert marker not in page
    # And where to read on.
    for pointer in ("README.md", "docs/tutorial.md", "docs/reference/api.md", "help("):
        assert pointer in page


# ------------------------------------------------------------ a bad GRADCHECK


def test_a_bad_gradcheck_is_one_clear_error_on_first_use() -> None:
    script = textwrap.dedent(
        """
        import numpy as np
        import gradcheck

        def loss(p):
            return float(np.sum(p["w"] ** 2))

        @gradcheck.checked_backward(loss)
        def backward(p):
            return {"w": 2 * p["w"]}

        print("imported and decorated")
        backward({"w": np.ones(3)})
        """
    )
    env = {**os.environ, "GRADCHECK": "alwyas"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == "imported and decorated\n"
    message = (
        "ValueError: the environment variable GRADCHECK='alwyas' is not a policy: use "
        "GRADCHECK=first, always, never or a whole number N >= 1 (check every N-th call), "
        "or unset it"
    )
    assert done.stderr.splitlines()[-1] == message
    assert done.stderr.count("Traceback") == 1
    assert "importlib" not in done.stderr
    assert "During handling" not in done.stderr


def test_gradcheck_is_read_on_first_use_and_until_it_is_right(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRADCHECK", "alwyas")
    override = policy.Override()  # made, as at import: nothing read yet, nothing raised
    for _ in range(2):  # while it is wrong, every use says so
        with pytest.raises(ValueError, match=r"GRADCHECK='alwyas' is not a policy") as caught:
            _ = override.current
        assert caught.value.__cause__ is None
        assert caught.value.__suppress_context__ or caught.value.__context__ is None
    monkeypatch.setenv("GRADCHECK", "always")
    current = override.current
    assert current is not None
    assert current.text == "always"
    monkeypatch.setenv("GRADCHECK", "alwyas")
    assert override.current is current  # read once: not again on every call
    with pytest.raises(ValueError, match="GRADCHECK='alwyas'"):
        override.reload_environment()
    # An explicit override needs no environment.
    override.set("never")
    current = override.current
    assert current is not None
    assert current.never


@pytest.mark.usefixtures("no_override")
def test_under_pytest_a_bad_gradcheck_is_one_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile("def test_one():\n    pass\n\ndef test_two():\n    pass\n")
    monkeypatch.setenv("GRADCHECK", "alwyas")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if "GRADCHECK='alwyas'" in line]
    assert len(errors) == 1
    assert errors[0].startswith("ERROR: the environment variable GRADCHECK='alwyas'")
