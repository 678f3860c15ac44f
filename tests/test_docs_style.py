"""The documentation's code reads without sideways scrolling: every line of a ```` ```python ````,
```` ```pycon ```` or ```` ```sh ```` block in ``docs/**/*.md`` is at most 88 characters (the
site's content column shows that many from a 1280-pixel window up; see docs/css/extra.css).

Two kinds of lines are exempt, and only these:

* a recorded output line of a ``pycon`` block that is one message in words, as gradcheck
  prints it on one line (a diagnosis, an exception's message): the output is the program's,
  not ours to rewrap. A long output that is data (a list, a tuple, a repr, markup) is not
  exempt: the example should print it in shorter lines.
* a quotation of a reference net's source (```` ```python title="reference_nets/...: f" ````):
  tests/test_docs.py holds it equal to the source, which is formatted to 100 columns
  (pyproject.toml), so it is held to that.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").rglob("*.md"))
MAX_LINE = 88
MAX_QUOTED_SOURCE = 100

#: A fenced block of one of the checked languages, at any indentation (inside a tab too).
FENCE = re.compile(
    r"^(?P<indent>[ ]*)```(?P<lang>python|pycon|sh)\b(?P<info>[^\n]*)\n(?P<body>.*?)"
    r"^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
QUOTED_SOURCE = re.compile(r'title="reference_nets/')
#: How data begins when printed: a bracket, a quote, markup, or a call such as ``Name(...``.
DATA = re.compile(r"""^\s*(?:[\[\](){}<'"]|[\w.]+\()""")


def is_message(line: str) -> bool:
    """An output line that is one message in words (at least eight), not printed data."""
    return not DATA.match(line) and len(line.split()) >= 8


def is_output(line: str) -> bool:
    stripped = line.lstrip()
    return not (stripped.startswith((">>>", "...")) or stripped in ("", "<BLANKLINE>"))


def long_lines(text: str) -> list[tuple[int, str, str]]:
    """(line number, block language, line) of every code line past its limit."""
    found = []
    for block in FENCE.finditer(text):
        first = text.count("\n", 0, block.start("body")) + 1
        limit = MAX_QUOTED_SOURCE if QUOTED_SOURCE.search(block["info"]) else MAX_LINE
        for offset, raw in enumerate(block["body"].splitlines()):
            line = raw.removeprefix(block["indent"])  # the code as the page shows it
            if len(line) <= limit:
                continue
            if block["lang"] == "pycon" and is_output(line) and is_message(line):
                continue
            found.append((first + offset, block["lang"], line))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_lines_fit_the_column(page: Path) -> None:
    found = long_lines(page.read_text(encoding="utf-8"))
    report = [f"{page.name}:{n} ({lang}, {len(line)} chars): {line}" for n, lang, line in found]
    assert not report, "\n".join(report)


def test_the_check_sees_the_blocks_it_should() -> None:
    # Guards against a pattern that silently matches nothing.
    blocks = [m["lang"] for p in PAGES for m in FENCE.finditer(p.read_text(encoding="utf-8"))]
    assert {"python", "pycon", "sh"} <= set(blocks)
    assert len(blocks) >= 40


SAMPLE = """Text.

```python
x = 1  # a comment that makes this line far longer than eighty-eight characters, far longer
```

    ```pycon
    >>> print(report["W2"].diagnosis.message)
    dW2 has shape (2, 1000) but W2 has shape (1000, 2): the axes are reversed, so it is transposed
    >>> [(r.name, r.method) for r in report]
    [('W1', 'joint'), ('b1', 'joint'), ('W2', 'joint'), ('b2', 'entries'), ('W3', 'entries')]
    >>> report["w"].diagnosis
    Diagnosis(kind='scaled', factor=0.16666666666666666, message='dw is 0.1667× (= 1/6) the ...')
    ```

```sh
.venv/bin/python -m pytest -q -p no:cacheprovider tests/test_docs.py tests/test_docs_style.py
```

```python title="reference_nets/two_layer_relu/row_major.py: backward"
    dloss_db1 = np.sum(dloss_dhidden_pre, axis=0, keepdims=True)  # ∂L/∂b1 = Σ_i ∂L/∂Z1[i, :]
```

```text
a text block is not checked, however long its lines are: ...................................
```
"""


def test_long_code_and_printed_data_are_caught_and_messages_and_quotes_are_not() -> None:
    found = {n: line for n, _, line in long_lines(SAMPLE)}
    assert sorted(found) == [4, 11, 13, 17]
    assert found[11].startswith("[('W1'")  # a list is data
    assert found[13].startswith("Diagnosis(")  # so is a repr
    assert all(len(line) > MAX_LINE for line in found.values())
