"""The pytest plugin: --gradcheck, readable gradient failures, the summary line (pytester)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from gradcheck._integrations import pytest_plugin
from gradcheck._integrations.policy import override

# A module for the inner runs' tests: a small tanh layer whose loss is Σ tanh(X·W)², with a
# right gradient, a negated one and a transposed one, and `checked(gradient)`, a decorated
# backward that returns one of them. Sizes are distinct (5, 3, 4) so a transpose changes the
# shape.
NET = """
import numpy as np
import gradcheck

rng = np.random.default_rng(0)
X = rng.standard_normal((5, 3))
PARAMS = {"W": rng.standard_normal((3, 4))}

def loss(params, X):
    return float(np.sum(np.tanh(X @ params["W"]) ** 2))

def right(params, X):
    t = np.tanh(X @ params["W"])
    return {"W": X.T @ (2 * t * (1 - t**2))}

def negated(params, X):
    return {"W": -right(params, X)["W"]}

def transposed(params, X):
    return {"W": right(params, X)["W"].T}

def checked(gradient, **options):
    @gradcheck.checked_backward(loss, **options)
    def backward(params, X):
        return gradient(params, X)
    return backward
"""


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Inner runs start with no policy override, whatever the outer run was given."""
    previous = override.explicit
    monkeypatch.delenv("GRADCHECK", raising=False)
    override.reload_environment()
    override.set(None)
    yield
    monkeypatch.undo()
    override.reload_environment()
    override.set(previous)


def override_in_force() -> str | int | None:
    """The process-wide override's text, or None."""
    current = override.current
    return None if current is None else current.text


def make_tests(pytester: pytest.Pytester, body: str) -> None:
    pytester.makepyfile(net=NET)
    pytester.makepyfile(test_it="from net import *\nimport gradcheck\n\n" + textwrap.dedent(body))


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """An inner run without hypothesis's plugin, which costs about a second per run."""
    return pytester.runpytest("-p", "no:hypothesispytest", *args)


def run_module(
    pytester: pytest.Pytester, body: str, *args: str, hypothesis: bool = False, **outcomes: int
) -> pytest.RunResult:
    """Run the test module ``body`` (with hypothesis's plugin if asked); check the outcomes."""
    make_tests(pytester, body)
    result = pytester.runpytest(*args) if hypothesis else run(pytester, *args)
    result.assert_outcomes(**outcomes)
    return result


def output(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines + result.errlines)


# ------------------------------------------------------------------------- registration


def test_the_plugin_is_registered_through_the_pytest11_entry_point() -> None:
    points = importlib.metadata.entry_points(group="pytest11")
    assert [p.value for p in points if p.name == "gradcheck"] == [
        "gradcheck._integrations.pytest_plugin"
    ]


def test_the_plugin_loads_in_every_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["plugins:*gradcheck-*"])


