"""Screenshots of the notebook report in JupyterLab's light and dark themes, and of the docs.

Run by hand (``make test`` does not), from the repository's root::

    apt-get install -y chromium                     # once (Debian); or set CHROMIUM=/path
    make docs                                       # once: installs the docs extra
    .venv/bin/python docs/scripts/screenshots.py    # builds the site afresh, in a temp dir
    .venv/bin/python docs/scripts/screenshots.py --site site --out /tmp/img  # a built site

Writes these PNGs to ``docs/img/`` (``--out``), shown in ``docs/how-to/jupyter.md``:

* ``report_light.png`` and ``report_dark.png``: a passing and a failing report of the forum
  net (a transposed ``dW2`` and a ``db1`` 400x too large planted in its right gradients) as
  ``_repr_html_`` renders them, in a page with JupyterLab 4's colours for each theme (page,
  text, borders) and its CSS for tables in outputs (striped rows, right-aligned cells);
* ``docs_home.png``, ``docs_tutorial.png`` (at "Ask gradcheck": the code and its report)
  and ``docs_two_layer_relu.png`` (at "Line by line": the formula-to-code table): three
  pages of the built site in a 1280-pixel window, served by ``http.server`` on 127.0.0.1
  only, while they are taken.

Chromium runs headless, without sandbox, GPU, network services or a profile of its own
(a throw-away ``--user-data-dir``). Look at the PNGs after a change to the report's HTML.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

import gradcheck
from reference_nets._experiments import FORUM_NET, make_problem

ROOT = Path(__file__).resolve().parents[2]

#: (page background, text, table text, header border, even-row stripe) per JupyterLab 4
#: theme: --jp-layout-color0, --jp-content-font-color1, --jp-ui-font-color1,
#: --jp-border-color1 and --jp-rendermime-table-row-background.
THEMES = {
    "light": ("#ffffff", "rgb(0, 0, 0)", "rgba(0, 0, 0, 0.87)", "#bdbdbd", "#f5f5f5"),
    "dark": ("#111111", "rgb(255, 255, 255)", "rgba(255, 255, 255, 0.87)", "#616161", "#212121"),
}

#: A notebook's look around an output: JupyterLab's rules for rendered HTML tables, in
#: short (``.jp-RenderedHTMLCommon`` in @jupyterlab/rendermime's base.css).
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>gradcheck report, {theme}</title><style>
body {{ margin: 0; padding: 16px 24px; background: {page}; color: {text};
  font: 14px/1.6 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }}
.cell {{ display: flex; gap: 8px; margin-bottom: 20px; }}
.prompt {{ width: 64px; flex: none; text-align: right; color: #bf5b3d;
  font: 13px "DejaVu Sans Mono", monospace; padding-top: 2px; }}
.jp-RenderedHTMLCommon table {{ border-collapse: collapse; border-spacing: 0; border: none;
  color: {table_text}; font-size: 13px; table-layout: fixed; margin: 0 auto 1em; }}
.jp-RenderedHTMLCommon thead {{ border-bottom: 1px solid {border}; vertical-align: bottom; }}
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon tr {{
  text-align: right; vertical-align: middle; padding: 0.5em; line-height: normal;
  white-space: normal; max-width: none; border: none; }}
.jp-RenderedHTMLCommon th {{ font-weight: bold; }}
.jp-RenderedHTMLCommon tbody tr:nth-child(odd) {{ background: {page}; }}
.jp-RenderedHTMLCommon tbody tr:nth-child(even) {{ background: {stripe}; }}
.jp-RenderedHTMLCommon p {{ text-align: left; margin: 0 0 1em; }}
</style></head><body>
<div class="cell"><div class="prompt">[1]:</div>
<div class="jp-RenderedHTMLCommon">{passing}</div></div>
<div class="cell"><div class="prompt">[2]:</div>
<div class="jp-RenderedHTMLCommon">{failing}</div></div>
</body></html>
"""

#: Docs pages to photograph: (PNG name, path in the site, with the section to show).
DOCS_PAGES = (
    ("docs_home.png", ""),
    ("docs_tutorial.png", "tutorial/#2-ask-gradcheck"),
    ("docs_two_layer_relu.png", "formula-to-code/two-layer-relu/#line-by-line"),
)


