"""MkDocs hook: turn the TeX that pymdownx.arithmatex marks into MathML at build time.

arithmatex (generic mode) wraps inline math as ``<span class="arithmatex">\\(...\\)</span>``
and display math as ``<div class="arithmatex">\\[...\\]</div>``. This hook converts the TeX
inside with latex2mathml (pure Python), so the pages need no script and no network:
browsers render MathML themselves (Chromium since 109, Firefox, Safari).
"""

from __future__ import annotations

import html
import re
from typing import Any

from latex2mathml.converter import convert

_INLINE = re.compile(r'<span class="arithmatex">\\\((.+?)\\\)</span>', re.DOTALL)
_BLOCK = re.compile(r'<div class="arithmatex">\\\[(.+?)\\\]</div>', re.DOTALL)


def _inline(match: re.Match[str]) -> str:
    return convert(html.unescape(match.group(1)).strip())


def _block(match: re.Match[str]) -> str:
    mathml = convert(html.unescape(match.group(1)).strip(), display="block")
    return f'<div class="math-display">{mathml}</div>'


def on_page_content(content: str, **_: Any) -> str:
    """Replace every arithmatex span and div by its MathML."""
    return _INLINE.sub(_inline, _BLOCK.sub(_block, content))
