"""Make the learners' copy of the lessons: solutions replaced by stubs, outputs removed.

Usage (or ``make student``)::

    python -m ncf_helpers.student lessons/ student/

Solutions are marked as nbgrader marks them, so instructors can use nbgrader instead of this tool
(``python -m ncf_helpers.assignments``; nbgrader's release and this copy stub the same cells):

* in a code cell, the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` become
  ``# YOUR CODE HERE`` and ``raise NotImplementedError(...)`` at the same indentation;
* markdown cells are copied as they are: the course has no written answers to hide (the "Think about it"
  answers are folded, not removed), and prose that *shows* the markers must stay readable.

Everything else is copied unchanged (other files in the folder too). The output folder is written next to its
final place and renamed into it, so an interrupted run never leaves a half-written copy.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

__all__ = ["BEGIN", "CODE_STUB", "END", "main", "make_student_copy", "make_student_notebook", "strip_solutions"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", 'raise NotImplementedError("Write your solution here, then run the check below.")')
MARKDOWN_STUB = "YOUR ANSWER HERE"


def strip_solutions(source: str, cell_type: str, where: str = "cell") -> tuple[str, int]:
    """Replace every marked solution region in one cell's source. Returns ``(new_source, regions_replaced)``."""
    if BEGIN not in source and END not in source:
        return source, 0  # untouched, byte for byte (as nbgrader leaves it)
    out: list[str] = []
    inside = False
    regions = 0
    for number, line in enumerate(source.split("\n"), start=1):  # split("\n") keeps a final newline, as nbgrader
        marker = line.strip()
        if marker.startswith(BEGIN):
            if inside:
                raise ValueError(f"{where}, line {number}: '{BEGIN}' again before '{END}'. Close the first region.")
            inside = True
            regions += 1
            indent = line[: len(line) - len(line.lstrip())]
            if cell_type == "code":
                out.extend(indent + stub for stub in CODE_STUB)
            else:
                out.append(indent + MARKDOWN_STUB)
            continue
        if marker.startswith(END):
            if not inside:
                raise ValueError(f"{where}, line {number}: '{END}' without a '{BEGIN}' before it.")
            inside = False
            continue
        if not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: '{BEGIN}' is never closed by '{END}'.")
    return "\n".join(out), regions


def make_student_notebook(nb: nbformat.NotebookNode, name: str = "notebook") -> tuple[nbformat.NotebookNode, int]:
    """A copy of ``nb`` with solutions stubbed and outputs cleared; returns ``(copy, number_of_regions)``."""
    nb = nbformat.from_dict(nb)
    total = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":  # markdown is prose: left alone (see the module docstring)
            cell.source, n = strip_solutions(cell.source, cell.cell_type, f"{name}, cell {index}")
            total += n
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb, total


def make_student_copy(src: str | Path, dest: str | Path, *, quiet: bool = False) -> dict[str, int]:
    """Write the learners' copy of folder ``src`` into ``dest`` (replaced if it exists).

    Returns ``{notebook name: solution regions replaced}``. Raises ``ValueError`` for a missing folder, a folder
    without notebooks, or unbalanced markers (naming the notebook, cell and line); ``dest`` is then untouched.
    """
    src, dest = Path(src), Path(dest)
    if not src.is_dir():
        raise ValueError(
            f"{src} is not a folder. Pass the lessons folder, e.g. `python -m ncf_helpers.student lessons/ student/`."
        )
    if dest.resolve() == src.resolve() or src.resolve() in dest.resolve().parents:
        raise ValueError(f"The student copy {dest} must not be {src} or inside it.")
    notebooks = sorted(p for p in src.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not notebooks:
        raise ValueError(f"{src} holds no .ipynb notebooks.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.tmp-"))
    report: dict[str, int] = {}
    try:
        for path in sorted(src.rglob("*")):
            rel = path.relative_to(src)
            if ".ipynb_checkpoints" in rel.parts or "__pycache__" in rel.parts or path.is_dir():
                continue
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".ipynb":
                nb = nbformat.read(path, as_version=4)
                student, n = make_student_notebook(nb, str(rel))
                nbformat.write(student, target)
                report[str(rel)] = n
            else:
                shutil.copy2(path, target)
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            dest.rename(old)
            tmp.rename(dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not quiet:
        for name, n in report.items():
            print(f"{name}: {n} solution(s) replaced by stubs")
        print(f"Student copy written to {dest}/")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the learners' copy of the lessons (solutions -> stubs).")
    parser.add_argument("src", help="folder with the instructor notebooks, e.g. lessons/")
    parser.add_argument("dest", help="folder to write, e.g. student/ (replaced if it exists)")
    args = parser.parse_args(argv)
    try:
        make_student_copy(args.src, args.dest)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
