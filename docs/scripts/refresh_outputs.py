"""Rewrite the output of every ``pycon`` example in the docs with what the code prints now.

    python docs/scripts/refresh_outputs.py docs/tutorial.md [more.md ...]
    python docs/scripts/refresh_outputs.py --all

Each page is run top to bottom in one namespace, as the docs test runs it: ``python``
blocks are executed, and in ``pycon`` blocks every ``>>>`` example is executed and its
expected output replaced by the real one. Then ``pytest tests/test_docs.py`` passes for
those pages (unless the output varies between runs, which the page should then avoid).
Blocks after a ``<!-- skip: next -->`` comment are left alone, as the test leaves them.
"""

from __future__ import annotations

import argparse
import contextlib
import doctest
import io
import re
import sys
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
#: Code the page runs but does not show: ``<!-- invisible-code-block: python ... -->``.
INVISIBLE = re.compile(
    r"^<!-- invisible-code-block: python\n(?P<body>.*?)^-->", re.MULTILINE | re.DOTALL
)
SKIP = "<!-- skip: next -->"


def run_example(source: str, namespace: dict[str, Any]) -> str:
    """What doctest would see: the printed output, or the exception's last line."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            exec(compile(source, "<doc>", "single"), namespace)
        except Exception as error:
            lines = traceback.format_exception_only(type(error), error)
            return "Traceback (most recent call last):\n    ...\n" + "".join(lines)
    return buffer.getvalue()


def refresh_block(body: str, namespace: dict[str, Any]) -> str:
    out: list[str] = []
    for example in doctest.DocTestParser().get_examples(body):
        lines = example.source.rstrip("\n").split("\n")
        indent = " " * example.indent
        out.append(indent + ">>> " + lines[0])
        out.extend(indent + "... " + line for line in lines[1:])
        got = run_example(example.source, namespace)
        if doctest.OutputChecker().check_output(example.want, got, doctest.ELLIPSIS):
            # Still right (an ELLIPSIS written by hand for a timing, say): keep it.
            got = example.want
        if got:
            for line in got.rstrip("\n").split("\n"):
                out.append(indent + (line if line.strip() else "<BLANKLINE>"))
    return "\n".join(out) + "\n"


def refresh(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": "__doc_page__", "__file__": str(path)}
    pieces: list[str] = []
    position = 0
    sys.path.insert(0, str(ROOT))
    regions = sorted(
        [*FENCE.finditer(text), *INVISIBLE.finditer(text)], key=lambda match: match.start()
    )
    for match in regions:
        if match.re is INVISIBLE:
            padding = "\n" * text[: match.start("body")].count("\n")
            exec(compile(padding + match.group("body"), str(path), "exec"), namespace)
            continue
        info, body = match.group("info").strip(), match.group("body")
        skipped = text[: match.start()].rstrip().endswith(SKIP)
        pieces.append(text[position : match.start()])
        if info == "python" and not skipped:
            # Pad to the block's first line, so that tracebacks and inspect.getsource
            # (which the decorator uses to name parameters) find the right lines.
            padding = "\n" * text[: match.start("body")].count("\n")
            exec(compile(padding + body, str(path), "exec"), namespace)
            pieces.append(match.group(0))
        elif info == "pycon" and not skipped:
            pieces.append(f"```{info}\n{refresh_block(body, namespace)}```")
        else:
            pieces.append(match.group(0))
        position = match.end()
    pieces.append(text[position:])
    new = "".join(pieces)
    if new != text:
        path.write_text(new, encoding="utf-8")
        print(f"updated {path.relative_to(ROOT)}")
    else:
        print(f"unchanged {path.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", type=Path)
    parser.add_argument("--all", action="store_true", help="every page under docs/")
    args = parser.parse_args()
    pages = sorted((ROOT / "docs").rglob("*.md")) if args.all else args.pages
    for page in pages:
        refresh(page.resolve())


if __name__ == "__main__":
    main()
