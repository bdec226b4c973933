"""What every lesson's Setup section calls: seeding, versions, data with an offline fallback, recorded results.

A lesson begins with::

    from ncf_helpers import lesson
    lesson.setup(SEED)                       # seeds numpy/random (and Keras when imported), prints versions
    ds = lesson.load_data(DATASET, FAST)     # MovieLens, or the synthetic set when offline

and records the numbers the notebook tests read back::

    lesson.record("hr@10_itemcf", result.hr)

This module imports neither TensorFlow nor scipy, so lessons 01-03 start in about a second.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

from .common import atomic_write, set_seed

__all__ = ["RECORD_ENV", "SYNTHETIC_SIZES", "load_data", "record", "setup"]

RECORD_ENV = "NCF_RECORD_FILE"


def setup(seed: int = 0, *, quiet: bool = False) -> dict[str, str]:
    """Seed Python's, numpy's (and, if Keras is already imported or ``keras=True`` later, Keras') random number
    generators and print the versions that matter. Returns the versions as a dict. Lesson 01."""
    set_seed(seed)
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    import pandas as pd

    versions["pandas"] = pd.__version__
    if "keras" in sys.modules:
        import keras

        versions["keras"] = keras.__version__
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    if not quiet:
        print("Seed", seed, "|", ", ".join(f"{k} {v}" for k, v in versions.items()))
    return versions


SYNTHETIC_SIZES = {
    "small": dict(num_users=1000, num_items=1500),  # about 60,000 ratings: quick, the offline default
    "ml-1m": dict(num_users=6000, num_items=3700, median_ratings=140),  # ML-1M's shape: 1.3M ratings
}
"""Sizes of the synthetic data set a lesson can ask for (``SYNTHETIC_SIZE`` in the parameters cell), so a learner
sees what ML-1M-sized data costs before bringing it (``benchmarks/results/scale.md``)."""


def load_data(
    name: str = "ml-latest-small",
    fast: bool = False,
    *,
    seed: int = 0,
    verbose: bool = True,
    synthetic_size: str = "small",
):
    """Load the lesson's data set by name; fall back to synthetic data when MovieLens is not available offline.

    ``name``: ``"ml-latest-small"`` (default in every lesson), ``"ml-100k"``, ``"ml-1m"``, ``"synthetic"``.
    ``fast``: for the synthetic set at ``synthetic_size="small"``, a smaller size (the notebook tests use it);
    MovieLens is used whole. ``synthetic_size``: a key of :data:`SYNTHETIC_SIZES` (``"ml-1m"``: ML-1M's shape,
    also with ``fast``). Records the name of the data set actually used as ``"dataset"`` (see :func:`record`).
    """
    from .data import DataUnavailableError, load_dataset, make_synthetic

    if synthetic_size not in SYNTHETIC_SIZES:
        raise ValueError(f"SYNTHETIC_SIZE must be one of {sorted(SYNTHETIC_SIZES)}, got {synthetic_size!r}.")

    def synthetic():
        if fast and synthetic_size == "small":
            return make_synthetic(400, 600, seed=seed)
        return make_synthetic(seed=seed, **SYNTHETIC_SIZES[synthetic_size])

    if name == "synthetic":
        ds = synthetic()
    else:
        try:
            ds = load_dataset(name, seed=seed)
        except DataUnavailableError as exc:
            if verbose:
                print(f"Could not load {name!r}, so this lesson runs on synthetic data instead.\n{exc}\n")
            ds = synthetic()
    if verbose:
        print(ds.summary())
    record("dataset", ds.name)
    return ds


def record(name: str, value) -> None:
    """Remember a key result of the lesson (a float, int, str or list) for the notebook tests.

    Does nothing unless ``$NCF_RECORD_FILE`` is set (the tests set it); then the value is merged into that JSON
    file atomically.
    """
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    if isinstance(value, np.generic):
        value = value.item()
    elif isinstance(value, np.ndarray):
        value = value.tolist()
    target = Path(path)
    data = json.loads(target.read_text()) if target.exists() else {}
    data[name] = value
    atomic_write(target, json.dumps(data, indent=1))
