"""Build the course site: static HTML of the executed lessons, readable in a browser without installing anything.

    make site                                   # default parameters -> build/site/index.html
    python site/build.py --fast                 # FAST=True executions -> build/site-fast/ (what CI builds)
    python site/build.py --no-execute           # fail instead of executing lessons that have no saved run

Steps:

1. Find the lessons by glob (``lessons/[0-9][0-9]_*.ipynb``, in order) plus ``lessons/glossary.md`` and
   ``lessons/INSTRUCTORS.md`` when present.
2. For each lesson take its saved execution from ``build/executed/default/`` (``--fast``: ``build/executed/fast/``),
   written by :func:`ncf_helpers.nbrun.run_lesson` with ``save_to`` (``benchmarks/notebooks.py`` saves default
   runs, the test suite saves FAST runs). A copy is reused only while it is an execution of the lesson file as
   it is now (SHA-256) with the right parameters; otherwise the lesson is executed now and saved there.
3. Stage a Sphinx project in ``build/site-src/<mode>/``: ``site/conf.py``, ``site/_static`` (the vendored
   MathJax, require.js and widget manager: no CDN), a generated start page whose toctree gives the sidebar in
   course order, the glossary, the instructors' page, and each executed lesson with two additions: under its
   title a box saying how to run it live (``make lab``) with the table of its parameters read from the cell
   tagged ``parameters``, and under every widget a note that it shows the saved state and is live in JupyterLab.
   The cell that injected parameters is hidden (the box says what was injected), and the exercises' solution
   cells are folded (their output, the check's verdict, stays visible).
4. ``sphinx-build -b html`` (myst-nb renders the notebooks without executing them) into ``build/site/``
   (``--fast``: ``build/site-fast/``). Prints the build time and the site's size.

Why Sphinx + myst-nb + sphinx-book-theme rather than Jupyter Book: Jupyter Book 1 is this same stack behind a
wrapper, and Jupyter Book 2 (MyST-MD) needs Node.js and fetches its theme at build time; these three are pip
packages in the test extras, so ``make venv`` brings everything and the build runs offline.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import shutil
import subprocess
import sys
import time
import tokenize
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LESSONS = REPO / "lessons"
BUILD = REPO / "build"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

for _p in (REPO, HERE):  # ncf_helpers without `pip install -e .`, and site/vendor.py
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))


class SiteError(RuntimeError):
    """The site cannot be built; the message says which file and what to do."""


# ---------------------------------------------------------------------------------------------- lessons
def lesson_paths(lessons: Path = LESSONS) -> list[Path]:
    """Every numbered lesson notebook, in course order."""
    return sorted(lessons.glob("[0-9][0-9]_*.ipynb"))


def mode_overrides(fast: bool) -> dict:
    """What a site build injects when it has to execute a lesson: nothing (defaults), or FAST as the tests do."""
    if not fast:
        return {}
    data = os.environ.get("NCF_DATA_DIR")
    real = bool(data) and (Path(data).resolve() / "ml-latest-small" / "ratings.csv").exists()
    return {"FAST": True, "DATASET": "ml-latest-small" if real else "synthetic"}


def saved_matches_mode(saved: Path, lesson: Path, fast: bool) -> bool:
    """A saved execution is usable when it ran the current lesson file with this mode's parameters: FAST=True
    (any DATASET) for ``--fast``, no overrides at all for the default site."""
    from ncf_helpers.nbrun import saved_run_is_current

    if not saved_run_is_current(saved, lesson):
        return False
    overrides = json.loads(saved.read_text(encoding="utf-8"))["metadata"]["ncf_run"].get("overrides", {})
    return overrides.get("FAST") is True if fast else overrides == {}


def executed_lessons(fast: bool, executed_dir: Path, execute: bool = True, log=print) -> list[Path]:
    """The executed copy of every lesson (reused or executed now), in course order."""
    from ncf_helpers.nbrun import run_lesson

    out = []
    for lesson in lesson_paths():
        saved = executed_dir / lesson.name
        if saved_matches_mode(saved, lesson, fast):
            log(f"  {lesson.stem}: reusing {saved.relative_to(REPO) if saved.is_relative_to(REPO) else saved}")
        elif not execute:
            raise SiteError(
                f"{lesson.name} has no current execution in {executed_dir} (missing, or the lesson changed since). "
                f"Run without --no-execute, or execute it: python benchmarks/notebooks.py{' --fast' if fast else ''}"
                f" --only {lesson.stem[:2]}"
            )
        else:
            start = time.perf_counter()
            run_lesson(lesson, mode_overrides(fast) or None, save_to=executed_dir)
            log(f"  {lesson.stem}: executed in {time.perf_counter() - start:.0f} s -> {saved}")
        out.append(saved)
    return out


# ---------------------------------------------------------------------------------------------- parameters
def parameter_rows(source: str) -> list[tuple[str, str, str]]:
    """``(name, default value as written, comment)`` for every assignment of a parameters cell."""
    comments = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.string.lstrip("#").strip()
    except tokenize.TokenError:
        pass
    rows = []
    for node in ast.parse(source).body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            targets = [node.target.id]
        for name in targets:
            value = ast.get_source_segment(source, node.value) or ""
            comment = " ".join(
                comments[i] for i in range(node.lineno, (node.end_lineno or node.lineno) + 1) if i in comments
            )
            rows.append((name, value, comment))
    return rows


def _md_cell_text(text: str) -> str:
    return text.replace("|", "\\|")


def live_note(lesson: Path, executed, fast: bool) -> str:
    """The box under a lesson's title: how to run it live, what this page ran with, and its parameters."""
    import nbformat

    from ncf_helpers.nbrun import parameters_cell

    source_nb = nbformat.read(lesson, as_version=4)
    rows = parameter_rows(source_nb.cells[parameters_cell(source_nb)].source)
    meta = executed.metadata.get("ncf_run", {})
    overrides = meta.get("overrides", {})
    ran = ", ".join(f"`{k} = {v!r}`" for k, v in overrides.items())
    how = (
        f"with {ran} injected, the quick settings of the tests (so its numbers differ from the published site)"
        if overrides
        else "with its default parameters"
    )
    facts = []
    if meta.get("dataset"):
        facts.append(f"on {meta['dataset']}")
    if meta.get("seconds") is not None:
        facts.append(f"in {meta['seconds']:.0f} s")
    if meta.get("executed_at"):
        facts.append(f"on {meta['executed_at'][:10]}")
    table = ["| parameter | default | what it does |", "|---|---|---|"]
    table += [f"| `{n}` | `{_md_cell_text(' '.join(v.split()))}` | {_md_cell_text(c)} |" for n, v, c in rows]
    return "\n".join(
        [
            ":::{admonition} Run this lesson live",
            ":class: tip ncf-live-note",
            f"This page shows `lessons/{lesson.name}` executed {how}" + (", " + " ".join(facts) if facts else "") + ".",
            "To run it yourself, clone the course and type `make lab` (it installs what the course needs the first "
            f"time), then open `{lesson.name}`. The settings live in the cell tagged `parameters`; change them there "
            "and run all cells.",
            "",
            *table,
            ":::",
        ]
    )


