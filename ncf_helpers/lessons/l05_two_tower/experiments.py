"""Lesson 05: the two-tower model's promises and limits, each as a small runnable experiment.

* Serving cost - :func:`catalogue_scaling`: milliseconds per request as the catalogue grows, for a scorer that
  runs the network on every (user, item) pair (NeuralCF "mlp") and for a two-tower index (item vectors
  computed once; a request is one user vector and a matrix product). The single-catalogue numbers come from
  :func:`ncf_helpers.models.serving_cost`.
* The original course's ``Dense(1, sigmoid)`` after the dot product - :func:`score_pairs` (dot product vs the model's
  output for a sample of pairs) and :func:`index_vs_model`: a nearest-neighbour index returns the LARGEST dot
  products; if the learned weight ``w`` is negative the model ranks the other way round, and the index
  returns the worst items. :func:`original_two_tower` builds that model and :func:`sigmoid_dense_seeds` trains
  it for several seeds (the sign of ``w`` and whether the model learns).
* Side features - :func:`cold_start_neighbours` (a brand-new film placed by its genres alone),
  :func:`neighbour_genre_overlap` (do an item's neighbours share its genres?), :func:`fresh_item_hits`
  (HR@10 on the test items nobody liked in training: an ID-only tower cannot know them).
* Context - :func:`context_cache_size` (one cached vector per user x context value explodes),
  :func:`query_latency` (a request-time query tower costs a network call per request) and
  :func:`context_ranking` (where context goes instead: a small ranking stage over a short candidate list;
  here a logistic regression that knows the film's age at the time of the request).

Every function is deterministic by ``seed`` (timings aside) and returns plain numbers or DataFrames that
:mod:`ncf_helpers.lessons.l05_two_tower.plots` draws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ncf_helpers.common import latency_ms, set_seed, top_k
from ncf_helpers.lessons.l04_neuralcf.experiments import neighbour_genre_overlap  # defined in lesson 04
from ncf_helpers.similarity import nearest_by_cosine

__all__ = [
    "CONTEXT_FEATURES",
    "ContextRanker",
    "catalogue_scaling",
    "cold_start_neighbours",
    "context_cache_size",
    "context_features",
    "context_ranking",
    "fresh_item_hits",
    "index_vs_model",
    "neighbour_genre_overlap",
    "original_two_tower",
    "query_latency",
    "release_years",
    "request_years",
    "score_pairs",
    "sigmoid_dense_seeds",
]


# ---------------------------------------------------------------------------------------------- helpers
def _keras_model(model):
    """The Keras model inside a KerasRecommender (or the model itself)."""
    inner = getattr(model, "model", None)
    return inner if inner is not None else model


def _sampled_rows(split, which: str = "test"):
    rows = split.test if which == "test" else split.valid
    negatives = split.test_negatives if which == "test" else split.valid_negatives
    if rows is None or len(rows) == 0 or negatives is None:
        raise ValueError(
            f"The split needs {which} rows with sampled negatives: leave_last_one_out(ds, num_negatives=99"
            + (", validation=True)." if which == "valid" else ").")
        )
    users = rows["user_idx"].to_numpy(np.int64)
    cand = np.concatenate([rows["item_idx"].to_numpy(np.int64)[:, None], negatives], axis=1)
    return rows, users, cand


def _metrics(scores: np.ndarray, k: int) -> dict:
    """HR@k and NDCG@k with the held-out item in column 0 of ``scores [n, 1 + negatives]`` (ties: expected rank)."""
    from ncf_helpers.evaluate import metrics_from_counts

    g = (scores[:, 1:] > scores[:, :1]).sum(axis=1)
    e = (scores[:, 1:] == scores[:, :1]).sum(axis=1)
    per = metrics_from_counts(g, e, scores.shape[1], k)
    return {f"hr@{k}": float(per["hr"].mean()), f"ndcg@{k}": float(per["ndcg"].mean())}


def _dot_all(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``vectors [n, d] @ query [d]`` with numpy's own single-threaded loop (``einsum``), not multi-threaded
    BLAS: right after a TensorFlow call, TensorFlow's worker threads still hold the CPU cores and a threaded
    BLAS call waits for them (measured: ~7 ms instead of ~0.5 ms for 9,742 x 32 on 2 cores)."""
    return np.einsum("nd,d->n", vectors, query)


