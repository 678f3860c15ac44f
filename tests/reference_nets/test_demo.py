"""The demo, ``python -m reference_nets``, on a few steps: it trains each net, passes its
correct gradients, plants each thread's classic slip and names it, summarises in a table and
plots; all in about 80 lines, and its exit status says whether every check went as it should."""

import contextlib
import importlib.util
import io
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from reference_nets import _demo_runs, _progress
from reference_nets._demo import forum_steps, main, parse_args
from reference_nets._slips import Slip, first_sentence

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FEW_STEPS = ["--steps", "3", "--course-steps", "4", "--code-review-steps", "5", "--log-every", "2"]
#: The issue's budget for the whole demo: "about 80 lines".
LINE_BUDGET = 80

#: What gradcheck names each planted slip, as the demo's per-net lines and table show it.
CAUGHT = {
    "forum net, row_major": "W2 transposed",  # dscores.T @ hidden
    "forum net, column_major": "W1 b1 W2 b2 scaled ×800",  # a forgotten 1/N, N = 800
    "course net, row_major": "b2 shape",  # a forgotten keepdims=True
    "course net, column_major": "W2 regularisation (reg ≈ 0.001)",  # a forgotten reg·W2
    "code review net, column_major": "W1 b1 W2 b2 W3 b3 scaled ×0.4",  # norm over axis=1
}
SUMMARY_ROWS = [
    ("forum net", "row_major", "transposed dW2", "caught: W2 transposed"),
    ("forum net", "column_major", "forgotten 1/N", "caught: all 4 scaled ×800"),
    ("course net", "row_major", "keepdims slip, db2", "caught: b2 shape"),
    ("course net", "column_major", "forgotten reg·W2", "caught: W2 regularisation"),
    ("code review net", "column_major", "loss over axis=1", "caught: all 6 scaled ×0.4"),
]