WIDGET_NOTE = (
    '<div class="ncf-widget-note"><strong>Saved view.</strong> The widget above shows the state it had when '
    "the lesson was executed; its controls do nothing on this page. It is live in JupyterLab: "
    "<code>make lab</code>, open this lesson and run its cells.</div>"
)


def _widget_models(cell) -> list[str]:
    return [o["data"][WIDGET_VIEW]["model_id"] for o in cell.get("outputs", []) if WIDGET_VIEW in o.get("data", {})]


def prepare_notebook(lesson: Path, executed_path: Path, fast: bool):
    """The executed notebook as the site shows it (a copy; see the module docstring, step 3)."""
    import nbformat

    nb = nbformat.read(executed_path, as_version=4)
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    cells = []
    title_done = False
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags:
            cell.metadata["tags"] = tags + ["remove-cell"]
        elif cell.cell_type == "code" and (
            "### BEGIN SOLUTION" in cell.source or cell.metadata.get("nbgrader", {}).get("solution")
        ):
            cell.metadata["tags"] = tags + ["hide-input"]  # an exercise's solution: folded, one click away
            cell.metadata.setdefault("mystnb", {}).update(
                {"code_prompt_show": "Show the solution", "code_prompt_hide": "Hide the solution"}
            )
        cells.append(cell)
        if not title_done and cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            cells.append(nbformat.v4.new_markdown_cell(live_note(lesson, nb, fast)))
            title_done = True
        models = _widget_models(cell) if cell.cell_type == "code" else []
        if models:
            missing = [m for m in models if m not in state]
            if missing:
                raise SiteError(
                    f"{executed_path}: the widget(s) {missing} displayed by cell {nb.cells.index(cell)} have no saved "
                    "state in the notebook's metadata, so the page would show 'Error displaying widget'. Execute the "
                    "lesson again with ncf_helpers.nbrun.run_lesson (nbclient saves widget state)."
                )
            cells.append(nbformat.v4.new_markdown_cell(WIDGET_NOTE))
    if not title_done:
        raise SiteError(f"{lesson}: the first markdown cell should start with a '# Title' line.")
    for c in cells:  # new cells need ids in nbformat >= 4.5
        c.setdefault("id", None)
    nb.cells = cells
    nbformat.validator.normalize(nb)
    return nb


