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
