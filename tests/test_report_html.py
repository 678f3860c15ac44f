"""The notebook report (``GradientReport._repr_html_``) is readable on light and dark themes.

The style contract, checked on the HTML itself:

* no text colour is set (every ``color`` is ``inherit``), so the text is the notebook's:
  dark on a light theme, light on a dark one;
* every background is translucent (alpha well below 1), and over each theme's page colour it
  leaves that theme's text at a contrast of at least 7:1 (WCAG AAA);
* a failing row is marked without colour as well: its verdict is written and in bold, and a
  bar marks its left edge (visible on both themes); a passing row has neither;
* self-contained: inline styles only, no scripts, no ``<style>``, nothing fetched; every text
  is escaped;
* it shows the same as the terminal: headline, one row per parameter, the diagnoses, notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import numpy as np
import pytest

import gradcheck
from tests._forum import forum_grads, forum_loss

# --------------------------------------------------------------- the reports under test

A = np.random.default_rng(3).standard_normal((5, 3))


def loss(p: dict[str, np.ndarray]) -> float:
    return float(np.sum(np.tanh(A @ p["W"])) + 0.5 * np.sum(p["b"] ** 2))


def grads(p: dict[str, np.ndarray], **slips: float) -> dict[str, np.ndarray]:
    """The right gradients, each multiplied by ``slips.get(name, 1)``."""
    dW = A.T @ (1 - np.tanh(A @ p["W"]) ** 2)
    g = {"W": dW, "b": p["b"].copy()}
    return {k: v * slips.get(k, 1.0) for k, v in g.items()}


def params() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {"W": 0.5 * rng.standard_normal((3, 2)), "b": rng.standard_normal(4)}


def report_with(**slips: float) -> gradcheck.GradientReport:
    p = params()
    return gradcheck.check_gradients(loss, grads(p, **slips), p, seed=0)


# ------------------------------------------------------------------- reading the HTML


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element] = field(default_factory=list)
    text: str = ""

    @property
    def style(self) -> dict[str, str]:
        found = {}
        for declaration in self.attrs.get("style", "").split(";"):
            key, colon, value = declaration.partition(":")
            if colon:
                found[key.strip().lower()] = value.strip()
        return found

    def all_text(self) -> str:
        return self.text + "".join(child.all_text() for child in self.children)

    def walk(self) -> list[Element]:
        return [self, *(e for child in self.children for e in child.walk())]

    def find(self, tag: str) -> list[Element]:
        return [e for e in self.walk() if e.tag == tag]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        # Text after a child is kept in order by a text-only child.
        self.stack[-1].children.append(Element("#text", {}, text=data))


def parse(markup: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(markup)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


def body_rows(root: Element) -> list[Element]:
    (tbody,) = root.find("tbody")
    return [e for e in tbody.children if e.tag == "tr"]


def cells(row: Element) -> list[str]:
    return [cell.all_text().strip() for cell in row.children if cell.tag in ("td", "th")]


# ------------------------------------------------------------------------- colours

RGBA = re.compile(r"rgba\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*\)")
#: (page background, text colour) of the themes people read notebooks in.
THEMES = {
    "JupyterLab light": ((255, 255, 255), (33, 33, 33)),  # text rgba(0, 0, 0, 0.87)
    "JupyterLab dark": ((17, 17, 17), (255, 255, 255)),
    "JupyterLab dark (UI text)": ((17, 17, 17), (224, 224, 224)),
    "VS Code Dark Modern": ((31, 31, 31), (204, 204, 204)),
    "VS Code Light Modern": ((255, 255, 255), (59, 59, 59)),
    "VS Code High Contrast": ((0, 0, 0), (255, 255, 255)),
}
Colour = tuple[float, float, float]


def rgba(value: str) -> tuple[Colour, float]:
    match = RGBA.search(value)
    assert match, f"{value!r} is not an rgba() colour"
    r, g, b, a = (float(x) for x in match.groups())
    return (r, g, b), a


def over(colour: Colour, alpha: float, page: Colour) -> Colour:
    r, g, b = (alpha * c + (1 - alpha) * p for c, p in zip(colour, page, strict=True))
    return r, g, b


def contrast(one: Colour, two: Colour) -> float:
    """WCAG 2 contrast ratio."""

    def luminance(colour: Colour) -> float:
        linear = [c / 255 for c in colour]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in linear]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(one), luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def backgrounds(root: Element) -> list[str]:
    return [
        value
        for e in root.walk()
        for key, value in e.style.items()
        if key in ("background", "background-color")
    ]


# --------------------------------------------------------------------------- tests

FAILING = {"W": 3.0}


@pytest.fixture(scope="module")
def failing() -> gradcheck.GradientReport:
    report = report_with(**FAILING)
    assert [r.passed for r in report] == [False, True]
    return report


@pytest.fixture(scope="module")
def passing() -> gradcheck.GradientReport:
    report = report_with()
    assert report.passed
    return report


@pytest.fixture(scope="module", params=["failing", "passing"])
def root(request: pytest.FixtureRequest) -> Element:
    report: gradcheck.GradientReport = request.getfixturevalue(request.param)
    return parse(report._repr_html_())


def test_no_text_colour_is_set_so_the_themes_text_colour_shows(root: Element) -> None:
    for element in root.walk():
        colour = element.style.get("color")
        assert colour in (None, "inherit"), f"<{element.tag}> sets color: {colour}"
        assert not {"color", "bgcolor"} & set(element.attrs)
    assert root.find("font") == []


def test_backgrounds_are_translucent_tints(root: Element) -> None:
    tints = [value for value in backgrounds(root) if value not in ("none", "transparent")]
    assert tints, "the rows are tinted"
    for value in tints:
        _, alpha = rgba(value)
        assert 0 < alpha <= 0.3, f"{value}: an opaque tint would hide one theme's text"


@pytest.mark.parametrize("theme", THEMES)
def test_text_on_every_tint_is_readable_on_every_theme(root: Element, theme: str) -> None:
    page, text = THEMES[theme]
    for value in backgrounds(root):
        if value in ("none", "transparent"):
            continue
        colour, alpha = rgba(value)
        ratio = contrast(over(colour, alpha, page), text)
        assert ratio >= 7, f"{theme}: text on {value} has contrast {ratio:.1f}"


def test_the_old_opaque_pale_rows_would_fail_the_contrast_check() -> None:
    # What issue 16 saw: white text on #fce8e6 in a dark theme.
    ratio = contrast((0xFC, 0xE8, 0xE6), THEMES["JupyterLab dark"][1])
    assert ratio < 1.5


def _bar(row: Element) -> str:
    first = next(c for c in row.children if c.tag == "td")
    return first.style.get("border-left", "")


def _verdict_is_bold(row: Element) -> bool:
    verdict = [c for c in row.children if c.tag == "td"][2]
    return verdict.style.get("font-weight") == "bold" or bool(verdict.find("b"))


def test_failing_rows_are_marked_without_colour(failing: gradcheck.GradientReport) -> None:
    rows = body_rows(parse(failing._repr_html_()))
    for result, row in zip(failing, rows, strict=True):
        assert row.attrs["data-verdict"] == ("passed" if result.passed else "failed")
        if result.passed:
            assert cells(row)[2] == "ok"
            assert not _verdict_is_bold(row)
            assert _bar(row) in ("", "none") or "transparent" in _bar(row)
        else:
            assert cells(row)[2] == result.diagnosis.kind
            assert _verdict_is_bold(row)
            width, _, colour = _bar(row).partition(" solid ")
            assert float(width.removesuffix("px")) >= 3
            bar, alpha = rgba(colour)
            for page, _ in THEMES.values():
                assert contrast(over(bar, alpha, page), page) >= 3  # WCAG non-text contrast


def test_the_tints_of_passing_and_failing_rows_differ(failing: gradcheck.GradientReport) -> None:
    failed, passed = (row.style["background"] for row in body_rows(parse(failing._repr_html_())))
    assert rgba(failed)[0] != rgba(passed)[0]


def test_self_contained_no_scripts_no_style_sheets_nothing_fetched(root: Element) -> None:
    tags = {e.tag for e in root.walk()}
    assert not tags & {"script", "style", "link", "img", "iframe", "object", "svg"}
    for element in root.walk():
        assert not [a for a in element.attrs if a.startswith("on")]
        style = element.attrs.get("style", "")
        for fetched_or_forced in ("url(", "@import", "!important"):
            assert fetched_or_forced not in style


def test_every_text_is_escaped() -> None:
    name = '<img src=x onerror="alert(1)">&amp;'
    p = params()
    p[name] = p.pop("W")
    g = grads(params(), W=-1.0)
    g[name] = g.pop("W")

    def renamed_loss(q: dict[str, np.ndarray]) -> float:
        return loss({"W": q[name], "b": q["b"]})

    report = gradcheck.check_gradients(renamed_loss, g, p, seed=0)
    assert not report[name].passed
    markup = report._repr_html_()
    root = parse(markup)
    assert root.find("img") == []
    assert "<img" not in markup
    assert cells(body_rows(root)[1])[0] == name  # the name is shown as written
    assert name in root.find("ul")[0].all_text()


def test_it_shows_the_headline_table_diagnoses_and_notes(
    failing: gradcheck.GradientReport,
) -> None:
    root = parse(failing._repr_html_())
    text = root.all_text()
    assert text.startswith(str(failing).splitlines()[0])  # the headline, first
    (head,) = root.find("thead")
    assert cells(head.children[0]) == [
        "param",
        "shape",
        "verdict",
        "worst at",
        "analytic",
        "numeric",
        "err/tol",
    ]
    rows = body_rows(root)
    assert [cells(row)[:2] for row in rows] == [[r.name, str(r.shape)] for r in failing]
    (items,) = root.find("ul")
    assert [li.all_text() for li in items.children] == [
        f"{r.name}: {r.diagnosis.message}" for r in failing.failed
    ]


def test_notes_follow_the_diagnoses() -> None:
    p = params()
    g = grads(p, W=3.0)
    g["<V>"] = np.zeros(2)  # a gradient with no parameter: a note says it was ignored
    report = gradcheck.check_gradients(loss, g, p, seed=0)
    assert len(report.notes) == 1
    items = [li.all_text() for li in parse(report._repr_html_()).find("li")]
    assert len(items) == 2
    assert items[0].startswith("W: ")
    assert items[1] == report.notes[0]


def test_a_diagnosis_every_parameter_shares_is_one_item() -> None:
    report = report_with(W=4.0, b=4.0)  # one missing 1/4: both gradients scaled alike
    assert [r.diagnosis.kind for r in report] == ["scaled", "scaled"]
    items = [li.all_text() for li in parse(report._repr_html_()).find("li")]
    assert len(items) == 1 + len(report.notes)
    assert "4×" in items[0]


def test_a_passing_report_has_no_list_and_no_marked_row(
    passing: gradcheck.GradientReport,
) -> None:
    root = parse(passing._repr_html_())
    assert root.find("ul") == []
    rows = body_rows(root)
    assert len(rows) == len(passing)
    assert all(row.attrs["data-verdict"] == "passed" for row in rows)
    assert not any(_verdict_is_bold(row) for row in rows)


# ------------------------------------------------ rows that show their evidence


def test_a_shape_failure_shows_both_shapes_and_no_values() -> None:
    p = params()
    g = grads(p)
    g["W"] = g["W"].T  # (2, 3) for a (3, 2) parameter
    report = gradcheck.check_gradients(loss, g, p, seed=0)
    assert report["W"].diagnosis.kind == "transposed"
    row, _ = body_rows(parse(report._repr_html_()))
    assert cells(row) == ["W", "(3, 2) ≠ (2, 3)", "transposed", "-", "-", "-", "-"]
    assert row.attrs["data-verdict"] == "failed"


def big_forum() -> gradcheck.GradientReport:
    """The forum net with W1, b1 and W2 large enough to be probed together."""
    rng = np.random.default_rng(0)
    p = {
        "W1": rng.standard_normal((30, 40)),
        "b1": 0.1 * rng.standard_normal((1, 40)),
        "W2": rng.standard_normal((40, 10)),
        "b2": 0.1 * rng.standard_normal((1, 10)),
    }
    X, y = rng.standard_normal((20, 30)), rng.integers(0, 10, 20)
    g = forum_grads(p, X, y)
    g["b2"] = -g["b2"]  # a finding, to see the footnote's place among the items
    g["<V>"] = np.zeros(2)  # and a note
    return gradcheck.check_gradients(lambda q: forum_loss(q, X, y), g, p, seed=0)


def test_parameters_checked_together_show_their_numbers_once() -> None:
    report = big_forum()
    assert [r.method for r in report] == ["joint", "joint", "joint", "entries"]
    rows = [cells(row) for row in body_rows(parse(report._repr_html_()))]
    assert [row[3] for row in rows[:3]] == ["joint"] * 3
    assert all(cell != "-" for cell in rows[0][4:])
    assert rows[1][4:] == rows[2][4:] == ["-", "-", "-"]
    items = [li.all_text() for li in parse(report._repr_html_()).find("li")]
    assert len(items) == 3
    assert items[0].startswith("b2: ")  # what is wrong first
    assert items[1].startswith(
        "W1, b1 and W2 were checked together, to save loss calls: each probe moved all three "
        "at once, so their rows share one set of numbers, shown on W1's row"
    )
    assert items[2] == report.notes[0]
    # The same as the terminal says it.
    assert items[1] in " ".join(str(report).split())
