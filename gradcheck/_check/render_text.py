"""The report as text, for the terminal: the headline, the table, the diagnoses, the notes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradcheck._check.table import headline, rows

if TYPE_CHECKING:
    from gradcheck._check.report import GradientReport


def as_text(report: GradientReport) -> str:
    table = rows(report)
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = [headline(report)]
    for row in table:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        lines.append("  ".join(cells).rstrip())
    for r in report.results:
        if not r.passed:
            lines.append(f"- {r.name}: {r.diagnosis.message}")
    lines.extend(f"* {note}" for note in report.notes)
    return "\n".join(lines)
