"""Test-wide set-up: keep Keras, matplotlib, IPython and Jupyter out of the user's home directory.

These variables are set before anything imports keras or matplotlib, and notebook kernels started by the
tests inherit them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_SANDBOX = Path(tempfile.mkdtemp(prefix="ncf-tests-home-"))
for _var, _sub in (
    ("KERAS_HOME", "keras"),
    ("MPLCONFIGDIR", "matplotlib"),
    ("IPYTHONDIR", "ipython"),
    ("JUPYTER_CONFIG_DIR", "jupyter-config"),
    ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"),
    ("XDG_CACHE_HOME", "cache"),
):
    (_SANDBOX / _sub).mkdir(parents=True, exist_ok=True)
    os.environ[_var] = str(_SANDBOX / _sub)
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]


def real_data_dir() -> Path | None:
    """``$NCF_DATA_DIR`` (relative paths resolved from the repo root) if it holds ml-latest-small, else None."""
    value = os.environ.get("NCF_DATA_DIR")
    if not value:
        return None
    path = Path(value)
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    return path if (path / "ml-latest-small" / "ratings.csv").exists() else None


@pytest.fixture(scope="session")
def synthetic():
    """A small synthetic data set shared by the tests (300 users x 400 items)."""
    from ncf_helpers.data import make_synthetic

    return make_synthetic(num_users=300, num_items=400, seed=0)


@pytest.fixture(scope="session")
def movielens():
    """The real ml-latest-small copy, or skip with a message saying how to enable it."""
    if real_data_dir() is None:
        pytest.skip("Set NCF_DATA_DIR to a folder holding ml-latest-small/ (CI uses ../shared/datasets).")
    from ncf_helpers.data import load_movielens

    return load_movielens("ml-latest-small", data_dir=real_data_dir() / "ml-latest-small")


# ---------------------------------------------------------------------------------------------- lessons
LESSONS_DIR = REPO / "lessons"


def lesson_paths() -> list[Path]:
    """Every numbered lesson notebook, in order."""
    return sorted(LESSONS_DIR.glob("[0-9][0-9]_*.ipynb"))


def lesson_overrides() -> dict:
    """What the tests inject into every lesson's parameters cell: FAST, and real data when it is available."""
    return {"FAST": True, "DATASET": "ml-latest-small" if real_data_dir() else "synthetic"}


_LESSON_RUNS: dict = {}

# pytest-timeout (pyproject.toml: 300 s per test, method "signal"): a test that executes a lesson gets longer.
# FAST runs of lessons 04-06 take 60-120 s on an idle 2-core machine, and the first test that asks lesson_run for a
# lesson pays for its execution; 600 s leaves room for a loaded CI machine and still stops a hung kernel.
# ncf_helpers.nbrun's per-cell timeout (300 s) fires first for one stuck cell, with the cell's source.
LESSON_TIMEOUT = 600


def pytest_collection_modifyitems(config, items):
    """Tests that use the ``lesson_run`` fixture get ``timeout(LESSON_TIMEOUT)`` unless they set their own."""
    for item in items:
        if "lesson_run" in getattr(item, "fixturenames", ()) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(LESSON_TIMEOUT))


@pytest.fixture(scope="session")
def lesson_run():
    """``lesson_run("04_neuralcf")`` executes that lesson once per test session (FAST) and returns a LessonRun.

    The generic notebook tests and each lesson's own checks share the one execution.
    """
    from ncf_helpers.nbrun import run_lesson

    def run(stem: str):
        if stem not in _LESSON_RUNS:
            matches = [p for p in lesson_paths() if p.stem == stem or p.stem.startswith(stem + "_")]
            if not matches:
                raise FileNotFoundError(f"No lesson {stem!r} in {LESSONS_DIR}")
            try:
                _LESSON_RUNS[stem] = run_lesson(matches[0], lesson_overrides())
            except Exception as exc:  # remember failures so dependent tests fail fast with the same message
                _LESSON_RUNS[stem] = exc
        result = _LESSON_RUNS[stem]
        if isinstance(result, Exception):
            raise result
        return result

    return run
