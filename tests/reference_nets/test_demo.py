"""The demo, ``python -m reference_nets``, on a few steps: it checks, trains, summarises and
plots, and its exit status says whether every gradient check passed."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reference_nets._demo import forum_steps, main, parse_args

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FEW_STEPS = ["--steps", "3", "--course-steps", "4", "--log-every", "2"]


def test_demo_checks_trains_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib", reason="the demo's plots need the plot extra (matplotlib)")
    status = main([*FEW_STEPS, "--out", str(tmp_path / "plots")])
    output = capsys.readouterr().out

    # Two nets × two layouts, each checked at the start and at the end.
    assert output.count("gradient check at the start:") == 4
    assert output.count("gradient check after") == 4
    headlines = re.findall(r"^\s*gradcheck: (.*)$", output, flags=re.MULTILINE)
    assert len(headlines) == 8
    all_passed = all(headline.startswith("all gradients ok") for headline in headlines)
    assert status == (0 if all_passed else 1)

    # Progress at steps 0, 2 and 3 of the forum net, and a summary line per run.
    assert re.search(r"step\s+2\s+loss \d\.\d{6}", output)
    for name in ("forum net, row_major", "forum net, column_major", "course net, row_major"):
        assert re.search(rf"{name}\s+\d+\s+\d\.\d{{6}}\s+\d\.\d{{4}}", output), name
    assert output.count("training accuracy") == 4

    pngs = sorted(path.name for path in (tmp_path / "plots").iterdir())
    assert pngs == [
        "course_net_column_major_regions.png",
        "course_net_loss.png",
        "course_net_row_major_regions.png",
        "forum_net_column_major_regions.png",
        "forum_net_loss.png",
        "forum_net_row_major_regions.png",
    ]
    for name in pngs:
        assert (tmp_path / "plots" / name).read_bytes().startswith(PNG_MAGIC), name


def test_demo_without_matplotlib_says_so_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec_without_matplotlib(name: str, *args: object, **kwargs: object) -> object:
        return None if name == "matplotlib" else real_find_spec(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec_without_matplotlib)
    main(["--steps", "1", "--course-steps", "0", "--out", str(tmp_path / "plots")])
    output = capsys.readouterr().out
    assert "matplotlib is not installed" in output
    assert "course net" not in output  # --course-steps 0 skips it
    assert not (tmp_path / "plots").exists()


def test_forum_steps_default_full_and_explicit() -> None:
    assert forum_steps(parse_args([])) == 1000
    assert forum_steps(parse_args(["--full"])) == 3000  # the forum's own count
    assert forum_steps(parse_args(["--full", "--steps", "50"])) == 50
    with pytest.raises(SystemExit):
        parse_args(["--steps", "0"])


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