# ---------------------------------------------------------------------------------------------- serving
def catalogue_scaling(
    scorer, index, sizes=(1_000, 10_000, 100_000), *, repeats: int = 10, k: int = 10, user_idx: int = 0, seed: int = 0
) -> pd.DataFrame:
    """Milliseconds per top-``k`` request as the catalogue grows to ``sizes`` items. Lesson 05.

    ``scorer``: a fitted pairwise model (a ``KerasRecommender`` of NeuralCF, ``"mlp"``): a request scores
    ``n`` (user, item) rows through the network. ``index``: a :class:`ncf_helpers.models.TwoTowerIndex`: a
    request is one user-tower call plus ``[d] @ [d, n]``. Catalogues larger than the real one reuse its items
    (the cost of scoring does not depend on which items they are). Returns a DataFrame ``method, num_items,
    median ms, best ms, rows through a network`` (one row per method and size). ``best ms`` (the fastest of
    ``repeats`` requests) is what the machine can do; the median also includes interference from other work.
    """
    sizes = [int(n) for n in sizes]
    if not sizes or min(sizes) < k:
        raise ValueError(f"sizes must be catalogue sizes of at least k={k} items, got {sizes}.")
    repeats = int(repeats)
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}.")
    rng = np.random.default_rng(seed)
    base = index.item_vectors
    rows = []
    for n in sizes:
        items = rng.integers(0, scorer.num_items, n)
        users = np.full(n, int(user_idx), dtype=np.int64)
        vecs = base[rng.integers(0, base.shape[0], n)]

        def pairwise(_r, users=users, items=items):
            return top_k(scorer.score(users, items), k)

        def two_tower(_r, vecs=vecs):
            return top_k(_dot_all(vecs, index.user_vectors([int(user_idx)])[0]), k)

        times = latency_ms({"score every pair (MLP)": pairwise, "two-tower index": two_tower}, repeats)
        for method, net_rows in (("score every pair (MLP)", n), ("two-tower index", 1)):
            ms = times[method]
            rows.append(
                {
                    "method": method,
                    "num_items": n,
                    "median ms": float(np.median(ms)),
                    "best ms": float(ms.min()),
                    "rows through a network": net_rows,
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------- sigmoid Dense
def _dense_weights(model) -> tuple[float, float]:
    from ncf_helpers.models.builders import output_of

    keras_model = _keras_model(model)
    if getattr(keras_model, "name", None) != "two_tower":
        raise ValueError("This experiment needs a two-tower model (build_model(..., 'two_tower')).")
    if output_of(keras_model) != "sigmoid_dense":
        return 1.0, 0.0  # a plain dot product: as if w = 1, b = 0
    w, b = keras_model.get_layer("prediction").get_weights()
    return float(w[0, 0]), float(b[0])


def score_pairs(model, split, n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """For ``n`` random (test user, candidate) pairs: the towers' dot product and the model's output. Lesson 05.

    Returns a DataFrame ``user_idx, item_idx, dot, score, held_out`` (``held_out``: the pair is a user's test
    item). For ``output="sigmoid_dense"`` ``score = sigmoid(w * dot + b)``, a probability in ``[0, 1]``; for
    ``"logit"`` it equals ``dot``.
    """
    from ncf_helpers.models.builders import item_vectors, user_vectors

    _, users, cand = _sampled_rows(split)
    rng = np.random.default_rng(seed)
    r = rng.integers(0, len(users), n)
    c = rng.integers(0, cand.shape[1], n)
    u, i = users[r], cand[r, c]
    keras_model = _keras_model(model)
    dot = np.einsum("nd,nd->n", user_vectors(keras_model, u), item_vectors(keras_model, i))
    score = np.asarray(model.score(u, i), dtype=np.float64) if hasattr(model, "score") else None
    if score is None:
        raise ValueError("score_pairs needs a fitted KerasRecommender (it calls model.score).")
    return pd.DataFrame({"user_idx": u, "item_idx": i, "dot": dot, "score": score, "held_out": c == 0})


def original_two_tower(
    num_users: int,
    num_items: int,
    *,
    embedding_dim: int = 10,
    hidden=(10, 10),
    learning_rate: float = 3e-3,
    seed: int = 0,
):
    """The original course's ``neural_cf_model_2``, as lesson 05's section 1 builds it: an ID embedding and a
    tower of ``Dense(h, relu)`` layers per side, a ``Dot`` layer, then ``Dense(1, sigmoid)``; compiled with Adam
    and binary cross-entropy. ``keras.utils.set_random_seed(seed)`` first, so the initial weights (and the sign
    of the last layer's weight ``w``) depend on ``seed`` only. Returns a ``keras.Model`` named ``"two_tower"``.
    """
    import keras
    from keras import layers

    set_seed(seed)
    user = keras.Input(shape=(), dtype="int32", name="user_idx")
    item = keras.Input(shape=(), dtype="int32", name="item_idx")
    user_tower = keras.Sequential([layers.Dense(h, activation="relu") for h in hidden], name="user_tower")
    item_tower = keras.Sequential([layers.Dense(h, activation="relu") for h in hidden], name="item_tower")
    u = user_tower(layers.Embedding(num_users, embedding_dim, name="user_embedding")(user))
    v = item_tower(layers.Embedding(num_items, embedding_dim, name="item_embedding")(item))
    dot = layers.Dot(axes=1, name="dot")([u, v])
    output = layers.Dense(1, activation="sigmoid", name="prediction")(dot)
    model = keras.Model({"user_idx": user, "item_idx": item}, output, name="two_tower")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy")
    return model


def sigmoid_dense_seeds(split, seeds=(0, 1, 2, 3, 4, 5, 6, 7), epochs: int = 2, **build) -> pd.DataFrame:
    """Lesson 05's claim about the original course's ``Dense(1, sigmoid)``, over several seeds: for each seed,
    :func:`original_two_tower` (``build`` passes its options) is trained for ``epochs`` with the course's
    ``train`` loop and scored by the shared protocol (test item, sampled negatives).

    Returns a DataFrame ``seed, w_start, w_end, hr@10``: the last layer's weight ``w`` before and after training,
    and HR@10 of the model's own output. (About 1.5 s per seed and epoch on ml-latest-small on 2 idle cores,
    too slow for the lesson itself; tests/test_lessons_05_06.py runs it.)
    """
    from ncf_helpers.evaluate import evaluate
    from ncf_helpers.models import KerasRecommender, train

    rows = []
    for seed in seeds:
        model = original_two_tower(split.num_users, split.num_items, seed=int(seed), **build)
        w_start = float(model.get_layer("prediction").get_weights()[0][0, 0])
        train(model, split, epochs=epochs, seed=int(seed), verbose=0, eval_metrics=False, jit_compile=False)
        rows.append(
            {
                "seed": int(seed),
                "w_start": w_start,
                "w_end": float(model.get_layer("prediction").get_weights()[0][0, 0]),
                "hr@10": evaluate(KerasRecommender(model), split).hr,
            }
        )
    return pd.DataFrame(rows)


def index_vs_model(model, split, k: int = 10) -> pd.DataFrame:
    """HR@k and NDCG@k of a two-tower model ranked three ways on the test candidates (1 + sampled negatives):

    * ``"model output"`` - what the model predicts (``sigmoid(w * u.v + b)`` for ``sigmoid_dense``);
    * ``"index: largest u.v"`` - what a nearest-neighbour (maximum inner product) index returns: the largest
      dot products, whatever Dense layer follows;
    * ``"index: largest (w u).v"`` - the fix: fold the learned weight into the user vector before querying.

    Returns a DataFrame indexed by ranking, with ``hr@k``, ``ndcg@k``, and ``w`` / ``b`` (the Dense weight and
    bias; 1 and 0 for a logit model). With ``w > 0`` all three agree; with ``w < 0`` the raw index is reversed.
    Lesson 05.
    """
    from ncf_helpers.models.builders import item_vectors, user_vectors

    w, b = _dense_weights(model)
    _, users, cand = _sampled_rows(split)
    keras_model = _keras_model(model)
    u = user_vectors(keras_model, users)
    v = item_vectors(keras_model)
    dot = np.einsum("nd,ncd->nc", u, v[cand])
    output = np.asarray(model.score(np.repeat(users, cand.shape[1]), cand.reshape(-1)), dtype=np.float64).reshape(
        cand.shape
    )
    rows = {
        "model output": _metrics(output, k),
        "index: largest u.v": _metrics(dot, k),
        "index: largest (w u).v": _metrics(w * dot, k),
    }
    out = pd.DataFrame(rows).T
    out.index.name = "ranking"
    out["w"], out["b"] = w, b
    return out


# ---------------------------------------------------------------------------------------------- side features
def _known_items(split) -> np.ndarray:
    return np.unique(split.train_positives()["item_idx"].to_numpy(np.int64))


def cold_start_neighbours(
    model, dataset, split, *, item_idx: int | None = None, genres=None, k: int = 10
) -> pd.DataFrame:
    """The ``k`` films closest to a brand-new film that the model knows only by its genres. Lesson 05.

    ``model``: a two-tower model (or KerasRecommender) built with ``item_features=dataset.genre_matrix()``.
    The new film is either an existing ``item_idx`` treated as unseen (its ID embedding is ignored) or a list of
    ``genres`` (names from ``dataset.genres``). Its vector comes from the item tower fed the genres alone
    (:func:`ncf_helpers.models.builders.item_vectors` with ``features=``); neighbours are searched among the films with a
    training positive, by cosine similarity. Returns a DataFrame ``item_idx, title, genres, similarity,
    shared_genres`` (number of genres in common with the new film).
    """
    from ncf_helpers.models.builders import item_vectors

    names = dataset.genres
    gm = dataset.genre_matrix()
    if (item_idx is None) == (genres is None):
        raise ValueError("Pass exactly one of item_idx= (a film to treat as new) or genres= (a list of genre names).")
    if genres is not None:
        unknown = [g for g in genres if g not in names]
        if unknown or not len(genres):
            raise ValueError(
                f"genres must be a non-empty list of names from dataset.genres {names}; unknown: {unknown}."
            )
        row = np.isin(names, list(genres)).astype(np.float32)
    else:
        row = gm[int(item_idx)]
    keras_model = _keras_model(model)
    query = item_vectors(keras_model, features=row[None, :])
    vectors = item_vectors(keras_model)
    pool = _known_items(split)
    exclude = None if item_idx is None else np.array([int(item_idx)])
    top, sims = nearest_by_cosine(query, vectors, pool, k, exclude)
    top, sims = top[0], sims[0]
    return pd.DataFrame(
        {
            "item_idx": top,
            "title": dataset.title(top),
            "genres": [", ".join(g) for g in dataset.items["genres"].to_numpy()[top]],
            "similarity": sims,
            "shared_genres": (gm[top] * row[None, :]).sum(axis=1).astype(int),
        }
    )


def fresh_item_hits(models: dict, split, k: int = 10) -> pd.DataFrame:
    """HR@k / NDCG@k on the test rows whose item had no positive in training ("brand-new" films) and on the
    others, for each model in ``models`` (``{label: fitted model}``). Lesson 05.

    An ID-only tower has only ever pushed such an item down (as a sampled negative); a tower that also sees the
    genres can place it. Returns a DataFrame ``model, items, users, hr@k, ndcg@k`` (``items`` is
    ``"new in test"`` or ``"seen in training"``).
    """
    from ncf_helpers.evaluate import evaluate

    known = _known_items(split)
    rows = []
    for label, model in models.items():
        per = evaluate(model, split, k=k).per_user
        fresh = ~np.isin(per["item_idx"].to_numpy(np.int64), known)
        for name, mask in (("new in test", fresh), ("seen in training", ~fresh)):
            part = per[mask]
            rows.append(
                {
                    "model": label,
                    "items": name,
                    "users": int(mask.sum()),
                    f"hr@{k}": float(part["hr"].mean()) if len(part) else np.nan,
                    f"ndcg@{k}": float(part["ndcg"].mean()) if len(part) else np.nan,
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------- context
def context_cache_size(
    num_users: int, contexts: dict, embedding_dim: int = 32, bytes_per_value: int = 4
) -> pd.DataFrame:
    """How many user vectors a cache needs when each must already include the request's context. Lesson 05.

    ``contexts``: ``{name: number of values}`` (e.g. ``{"hour of day": 24, "weekday": 7, "device": 3}``), added
    one at a time. Returns a DataFrame ``context, combinations per user, vectors, bytes, size`` (``size`` human
    readable), starting with ``"user only"``: ``vectors = num_users x product of the context sizes``.
    """
    if int(num_users) < 1 or int(embedding_dim) < 1:
        raise ValueError(f"num_users and embedding_dim must be >= 1, got {num_users} and {embedding_dim}.")
    bad = {k: v for k, v in contexts.items() if not isinstance(v, (int, np.integer)) or v < 1}
    if bad:
        raise ValueError(f"Every context needs a whole number of values >= 1; got {bad}.")
    rows, combos, label = [], 1, "user only"
    steps = [("user only", 1)] + [(f"+ {name} ({n})", int(n)) for name, n in contexts.items()]
    for label, n in steps:
        combos *= n
        vectors = int(num_users) * combos
        size = vectors * int(embedding_dim) * int(bytes_per_value)
        rows.append(
            {
                "context": label,
                "combinations per user": combos,
                "vectors": vectors,
                "bytes": size,
                "size": _human_bytes(size),
            }
        )
    return pd.DataFrame(rows)


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB", "EB"):
        if n < 1000:
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000.0
    return f"{n:,.1f} ZB"


def query_latency(index, num_context: int = 34, *, repeats: int = 50, k: int = 10, seed: int = 0) -> pd.DataFrame:
    """Per-request cost of three ways to get the query vector, each followed by the same retrieval
    (``[d] @ [d, num_items]`` and a top-``k``). Lesson 05.

    * ``"cached user vector"`` - looked up in a table computed offline: no network call, but no context;
    * ``"user tower per request"`` - :class:`~ncf_helpers.models.TwoTowerIndex`'s compiled user tower;
    * ``"query tower with context"`` - a tower that also takes ``num_context`` request-time features (e.g.
      24 hours + 7 weekdays + 3 devices one-hot = 34): one network call per request. Its weights are random: the
      cost of a call does not depend on them.

    Returns a DataFrame ``query vector, network calls / request, median ms, best ms, p95 ms`` (``best``: the
    fastest of ``repeats`` requests, least disturbed by other work on the machine).
    """
    import keras
    import tensorflow as tf

    from ncf_helpers.models.builders import user_vectors

    rng = np.random.default_rng(seed)
    items = index.item_vectors
    d = items.shape[1]
    cached = user_vectors(index.model)  # [num_users, d], computed once
    users = rng.integers(0, index.num_users, repeats + 1)
    emb_dim = index.model.get_layer("user_embedding").output_dim
    set_seed(seed)
    u_in = keras.Input(shape=(), dtype="int32", name="user_idx")
    c_in = keras.Input(shape=(num_context,), dtype="float32", name="context")
    x = keras.layers.Embedding(index.num_users, emb_dim, name="user_embedding")(u_in)
    x = keras.layers.Concatenate()([x, c_in])
    x = keras.layers.Dense(max(d, 32), activation="relu")(x)
    q = keras.layers.Dense(d)(x)
    tower = keras.Model([u_in, c_in], q, name="query_tower")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, num_context], tf.float32)])
    def encode(u, c):
        return tower([u, c], training=False)

    context = np.zeros((1, num_context), np.float32)
    context[0, rng.integers(0, num_context)] = 1.0

    def from_cache(r):
        return top_k(_dot_all(items, cached[users[r]]), k)

    def user_tower(r):
        return top_k(_dot_all(items, index.user_vectors([int(users[r])])[0]), k)

    def query_tower(r):
        vec = encode(tf.constant([int(users[r])], tf.int32), tf.constant(context)).numpy()[0]
        return top_k(_dot_all(items, vec), k)

    calls = {"cached user vector": 0, "user tower per request": 1, "query tower with context": 1}
    times = latency_ms(
        {
            "cached user vector": from_cache,
            "user tower per request": user_tower,
            "query tower with context": query_tower,
        },
        repeats,
    )
    rows = []
    for label, ms in times.items():
        rows.append(
            {
                "query vector": label,
                "network calls / request": calls[label],
                "median ms": float(np.median(ms)),
                "best ms": float(ms.min()),
                "p95 ms": float(np.percentile(ms, 95)),
            }
        )
    return pd.DataFrame(rows)


def release_years(dataset) -> np.ndarray:
    """Release year of every film from the ``(1995)`` at the end of its title: float ``[num_items]``; films
    without one get the median year. Lesson 05's context example."""
    years = dataset.items["title"].str.extract(r"\((\d{4})\)\s*$")[0].astype(float).to_numpy()
    if np.all(np.isnan(years)):
        raise ValueError("No title ends in a (year): release years cannot be read from this data set.")
    return np.where(np.isnan(years), np.nanmedian(years), years)


def request_years(timestamps) -> np.ndarray:
    """Unix timestamps (seconds) -> fractional calendar years (``2017.5`` is about 1 July 2017)."""
    ts = np.asarray(timestamps, dtype=np.float64)
    return 1970.0 + ts / (365.2425 * 86400.0)


CONTEXT_FEATURES = ("retrieval score", "log popularity", "log film age at request", "not yet released")
"""Columns of :func:`context_features`; the first two need no context, the last two need the request's time."""


def context_features(
    scores: np.ndarray, cand: np.ndarray, timestamps, years: np.ndarray, popularity: np.ndarray
) -> np.ndarray:
    """Ranking features for candidate lists ``cand [n, c]`` of ``n`` requests made at ``timestamps [n]``.

    ``scores [n, c]``: the retrieval model's scores; ``years [num_items]``: release years; ``popularity
    [num_items]``: training interactions per item. Returns float ``[n, c, 4]`` with the columns of
    :data:`CONTEXT_FEATURES`: score, ``log(1 + popularity)``, ``log(1 + max(age, 0))`` with ``age`` = request
    year - release year, and ``1`` if the film came out more than half a year after the request. Lesson 05.
    """
    cand = np.asarray(cand, dtype=np.int64)
    age = request_years(timestamps)[:, None] - years[cand]
    return np.stack(
        [
            np.asarray(scores, dtype=np.float64),
            np.log1p(popularity[cand]),
            np.log1p(np.clip(age, 0.0, None)),
            (age < -0.5).astype(np.float64),
        ],
        axis=-1,
    )


class ContextRanker:
    """A logistic-regression ranking stage (lesson 05): ``P(liked) = sigmoid(w . standardised(x) + b)``.

    ``fit(X, y)`` with ``X [..., f]`` features (e.g. :func:`context_features`) and ``y`` 0/1 labels of the same
    leading shape; L2 penalty ``l2`` on ``w``; L-BFGS (scipy). ``score(X)`` returns the logits ``[...]``.
    ``coefficients()`` gives the weights by feature name (on standardised features, so they compare).
    """

    def __init__(self, columns=None, names=CONTEXT_FEATURES, l2: float = 1e-2):
        self.columns = None if columns is None else [int(c) for c in columns]
        self.names = tuple(names)
        self.l2 = float(l2)
        self.w = None

    def _design(self, X):
        X = np.asarray(X, dtype=np.float64)
        flat = X.reshape(-1, X.shape[-1])
        return flat[:, self.columns] if self.columns is not None else flat

    def fit(self, X, y) -> ContextRanker:
        from scipy.optimize import minimize

        Z = self._design(X)
        t = np.asarray(y, dtype=np.float64).reshape(-1)
        if len(t) != len(Z) or not np.isin(t, (0.0, 1.0)).all() or t.min() == t.max():
            raise ValueError("y must hold 0/1 labels, both present, one per feature row.")
        self.mean, self.std = Z.mean(axis=0), Z.std(axis=0) + 1e-9
        Z = np.c_[(Z - self.mean) / self.std, np.ones(len(Z))]
        reg = np.r_[np.full(Z.shape[1] - 1, self.l2), 0.0]

        def loss(w):
            z = Z @ w
            p = 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid, overflow-free
            return (np.logaddexp(0.0, z) - t * z).sum() + 0.5 * reg @ (w * w), Z.T @ (p - t) + reg * w

        self.w = minimize(loss, np.zeros(Z.shape[1]), jac=True, method="L-BFGS-B").x
        return self

    def score(self, X) -> np.ndarray:
        if self.w is None:
            raise ValueError("ContextRanker is not fitted yet: call .fit(X, y) first.")
        X = np.asarray(X, dtype=np.float64)
        z = ((self._design(X) - self.mean) / self.std) @ self.w[:-1] + self.w[-1]
        return z.reshape(X.shape[:-1])

    def coefficients(self) -> pd.Series:
        names = [self.names[c] for c in self.columns] if self.columns is not None else list(self.names)
        return pd.Series(self.w[:-1], index=names, name="weight")


def context_ranking(model, dataset, split, k: int = 10) -> tuple[pd.DataFrame, dict]:
    """Where context goes: a ranking stage on top of retrieval, trained on the validation requests and
    evaluated on the test requests (both: held-out film + its sampled negatives, the course's protocol). Lesson 05.

    ``model``: the retrieval model (anything with ``score``), fitted on ``split.train``; ``split`` must have
    validation rows (``leave_last_one_out(..., validation=True)``). Three rankings of the same candidates:

    * ``"retrieval score only"`` - the model alone;
    * ``"ranker: score + popularity"`` - a :class:`ContextRanker` without context;
    * ``"ranker: + film age at request time"`` - the same ranker also given the request's time, as the age of
      each candidate film then (and whether it was released yet): context no cached user vector holds.

    Returns ``(table, rankers)``: a DataFrame indexed by ranking with ``hr@k``, ``ndcg@k``, and the two fitted
    rankers by name (``.coefficients()`` shows what each learned).
    """
    years = release_years(dataset)
    popularity = np.bincount(split.train["item_idx"].to_numpy(np.int64), minlength=split.num_items).astype(float)

    def features(which):
        rows, users, cand = _sampled_rows(split, which)
        s = np.asarray(model.score(np.repeat(users, cand.shape[1]), cand.reshape(-1)), dtype=np.float64)
        X = context_features(s.reshape(cand.shape), cand, rows["timestamp"].to_numpy(), years, popularity)
        y = np.zeros(cand.shape)
        y[:, 0] = 1.0
        return X, y

    Xv, yv = features("valid")
    Xt, _ = features("test")
    rankers = {
        "ranker: score + popularity": ContextRanker([0, 1]).fit(Xv, yv),
        "ranker: + film age at request time": ContextRanker([0, 1, 2, 3]).fit(Xv, yv),
    }
    rows = {"retrieval score only": _metrics(Xt[..., 0], k)}
    for name, ranker in rankers.items():
        rows[name] = _metrics(ranker.score(Xt), k)
    table = pd.DataFrame(rows).T
    table.index.name = "ranking"
    return table, rankers