def test_help_shows_the_option_and_the_ini_setting(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--help")
    result.stdout.fnmatch_lines(
        [
            "gradcheck: checks of hand-written gradients:",
            "*--gradcheck=never|first|always|N*",
            "*which calls of every @checked_backward function get the*",
        ]
    )
    result.stdout.fnmatch_lines(["*gradcheck (string)*default for --gradcheck*"])


def test_the_plugin_module_imports_nothing_but_pytest(tmp_path: Path) -> None:
    # Loaded on its own, outside the package: gradcheck/__init__ is not the plugin's cost.
    plugin = Path(pytest_plugin.__file__)
    code = textwrap.dedent(
        f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("plugin_alone", {str(plugin)!r})
        module = importlib.util.module_from_spec(spec)
        sys.modules["plugin_alone"] = module
        spec.loader.exec_module(module)
        heavy = [m for m in ("numpy", "gradcheck", "hypothesis", "jaxtyping") if m in sys.modules]
        assert not heavy, heavy
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


# ------------------------------------------------------------------------------ policy

CALLED_THREE_TIMES = """
backward = checked(right)

def test_three_calls():
    for _ in range(3):
        backward(PARAMS, X)
    print("checks:", backward.gradcheck.checks, "calls:", backward.gradcheck.calls)
"""


@pytest.mark.parametrize(
    ("policy", "checks", "calls"), [("always", 3, 3), ("first", 1, 3), ("2", 2, 3), ("never", 0, 0)]
)
def test_the_option_sets_every_decorators_policy(
    pytester: pytest.Pytester, policy: str, checks: int, calls: int
) -> None:
    result = run_module(pytester, CALLED_THREE_TIMES, "-s", f"--gradcheck={policy}", passed=1)
    result.stdout.fnmatch_lines(
        [
            f"*checks: {checks} calls: {calls}",
            f"*gradcheck: {checks} gradient check* ran, 0 failed "
            f"(policy {policy} from --gradcheck)*",
        ]
    )


def test_without_the_option_each_decorator_keeps_its_own_policy(
    pytester: pytest.Pytester,
) -> None:
    result = run_module(pytester, CALLED_THREE_TIMES, "-s", passed=1)
    result.stdout.fnmatch_lines(
        ["*checks: 1 calls: 3", "*gradcheck: 1 gradient check ran, 0 failed -*"]
    )


def test_the_override_is_put_back_when_the_run_ends(pytester: pytest.Pytester) -> None:
    make_tests(pytester, CALLED_THREE_TIMES)
    run(pytester, "--gradcheck=always").assert_outcomes(passed=1)
    assert override_in_force() is None
    # An override set before the run (an outer pytest run's, say) comes back after it.
    override.set(5)
    run(pytester, "--gradcheck=never").assert_outcomes(passed=1)
    assert override_in_force() == 5


def test_a_wrong_policy_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = run(pytester, "--gradcheck=sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*'sometimes' is not a gradcheck policy: use never, first, always or a whole number*"]
    )


def test_the_ini_option_sets_the_policy_below_env_and_command_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tests(pytester, CALLED_THREE_TIMES)
    pytester.makeini("[pytest]\ngradcheck = always\n")
    result = run(pytester, "-s")
    result.stdout.fnmatch_lines(
        ["*checks: 3 calls: 3", "*(policy always from ini option gradcheck)*"]
    )
    result = run(pytester, "-s", "--gradcheck=first")
    result.stdout.fnmatch_lines(["*checks: 1 calls: 3", "*(policy first from --gradcheck)*"])
    monkeypatch.setenv("GRADCHECK", "never")
    override.reload_environment()
    result = run(pytester, "-s")
    result.stdout.fnmatch_lines(["*checks: 0 calls: 0"])


def test_a_wrong_ini_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    pytester.makeini("[pytest]\ngradcheck = often\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini option gradcheck = 'often': 'often' is not a gradcheck*"])


# ------------------------------------------------------------------ readable failures

TABLE = [
    "*gradcheck: 1 of 1 gradients wrong*",
    "*param*shape*verdict*worst at*analytic*numeric*err/tol",
    "*W*(3, 4)*negated*(*)*e+00*e+00*",
    "*- dW has the wrong sign*",
]


def assert_no_internals(text: str) -> None:
    """No gradcheck frame, and no array printed (the arguments are arrays)."""
    files = ("decorator.py", "check.py", "report.py", "structure.py", "annotations.py")
    for internal in (*files, "run_check", "checked_call"):
        assert internal not in text
    assert "array(" not in text


def test_a_failing_assert_passed_shows_the_table(pytester: pytest.Pytester) -> None:
    result = run_module(
        pytester,
        """
        def test_check():
            report = gradcheck.check_gradients(loss, negated(PARAMS, X), PARAMS, args=(X,))
            report.assert_passed()
        """,
        failed=1,
    )
    result.stdout.fnmatch_lines([">*report.assert_passed()", *TABLE])
    assert_no_internals(output(result))


NEGATED_IN_A_TRAIN_STEP = """
backward = checked(negated)

def train_step(params, X):
    return backward(params, X)

def test_train():
    train_step(PARAMS, X)
"""


@pytest.mark.parametrize("style", ["auto", "long", "short", "native"])
def test_a_failing_decorated_backward_shows_the_table_and_no_internal_frame(
    pytester: pytest.Pytester, style: str
) -> None:
    result = run_module(pytester, NEGATED_IN_A_TRAIN_STEP, f"--tb={style}", failed=1)
    result.stdout.fnmatch_lines(
        ["*return backward(params, X)*", *TABLE, "*Checked by @checked_backward on call 1*"]
    )
    assert_no_internals(output(result))


def test_fulltrace_keeps_gradchecks_frames(pytester: pytest.Pytester) -> None:
    result = run_module(pytester, NEGATED_IN_A_TRAIN_STEP, "--fulltrace", failed=1)
    result.stdout.fnmatch_lines(["*gradcheck*decorator.py:*", "*run_check(*", *TABLE])


def test_a_wrong_gradient_shape_shows_the_message_and_no_internal_frame(
    pytester: pytest.Pytester,
) -> None:
    result = run_module(
        pytester,
        """
        backward = checked(transposed)

        def test_shape():
            backward(PARAMS, X)
        """,
        failed=1,
    )
    result.stdout.fnmatch_lines(
        [
            ">*backward(PARAMS, X)",
            "E*GradientShapeError: backward() returned gradients that do not fit its parameters:",
            "E*- dW has shape (4, 3) but W has shape (3, 4)*transposed*",
        ]
    )
    assert_no_internals(output(result))


