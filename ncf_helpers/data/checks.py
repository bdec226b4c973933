"""Input checks shared by every recommender and metric (clear errors instead of index errors deep inside numpy)."""

from __future__ import annotations

import numpy as np


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
            raise ValueError(f"{name} must hold integer indices, got dtype {v.dtype}. Map raw ids with dataset.user_idx()/item_idx().")
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
    """``k`` must be a positive whole number (top-K lists, HR@K)."""
    if isinstance(k, bool) or not float(k).is_integer() or int(k) <= 0:
        raise ValueError(f"{name} must be a positive whole number (e.g. 10), got {k!r}.")
    return int(k)
