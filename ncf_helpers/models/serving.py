"""Serving a two-tower model: item vectors once, one user-tower call and a matrix product per request (lesson 05).

A NeuralCF ("mlp") model has to run the network on every (user, candidate) pair: a request over the whole
catalogue is one batched call over ``num_items`` rows. A two-tower model's towers meet only in a dot product,
so the item tower runs once, offline, for the whole catalogue; a request is one user-tower call (one row)
plus ``[d] @ [d, num_items]`` and an ``argpartition``. That is why retrieval systems use two towers, and
why an approximate nearest-neighbour index (not needed at MovieLens size) can replace the matrix product.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import time  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402

from ..data.checks import check_indices, check_k  # noqa: E402
from .adapter import KerasRecommender, _sigmoid  # noqa: E402
from .builders import item_vectors, output_of, table_sizes  # noqa: E402


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest entries of each row, best first (ties by index, like a stable argsort)."""
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(scores, top, axis=1)
    order = np.lexsort((top, -vals), axis=1)
    return np.take_along_axis(top, order, axis=1)


class TwoTowerIndex:
    """Brute-force maximum-inner-product retrieval over precomputed item vectors. Lesson 05.

    ``TwoTowerIndex(model_or_recommender, split=None)`` runs the item tower once over the catalogue
    (``item_vectors [num_items, d]``) and compiles the user tower. ``query(user_idx, k)`` returns the top-``k``
    items and their scores, the same scores the model gives (for ``output="sigmoid_dense"`` the learned
    ``w * dot + b`` and sigmoid are applied, so a negative ``w`` reverses the order exactly as in the model).
    ``split`` (or ``seen=`` sorted keys ``user * num_items + item``) enables ``exclude_seen``.
    """

    def __init__(self, model, split=None):
        rec = model if isinstance(model, KerasRecommender) else None
        model = model.model if isinstance(model, KerasRecommender) else model
        if not isinstance(model, keras.Model) or model.name != "two_tower":
            raise ValueError("TwoTowerIndex needs a model built with interaction='two_tower' (or its KerasRecommender).")
        self.model = model
        self.num_users, self.num_items = table_sizes(model)
        start = time.perf_counter()
        self.item_vectors = item_vectors(model).astype(np.float32)  # [num_items, d]
        self.build_seconds = time.perf_counter() - start
        self.output = output_of(model)
        self._w, self._b = (1.0, 0.0)
        if self.output == "sigmoid_dense":
            w, b = model.get_layer("prediction").get_weights()
            self._w, self._b = float(w[0, 0]), float(b[0])
        names = {layer.name for layer in model.layers}
        emb = model.get_layer("user_embedding")
        feats = model.get_layer("user_features") if "user_features" in names else None
        tower = model.get_layer("user_tower") if "user_tower" in names else None

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
        def encode(users):
            x = emb(users)
            if feats is not None:
                x = tf.concat([x, feats(users)], axis=1)
            return tower(x, training=False) if tower is not None else x

        self._encode = encode
        self._seen = None
        if split is not None:
            self.remember_training(split)
        elif rec is not None and rec._seen_known:
            self._seen = rec._seen_keys

    def remember_training(self, split) -> "TwoTowerIndex":
        """Training interactions to skip with ``exclude_seen=True`` (a ``Split`` or a DataFrame)."""
        df = split.train if hasattr(split, "train") else split
        if "label" in df.columns:
            df = df[df["label"] == 1]
        u, i = check_indices(df["user_idx"].to_numpy(np.int64), df["item_idx"].to_numpy(np.int64),
                             self.num_users, self.num_items)
        self._seen = np.unique(u * self.num_items + i)
        return self

    def user_vectors(self, user_idx) -> np.ndarray:
        """The user tower's output ``[n, d]`` (one compiled call)."""
        u = np.atleast_1d(np.asarray(user_idx))
        u, _ = check_indices(u, np.zeros_like(u), self.num_users, self.num_items)
        return self._encode(tf.constant(u.astype(np.int32))).numpy()

    def scores(self, user_idx) -> np.ndarray:
        """Model scores of every item for each user: ``[n, num_items]`` (float32)."""
        s = self.user_vectors(user_idx) @ self.item_vectors.T
        if self.output == "sigmoid_dense":
            return _sigmoid(self._w * s + self._b)
        if self.output == "sigmoid":
            return _sigmoid(s)
        return s

    def query(self, user_idx, k: int = 10, exclude_seen: bool = False) -> pd.DataFrame | tuple:
        """Top-``k`` items for one user (``user_idx`` an int) or several (an array).

        One user: a DataFrame ``rank, item_idx, score`` (best first). Several users: ``(items, scores)``, int
        and float arrays ``[n, k]``. ``exclude_seen`` drops the user's training items (needs ``split``).
        """
        k = check_k(k)
        scalar = np.ndim(user_idx) == 0
        users = np.atleast_1d(np.asarray(user_idx))
        users, _ = check_indices(users, np.zeros_like(users), self.num_users, self.num_items)
        s = self.scores(users)
        if exclude_seen:
            if self._seen is None:
                raise ValueError("exclude_seen=True needs the training interactions: TwoTowerIndex(model, split=split).")
            lo = np.searchsorted(self._seen, users * self.num_items)
            hi = np.searchsorted(self._seen, (users + 1) * self.num_items)
            for row in range(len(users)):  # a handful of users per request
                s[row, self._seen[lo[row]:hi[row]] - users[row] * self.num_items] = -np.inf
        top = _top_k(s, k)
        vals = np.take_along_axis(s, top, axis=1)
        if scalar:
            return pd.DataFrame({"rank": np.arange(1, top.shape[1] + 1), "item_idx": top[0], "score": vals[0]})
        return top, vals


