"""nbgrader metadata for the lessons' exercises, and an nbgrader course built from the lessons.

Usage (or ``make assignments``)::

    python -m ncf_helpers.assignments tag lessons/            # write the nbgrader metadata into the lessons
    python -m ncf_helpers.assignments tag --check lessons/    # exit 1 if a lesson's metadata is not up to date
    python -m ncf_helpers.assignments course lessons/ assignments/   # nbgrader source/ and release/ folders
    python -m ncf_helpers.assignments course lessons/ assignments/ --only 04
    python -m ncf_helpers.assignments nbgrader autograde 04  # nbgrader itself, with this Python

``tag`` finds every exercise of every numbered lesson (``lessons/[0-9][0-9]_*.ipynb``, so a new lesson joins by
itself) and writes the cell metadata that nbgrader's "Create Assignment" toolbar writes (schema version 3):

* the code cell holding ``### BEGIN SOLUTION`` / ``### END SOLUTION`` is an **autograded answer** (``solution:
  true``), grade_id ``ex{lesson}_{n}_{function}``, e.g. ``ex2_1_cosine`` for ``def cosine`` of exercise 2.1;
* the next code cell calling a ``check_...`` function is an **autograder test** (``grade: true, locked: true``,
  ``points`` from :data:`POINTS`), grade_id ``..._check``;
* the markdown cell with the exercise's statement (``**Exercise 2.1 ...``) is **read-only** (``locked: true``),
  grade_id ``..._task``.

The exercise number comes from the check function itself (``ncf_helpers.lessons.lNN_*.exercises``), so the grade_ids
do not move when cells are added or reordered, and an instructor's gradebook survives edits of the lessons.
Every other cell gets no nbgrader metadata (stale metadata is removed), except markdown cells an instructor made
*Manually graded answer* or *Manually graded task* in the toolbar, which are kept: the result depends only on the
lessons' content, and running ``tag`` twice changes nothing. "Think about it" questions and open questions are
ungraded.

``course`` writes an nbgrader course folder: ``nbgrader_config.py``, ``source/NN/<lesson>.ipynb`` (+ the other
files of the lessons folder, e.g. ``glossary.md``) and, by running ``nbgrader generate_assignment``,
``release/NN/``. The course's stub is the one ``make student`` writes, so both copies look the same.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .common import atomic_path
from .lessons import LESSON_PACKAGES
from .student import BEGIN, CODE_STUB, END

__all__ = ["Exercise", "POINTS", "assignment_id", "main", "run_nbgrader", "tag_lessons", "tag_notebook", "write_course"]

SCHEMA_VERSION = 3
LESSON_GLOB = "[0-9][0-9]_*.ipynb"
DEFAULT_POINTS = 1
#: Points of the exercises worth more than :data:`DEFAULT_POINTS` (the harder and the modelling ones). Change a
#: value here and run ``python -m ncf_helpers.assignments tag lessons/`` to update the lessons' metadata.
POINTS: dict[str, int] = {
    "1.5": 2,
    "2.4": 2,
    "2.5": 2,
    "3.3": 2,
    "3.4": 2,
    "4.3": 2,
    "4.4": 2,
    "4.6": 3,
    "5.4": 2,
    "5.5": 3,
    "6.2": 2,
    "6.5": 3,
}
CHECK_CALL = re.compile(r"\b(check_\w+)\s*\(")
DEF_LINE = re.compile(r"^\s*def\s+(\w+)\s*\(", re.M)
COURSE_ID = "ncf-course"
#: files of lessons/ that stay with the instructor (not copied into the course's source/ and release/)
INSTRUCTOR_ONLY = ("INSTRUCTORS.md",)


@dataclass(frozen=True)
class Exercise:
    """One tagged exercise: its number (``"2.1"``), function, grade_ids' stem and cell indices."""

    lesson: str
    number: str
    function: str
    check: str
    points: int
    task_cell: int
    solution_cell: int
    check_cell: int

    @property
    def grade_id(self) -> str:
        """``ex2_1_cosine``: the solution cell's grade_id; ``_check`` and ``_task`` are added for the others."""
        return f"ex{int(self.lesson)}_{self.number.split('.', 1)[1]}_{self.function}"


def lesson_notebooks(folder: str | Path) -> list[Path]:
    """The numbered lessons of ``folder`` (``00_start_here.ipynb``, ...), in order."""
    return sorted(p for p in Path(folder).glob(LESSON_GLOB) if p.is_file())


