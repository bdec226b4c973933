"""The :class:`Dataset` every lesson works with, and the validation of raw ratings (lesson 01)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .checks import check_integer_column, where

__all__ = ["DUPLICATE_POLICIES", "Dataset", "check_items", "validate_ratings"]

RATING_COLUMNS = ("user_id", "item_id", "rating", "timestamp")
DUPLICATE_POLICIES = ("error", "last", "mean")


def _show(value) -> str:
    """repr of a cell value without numpy's wrapper (``2.5``, not ``np.float64(2.5)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _first_bad_row(mask: np.ndarray | pd.Series) -> int:
    """Position (0-based data row) of the first True in ``mask``."""
    return int(np.flatnonzero(np.asarray(mask))[0])


def _in_all(count: int, what: str) -> str:
    """`` (3 ratings in all)`` when more than one row has the problem, else nothing."""
    return f" ({count:,} {what} in all)" if count > 1 else ""


def _label(labels, col: str) -> str:
    return (labels or {}).get(col, f"column {col!r}")


def validate_ratings(
    ratings: pd.DataFrame,
    source: str = "ratings",
    *,
    rating_range: tuple[float, float] | None = (0.5, 5.0),
    rating_step: float | None = None,
    duplicates: str = "error",
    lines=None,
    labels: dict[str, str] | None = None,
    item_ids=None,
    items_source: str = "the items table",
    text_id_hint: bool = False,
) -> pd.DataFrame:
    """Check raw ratings and return a clean copy with columns ``user_id, item_id, rating, timestamp``.

    Parameters
    ----------
    ratings : DataFrame with at least ``user_id``, ``item_id``, ``rating``, ``timestamp`` (other columns are
        dropped).
    source : the file (or description) named in error messages.
    rating_range : inclusive ``(low, high)``; ``None`` accepts any finite number.
    rating_step : e.g. ``0.5`` for MovieLens' half stars: every rating must be a multiple of it; ``None``
        skips the check.
    duplicates : what to do when a ``(user_id, item_id)`` pair appears twice: ``"error"`` (default),
        ``"last"`` (keep the most recent rating) or ``"mean"`` (average the ratings, keep the latest time).
    lines : maps 0-based row positions to the file's line numbers (a callable or a sequence, see
        :func:`~ncf_helpers.data.checks.where`); ``None`` (a DataFrame built in code) names 0-based rows.
    labels : how messages name each column, e.g. ``{"item_id": "column 'movieId'"}`` (default
        ``column 'item_id'``).
    item_ids : if given, every rated ``item_id`` must be one of these (the ids of the items file
        ``items_source``); a rating of an unknown item is an error.
    text_id_hint : add to ID errors how to map text IDs to numbers (a learner's own file).

    IDs and timestamps go through :func:`~ncf_helpers.data.checks.check_integer_column` (whole numbers >= 0 in
    int64). Ratings must be finite numbers. Raises ``ValueError`` naming the file, the line (or row), the
    column, the bad value and the fix. Introduced in lesson 01.
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
    for col, what, example in (
        ("user_id", "IDs", "42"),
        ("item_id", "IDs", "42"),
        ("timestamp", "Timestamps (seconds since 1970-01-01 UTC)", "964982703"),
    ):
        df[col] = check_integer_column(
            df[col],
            source=source,
            column=_label(labels, col),
            lines=lines,
            minimum=0,
            what=what,
            example=example,
            text_id_hint=text_id_hint and col != "timestamp",
        )
    fix = "Correct or delete that line." if lines is not None else "Correct or drop that row."
    rating_label = _label(labels, "rating")
    raw = df["rating"]
    rating = pd.to_numeric(raw, errors="coerce") if raw.dtype.kind not in "fiu" else raw.astype(np.float64)
    if raw.dtype.kind == "b" or rating.isna().any():
        i = 0 if raw.dtype.kind == "b" else _first_bad_row(rating.isna())
        value = raw.iloc[i]
        shown = (
            "the cell is empty"
            if value is None
            or (isinstance(value, float) and np.isnan(value))
            or (isinstance(value, str) and not value.strip())
            else f"{_show(value)} is not a number"
        )
        raise ValueError(f"{source}: {where(i, lines)}, {rating_label}: {shown}. Ratings must be numbers. {fix}")
    values = rating.to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        i = _first_bad_row(bad)
        raise ValueError(
            f"{source}: {where(i, lines)}, {rating_label}: {_show(raw.iloc[i])} is not a finite number. "
            f"Ratings must be finite numbers. {fix}"
        )
    if rating_range is not None:
        lo, hi = rating_range
        bad = (values < lo) | (values > hi)
        if bad.any():
            i = _first_bad_row(bad)
            raise ValueError(
                f"{source}: {where(i, lines)}, {rating_label}: {_show(values[i])} is outside [{lo}, {hi}]"
                f"{_in_all(int(bad.sum()), 'such ratings')}. Ratings of this data set must lie in [{lo}, {hi}]. {fix}"
            )
    if rating_step is not None:
        steps = values / rating_step
        bad = np.abs(steps - np.round(steps)) > 1e-6
        if bad.any():
            i = _first_bad_row(bad)
            raise ValueError(
                f"{source}: {where(i, lines)}, {rating_label}: {_show(values[i])} is not a multiple of {rating_step}"
                f"{_in_all(int(bad.sum()), 'such ratings')}; this data set rates in steps of {rating_step}. {fix}"
            )
    df["rating"] = values.astype(np.float32)
    if item_ids is not None:
        known = np.asarray(item_ids, dtype=np.int64)
        unknown = ~np.isin(df["item_id"].to_numpy(), known)
        if unknown.any():
            i = _first_bad_row(unknown)
            ids = np.unique(df["item_id"].to_numpy()[unknown])
            example = ", ".join(str(v) for v in ids[:5]) + (", ..." if len(ids) > 5 else "")
            raise ValueError(
                f"{source}: {where(i, lines)}, {_label(labels, 'item_id')}: item {df['item_id'].iloc[i]} is not in "
                f"{items_source} ({int(unknown.sum()):,} rating(s) in all refer to {len(ids):,} id(s) missing there: "
                f"{example}). "
                f"Every rated item must be listed in {items_source}: add the missing items there, delete those "
                "ratings, or use a ratings file and an items file from the same release."
            )
    dup = df.duplicated(["user_id", "item_id"], keep="first")
    if dup.any():
        if duplicates == "error":
            i = _first_bad_row(dup)
            u, it = df["user_id"].iloc[i], df["item_id"].iloc[i]
            j = _first_bad_row((df["user_id"].to_numpy() == u) & (df["item_id"].to_numpy() == it))
            raise ValueError(
                f"{source}: {where(i, lines)}: the (user, item) pair ({u}, {it}) appears again; it first appears "
                f"on {where(j, lines)}{_in_all(int(dup.sum()), 'repeated pairs')}. Each pair must appear once: delete "
                "one of them, or pass duplicates='last' to keep the most recent rating or duplicates='mean' to "
                "average them."
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


def check_items(items: pd.DataFrame, source: str, *, lines=None, label: str = "column 'item_id'") -> pd.DataFrame:
    """Check an items table (``item_id`` plus any other columns) and return a copy with int64 ``item_id``.

    ``item_id`` goes through :func:`~ncf_helpers.data.checks.check_integer_column`; an id listed twice is an
    error naming both lines (or 0-based rows). Lesson 01.
    """
    if "item_id" not in items.columns:
        raise ValueError(f"{source}: the items table needs an 'item_id' column; found {list(items.columns)}.")
    items = items.reset_index(drop=True).copy()
    items["item_id"] = check_integer_column(items["item_id"], source=source, column=label, lines=lines)
    dup = items["item_id"].duplicated(keep="first").to_numpy()
    if dup.any():
        i = _first_bad_row(dup)
        value = items["item_id"].iloc[i]
        j = _first_bad_row(items["item_id"].to_numpy() == value)
        raise ValueError(
            f"{source}: {where(i, lines)}, {label}: item {value} appears again; it first appears on {where(j, lines)}"
            f"{_in_all(int(dup.sum()), 'repeated ids')}. Each item must be listed once: delete one of the two."
        )
    return items


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
    source : where the data came from (a folder, a file, ``make_synthetic(seed=0)``).
    has_timestamps : ``False`` for a ratings file without a ``timestamp`` column, where ``timestamp`` holds the
        row's position in the file (row order stands in for time; see :func:`~ncf_helpers.data.load_ratings_csv`).
    notes : sentences :meth:`summary` prints last (e.g. how a file without ratings was read).
    """

    name: str
    ratings: pd.DataFrame
    items: pd.DataFrame
    user_ids: np.ndarray
    item_ids: np.ndarray
    truth: dict[str, Any] | None = None
    source: str = ""
    has_timestamps: bool = True
    notes: tuple[str, ...] = ()

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
        has_timestamps: bool = True,
        notes: tuple[str, ...] = (),
    ) -> Dataset:
        """Build a Dataset from raw ``ratings`` (``user_id, item_id, rating, timestamp``) and optional ``items``
        (``item_id``, optional ``title``, ``genres``; missing titles become ``"item <id>"``). Every item in
        ``items`` gets an index even if nobody rated it; a rating of an item that is not in ``items`` is an
        error (see :func:`validate_ratings`). Without ``items``, the items are the rated ones."""
        where_items = f"{source or name} (items table)"
        if items is not None:
            items = check_items(items, where_items)
        clean = validate_ratings(
            ratings,
            source or name,
            rating_range=rating_range,
            duplicates=duplicates,
            item_ids=None if items is None else items["item_id"].to_numpy(),
            items_source=where_items,
        )
        if items is None:
            items = pd.DataFrame({"item_id": np.unique(clean["item_id"])})
        if "title" not in items.columns:
            items["title"] = [f"item {i}" for i in items["item_id"]]
        if "genres" not in items.columns:
            items["genres"] = [[] for _ in range(len(items))]
        items = items.sort_values("item_id", kind="stable").reset_index(drop=True)
        item_ids = items["item_id"].to_numpy(np.int64)
        user_ids = np.unique(clean["user_id"].to_numpy(np.int64))
        clean["user_idx"] = np.searchsorted(user_ids, clean["user_id"].to_numpy()).astype(np.int32)
        clean["item_idx"] = np.searchsorted(item_ids, clean["item_id"].to_numpy()).astype(np.int32)
        order = np.lexsort((clean["item_idx"].to_numpy(), clean["timestamp"].to_numpy(), clean["user_idx"].to_numpy()))
        clean = clean.iloc[order].reset_index(drop=True)
        items.insert(0, "item_idx", np.arange(len(items), dtype=np.int32))
        items = items[
            ["item_idx", "item_id", "title", "genres"]
            + [c for c in items.columns if c not in ("item_idx", "item_id", "title", "genres")]
        ]
        return cls(
            name=name,
            ratings=clean,
            items=items,
            user_ids=user_ids,
            item_ids=item_ids,
            truth=truth,
            source=source,
            has_timestamps=has_timestamps,
            notes=tuple(notes),
        )

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
            "first_rating": pd.to_datetime(int(r["timestamp"].min()), unit="s").date().isoformat()
            if self.has_timestamps
            else None,
            "last_rating": pd.to_datetime(int(r["timestamp"].max()), unit="s").date().isoformat()
            if self.has_timestamps
            else None,
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
            (
                f"  dates         {s['first_rating']:>12}  to {s['last_rating']}"
                if self.has_timestamps
                else "  dates                 none  (no timestamp column: the order of the rows stands in for time)"
            ),
            f"  genres        {s['num_genres']:>12}",
        ]
        lines += [f"  note: {n}" for n in self.notes]
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
