"""The report as text, for the terminal: the headline, the table, the findings, the notes
(the table's footnotes first).

Everything fits the terminal's width (``shutil.get_terminal_size``: the ``COLUMNS``
variable, else the terminal's, else 80), or a width given. Sentences are wrapped at spaces,
never inside a word, with a hanging indent. The table keeps its columns: a parameter name
too long for its column gets a line of its own above its row, and a table still too wide is
shown in two parts, each starting with the names.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from typing import TYPE_CHECKING

from gradcheck._check.table import HEADER, findings, footnotes, headline, rows

if TYPE_CHECKING:
    from gradcheck._check.report import GradientReport

#: Below this, even a sentence's first words would not fit: narrower widths are raised to it.
MIN_WIDTH = 30
_GAP = "  "


def terminal_width() -> int:
    """The terminal's width in columns (``COLUMNS`` first), 80 when it is not known."""
    return shutil.get_terminal_size((80, 24)).columns


def as_text(report: GradientReport, width: int | None = None) -> str:
    """The report as lines of at most ``width`` characters (default: the terminal's);
    only a word or a name longer than a whole line goes past it."""
    width = max(MIN_WIDTH, terminal_width() if width is None else width)
    lines = wrap(headline(report), width)
    lines.extend(table_lines(rows(report), width))
    for finding in findings(report):
        lines.extend(wrap(f"- {finding.said()}", width))
    for note in [*footnotes(report), *report.notes]:
        lines.extend(wrap(f"* {note}", width))
    return "\n".join(lines)


#: Stands for a space that must not break a line while a sentence is wrapped.
_GLUE = "\ue000"

#: A shape or an index: ``(1000, 2)``, ``(0, 1, 2)``.
_TUPLE = re.compile(r"\((?:\d+, )+\d*\)")


def _glued(sentence: str) -> str:
    """``sentence`` with the spaces inside a shape glued (``(1000, 2)``) and those around
    a lone symbol (``noise ≈ 7.7e-17``, ``dscores.T @ hidden``), so that no line breaks a
    shape or starts or ends with a symbol."""
    sentence = _TUPLE.sub(lambda match: match.group(0).replace(" ", _GLUE), sentence)
    out: list[str] = []
    glue_next = False
    for word in sentence.split(" "):
        symbol = 0 < len(word) <= 2 and not any(c.isalnum() for c in word)
        if out and (symbol or glue_next):
            out[-1] += _GLUE + word
        else:
            out.append(word)
        glue_next = symbol
    return " ".join(out)


def wrap(sentence: str, width: int) -> list[str]:
    """``sentence`` as lines of at most ``width``, broken at spaces only (and never right
    after a lone symbol); the lines after the first are indented by two spaces, under the
    text after a "- " or "* "."""
    lines = textwrap.wrap(
        _glued(sentence),
        width,
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [line.replace(_GLUE, " ") for line in lines] or [""]


def table_lines(table: list[tuple[str, ...]], width: int) -> list[str]:
    """The table in at most ``width`` columns: whole if it fits (long names on lines of
    their own if that makes it fit), else in two parts that each start with the names."""
    widths = _widths(table)
    if _fits(widths, width):
        return _aligned(table, widths, width)
    # The split whose wider part is narrowest: "param shape verdict worst at" and
    # "param analytic numeric err/tol" for the report's seven columns.
    best = min(
        range(2, len(widths)), key=lambda split: max(_rest(widths[1:split]), _rest(widths[split:]))
    )
    left = [row[:best] for row in table]
    right = [row[:1] + row[best:] for row in table]
    return [*_aligned(left, _widths(left), width), "", *_aligned(right, _widths(right), width)]


def _widths(table: list[tuple[str, ...]]) -> list[int]:
    return [max(len(row[i]) for row in table) for i in range(len(table[0]))]


def _rest(widths: list[int]) -> int:
    """The width of these columns after the name column, with the gaps before each."""
    return sum(widths) + len(_GAP) * len(widths)


def _fits(widths: list[int], width: int) -> bool:
    """Whether the table fits, once names too long for their column have lines of their
    own: the name column must keep room for its header at least."""
    return len(HEADER[0]) + _rest(widths[1:]) <= width


def _aligned(table: list[tuple[str, ...]], widths: list[int], width: int) -> list[str]:
    """The rows with their cells aligned; a name longer than the room left for names goes
    on a line of its own, and its cells on the next line."""
    room = max(len(table[0][0]), width - _rest(widths[1:]))
    column = max(len(row[0]) for row in table if len(row[0]) <= room)
    lines = []
    for name, *cells in table:
        if len(name) > column:
            lines.append(name)
            name = ""
        padded = (cell.ljust(w) for cell, w in zip(cells, widths[1:], strict=True))
        lines.append(_GAP.join([name.ljust(column), *padded]).rstrip())
    return lines
