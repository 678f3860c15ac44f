"""The layout docs/architecture.md describes stays true: every module is in it, each is
small, and the package's surface is its public names only."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

import gradcheck

PACKAGE = Path(gradcheck.__file__).parent
ARCHITECTURE = PACKAGE.parent / "docs" / "architecture.md"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")

#: The sizes a newcomer can read in one sitting (issue 13), in lines of code: docstrings,
#: comments and blank lines aside.
MAX_MODULE, MAX_CLASS, MAX_FUNCTION = 300, 150, 60


def _code_lines(source: str) -> tuple[ast.Module, set[int]]:
    """The module's tree, and the numbers of its lines that hold code."""
    tree = ast.parse(source)
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            docstrings.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    skipped = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT}
    skipped |= {tokenize.DEDENT, tokenize.ENDMARKER}
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skipped:
            lines.update(range(token.start[0], token.end[0] + 1))
    return tree, lines - docstrings


def _oversized(path: Path) -> list[str]:
    tree, lines = _code_lines(path.read_text(encoding="utf-8"))
    found = [f"module: {len(lines)} lines"] if len(lines) > MAX_MODULE else []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            end = node.end_lineno or node.lineno
            size = sum(node.lineno <= line <= end for line in lines)
            limit = MAX_CLASS if isinstance(node, ast.ClassDef) else MAX_FUNCTION
            if size > limit:
                found.append(f"{node.name}: {size} lines (at most {limit})")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_is_small(path: Path) -> None:
    assert _oversized(path) == []


def test_the_size_count_leaves_out_docstrings_comments_and_blank_lines() -> None:
    source = (
        '"""Doc.\n\nMore."""\n\n# a comment\nx = 1\n\n\ndef f():\n    """Doc."""\n    return x\n'
    )
    _, lines = _code_lines(source)
    assert lines == {6, 9, 11}


def test_docs_architecture_names_every_module() -> None:
    """Each module is named in the paragraph of its room (``**`_check/`...``), or, at the
    top level, anywhere on the page."""
    paragraphs = ARCHITECTURE.read_text(encoding="utf-8").split("\n\n")
    missing = []
    for path in MODULES:
        parts = path.relative_to(PACKAGE).parts
        if len(parts) == 1:  # in the tree at the top of the page
            named = any(f"  {parts[0]} " in p for p in paragraphs)
        else:
            room = [p for p in paragraphs if p.startswith(f"**`{parts[0]}/`")]
            named = any(f"`{parts[-1]}`" in p for p in room)
        if not named:
            missing.append("/".join(parts))
    assert missing == []


def test_private_modules_live_in_private_packages() -> None:
    public = {"errors.py", "strategies.py"}
    for path in MODULES:
        parts = path.relative_to(PACKAGE).parts
        assert parts[0] in public or parts[0].startswith("_"), parts


def test_dir_shows_the_public_names_only() -> None:
    names = dir(gradcheck)
    assert set(gradcheck.__all__) <= set(names)
    assert not [n for n in names if n.startswith("_") and n != "__version__"]
    assert {"Any", "TYPE_CHECKING", "import_module"}.isdisjoint(names)


@pytest.mark.parametrize("name", ["GradientMismatch", "GradientShapeError", "AnnotationMismatch"])
def test_exceptions_are_shown_under_the_package_name(name: str) -> None:
    error = getattr(gradcheck, name)
    assert f"{error.__module__}.{error.__qualname__}" == f"gradcheck.{name}"
    assert getattr(gradcheck.errors, name) is error
