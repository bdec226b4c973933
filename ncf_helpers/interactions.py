"""The user x item interaction matrix and what can be read straight off it (lesson 01).

Everything here is sparse (``scipy.sparse.csr_matrix``): ml-latest-small has 610 users x 9,742 items but only
100,836 ratings, so 98.3% of the cells are empty. Functions:

* :func:`interaction_matrix` - ``[num_users, num_items]`` from a ``Dataset``, a ``Split`` or a DataFrame;
* :func:`cooccurrence` - ``[num_items, num_items]`` counts of users who interacted with both items;
* :func:`top_cooccurring` - "people who liked Toy Story also liked ..." (by count, confidence, lift or Jaccard);
* :func:`density`, :func:`user_activity`, :func:`item_popularity` - the numbers behind the long-tail plots;
* :func:`later_training_share` - how much of a split's training data postdates each test interaction (lesson 02:
  leave-last-one-out is a per-user split, not a cut in time).

Imports only numpy, pandas, scipy and :mod:`ncf_helpers.data`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .data.checks import check_indices, check_k

__all__ = [
    "cooccurrence",
    "density",
    "interaction_matrix",
    "item_popularity",
    "later_training_share",
    "top_cooccurring",
    "user_activity",
]

MEASURES = ("count", "confidence", "lift", "jaccard")


def _as_frame(data, num_users, num_items):
    """``(frame, num_users, num_items)`` from a Dataset, a Split (its ``train``) or a DataFrame."""
    if hasattr(data, "train") and hasattr(data, "num_items"):  # Split
        num_users = data.num_users if num_users is None else num_users
        num_items = data.num_items if num_items is None else num_items
        data = data.train
    elif hasattr(data, "ratings") and hasattr(data, "num_items"):  # Dataset
        num_users = data.num_users if num_users is None else num_users
        num_items = data.num_items if num_items is None else num_items
        data = data.ratings
    if not isinstance(data, pd.DataFrame):
        raise ValueError(
            f"interaction_matrix takes a Dataset, a Split or a DataFrame with user_idx and item_idx; "
            f"got {type(data).__name__}."
        )
    missing = [c for c in ("user_idx", "item_idx") if c not in data.columns]
    if missing:
        raise ValueError(
            f"The interactions lack column(s) {missing}. Use dataset.ratings (or split.train), which carry "
            "user_idx and item_idx."
        )
    return data, num_users, num_items


def interaction_matrix(
    data, binary: bool = True, num_users: int | None = None, num_items: int | None = None
) -> sp.csr_matrix:
    """The user x item matrix, ``scipy.sparse.csr_matrix`` of shape ``[num_users, num_items]`` (lesson 01).

    Parameters
    ----------
    data : a ``Dataset`` (all its ratings), a ``Split`` (its ``train`` rows only: the test item must stay
        hidden) or a DataFrame with ``user_idx, item_idx`` (and ``rating`` for ``binary=False``).
    binary : ``True`` -> implicit feedback, ``1.0`` where the user interacted (rows with ``label == 0``, if a
        ``label`` column exists, are left out: a 2-star rating is not a "like"); ``False`` -> the explicit
        ``rating`` (float32, 0.5-5 stars for MovieLens) in each rated cell, every row kept.
    num_users, num_items : the matrix shape; taken from the Dataset/Split, else ``max index + 1``.

    Empty cells mean "no interaction" (not "rating 0"). A (user, item) pair may appear only once.
    """
    frame, num_users, num_items = _as_frame(data, num_users, num_items)
    if binary and "label" in frame.columns:
        frame = frame[frame["label"].to_numpy() == 1]
    u = frame["user_idx"].to_numpy(np.int64)
    i = frame["item_idx"].to_numpy(np.int64)
    if num_users is None:
        num_users = int(u.max()) + 1 if len(u) else 0
    if num_items is None:
        num_items = int(i.max()) + 1 if len(i) else 0
    num_users, num_items = int(num_users), int(num_items)
    check_indices(u, i, num_users, num_items)
    if binary:
        values = np.ones(len(u), dtype=np.float32)
    else:
        if "rating" not in frame.columns:
            raise ValueError("binary=False needs a 'rating' column; use binary=True for implicit interactions.")
        values = frame["rating"].to_numpy(np.float32)
        if not np.all(np.isfinite(values)):
            raise ValueError("The 'rating' column holds NaN or infinite values; clean the ratings first.")
    m = sp.csr_matrix((values, (u, i)), shape=(num_users, num_items), dtype=np.float32)
    if m.nnz != len(u):
        # csr_matrix sums duplicate entries; silently adding two ratings would be wrong.
        raise ValueError(
            "Some (user_idx, item_idx) pairs appear more than once. Keep one row per pair "
            "(e.g. frame.drop_duplicates(['user_idx', 'item_idx'], keep='last'))."
        )
    m.sort_indices()
    return m


def _check_matrix(matrix, name: str = "matrix") -> sp.csr_matrix:
    if isinstance(matrix, np.ndarray):
        if matrix.ndim != 2:
            raise ValueError(f"{name} must be 2-D [num_users, num_items]; got shape {matrix.shape}.")
        return sp.csr_matrix(matrix)
    if not sp.issparse(matrix):
        raise ValueError(
            f"{name} must be a scipy.sparse matrix or a 2-D numpy array; got {type(matrix).__name__}. "
            "Build one with interaction_matrix(dataset)."
        )
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be 2-D; got shape {matrix.shape}.")
    return sp.csr_matrix(matrix)


def _binary(matrix) -> sp.csr_matrix:
    b = _check_matrix(matrix).copy()
    b.eliminate_zeros()
    b.data = np.ones_like(b.data, dtype=np.float32)
    return b.astype(np.float32)


def density(matrix) -> float:
    """Share of filled cells, float in ``[0, 1]``: ``nnz / (num_users * num_items)`` (lesson 01)."""
    m = _check_matrix(matrix)
    cells = m.shape[0] * m.shape[1]
    if cells == 0:
        raise ValueError(f"The matrix has shape {m.shape}: no cells, so no density.")
    m.eliminate_zeros()
    return float(m.nnz / cells)


def user_activity(matrix) -> np.ndarray:
    """Interactions per user: int64 ``[num_users]`` (the "activity" axis of lesson 01's long-tail plot)."""
    m = _check_matrix(matrix)
    m.eliminate_zeros()
    return np.diff(m.indptr).astype(np.int64)


def item_popularity(matrix) -> np.ndarray:
    """Interactions per item: int64 ``[num_items]`` (the long tail of lesson 01)."""
    m = _check_matrix(matrix)
    m.eliminate_zeros()
    return np.bincount(m.indices, minlength=m.shape[1]).astype(np.int64)


def cooccurrence(matrix) -> sp.csr_matrix:
    """Item x item co-occurrence counts: int64 csr ``[num_items, num_items]`` (lesson 01).

    Cell ``(i, j)`` = number of users who interacted with both ``i`` and ``j`` (``B.T @ B`` for the binary
    matrix ``B``); the diagonal ``(i, i)`` is the popularity of ``i``. Ratings are treated as interactions.
    For the full ml-latest-small matrix this holds tens of millions of cells: for one item use
    :func:`top_cooccurring`, which only computes its row.
    """
    b = _binary(matrix)
    c = (b.T @ b).tocsr()
    c.data = np.rint(c.data)
    c = c.astype(np.int64)
    c.sort_indices()
    return c


def top_cooccurring(matrix, item_idx: int, k: int = 10, measure: str = "count", min_count: int = 1) -> pd.DataFrame:
    """The ``k`` items most often interacted with together with ``item_idx`` (lesson 01, "people who liked
    Toy Story also liked ...").

    Parameters
    ----------
    matrix : user x item interactions ``[num_users, num_items]`` (ratings count as interactions).
    item_idx : the anchor item, int in ``[0, num_items)``.
    measure : how to rank the other items ``j`` (``n`` = number of users, ``c_ij`` = co-occurrence count,
        ``pop_i`` = popularity of ``i``):

        * ``"count"``: ``c_ij`` - dominated by blockbusters (everybody watched them);
        * ``"confidence"``: ``c_ij / pop_i`` = P(j | i), float in ``[0, 1]`` - same order as count;
        * ``"lift"``: ``c_ij * n / (pop_i * pop_j)`` = P(i, j) / (P(i) P(j)) - above 1 means "more than chance";
          favours rare items, so raise ``min_count`` (e.g. 10);
        * ``"jaccard"``: ``c_ij / (pop_i + pop_j - c_ij)``, float in ``[0, 1]``.
    min_count : only items with ``c_ij >= min_count`` are listed.

    Returns a DataFrame ``item_idx, count, score`` (score = the chosen measure), best first; ties in score go
    to the smaller ``item_idx``. The anchor itself is never listed; fewer than ``k`` rows when fewer items
    co-occur.
    """
    b = _binary(matrix)
    check_indices(item_idx, 0, b.shape[1], 1)
    k = check_k(k)
    if measure not in MEASURES:
        raise ValueError(f"Unknown measure {measure!r}; choose one of {MEASURES}.")
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}.")
    item_idx = int(item_idx)
    col = b[:, [item_idx]]  # [num_users, 1]
    counts = np.rint((b.T @ col).toarray().ravel()).astype(np.int64)  # [num_items]
    pop = np.bincount(b.indices, minlength=b.shape[1]).astype(np.float64)
    counts[item_idx] = 0
    cand = np.flatnonzero(counts >= min_count)
    c = counts[cand].astype(np.float64)
    if measure == "count":
        score = c
    elif measure == "confidence":
        score = c / pop[item_idx]
    elif measure == "lift":
        score = c * b.shape[0] / (pop[item_idx] * pop[cand])
    else:
        score = c / (pop[item_idx] + pop[cand] - c)
    order = np.lexsort((cand, -score))[:k]
    return pd.DataFrame({"item_idx": cand[order], "count": counts[cand][order], "score": score[order]})


