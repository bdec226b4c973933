"""Lesson 04's interaction explorer in a real JupyterLab, driven through Debian's chromium with Playwright.

The test starts ``jupyter lab`` itself (127.0.0.1, a free port, a random token, Jupyter's folders and HOME in a
temporary directory, the quiet offline flags of ``make lab``) on a temporary copy of the lessons with
``FAST=True`` injected, opens lesson 04, runs all cells, checks that the explorer rendered as widgets, changes
the interaction from the page, clicks Train and waits until the metrics view changed. It saves screenshots in
its temporary directory (the path is printed; ``NCF_SCREENSHOT_DIR`` copies them somewhere else too) and
always stops the server and its kernels by PID.

Until ``lessons/04_neuralcf.ipynb`` exists, a small scratch notebook that embeds the explorer the same way is
used instead.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``; never ``playwright install``, which downloads).
Without it the test skips with that hint, unless ``NCF_REQUIRE_BROWSER=1`` (set by ``.ci/run``): then it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import REPO, lesson_overrides

pytestmark = [pytest.mark.browser, pytest.mark.slow]

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
LAB_FLAGS = ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
LESSON = "04_neuralcf.ipynb"
HOW_TO_ENABLE = (
    "Install Debian's chromium to run it: sudo apt-get update && sudo apt-get install chromium "
    "(the Python package playwright is in the test extras; do not run 'playwright install')."
)


def _require_browser():
    problem = None
    if not Path(CHROMIUM).exists():
        problem = f"The browser test needs {CHROMIUM}, which is missing. {HOW_TO_ENABLE}"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "The browser test needs the Python package playwright: pip install -e '.[test]'."
    if problem:
        if os.environ.get("NCF_REQUIRE_BROWSER") == "1":
            pytest.fail(problem + " (NCF_REQUIRE_BROWSER=1: the browser test must run here.)")
        pytest.skip(problem)


# ---------------------------------------------------------------------------------------------- notebook
def _scratch_notebook() -> nbformat.NotebookNode:
    """What lesson 04 does with the explorer, in four cells (used until the lesson exists)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Scratch lesson 04 · the interaction explorer"),
        nbformat.v4.new_code_cell(
            'DATASET = "ml-latest-small"\nFAST = False\nSEED = 0', metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_code_cell(
            "from ncf_helpers import lesson\n"
            "from ncf_helpers.lessons.l04_neuralcf.explorer import InteractionExplorer\n"
            "from ncf_helpers.lessons.l04_neuralcf.explorer import explorer_split, reference_metrics, train_interaction\n"
            "from ncf_helpers.lessons.l04_neuralcf.explorer_plots import plot_run_overview\n"
            "lesson.setup(SEED)\n"
            "ds = lesson.load_data(DATASET, FAST, seed=SEED)\n"
            "split = explorer_split(ds, seed=SEED)\n"
            'run = train_interaction(split, "dot", epochs=2 if FAST else 8, seed=SEED, dataset=ds)\n'
            "plot_run_overview(run, reference_metrics(split, fast=FAST))"
        ),
        nbformat.v4.new_code_cell(
            "explorer = InteractionExplorer(ds, split, fast=FAST, seed=SEED, initial=run)\nexplorer"
        ),
    ]
    return nb


