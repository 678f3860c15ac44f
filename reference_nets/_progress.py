"""One progress bar per training run, on stderr, for the demo.

With tqdm installed (the ``plot`` extra brings it) the bar is tqdm's; without it, a plain
line rewritten in place. Either is shown only when the stream is a terminal: output sent to
a file or a pipe (``make demo > demo.txt``, pytest's capture, CI) gets no bar and no
carriage returns. The bar is cleared when the run ends, so a terminal keeps only the
demo's own lines.
"""

import importlib
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TextIO

#: tqdm's bar without the rate, so that the bar keeps its room in 80 columns.
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n}/{total} [{elapsed}<{remaining}{postfix}]"

#: The plain bar redraws at most this often (seconds), as tqdm does by default.
REDRAW_INTERVAL = 0.1


class Progress(Protocol):
    """What a training loop tells its bar."""

    def advance(self, steps: int = 1) -> None:
        """``steps`` more steps are done."""

    def show_loss(self, loss: float) -> None:
        """The latest recorded loss, shown next to the bar."""

    def close(self) -> None:
        """Remove the bar."""


class _Silent:
    """No bar: the stream is not a terminal."""

    def advance(self, steps: int = 1) -> None:
        pass

    def show_loss(self, loss: float) -> None:
        pass

    def close(self) -> None:
        pass


class _TqdmBar:
    """tqdm's bar (tqdm ships no type information, hence ``Any``)."""

    def __init__(self, tqdm: Any, total: int, description: str, stream: TextIO) -> None:
        self._bar = tqdm(
            total=total, desc=description, file=stream, leave=False, unit="step",
            dynamic_ncols=True, bar_format=BAR_FORMAT,
        )  # fmt: skip

    def advance(self, steps: int = 1) -> None:
        self._bar.update(steps)

    def show_loss(self, loss: float) -> None:
        self._bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)  # tqdm adds ", "

    def close(self) -> None:
        self._bar.close()


class _PlainBar:
    """One line, rewritten in place at most every :data:`REDRAW_INTERVAL` seconds."""

    def __init__(self, total: int, description: str, stream: TextIO) -> None:
        self._total, self._description, self._stream = max(total, 1), description, stream
        self._done = 0
        self._loss = ""
        self._width = 0
        self._drawn_at = -float("inf")

    def advance(self, steps: int = 1) -> None:
        self._done += steps
        now = time.monotonic()
        if now - self._drawn_at >= REDRAW_INTERVAL or self._done >= self._total:
            self._drawn_at = now
            self._draw()

    def show_loss(self, loss: float) -> None:
        self._loss = f"   loss {loss:.4f}"

    def _draw(self) -> None:
        filled = 30 * min(self._done, self._total) // self._total
        line = (
            f"{self._description}: [{'#' * filled}{'.' * (30 - filled)}] "
            f"{self._done}/{self._total} steps{self._loss}"
        )
        self._width = max(self._width, len(line))
        self._stream.write("\r" + line.ljust(self._width))
        self._stream.flush()

    def close(self) -> None:
        if self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal (a closed stream is not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _find_tqdm() -> Any | None:
    """tqdm's ``tqdm`` class, or ``None`` when tqdm is not installed."""
    try:
        return importlib.import_module("tqdm").tqdm
    except ImportError:
        return None


@contextmanager
def progress_bar(
    total: int, description: str, *, stream: TextIO | None = None
) -> Iterator[Progress]:
    """A bar for ``total`` steps on ``stream`` (default: stderr), removed on exit."""
    out = sys.stderr if stream is None else stream
    bar: Progress
    if not is_terminal(out):
        bar = _Silent()
    else:
        tqdm = _find_tqdm()
        bar = (
            _PlainBar(total, description, out)
            if tqdm is None
            else _TqdmBar(tqdm, total, description, out)
        )
    try:
        yield bar
    finally:
        bar.close()
