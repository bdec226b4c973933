"""The student-copy tool: solutions become stubs; the student copy runs up to each stub; checks reject stubs."""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import LESSON_TIMEOUT, lesson_overrides, lesson_paths

from ncf_helpers.checks import ExerciseIncomplete, ExerciseIncorrect, Passed, exercise, expect_close
from ncf_helpers.student import main, make_student_copy, strip_solutions


def test_strip_code_solution_keeps_indentation():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n\nprint(1)"
    out, n = strip_solutions(src, "code")
    assert n == 1
    assert out.splitlines() == [
        "def f(x):",
        "    # YOUR CODE HERE",
        '    raise NotImplementedError("Write your solution here, then run the check below.")',
        "",
        "print(1)",
    ]
    ns: dict = {}
    exec(out.replace("print(1)", ""), ns)  # the stub is valid Python
    with pytest.raises(NotImplementedError):
        ns["f"](3)


def test_strip_markdown_solution_and_errors():
    out, n = strip_solutions("Q?\n### BEGIN SOLUTION\nThe answer.\n### END SOLUTION", "markdown")
    assert (out, n) == ("Q?\nYOUR ANSWER HERE", 1)
    assert strip_solutions("x = 1", "code") == ("x = 1", 0)
    with pytest.raises(ValueError, match="never closed"):
        strip_solutions("### BEGIN SOLUTION\nx", "code", "lesson.ipynb, cell 3")
    with pytest.raises(ValueError, match="without a '### BEGIN SOLUTION'"):
        strip_solutions("x\n### END SOLUTION", "code")
    with pytest.raises(ValueError, match="again before"):
        strip_solutions("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "code")


def _notebook(tmp_path, cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    (tmp_path / "lessons").mkdir(exist_ok=True)
    nbformat.write(nb, tmp_path / "lessons" / "01_x.ipynb")


def test_make_student_copy(tmp_path):
    code = nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION")
    code.outputs = [nbformat.v4.new_output("stream", text="1")]
    code.execution_count = 3
    _notebook(tmp_path, [nbformat.v4.new_markdown_cell("# T"), code])
    (tmp_path / "lessons" / "glossary.md").write_text("words")
    report = make_student_copy(tmp_path / "lessons", tmp_path / "student", quiet=True)
    assert report == {"01_x.ipynb": 1}
    nb = nbformat.read(tmp_path / "student" / "01_x.ipynb", as_version=4)
    assert "return 1" not in nb.cells[1].source and "NotImplementedError" in nb.cells[1].source
    assert nb.cells[1].outputs == [] and nb.cells[1].execution_count is None
    assert (tmp_path / "student" / "glossary.md").read_text() == "words"
    # running again replaces the copy, leaving no temporary folders behind
    make_student_copy(tmp_path / "lessons", tmp_path / "student", quiet=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lessons", "student"]


def test_student_copy_leaves_markdown_cells_alone(tmp_path):
    """Prose that shows the markers (lesson 00 explains them) must come out as it went in."""
    prose = (
        "An exercise looks like this:\n\n```python\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n"
        "    ### END SOLUTION\n```\n\nand the student copy replaces the solution."
    )
    code = nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION")
    _notebook(tmp_path, [nbformat.v4.new_markdown_cell(prose), code])
    assert make_student_copy(tmp_path / "lessons", tmp_path / "student", quiet=True) == {"01_x.ipynb": 1}
    nb = nbformat.read(tmp_path / "student" / "01_x.ipynb", as_version=4)
    assert nb.cells[0].source == prose
    assert "YOUR CODE HERE" in nb.cells[1].source and "return 1" not in nb.cells[1].source


@pytest.mark.parametrize("path", lesson_paths(), ids=[p.stem for p in lesson_paths()])
def test_lesson_markdown_is_unchanged_in_the_student_copy(path):
    from ncf_helpers.student import make_student_notebook

    nb = nbformat.read(path, as_version=4)
    student, regions = make_student_notebook(nb, path.name)
    assert regions >= 1
    for before, after in zip(nb.cells, student.cells):
        if before.cell_type == "markdown":
            assert after.source == before.source, before.id
        assert (after.source != before.source) == (before.cell_type == "code" and "### BEGIN SOLUTION" in before.source)


def test_bad_markers_leave_destination_untouched(tmp_path, capsys):
    _notebook(tmp_path, [nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1")])
    (tmp_path / "student").mkdir()
    (tmp_path / "student" / "keep.txt").write_text("old")
    assert main([str(tmp_path / "lessons"), str(tmp_path / "student")]) == 2
    assert "01_x.ipynb, cell 0" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "student").iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lessons", "student"]
    with pytest.raises(ValueError, match="is not a folder"):
        make_student_copy(tmp_path / "nope", tmp_path / "s")


def test_exercise_decorator_messages(capsys):
    @exercise("9.1", "double it")
    def check_double(fn):
        expect_close(fn(2), 4, "fn(2)", hint="Multiply by two.")

    def stub(x):
        raise NotImplementedError

    with pytest.raises(ExerciseIncomplete, match="Exercise 9.1 .* still raises NotImplementedError"):
        check_double(stub)
    with pytest.raises(ExerciseIncorrect, match=r"Exercise 9.1 \(double it\): fn\(2\): expected 4, got 5. Multiply"):
        check_double(lambda x: x + 3)
    with pytest.raises(ExerciseIncorrect, match="returned None"):
        check_double(lambda x: None)
    result = check_double(lambda x: 2 * x)
    assert result and isinstance(result, Passed)  # true for `assert check(...)` in tests and instructor scripts
    assert result._ipython_display_() is None  # and a notebook shows no bare "True" under the "correct." line
    assert "Exercise 9.1 (double it): correct." in capsys.readouterr().out


STUDENT_LESSONS = lesson_paths()


@pytest.mark.slow
@pytest.mark.timeout(LESSON_TIMEOUT)  # executes a whole lesson (student copy)
@pytest.mark.parametrize("path", STUDENT_LESSONS, ids=[p.stem for p in STUDENT_LESSONS])
def test_student_copy_runs_up_to_each_stub(path, tmp_path):
    """In the student copy every stub raises NotImplementedError, every check after it rejects the stub with
    ExerciseIncomplete, and every other cell runs."""
    from ncf_helpers.nbrun import run_lesson

    make_student_copy(path.parent, tmp_path / "student", quiet=True)
    run = run_lesson(tmp_path / "student" / path.name, lesson_overrides(), allow_errors=True, workdir=tmp_path / "run")
    stubs = checks = 0
    for i, cell in enumerate(run.notebook.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        if "raise NotImplementedError(" in cell.source and "YOUR CODE HERE" in cell.source:
            stubs += 1
            # a stub that defines a function runs fine; one at top level raises
            assert not errors or errors[0]["ename"] == "NotImplementedError", (i, errors)
        elif re.search(r"\bcheck_\w+\(", cell.source):
            checks += 1
            assert errors and errors[0]["ename"] == "ExerciseIncomplete", (
                f"cell {i}: the check should reject the stub with ExerciseIncomplete, got {errors}\n{cell.source}"
            )
        else:
            assert not errors, (
                f"cell {i} failed in the student copy:\n{cell.source}\n{errors[0]['ename']}: {errors[0]['evalue']}"
            )
    assert stubs >= 3 and checks >= stubs