def reports() -> tuple[gradcheck.GradientReport, gradcheck.GradientReport]:
    """The forum net at initialisation: its right gradients, then two classic slips."""
    problem = make_problem(FORUM_NET, layout="row_major", seed=0)
    params = problem.initial_params
    right = problem.gradients(params)
    wrong = dict(right, W2=right["W2"].T, b1=right["b1"] * 400)
    passing = gradcheck.check_gradients(problem.loss, right, params, seed=0)
    failing = gradcheck.check_gradients(problem.loss, wrong, params, seed=0)
    assert passing.passed, passing
    assert not failing.passed, failing
    return passing, failing


def chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    found = found or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not found:
        sys.exit("no Chromium found: apt-get install -y chromium, or set CHROMIUM=/path")
    return found


def screenshot(url: str, out: Path, size: tuple[int, int]) -> None:
    """One headless Chromium run: ``url`` at ``size`` (width, height) to ``out``."""
    with tempfile.TemporaryDirectory() as profile:
        command = [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--virtual-time-budget=5000",
            f"--user-data-dir={profile}",
            f"--window-size={size[0]},{size[1]}",
            f"--screenshot={out}",
            url,
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


def crop_to_content(png: Path, margin: int = 16) -> None:
    """Cut the page's empty bottom: keep the rows down to the last one that differs from the
    background, and a margin."""
    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB"))
    background = pixels[-1, -1]
    used = np.flatnonzero((pixels != background).any(axis=(1, 2)))
    bottom = min(len(pixels), int(used[-1]) + 1 + margin) if used.size else len(pixels)
    Image.fromarray(pixels[:bottom]).save(png, optimize=True)


def report_screenshots(out: Path) -> None:
    passing, failing = reports()
    with tempfile.TemporaryDirectory() as folder:
        for theme, (page, text, table_text, border, stripe) in THEMES.items():
            html = PAGE.format(
                theme=theme,
                page=page,
                text=text,
                table_text=table_text,
                border=border,
                stripe=stripe,
                passing=passing._repr_html_(),
                failing=failing._repr_html_(),
            )
            source = Path(folder) / f"report_{theme}.html"
            source.write_text(html, encoding="utf-8")
            png = out / f"report_{theme}.png"
            screenshot(source.as_uri(), png, (1000, 900))
            crop_to_content(png)


#: A page that shows one docs page in a frame of the window's size, scrolled to a section.
#: (Chromium's --screenshot draws a page scrolled to its #fragment wrongly; a frame scrolled
#: by its parent is drawn right.)
FRAME = """<!doctype html>
<html><head><meta charset="utf-8"><title>frame</title></head>
<body style="margin:0;overflow:hidden">
<iframe id="page" src="{src}" style="border:0;width:{width}px;height:{height}px"></iframe>
<script>
const frame = document.getElementById("page");
frame.addEventListener("load", () => {{
  const section = frame.contentDocument.getElementById("{section}");
  if (section) frame.contentWindow.scrollTo(0, section.offsetTop - 72);
}});
</script></body></html>
"""


@contextmanager
def served(site: Path, size: tuple[int, int]) -> Iterator[str]:
    """The site served on 127.0.0.1 (a free port) while the block runs; its base URL.
    ``/__frame__/<path>#<section>`` is the FRAME page for ``<path>``, and that section."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            if not self.path.startswith("/__frame__/"):
                super().do_GET()
                return
            path, _, section = self.path.removeprefix("/__frame__").partition("?section=")
            page = FRAME.format(src=path, section=section, width=size[0], height=size[1])
            body = page.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    handler = functools.partial(Handler, directory=str(site))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/"
        finally:
            server.shutdown()
            thread.join()


def build_site(site: Path) -> None:
    print(f"building the site into {site} (mkdocs build --strict)")
    environment = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    subprocess.run(command, cwd=ROOT, check=True, env=environment)


def docs_screenshots(site: Path | None, out: Path) -> None:
    """The docs pages, from ``site`` (a built site) or from a fresh build."""
    with tempfile.TemporaryDirectory() as folder:
        if site is None:
            site = Path(folder) / "site"
            build_site(site)
        size = (1280, 900)
        with served(site, size) as base:
            for name, path in DOCS_PAGES:
                page, _, section = path.partition("#")
                screenshot(f"{base}__frame__/{page}?section={section}", out / name, size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, help="a built site (default: build one now)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="PNG folder")
    parser.add_argument("--only", choices=("report", "docs"), help="one kind of screenshot")
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    if options.only != "docs":
        report_screenshots(options.out.resolve())
    if options.only != "report":
        site = options.site.resolve() if options.site else None
        docs_screenshots(site, options.out.resolve())


if __name__ == "__main__":
    main()
