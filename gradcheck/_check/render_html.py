"""The report as HTML, for a notebook (``_repr_html_``).

Readable on any theme, light or dark (JupyterLab, VS Code, classic Notebook): no colour is
set for text, which inherits the notebook's; rows are tinted with translucent colours that
darken a light page and lighten a dark one without hiding its text (green passed, red
failed, amber could not be checked); a row that did not pass is also marked without
colour, by a bar at its left edge and its verdict in bold. Inline styles
only (a ``<style>`` element would reach the whole page, and a sanitizer may drop it), no
scripts, and every text is escaped. ``tests/test_report_html.py`` holds this contract.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from gradcheck._check.table import HEADER, findings, footnotes, headline, rows

if TYPE_CHECKING:
    from gradcheck._check.report import GradientReport

#: Translucent tints (alpha well below 1) and the bar of a row that did not pass.
PASS_TINT = "rgba(52, 168, 83, 0.14)"
FAIL_TINT = "rgba(234, 67, 53, 0.16)"
FAIL_BAR = "rgba(234, 67, 53, 0.9)"
UNCHECKED_TINT = "rgba(251, 188, 4, 0.18)"
UNCHECKED_BAR = "rgba(227, 116, 0, 0.9)"

#: (tint, left bar) of a row, by outcome: a row that could not be checked is never green.
_LOOK = {
    "passed": (PASS_TINT, "transparent"),
    "failed": (FAIL_TINT, FAIL_BAR),
    "inconclusive": (UNCHECKED_TINT, UNCHECKED_BAR),
}

#: The columns read as numbers, aligned right; the others aligned left.
_NUMERIC = frozenset({"analytic", "numeric", "err/tol"})
_CELL = "padding:0.25em 0.75em;white-space:nowrap;"
_TABLE = "border-collapse:collapse;border-spacing:0;margin:0;color:inherit;background:none;"
_NUMBERS = "font-variant-numeric:tabular-nums;"


def _align(column: str) -> str:
    return "text-align:right;" + _NUMBERS if column in _NUMERIC else "text-align:left;"


def _header() -> str:
    """The column names, underlined; the first one indented like the rows' bar."""
    cells = "".join(
        f'<th scope="col" style="{_CELL}{_align(column)}'
        + ("border-left:4px solid transparent;" if i == 0 else "")
        + f'border-bottom:1px solid currentColor;font-weight:bold;">{html.escape(column)}</th>'
        for i, column in enumerate(HEADER)
    )
    return f"<thead><tr>{cells}</tr></thead>"


def _row(cells: tuple[str, ...], outcome: str) -> str:
    """One parameter's row: tinted, and unless it passed, barred with its verdict in bold."""
    tint, bar = _LOOK[outcome]
    passed = outcome == "passed"
    out = []
    for i, (column, cell) in enumerate(zip(HEADER, cells, strict=True)):
        style = _CELL + _align(column)
        if i == 0:
            style += f"border-left:4px solid {bar};"
        if column == "verdict" and not passed:
            style += "font-weight:bold;"
        out.append(f'<td style="{style}">{html.escape(cell)}</td>')
    return f'<tr data-verdict="{outcome}" style="background:{tint};">{"".join(out)}</tr>'


def _items(report: GradientReport) -> str:
    """What is wrong (a diagnosis several parameters share said once), then the notes
    (the table's footnotes first), as the terminal shows them."""
    said = "".join(
        f"<li><b>{html.escape(f.names[0])}</b>: {html.escape(f.text)}</li>"
        if len(f.names) == 1
        else f"<li>{html.escape(f.text)}</li>"
        for f in findings(report)
    )
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in [*footnotes(report), *report.notes])
    if not said and not notes:
        return ""
    return f'<ul style="margin:0.5em 0 0;padding-left:1.5em;">{said}{notes}</ul>'


def as_html(report: GradientReport) -> str:
    table = rows(report)
    body = "".join(
        _row(cells, r.outcome) for r, cells in zip(report.results, table[1:], strict=True)
    )
    return (
        '<div class="gradcheck-report" style="color:inherit;">'
        f'<p style="margin:0 0 0.5em;font-weight:bold;">{html.escape(headline(report))}</p>'
        f'<div style="overflow-x:auto;"><table style="{_TABLE}">{_header()}'
        f"<tbody>{body}</tbody></table></div>{_items(report)}</div>"
    )