def _prepare_notebook(workdir: Path) -> Path:
    """A temporary copy of lessons/ with FAST=True injected into lesson 04 (or the scratch notebook)."""
    from ncf_helpers.nbrun import inject_parameters

    lessons = workdir / "lessons"
    source = REPO / "lessons"
    if (source / LESSON).exists():
        shutil.copytree(source, lessons, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        path = lessons / LESSON
        nb = nbformat.read(path, as_version=4)
    else:
        lessons.mkdir(parents=True)
        path = lessons / "scratch_04_explorer.ipynb"
        nb = _scratch_notebook()
    inject_parameters(nb, lesson_overrides())
    nbformat.write(nb, path)
    return path


# ---------------------------------------------------------------------------------------------- server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    """PIDs of every process below ``pid`` (kernels run in their own session, so killpg would miss them)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


class Lab:
    """``jupyter lab`` on 127.0.0.1 in ``workdir``, isolated from the user's Jupyter folders and HOME."""

    def __init__(self, root: Path, scratch: Path):
        import secrets

        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.pop("MPLBACKEND", None)  # the kernel must use the inline backend, as for a learner
        for var, sub in (
            ("HOME", "home"),
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("JUPYTER_DATA_DIR", "data"),
            ("IPYTHONDIR", "ipython"),
        ):
            (scratch / sub).mkdir(parents=True, exist_ok=True)
            env[var] = str(scratch / sub)
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        jupyter_lab = Path(sys.executable).with_name("jupyter-lab")
        cmd = [
            str(jupyter_lab) if jupyter_lab.exists() else sys.executable,
            *([] if jupyter_lab.exists() else ["-m", "jupyterlab"]),
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            *LAB_FLAGS,
        ]
        if os.geteuid() == 0:  # CI containers run as root
            cmd.append("--ServerApp.allow_root=True")
        self.log_path = scratch / "jupyter-lab.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=root, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started = time.perf_counter()

    def log(self, tail: int | None = 4000) -> str:
        text = self.log_path.read_text(errors="replace")
        return text if tail is None else text[-tail:]

    def wait_ready(self, timeout: float = 90) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log()}")
            try:
                req = urllib.request.Request(f"{self.url}/api/status", headers={"Authorization": f"token {self.token}"})
                with urllib.request.urlopen(req, timeout=2) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - self.started
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise AssertionError(f"jupyter lab was not ready after {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        """Shut down the kernels and the server, then kill by PID whatever is left (never by name)."""
        pids = _descendants(self.proc.pid) if self.proc.poll() is None else []
        if self.proc.poll() is None:
            try:
                req = urllib.request.Request(
                    f"{self.url}/api/shutdown",
                    method="POST",
                    data=b"",
                    headers={"Authorization": f"token {self.token}"},
                )
                urllib.request.urlopen(req, timeout=5).close()
            except (urllib.error.URLError, OSError):
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                    self.proc.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    self.proc.wait(timeout=10)
        deadline = time.perf_counter() + 10
        while any(_alive(p) for p in pids) and time.perf_counter() < deadline:
            time.sleep(0.2)
        for pid in pids:
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._log.close()


# ---------------------------------------------------------------------------------------------- page helpers
_NOTEBOOK_STATE = """() => {
  const app = window.jupyterapp;
  if (!app) return {ready: false, why: 'no jupyterapp'};
  const panel = app.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) return {ready: false, why: 'no notebook'};
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = [];
  const model = panel.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const c = model.cells.get(i);
    if (c.type !== 'code') continue;
    const outs = c.outputs.toJSON();
    const err = outs.find(o => o.output_type === 'error');
    cells.push({index: i, count: c.executionCount,
                error: err ? (err.ename + ': ' + err.evalue + '\\n' + (err.traceback || []).join('\\n')) : null});
  }
  return {ready: true, kernel: kernel ? kernel.status : 'none', cells};
}"""


def _wait_notebook(page, predicate, what: str, timeout: float):
    deadline = time.perf_counter() + timeout
    state = None
    while time.perf_counter() < deadline:
        state = page.evaluate(_NOTEBOOK_STATE)
        if state.get("ready"):
            errors = [c for c in state["cells"] if c["error"]]
            if errors:
                raise AssertionError(f"Cell {errors[0]['index']} failed in the browser:\n{errors[0]['error'][-3000:]}")
            if predicate(state):
                return state
        time.sleep(0.5)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}; last state: {json.dumps(state)[:2000]}")


@pytest.mark.timeout(600)
def test_interaction_explorer_in_jupyterlab(tmp_path):
    _require_browser()
    from playwright.sync_api import sync_playwright

    t0 = time.perf_counter()
    notebook = _prepare_notebook(tmp_path / "work")
    lab = Lab(notebook.parent, tmp_path / "jupyter")
    timings = {}
    shots = tmp_path / "screenshots"
    shots.mkdir()
    try:
        timings["lab ready"] = lab.wait_ready()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 2300})
                console_errors = []
                page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
                page.goto(f"{lab.url}/lab/tree/{notebook.name}?token={lab.token}", timeout=60_000)
                page.wait_for_selector(".jp-NotebookPanel", timeout=60_000)
                _wait_notebook(page, lambda s: s["kernel"] == "idle", "the kernel to start", 90)
                assert page.get_by_text("Would you like to get notified about official Jupyter news?").count() == 0

                # Run all cells, as a learner would from the Run menu.
                start = time.perf_counter()
                page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
                _wait_notebook(
                    page,
                    lambda s: s["kernel"] == "idle" and all(c["count"] for c in s["cells"]),
                    "all cells to run",
                    420,
                )
                timings["run all cells"] = time.perf_counter() - start

                explorer = page.locator(".ncf-interaction-explorer").first
                explorer.wait_for(state="attached", timeout=30_000)
                explorer.scroll_into_view_if_needed()
                assert page.get_by_text("Error displaying widget").count() == 0, "a widget failed to render"
                assert explorer.locator("select").count() >= 2, "the interaction and size dropdowns are missing"
                metrics_img = explorer.locator(".ncf-view-metrics img")
                metrics_img.wait_for(timeout=30_000)
                before_src = metrics_img.get_attribute("src")
                before_rows = explorer.locator(".ncf-history tbody tr").count()
                assert before_src and before_src.startswith("data:image/png"), "the metrics view shows no figure"
                explorer.screenshot(path=str(shots / "explorer_before.png"))

                # Change the interaction from the page and press Train.
                dropdown = explorer.locator(".widget-dropdown select").first
                current = dropdown.evaluate("s => s.options[s.selectedIndex].text")
                target = "MLP" if current != "MLP" else "dot (MF)"
                dropdown.select_option(label=target)
                button = explorer.get_by_role("button", name="Train")
                button.evaluate("""b => { window.__ncfSawDisabled = false;
                    new MutationObserver(() => { if (b.disabled) window.__ncfSawDisabled = true; })
                      .observe(b, {attributes: true}); }""")
                start = time.perf_counter()
                button.click()
                page.wait_for_function(
                    """([before, rows]) => {
                        const root = document.querySelector('.ncf-interaction-explorer');
                        const img = root && root.querySelector('.ncf-view-metrics img');
                        const n = root ? root.querySelectorAll('.ncf-history tbody tr').length : 0;
                        const done = Array.from(root ? root.querySelectorAll('.widget-html') : [])
                          .some(e => e.textContent.startsWith('Done:'));
                        const train = Array.from(root ? root.querySelectorAll('button') : [])
                          .find(b => b.textContent.includes('Train'));
                        return img && img.src !== before && n > rows && done && train && !train.disabled;
                    }""",
                    arg=[before_src, before_rows],
                    timeout=240_000,
                    polling=500,
                )
                timings["train from the page"] = time.perf_counter() - start
                assert page.evaluate("() => window.__ncfSawDisabled"), "Train was not disabled while training"
                assert explorer.locator(".ncf-view-metrics img").get_attribute("src") != before_src
                history = explorer.locator(".ncf-history tbody tr").first.inner_text()
                assert target.split()[0].lower() in history.lower(), f"newest history row is {history!r}"
                assert page.get_by_text("Error displaying widget").count() == 0
                error_box = explorer.get_by_text("Could not run this configuration")
                assert error_box.count() == 0, error_box.first.inner_text()
                explorer.scroll_into_view_if_needed()
                explorer.screenshot(path=str(shots / "explorer.png"))
                page.screenshot(path=str(shots / "page.png"))
                widget_errors = [m for m in console_errors if "widget" in m.lower()]
                assert not widget_errors, widget_errors[:3]
            finally:
                browser.close()
    finally:
        lab.stop()
    assert lab.proc.poll() is not None
    noisy = [line for line in lab.log(tail=None).splitlines() if line.startswith(("[E", "[C")) or "Traceback" in line]
    assert not noisy, "JupyterLab logged errors:\n" + "\n".join(noisy[:10])
    timings["total"] = time.perf_counter() - t0
    copy_to = os.environ.get("NCF_SCREENSHOT_DIR")
    if copy_to:
        Path(copy_to).mkdir(parents=True, exist_ok=True)
        for png in shots.glob("*.png"):
            shutil.copy2(png, Path(copy_to) / png.name)
    print(f"\nScreenshots in {shots}; timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