def test_an_annotation_mismatch_shows_the_message_and_no_internal_frame(
    pytester: pytest.Pytester,
) -> None:
    result = run_module(
        pytester,
        """
        import numpy as np
        from jaxtyping import Float

        @gradcheck.checked_backward(loss)
        def backward(
            params: dict[str, Float[np.ndarray, "d_in d_out"]],
            X: Float[np.ndarray, "batch d_in"],
        ) -> dict[str, Float[np.ndarray, "d_in d_out"]]:
            return right(params, X)

        def test_annotation():
            backward(PARAMS, X[:, :2])
        """,
        failed=1,
    )
    result.stdout.fnmatch_lines(
        [
            ">*backward(PARAMS, X[[]:, :2[]])",
            "E*AnnotationMismatch: backward(): argument X has shape (5, 2), which does not fit*",
            "E*Axis 1 is d_in = 2 here, but d_in = 3 in params[[]'W'[]]*",
        ]
    )
    assert_no_internals(output(result))


def test_a_failed_check_behind_another_assertion_is_shown_as_a_section(
    pytester: pytest.Pytester,
) -> None:
    result = run_module(
        pytester,
        """
        def test_check():
            report = gradcheck.check_gradients(loss, negated(PARAMS, X), PARAMS, args=(X,))
            assert report.passed
        """,
        failed=1,
    )
    result.stdout.fnmatch_lines(
        ["*assert report.passed*", "*- gradcheck: failed check in call -*", *TABLE]
    )


def test_a_table_already_in_the_assertion_message_is_not_repeated(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under CI=true pytest prints whole messages in its short summary, a second copy of
    # the table that is pytest's, not the plugin's.
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)
    result = run_module(
        pytester,
        """
        def test_check():
            report = gradcheck.check_gradients(loss, negated(PARAMS, X), PARAMS, args=(X,))
            assert report.passed, str(report)
        """,
        failed=1,
    )
    result.stdout.fnmatch_lines(["E*AssertionError: gradcheck: 1 of 1 gradients wrong*"])
    assert "failed check in call" not in output(result)
    # One table: the message's. (pytest's "where False = ..." line quotes the report's
    # repr, which is the table too, cut short on one line.)
    tables = [line for line in output(result).splitlines() if line.endswith("err/tol")]
    assert len(tables) == 1


def test_a_passing_test_with_an_expected_failure_shows_no_table(pytester: pytest.Pytester) -> None:
    result = run_module(
        pytester,
        """
        import pytest

        def test_caught():
            report = gradcheck.check_gradients(loss, negated(PARAMS, X), PARAMS, args=(X,))
            with pytest.raises(gradcheck.GradientMismatch):
                report.assert_passed()
        """,
        passed=1,
    )
    assert "param  shape" not in output(result)
    result.stdout.fnmatch_lines(["*gradcheck: 1 gradient check ran, 1 failed -*"])


def test_a_failing_hypothesis_test_shows_the_table_and_no_internal_frame(
    pytester: pytest.Pytester,
) -> None:
    result = run_module(
        pytester,
        """
        from hypothesis import given, settings, strategies as st

        backward = checked(negated, when="always")

        @settings(max_examples=5, deadline=None, database=None)
        @given(st.integers(1, 3))
        def test_property(scale):
            backward({"W": scale * PARAMS["W"]}, X)
        """,
        hypothesis=True,
        failed=1,
    )
    result.stdout.fnmatch_lines([*TABLE, "*Failing test case: test_property(*"])
    assert_no_internals(output(result))


# ----------------------------------------------------------------------------- summary


def test_the_summary_counts_checks_and_failures(pytester: pytest.Pytester) -> None:
    result = run_module(
        pytester,
        """
        import pytest

        backward = checked(right)

        def test_right():
            gradcheck.check_gradients(loss, right(PARAMS, X), PARAMS, args=(X,)).assert_passed()
            backward(PARAMS, X)

        def test_wrong():
            gradcheck.check_gradients(loss, negated(PARAMS, X), PARAMS, args=(X,)).assert_passed()
        """,
        passed=1,
        failed=1,
    )
    result.stdout.fnmatch_lines(["*- gradcheck: 3 gradient checks ran, 1 failed -*"])


def test_no_summary_line_when_nothing_was_checked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert "gradient check" not in output(result)


def test_importing_the_plugin_loads_neither_numpy_nor_the_core() -> None:
    """pytest imports the plugin in every run where gradcheck is installed."""
    import subprocess
    import sys

    code = (
        "import sys, gradcheck._integrations.pytest_plugin; "
        "heavy = [m for m in ('numpy', 'jaxtyping', 'gradcheck._check') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
