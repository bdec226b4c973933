"""Every lesson: committed clean, follows the course's shape, and runs top to bottom with FAST=True."""

from __future__ import annotations

import ast
import re

import nbformat
import pytest
from conftest import lesson_overrides, lesson_paths

from ncf_helpers.nbrun import parameter_names, parameters_cell

LESSONS = lesson_paths()
IDS = [p.stem for p in LESSONS]
TF_NOISE = re.compile(r"oneDNN|absl::|cpu_feature_guard|This TensorFlow binary|Unable to register")


def test_there_are_lessons():
    assert len(LESSONS) >= 1, "lessons/ holds no numbered notebooks (01_*.ipynb ...)"


def _headings(nb) -> list[str]:
    out = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            out += [m.group(2).strip() for m in re.finditer(r"^(#{1,3})\s+(.*)$", cell.source, flags=re.M)]
    return out


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} was committed with outputs: clear them before committing."
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count: clear outputs."


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_lesson_shape(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# "), "A lesson opens with its title."
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "You will learn" in text
    heads = _headings(nb)
    assert any(h.startswith("Setup") for h in heads), "The lesson needs a Setup section."
    idx = parameters_cell(nb)
    names = parameter_names(nb.cells[idx].source)
    assert {"DATASET", "FAST", "SEED"} <= set(names), f"parameters cell defines {names}"
    assert all(n.isupper() for n in names), f"parameters must be UPPER_CASE: {names}"
    tail = [h for h in heads if h.split()[0] in ("Summary", "Exercises", "Further")]
    assert [h.split()[0] for h in tail][-3:] == ["Summary", "Exercises", "Further"], (
        f"A lesson ends with Summary, Exercises, Further reading; found {tail}"
    )
    # graded exercises have a marked solution and a check from the package
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    solutions = sum(s.count("### BEGIN SOLUTION") for s in code)
    checks = sum(1 for s in code if re.search(r"\bcheck_\w+\(", s))
    assert solutions >= 3, f"{path.name} has {solutions} graded exercises; each lesson needs at least three."
    assert checks >= solutions, f"{path.name}: {solutions} solutions but only {checks} check cells."


def _figure_only(source: str) -> bool:
    """True for a cell whose statements are only figure calls (``plots.*`` / ``plot_*``) and ``lesson.record``."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    calls = [ast.unparse(n.value.func) for n in body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)]
    if not body or len(calls) != len(body):
        return False
    figures = [f for f in calls if f.startswith(("plots.", "plot_"))]
    return bool(figures) and all(f in figures or f == "lesson.record" for f in calls)


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_plumbing_cells_are_labelled_extra_code(path):
    """handson-ml3's convention, explained in lesson 00: a cell that only draws a figure starts with
    ``# extra code``; a graded cell (solution or check) never does."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        labelled = cell.source.startswith("# extra code")
        if cell.metadata.get("nbgrader"):
            assert not labelled, f"{path.name} cell {i}: a graded cell is not plumbing; remove '# extra code'."
        elif _figure_only(cell.source):
            assert labelled, (
                f"{path.name} cell {i} only draws a figure: start it with "
                "'# extra code – draws the figure ...' (lesson 00, section 3)."
            )


def test_lesson_00_explains_extra_code():
    nb = nbformat.read(LESSONS[0], as_version=4)
    assert any("`# extra code`" in c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.slow
@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_lesson_runs(path, lesson_run):
    run = lesson_run(path.stem)
    noise = [(i, t) for i, t in run.stderr_outputs() if TF_NOISE.search(t)]
    assert not noise, f"TensorFlow log lines leak into cells: {noise[:2]}"
    assert run.images(), f"{path.name} displayed no figure."
    assert run.records, f"{path.name} recorded no results (ncf_helpers.lesson.record)."
    if lesson_overrides()["DATASET"] == "ml-latest-small" and "dataset" in run.records:  # no silent fallback
        assert run.records["dataset"] == "ml-latest-small", (
            f"{path.name} ran on {run.records['dataset']!r} although NCF_DATA_DIR holds ml-latest-small"
        )
    outputs = "\n".join(
        o.get("text", "") for c in run.notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "stream"
    )
    checks = sum(1 for c in run.notebook.cells if c.cell_type == "code" and re.search(r"\bcheck_\w+\(", c.source))
    assert outputs.count(": correct.") >= checks, "Every exercise check should pass on the instructor's solutions."
    shown = [
        c.source
        for c in run.notebook.cells
        if c.cell_type == "code"
        and re.search(r"\bcheck_\w+\(", c.source)
        and any(o.get("output_type") == "execute_result" for o in c.get("outputs", []))
    ]
    assert not shown, f"A passed check should show only its message, not a value: {shown[:1]}"


@pytest.mark.slow
def test_run_lesson_resolves_a_relative_data_dir(tmp_path, monkeypatch):
    """CI sets NCF_DATA_DIR=../shared/datasets; the kernel runs in a scratch folder, where that relative path would
    point nowhere and every lesson would quietly fall back to synthetic data."""
    import nbformat

    from ncf_helpers.nbrun import run_lesson

    lessons = tmp_path / "lessons"
    lessons.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("DATASET = 'x'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import os\nfrom ncf_helpers import lesson\nlesson.record('data_dir', os.environ['NCF_DATA_DIR'])"
        ),
    ]
    nbformat.write(nb, lessons / "99_probe.ipynb")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NCF_DATA_DIR", "../shared/datasets")
    run = run_lesson(lessons / "99_probe.ipynb", workdir=tmp_path / "run")
    assert run.records["data_dir"] == str((tmp_path / "../shared/datasets").resolve())
    import os

    assert os.environ["NCF_DATA_DIR"] == "../shared/datasets"  # the caller's environment is left as it was


def test_hung_tests_time_out(request):
    """pytest-timeout is on (pyproject.toml) with the SIGALRM method, and lesson-executing tests get longer."""
    import inspect

    from conftest import LESSON_TIMEOUT, pytest_collection_modifyitems
    from pytest_timeout import get_env_settings

    from ncf_helpers.nbrun import run_lesson

    settings = get_env_settings(request.config)
    assert (settings.timeout, settings.method) == (300.0, "signal")

    class Item:  # the two kinds of collected test the hook tells apart
        def __init__(self, fixturenames, marker=None):
            self.fixturenames, self.markers = fixturenames, [] if marker is None else [marker]

        def get_closest_marker(self, name):
            return next((m for m in self.markers if m.name == name), None)

        def add_marker(self, mark):
            self.markers.append(mark.mark)

    uses, plain, own = Item(["lesson_run"]), Item(["tmp_path"]), Item(["lesson_run"], pytest.mark.timeout(900).mark)
    pytest_collection_modifyitems(request.config, [uses, plain, own])
    assert [m.args for m in uses.markers] == [(LESSON_TIMEOUT,)] and plain.markers == []
    assert [m.args for m in own.markers] == [(900,)]  # an explicit marker wins
    # one stuck cell fails inside the lesson's test, with the cell's source, before the test's own timeout
    assert inspect.signature(run_lesson).parameters["timeout"].default < LESSON_TIMEOUT
