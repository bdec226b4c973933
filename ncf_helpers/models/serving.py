"""Serving a two-tower model: item vectors once, one user-tower call and a matrix product per request (lesson 05).

A NeuralCF ("mlp") model has to run the network on every (user, candidate) pair: a request over the whole
catalogue is one batched call over ``num_items`` rows. A two-tower model's towers meet only in a dot product,
so the item tower runs once, offline, for the whole catalogue; a request is one user-tower call (one row)
plus ``[d] @ [d, num_items]`` and an ``argpartition``. That is why retrieval systems use two towers, and
why an approximate nearest-neighbour index (not needed at MovieLens size) can replace the matrix product.

Lesson 07 adds that index: :class:`VectorIndex` answers "the ``k`` largest ``q . v``" by brute force
(``backend="exact"``, the reference) or with faiss (``"faiss-flat"``, ``"faiss-ivf"``, ``"faiss-ivfpq"``,
``"faiss-hnsw"``), and ``TwoTowerIndex(model, backend=...)`` uses it behind the same ``query`` interface.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from ..common import top_k
from ..data.checks import check_indices, check_k
from ..data.splits import positives
from .adapter import KerasRecommender
from .builders import interaction_of, item_vectors, output_of, table_sizes
from .scoring import _sigmoid

__all__ = ["BACKENDS", "TwoTowerIndex", "VectorIndex", "inner_product_form", "serving_cost"]

BACKENDS = ("exact", "faiss-flat", "faiss-ivf", "faiss-ivfpq", "faiss-hnsw")
"""The values :class:`VectorIndex` (and ``TwoTowerIndex(backend=...)``) accept."""


def _faiss():
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - faiss-cpu is a dependency of the course
        raise ImportError("The faiss backends need faiss-cpu: run `make venv` (it is in pyproject.toml).") from exc
    return faiss


class VectorIndex:
    """Maximum-inner-product search over ``vectors [num_items, d]``: exact, or approximate with faiss. Lesson 07.

    ``search(queries [n, d], k)`` returns ``(items [n, k] int64, scores [n, k] float32)``, best first; the
    scores are always the exact ``q . v`` of the returned items (so ranks agree with brute force whenever the
    same items are found). Backends (:data:`BACKENDS`):

    * ``"exact"`` - ``queries @ vectors.T`` and a partial sort: the reference, ``4 d`` bytes per item.
    * ``"faiss-flat"`` - faiss's exhaustive ``IndexFlatIP`` (same result, faiss's BLAS kernels).
    * ``"faiss-ivf"`` - ``IndexIVFFlat`` (inner product): k-means into ``nlist`` cells; a query scans the
      ``nprobe`` cells whose centroids score highest. ``nprobe == nlist`` is exhaustive.
    * ``"faiss-ivfpq"`` - the same cells, vectors compressed by product quantisation to ``pq_m`` bytes each
      (``pq_m`` sub-vectors of 8 bits; fewer bits below 9,984 items, which 256 codes need to train); candidates are re-scored exactly with the stored float vectors
      (``rerank``; the bytes/item reported count only the compressed codes, what a service keeps in memory).
    * ``"faiss-hnsw"`` - ``IndexHNSWFlat`` with the inner product, a graph with ``hnsw_m`` links per node,
      searched with a beam of ``ef_search`` candidates. (The textbook alternative, turning the inner product
      into a Euclidean distance with one extra coordinate ``sqrt(max_norm^2 - |v|^2)``, Bachrach et al. 2014,
      found 0.45 of the exact top-10 at ``ef_search=128`` on 20,000 random vectors where the inner-product
      graph found 0.998, so it is not used.)

    ``build_seconds`` and ``bytes_per_item`` (index memory / num_items) describe the build.
    """

    def __init__(
        self,
        vectors,
        backend: str = "exact",
        *,
        nlist: int | None = None,
        nprobe: int = 8,
        pq_m: int = 8,
        hnsw_m: int = 16,
        ef_construction: int = 80,
        ef_search: int = 64,
        train_size: int = 50_000,
        rerank: bool = True,
        seed: int = 0,
    ):
        if backend not in BACKENDS:
            raise ValueError(f"Unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}.")
        vecs = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
        if vecs.ndim != 2 or vecs.shape[0] == 0 or vecs.shape[1] == 0:
            raise ValueError(f"vectors must be a non-empty 2-D array [num_items, d], got shape {vecs.shape}.")
        if not np.all(np.isfinite(vecs)):
            raise ValueError("vectors contain NaN or infinite values; check the item tower's training.")
        self.vectors = vecs
        self.backend = backend
        self.num_items, self.dim = vecs.shape
        self.rerank = bool(rerank)
        start = time.perf_counter()
        self._index = None
        n, d = vecs.shape
        if backend == "exact":
            self.bytes_per_item = 4.0 * d
        else:
            faiss = _faiss()
            if backend == "faiss-flat":
                index = faiss.IndexFlatIP(d)
                index.add(vecs)
                self.bytes_per_item = 4.0 * d
            elif backend in ("faiss-ivf", "faiss-ivfpq"):
                # faiss's guideline 4 sqrt(n) cells, but at least 39 training points per cell (else k-means warns)
                nlist = int(nlist or max(1, min(4096, int(4 * np.sqrt(n)), n // 39)))
                if not 1 <= nlist <= n:
                    raise ValueError(f"nlist must be between 1 and the {n} items, got {nlist}.")
                quantizer = faiss.IndexFlatIP(d)
                if backend == "faiss-ivf":
                    index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
                    code = 4.0 * d
                else:
                    if d % int(pq_m):
                        raise ValueError(f"pq_m={pq_m} must divide the vector width d={d}.")
                    nbits = int(min(8, max(1, np.floor(np.log2(max(2, n // 39))))))  # 256 codes need 9,984 points
                    index = faiss.IndexIVFPQ(quantizer, d, nlist, int(pq_m), nbits, faiss.METRIC_INNER_PRODUCT)
                    code = int(pq_m) * nbits / 8.0
                rng = np.random.default_rng(seed)
                train_size = max(int(train_size), 40 * nlist)  # faiss wants >= 39 points per centroid
                sample = vecs if n <= train_size else vecs[rng.choice(n, train_size, replace=False)]
                index.cp.seed = int(seed)
                index.train(sample)
                index.add(vecs)
                index.nprobe = min(int(nprobe), nlist)
                # codes + ids in the inverted lists, plus the centroids shared by all items
                self.bytes_per_item = code + 8.0 + 4.0 * d * nlist / n
                self.nlist = nlist
            else:  # faiss-hnsw, inner product
                index = faiss.IndexHNSWFlat(d, int(hnsw_m), faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efConstruction = int(ef_construction)
                index.add(vecs)
                index.hnsw.efSearch = int(ef_search)
                # float vector + about 2 M links of 4 bytes on level 0 (upper levels add ~1/M of that)
                self.bytes_per_item = 4.0 * d + 4.0 * 2 * int(hnsw_m) * (1 + 1 / int(hnsw_m))
            self._index = index
        self.build_seconds = time.perf_counter() - start

    def set(self, *, nprobe: int | None = None, ef_search: int | None = None) -> VectorIndex:
        """Change the search-time setting (IVF ``nprobe``, HNSW ``ef_search``) without rebuilding."""
        if nprobe is not None and self.backend in ("faiss-ivf", "faiss-ivfpq"):
            self._index.nprobe = int(nprobe)
        if ef_search is not None and self.backend == "faiss-hnsw":
            self._index.hnsw.efSearch = int(ef_search)
        return self

    def search(self, queries, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items ``[n, k]`` and their exact scores ``[n, k]`` for ``queries [n, d]``, best first.
        Rows where an approximate index found fewer than ``k`` items are padded with item ``-1``, score ``-inf``."""
        k = check_k(k)
        q = np.ascontiguousarray(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
        if q.shape[1] != self.dim:
            raise ValueError(f"queries must have width d={self.dim}, got shape {q.shape}.")
        k = min(k, self.num_items)
        if self.backend == "exact":
            s = q @ self.vectors.T
            top = top_k(s, k)
            return top.astype(np.int64), np.take_along_axis(s, top, axis=1)
        _, found = self._index.search(q, k)
        found = found.astype(np.int64)
        ok = found >= 0
        scores = np.where(ok, np.einsum("nd,nkd->nk", q, self.vectors[np.where(ok, found, 0)]), -np.inf)
        order = np.lexsort((found, -scores), axis=1)  # exact scores, best first; ties: the lower index first
        return np.take_along_axis(found, order, axis=1), np.take_along_axis(scores, order, axis=1).astype(np.float32)


class TwoTowerIndex:
    """Brute-force maximum-inner-product retrieval over precomputed item vectors. Lesson 05.

    ``TwoTowerIndex(model_or_recommender, split=None)`` runs the item tower once over the catalogue
    (``item_vectors [num_items, d]``) and compiles the user tower. ``query(user_idx, k)`` returns the top-``k``
    items and their scores, the same scores the model gives (for ``output="sigmoid_dense"`` the learned
    ``w * dot + b`` and sigmoid are applied, so a negative ``w`` reverses the order exactly as in the model).
    ``split`` (or ``seen=`` sorted keys ``user * num_items + item``) enables ``exclude_seen``.

    ``backend`` (lesson 07): ``"exact"`` (default, the brute-force product) or one of the faiss indexes of
    :class:`VectorIndex` (``**index_options`` such as ``nprobe=``, ``ef_search=`` go to it). An approximate
    backend answers ``query`` from the index: the items it finds, scored exactly by the model.
    """

    def __init__(self, model, split=None, backend: str = "exact", **index_options):
        rec = model if isinstance(model, KerasRecommender) else None
        model = model.model if isinstance(model, KerasRecommender) else model
        if not isinstance(model, keras.Model) or model.name != "two_tower":
            raise ValueError(
                "TwoTowerIndex needs a model built with interaction='two_tower' (or its KerasRecommender)."
            )
        self.model = model
        self.num_users, self.num_items = table_sizes(model)
        start = time.perf_counter()
        self.item_vectors = item_vectors(model).astype(np.float32)  # [num_items, d]
        self.backend = backend
        self.ann = None if backend == "exact" else VectorIndex(self.item_vectors, backend, **index_options)
        if backend not in BACKENDS:
            raise ValueError(f"Unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}.")
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

    def remember_training(self, split) -> TwoTowerIndex:
        """Training interactions to skip with ``exclude_seen=True`` (a ``Split`` or a DataFrame)."""
        df = split.train if hasattr(split, "train") else split
        df = positives(df)
        u, i = check_indices(
            df["user_idx"].to_numpy(np.int64), df["item_idx"].to_numpy(np.int64), self.num_users, self.num_items
        )
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
        if self.ann is not None:
            return self._query_ann(users, k, exclude_seen, scalar)
        s = self.scores(users)
        if exclude_seen:
            if self._seen is None:
                raise ValueError(
                    "exclude_seen=True needs the training interactions: TwoTowerIndex(model, split=split)."
                )
            lo = np.searchsorted(self._seen, users * self.num_items)
            hi = np.searchsorted(self._seen, (users + 1) * self.num_items)
            for row in range(len(users)):  # a handful of users per request
                s[row, self._seen[lo[row] : hi[row]] - users[row] * self.num_items] = -np.inf
        top = top_k(s, k)
        vals = np.take_along_axis(s, top, axis=1)
        if scalar:
            return pd.DataFrame({"rank": np.arange(1, top.shape[1] + 1), "item_idx": top[0], "score": vals[0]})
        return top, vals

    def _query_ann(self, users, k, exclude_seen, scalar):
        if self.output == "sigmoid_dense" and self._w < 0:
            raise ValueError(
                "This model's Dense weight w is negative: it ranks by the SMALLEST dot products, which "
                "a maximum-inner-product index cannot serve (lesson 05). Use backend='exact'."
            )
        extra = 0
        if exclude_seen:
            if self._seen is None:
                raise ValueError(
                    "exclude_seen=True needs the training interactions: TwoTowerIndex(model, split=split)."
                )
            lo = np.searchsorted(self._seen, users * self.num_items)
            hi = np.searchsorted(self._seen, (users + 1) * self.num_items)
            extra = int((hi - lo).max())
        found, dots = self.ann.search(self.user_vectors(users), k + extra)
        top = np.full((len(users), k), -1, np.int64)
        vals = np.full((len(users), k), -np.inf, np.float32)
        for row in range(len(users)):
            keep = found[row] >= 0
            if exclude_seen:
                seen = self._seen[lo[row] : hi[row]] - users[row] * self.num_items
                keep &= ~np.isin(found[row], seen)
            f, d = found[row][keep][:k], dots[row][keep][:k]
            top[row, : len(f)], vals[row, : len(f)] = f, d
        if self.output == "sigmoid_dense":
            vals = _sigmoid(self._w * vals + self._b)
        elif self.output == "sigmoid":
            vals = _sigmoid(vals)
        if scalar:
            return pd.DataFrame({"rank": np.arange(1, k + 1), "item_idx": top[0], "score": vals[0]})
        return top, vals


def inner_product_form(rec) -> tuple[np.ndarray, np.ndarray] | None:
    """User and item vectors whose inner product *equals* the model's logit, or ``None`` if there are none.

    * ``"dot"`` with biases: ``[p_u, 1, b_u] . [q_i, b_i, 1] = p_u . q_i + b_i + b_u``;
    * ``"gmf"``: ``[p_u * h, b] . [q_i, 1] = h . (p_u * q_i) + b`` (the learned weights ``h`` fold into the
      user side, so a nearest-neighbour index over item vectors still serves it);
    * ``"two_tower"`` with a logit output: the tower outputs;
    * ``"mlp"``, ``"neumf"``: ``None`` - the network mixes the two embeddings non-linearly.

    ``rec``: a fitted :class:`~ncf_helpers.models.KerasRecommender`. Returns ``(users [num_users, d'], items
    [num_items, d'])``, float64. The one serving path of the course: the interaction explorer's ``serving_vectors``
    and lesson 04's "same vector space?" figures use it. Lessons 04-05.
    """
    model = rec.model
    it = interaction_of(model)
    P = np.asarray(rec.user_factors, dtype=np.float64)
    Q = np.asarray(rec.item_factors, dtype=np.float64)
    if it == "dot":
        names = {layer.name for layer in model.layers}
        if "user_bias" not in names:
            return P, Q
        bu = model.get_layer("user_bias").get_weights()[0].astype(np.float64)
        bi = model.get_layer("item_bias").get_weights()[0].astype(np.float64)
        return (np.hstack([P, np.ones((len(P), 1)), bu]), np.hstack([Q, bi, np.ones((len(Q), 1))]))
    if it == "gmf":
        h, b = model.get_layer("prediction").get_weights()
        return (np.hstack([P * h[:, 0], np.full((len(P), 1), float(b[0]))]), np.hstack([Q, np.ones((len(Q), 1))]))
    if it == "two_tower" and output_of(model) == "logit":
        return P, Q
    return None


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
        return top_k(s, k)

    def two_tower(u):
        return index.query(u, k)

    rows = []
    for label, fn, calls, net_rows, madds, pre in (
        (f"{scorer.name} (score every item)", pairwise, 1, n, 0, "nothing"),
        (
            "two_tower (index)",
            two_tower,
            1,
            1,
            index.item_vectors.size,
            f"{index.item_vectors.shape[0]:,} item vectors x {index.item_vectors.shape[1]} in {index.build_seconds:.3f}s",
        ),
    ):
        ms = _latency(fn, users, repeats)
        rows.append(
            {
                "model": label,
                "network calls / request": calls,
                "rows through a network / request": net_rows,
                "multiply-adds / request": madds,
                "median ms": float(np.median(ms)),
                "p95 ms": float(np.percentile(ms, 95)),
                "requests/s": float(1000.0 / np.mean(ms)),
                "precomputed": pre,
            }
        )
    return pd.DataFrame(rows).set_index("model")
