"""Implicit labels, train/test splits and negative sampling (lessons 02 and 04).

The NCF paper's protocol (He et al. 2017): every user's most recent positive interaction is held out, and at
evaluation time it is ranked among ``num_negatives`` (99) items the user never interacted with. The negatives
are drawn once, when the split is made, and stored in the :class:`Split`, so every model in the course is
scored against exactly the same candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

__all__ = [
    "Split",
    "leave_last_one_out",
    "positives",
    "random_split",
    "sample_negatives",
    "temporal_split",
    "to_implicit",
]

if TYPE_CHECKING:  # pragma: no cover
    pass


def to_implicit(ratings: pd.DataFrame, threshold: float = 3.5) -> pd.DataFrame:
    """The original course's label rule: ``label = 1`` if ``rating >= threshold`` else ``0``.

    Returns a copy of ``ratings`` with an ``int8`` column ``label``; all rows are kept (the low ratings are the
    explicit negatives of the original course's 80/20 protocol). :func:`leave_last_one_out` uses only
    ``label == 1`` rows.
    Introduced in lesson 01, where we also count what the threshold throws away.
    """
    if "rating" not in ratings.columns:
        raise ValueError(f"to_implicit needs a 'rating' column; found {list(ratings.columns)}.")
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number of stars, got {threshold!r}.")
    out = ratings.copy()
    out["label"] = (out["rating"].to_numpy() >= threshold).astype(np.int8)
    return out


def positives(frame: pd.DataFrame) -> pd.DataFrame:
    """The positive rows of an interaction table: ``label == 1`` when it has a ``label`` column, else every row
    (an unlabelled table holds positives only). The one place the course decides what a positive row is."""
    return frame[frame["label"] == 1] if "label" in frame.columns else frame


@dataclass
class Split:
    """A train/test split shared by every model (lesson 02).

    Attributes
    ----------
    num_users, num_items : sizes of the ID tables.
    train : DataFrame with ``user_idx, item_idx`` (+ ``rating, timestamp, label`` when known): what models
        may learn from. For leave-one-out these are the positives only.
    test : DataFrame of held-out rows (``user_idx, item_idx, ...``), one per test user for leave-one-out.
    test_negatives : int ``[len(test), num_negatives]`` sampled negatives for each test row (leave-one-out),
        never a positive of that user and without repeats in a row; ``None`` for a random split.
    valid, valid_negatives : the same for the validation rows (second most recent positive) when requested.
    protocol : ``"leave_last_one_out"``, ``"temporal"`` (:func:`temporal_split`) or ``"random"``.
    cutoff : the cut-off time of a temporal split (``None`` otherwise).
    num_skipped_users : users with too few positives to hold one out (kept in ``train``, not evaluated).
    """

    num_users: int
    num_items: int
    train: pd.DataFrame
    test: pd.DataFrame
    test_negatives: np.ndarray | None = None
    valid: pd.DataFrame | None = None
    valid_negatives: np.ndarray | None = None
    protocol: str = "leave_last_one_out"
    num_skipped_users: int = 0
    seed: int = 0
    name: str = ""
    cutoff: float | None = None
    _positive_keys: np.ndarray | None = field(default=None, repr=False)
    _train_keys: np.ndarray | None = field(default=None, repr=False)

    @property
    def num_negatives(self) -> int:
        return 0 if self.test_negatives is None else int(self.test_negatives.shape[1])

    @property
    def train_user_idx(self) -> np.ndarray:
        """int ``[num_train]``."""
        return self.train["user_idx"].to_numpy(np.int64)

    @property
    def train_item_idx(self) -> np.ndarray:
        """int ``[num_train]``."""
        return self.train["item_idx"].to_numpy(np.int64)

    def train_positives(self) -> pd.DataFrame:
        """The training positives: rows of ``train`` with ``label == 1`` (all rows when unlabelled)."""
        return positives(self.train)

    def train_keys(self) -> np.ndarray:
        """Sorted unique ``user_idx * num_items + item_idx`` of the training positives (int64, cached)."""
        if self._train_keys is None:
            t = self.train_positives()
            self._train_keys = np.unique(
                t["user_idx"].to_numpy(np.int64) * self.num_items + t["item_idx"].to_numpy(np.int64)
            )
        return self._train_keys

    def positive_keys(self) -> np.ndarray:
        """Sorted ``user_idx * num_items + item_idx`` of every known positive (train, valid and test)."""
        if self._positive_keys is None:
            frames = [f for f in (self.train, self.valid, self.test) if f is not None]
            if "label" in self.train.columns:
                frames = [positives(f) for f in frames]
            u = np.concatenate([f["user_idx"].to_numpy(np.int64) for f in frames])
            i = np.concatenate([f["item_idx"].to_numpy(np.int64) for f in frames])
            self._positive_keys = np.unique(u * self.num_items + i)
        return self._positive_keys

    def describe(self) -> str:
        lines = [
            f"Split of {self.name or 'data'} ({self.protocol}, seed {self.seed})",
            f"  train rows   {len(self.train):>10,}",
            f"  test rows    {len(self.test):>10,}",
        ]
        if self.valid is not None:
            lines.append(f"  valid rows   {len(self.valid):>10,}")
        if self.test_negatives is not None:
            lines.append(f"  negatives    {self.num_negatives:>10,} sampled per test row, shared by every model")
        if self.cutoff is not None:
            lines.append(f"  cut-off      {self.cutoff:>10,.0f} (train before it, test the first positive after it)")
        if self.num_skipped_users:
            why = (
                "without positives on both sides of the cut-off"
                if self.protocol == "temporal"
                else "with too few positives to hold one out"
            )
            lines.append(f"  skipped      {self.num_skipped_users:>10,} users {why}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"Split({self.protocol}, train={len(self.train):,}, test={len(self.test):,}, "
            f"negatives={self.num_negatives}, skipped_users={self.num_skipped_users})"
        )


def _frame_and_sizes(data, num_users, num_items, threshold):
    """Accept a Dataset or a DataFrame; return (frame, num_users, num_items, name)."""
    name = ""
    if hasattr(data, "ratings") and hasattr(data, "num_items"):
        name = data.name
        num_users = data.num_users if num_users is None else num_users
        num_items = data.num_items if num_items is None else num_items
        data = data.ratings
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"Expected a Dataset or a DataFrame of interactions, got {type(data).__name__}.")
    missing = [c for c in ("user_idx", "item_idx") if c not in data.columns]
    if missing:
        raise ValueError(
            f"The interactions need columns 'user_idx' and 'item_idx' (missing {missing}). "
            "Use dataset.ratings from load_movielens()/make_synthetic(), which carry them."
        )
    if num_users is None or num_items is None:
        raise ValueError("Pass num_users and num_items (the ID table sizes), e.g. num_users=ds.num_users.")
    if threshold is not None:
        data = to_implicit(data, threshold)
    if len(data) == 0:
        raise ValueError("There are no interactions to split: the table is empty.")
    for col, size in (("user_idx", num_users), ("item_idx", num_items)):
        v = data[col].to_numpy()
        if v.min() < 0 or v.max() >= size:
            raise ValueError(f"{col} must lie in [0, {size}); found values from {v.min()} to {v.max()}.")
    return data, int(num_users), int(num_items), name


def leave_last_one_out(
    data,
    num_negatives: int = 99,
    seed: int = 0,
    *,
    num_users: int | None = None,
    num_items: int | None = None,
    threshold: float | None = None,
    validation: bool = False,
) -> Split:
    """The NCF paper's split: each user's most recent positive is the test item (lesson 02).

    Parameters
    ----------
    data : a :class:`Dataset` or a DataFrame with ``user_idx, item_idx, timestamp`` (and optionally ``label``:
        then only ``label == 1`` rows are positives).
    num_negatives : negatives sampled per test row (99 in the paper); ``0`` for none.
    threshold : if given, apply :func:`to_implicit` first (e.g. ``3.5``, the original course's rule).
    validation : also hold out each user's second most recent positive as ``valid`` (with its own negatives),
        for early stopping and per-epoch curves without touching the test item.

    Ties in time are broken by ``item_idx`` (the larger one counts as later), so the split is deterministic.
    Users with fewer than 2 positives (3 with ``validation``) keep their rows in ``train`` and are not
    evaluated; their number is in ``split.num_skipped_users``.
    """
    df, num_users, num_items, name = _frame_and_sizes(data, num_users, num_items, threshold)
    df = positives(df)
    if "timestamp" not in df.columns:
        raise ValueError("leave_last_one_out needs a 'timestamp' column to know which interaction is the last one.")
    if num_negatives < 0:
        raise ValueError(f"num_negatives must be >= 0, got {num_negatives}.")
    u = df["user_idx"].to_numpy(np.int64)
    order = np.lexsort((df["item_idx"].to_numpy(), df["timestamp"].to_numpy(), u))
    df = df.iloc[order].reset_index(drop=True)
    u = u[order]
    counts = np.bincount(u, minlength=num_users)
    need = 3 if validation else 2
    # position of each row from the end of its user's history: 0 = most recent
    end = np.cumsum(counts)[u] - 1
    from_end = end - np.arange(len(u))
    eligible = counts[u] >= need
    test_mask = eligible & (from_end == 0)
    valid_mask = eligible & (from_end == 1) if validation else np.zeros(len(u), bool)
    train = df[~(test_mask | valid_mask)].reset_index(drop=True)
    test = df[test_mask].reset_index(drop=True)
    valid = df[valid_mask].reset_index(drop=True) if validation else None
    skipped = int(np.sum((counts > 0) & (counts < need)))
    if len(test) == 0:
        raise ValueError(
            f"No user has {need} or more positive interactions, so nothing can be held out. "
            "Lower the threshold or use a larger data set."
        )
    split = Split(
        num_users,
        num_items,
        train,
        test,
        valid=valid,
        protocol="leave_last_one_out",
        num_skipped_users=skipped,
        seed=seed,
        name=name,
    )
    if num_negatives:
        rng = np.random.default_rng(seed)
        keys = split.positive_keys()
        split.test_negatives = sample_negatives(test["user_idx"].to_numpy(), num_negatives, num_items, keys, rng)
        if validation:
            split.valid_negatives = sample_negatives(valid["user_idx"].to_numpy(), num_negatives, num_items, keys, rng)
    return split


def temporal_split(
    data,
    test_fraction: float = 0.2,
    num_negatives: int = 99,
    seed: int = 0,
    *,
    num_users: int | None = None,
    num_items: int | None = None,
    threshold: float | None = None,
    cutoff: float | None = None,
) -> Split:
    """A global time split: one cut-off time for everyone, train before it, test after it (lesson 06).

    Leave-last-one-out cuts each user's history at that user's own last positive, so the other users'
    ratings made *after* that moment stay in training. Here one cut-off time ``cutoff`` holds for every user:

    * ``train`` = every positive dated strictly before ``cutoff`` (for all users, test users included);
    * ``test`` = each user's **first** positive at or after ``cutoff`` (ties in time: the smaller ``item_idx``);
    * test users are the users with at least one training positive and at least one positive at or after
      the cut-off; everyone else is not evaluated (``num_skipped_users`` counts users with positives on one
      side of the cut-off only). The users' later positives (after their test item) are used by no model;
    * ``test_negatives``: ``num_negatives`` per test row from the same sampler as :func:`leave_last_one_out`
      (:func:`sample_negatives`, seeded by ``seed``), never a positive of that user at any time.

    Parameters
    ----------
    data : a :class:`Dataset` or a DataFrame with ``user_idx, item_idx, timestamp`` (and optionally ``label``:
        then only ``label == 1`` rows are positives).
    test_fraction : if ``cutoff`` is not given, it is the timestamp of the positive at the ``1 - test_fraction``
        quantile (``method="higher"``), so about the last ``test_fraction`` of all positives are at or after it.
    threshold : if given, apply :func:`to_implicit` first (e.g. ``3.5``, the original course's rule).
    cutoff : an explicit cut-off time (same unit as ``timestamp``).

    Every training positive predates every test row, so
    :func:`ncf_helpers.interactions.later_training_share` is 0 for each test row. Worked example (3 users,
    positives as ``(user, item, time)``): ``(0,0,1) (0,1,2) (0,2,5) (0,3,6) (1,0,3) (1,2,4) (2,1,7) (2,3,8)``
    with ``cutoff=5``: train = the four rows before time 5; test = ``(0, 2, 5)`` only (user 0's first
    positive from time 5 on; ``(0, 3, 6)`` is used by nobody; user 1 has nothing after 5 and user 2 nothing
    before it, so 2 users are skipped).
    """
    df, num_users, num_items, name = _frame_and_sizes(data, num_users, num_items, threshold)
    df = positives(df)
    if "timestamp" not in df.columns:
        raise ValueError("temporal_split needs a 'timestamp' column to know which interactions come after the cut-off.")
    if num_negatives < 0:
        raise ValueError(f"num_negatives must be >= 0, got {num_negatives}.")
    if len(df) == 0:
        raise ValueError("There are no positive interactions to split (every label is 0).")
    times = df["timestamp"].to_numpy(np.float64)
    if cutoff is None:
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must be strictly between 0 and 1, got {test_fraction}.")
        cutoff = float(np.quantile(times, 1.0 - test_fraction, method="higher"))
    elif not np.isfinite(cutoff):
        raise ValueError(f"cutoff must be a finite time, got {cutoff!r}.")
    u = df["user_idx"].to_numpy(np.int64)
    order = np.lexsort((df["item_idx"].to_numpy(), times, u))
    df = df.iloc[order].reset_index(drop=True)
    u, times = u[order], times[order]
    before = times < cutoff
    has_train = np.bincount(u[before], minlength=num_users) > 0
    after_rows = np.flatnonzero(~before)
    # rows are sorted by (user, time, item): the first row of each user after the cut-off is their test row
    first_after = after_rows[np.unique(u[after_rows], return_index=True)[1]] if len(after_rows) else after_rows
    test_rows = first_after[has_train[u[first_after]]]
    train = df[before].reset_index(drop=True)
    test = df.iloc[test_rows].reset_index(drop=True)
    active = np.bincount(u, minlength=num_users) > 0
    skipped = int(active.sum() - len(test_rows))
    if len(test) == 0:
        raise ValueError(
            f"No user has positives both before and after the cut-off {cutoff:g}; choose another cutoff or "
            "test_fraction."
        )
    split = Split(
        num_users,
        num_items,
        train,
        test,
        protocol="temporal",
        num_skipped_users=skipped,
        seed=seed,
        name=name,
        cutoff=float(cutoff),
    )
    # Never a positive of the user at any time (as for leave-last-one-out, where every positive is in train or
    # test): the later positives nobody trains on are excluded from the negatives and from full ranking too.
    split._positive_keys = np.unique(u * num_items + df["item_idx"].to_numpy(np.int64))
    if num_negatives:
        rng = np.random.default_rng(seed)
        split.test_negatives = sample_negatives(
            test["user_idx"].to_numpy(), num_negatives, num_items, split.positive_keys(), rng
        )
    return split


def random_split(
    data,
    test_fraction: float = 0.2,
    seed: int = 0,
    *,
    num_users: int | None = None,
    num_items: int | None = None,
    threshold: float | None = None,
) -> Split:
    """A random split of rating rows (lesson 03's RMSE and the original course's 80/20 protocol).

    Keeps every column (``rating``, ``label`` if present). ``test_negatives`` is ``None``: evaluate it with
    ``protocol="rating"`` (RMSE/MAE), ``"full"`` (precision/recall@K) or ``"labels"`` (accuracy, AUCs).
    """
    df, num_users, num_items, name = _frame_and_sizes(data, num_users, num_items, threshold)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be strictly between 0 and 1, got {test_fraction}.")
    rng = np.random.default_rng(seed)
    is_test = rng.random(len(df)) < test_fraction
    if not is_test.any() or is_test.all():
        raise ValueError(f"With {len(df)} rows and test_fraction={test_fraction} one side of the split is empty.")
    return Split(
        num_users,
        num_items,
        df[~is_test].reset_index(drop=True),
        df[is_test].reset_index(drop=True),
        protocol="random",
        seed=seed,
        name=name,
    )


BITMAP_MAX = 1 << 25
"""Largest key range (``num_users x num_items``) for which :func:`sample_negatives` marks the positives in a
boolean table (32 MB at most) instead of binary-searching the sorted keys: the same answer, and one epoch of
lesson 04's training negatives on ml-latest-small (60,500 positives x 12 candidates) takes 23 ms instead of 64 ms."""


def _positive_lookup(positive_keys: np.ndarray, span: int):
    """``is_positive(keys) -> bool array``: whether each key (``user * num_items + item``, ``0 <= key < span``)
    is one of the sorted ``positive_keys``."""
    if len(positive_keys) == 0:
        return lambda keys: np.zeros(np.shape(keys), dtype=bool)
    if span <= BITMAP_MAX:
        table = np.zeros(span, dtype=bool)
        table[positive_keys[positive_keys < span]] = True
        return lambda keys: table[keys]

    def search(keys):
        pos = np.searchsorted(positive_keys, keys)
        return positive_keys[np.minimum(pos, len(positive_keys) - 1)] == keys

    return search


def sample_negatives(
    user_idx: np.ndarray,
    num_negatives: int,
    num_items: int,
    positive_keys: np.ndarray,
    rng: np.random.Generator | int = 0,
    *,
    unique: bool = True,
) -> np.ndarray:
    """Sample items each user has not interacted with (lessons 02 and 04).

    Parameters
    ----------
    user_idx : int ``[n]``; one row of negatives is drawn per entry (repeats allowed).
    num_negatives : negatives per row.
    num_items : items are drawn uniformly from ``[0, num_items)``.
    positive_keys : sorted int array of ``user_idx * num_items + item_idx`` for every positive, which are never
        drawn (``Split.positive_keys()`` gives it).
    rng : a ``numpy.random.Generator`` or a seed.
    unique : no item twice in one row (the evaluation lists); training negatives may use ``False``.

    Returns int64 ``[n, num_negatives]``. Vectorized rejection sampling: draw, drop positives (and repeats),
    redraw only the rows still short.
    """
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    users = np.asarray(user_idx, dtype=np.int64).reshape(-1)
    n, k = len(users), int(num_negatives)
    if k < 0:
        raise ValueError(f"num_negatives must be >= 0, got {k}.")
    out = np.empty((n, k), dtype=np.int64)
    if n == 0 or k == 0:
        return out
    positive_keys = np.asarray(positive_keys, dtype=np.int64)
    # How many items each user may still receive.
    starts = np.searchsorted(positive_keys, users * num_items)
    stops = np.searchsorted(positive_keys, (users + 1) * num_items)
    free = num_items - (stops - starts)
    if unique and np.any(free < k):
        bad = int(np.flatnonzero(free < k)[0])
        raise ValueError(
            f"user_idx {users[bad]} has only {free[bad]} items left to sample from but {k} negatives were asked for. "
            "Use fewer negatives or a larger catalogue."
        )
    if np.any(free <= 0):
        bad = int(np.flatnonzero(free <= 0)[0])
        raise ValueError(f"user_idx {users[bad]} has interacted with every item: there is no negative to sample.")

    is_positive = _positive_lookup(positive_keys, (int(users.max()) + 1) * num_items)
    todo = np.arange(n)
    width = k + 8
    while todo.size:
        cand = rng.integers(0, num_items, size=(todo.size, width), dtype=np.int64)
        ok = ~is_positive(users[todo, None] * num_items + cand)
        if unique:
            # keep the first occurrence of each item in a row
            flat = (np.arange(todo.size)[:, None] * num_items + cand).reshape(-1)
            first = np.zeros(flat.size, dtype=bool)
            first[np.unique(flat, return_index=True)[1]] = True
            ok &= first.reshape(cand.shape)
        rank = np.cumsum(ok, axis=1)
        done = rank[:, -1] >= k
        rows = todo[done]
        sel = ok[done] & (rank[done] <= k)
        out[rows] = cand[done][sel].reshape(-1, k)
        todo = todo[~done]
        width = min(width * 2, max(4 * num_items, k + 8))
    return out
