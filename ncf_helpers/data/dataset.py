"""The :class:`Dataset` every lesson works with, and the validation of raw ratings (lesson 01)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

RATING_COLUMNS = ("user_id", "item_id", "rating", "timestamp")
DUPLICATE_POLICIES = ("error", "last", "mean")


def _show(value) -> str:
    """repr of a cell value without numpy's wrapper (``2.5``, not ``np.float64(2.5)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _first_bad_row(mask: np.ndarray | pd.Series) -> int:
    """Position (0-based data row) of the first True in ``mask``."""
    return int(np.flatnonzero(np.asarray(mask))[0])


def validate_ratings(
    ratings: pd.DataFrame,
    source: str = "ratings",
    *,
    rating_range: tuple[float, float] | None = (0.5, 5.0),
    duplicates: str = "error",
    row_offset: int = 2,
) -> pd.DataFrame:
    """Check raw ratings and return a clean copy with columns ``user_id, item_id, rating, timestamp``.

    Parameters
    ----------
    ratings : DataFrame with at least ``user_id``, ``item_id``, ``rating``, ``timestamp``.
    source : the file (or description) named in error messages.
    rating_range : inclusive ``(low, high)``; ``None`` skips the range check.
    duplicates : what to do when a ``(user_id, item_id)`` pair appears twice: ``"error"`` (default),
        ``"last"`` (keep the most recent rating) or ``"mean"`` (average the ratings, keep the latest time).
    row_offset : added to 0-based row positions in messages (2 = a CSV with a header, counting from 1).

    Raises ``ValueError`` naming the file, the column and the first offending row. Introduced in lesson 01.
    """
    if duplicates not in DUPLICATE_POLICIES:
        raise ValueError(f"duplicates={duplicates!r} is not a policy; use one of {DUPLICATE_POLICIES}.")
    if not isinstance(ratings, pd.DataFrame):
        raise ValueError(f"{source}: expected a pandas DataFrame, got {type(ratings).__name__}.")
    missing = [c for c in RATING_COLUMNS if c not in ratings.columns]
    if missing:
        raise ValueError(
            f"{source}: missing column(s) {missing}; found {list(ratings.columns)}. "
            f"Rename them to {list(RATING_COLUMNS)} (MovieLens calls them userId, movieId, rating, timestamp)."
        )
    if len(ratings) == 0:
        raise ValueError(f"{source}: the file has a header but no ratings. Check that it was copied completely.")
    df = ratings.loc[:, list(RATING_COLUMNS)].reset_index(drop=True)
    for col in ("user_id", "item_id", "timestamp"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() | (values != np.floor(values.fillna(0)))
        if bad.any():
            i = _first_bad_row(bad)
            raise ValueError(
                f"{source}: column {col!r} must hold whole numbers; row {i + row_offset} has {_show(df[col].iloc[i])}."
            )
        df[col] = values.astype(np.int64)
    rating = pd.to_numeric(df["rating"], errors="coerce")
    if rating.isna().any():
        i = _first_bad_row(rating.isna())
        raise ValueError(
            f"{source}: column 'rating' must be a number; row {i + row_offset} has {_show(df['rating'].iloc[i])} "
            "(NaN or text). Remove or fix that row."
        )
    if rating_range is not None:
        lo, hi = rating_range
        bad = (rating < lo) | (rating > hi)
        if bad.any():
            i = _first_bad_row(bad)
            raise ValueError(
                f"{source}: column 'rating' must lie in [{lo}, {hi}]; row {i + row_offset} has {rating.iloc[i]}."
            )
    df["rating"] = rating.astype(np.float32)
    dup = df.duplicated(["user_id", "item_id"], keep="first")
    if dup.any():
        if duplicates == "error":
            i = _first_bad_row(dup)
            raise ValueError(
                f"{source}: the (user_id, item_id) pair ({df['user_id'].iloc[i]}, {df['item_id'].iloc[i]}) appears "
                f"again at row {i + row_offset} ({int(dup.sum())} repeated pairs in all). Each pair must appear once; "
                "pass duplicates='last' to keep the most recent rating or duplicates='mean' to average them."
            )
        df = df.sort_values(["user_id", "item_id", "timestamp"], kind="stable")
        if duplicates == "last":
            df = df.drop_duplicates(["user_id", "item_id"], keep="last")
        else:
            df = df.groupby(["user_id", "item_id"], as_index=False).agg(
                rating=("rating", "mean"), timestamp=("timestamp", "max")
            )[list(RATING_COLUMNS)]
        df = df.reset_index(drop=True)
    return df


@dataclass
class Dataset:
    """Ratings plus item metadata with contiguous indices (lesson 01).

    Attributes
    ----------
    name : e.g. ``"ml-latest-small"`` or ``"synthetic"``.
    ratings : DataFrame ``user_id, item_id, rating, timestamp, user_idx, item_idx``; one row per rating,
        sorted by ``user_idx`` then ``timestamp``. ``rating`` is a float (0.5-5 stars for MovieLens).
    items : DataFrame ``item_idx, item_id, title, genres`` (``genres`` a list of str), one row per item,
        ``items.loc[i]`` is item_idx ``i``. Includes items nobody rated (cold-start items).
    user_ids : int array ``[num_users]``: raw user id of each ``user_idx``.
    item_ids : int array ``[num_items]``: raw item id of each ``item_idx``.
    truth : for synthetic data, the planted structure (``user_factors [num_users, num_genres]``,
        ``item_factors [num_items, num_genres]``, ``item_popularity [num_items]``, ...); ``None`` for real data.
    """

    name: str
    ratings: pd.DataFrame
    items: pd.DataFrame
    user_ids: np.ndarray
    item_ids: np.ndarray
    truth: dict[str, Any] | None = None
    source: str = ""

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frames(
        cls,
        name: str,
        ratings: pd.DataFrame,
        items: pd.DataFrame | None = None,
        *,
        truth: dict | None = None,
        source: str = "",
        rating_range: tuple[float, float] | None = (0.5, 5.0),
        duplicates: str = "error",
    ) -> "Dataset":
        """Build a Dataset from raw ``ratings`` (``user_id, item_id, rating, timestamp``) and optional ``items``
        (``item_id, title, genres``). Items that appear in ratings but not in ``items`` get a placeholder
        title; every item in ``items`` gets an index even if nobody rated it."""
        clean = validate_ratings(ratings, source or name, rating_range=rating_range, duplicates=duplicates)
        if items is None:
            items = pd.DataFrame({"item_id": np.unique(clean["item_id"])})
        items = items.copy()
        if "item_id" not in items.columns:
            raise ValueError(f"{source or name}: the items table needs an 'item_id' column; found {list(items.columns)}.")
        if "title" not in items.columns:
            items["title"] = [f"item {i}" for i in items["item_id"]]
        if "genres" not in items.columns:
            items["genres"] = [[] for _ in range(len(items))]
        if items["item_id"].duplicated().any():
            i = _first_bad_row(items["item_id"].duplicated())
            raise ValueError(f"{source or name}: item_id {items['item_id'].iloc[i]} appears twice in the items table.")
        unknown = np.setdiff1d(clean["item_id"].unique(), items["item_id"].to_numpy())
        if len(unknown):
            extra = pd.DataFrame(
                {"item_id": unknown, "title": [f"item {i}" for i in unknown], "genres": [[] for _ in unknown]}
            )
            items = pd.concat([items, extra], ignore_index=True)
        items = items.sort_values("item_id", kind="stable").reset_index(drop=True)
        item_ids = items["item_id"].to_numpy(np.int64)
        user_ids = np.unique(clean["user_id"].to_numpy(np.int64))
        clean["user_idx"] = np.searchsorted(user_ids, clean["user_id"].to_numpy()).astype(np.int32)
        clean["item_idx"] = np.searchsorted(item_ids, clean["item_id"].to_numpy()).astype(np.int32)
        order = np.lexsort((clean["item_idx"].to_numpy(), clean["timestamp"].to_numpy(), clean["user_idx"].to_numpy()))
        clean = clean.iloc[order].reset_index(drop=True)
        items.insert(0, "item_idx", np.arange(len(items), dtype=np.int32))
        items = items[["item_idx", "item_id", "title", "genres"] + [c for c in items.columns if c not in ("item_idx", "item_id", "title", "genres")]]
        return cls(name=name, ratings=clean, items=items, user_ids=user_ids, item_ids=item_ids, truth=truth, source=source)

    # ------------------------------------------------------------------ sizes and maps
    @property
    def num_users(self) -> int:
        """Number of users (rows of the user x item matrix)."""
        return int(len(self.user_ids))

    @property
    def num_items(self) -> int:
        """Number of items, including items nobody rated."""
        return int(len(self.item_ids))

    @property
    def num_ratings(self) -> int:
        return int(len(self.ratings))

    def user_idx(self, user_id) -> np.ndarray | int:
        """Raw user id(s) -> contiguous ``user_idx`` (``int`` in ``[0, num_users)``). Unknown ids raise ValueError."""
        return _lookup(self.user_ids, user_id, "user_id", self.name)

    def item_idx(self, item_id) -> np.ndarray | int:
        """Raw item id(s) -> contiguous ``item_idx`` (``int`` in ``[0, num_items)``). Unknown ids raise ValueError."""
        return _lookup(self.item_ids, item_id, "item_id", self.name)

    def title(self, item_idx) -> str | list[str]:
        """Title(s) of ``item_idx``."""
        titles = self.items["title"].to_numpy()
        if np.ndim(item_idx) == 0:
            return str(titles[int(item_idx)])
        return [str(t) for t in titles[np.asarray(item_idx, dtype=np.int64)]]

    def find_items(self, text: str, limit: int = 10) -> pd.DataFrame:
        """Items whose title contains ``text`` (case-insensitive), most-rated first."""
        mask = self.items["title"].str.contains(text, case=False, regex=False)
        counts = np.bincount(self.ratings["item_idx"].to_numpy(), minlength=self.num_items)
        found = self.items[mask].assign(num_ratings=counts[mask.to_numpy()])
        return found.sort_values("num_ratings", ascending=False, kind="stable").head(limit)

    @property
    def genres(self) -> list[str]:
        """Sorted list of the genre names that occur."""
        return sorted({g for gs in self.items["genres"] for g in gs})

    def genre_matrix(self) -> np.ndarray:
        """Multi-hot genres, float32 ``[num_items, num_genres]`` (columns in the order of :attr:`genres`)."""
        names = self.genres
        col = {g: j for j, g in enumerate(names)}
        out = np.zeros((self.num_items, len(names)), dtype=np.float32)
        rows = [i for i, gs in enumerate(self.items["genres"]) for _ in gs]
        cols = [col[g] for gs in self.items["genres"] for g in gs]
        out[rows, cols] = 1.0
        return out

    # ------------------------------------------------------------------ summary
    def stats(self) -> dict[str, Any]:
        """Counts and density as a dict (see :meth:`summary`)."""
        r = self.ratings
        rated = int(r["item_idx"].nunique())
        per_user = np.bincount(r["user_idx"].to_numpy(), minlength=self.num_users)
        return {
            "name": self.name,
            "num_ratings": self.num_ratings,
            "num_users": self.num_users,
            "num_items": self.num_items,
            "num_rated_items": rated,
            "density": self.num_ratings / max(1, self.num_users * rated),
            "rating_min": float(r["rating"].min()),
            "rating_max": float(r["rating"].max()),
            "rating_mean": float(r["rating"].mean()),
            "min_ratings_per_user": int(per_user.min()),
            "median_ratings_per_user": float(np.median(per_user)),
            "first_rating": pd.to_datetime(int(r["timestamp"].min()), unit="s").date().isoformat(),
            "last_rating": pd.to_datetime(int(r["timestamp"].max()), unit="s").date().isoformat(),
            "num_genres": len(self.genres),
        }

    def summary(self) -> str:
        """A short, printable description: ratings, users, rated items, items, density, date range."""
        s = self.stats()
        lines = [
            f"Dataset {s['name']!r}" + (f" from {self.source}" if self.source else ""),
            f"  ratings       {s['num_ratings']:>12,}",
            f"  users         {s['num_users']:>12,}",
            f"  rated items   {s['num_rated_items']:>12,}",
            f"  items         {s['num_items']:>12,}  (including items nobody rated)",
            f"  density       {s['density']:>12.4%}  (ratings / (users x rated items))",
            f"  ratings/user  {s['min_ratings_per_user']:>12,}  minimum, {s['median_ratings_per_user']:,.0f} median",
            f"  rating scale  {s['rating_min']:>12}  to {s['rating_max']} (mean {s['rating_mean']:.2f})",
            f"  dates         {s['first_rating']:>12}  to {s['last_rating']}",
            f"  genres        {s['num_genres']:>12}",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:  # keep notebook output short
        return (
            f"Dataset(name={self.name!r}, num_ratings={self.num_ratings:,}, num_users={self.num_users:,}, "
            f"num_items={self.num_items:,})"
        )

    def _repr_html_(self) -> str:
        return "<pre>" + self.summary() + "</pre>"


def _lookup(ids: np.ndarray, query, what: str, name: str):
    q = np.asarray(query, dtype=np.int64)
    pos = np.searchsorted(ids, q)
    pos_c = np.clip(pos, 0, len(ids) - 1)
    ok = ids[pos_c] == q
    if not np.all(ok):
        bad = q.reshape(-1)[~ok.reshape(-1)][0]
        raise ValueError(f"{what} {bad} is not in data set {name!r}; valid ids range from {ids[0]} to {ids[-1]}.")
    return int(pos_c) if q.ndim == 0 else pos_c.astype(np.int64)
