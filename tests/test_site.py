"""The course site (``make site``, ``site/build.py``): built from the FAST-executed lessons, read in a real browser.

The browser test takes every lesson's FAST execution from the ``lesson_run`` fixture (so in a full test run the
lessons the notebook tests executed are not executed again), saves them into ``build/executed/fast/`` (where
``python site/build.py --fast`` reuses them), builds the site into a temporary folder, serves it from
``127.0.0.1`` and visits every page with Debian's chromium through Playwright. On every page: no console error,
no request that leaves 127.0.0.1 (the site must read offline), no local request that fails, every image loads
(``naturalWidth > 0``), no "Error displaying widget" and no raw widget repr, and every internal link points at a
page (and anchor) that exists. Lesson 04's page must show its figures and the interaction explorer's saved view.
Screenshots of the start page and lesson 04 are saved in the test's temporary folder (and in
``NCF_SCREENSHOT_DIR`` when set).
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import nbformat
import pytest
from conftest import REPO, lesson_overrides, lesson_paths

SITE_DIR = REPO / "site"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _load(name: str):
    """Import ``site/<name>.py`` (the folder is not a package: ``site`` is also a standard-library module)."""
    if str(SITE_DIR) not in sys.path:
        sys.path.insert(0, str(SITE_DIR))
    spec = importlib.util.spec_from_file_location(f"ncf_site_{name}", SITE_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------- quick checks
def test_vendored_javascript_matches_manifest():
    """MathJax, require.js and the widget manager are in site/_static/vendor with the recorded SHA-256."""
    problems = _load("vendor").check()
    assert not problems, "\n".join(problems)


def test_conf_points_at_vendored_files_only():
    """No CDN in the Sphinx configuration: MathJax and the widget scripts are local paths that exist."""
    text = (SITE_DIR / "conf.py").read_text()
    assert "http://" not in text and "https://" not in text
    namespace: dict = {}
    exec(compile(text, "conf.py", "exec"), namespace)
    for path in [namespace["mathjax_path"], *namespace["nb_ipywidgets_js"]]:
        assert (SITE_DIR / "_static" / path).is_file(), path


def test_parameter_rows_reads_names_defaults_and_comments():
    build = _load("build")
    rows = build.parameter_rows(
        'DATASET = "ml-latest-small"  # which data\nFAST = False\nSIZES = (1,\n         2)  # two lines\n'
    )
    assert rows == [
        ("DATASET", '"ml-latest-small"', "which data"),
        ("FAST", "False", ""),
        ("SIZES", "(1,\n         2)", "two lines"),
    ]


def test_every_lesson_has_a_parameters_table():
    """The live-run box lists every name of each lesson's parameters cell, FAST included."""
    from ncf_helpers.nbrun import parameter_names, parameters_cell

    build = _load("build")
    for path in lesson_paths():
        nb = nbformat.read(path, as_version=4)
        source = nb.cells[parameters_cell(nb)].source
        names = [r[0] for r in build.parameter_rows(source)]
        assert names == parameter_names(source), path.name
        assert "FAST" in names, path.name


def _tiny_run(tmp_path: Path):
    from ncf_helpers.nbrun import LessonRun

    lesson = tmp_path / "99_tiny.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Tiny"),
        nbformat.v4.new_code_cell("FAST = False", metadata={"tags": ["parameters"]}),
    ]
    nbformat.write(nb, lesson)
    return lesson, LessonRun(lesson, nb, {"dataset": "synthetic"}, 1.25)


def test_saved_execution_is_reused_only_while_current(tmp_path):
    from ncf_helpers.nbrun import save_executed, saved_run_is_current

    build = _load("build")
    lesson, run = _tiny_run(tmp_path)
    saved = save_executed(run, tmp_path / "executed", {"FAST": True})
    meta = json.loads(saved.read_text())["metadata"]["ncf_run"]
    assert meta["overrides"] == {"FAST": True} and meta["dataset"] == "synthetic"
    assert saved_run_is_current(saved, lesson) and saved_run_is_current(saved, lesson, {"FAST": True})
    assert not saved_run_is_current(saved, lesson, {})
    assert build.saved_matches_mode(saved, lesson, fast=True)
    assert not build.saved_matches_mode(saved, lesson, fast=False)  # a FAST run is never published as default
    lesson.write_text(lesson.read_text().replace("FAST = False", "FAST = False  # edited"))
    assert not saved_run_is_current(saved, lesson), "an edited lesson must be executed again"
    assert not list((tmp_path / "executed").glob(".*")), "the temporary file of the atomic write was left behind"