def solution_meta(grade_id: str) -> dict:
    return {
        "grade": False,
        "grade_id": grade_id,
        "locked": False,
        "schema_version": SCHEMA_VERSION,
        "solution": True,
        "task": False,
    }


def check_meta(grade_id: str, points: int) -> dict:
    return {
        "grade": True,
        "grade_id": grade_id,
        "locked": True,
        "points": points,
        "schema_version": SCHEMA_VERSION,
        "solution": False,
        "task": False,
    }


def readonly_meta(grade_id: str) -> dict:
    return {
        "grade": False,
        "grade_id": grade_id,
        "locked": True,
        "schema_version": SCHEMA_VERSION,
        "solution": False,
        "task": False,
    }


def _check_number(lesson: str, check: str, where: str) -> str:
    module = importlib.import_module(f"ncf_helpers.lessons.{LESSON_PACKAGES[lesson]}.exercises")
    fn = getattr(module, check, None)
    if fn is None or not hasattr(fn, "exercise_number"):
        raise ValueError(
            f"{where}: calls {check}(), which ncf_helpers/lessons/{LESSON_PACKAGES[lesson]}/exercises.py does not define "
            "(with @exercise(...)). Add the check there or fix the name."
        )
    return fn.exercise_number


def find_exercises(nb: nbformat.NotebookNode, lesson: str, name: str = "notebook") -> list[Exercise]:
    """The exercises of one lesson notebook. Raises ``ValueError`` naming the cell for a solution cell without a
    check after it, a check without a solution before it, a missing statement or a duplicate number."""
    exercises: list[Exercise] = []
    pending: tuple[int, str] | None = None  # (solution cell index, function name)
    last_check = -1
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        if cell.cell_type != "code":
            if BEGIN.split(" ", 1)[1] in cell.source or END.split(" ", 1)[1] in cell.source:
                raise ValueError(
                    f"{where} ({cell.cell_type}) contains the solution marker text; nbgrader would "
                    "replace it (or stop with 'no end solution statement found'). To show the "
                    "markers in prose, write BEGIN&#32;SOLUTION inside <pre><code>...</code></pre>."
                )
            continue
        if BEGIN in cell.source:
            if pending is not None:
                raise ValueError(
                    f"{where}: a second solution cell before the check of the one in cell {pending[0]}. "
                    "Follow every solution cell by the cell that calls its check_... function."
                )
            before = cell.source[: cell.source.index(BEGIN)]
            functions = DEF_LINE.findall(before)
            if not functions:
                raise ValueError(
                    f"{where}: the solution region is not inside a `def`. Exercises are functions "
                    "the learner completes (the function name becomes the grade_id)."
                )
            pending = (index, functions[-1])
            continue
        calls = CHECK_CALL.findall(cell.source)
        if not calls:
            continue
        if pending is None:
            raise ValueError(
                f"{where}: calls {calls[0]}() but no solution cell comes before it (since cell "
                f"{last_check}). Put the exercise's function, with its solution markers, above it."
            )
        if len(set(calls)) > 1:
            raise ValueError(f"{where}: calls several checks {sorted(set(calls))}; use one check cell per exercise.")
        number = _check_number(lesson, calls[0], where)
        solution, function = pending
        task = None
        for j in range(solution - 1, last_check, -1):
            c = nb.cells[j]
            if c.cell_type == "markdown" and re.search(rf"\*\*Exercise {re.escape(number)}\b", c.source):
                task = j
                break
        if task is None:
            raise ValueError(
                f"{name}: no markdown statement '**Exercise {number}' between cell {last_check} and the "
                f"solution cell {solution}. Start the exercise's statement with **Exercise {number}.**"
            )
        exercises.append(
            Exercise(lesson, number, function, calls[0], POINTS.get(number, DEFAULT_POINTS), task, solution, index)
        )
        pending, last_check = None, index
    if pending is not None:
        raise ValueError(f"{name}, cell {pending[0]}: solution cell without a check cell after it.")
    numbers = [e.number for e in exercises]
    dup = sorted({n for n in numbers if numbers.count(n) > 1})
    if dup:
        raise ValueError(f"{name}: exercise number(s) {dup} used twice.")
    for e in exercises:
        if e.number.split(".")[0] != str(int(lesson)):
            raise ValueError(
                f"{name}, cell {e.check_cell}: {e.check} is exercise {e.number}, not of lesson {int(lesson)}."
            )
    return exercises


