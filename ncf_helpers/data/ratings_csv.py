"""Your own ratings file: a CSV with ``user_id, item_id, rating, timestamp`` columns (lesson 01, data/README.md).

``load_dataset("path/to/ratings.csv")`` (or a lesson's ``DATASET = "path/to/ratings.csv"``) calls
:func:`load_ratings_csv`. The file is validated like the MovieLens files (same checks, same messages naming the
file, the line and the column) and becomes the same :class:`~ncf_helpers.data.Dataset` the lessons use.
Nothing is written anywhere: the file is only read.

Imports only the standard library, numpy and pandas.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ._files import LineMap, read_table
from .dataset import Dataset, check_items, validate_ratings

__all__ = ["RATINGS_CSV_COLUMNS", "load_ratings_csv"]

#: required and optional columns of a ratings file, and the other names accepted for them
RATINGS_CSV_COLUMNS = {
    "user_id": ("userId",),
    "item_id": ("movieId", "itemId"),
    "rating": (),
    "timestamp": (),
}
ITEMS_CSV_COLUMNS = {"item_id": ("movieId", "itemId"), "title": (), "genres": ()}
#: the rating a line gets in a file without a rating column: the top of MovieLens' scale, so the threshold every
#: lesson uses (3.5 stars, lesson 04's explorer included) counts each interaction as a positive
IMPLICIT_RATING = 5.0


def _resolve(path: str | os.PathLike, what: str) -> Path:
    p = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    if not p.is_file():
        hint = (
            f" (relative paths start from the current folder, {os.getcwd()})"
            if not Path(os.fspath(path)).is_absolute()
            else ""
        )
        raise FileNotFoundError(f"{p}: no such {what} file{hint}.")
    return p


def _columns(df: pd.DataFrame, path: Path, known: dict, required: tuple, extra_columns: str, sep: str) -> pd.DataFrame:
    """Strip header names, map accepted aliases to the canonical names, reject missing and unknown columns."""
    names = [str(c).strip() for c in df.columns]
    alias = {a: canon for canon, alts in known.items() for a in (canon, *alts)}
    canon = [alias.get(n, n) for n in names]
    seen = {}
    for n, c in zip(names, canon):
        if c in seen and c in known:
            raise ValueError(f"{path}: line 1 (the header): columns {seen[c]!r} and {n!r} both mean {c!r}; keep one.")
        seen.setdefault(c, n)
    df = df.set_axis(canon, axis=1)
    missing = [c for c in required if c not in df.columns]
    unknown = [n for n, c in zip(names, canon) if c not in known]
    if missing:
        hint = ""
        if len(names) == 1 and any(s in names[0] for s in (";", "\t", "|")) and sep == ",":
            other = next(s for s in (";", "\t", "|") if s in names[0])
            hint = f" The header looks separated by {other!r}, not ','; pass sep={other!r}."
        raise ValueError(
            f"{path}: line 1 (the header): missing column(s) {missing}; found {names}. The file needs a header "
            f"naming the columns {list(required)} (optional: "
            f"{[c for c in known if c not in required]}).{hint}"
        )
    if unknown and extra_columns == "error":
        raise ValueError(
            f"{path}: line 1 (the header): unknown column(s) {unknown}. Known columns are {list(known)} "
            f"(also accepted: {', '.join(a for alts in known.values() for a in alts)}). Remove or rename them (a "
            "misspelt 'timestamp' or 'rating' would otherwise be ignored), or pass extra_columns='ignore'."
        )
    return df[[c for c in known if c in df.columns]]


def load_ratings_csv(
    path: str | os.PathLike,
    *,
    items: str | os.PathLike | None = None,
    rating_range: tuple[float, float] | None = None,
    duplicates: str = "error",
    extra_columns: str = "error",
    sep: str = ",",
    name: str | None = None,
) -> Dataset:
    """Load your own ratings file as the :class:`~ncf_helpers.data.Dataset` the lessons use (lesson 01).

    The file is a CSV (UTF-8, a header line, one rating per line) with these columns, in any order:

    * ``user_id`` (or ``userId``), ``item_id`` (or ``movieId``, ``itemId``): **required**, whole numbers
      from 0 to 2**63 - 1 (text IDs must be mapped to numbers first);
    * ``rating``: optional, any finite number (check a range with ``rating_range=(1, 5)``). Without it the
      data is *implicit*: every line is one interaction (a click, a purchase) and gets rating ``5.0``
      (:data:`IMPLICIT_RATING`), so every lesson's threshold of 3.5 counts it as a positive unchanged. What
      needs star ratings (explicit MF's RMSE in lesson 03, the rating histograms) means nothing for such data;
      the data set's summary says so;
    * ``timestamp``: optional, seconds since 1970-01-01 UTC (whole numbers >= 0). Without it the order of the
      lines stands in for time (``timestamp`` = the line's 0-based position among the ratings), which is what
      leave-last-one-out then holds out: each user's last line.

    Other columns are an error (``extra_columns="error"``, the default: a misspelt ``timestmp`` would
    otherwise silently switch to row order); ``extra_columns="ignore"`` drops them.

    ``items``: an optional second CSV ``item_id`` (or ``movieId``), ``title``, ``genres`` (``|``-separated,
    optional) listing the items; every rated item must then be in it. Without it the items are the rated ones,
    titled ``"item <id>"``. ``duplicates``: a (user, item) pair on two lines is an error unless ``"last"`` or
    ``"mean"`` (see :func:`~ncf_helpers.data.validate_ratings`). ``name``: the data set's name (default: the
    file's stem). Every error names the file, the line (the header is line 1) and the column, and says how to
    fix it. Nothing is written: no cache, no temporary file.

    Returns a Dataset with ``ratings`` ``user_id, item_id, rating, timestamp, user_idx, item_idx`` and
    ``items`` ``item_idx, item_id, title, genres``; ``ds.source`` is the file's absolute path.
    """
    if extra_columns not in ("error", "ignore"):
        raise ValueError(f"extra_columns={extra_columns!r}: use 'error' or 'ignore'.")
    rpath = _resolve(path, "ratings")
    header = read_table(rpath, sep=sep, encoding="utf-8-sig", nrows=0).columns
    int_cols = [n for n in header if _canonical(n) in ("user_id", "item_id", "timestamp")]
    # pandas holds those columns exactly when they are plain integers; otherwise they are read as text
    ratings = read_table(rpath, sep=sep, encoding="utf-8-sig", int_columns=int_cols)
    labels = {c: f"column {c!r}" for c in RATINGS_CSV_COLUMNS}
    labels.update({_canonical(n): f"column {str(n).strip()!r}" for n in header if _canonical(n) in labels})
    ratings = _columns(ratings, rpath, RATINGS_CSV_COLUMNS, ("user_id", "item_id"), extra_columns, sep)
    notes = []
    has_timestamps = "timestamp" in ratings.columns
    if "rating" not in ratings.columns:
        ratings["rating"] = IMPLICIT_RATING
        notes.append(
            f"no rating column: every line is one interaction, stored as rating {IMPLICIT_RATING} so that "
            "the lessons' threshold (3.5) counts it as a positive; star-rating results (RMSE) mean nothing here."
        )
    if not has_timestamps:
        ratings["timestamp"] = np.arange(len(ratings), dtype=np.int64)
    lines = LineMap(rpath, encoding="utf-8-sig")
    item_table, items_source = None, "the items file"
    if items is not None:
        ipath = _resolve(items, "items")
        items_source = str(ipath)
        table = read_table(ipath, sep=sep, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        table = _columns(table, ipath, ITEMS_CSV_COLUMNS, ("item_id",), extra_columns, sep)
        id_names = ("item_id", *ITEMS_CSV_COLUMNS["item_id"])
        iheader = read_table(ipath, sep=sep, encoding="utf-8-sig", nrows=0).columns
        label = next((f"column {str(n).strip()!r}" for n in iheader if str(n).strip() in id_names), "column 'item_id'")
        table = check_items(table, str(ipath), lines=LineMap(ipath, encoding="utf-8-sig"), label=label)
        item_table = pd.DataFrame({"item_id": table["item_id"].to_numpy()})
        if "title" in table.columns:
            item_table["title"] = table["title"].astype(str).to_numpy()
        if "genres" in table.columns:
            item_table["genres"] = [
                [] if not g.strip() else [x.strip() for x in g.split("|") if x.strip()]
                for g in table["genres"].astype(str)
            ]
    clean = validate_ratings(
        ratings,
        str(rpath),
        rating_range=rating_range,
        duplicates=duplicates,
        lines=lines,
        labels=labels,
        item_ids=None if item_table is None else item_table["item_id"].to_numpy(),
        items_source=items_source,
        text_id_hint=True,
    )
    return Dataset.from_frames(
        name or rpath.stem,
        clean,
        item_table,
        source=str(rpath),
        rating_range=rating_range,
        duplicates=duplicates,
        has_timestamps=has_timestamps,
        notes=tuple(notes),
    )


def _canonical(name) -> str:
    n = str(name).strip()
    for canon, alts in RATINGS_CSV_COLUMNS.items():
        if n == canon or n in alts:
            return canon
    return n
