"""The one interface every recommender in the course shares (lesson 02), classical or Keras.

``fit(train)``, ``score(user_idx, item_idx)``, ``score_all(user_idx)``, ``recommend(user_idx, n)``, and
``user_factors`` / ``item_factors`` / ``similar_items`` where a model has vectors. ``ncf_helpers.evaluate``
only needs ``score`` (and uses ``score_all`` when a model has a faster one), so every number in the course is
computed the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..common import top_k
from ..data._keys import unique_keys
from ..data.checks import check_indices, check_k
from ..data.splits import positives

__all__ = ["Recommender", "train_arrays"]


def train_arrays(train) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int | None, int | None]:
    """``(user_idx, item_idx, rating or None, num_users, num_items)`` from a ``Split`` or a DataFrame."""
    num_users = num_items = None
    if hasattr(train, "train") and hasattr(train, "num_items"):
        num_users, num_items = train.num_users, train.num_items
        train = train.train
    if not isinstance(train, pd.DataFrame):
        raise ValueError(f"fit() takes a Split or a DataFrame with user_idx and item_idx, got {type(train).__name__}.")
    missing = [c for c in ("user_idx", "item_idx") if c not in train.columns]
    if missing:
        raise ValueError(f"The training table lacks column(s) {missing}; it needs user_idx and item_idx.")
    if len(train) == 0:
        raise ValueError("The training table is empty: there is nothing to fit. Check the split.")
    train = positives(train)
    rating = train["rating"].to_numpy(np.float32) if "rating" in train.columns else None
    return train["user_idx"].to_numpy(np.int64), train["item_idx"].to_numpy(np.int64), rating, num_users, num_items


class Recommender:
    """Base class. Subclasses implement ``_fit(user_idx, item_idx, rating)`` and ``_score(user_idx, item_idx)``
    (validated int64 arrays of one shape), and may override ``_score_all(user_idx) -> [n, num_items]``."""

    name = "recommender"

    def __init__(self, num_users: int | None = None, num_items: int | None = None):
        self.num_users = num_users
        self.num_items = num_items
        self._seen_keys = np.empty(0, dtype=np.int64)
        self.fitted = False

    # ------------------------------------------------------------------ fit
    def fit(self, train, **kwargs) -> Recommender:
        """Learn from a ``Split`` (its ``train`` table) or a DataFrame with ``user_idx, item_idx[, rating]``.
        Returns ``self``."""
        u, i, r, nu, ni = train_arrays(train)
        self.num_users = nu if nu is not None else (self.num_users or int(u.max()) + 1)
        self.num_items = ni if ni is not None else (self.num_items or int(i.max()) + 1)
        check_indices(u, i, self.num_users, self.num_items)
        self._seen_keys = unique_keys(u * self.num_items + i)
        self._fit(u, i, r, **kwargs)
        self.fitted = True
        return self

    def _fit(self, user_idx, item_idx, rating, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def _require_fit(self):
        if not self.fitted:
            raise ValueError(f"{type(self).__name__} is not fitted yet: call .fit(split) first.")

    # ------------------------------------------------------------------ scoring
    def score(self, user_idx, item_idx) -> np.ndarray:
        """Scores for (user, item) pairs: float ``[n]`` (higher = more recommended). Batched; a scalar user is
        broadcast against many items."""
        self._require_fit()
        u, i = check_indices(user_idx, item_idx, self.num_users, self.num_items)
        shape = u.shape
        out = np.asarray(self._score(u.reshape(-1), i.reshape(-1)), dtype=np.float64)
        return out.reshape(shape)

    def _score(self, user_idx, item_idx) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def score_all(self, user_idx) -> np.ndarray:
        """Scores of every item for each user: float ``[len(user_idx), num_items]``."""
        self._require_fit()
        u = np.atleast_1d(np.asarray(user_idx))
        u, _ = check_indices(u, np.zeros_like(u), self.num_users, self.num_items)
        return np.asarray(self._score_all(u), dtype=np.float64)

    def _score_all(self, user_idx) -> np.ndarray:
        items = np.arange(self.num_items, dtype=np.int64)
        return self._score(np.repeat(user_idx, self.num_items), np.tile(items, len(user_idx))).reshape(
            len(user_idx), self.num_items
        )

    def seen_items(self, user_idx: int) -> np.ndarray:
        """Items ``user_idx`` interacted with in training (sorted int array)."""
        lo = np.searchsorted(self._seen_keys, user_idx * self.num_items)
        hi = np.searchsorted(self._seen_keys, (user_idx + 1) * self.num_items)
        return self._seen_keys[lo:hi] - user_idx * self.num_items

    def recommend(self, user_idx, n: int = 10, exclude_seen: bool = True) -> np.ndarray:
        """Top-``n`` item indices, best first: int ``[n]`` for one user, ``[len(user_idx), n]`` for several."""
        self._require_fit()
        n = check_k(n, "n")
        scalar = np.ndim(user_idx) == 0
        users = np.atleast_1d(np.asarray(user_idx, dtype=np.int64))
        n = min(n, self.num_items)
        scores = self.score_all(users)
        if exclude_seen:
            for row, u in enumerate(users):
                scores[row, self.seen_items(int(u))] = -np.inf
        top = top_k(scores, n)  # ties: the lower item index first
        return top[0] if scalar else top

    # ------------------------------------------------------------------ vectors
    @property
    def user_factors(self) -> np.ndarray | None:
        """``[num_users, embedding_dim]`` for models with user vectors, else ``None``."""
        return None

    @property
    def item_factors(self) -> np.ndarray | None:
        """``[num_items, embedding_dim]`` for models with item vectors, else ``None``."""
        return None

    def similar_items(self, item_idx: int, k: int = 10, factors: np.ndarray | None = None) -> pd.DataFrame:
        """The ``k`` items whose vectors have the highest cosine similarity to ``item_idx`` (itself excluded).

        Uses ``factors`` if given, else ``item_factors``. Returns a DataFrame ``item_idx, similarity``.
        """
        k = check_k(k)
        vecs = self.item_factors if factors is None else factors
        if vecs is None:
            raise ValueError(
                f"{type(self).__name__} has no item vectors; similar_items needs a model with item_factors."
            )
        vecs = np.asarray(vecs, dtype=np.float64)
        check_indices(item_idx, 0, vecs.shape[0], 1)
        norms = np.linalg.norm(vecs, axis=1)
        sims = vecs @ vecs[item_idx] / np.maximum(norms * norms[item_idx], 1e-12)
        sims[item_idx] = -np.inf
        top = top_k(sims, min(k, len(sims) - 1))
        return pd.DataFrame({"item_idx": top, "similarity": sims[top]})

    def __repr__(self) -> str:
        state = "fitted" if self.fitted else "not fitted"
        return f"{type(self).__name__}(num_users={self.num_users}, num_items={self.num_items}, {state})"
