"""The report's table as cells: one header and one row per parameter, and the headline.
Shared by the terminal (:mod:`.render_text`) and the notebook (:mod:`.render_html`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradcheck._check.report import GradientReport, ParameterResult

HEADER = ("param", "shape", "verdict", "worst at", "analytic", "numeric", "err/tol")


def _number(value: float) -> str:
    return "-" if value != value else f"{value: .4e}"


def _worst_at(result: ParameterResult) -> str:
    if result.method == "none":
        return "-"
    if result.method == "joint":
        return "joint"
    if result.worst_index is None:
        return "direction"
    return str(result.worst_index)


def rows(report: GradientReport) -> list[tuple[str, ...]]:
    """The header, then one row of cells per parameter."""
    table: list[tuple[str, ...]] = [HEADER]
    for r in report.results:
        table.append(
            (
                r.name,
                str(r.shape),
                r.diagnosis.kind if not r.passed else "ok",
                _worst_at(r),
                _number(r.analytic),
                _number(r.numeric),
                "-" if r.method == "none" else f"{r.error_ratio:.2g}",
            )
        )
    return table


def headline(report: GradientReport) -> str:
    bad = len(report.failed)
    total = len(report.results)
    verdict = "all gradients ok" if bad == 0 else f"{bad} of {total} gradients wrong"
    return f"gradcheck: {verdict} ({report.loss_calls} loss calls, noise ≈ {report.noise:.1e})"
