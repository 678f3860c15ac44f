"""Run bench_decorator.py in its own process, as it is, and pick the figures out of its output."""

from __future__ import annotations

from _common import ROOT

# isort: split
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass
class DecoratorSection:
    label: str
    plain_min_us: float | None = None
    decorated_pct: float | None = None  # end to end, min over repeats
    decorated_us: float | None = None
    jaxtyped_pct: float | None = None
    jaxtyped_us: float | None = None
    alone_us: float | None = None  # the wrapper alone (ready-made gradients)
    alone_pct: float | None = None


@dataclass
class DecoratorResults:
    command: str
    output: str
    seconds: float
    sections: dict[str, DecoratorSection]
    returncode: int


_NUMBER = r"([+-]?\d+(?:\.\d+)?)"


def parse(output: str) -> dict[str, DecoratorSection]:
    """Pick the figures out of bench_decorator.py's printed tables."""
    sections: dict[str, DecoratorSection] = {}
    current: DecoratorSection | None = None
    for line in output.splitlines():
        header = re.match(r"^(\S.*?): N=", line)
        if header:
            current = DecoratorSection(header.group(1))
            sections[current.label] = current
            continue
        if current is None:
            continue
        cols = rf"\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s*{_NUMBER}%"
        plain = re.match(rf"^\s+plain\s+{_NUMBER}\s+{_NUMBER}\s*$", line)
        decorated = re.match(rf"^\s+decorated \(after 1st call\){cols}", line)
        jaxtyped = re.match(rf"^\s+jaxtyped\+beartype{cols}", line)
        alone = re.search(
            rf"wrapper alone \(ready-made grads\): \+?{_NUMBER} µs \(min\).*= {_NUMBER}%", line
        )
        if plain:
            current.plain_min_us = float(plain.group(1))
        elif decorated:
            current.decorated_us = float(decorated.group(3))
            current.decorated_pct = float(decorated.group(5))
        elif jaxtyped:
            current.jaxtyped_us = float(jaxtyped.group(3))
            current.jaxtyped_pct = float(jaxtyped.group(5))
        elif alone:
            current.alone_us = float(alone.group(1))
            current.alone_pct = float(alone.group(2))
    return sections


def run_decorator(quick: bool) -> DecoratorResults:
    script = HERE / "bench_decorator.py"
    argv = [sys.executable, str(script), *(["--quick"] if quick else [])]
    command = " ".join(
        [
            ".venv/bin/python" if "venv" in sys.executable else "python",
            str(script.relative_to(ROOT)),
        ]
        + (["--quick"] if quick else [])
    )
    print(f"decorator: {command}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    output = done.stdout.strip("\n")
    if done.returncode:
        output += f"\n\n(exit status {done.returncode})\n{done.stderr.strip()}"
    print("  " + output.replace("\n", "\n  "), flush=True)
    return DecoratorResults(command, output, seconds, parse(output), done.returncode)