def tag_notebook(nb: nbformat.NotebookNode, lesson: str, name: str = "notebook"):
    """A copy of ``nb`` with the nbgrader metadata of every exercise (and none elsewhere); returns ``(copy,
    exercises)``."""
    nb = nbformat.from_dict(nb)
    exercises = find_exercises(nb, lesson, name)
    for cell in nb.cells:
        if not is_manual(cell):  # an instructor's manually graded answers and tasks are kept as they are
            cell.metadata.pop("nbgrader", None)
    for e in exercises:
        nb.cells[e.solution_cell].metadata["nbgrader"] = solution_meta(e.grade_id)
        nb.cells[e.check_cell].metadata["nbgrader"] = check_meta(e.grade_id + "_check", e.points)
        nb.cells[e.task_cell].metadata["nbgrader"] = readonly_meta(e.grade_id + "_task")
    return nb, exercises


def is_manual(cell) -> bool:
    """A manually graded cell an instructor added in the toolbar: a markdown *Manually graded answer* (solution and
    grade) or a *Manually graded task*. ``tag`` leaves these alone."""
    meta = cell.metadata.get("nbgrader") or {}
    return cell.cell_type == "markdown" and (bool(meta.get("task")) or (meta.get("solution") and meta.get("grade")))


def _write_atomic(nb: nbformat.NotebookNode, path: Path) -> None:
    with atomic_path(path) as tmp:
        nbformat.write(nb, tmp)


def tag_lessons(folder: str | Path, *, check: bool = False, quiet: bool = False) -> dict[str, list[Exercise]]:
    """Tag every numbered lesson of ``folder`` in place (``check=True``: only compare, and raise ``ValueError``
    listing the lessons whose metadata is out of date). Returns ``{lesson file name: exercises}``."""
    paths = lesson_notebooks(folder)
    if not paths:
        raise ValueError(f"{folder} holds no numbered lessons ({LESSON_GLOB}).")
    out: dict[str, list[Exercise]] = {}
    stale = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        tagged, exercises = tag_notebook(nb, path.name[:2], path.name)
        out[path.name] = exercises
        if [c.metadata for c in tagged.cells] != [c.metadata for c in nb.cells]:
            stale.append(path.name)
            if not check:
                _write_atomic(tagged, path)
        if not quiet:
            total = sum(e.points for e in exercises)
            print(
                f"{path.name}: {len(exercises)} exercises, {total} points"
                + (" (metadata out of date)" if check and path.name in stale else "")
            )
    if check and stale:
        raise ValueError(
            f"nbgrader metadata out of date in {stale}: run `python -m ncf_helpers.assignments tag {folder}`."
        )
    return out


# ---------------------------------------------------------------------------------------------- course
def nbgrader_config(root: Path) -> str:
    """The course's ``nbgrader_config.py``: the course folder, the course's stub, and cell time-outs long enough
    for the lessons' training cells, and the kernel client of :mod:`ncf_helpers.nbrun` for nbgrader's kernels."""
    from .nbrun import SlicedKernelClient

    stub = "\n".join(CODE_STUB)
    kernel_client = f"{SlicedKernelClient.__module__}.{SlicedKernelClient.__qualname__}"
    return (
        "# Written by `python -m ncf_helpers.assignments course` (make assignments).\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        "# The same stub as `make student`, so the nbgrader release and the student copy look alike.\n"
        f"c.ClearSolutions.code_stub = {{'python': {stub!r}}}\n"
        "# Lessons train small Keras models: allow up to 10 minutes per cell (nbgrader's default is 30 s).\n"
        "c.Execute.timeout = 600\n"
        "# The kernel client of ncf_helpers.nbrun, whose channels poll in short slices: under load a missed zmq\n"
        "# wake-up otherwise leaves nbgrader and an idle kernel waiting on each other until the cell time-out.\n"
        f"c.AsyncKernelManager.client_class = {kernel_client!r}\n"
    )


def assignment_id(path: Path) -> str:
    """``04`` for ``04_neuralcf.ipynb``: the assignment a lesson becomes."""
    return path.name[:2]


def nbgrader_command() -> list[str]:
    """How to run nbgrader with this Python: ``python -m ncf_helpers.assignments nbgrader ...`` (nbgrader with this
    Python, :func:`run_nbgrader_main`); ``RuntimeError`` if nbgrader is not installed."""
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        raise RuntimeError(
            "nbgrader is not installed in this environment. Install the instructor extra: "
            "pip install -e '.[instructor]' (make venv does)."
        ) from None
    return [sys.executable, "-m", "ncf_helpers.assignments", "nbgrader"]


