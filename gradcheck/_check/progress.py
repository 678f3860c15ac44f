"""The progress display of a long check, on stderr: parameters done, loss calls so far,
and an estimate of the time left.

Shown by ``progress=None`` (the default) only when a check has run for
``AUTO_DELAY`` seconds on a terminal or in a Jupyter notebook, and never in CI (the
``CI`` variable set) or under pytest's capture (stderr is then no terminal);
``progress=True`` shows it from the start, ``progress=False`` never. Drawn by tqdm when it
is installed (the ``plot`` extra; ``tqdm.auto``, a widget, in a notebook), else as one line
rewritten with ``"\\r"``.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any, TextIO

#: Seconds a check runs before the automatic display appears: a shorter one is over
#: before a display would help.
AUTO_DELAY = 2.0
#: Seconds between redraws: a fast loss is called thousands of times a second.
REDRAW_EVERY = 0.1


def display(names: Sequence[str], progress: bool | None) -> Display | None:
    """The display for a check of parameters ``names``, or None when none is shown."""
    if progress is False:
        return None
    stream = sys.stderr
    if progress is None:
        isatty = getattr(stream, "isatty", None)
        terminal = isatty is not None and isatty()
        if os.environ.get("CI") or not (terminal or in_notebook()):
            return None
    return Display(stream, names, delay=0.0 if progress else AUTO_DELAY)


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (its stderr is no terminal, but a person is
    watching the cell). IPython is not imported here: only looked up if already loaded."""
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


class Display:
    """Parameters done and loss calls so far, redrawn at most every REDRAW_EVERY s."""

    def __init__(self, stream: TextIO, names: Sequence[str], *, delay: float) -> None:
        self.stream = stream
        self.names = list(names)
        self.delay = delay
        self.drawn_at: float | None = None
        self.bar: Any = None  # tqdm's bar, once drawn with tqdm
        self.width = 0  # the plain line's length, to blank it out when it shrinks

    def update(self, done: Sequence[str], total: int, calls: int, elapsed: float) -> None:
        if elapsed < self.delay:
            return
        if self.drawn_at is not None and elapsed - self.drawn_at < REDRAW_EVERY:
            return
        self.drawn_at = elapsed
        self.draw(done, total, calls, elapsed)

    def close(self, done: Sequence[str], total: int, calls: int, elapsed: float) -> None:
        """The final counts, then the line is given back to the terminal."""
        if self.drawn_at is None:
            return  # never shown: the check was over before the delay
        self.draw(done, total, calls, elapsed)
        if self.bar is not None:
            self.bar.close()
        else:
            self.stream.write("\n")
            self.stream.flush()

    def draw(self, done: Sequence[str], total: int, calls: int, elapsed: float) -> None:
        now = next((n for n in self.names if n not in done), None)
        doing = f"checking {now}, " if now is not None else ""
        counts = f"{doing}{calls} loss calls"
        if self.bar is None and self.width == 0:
            self.bar = _tqdm_bar(self.stream, total)
        if self.bar is not None:
            self.bar.n = len(done)
            self.bar.set_postfix_str(counts, refresh=False)
            self.bar.refresh()
            return
        line = f"gradcheck: {len(done)}/{total} done, {counts}, {elapsed:.0f} s"
        if done and len(done) < total:  # as long again per parameter as the ones done
            line += f", ~{elapsed / len(done) * (total - len(done)):.0f} s left"
        line = line[: shutil.get_terminal_size().columns - 1]
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()
        self.width = len(line)


def _tqdm_bar(stream: TextIO, total: int) -> Any:
    """A tqdm bar counting parameters (its rate gives the time left), or None without
    tqdm."""
    # tqdm.auto draws a widget in a notebook (with ipywidgets), text on a terminal.
    module = "tqdm.auto" if in_notebook() else "tqdm"
    try:  # imported by name: tqdm ships no type hints, and its bar is used as Any here
        tqdm = importlib.import_module(module).tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="gradcheck", unit="param", file=stream, leave=False)