def title_of(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "?"


def _learn_line(nb) -> str:
    """The first bullet after "You will learn" (for the start page's table), or ""."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "You will learn" in cell.source:
            after = cell.source.split("You will learn", 1)[1].splitlines()
            for i, line in enumerate(after):
                if line.startswith(("- ", "* ")):
                    words = [line[2:].strip()]
                    for more in after[i + 1 :]:  # continuation lines of the same bullet
                        if not more.startswith("  ") or not more.strip():
                            break
                        words.append(more.strip())
                    return " ".join(words).rstrip(";,.")
    return ""


def start_page(entries: list[tuple[str, str, str]], extras: list[str], fast: bool) -> str:
    """``index.md``: what the site is, the lessons in order (table and toctree), the reference pages."""
    table = ["| lesson | you will learn, among other things |", "|---|---|"]
    table += [f"| [{_md_cell_text(t)}]({stem}.ipynb) | {_md_cell_text(learn)} |" for stem, t, learn in entries]
    refs = []
    if "glossary" in extras:
        refs.append("The [glossary](glossary.md) has the course's terms in English and Chinese.")
    if "INSTRUCTORS" in extras:
        refs.append("Teaching with the course: the [instructors' notes](INSTRUCTORS.md).")
    mode = (
        "**This build used `FAST=True`** (the quick settings of the automatic tests), so its numbers are "
        "smaller-scale than the published site's."
        if fast
        else "Every lesson here was executed with its default parameters."
    )
    return "\n".join(
        [
            "# Neural collaborative filtering: the course, executed",
            "",
            "An interactive course on recommender systems with neural collaborative filtering (NeuralCF and the "
            "two-tower model) in Keras 3, from co-occurrence counts to matrix factorization, NeuralCF, two-tower "
            "retrieval and a fair comparison. These pages are the lessons as they ran: every figure, table and printed "
            "number comes from that execution. " + mode,
            "",
            "To change anything and run it yourself, clone the course and type `make lab`: every lesson page says "
            "which parameters it has. The widgets on these pages show their saved state; they are live in JupyterLab.",
            "",
            *table,
            "",
            *refs,
            "",
            "The data are MovieLens ml-latest-small, published by GroupLens Research (University of Minnesota) for "
            "research and education: F. Maxwell Harper and Joseph A. Konstan, *The MovieLens Datasets: History and "
            "Context*, ACM TiiS 5(4), 2015. The pages show results computed from it (counts, titles, figures), never "
            "the ratings files.",
            "",
            "```{toctree}",
            ":caption: Lessons",
            ":maxdepth: 1",
            ":hidden:",
            "",
            *[stem for stem, _, _ in entries],
            "```",
            "",
            *(
                ["```{toctree}", ":caption: Reference", ":maxdepth: 1", ":hidden:", "", *extras, "```"]
                if extras
                else []
            ),
            "",
        ]
    )


def stage(fast: bool, executed: list[Path], src: Path) -> Path:
    """Write the Sphinx project into ``src`` (emptied first) and return it."""
    import nbformat

    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    shutil.copy2(HERE / "conf.py", src / "conf.py")
    shutil.copytree(HERE / "_static", src / "_static")
    entries = []
    for lesson, path in zip(lesson_paths(), executed):
        nb = prepare_notebook(lesson, path, fast)
        nbformat.write(nb, src / lesson.name)
        entries.append((lesson.stem, title_of(nb), _learn_line(nb)))
    extras = []
    for name in ("glossary.md", "INSTRUCTORS.md"):
        if (LESSONS / name).exists():
            shutil.copy2(LESSONS / name, src / name)
            extras.append(Path(name).stem)
    (src / "index.md").write_text(start_page(entries, extras, fast), encoding="utf-8")
    return src


def sphinx(src: Path, out: Path, log=print) -> list[str]:
    """Run ``sphinx-build -b html``; return its warnings. Raises SiteError when it fails."""
    tmp_out = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp_out, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-b",
        "html",
        "-q",
        "-E",
        "--keep-going",
        "-d",
        str(src.parent / (src.name + ".doctrees")),
        str(src),
        str(tmp_out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    warnings = [line for line in proc.stderr.splitlines() if line.strip()]
    if proc.returncode != 0 or not (tmp_out / "index.html").exists():
        raise SiteError("sphinx-build failed:\n" + "\n".join(warnings[-40:]))
    shutil.rmtree(out, ignore_errors=True)
    tmp_out.rename(out)  # the previous site stays whole until the new one is complete
    return warnings


def size_of(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def build(
    fast: bool = False, out: Path | None = None, executed_dir: Path | None = None, execute: bool = True, log=print
) -> dict:
    """Build the site (see the module docstring); return timings, size and Sphinx's warnings."""
    mode = "fast" if fast else "default"
    executed_dir = Path(executed_dir) if executed_dir else BUILD / "executed" / mode
    out = Path(out) if out else BUILD / ("site-fast" if fast else "site")
    from vendor import check as check_vendor

    problems = check_vendor()
    if problems:
        raise SiteError("Vendored JavaScript is incomplete:\n" + "\n".join(problems))
    t0 = time.perf_counter()
    log(f"Lessons ({mode} parameters), executed copies in {executed_dir}:")
    executed = executed_lessons(fast, executed_dir, execute=execute, log=log)
    t1 = time.perf_counter()
    src = stage(fast, executed, BUILD / "site-src" / mode)
    warnings = sphinx(src, out, log=log)
    t2 = time.perf_counter()
    size, files = size_of(out)
    for w in warnings:
        log(f"  sphinx: {w}")
    log(
        f"Site: {out / 'index.html'}  ({size / 2**20:.1f} MiB in {files} files; lessons {t1 - t0:.0f} s, "
        f"staging + sphinx {t2 - t1:.0f} s, total {t2 - t0:.0f} s)"
    )
    return {
        "out": out,
        "executing_seconds": t1 - t0,
        "sphinx_seconds": t2 - t1,
        "seconds": t2 - t0,
        "bytes": size,
        "files": files,
        "warnings": warnings,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="FAST=True executions (build/executed/fast), as CI")
    parser.add_argument("--out", type=Path, help="output folder (default build/site or build/site-fast)")
    parser.add_argument("--executed", type=Path, help="folder of executed notebooks to reuse and fill")
    parser.add_argument("--no-execute", action="store_true", help="fail instead of executing missing lessons")
    args = parser.parse_args(argv)
    try:
        build(args.fast, args.out, args.executed, execute=not args.no_execute)
    except SiteError as exc:
        print(f"make site: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
