"""The two floors every recommender must clear (lesson 02): most popular items, and random scores."""

from __future__ import annotations

import numpy as np

from ..common import whole_number
from .base import Recommender

__all__ = ["Popularity", "RandomRecommender"]


class Popularity(Recommender):
    """Recommend what most users interacted with (lesson 02's baseline, "TopPop" in the literature).

    ``score(u, i)`` = number of training interactions of item ``i`` (float, the same for every user), so the
    ranking is one list for everybody minus what each user has already seen.
    """

    name = "Popularity"

    def __init__(self, *, num_users: int | None = None, num_items: int | None = None):
        super().__init__(num_users, num_items)
        self.counts = np.zeros(0)

    def _fit(self, user_idx, item_idx, rating):
        # One count per (user, item) pair, even if a training table repeats a pair: the fit has already kept
        # the distinct keys (sorted user_idx * num_items + item_idx), so this is one bincount.
        keys = self._seen_keys
        self.counts = np.bincount(keys % self.num_items, minlength=self.num_items).astype(np.float64)

    def _score(self, user_idx, item_idx):
        return self.counts[item_idx]

    def _score_all(self, user_idx):
        return np.broadcast_to(self.counts, (len(user_idx), self.num_items)).copy()


def _hash_uniform(keys: np.ndarray, seed: int) -> np.ndarray:
    """A fixed pseudo-random float in ``[0, 1)`` per int key (splitmix64 finaliser), vectorized."""
    with np.errstate(over="ignore"):
        z = keys.astype(np.uint64) + np.uint64(seed % (1 << 63)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


class RandomRecommender(Recommender):
    """Random scores: the floor (lesson 02). With 99 sampled negatives its HR@10 is about 10/100.

    ``score(u, i)`` is a fixed pseudo-random number in ``[0, 1)`` per (user, item, seed), so ``score`` and
    ``score_all`` agree, repeated calls agree, and nothing of size ``[num_users, num_items]`` is stored.
    """

    name = "Random"

    def __init__(self, seed: int = 0, *, num_users: int | None = None, num_items: int | None = None):
        super().__init__(num_users, num_items)
        self.seed = whole_number(seed, "seed", minimum=0)

    def _fit(self, user_idx, item_idx, rating):
        pass

    def _score(self, user_idx, item_idx):
        return _hash_uniform(user_idx * self.num_items + item_idx, self.seed)

    def _score_all(self, user_idx):
        keys = user_idx[:, None] * self.num_items + np.arange(self.num_items, dtype=np.int64)[None, :]
        return _hash_uniform(keys, self.seed)