def test_missing_widget_state_is_a_clear_error(tmp_path):
    """A widget view without saved state would render as 'Error displaying widget': the build refuses it."""
    from ncf_helpers.nbrun import save_executed

    build = _load("build")
    lesson, run = _tiny_run(tmp_path)
    run.notebook.cells.append(
        nbformat.v4.new_code_cell(
            "w",
            outputs=[
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        build.WIDGET_VIEW: {"model_id": "abc", "version_major": 2, "version_minor": 0},
                        "text/plain": "Output()",
                    },
                )
            ],
        )
    )
    saved = save_executed(run, tmp_path / "executed", {"FAST": True})
    with pytest.raises(build.SiteError, match="abc.*no saved state"):
        build.prepare_notebook(lesson, saved, fast=True)


def test_prepared_page_has_live_box_widget_note_and_folded_solution(tmp_path):
    from ncf_helpers.nbrun import save_executed

    build = _load("build")
    lesson, run = _tiny_run(tmp_path)
    nb = run.notebook
    nb.cells.insert(
        2,
        nbformat.v4.new_code_cell(
            "# Injected by ncf_helpers.nbrun\nFAST = True", metadata={"tags": ["injected-parameters"]}
        ),
    )
    nb.cells.append(nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"))
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "w",
            outputs=[
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        build.WIDGET_VIEW: {"model_id": "abc", "version_major": 2, "version_minor": 0},
                        "text/plain": "Output()",
                    },
                )
            ],
        )
    )
    nb.metadata["widgets"] = {build.WIDGET_STATE: {"version_major": 2, "version_minor": 0, "state": {"abc": {}}}}
    saved = save_executed(run, tmp_path / "executed", {"FAST": True})
    page = build.prepare_notebook(lesson, saved, fast=True)
    sources = [c.source for c in page.cells]
    assert sources[0] == "# Tiny" and "Run this lesson live" in sources[1] and "make lab" in sources[1]
    assert "| `FAST` | `False` |" in sources[1] and "`FAST = True` injected" in sources[1]
    assert "remove-cell" in page.cells[3].metadata["tags"]  # the injected cell is hidden
    assert "hide-input" in page.cells[4].metadata["tags"]  # the solution is folded
    assert "Saved view." in sources[-1] and "JupyterLab" in sources[-1]
    assert len({c.id for c in page.cells}) == len(page.cells)


# ---------------------------------------------------------------------------------------------- browser
def _require_browser():
    problem = None
    if not Path(CHROMIUM).exists():
        problem = (
            f"The site test needs {CHROMIUM}: sudo apt-get install chromium (never 'playwright install', "
            "which downloads a browser)."
        )
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "The site test needs the Python package playwright: pip install -e '.[test]'."
    if problem:
        if os.environ.get("NCF_REQUIRE_BROWSER") == "1":
            pytest.fail(problem + " (NCF_REQUIRE_BROWSER=1: the browser test must run here.)")
        pytest.skip(problem)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _serve(folder: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


_IDS = re.compile(r'\bid="([^"]+)"')


def _broken_links(site: Path, page: Path, hrefs: list[str], base: str) -> list[str]:
    """Internal links of ``page`` whose file, or anchor in that file, does not exist in the built site."""
    broken = []
    for href in hrefs:
        url = urljoin(base + page.relative_to(site).as_posix(), href)
        parsed = urlparse(url)
        if not url.startswith(base) or parsed.scheme not in ("http", "https"):
            continue  # external (checked by the request filter when loaded) or mailto:
        target_url, fragment = urldefrag(url)
        rel = unquote(urlparse(target_url).path)[len(urlparse(base).path) :]
        target = site / rel
        if rel == "" or rel.endswith("/"):
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href} -> {target.relative_to(site)} (missing)")
        elif fragment and target.suffix == ".html" and fragment not in _IDS.findall(target.read_text()):
            broken.append(f"{href} -> no id {fragment!r} in {target.relative_to(site)}")
    return broken


def test_broken_link_check_can_fail(tmp_path):
    """The link check of the browser test reports a missing page, a missing anchor and a folder without index."""
    (tmp_path / "a.html").write_text('<h1 id="top">A</h1>')
    (tmp_path / "_sources").mkdir()
    base = "http://127.0.0.1:1/"
    hrefs = ["a.html#top", "#top", "https://example.org/x", "b.html", "a.html#nowhere", "_sources/"]
    broken = _broken_links(tmp_path, tmp_path / "a.html", hrefs, base)
    assert [b.split(" ->")[0] for b in broken] == ["b.html", "a.html#nowhere", "_sources/"], broken


@pytest.fixture(scope="module")
def fast_site(lesson_run, tmp_path_factory):
    """The site built from the FAST execution of every lesson (see the module docstring)."""
    from ncf_helpers.nbrun import save_executed

    build = _load("build")
    executed = REPO / "build" / "executed" / "fast"
    start = time.perf_counter()
    for path in lesson_paths():
        save_executed(lesson_run(path.stem), executed, lesson_overrides())
    lessons_seconds = time.perf_counter() - start
    out = tmp_path_factory.mktemp("site") / "html"
    info = build.build(fast=True, out=out, executed_dir=executed, execute=False)
    print(
        f"site (FAST): lessons {lessons_seconds:.0f} s (about 0 when the notebook tests executed them first), "
        f"staging + sphinx "
        f"{info['sphinx_seconds']:.0f} s, {info['bytes'] / 2**20:.1f} MiB in {info['files']} files, load "
        f"{os.getloadavg()[0]:.1f}"
    )
    return info