def _latency(fn, users, repeats: int) -> np.ndarray:
    fn(int(users[0]))  # warm-up (tracing)
    times = []
    for r in range(repeats):
        u = int(users[r % len(users)])
        t0 = time.perf_counter()
        fn(u)
        times.append(time.perf_counter() - t0)
    return np.array(times) * 1000.0


def serving_cost(scorer, index: TwoTowerIndex, users=None, k: int = 10, repeats: int = 50) -> pd.DataFrame:
    """Per-request cost of top-``k`` over the whole catalogue: a pairwise scorer vs a two-tower index. Lesson 05.

    ``scorer`` is a :class:`KerasRecommender` that must score every (user, item) pair (e.g. NeuralCF "mlp"): a
    request is one batched network call over ``num_items`` rows, then ``argpartition``. ``index`` is a
    :class:`TwoTowerIndex`: one user-tower call (one row) plus a matrix product. ``users`` (default 0..49) are
    queried in turn ``repeats`` times each way after a warm-up call.

    Returns a DataFrame indexed by model with ``network calls / request``, ``rows through a network /
    request``, ``multiply-adds / request`` (matrix product only), ``median ms``, ``p95 ms``, ``requests/s``, and
    ``precomputed`` (what was computed once, offline).
    """
    k = check_k(k)
    repeats = check_k(repeats, "repeats")
    if not isinstance(scorer, KerasRecommender):
        raise ValueError("scorer must be a KerasRecommender (e.g. fit_model(split, 'mlp')[0]).")
    users = np.arange(min(50, index.num_users)) if users is None else np.atleast_1d(np.asarray(users, dtype=np.int64))
    n = scorer.num_items

    def pairwise(u):
        s = scorer._predict(np.full(n, u, dtype=np.int64), np.arange(n, dtype=np.int64))
        return np.argpartition(-s, k - 1)[:k]

    def two_tower(u):
        return index.query(u, k)

    rows = []
    for label, fn, calls, net_rows, madds, pre in (
        (f"{scorer.name} (score every item)", pairwise, 1, n, 0, "nothing"),
        ("two_tower (index)", two_tower, 1, 1, index.item_vectors.size,
         f"{index.item_vectors.shape[0]:,} item vectors x {index.item_vectors.shape[1]} in {index.build_seconds:.3f}s"),
    ):
        ms = _latency(fn, users, repeats)
        rows.append({
            "model": label,
            "network calls / request": calls,
            "rows through a network / request": net_rows,
            "multiply-adds / request": madds,
            "median ms": float(np.median(ms)),
            "p95 ms": float(np.percentile(ms, 95)),
            "requests/s": float(1000.0 / np.mean(ms)),
            "precomputed": pre,
        })
    return pd.DataFrame(rows).set_index("model")
