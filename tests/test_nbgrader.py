"""The real nbgrader round trip, for every numbered lesson (lessons/[0-9][0-9]_*.ipynb, so new lessons join).

One temporary nbgrader course holds every selected lesson as an assignment. ``nbgrader generate_assignment``
releases them; then three submissions per lesson are autograded:

* ``instructor``: the lesson as committed (solutions in) must get full marks on every autograded cell;
* ``stub``: the released copy, untouched, must get 0 on every autograded cell;
* ``wrong``: the lesson with one plausible wrong answer (tests/nbgrader_wrong_answers.py) must get 0 on that
  exercise and full marks on the others: partial marks.

The lessons run with FAST=True (``NCF_FAST=1``, honoured by every parameters cell) on the small synthetic data
set (no MovieLens copy is visible to the kernels), so the numbers do not matter, only the grades. To save time,
nbgrader runs once per shard of lessons (``nbgrader autograde "*"`` grades every assignment and student of a
course in one process) and the shards run side by side, one per core. Only the lessons whose tests are selected
are graded: ``pytest tests/test_nbgrader.py -k 04`` grades lesson 04 alone.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import LESSONS_DIR, lesson_paths  # noqa: E402
from nbgrader_wrong_answers import WRONG_ANSWERS  # noqa: E402

pytest.importorskip("nbgrader", reason="nbgrader is the instructor extra: pip install -e '.[instructor]'")

from ncf_helpers.assignments import assignment_id, run_nbgrader, write_course  # noqa: E402
from ncf_helpers.student import BEGIN, END, make_student_notebook  # noqa: E402

LESSONS = lesson_paths()
IDS = [assignment_id(p) for p in LESSONS]
STUDENTS = ("instructor", "stub", "wrong")
# The whole round trip (7 lessons x 3 submissions) is one fixture; each lesson's test reads its part.
ROUND_TRIP_TIMEOUT = 1800
_RESULTS: dict = {}


def replace_solution(source: str, body: str) -> str:
    """``source`` with the lines between the solution markers replaced by ``body`` (at the markers' indent)."""
    lines, out, inside = source.splitlines(), [], False
    for line in lines:
        if BEGIN in line:
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + b for b in body.splitlines())
            inside = True
        elif END in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def wrong_notebook(path: Path) -> nbformat.NotebookNode:
    aid = assignment_id(path)
    if aid not in WRONG_ANSWERS:
        raise AssertionError(
            f"Lesson {path.name} has no wrong answer in tests/nbgrader_wrong_answers.py: add one "
            "(the misconception one of its checks names) so the round trip proves partial marks."
        )
    grade_id, body = WRONG_ANSWERS[aid]
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    assert len(cells) == 1, f"{path.name}: no solution cell with grade_id {grade_id!r} (nbgrader_wrong_answers.py)"
    cells[0].source = replace_solution(cells[0].source, body)
    return nb


def kernel_env(tmp: Path) -> dict:
    """What the autograded kernels see: FAST, no MovieLens (the synthetic fallback, quick and the same
    everywhere), no download attempt that could wait on the network, quiet TensorFlow."""
    empty = tmp / "no-data"
    empty.mkdir(exist_ok=True)
    return {
        "NCF_FAST": "1",
        "NCF_DATA_DIR": str(empty),
        "NCF_CACHE_DIR": str(empty),
        "NCF_MOVIELENS_URL": "http://127.0.0.1:9/",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "MPLBACKEND": "Agg",
        "PYTHONWARNINGS": "ignore",
    }


def grade_shard(root: Path, lessons: list[Path], env: dict) -> dict:
    """Release ``lessons`` in the course ``root``, submit the three notebooks of each, autograde, and return
    ``{assignment: {"release": nb, "student_copy": nb, "grades": {student: {grade_id: (score, max)}}}}``."""
    from nbgrader.api import Gradebook

    write_course(LESSONS_DIR, root, [assignment_id(p) for p in lessons], release=False, quiet=True)
    run_nbgrader(root, "generate_assignment", "*", "--force", quiet=True, env=env)
    out: dict = {}
    for path in lessons:
        aid = assignment_id(path)
        release = nbformat.read(root / "release" / aid / path.name, as_version=4)
        source = nbformat.read(path, as_version=4)
        submissions = {"instructor": source, "stub": release, "wrong": wrong_notebook(path)}
        for student, nb in submissions.items():
            folder = root / "submitted" / student / aid
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / path.name)
            for extra in (root / "release" / aid).iterdir():
                if extra.suffix != ".ipynb":
                    shutil.copy2(extra, folder / extra.name)
        out[aid] = {"release": release, "student_copy": make_student_notebook(source, path.name)[0], "grades": {}}
    run_nbgrader(root, "autograde", "*", "--force", quiet=True, env=env)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for path in lessons:
            aid = assignment_id(path)
            for student in STUDENTS:
                sub = gb.find_submission_notebook(path.stem, aid, student)
                out[aid]["grades"][student] = {g.name: (g.score, g.max_score) for g in sub.grades}
    for path in lessons:  # the autograded notebooks, to show what a cell printed when a grade is unexpected
        aid = assignment_id(path)
        out[aid]["autograded"] = {
            s: nbformat.read(root / "autograded" / s / aid / path.name, as_version=4) for s in STUDENTS
        }
    return out


# Relative cost of grading a lesson: its FAST run offline, in units of about 10 s (measured 2026-12-03 on 2 idle
# cores: 00 10 s, 01 8 s, 02 11 s, 03 18 s, 04 34 s, 05 25 s, 06 19 s with its recorded FAST run, 07 25 s). Lessons
# not listed (a new one) count as 3.
COST = {"00": 1, "01": 1, "02": 1, "03": 2, "04": 3.5, "05": 2.5, "06": 2, "07": 2.5}