# When run alone this test executes every lesson (FAST) first; in the full suite the notebook tests already did.
@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_site_in_browser(fast_site, tmp_path):
    _require_browser()
    from playwright.sync_api import sync_playwright

    site = fast_site["out"]
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)
    names = {p.relative_to(site).as_posix() for p in pages}
    lesson_pages = [f"{p.stem}.html" for p in lesson_paths()]
    assert {"index.html", "glossary.html", *lesson_pages} <= names, names
    if (REPO / "lessons" / "INSTRUCTORS.md").exists():
        assert "INSTRUCTORS.html" in names
    # The sidebar lists the lessons in course order.
    index_html = (site / "index.html").read_text()
    positions = [index_html.find(f'href="{name}"') for name in lesson_pages]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), positions

    shots = tmp_path / "screenshots"
    shots.mkdir()
    server, base = _serve(site)
    problems: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 1400})
                outside: list[str] = []

                def route(r):
                    if r.request.url.startswith(base) or r.request.url.startswith("data:"):
                        r.continue_()
                    else:
                        outside.append(r.request.url)
                        r.abort()

                context.route("**/*", route)
                page = context.new_page()
                errors: list[str] = []
                failed: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
                page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
                page.on("requestfailed", lambda r: failed.append(f"failed {r.url}") if r.url.startswith(base) else None)
                for html_page in pages:
                    rel = html_page.relative_to(site).as_posix()
                    errors.clear(), failed.clear(), outside.clear()
                    page.goto(base + rel, wait_until="load", timeout=60_000)
                    page.wait_for_load_state("networkidle", timeout=60_000)
                    views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
                    if views:  # html-manager replaces each view script by the rendered widget
                        page.wait_for_function(
                            "n => document.querySelectorAll('.jupyter-widgets, .widget-output').length >= n",
                            arg=1,
                            timeout=60_000,
                        )
                        page.wait_for_load_state("networkidle", timeout=60_000)
                    images = page.evaluate(
                        """() => Promise.all(Array.from(document.images).map(i => {
                               i.loading = 'eager';
                               return i.decode().then(() => [i.src.slice(0, 80), i.naturalWidth],
                                                      () => [i.src.slice(0, 80), i.naturalWidth]); }))"""
                    )
                    text = page.evaluate("() => document.body.innerText")
                    hrefs = page.evaluate(
                        "() => Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))"
                    )
                    for src, width in images:
                        if not width:
                            problems.append(f"{rel}: image does not load: {src}")
                    problems += [f"{rel}: console error: {e}" for e in errors]
                    problems += [f"{rel}: request failed: {f}" for f in failed]
                    problems += [f"{rel}: request leaving 127.0.0.1 (the site must read offline): {u}" for u in outside]
                    if "Error displaying widget" in text:
                        problems.append(f"{rel}: a widget shows 'Error displaying widget'")
                    for raw in re.findall(
                        r"^(?:Output|HBox|VBox|Tab|IntProgress|InteractionExplorer)\(.*$", text, flags=re.M
                    ):
                        problems.append(f"{rel}: raw widget repr on the page: {raw[:80]}")
                    if views and "Saved view." not in text:
                        problems.append(f"{rel}: widgets without the 'Saved view ... live in JupyterLab' note")
                    problems += [f"{rel}: broken link {b}" for b in _broken_links(site, html_page, hrefs, base)]
                    if rel == "index.html":
                        page.screenshot(path=str(shots / "site-start.png"))
                    if rel.startswith("04_"):
                        figures = page.locator("div.cell_output img")
                        assert figures.count() >= 5, f"lesson 04 shows only {figures.count()} figures"
                        explorer = page.locator(".ncf-interaction-explorer").first
                        assert explorer.count() == 1, "lesson 04 does not show the explorer's saved view"
                        explorer.scroll_into_view_if_needed()
                        view = explorer.locator(".ncf-view-metrics img").first
                        assert view.count() == 1 and view.evaluate("i => i.naturalWidth") > 0, (
                            "the explorer's saved view has no metrics figure"
                        )
                        assert "Run this lesson live" in text and "make lab" in text
                        assert "EMBEDDING_DIM" in text, "the parameters table is missing"
                        page.screenshot(path=str(shots / "site-lesson04.png"), full_page=False)
                        explorer.screenshot(path=str(shots / "site-lesson04-explorer.png"))
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
        print(f"site screenshots: {shots}")
        target = os.environ.get("NCF_SCREENSHOT_DIR")
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            for shot in shots.glob("*.png"):
                shutil.copy2(shot, Path(target) / shot.name)
    assert not problems, f"{len(problems)} problems on {len(pages)} pages:\n" + "\n".join(problems[:60])
