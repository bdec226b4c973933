"""Input checks shared by every recommender and metric (clear errors instead of index errors deep inside numpy)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..common import whole_number

__all__ = ["check_indices", "check_integer_column", "check_k", "where"]


def check_indices(user_idx, item_idx, num_users: int, num_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(user_idx, item_idx)`` as int64 arrays of one shape, or raise a ``ValueError`` that says what to do.

    ``user_idx`` must lie in ``[0, num_users)`` and ``item_idx`` in ``[0, num_items)``; a scalar is broadcast
    against the other argument (score one user against many items).
    """
    u = np.asarray(user_idx)
    i = np.asarray(item_idx)
    for name, v in (("user_idx", u), ("item_idx", i)):
        if v.size and not np.issubdtype(v.dtype, np.integer):
            if np.issubdtype(v.dtype, np.floating) and np.all(np.isfinite(v)) and np.all(v == np.round(v)):
                continue
            raise ValueError(
                f"{name} must hold integer indices, got dtype {v.dtype}. Map raw ids with dataset.user_idx()/item_idx()."
            )
    try:
        u, i = np.broadcast_arrays(u.astype(np.int64), i.astype(np.int64))
    except ValueError:
        raise ValueError(
            f"user_idx has shape {np.shape(user_idx)} and item_idx has shape {np.shape(item_idx)}: pass one user "
            "index per item index (same length), or a single user index for many items."
        ) from None
    for name, v, size, what in (("user_idx", u, num_users, "num_users"), ("item_idx", i, num_items, "num_items")):
        if v.size and (v.min() < 0 or v.max() >= size):
            bad = v[(v < 0) | (v >= size)].reshape(-1)[0]
            raise ValueError(
                f"{name} {bad} is outside [0, {size}) ({what} = {size}). Indices are contiguous positions from "
                "dataset.user_idx()/item_idx(), not raw MovieLens ids."
            )
    return u, i


def check_k(k, name: str = "k") -> int:
    """``k`` must be a positive whole number (top-K lists, HR@K): :func:`ncf_helpers.common.whole_number`."""
    return whole_number(k, name)


# ------------------------------------------------------------------------------------------------ file columns
INT64_MAX = int(np.iinfo(np.int64).max)
_WHOLE_TEXT = re.compile(r"\s*([+-]?)([0-9]+)(?:\.0*)?\s*")


def where(position: int, lines=None) -> str:
    """How messages name a row: ``"line 7"`` (the file's line number, the header being line 1) when ``lines``
    maps 0-based data-row positions to line numbers (a callable or a sequence), else ``"row 3 (0-based)"``
    for a DataFrame built in code (``df.iloc[3]``)."""
    if lines is None:
        return f"row {position} (0-based)"
    line = lines(position) if callable(lines) else lines[position]
    return f"line {int(line)}"


def _whole(value) -> tuple[int | None, str]:
    """``(int, "")`` for a whole number, else ``(None, what is wrong)``. Text is parsed exactly (no float)."""
    if value is None or (isinstance(value, (float, np.floating)) and np.isnan(value)):
        return None, "is empty"
    if isinstance(value, (bool, np.bool_)):
        return None, "is a boolean, not a whole number"
    if isinstance(value, (int, np.integer)):
        return int(value), ""
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value) or value != np.floor(value):
            return None, "is not a whole number"
        return int(value), ""
    if isinstance(value, str):
        if not value.strip():
            return None, "is empty"
        m = _WHOLE_TEXT.fullmatch(value)
        if not m:
            return None, "is not a whole number"
        number = int(m.group(2))
        return (-number if m.group(1) == "-" else number), ""
    return None, "is not a whole number"


def check_integer_column(
    values,
    *,
    source: str,
    column: str,
    lines=None,
    minimum: int | None = 0,
    what: str = "IDs",
    example: str = "42",
    text_id_hint: bool = False,
) -> np.ndarray:
    """The one check for integer columns of a ratings or items file (user and item IDs, timestamps), lesson 01.

    Returns ``values`` as an int64 array ``[len(values)]``, or raises ``ValueError`` naming the file
    (``source``), the line (see :func:`where`; ``lines`` maps 0-based positions to line numbers), the column
    (``column``, e.g. ``"column 'movieId'"``), the bad value, how many values are bad, and the fix.

    A value is accepted when it is a whole number from ``minimum`` (``None``: no lower bound) to
    9,223,372,036,854,775,807 (int64): an integer, a float with no fraction (``10.0``), or text written with
    ASCII digits (``"10"``, ``"10.0"``; parsed exactly, never through a float, so
    ``"99999999999999999999999"`` is rejected as too large instead of wrapping around). Rejected: empty
    cells, ``NaN``, booleans, fractions (``3.5``), other text (``"abc"``, ``"1e3"``, ``"1_000"``), values
    below ``minimum`` and values beyond int64. ``text_id_hint``: for a learner's own file, say how to map text
    IDs (``"u17"``) to numbers.
    """
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    lo = -INT64_MAX - 1 if minimum is None else int(minimum)
    arr = series.to_numpy()
    # fast path: an integer column that pandas (or numpy) already holds exactly
    if arr.dtype.kind == "i":
        bad = arr < lo
        if not bad.any():
            return arr.astype(np.int64, copy=False)
        reasons = None
    elif arr.dtype.kind == "u" and (arr.size == 0 or int(arr.max()) <= INT64_MAX):
        out = arr.astype(np.int64)
        bad = out < lo
        if not bad.any():
            return out
        reasons = None
    else:
        reasons = []
        out = np.empty(len(arr), dtype=np.int64)
        for k, v in enumerate(arr):
            number, problem = _whole(v)
            if number is not None:
                if number > INT64_MAX:
                    problem = "is too large"
                elif number < lo:
                    problem = "is negative" if lo == 0 else f"is below {lo:,}"
                else:
                    out[k] = number
            reasons.append(problem)
        bad = np.array([bool(r) for r in reasons], dtype=bool)
        if not bad.any():
            return out
    first = int(np.flatnonzero(bad)[0])
    value = arr[first]
    if reasons is None:
        number = int(value)
        problem = "is negative" if lo == 0 and number < 0 else (f"is below {lo:,}" if number < lo else "is too large")
    else:
        problem = reasons[first]
    shown = repr(value.item() if isinstance(value, np.generic) else value)
    if shown in ("nan", "None", "''"):
        shown = "the cell"
    count = int(bad.sum())
    more = f" ({count:,} values in this column are bad)" if count > 1 else ""
    low = "" if minimum is None else f" from {lo:,}"
    fix = "Correct or delete that line." if lines is not None else "Correct or drop that row."
    text_hint = ""
    if text_id_hint and problem == "is not a whole number" and isinstance(value, str) and not _looks_numeric(value):
        text_hint = (
            f" Text IDs such as {shown} must be mapped to numbers first, e.g. with "
            "pandas: df['item_id'] = pd.factorize(df['item'])[0]."
        )
    raise ValueError(
        f"{source}: {where(first, lines)}, {column}: {shown} {problem}{more}. {what} must be whole numbers{low} "
        f"to {INT64_MAX:,} (int64), written with digits only (e.g. {example}). {fix}{text_hint}"
    )


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
