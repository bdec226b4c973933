"""Neighbourhood collaborative filtering (lesson 02): user-based and item-based k-nearest neighbours.

Both models keep, for every user (UserCF) or item (ItemCF), its ``k`` most similar peers in a sparse matrix
``W`` and score with one sparse product, so ranking every item for every user takes a fraction of a second:

* UserCF: ``score(u, i) = sum over the k users v most similar to u of sim(u, v) * r(v, i)``
  -> ``scores = W_users @ R``;
* ItemCF: ``score(u, i) = sum over the k items j most similar to i of sim(i, j) * r(u, j)``
  -> ``scores = R @ W_items.T``.

``r`` is the binary interaction (1 = interacted). Similarities come from :mod:`ncf_helpers.similarity`,
computed on the binary matrix (``cosine``, ``jaccard``) or on the ratings (``pearson``, which is 0 everywhere
on binary data).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..data._keys import unique_keys
from ..data.checks import check_k
from ..similarity import METRICS, neighbour_graph, top_k_neighbours
from .base import Recommender

__all__ = ["ItemCF", "UserCF"]

_PAIR_CELLS = 4_000_000  # cells of a user chunk's score rows in _pair_scores (sparse, at most ~50 MB)


def _pair_scores(left: sp.csr_matrix, right: sp.csr_matrix, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
    """``score[p] = (left[user_idx[p]] @ right)[item_idx[p]]`` for many (user, item) pairs: float ``[n]``.

    UserCF: ``left = W_users [num_users, num_users]``, ``right = R [num_users, num_items]``; ItemCF: ``left = R``,
    ``right = W_items^T``. Instead of one sparse row slice per pair (the old way: 85% of the sampled
    evaluation was sparse fancy indexing), each distinct user's sparse score row is computed once, by one
    sparse product per chunk of users, and the pairs are read from it with one ``searchsorted``. Cost:
    O(sum over users of the product's work + pairs log), linear in the number of users at a fixed activity."""
    num_items = right.shape[1]
    users, inverse = unique_keys(user_idx, return_inverse=True)
    order = np.argsort(inverse, kind="stable")  # pairs grouped by user
    grouped = inverse[order]
    out = np.zeros(len(user_idx))
    chunk = max(1, _PAIR_CELLS // max(num_items, 1))
    for a in range(0, len(users), chunk):
        b = min(a + chunk, len(users))
        prod = sp.csr_matrix(left[users[a:b]] @ right)
        prod.sum_duplicates()  # canonical: sorted column indices within each row
        keys = np.repeat(np.arange(b - a, dtype=np.int64), np.diff(prod.indptr)) * num_items + prod.indices
        lo, hi = np.searchsorted(grouped, [a, b])
        sel = order[lo:hi]
        want = (grouped[lo:hi] - a) * num_items + item_idx[sel]
        pos = np.minimum(np.searchsorted(keys, want), max(len(keys) - 1, 0))
        if len(keys):
            out[sel] = np.where(keys[pos] == want, prod.data[pos], 0.0)
    return out


class _NeighbourhoodCF(Recommender):
    axis = 0

    def __init__(
        self,
        k: int = 50,
        similarity: str = "cosine",
        *,
        shrink: float = 0.0,
        use_ratings: bool | None = None,
        num_users: int | None = None,
        num_items: int | None = None,
    ):
        super().__init__(num_users, num_items)
        self.k = check_k(k)
        if similarity not in METRICS:
            raise ValueError(f"Unknown similarity {similarity!r}; choose one of {METRICS}.")
        if shrink < 0 or not np.isfinite(shrink):
            raise ValueError(f"shrink must be a finite number >= 0, got {shrink!r}.")
        self.similarity = similarity
        self.shrink = float(shrink)
        self.use_ratings = (similarity == "pearson") if use_ratings is None else bool(use_ratings)
        self.neighbours = None  # int [n, k]
        self.neighbour_sims = None  # float [n, k]

    def _matrices(self, user_idx, item_idx, rating):
        shape = (self.num_users, self.num_items)
        keys, first = unique_keys(user_idx * self.num_items + item_idx, return_index=True)
        u, i = keys // self.num_items, keys % self.num_items
        binary = sp.csr_matrix((np.ones(len(keys)), (u, i)), shape=shape)
        if not self.use_ratings:
            return binary, binary
        if rating is None:
            raise ValueError(
                f"{type(self).__name__}(similarity={self.similarity!r}) computes similarities on ratings, but the "
                "training table has no 'rating' column. Use similarity='cosine' or 'jaccard', or use_ratings=False."
            )
        return binary, sp.csr_matrix((rating[first].astype(np.float64), (u, i)), shape=shape)

    def _neighbours(self, source):
        idx, sims = top_k_neighbours(source, self.k, self.similarity, axis=self.axis, shrink=self.shrink)
        self.neighbours, self.neighbour_sims = idx, sims
        return neighbour_graph(idx, sims, idx.shape[0])


class UserCF(_NeighbourhoodCF):
    """User-based k-nearest-neighbour CF (lesson 02).

    ``score(u, i) = sum_{v in N_k(u)} sim(u, v) * r(v, i)``: how strongly the ``k`` users most similar to ``u``
    (``similarity`` = ``"cosine"``, ``"pearson"`` or ``"jaccard"``) interacted with ``i``. Float ``>= 0`` for
    cosine/jaccard. ``shrink > 0`` damps similarities resting on little overlap (``a.b / (|a||b| + shrink)``). ``use_ratings`` computes the
    similarities on the ratings (default: only for pearson). ``neighbours`` / ``neighbour_sims`` hold the
    ``[num_users, k]`` neighbour lists after fitting. The defaults (k=50, cosine, no shrink) were the best of
    k in 10-200, cosine/jaccard, shrink 0-30 on ml-latest-small's validation items (leave-last-one-out).
    """

    name = "UserCF"
    axis = 0

    def _fit(self, user_idx, item_idx, rating):
        binary, source = self._matrices(user_idx, item_idx, rating)
        self._w = self._neighbours(source)  # [num_users, num_users], k per row
        self._r = binary.tocsr()

    def _score(self, user_idx, item_idx):
        # each user's neighbour row times the interaction columns of its candidates (see _pair_scores)
        return _pair_scores(self._w, self._r, user_idx, item_idx)

    def _score_all(self, user_idx):
        return (self._w[user_idx] @ self._r).toarray()


class ItemCF(_NeighbourhoodCF):
    """Item-based k-nearest-neighbour CF (lesson 02; Sarwar et al. 2001, as re-run by Dacrema et al. 2021).

    ``score(u, i) = sum_{j in N_k(i)} sim(i, j) * r(u, j)``: the similarities of ``i`` to those of its ``k``
    most similar items that ``u`` interacted with. Same options as :class:`UserCF`; ``neighbours`` /
    ``neighbour_sims`` are ``[num_items, k]`` after fitting. :meth:`similar_items` uses these similarities.
    Defaults (k=100, shrink=10) tuned on ml-latest-small's validation items: without shrink, items that share
    one or two users get cosine near 1 and crowd out the real neighbours (HR@10 0.63 instead of 0.72).
    """

    name = "ItemCF"
    axis = 1

    def __init__(
        self,
        k: int = 100,
        similarity: str = "cosine",
        *,
        shrink: float = 10.0,
        use_ratings: bool | None = None,
        num_users: int | None = None,
        num_items: int | None = None,
    ):
        super().__init__(
            k, similarity, shrink=shrink, use_ratings=use_ratings, num_users=num_users, num_items=num_items
        )

    def _fit(self, user_idx, item_idx, rating):
        binary, source = self._matrices(user_idx, item_idx, rating)
        self._w = self._neighbours(source)  # [num_items, num_items], row i = the k neighbours of item i
        self._wt = self._w.T.tocsr()
        self._r = binary.tocsr()

    def _score(self, user_idx, item_idx):
        # each user's profile times the similarity columns of its candidates (see _pair_scores)
        return _pair_scores(self._r, self._wt, user_idx, item_idx)

    def _score_all(self, user_idx):
        return (self._r[user_idx] @ self._wt).toarray()

    def similar_items(self, item_idx: int, k: int = 10, factors=None):
        """The fitted neighbours of ``item_idx`` (up to ``min(k, self.k)``) as a DataFrame ``item_idx,
        similarity``; with ``factors`` given, cosine over those vectors as in the base class."""
        if factors is not None:
            return super().similar_items(item_idx, k, factors)
        import pandas as pd

        from ..data.checks import check_indices

        self._require_fit()
        k = check_k(k)
        check_indices(item_idx, 0, self.num_items, 1)
        idx = self.neighbours[int(item_idx), :k]
        sims = self.neighbour_sims[int(item_idx), :k]
        return pd.DataFrame({"item_idx": idx, "similarity": sims})
