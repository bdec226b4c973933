"""Every exercise of every numbered lesson carries nbgrader metadata (schema 3, as the Create Assignment toolbar
writes it), written by `python -m ncf_helpers.assignments tag`; grade_ids are unique and stable. No nbgrader
needed (its own validator runs too when it is installed)."""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import LESSONS_DIR, lesson_paths

from ncf_helpers import assignments as A
from ncf_helpers.student import BEGIN, END

LESSONS = lesson_paths()
GRADE_ID = re.compile(r"^ex(\d+)_(\d+)_([a-z0-9_]+?)(_check|_task)?$")


def _meta(cell) -> dict | None:
    return cell.metadata.get("nbgrader")


def test_metadata_is_up_to_date():
    """The committed lessons are exactly what the tagging script writes (run it after editing an exercise)."""
    A.tag_lessons(LESSONS_DIR, check=True, quiet=True)


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_exercise_cell_is_tagged(path):
    nb = nbformat.read(path, as_version=4)
    lesson = int(path.name[:2])
    solutions = checks = tasks = 0
    for i, cell in enumerate(nb.cells):
        meta = _meta(cell)
        if cell.cell_type == "code" and BEGIN in cell.source:
            assert meta == A.solution_meta(meta["grade_id"]), f"cell {i}: {meta}"
            solutions += 1
        elif cell.cell_type == "code" and A.CHECK_CALL.search(cell.source):
            assert meta is not None and meta["grade"] and meta["locked"] and not meta["solution"], f"cell {i}: {meta}"
            assert meta["points"] >= 1 and meta["schema_version"] == 3
            assert meta["grade_id"].endswith("_check")
            checks += 1
        elif meta is not None:
            assert cell.cell_type == "markdown" and re.search(r"\*\*Exercise \d+\.\d+", cell.source), f"cell {i}"
            assert meta == A.readonly_meta(meta["grade_id"]) and meta["grade_id"].endswith("_task")
            tasks += 1
        if meta is not None:
            m = GRADE_ID.match(meta["grade_id"])
            assert m and int(m.group(1)) == lesson, f"cell {i}: grade_id {meta['grade_id']!r} is not ex{lesson}_N_name"
        if cell.cell_type == "markdown":  # nbgrader would stub (or choke on) marker text in prose
            assert BEGIN.split(" ", 1)[1] not in cell.source and END.split(" ", 1)[1] not in cell.source, f"cell {i}"
    assert solutions == checks == tasks
    assert checks >= (1 if lesson == 0 else 3), f"{path.name}: {checks} autograded exercises; the course needs >= 3"


def test_grade_ids_are_unique_and_stable():
    ids = []
    for path in LESSONS:
        nb = nbformat.read(path, as_version=4)
        ids += [m["grade_id"] for c in nb.cells if (m := _meta(c))]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    # stable names an instructor's gradebook keeps: number + function, not cell positions
    for known in (
        "ex0_1_count_users",
        "ex2_1_cosine",
        "ex2_1_cosine_check",
        "ex2_1_cosine_task",
        "ex4_6_build_gmf_check",
        "ex5_5_recommend_from_towers_check",
        "ex6_2_hr_with_negatives_check",
        "ex6_5_paired_comparison_check",
    ):
        assert known in ids, known


def test_grade_ids_do_not_depend_on_cell_positions():
    path = next(p for p in LESSONS if p.name.startswith("02"))
    nb = nbformat.read(path, as_version=4)
    _, before = A.tag_notebook(nb, "02")
    nb.cells.insert(3, nbformat.v4.new_markdown_cell("An instructor's note."))
    nb.cells.insert(0, nbformat.v4.new_code_cell("x = 1"))
    tagged, after = A.tag_notebook(nb, "02")
    assert [e.grade_id for e in before] == [e.grade_id for e in after]
    assert _meta(tagged.cells[0]) is None and _meta(tagged.cells[4]) is None


def test_modelling_exercises_in_lessons_04_to_06():
    found = {
        int(p.name[:2]): {e.function for e in A.tag_notebook(nbformat.read(p, as_version=4), p.name[:2])[1]}
        for p in LESSONS
    }
    assert "build_gmf" in found[4] and "recommend_from_towers" in found[5] and "paired_comparison" in found[6]


def _nb(cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    return nb


def test_tagging_errors_name_the_cell(monkeypatch):
    sol = nbformat.v4.new_code_cell("def cosine(a, b):\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION")
    chk = nbformat.v4.new_code_cell("ex.check_cosine(cosine)")
    task = nbformat.v4.new_markdown_cell("**Exercise 2.1.** Cosine.")
    tagged, ex = A.tag_notebook(_nb([task, sol, chk]), "02")
    assert [e.grade_id for e in ex] == ["ex2_1_cosine"]
    assert _meta(tagged.cells[2]) == A.check_meta("ex2_1_cosine_check", 1)
    with pytest.raises(ValueError, match="cell 1: solution cell without a check"):
        A.tag_notebook(_nb([task, sol]), "02", "x.ipynb")
    with pytest.raises(ValueError, match="cell 0: calls check_cosine\\(\\) but no solution"):
        A.tag_notebook(_nb([chk]), "02", "x.ipynb")
    with pytest.raises(ValueError, match="no markdown statement"):
        A.tag_notebook(_nb([sol, chk]), "02", "x.ipynb")
    with pytest.raises(ValueError, match="does not define"):
        A.tag_notebook(_nb([task, sol, nbformat.v4.new_code_cell("ex.check_nothing(cosine)")]), "02", "x.ipynb")
    with pytest.raises(ValueError, match="cell 0 \\(markdown\\) contains the solution marker"):
        A.tag_notebook(_nb([nbformat.v4.new_markdown_cell("### BEGIN SOLUTION")]), "02", "x.ipynb")


def test_tag_check_reports_stale_lessons(tmp_path, capsys):
    path = next(p for p in LESSONS if p.name.startswith("01"))
    nb = nbformat.read(path, as_version=4)
    for c in nb.cells:
        c.metadata.pop("nbgrader", None)
    nbformat.write(nb, tmp_path / path.name)
    assert A.main(["tag", "--check", str(tmp_path)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert A.main(["tag", str(tmp_path)]) == 0
    assert A.main(["tag", "--check", str(tmp_path)]) == 0
    assert nbformat.read(tmp_path / path.name, as_version=4).cells == nbformat.read(path, as_version=4).cells


def test_nbgrader_accepts_the_metadata():
    v3 = pytest.importorskip("nbgrader.nbgraderformat.v3", reason="nbgrader not installed (instructor extra)")
    for path in LESSONS:
        v3.MetadataValidatorV3().validate_nb(nbformat.read(path, as_version=4))


def test_course_config_uses_the_student_stub(tmp_path):
    text = A.nbgrader_config(tmp_path)
    ns: dict = {}

    class Config(dict):
        def __getattr__(self, name):
            return self.setdefault(name, Config())

        def __setattr__(self, name, value):
            self[name] = value

    exec(text, {"get_config": lambda: ns.setdefault("c", Config())})
    from ncf_helpers.student import CODE_STUB

    assert ns["c"]["ClearSolutions"]["code_stub"] == {"python": "\n".join(CODE_STUB)}
    assert ns["c"]["Execute"]["timeout"] >= 300
