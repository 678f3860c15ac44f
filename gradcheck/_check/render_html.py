"""The report as HTML, for a notebook (``_repr_html_``)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from gradcheck._check.table import headline, rows

if TYPE_CHECKING:
    from gradcheck._check.report import GradientReport


def as_html(report: GradientReport) -> str:
    table = rows(report)
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in table[0])
    body = []
    for r, row in zip(report.results, table[1:], strict=True):
        colour = "#e6f4ea" if r.passed else "#fce8e6"
        cells = "".join(f"<td>{html.escape(cell)}</td>" for cell in row)
        body.append(f'<tr style="background:{colour}">{cells}</tr>')
    messages = "".join(
        f"<li><b>{html.escape(r.name)}</b>: {html.escape(r.diagnosis.message)}</li>"
        for r in report.results
        if not r.passed
    )
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in report.notes)
    return (
        f"<div><p>{html.escape(headline(report))}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        + (f"<ul>{messages}{notes}</ul>" if messages or notes else "")
        + "</div>"
    )