def run_nbgrader_main(args: list[str]) -> int:
    """``nbgrader ARGS`` in this process, with this Python's bin folder first on PATH. The course's
    ``nbgrader_config.py`` (:func:`nbgrader_config`) gives nbgrader's kernels the kernel client of
    :mod:`ncf_helpers.nbrun` (its channels poll in short slices: under load a missed zmq wake-up otherwise leaves
    nbgrader and an idle kernel waiting on each other until the cell time-out, as seen in ``nbgrader autograde`` of
    lesson 06)."""
    from nbgrader.apps.nbgraderapp import main as nbgrader_main

    # nbgrader runs `alembic` (its database migrations) from PATH: put this Python's bin folder first
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    sys.argv = ["nbgrader", *args]
    result = nbgrader_main()
    return int(result or 0)


def write_course(
    lessons: str | Path, root: str | Path, only: list[str] | None = None, *, release: bool = True, quiet: bool = False
) -> dict[str, Path]:
    """Write an nbgrader course in ``root`` from the lessons: ``source/NN/`` for each lesson (``only``: e.g.
    ``["04"]``) and, with ``release``, ``release/NN/`` through ``nbgrader generate_assignment``. The lessons'
    metadata must be up to date (:func:`tag_lessons`). Returns ``{assignment id: source notebook}``."""
    lessons, root = Path(lessons), Path(root).resolve()
    tag_lessons(lessons, check=True, quiet=True)
    paths = [p for p in lesson_notebooks(lessons) if only is None or assignment_id(p) in only]
    if only is not None:
        missing = sorted(set(only) - {assignment_id(p) for p in paths})
        if missing:
            raise ValueError(
                f"No lesson {missing} in {lessons}; the lessons are "
                f"{[assignment_id(p) for p in lesson_notebooks(lessons)]}."
            )
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(nbgrader_config(root))
    extras = [p for p in lessons.iterdir() if p.is_file() and p.suffix != ".ipynb" and p.name not in INSTRUCTOR_ONLY]
    out: dict[str, Path] = {}
    for path in paths:
        aid = assignment_id(path)
        folder = root / "source" / aid
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(nb, folder / path.name)
        for extra in extras:
            shutil.copy2(extra, folder / extra.name)
        out[aid] = folder / path.name
    if release:
        for aid in out:
            run_nbgrader(root, "generate_assignment", aid, "--force", quiet=quiet)
    if not quiet:
        print(f"nbgrader course written to {root}/ (source/ and release/ for {', '.join(out)})")
    return out


def run_nbgrader(root: Path, *args: str, quiet: bool = False, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in the course folder ``root``; ``RuntimeError`` with nbgrader's log when it fails."""
    # nbgrader runs `alembic` (its database migrations) from PATH: put this Python's bin folder first
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    proc = subprocess.run(
        [*nbgrader_command(), *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path, **(env or {})},
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"`nbgrader {' '.join(args)}` failed in {root} (exit {proc.returncode}):\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    if not quiet and proc.stderr.strip():
        print(proc.stderr.strip().splitlines()[-1])
    return proc


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["nbgrader"]:  # python -m ncf_helpers.assignments nbgrader autograde 04
        return run_nbgrader_main(argv[1:])
    parser = argparse.ArgumentParser(description="nbgrader metadata for the lessons, and an nbgrader course.")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("tag", help="write (or --check) the nbgrader metadata of every exercise")
    t.add_argument("lessons", nargs="?", default="lessons")
    t.add_argument("--check", action="store_true", help="only check; exit 1 when a lesson is out of date")
    c = sub.add_parser("course", help="write an nbgrader course: source/ and release/ (nbgrader generate_assignment)")
    c.add_argument("lessons", nargs="?", default="lessons")
    c.add_argument("root", nargs="?", default="assignments")
    c.add_argument("--only", nargs="+", metavar="NN", help="only these lessons, e.g. --only 04 05")
    c.add_argument("--no-release", action="store_true", help="write source/ only")
    sub.add_parser("nbgrader", help="run nbgrader (any subcommand) with this Python, e.g. `nbgrader autograde 04`")
    args = parser.parse_args(argv)
    try:
        if args.command == "tag":
            tag_lessons(args.lessons, check=args.check)
        else:
            write_course(args.lessons, args.root, args.only, release=not args.no_release)
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