def later_training_share(split) -> np.ndarray:
    """For each test row of ``split``, the share of *all* training positives dated strictly after it (lesson 02).

    Leave-last-one-out holds out each user's latest positive, but the other users' ratings stay in training
    whatever their date, so a model (and the popularity count) can learn from ratings made after the moment it
    is asked to predict. A split that cuts everyone at one time gives 0 for every row.

    ``split``: a :class:`~ncf_helpers.data.Split` whose ``train`` and ``test`` frames have a ``timestamp``
    column; training rows with ``label == 0`` (if there is a ``label`` column) are not positives and are not
    counted. Returns float64 ``[len(split.test)]`` in ``[0, 1]``, in the order of ``split.test``; its mean and
    median summarise the split. Worked example: training positives at times 1, 2, 3, 4 and test rows at times
    2 and 4 -> ``[0.5, 0.0]`` (times 3 and 4 are after 2; nothing is after 4).
    """
    if not (hasattr(split, "train") and hasattr(split, "test")):
        raise ValueError(f"later_training_share takes a Split (split.train, split.test); got {type(split).__name__}.")
    train = split.train
    if "label" in train.columns:
        train = train[train["label"].to_numpy() == 1]
    for name, frame in (("train", train), ("test", split.test)):
        if "timestamp" not in frame.columns:
            raise ValueError(
                f"split.{name} has no 'timestamp' column, so there is no time to compare; make the "
                "split from data with timestamps (MovieLens, make_synthetic)."
            )
    if len(train) == 0:
        raise ValueError("The split has no training positives.")
    times = np.sort(train["timestamp"].to_numpy(np.float64))
    test_times = split.test["timestamp"].to_numpy(np.float64)
    return 1.0 - np.searchsorted(times, test_times, side="right") / len(times)
