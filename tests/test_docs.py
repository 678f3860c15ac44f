"""The documentation's examples run, its quoted code is the real code, and the site builds.

Examples are run with Sybil (a maintained library for testing examples in documentation):
in every Markdown page under ``docs/`` and in ``README.md``,

* a ```` ```python ```` block is executed;
* a ```` ```pycon ```` block is a doctest: each ``>>> `` line is run and what it prints
  must be the output written under it (``...`` matches anything, doctest's ELLIPSIS);
* ``<!-- invisible-code-block: python ... -->`` is run but not shown (set-up);
* ``<!-- skip: next -->`` before a block leaves it out.

``__file__`` is the page's path.

All blocks of a page run in order in one namespace, so a page is one test: its examples
build on each other the way a reader reads them. ``docs/scripts/refresh_outputs.py``
rewrites the outputs from a real run when the code's output changes on purpose.

Blocks titled with a path (```` ```python title="reference_nets/...: backward" ````) are
quotations of the reference nets, not examples: they must equal the function's source,
and the code cells of the formula-to-code tables must be lines of it.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sybil = pytest.importorskip("sybil", reason="the docs test needs the test extra (sybil)")
from sybil import Sybil  # noqa: E402
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser  # noqa: E402
from sybil.typing import Evaluator  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
DOCUMENTS = [ROOT / "README.md", *PAGES]
FLAGS = doctest.ELLIPSIS


class PyconParser(PythonCodeBlockParser):
    """```` ```pycon ```` blocks as doctests (pycon highlighting sets output apart)."""

    @staticmethod
    def codeblock_parser_class(  # type: ignore[override]
        language: str | None = None, evaluator: Evaluator | None = None
    ) -> CodeBlockParser:
        del language
        return CodeBlockParser("pycon", evaluator)


SYBIL = Sybil(
    parsers=[
        PythonCodeBlockParser(doctest_optionflags=FLAGS),
        PyconParser(doctest_optionflags=FLAGS),
        SkipParser(),
    ],
    path=str(ROOT),
    patterns=["*.md"],
)


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", DOCUMENTS, ids=_page_id)
def test_examples_run_and_print_what_the_page_shows(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reports wrap to the terminal's width: the pages record them at 80 columns, whatever
    # terminal runs the tests.
    monkeypatch.setenv("COLUMNS", "80")
    document = SYBIL.parse(path)
    # A page may read itself (the pytest how-to runs its own test file).
    document.namespace["__file__"] = str(path)
    for example in document.examples():
        example.evaluate()


def test_every_page_is_collected() -> None:
    # A guard against a pattern that silently finds nothing.
    assert len(PAGES) >= 10
    assert any("pycon" in page.read_text(encoding="utf-8") for page in PAGES)


# ------------------------------------------------- quotations of the reference nets

QUOTE = re.compile(
    r'^(?P<indent>[ ]*)```python title="(?P<module>reference_nets/[\w/]+)\.py: (?P<function>\w+)"\n'
    r"(?P<body>.*?)^(?P=indent)```$",
    re.MULTILINE | re.DOTALL,
)
#: The formula-to-code pages and the package whose two layouts they quote.
TABLE_PAGES = {
    "formula-to-code/two-layer-relu.md": "reference_nets.two_layer_relu",
    "formula-to-code/three-layer-sigmoid.md": "reference_nets.three_layer_sigmoid",
    "formula-to-code/linear-softmax.md": "reference_nets.linear_softmax",
}


def _quotes() -> list[tuple[str, str, str, str]]:
    found = []
    for page in PAGES:
        for match in QUOTE.finditer(page.read_text(encoding="utf-8")):
            # A quotation inside a tab is indented; the source is not.
            body = textwrap.dedent(match["body"])
            found.append((_page_id(page), match["module"], match["function"], body))
    return found


QUOTES = _quotes()


def test_the_reference_nets_are_quoted() -> None:
    quoted = {(module, function) for _, module, function, _ in QUOTES}
    for package in TABLE_PAGES.values():
        for layout in ("row_major", "column_major"):
            assert (package.replace(".", "/") + "/" + layout, "backward") in quoted


@pytest.mark.parametrize(
    ("page", "module", "function", "body"),
    QUOTES,
    ids=[f"{page}:{module}.{function}" for page, module, function, _ in QUOTES],
)
def test_quoted_code_is_the_source(page: str, module: str, function: str, body: str) -> None:
    source = inspect.getsource(getattr(importlib.import_module(module.replace("/", ".")), function))
    assert body == source, f"{page} quotes an old {module}.py:{function}; copy the source again"


def _backward_lines(module: str) -> set[str]:
    """The statements of ``module.backward``, without comments, whitespace normalised."""
    source = inspect.getsource(importlib.import_module(module).backward)
    return {" ".join(line.split("  #")[0].split()) for line in source.splitlines()}


def _table_code_cells(text: str) -> list[tuple[str, str]]:
    """(layout, code) for the code cells of the tables with row- and column-major columns."""
    cells: list[tuple[str, str]] = []
    columns: dict[int, str] = {}
    for line in text.splitlines():
        if not line.startswith("|"):
            columns = {}
            continue
        row = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not columns and any("row-major" in cell for cell in row):
            columns = {
                i: "row_major" if "row-major" in cell else "column_major"
                for i, cell in enumerate(row)
                if "row-major" in cell or "column-major" in cell
            }
            continue
        for i, layout in columns.items():
            if i < len(row):
                cells.extend((layout, code) for code in re.findall(r"`([^`]+)`", row[i]))
    return cells


@pytest.mark.parametrize(("page", "package"), TABLE_PAGES.items())
def test_table_code_is_lines_of_the_backward(page: str, package: str) -> None:
    cells = _table_code_cells((DOCS / page).read_text(encoding="utf-8"))
    assert len(cells) >= 8, f"{page}: no formula-to-code table found"
    lines = {
        layout: _backward_lines(f"{package}.{layout}") for layout in ("row_major", "column_major")
    }
    stale = [
        f"{layout}: {code}" for layout, code in cells if " ".join(code.split()) not in lines[layout]
    ]
    assert not stale, f"{page}: these code cells are not lines of backward any more: {stale}"


# ------------------------------------------------------------------------ the site


@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("latex2mathml") is None,
    reason="the docs extra is not installed (pip install -e '.[docs]')",
)
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    # Offline: nothing in mkdocs.yml is fetched at build time (no inventories, no web fonts).
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