def sections(output: str) -> dict[str, str]:
    """Each net's section of the output, by "net, layout"."""
    parts = re.split(r"^== (.+?) (?:\(.*\) )?==$", output, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@dataclass(frozen=True)
class DemoOutput:
    status: int
    output: str
    plots: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoOutput:
    """One run of the demo on a few steps, shared by the tests that read its output."""
    plots = tmp_path_factory.mktemp("demo") / "plots"
    with contextlib.redirect_stdout(io.StringIO()) as stdout:
        status = main([*FEW_STEPS, "--out", str(plots)])
    return DemoOutput(status, stdout.getvalue(), plots)


def test_demo_names_every_slip_and_passes_correct_gradients(demo: DemoOutput) -> None:
    output = demo.output
    assert demo.status == 0, output

    by_net = sections(output)
    assert list(by_net) == [*CAUGHT, "summary"]
    for name, caught in CAUGHT.items():
        section = by_net[name]
        assert re.search(r"^  \d+ steps in \d+\.\d s: loss \d\.\d{4} → \d\.\d{4}", section, re.M)
        assert "correct gradients: ok at the start and after training" in section, name
        assert "planted slip: " in section, name
        assert re.search(rf"^  gradcheck: {re.escape(caught)} \(\d+ loss calls\)$", section, re.M)
        # The diagnosis's first sentence, wrapped: at most three indented lines.
        explanation = re.split(r"^  gradcheck: .*\n", section, flags=re.M)[1].strip("\n")
        explanation = explanation.splitlines()
        assert 1 <= len(explanation) <= 3, section
        assert all(line.startswith("    ") for line in explanation), section
    assert "training accuracy" in by_net["forum net, row_major"]

    summary = by_net["summary"]
    for net, layout, check, verdict in SUMMARY_ROWS:
        assert re.search(rf"^  {net}\s+{layout}\s+{re.escape(check)}\s+{verdict}$", summary, re.M)
        assert re.search(rf"^  {net}\s+{layout}\s+correct\s+ok$", summary, re.M)
    assert "planted slips: 5 of 5 caught and named" in summary
    assert "correct gradients: 0 false alarms in 10 checks" in summary

    # Short, and fit for a file: no progress bars or carriage returns on stdout.
    assert len(output.splitlines()) <= LINE_BUDGET
    assert "\r" not in output


def test_demo_writes_its_plots_and_ends_with_their_paths(demo: DemoOutput) -> None:
    pytest.importorskip("matplotlib", reason="the demo's plots need the plot extra (matplotlib)")
    out, output = demo.plots, demo.output
    pngs = sorted(path.name for path in out.iterdir())
    assert pngs == [
        "code_review_net_loss.png",
        "course_net_column_major_regions.png",
        "course_net_loss.png",
        "course_net_row_major_regions.png",
        "forum_net_column_major_regions.png",
        "forum_net_loss.png",
        "forum_net_row_major_regions.png",
    ]
    for name in pngs:
        assert (out / name).read_bytes().startswith(PNG_MAGIC), name
    last_lines = output.splitlines()[-len(pngs) :]
    assert sorted(Path(line.strip()).name for line in last_lines) == pngs
    assert len(output.splitlines()) <= LINE_BUDGET


def test_a_missed_slip_fails_the_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A "slip" that changes nothing cannot be caught: the demo says so and exits with 1.
    def no_slip(problem: object) -> Slip:
        return Slip("no slip", "nothing changed", "transposed", ("W2",), lambda grads, _: grads)

    monkeypatch.setitem(_demo_runs.SPIRAL_SLIPS, ("forum net", "row_major"), no_slip)
    argv = ["--steps", "2", "--course-steps", "0", "--code-review-steps", "0"]
    status = main([*argv, "--out", str(tmp_path / "plots")])
    output = capsys.readouterr().out
    assert status == 1
    assert "gradcheck: all gradients ok: the slip was MISSED" in output
    assert re.search(r"^  forum net\s+row_major\s+no slip\s+MISSED$", output, re.M)
    assert "planted slips: 1 of 2 caught and named" in output


def test_demo_without_matplotlib_says_so_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec_without_matplotlib(name: str, *args: object, **kwargs: object) -> object:
        return None if name == "matplotlib" else real_find_spec(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec_without_matplotlib)
    argv = ["--steps", "1", "--course-steps", "0", "--code-review-steps", "0"]
    main([*argv, "--out", str(tmp_path / "plots")])
    output = capsys.readouterr().out
    assert "matplotlib is not installed" in output
    assert "course net" not in output  # --course-steps 0 skips it
    assert "code review net" not in output  # and --code-review-steps 0 this one
    assert not (tmp_path / "plots").exists()


def test_forum_steps_default_full_and_explicit() -> None:
    assert forum_steps(parse_args([])) == 1000
    assert forum_steps(parse_args(["--full"])) == 3000  # the forum's own count
    assert forum_steps(parse_args(["--full", "--steps", "50"])) == 50
    with pytest.raises(SystemExit):
        parse_args(["--steps", "0"])
    with pytest.raises(SystemExit):
        parse_args(["--code-review-steps", "-1"])


def test_first_sentence_skips_abbreviations_and_numbers() -> None:
    assert first_sentence("dW2.T is 0.4× off, e.g. a mean. Then more.") == (
        "dW2.T is 0.4× off, e.g. a mean."
    )
    assert first_sentence("no full stop") == "no full stop"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_bar(stream: io.StringIO, steps: int = 50) -> str:
    with _progress.progress_bar(steps, "net, layout", stream=stream) as bar:
        for _ in range(steps):
            bar.advance()
        bar.show_loss(0.25)
        bar.advance(0)
    return stream.getvalue()


def test_no_progress_bar_when_the_stream_is_not_a_terminal() -> None:
    assert run_bar(io.StringIO()) == ""


def test_plain_progress_bar_without_tqdm_is_one_line_then_cleared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_progress, "_find_tqdm", lambda: None)
    written = run_bar(FakeTerminal())
    assert "\n" not in written  # one line, rewritten in place
    drawings = [part for part in written.split("\r") if part.strip()]
    assert drawings[0].startswith("net, layout: [")
    assert "50/50 steps" in written
    assert written.endswith("\r")  # and wiped at the end
    assert written.split("\r")[-2].strip() == ""


def test_tqdm_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tqdm", reason="tqdm comes with the plot extra")
    monkeypatch.setenv("COLUMNS", "80")
    written = run_bar(FakeTerminal())
    assert written.startswith("\rnet, layout:")
    assert "/50" in written  # tqdm draws at most every 0.1 s: here at least the start
    assert written.endswith("\r")  # and leaves no bar behind


def test_python_dash_m_runs_the_demo_and_numpy_loads_after_the_thread_setting() -> None:
    # __main__ sets OPENBLAS_NUM_THREADS before NumPy loads; that only works if importing
    # the package does not import NumPy already.
    quiet_import = "import sys, reference_nets; sys.exit('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", quiet_import], check=False).returncode == 0
    help_run = subprocess.run(
        [sys.executable, "-m", "reference_nets", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert help_run.returncode == 0
    assert "--full" in help_run.stdout
