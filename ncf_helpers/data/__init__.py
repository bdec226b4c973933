"""Data layer (lessons 01-02): MovieLens and synthetic data sets, implicit labels, splits, negatives.

Imports only numpy and pandas (plus the standard library), so lessons that only need data start fast.
"""

import os

from .dataset import Dataset, validate_ratings
from .movielens import DATASETS, DataUnavailableError, data_dir_candidates, load_movielens
from .ratings_csv import load_ratings_csv
from .splits import (
    Split,
    leave_last_one_out,
    positives,
    random_split,
    sample_negatives,
    temporal_split,
    to_implicit,
)
from .synthetic import make_synthetic, toy_matrix

__all__ = [
    "DATASETS",
    "DataUnavailableError",
    "Dataset",
    "Split",
    "data_dir_candidates",
    "leave_last_one_out",
    "load_dataset",
    "load_movielens",
    "load_ratings_csv",
    "make_synthetic",
    "positives",
    "random_split",
    "sample_negatives",
    "temporal_split",
    "to_implicit",
    "toy_matrix",
    "validate_ratings",
]


def load_dataset(name: str | os.PathLike = "ml-latest-small", *, seed: int = 0, **kwargs) -> Dataset:
    """Load a data set by the name the lessons' ``DATASET`` parameter uses.

    ``"synthetic"`` -> :func:`make_synthetic` (offline, planted ground truth); ``"toy"`` -> :func:`toy_matrix`;
    any MovieLens name (``"ml-latest-small"``, ``"ml-100k"``, ``"ml-1m"``) -> :func:`load_movielens`;
    a path ending in ``.csv`` (or a ``pathlib.Path``), e.g. ``"data/my_ratings.csv"`` -> your own ratings
    file, :func:`load_ratings_csv` (``seed`` is not used; ``kwargs`` such as ``items=`` are passed on).
    Introduced in lesson 01.
    """
    if isinstance(name, os.PathLike) or (isinstance(name, str) and name.lower().endswith(".csv")):
        return load_ratings_csv(name, **kwargs)
    if name == "synthetic":
        return make_synthetic(seed=seed, **kwargs)
    if name == "toy":
        return toy_matrix()
    if name in DATASETS:
        return load_movielens(name, **kwargs)
    valid = ", ".join(["synthetic", "toy", *DATASETS])
    raise ValueError(
        f"Unknown data set {name!r}. Choose one of: {valid}, or give the path of your own ratings "
        "file ending in .csv (see data/README.md)."
    )