def shards(lessons: list[Path], n: int) -> list[list[Path]]:
    """Split the lessons over ``n`` shards of about equal cost (greedy: the costliest lesson to the lightest
    shard), so the shards, run side by side, finish together."""
    out: list[list[Path]] = [[] for _ in range(n)]
    load = [0.0] * n
    for path in sorted(lessons, key=lambda p: -COST.get(assignment_id(p), 3)):
        k = load.index(min(load))
        out[k].append(path)
        load[k] += COST.get(assignment_id(path), 3)
    return [sorted(s) for s in out if s]


@pytest.fixture(scope="session")
def round_trip(request, tmp_path_factory):
    """Grade every lesson whose test_nbgrader test is selected (once per session)."""
    wanted = sorted(
        {
            item.callspec.params["aid"]
            for item in request.session.items
            if item.module.__name__ == __name__ and hasattr(item, "callspec") and "aid" in item.callspec.params
        }
    )
    if "run" not in _RESULTS:
        tmp = tmp_path_factory.mktemp("nbgrader")
        env = kernel_env(tmp)
        lessons = [p for p in LESSONS if assignment_id(p) in wanted]
        start = time.perf_counter()
        parts = shards(lessons, max(1, min(2, os.cpu_count() or 1)))
        try:
            with ThreadPoolExecutor(len(parts)) as pool:
                futures = [pool.submit(grade_shard, tmp / f"course{k}", part, env) for k, part in enumerate(parts)]
                results = {}
                for f in futures:
                    results.update(f.result())
            _RESULTS["run"] = results
        except Exception as exc:  # noqa: BLE001 - every lesson's test reports the same failure
            _RESULTS["run"] = exc
        seconds = time.perf_counter() - start
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"\nnbgrader round trip of lessons {wanted}: {seconds:.0f} s wall, load average {load:.1f}")
    result = _RESULTS["run"]
    if isinstance(result, Exception):
        raise result
    return result


def _cell_output(nb: nbformat.NotebookNode, grade_id: str) -> str:
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            parts = []
            for o in cell.get("outputs", []):
                if o.get("output_type") == "stream":
                    parts.append(f"[{o['name']}] {o['text']}")
                elif o.get("output_type") == "error":
                    parts.append(f"[error] {o['ename']}: {o['evalue']}")
            return "".join(parts)[-1500:]
    return "(cell not found)"


@pytest.mark.slow
@pytest.mark.timeout(ROUND_TRIP_TIMEOUT)
@pytest.mark.parametrize("aid", IDS)
def test_release_holds_no_solution_code(round_trip, aid):
    path = LESSONS[IDS.index(aid)]
    release = round_trip[aid]["release"]
    source = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in release.cells)
    assert BEGIN not in text and END not in text
    for cell in source.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            body = cell.source.split(BEGIN, 1)[1].split(END, 1)[0]
            for line in body.splitlines():
                line = line.strip()
                if len(line) > 12 and not line.startswith("#"):
                    assert line not in text, f"{path.name}: the release still holds solution code {line!r}"


@pytest.mark.slow
@pytest.mark.timeout(ROUND_TRIP_TIMEOUT)
@pytest.mark.parametrize("aid", IDS)
def test_release_and_student_copy_stub_the_same_cells(round_trip, aid):
    """`make student` (no nbgrader) and nbgrader's release give every cell the same source."""
    release, student = round_trip[aid]["release"], round_trip[aid]["student_copy"]
    assert [c.id for c in release.cells] == [c.id for c in student.cells]
    differ = [c.id for c, s in zip(release.cells, student.cells) if c.source != s.source]
    assert not differ, f"cells {differ} differ between nbgrader's release and the student copy"


@pytest.mark.slow
@pytest.mark.timeout(ROUND_TRIP_TIMEOUT)
@pytest.mark.parametrize("aid", IDS)
def test_autograde_full_zero_and_partial(round_trip, aid):
    grades = round_trip[aid]["grades"]
    autograded = round_trip[aid]["autograded"]
    assert len(grades["instructor"]) >= (1 if aid == "00" else 3), grades["instructor"]
    for grade_id, (score, max_score) in grades["instructor"].items():
        assert score == max_score > 0, (
            f"instructor notebook: {grade_id} scored {score}/{max_score}; the cell "
            f"printed:\n{_cell_output(autograded['instructor'], grade_id)}"
        )
    for grade_id, (score, max_score) in grades["stub"].items():
        assert score == 0, (
            f"released stub: {grade_id} scored {score}/{max_score}; the cell printed:\n"
            f"{_cell_output(autograded['stub'], grade_id)}"
        )
    wrong_id = WRONG_ANSWERS[aid][0] + "_check"
    for grade_id, (score, max_score) in grades["wrong"].items():
        expected = 0 if grade_id == wrong_id else max_score
        assert score == expected, (
            f"wrong answer ({wrong_id}): {grade_id} scored {score}/{max_score}, expected "
            f"{expected}; the cell printed:\n{_cell_output(autograded['wrong'], grade_id)}"
        )
    for student, nb in autograded.items():  # only the checks fail: every other cell runs, stubs included
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade"):
                errors = [f"{o['ename']}: {o['evalue']}" for o in cell.outputs if o.get("output_type") == "error"]
                assert not errors, f"{student}'s notebook, cell {i} failed:\n{cell.source[:300]}\n{errors[0]}"
    total = sum(s for s, _ in grades["wrong"].values())
    maximum = sum(m for _, m in grades["wrong"].values())
    assert 0 < total < maximum
    # the wrong answer's check says what is wrong, with the hint the learner sees
    message = _cell_output(autograded["wrong"], wrong_id)
    assert "ExerciseIncorrect" in message, message
