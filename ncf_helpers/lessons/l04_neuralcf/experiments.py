"""The experiments behind lesson 04's questions (NeuralCF).

Each function is plain, deterministic by ``seed`` and returns DataFrames / arrays that
:mod:`ncf_helpers.lessons.l04_neuralcf.plots` draws:

* "Why embed an ID?" - :func:`build_raw_id_model`: the same MLP fed ``user_idx`` and ``item_idx`` as two
  numbers instead of through embedding tables; :func:`score_curve` shows what it learns (a smooth function of
  an arbitrary number).
* "Same vector space?" - :func:`score_vs_dot` and :func:`same_space_table`: does the plain inner product of a
  model's user and item embeddings reproduce the model's score, and do the embeddings' nearest neighbours
  agree with the model's own top-K? (Yes for dot / GMF, no for the MLP: lesson 05's reason for two towers.)
  :func:`neighbour_genre_overlap` (shared with lesson 05) asks the item-item question: do an item's nearest
  neighbours in a model's item space share its genres?
* "Can an MLP learn a dot product?" - :func:`learn_dot_product`: a small synthetic version of Rendle et al.
  (2020), section 4: users and items with true vectors, score = their dot product; fit a dot-product model and
  an MLP on the same observed cells and compare their errors on unseen cells.
* "10^8 users" - :func:`id_table_bytes` / :func:`memory_table` (how big an ID table gets, with Adam's two
  extra slots) and :func:`hashing_experiment` (``keras.layers.Hashing`` on raw user ids: what collisions cost
  in HR@10).

Models that :func:`ncf_helpers.models.train` cannot train (they have no ``user_embedding`` table, or hash raw
ids) are trained by :func:`fit_custom`, the same loop: fresh negatives every epoch from
:func:`ncf_helpers.models.epoch_rows`, binary cross-entropy, Adam.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import keras
import numpy as np
import pandas as pd
from keras import layers, ops

from ncf_helpers.classic.base import Recommender
from ncf_helpers.common import set_seed, top_k, whole_number
from ncf_helpers.data.checks import check_k
from ncf_helpers.models.builders import interaction_of, output_of
from ncf_helpers.models.serving import inner_product_form  # (lesson 04 shows it)
from ncf_helpers.models.training import run_epoch
from ncf_helpers.similarity import nearest_by_cosine

__all__ = [
    "ADAM_SLOTS",
    "KerasScorer",
    "build_hashed_model",
    "build_raw_id_model",
    "collision_stats",
    "expected_collision_fraction",
    "fit_custom",
    "hash_buckets",
    "hashing_experiment",
    "id_table_bytes",
    "inner_product_form",
    "learn_dot_product",
    "memory_table",
    "negative_coverage",
    "neighbour_genre_overlap",
    "same_space_table",
    "score_curve",
    "score_vs_dot",
    "top_k_overlap",
]


def _default_feed(u: np.ndarray, i: np.ndarray) -> dict:
    return {"user_idx": u.astype(np.int32), "item_idx": i.astype(np.int32)}


# ================================================================================ a generic trainer + scorer
def fit_custom(
    model: keras.Model,
    split,
    epochs: int = 5,
    num_negatives: int = 4,
    batch_size: int = 4096,
    *,
    seed: int = 0,
    feed: Callable[[np.ndarray, np.ndarray], dict] | None = None,
    targets: Callable[[np.ndarray], object] | None = None,
) -> pd.DataFrame:
    """Train any compiled Keras model on ``split.train`` with :func:`ncf_helpers.models.train`'s loop. Lesson 04.

    Every epoch pairs each training positive with ``num_negatives`` freshly sampled items (label 0), shuffles,
    and runs one pass of ``model.fit``: the same :func:`ncf_helpers.models.training.run_epoch` and seeding as
    ``train`` (``set_seed(seed)``, then epoch ``e``'s rows from ``default_rng([seed, e])``), so a model
    ``train`` can fit sees the same rows here. ``feed(user_idx, item_idx) -> dict`` builds the model's inputs from
    int arrays ``[n]`` (default ``{"user_idx": ..., "item_idx": ...}``); ``targets(labels) -> y`` the targets
    (default: the float32 labels ``[n]``; a multi-output model needs one entry per output).

    Returns a DataFrame ``epoch, loss, seconds`` (one row per epoch, ``seconds`` cumulative).
    """
    epochs = whole_number(epochs, "epochs")
    batch_size = whole_number(batch_size, "batch_size")
    num_negatives = whole_number(num_negatives, "num_negatives")
    df = split.train_positives()
    if len(df) == 0:
        raise ValueError("The split has no training positives to learn from.")
    pos_u = df["user_idx"].to_numpy(np.int64)
    pos_i = df["item_idx"].to_numpy(np.int64)
    empty = pos_u[:0]
    keys = split.train_keys()
    seed = set_seed(seed)
    rows, start = [], time.perf_counter()
    for epoch in range(epochs):
        h, _ = run_epoch(
            model,
            (pos_u, pos_i, empty, empty, keys),
            split.num_items,
            num_negatives,
            epoch,
            seed=seed,
            batch_size=batch_size,
            feed=feed or _default_feed,
            targets=targets,
        )
        rows.append({"epoch": epoch + 1, "loss": float(h.history["loss"][-1]), "seconds": time.perf_counter() - start})
        if not np.isfinite(rows[-1]["loss"]):
            raise ValueError(f"The loss became {rows[-1]['loss']} in epoch {epoch + 1}: lower the learning rate.")
    return pd.DataFrame(rows)


class KerasScorer(Recommender):
    """Any Keras model of ``(user, item)`` as a :class:`~ncf_helpers.classic.base.Recommender`, so the shared
    :func:`ncf_helpers.evaluate.evaluate` scores it like every other model. Lesson 04.

    ``feed`` builds the inputs from int arrays ``[n]`` (as in :func:`fit_custom`). Scores are the model's
    outputs (logits for the models built here), float ``[n]``.
    """

    def __init__(
        self,
        model: keras.Model,
        num_users: int,
        num_items: int,
        *,
        name: str = "model",
        feed: Callable | None = None,
        batch_size: int = 65_536,
    ):
        super().__init__(num_users, num_items)
        self.model, self.name, self.feed = model, name, feed or _default_feed
        self.batch_size = batch_size
        self.fitted = True

    def fit(self, train, **kwargs):  # pragma: no cover - trained with fit_custom
        raise ValueError("KerasScorer wraps a model trained elsewhere (fit_custom); it has no fit of its own.")

    def _score(self, user_idx, item_idx) -> np.ndarray:
        # direct calls in batches (not model.predict, which traces a new function per model and makes
        # TensorFlow print "retracing" warnings when a lesson scores several models)
        out = np.empty(len(user_idx), dtype=np.float64)
        for lo in range(0, len(user_idx), self.batch_size):
            hi = lo + self.batch_size
            batch = self.model(self.feed(user_idx[lo:hi], item_idx[lo:hi]), training=False)
            out[lo:hi] = np.asarray(ops.convert_to_numpy(batch), dtype=np.float64).reshape(-1)
        return out


# ================================================================================ 1. raw IDs as numbers
def build_raw_id_model(
    num_users: int, num_items: int, hidden: tuple[int, ...] = (64, 32), *, learning_rate: float = 3e-3, seed: int = 0
) -> keras.Model:
    """The wrong way to feed an ID (lesson 04): ``user_idx / (num_users - 1)`` and ``item_idx / (num_items - 1)``
    as two numbers in ``[0, 1]`` -> ``Dense(hidden[0], relu)`` -> ... -> ``Dense(1)`` (a logit).

    Inputs ``user_idx``, ``item_idx`` (int ``[batch]``) like every model of the course; compiled with Adam and
    binary cross-entropy from logits. Scaling to ``[0, 1]`` is the kindest version of the idea (raw numbers up
    to 9,741 would also wreck the optimisation); it still fails, because the model can only learn functions
    that are smooth in the ID, and item 1234 has nothing to do with item 1235.
    """
    whole_number(num_users, "num_users")
    whole_number(num_items, "num_items")
    set_seed(seed)
    user = keras.Input(shape=(), dtype="int32", name="user_idx")
    item = keras.Input(shape=(), dtype="int32", name="item_idx")
    u = ops.expand_dims(ops.cast(user, "float32"), -1) / float(max(num_users - 1, 1))
    i = ops.expand_dims(ops.cast(item, "float32"), -1) / float(max(num_items - 1, 1))
    x = layers.Concatenate(name="ids_as_numbers")([u, i])
    for k, units in enumerate(hidden, start=1):
        x = layers.Dense(whole_number(units, "hidden sizes"), activation="relu", name=f"hidden_{k}")(x)
    out = layers.Dense(1, name="prediction")(x)
    model = keras.Model({"user_idx": user, "item_idx": item}, out, name="raw_ids")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate), loss=keras.losses.BinaryCrossentropy(from_logits=True)
    )
    return model


def score_curve(recommenders: dict, user_idx: int, num_items: int) -> pd.DataFrame:
    """Every model's score of every item for one user: DataFrame ``item_idx, <name>...`` (``num_items`` rows).

    Lesson 04 plots it against ``item_idx``: the raw-ID model's curve is smooth in the ID (neighbouring numbers,
    similar scores); an embedding model's is not, because each item got its own vector.
    """
    frame = pd.DataFrame({"item_idx": np.arange(num_items)})
    for name, rec in recommenders.items():
        frame[name] = np.asarray(rec.score_all(np.array([int(user_idx)]))[0], dtype=np.float64)
    return frame


# ================================================================================ negative sampling
def negative_coverage(split, epochs: int = 8, num_negatives: int = 4, *, seed: int = 0) -> pd.DataFrame:
    """What re-drawing negatives every epoch buys, measured without training (lesson 04).

    Draws the negatives :func:`ncf_helpers.models.train` would draw (``num_negatives`` per training positive,
    never a training positive of that user) for ``epochs`` epochs and counts, after each epoch:

    * ``distinct_fresh``: distinct (user, item) negative pairs seen so far when they are re-drawn every epoch;
    * ``distinct_fixed``: the same when the first epoch's negatives are reused (the count never grows);
    * ``false_negative_rate``: the share of this epoch's draws that are in fact a held-out positive of the
      user (the validation or test item): "negatives" the user likes, which sampling cannot avoid.

    Returns a DataFrame ``epoch, distinct_fresh, distinct_fixed, false_negative_rate``.
    """
    from ncf_helpers.data.splits import sample_negatives

    epochs = whole_number(epochs, "epochs")
    num_negatives = whole_number(num_negatives, "num_negatives")
    train = split.train_positives()
    u = train["user_idx"].to_numpy(np.int64)
    n_items = split.num_items
    keys = split.train_keys()
    held = [f for f in (split.valid, split.test) if f is not None and len(f)]
    held_keys = (
        np.unique(
            np.concatenate(
                [f["user_idx"].to_numpy(np.int64) * n_items + f["item_idx"].to_numpy(np.int64) for f in held]
            )
        )
        if held
        else np.empty(0, np.int64)
    )
    # one flag per (user, item) cell: counting distinct pairs is then a sum, not a sort of millions of keys
    seen = np.zeros(split.num_users * n_items, dtype=bool)
    held_cells = np.zeros(split.num_users * n_items, dtype=bool)
    held_cells[held_keys] = True
    rng = np.random.default_rng(seed)
    fixed = None
    rows = []
    for epoch in range(epochs):
        neg = sample_negatives(u, num_negatives, n_items, keys, rng, unique=False)
        drawn = np.repeat(u, num_negatives) * n_items + neg.reshape(-1)
        seen[drawn] = True
        if fixed is None:
            fixed = int(seen.sum())
        rows.append(
            {
                "epoch": epoch + 1,
                "distinct_fresh": int(seen.sum()),
                "distinct_fixed": fixed,
                "false_negative_rate": float(held_cells[drawn].mean()) if len(drawn) else 0.0,
            }
        )
    return pd.DataFrame(rows)


# ================================================================================ 2. same vector space?
def _logit(scores: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(scores, dtype=np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def _model_logits(rec, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
    """Logit scores: ``[n]`` for pairs, or ``[len(users), num_items]`` when ``items`` is None."""
    s = rec.score_all(users) if items is None else rec.score(users, items)
    return _logit(s) if output_of(rec.model) == "sigmoid" else np.asarray(s, dtype=np.float64)


def _embeddings(rec) -> tuple[np.ndarray, np.ndarray]:
    """The plain user and item embedding tables ``[num_users, d]``, ``[num_items, d]`` (NeuMF: its GMF ones)."""
    return (np.asarray(rec.user_factors, dtype=np.float64), np.asarray(rec.item_factors, dtype=np.float64))


def _serving(rec) -> tuple[np.ndarray, np.ndarray]:
    """:func:`inner_product_form` when the model has one, else the plain embeddings (all a search could use)."""
    form = inner_product_form(rec)
    return form if form is not None else _embeddings(rec)


def score_vs_dot(
    rec, split, num_pairs: int = 2000, *, vectors: str = "serving", seed: int = 0, pairs: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Sampled (user, item) pairs with an inner product of user and item vectors and the model's logit. Lesson 04.

    ``vectors="serving"``: :func:`inner_product_form` where the model has one (dot with its biases, GMF with its
    weights ``h``), else the plain embeddings (MLP); ``"embedding"``: always the plain embeddings ``p_u . q_i``.
    Half the pairs are training positives, half random items for the same users. ``pairs``: a DataFrame with
    ``user_idx, item_idx`` (and ``positive``) to use instead of sampling, e.g. an interaction-explorer run's
    ``run.pairs``, so that two figures of one model show the same sample (for the MLP, r depends on which pairs
    are drawn: it is near 0 either way, but not the same number). Returns a DataFrame ``user_idx, item_idx,
    positive (bool), dot, score``; for a sigmoid model the score is ``log(p / (1 - p))`` so every model is on
    the logit scale.
    """
    if vectors not in ("serving", "embedding"):
        raise ValueError(f"vectors must be 'serving' or 'embedding', got {vectors!r}.")
    if pairs is not None:
        missing = [c for c in ("user_idx", "item_idx") if c not in getattr(pairs, "columns", ())]
        if missing or len(pairs) == 0:
            raise ValueError(
                f"pairs must be a non-empty DataFrame with columns user_idx and item_idx (missing "
                f"{missing}), e.g. an InteractionRun's run.pairs."
            )
        u = pairs["user_idx"].to_numpy(np.int64)
        i = pairs["item_idx"].to_numpy(np.int64)
        positive = pairs["positive"].to_numpy(bool) if "positive" in pairs.columns else np.zeros(len(u), bool)
    else:
        num_pairs = whole_number(num_pairs, "num_pairs")
        rng = np.random.default_rng(seed)
        train = split.train_positives()
        n_pos = num_pairs // 2
        rows = rng.choice(len(train), size=min(n_pos, len(train)), replace=False)
        pu = train["user_idx"].to_numpy(np.int64)[rows]
        pi = train["item_idx"].to_numpy(np.int64)[rows]
        ru = rng.choice(pu, size=num_pairs - len(pu))
        ri = rng.integers(0, split.num_items, size=len(ru))
        u, i = np.r_[pu, ru], np.r_[pi, ri]
        positive = np.r_[np.ones(len(pu), bool), np.zeros(len(ru), bool)]
    P, Q = _serving(rec) if vectors == "serving" else _embeddings(rec)
    return pd.DataFrame(
        {
            "user_idx": u,
            "item_idx": i,
            "positive": positive,
            "dot": np.einsum("nd,nd->n", P[u], Q[i]),
            "score": _model_logits(rec, u, i),
        }
    )


def _top_k_excluding(scores: np.ndarray, seen: list[np.ndarray], k: int) -> np.ndarray:
    """Top-``k`` columns of each row of ``scores`` ``[n, num_items]``, best first, skipping ``seen[row]``."""
    s = np.array(scores, dtype=np.float64, copy=True)
    for row, items in enumerate(seen):
        s[row, items] = -np.inf
    return top_k(s, k)


def top_k_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row, the share of ``a``'s items that are also in ``b``: float ``[n]`` in ``[0, 1]``.

    ``a``, ``b``: int ``[n, k]`` top-K lists without repeats (order ignored). Worked example: ``[[1, 2, 3, 4]]``
    vs ``[[4, 3, 9, 8]]`` share 2 of 4 items -> ``[0.5]``.
    """
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"a and b must be top-K lists of one shape [n, k]; got {a.shape} and {b.shape}.")
    if a.size == 0:
        return np.zeros(len(a))
    # shift each row into its own range of numbers, then one sorted membership test for all rows
    width = int(max(a.max(), b.max())) + 1
    offset = (np.arange(len(a), dtype=np.int64) * width)[:, None]
    flat_b = np.sort((b + offset).reshape(-1))
    keys = (a + offset).reshape(-1)
    pos = np.clip(np.searchsorted(flat_b, keys), 0, len(flat_b) - 1)
    return (flat_b[pos] == keys).reshape(a.shape).mean(axis=1)


def same_space_table(
    recommenders: dict,
    split,
    *,
    k: int = 10,
    num_users: int = 100,
    num_pairs: int = 2000,
    seed: int = 0,
    pairs: dict | None = None,
) -> pd.DataFrame:
    """Lesson 04's "same vector space?" numbers, one row per model.

    For each trained :class:`~ncf_helpers.models.KerasRecommender` (``"dot"``, ``"gmf"``, ``"mlp"``, ...):

    * ``pearson``: correlation of the serving vectors' inner product (see :func:`score_vs_dot`) with the
      model's logit; ``pearson_embedding``: the same with the plain embeddings ``p_u . q_i``;
    * ``overlap_inner@k``: for ``num_users`` random test users, the share of the model's own top-``k`` (training
      items excluded) that a nearest-neighbour search by inner product over the serving vectors also returns
      (1.0 = an index serves the model exactly);
    * ``overlap_cosine@k``: the same for a search by cosine similarity of the plain embeddings.

    ``pairs``: ``{name: DataFrame user_idx, item_idx, ...}`` to compute both correlations on instead of
    ``num_pairs`` sampled pairs (see :func:`score_vs_dot`).

    Returns a DataFrame indexed by model name (``interaction`` and floats in ``[-1, 1]`` / ``[0, 1]``).
    """
    k = check_k(k)
    rng = np.random.default_rng(seed)
    test_users = np.unique(split.test["user_idx"].to_numpy(np.int64))
    users = np.sort(rng.choice(test_users, size=min(num_users, len(test_users)), replace=False))
    train = split.train_positives()
    tu, ti = train["user_idx"].to_numpy(np.int64), train["item_idx"].to_numpy(np.int64)
    order = np.argsort(tu, kind="stable")
    starts = np.searchsorted(tu[order], users)
    stops = np.searchsorted(tu[order], users, side="right")
    seen = [ti[order][a:b] for a, b in zip(starts, stops)]
    rows = {}
    for name, rec in recommenders.items():
        given = None if pairs is None else pairs[name]
        serving = score_vs_dot(rec, split, num_pairs, seed=seed, pairs=given)
        plain = score_vs_dot(rec, split, num_pairs, vectors="embedding", seed=seed, pairs=given)
        P, Q = _embeddings(rec)
        U, V = _serving(rec)
        model_top = _top_k_excluding(_model_logits(rec, users), seen, k)
        inner_top = _top_k_excluding(U[users] @ V.T, seen, k)
        pn = P[users] / np.maximum(np.linalg.norm(P[users], axis=1, keepdims=True), 1e-12)
        qn = Q / np.maximum(np.linalg.norm(Q, axis=1, keepdims=True), 1e-12)
        cos_top = _top_k_excluding(pn @ qn.T, seen, k)
        rows[name] = {
            "interaction": interaction_of(rec.model),
            "pearson": float(np.corrcoef(serving["dot"], serving["score"])[0, 1]),
            "pearson_embedding": float(np.corrcoef(plain["dot"], plain["score"])[0, 1]),
            f"overlap_inner@{k}": float(top_k_overlap(model_top, inner_top).mean()),
            f"overlap_cosine@{k}": float(top_k_overlap(model_top, cos_top).mean()),
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "model"
    return frame


# ================================================================================ 3. can an MLP learn a dot product?
def _dot_heads(num_users: int, num_items: int, embedding_dims, hidden, learning_rate: float, seed: int) -> keras.Model:
    """One Keras model holding, for every ``d`` in ``embedding_dims``, two independent regressors of a score:
    ``dot_<d>`` (learned ``p_u . q_i``) and ``mlp_<d>`` (learned embeddings -> concat -> MLP). The heads share
    no weights, so training them side by side in one ``fit`` equals training them one after another (the sum of
    independent losses has independent gradients), at the per-step cost of about one model."""
    set_seed(seed)
    user = keras.Input(shape=(), dtype="int32", name="user_idx")
    item = keras.Input(shape=(), dtype="int32", name="item_idx")
    outputs = {}
    for d in embedding_dims:
        init = keras.initializers.RandomNormal(stddev=0.1)
        p = layers.Embedding(num_users, d, embeddings_initializer=init, name=f"dot_{d}_user")(user)
        q = layers.Embedding(num_items, d, embeddings_initializer=init, name=f"dot_{d}_item")(item)
        outputs[f"dot_{d}"] = layers.Dot(axes=1, name=f"dot_{d}")([p, q])
        mp = layers.Embedding(num_users, d, embeddings_initializer=init, name=f"mlp_{d}_user")(user)
        mq = layers.Embedding(num_items, d, embeddings_initializer=init, name=f"mlp_{d}_item")(item)
        x = layers.Concatenate(name=f"mlp_{d}_concat")([mp, mq])
        for j, units in enumerate(hidden, start=1):
            x = layers.Dense(units, activation="relu", name=f"mlp_{d}_hidden_{j}")(x)
        outputs[f"mlp_{d}"] = layers.Dense(1, name=f"mlp_{d}")(x)
    model = keras.Model({"user_idx": user, "item_idx": item}, outputs, name="dot_vs_mlp")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss={name: "mse" for name in outputs})
    return model


def _reset_optimizer(optimizer) -> None:
    """Zero every optimizer slot (Adam's running means) and the step counter: a fresh optimizer, same graph."""
    for v in optimizer.variables:
        if "learning_rate" in v.path:  # a setting, not state
            continue
        v.assign(np.zeros(v.shape, dtype=v.dtype))


def learn_dot_product(
    embedding_dims=(4, 16),
    num_train=(2000, 4000, 7500),
    *,
    num_users: int = 100,
    num_items: int = 100,
    hidden: tuple[int, ...] = (64, 32),
    noise: float = 0.1,
    steps: int = 300,
    batch_size: int = 512,
    learning_rate: float = 1e-2,
    num_test: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """ "Can an MLP learn a dot product?" - a small synthetic version of Rendle et al. (2020), section 4. Lesson 04.

    Every user and item gets a true vector of ``d`` numbers drawn from ``N(0, d**-0.5)`` (so the true score
    ``p_u . q_i`` has a standard deviation of about 1), and an observed cell is ``p_u . q_i + N(0, noise)``.
    For each ``d`` in ``embedding_dims`` and each size in ``num_train`` (observed cells, drawn without
    replacement from the ``num_users x num_items`` grid; ``num_test`` other cells are held out), two models with
    learned ``d``-dimensional embeddings are fit by Adam on the squared error for ``steps`` mini-batches:

    * ``dot``: ``p_u . q_i`` (matrix factorization, the right shape for this data);
    * ``mlp``: ``concat(p_u, q_i)`` -> ``Dense(hidden)`` (ReLU) -> ``Dense(1)`` (NeuralCF's interaction).

    Returns a DataFrame ``embedding_dim, num_train, fraction_observed, model ("dot"/"mlp"), rmse, naive_rmse,
    noise`` with one row per model and setting: ``rmse`` is measured on the held-out cells against the
    *noise-free* true score; ``naive_rmse`` is the error of always predicting 0 (about 1): a model is useful
    only well below it. With every setting the dot product wins, by far when ``d`` is larger and data scarce.
    """
    dims = tuple(whole_number(d, "embedding_dims") for d in embedding_dims)
    sizes = tuple(whole_number(n, "num_train") for n in num_train)
    cells = num_users * num_items
    if max(sizes) + num_test > cells:
        raise ValueError(
            f"num_train up to {max(sizes)} plus num_test={num_test} exceeds the "
            f"{num_users} x {num_items} = {cells} cells; use more users/items or fewer pairs."
        )
    rng = np.random.default_rng(seed)
    truth = {d: (rng.normal(0, d**-0.25, (num_users, d)), rng.normal(0, d**-0.25, (num_items, d))) for d in dims}
    order = rng.permutation(cells)
    test = order[:num_test]
    eu, ei = test // num_items, test % num_items
    rows = []
    # One model for every data size, reset to the same initial weights and a fresh Adam state before each: the
    # same as building a new model each time, without tracing a new training graph (~4 s each on 2 CPU cores).
    model = _dot_heads(num_users, num_items, dims, hidden, learning_rate, seed)
    initial = model.get_weights()
    for j, n in enumerate(sizes):
        cell = order[num_test : num_test + n]
        tu, ti = cell // num_items, cell % num_items
        y = {}
        for d in dims:
            P, Q = truth[d]
            y[f"dot_{d}"] = y[f"mlp_{d}"] = (np.einsum("nd,nd->n", P[tu], Q[ti]) + rng.normal(0, noise, n)).astype(
                np.float32
            )
        if j:
            model.set_weights(initial)
            _reset_optimizer(model.optimizer)
        # one pass over steps * batch_size rows drawn with replacement: the same number of Adam steps for every
        # data size (no per-epoch overhead), so small data sets are seen many times, as they would be in epochs
        pick = rng.integers(0, n, size=steps * batch_size)
        model.fit(
            {"user_idx": tu[pick].astype(np.int32), "item_idx": ti[pick].astype(np.int32)},
            {k: v[pick] for k, v in y.items()},
            batch_size=batch_size,
            epochs=1,
            shuffle=False,
            verbose=0,
        )
        # a direct call, not model.predict: predict builds a new tf.function per model, and TensorFlow warns
        # about "retracing" when a lesson makes several models
        pred = model({"user_idx": eu.astype(np.int32), "item_idx": ei.astype(np.int32)}, training=False)
        pred = {key: ops.convert_to_numpy(value) for key, value in pred.items()}
        for d in dims:
            P, Q = truth[d]
            true = np.einsum("nd,nd->n", P[eu], Q[ei])
            for kind in ("dot", "mlp"):
                err = np.asarray(pred[f"{kind}_{d}"], dtype=np.float64).reshape(-1) - true
                rows.append(
                    {
                        "embedding_dim": d,
                        "num_train": n,
                        "fraction_observed": n / cells,
                        "model": kind,
                        "rmse": float(np.sqrt(np.mean(err**2))),
                        "naive_rmse": float(np.sqrt(np.mean(true**2))),
                        "noise": float(noise),
                    }
                )
    return pd.DataFrame(rows)


# ================================================================================ 4. 10^8 users: memory and hashing
ADAM_SLOTS = 2
"""Adam keeps two extra numbers per weight (running means of the gradient and of its square)."""


def id_table_bytes(num_rows, embedding_dim, *, bytes_per_value: int = 4, optimizer_slots: int = 0):
    """Bytes of an ID embedding table ``[num_rows, embedding_dim]`` of float32 (``bytes_per_value=4``), plus
    ``optimizer_slots`` copies of it kept by the optimizer (Adam: :data:`ADAM_SLOTS` = 2). Lesson 04.

    ``num_rows * embedding_dim * bytes_per_value * (1 + optimizer_slots)``, as a float (works on arrays).
    Worked example: 10^8 users x 64 dims x 4 bytes = 25.6 GB of weights; with Adam's 2 slots 76.8 GB.
    """
    rows = np.asarray(num_rows, dtype=np.float64)
    dim = np.asarray(embedding_dim, dtype=np.float64)
    if np.any(rows < 0) or np.any(dim < 0) or bytes_per_value <= 0 or optimizer_slots < 0:
        raise ValueError("num_rows and embedding_dim must be >= 0, bytes_per_value > 0 and optimizer_slots >= 0.")
    out = rows * dim * bytes_per_value * (1 + optimizer_slots)
    return float(out) if out.ndim == 0 else out


def memory_table(
    num_users=(10**4, 10**6, 10**8), embedding_dims=(32, 64, 128), *, bytes_per_value: int = 4
) -> pd.DataFrame:
    """The user table's size for every combination: DataFrame ``num_users, embedding_dim, weights_gb,
    with_adam_gb`` (GB = 10^9 bytes; ``with_adam_gb`` adds Adam's two slots). Lesson 04."""
    rows = []
    for n in num_users:
        for d in embedding_dims:
            rows.append(
                {
                    "num_users": int(n),
                    "embedding_dim": int(d),
                    "weights_gb": id_table_bytes(n, d, bytes_per_value=bytes_per_value) / 1e9,
                    "with_adam_gb": id_table_bytes(n, d, bytes_per_value=bytes_per_value, optimizer_slots=ADAM_SLOTS)
                    / 1e9,
                }
            )
    return pd.DataFrame(rows)


def hash_buckets(raw_ids, num_bins: int) -> np.ndarray:
    """The bucket ``keras.layers.Hashing(num_bins)`` puts each raw id in: int64 ``[n]`` in ``[0, num_bins)``.
    Deterministic (FarmHash of the id), the same on every machine. Lesson 04."""
    num_bins = whole_number(num_bins, "num_bins")
    ids = np.asarray(raw_ids, dtype=np.int64).reshape(-1)
    if num_bins == 1:
        return np.zeros(len(ids), dtype=np.int64)
    return np.asarray(keras.layers.Hashing(num_bins)(ids), dtype=np.int64).reshape(-1)


def expected_collision_fraction(num_ids, num_bins):
    """Expected share of ids that share their bucket with at least one other id, when ``num_ids`` ids are
    hashed uniformly into ``num_bins`` buckets: ``1 - (1 - 1/num_bins) ** (num_ids - 1)``. Lesson 04.

    Worked examples: 2 ids, 2 buckets -> 1 - (1/2)^1 = 0.5; 610 ids into 610 buckets -> about 0.63.
    """
    n = np.asarray(num_ids, dtype=np.float64)
    b = np.asarray(num_bins, dtype=np.float64)
    if np.any(n < 1) or np.any(b < 1):
        raise ValueError("num_ids and num_bins must be >= 1.")
    out = 1.0 - (1.0 - 1.0 / b) ** (n - 1)
    return float(out) if out.ndim == 0 else out


def collision_stats(buckets, num_bins: int) -> dict:
    """Counts for one hashing: ``{"num_bins", "used_bins", "collided_fraction" (share of ids whose bucket holds
    another id too), "max_per_bin", "expected_collided_fraction"}``. Lesson 04."""
    b = np.asarray(buckets, dtype=np.int64).reshape(-1)
    counts = np.bincount(b, minlength=num_bins)
    return {
        "num_bins": int(num_bins),
        "used_bins": int(np.count_nonzero(counts)),
        "collided_fraction": float(np.mean(counts[b] > 1)) if len(b) else 0.0,
        "max_per_bin": int(counts.max()) if len(b) else 0,
        "expected_collided_fraction": expected_collision_fraction(max(len(b), 1), num_bins),
    }


def _head_key(side: str, num_bins: int | None) -> str:
    return "exact" if side == "exact" else f"{side}_bins_{int(num_bins)}"


def _check_heads(heads) -> list[tuple[str, int | None]]:
    out = []
    for head in heads:
        try:
            side, n = head
        except (TypeError, ValueError):
            raise ValueError(
                f"Each head is a pair (side, num_bins) such as ('user', 64) or ('exact', None); got {head!r}."
            ) from None
        if side not in ("exact", "user", "item"):
            raise ValueError(f"side must be 'exact', 'user' or 'item', got {side!r}.")
        out.append((side, None if side == "exact" else whole_number(n, "num_bins")))
    if len({_head_key(*h) for h in out}) != len(out):
        raise ValueError(f"The heads {heads!r} repeat a configuration; list each (side, num_bins) once.")
    return out


def build_hashed_model(
    num_users: int,
    num_items: int,
    heads,
    *,
    embedding_dim: int = 32,
    l2: float = 1e-5,
    learning_rate: float = 3e-3,
    seed: int = 0,
    jit_compile: bool = False,
) -> keras.Model:
    """Several independent matrix-factorization models (``"dot"`` with biases, logit output) in one Keras model,
    one per entry of ``heads``, each with its own user and item tables. Lesson 04's hashing experiment.

    ``heads``: pairs ``(side, num_bins)``: ``("user", 64)`` gives the head a user table of 64 rows (the users'
    raw ids are hashed into them by :func:`hash_buckets`, i.e. ``keras.layers.Hashing(64)``, in the input
    pipeline), ``("item", 512)`` the same for items, ``("exact", None)`` the usual exact tables.

    Inputs: ``<key>_user`` and ``<key>_item`` (int32 ``[batch]``, the table rows) for each head ``key``
    (``"exact"``, ``"user_bins_64"``, ...); outputs: one logit ``[batch, 1]`` per head, named ``key``. The
    heads share no weights, so training them side by side in one ``fit`` equals training them one after
    another, at about the per-step cost of one. (``jit_compile=True`` works because hashing happens outside
    the model, but on a 2-core CPU XLA's compile time outweighs its faster steps for a few epochs.)
    """
    whole_number(num_users, "num_users")
    whole_number(num_items, "num_items")
    heads = _check_heads(heads)
    set_seed(seed)
    reg = keras.regularizers.L2(l2) if l2 else None
    inputs, outputs = {}, {}
    for side, n in heads:
        key = _head_key(side, n)
        parts = []
        for what, rows in (("user", num_users), ("item", num_items)):
            if side == what:
                rows = n
            idx = keras.Input(shape=(), dtype="int32", name=f"{key}_{what}")
            inputs[f"{key}_{what}"] = idx
            vec = layers.Embedding(
                rows,
                embedding_dim,
                embeddings_initializer="uniform",
                embeddings_regularizer=reg,
                name=f"{key}_{what}_embedding",
            )(idx)
            bias = layers.Embedding(rows, 1, embeddings_initializer="zeros", name=f"{key}_{what}_bias")(idx)
            parts.append((vec, bias))
        dot = layers.Dot(axes=1, name=f"{key}_dot")([parts[0][0], parts[1][0]])
        outputs[key] = layers.Add(name=key)([dot, parts[0][1], parts[1][1]])
    model = keras.Model(inputs, outputs, name="hashed_mf")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        jit_compile=bool(jit_compile),
        loss={k: keras.losses.BinaryCrossentropy(from_logits=True) for k in outputs},
    )
    return model


def _row_maps(heads, user_ids: np.ndarray, item_ids: np.ndarray) -> dict:
    """``{key: (user_row [num_users], item_row [num_items])}``: the table row of every user and item per head."""
    maps = {}
    for side, n in heads:
        user_row = np.arange(len(user_ids), dtype=np.int32)
        item_row = np.arange(len(item_ids), dtype=np.int32)
        if side == "user":
            user_row = hash_buckets(user_ids, n).astype(np.int32)
        elif side == "item":
            item_row = hash_buckets(item_ids, n).astype(np.int32)
        maps[_head_key(side, n)] = (user_row, item_row)
    return maps


class _TableMF(Recommender):
    """A trained MF head scored in numpy: ``P[user_row[u]] . Q[item_row[i]] + bu[...] + bi[...]`` (no TensorFlow
    call per evaluation, so nothing is retraced)."""

    def __init__(self, name, P, bu, Q, bi, user_row, item_row):
        super().__init__(len(user_row), len(item_row))
        self.name = name
        self.P, self.bu, self.Q, self.bi = P, bu.reshape(-1), Q, bi.reshape(-1)
        self.user_row, self.item_row = user_row, item_row
        self.fitted = True

    def _score(self, user_idx, item_idx):
        ur, ir = self.user_row[user_idx], self.item_row[item_idx]
        return np.einsum("nd,nd->n", self.P[ur], self.Q[ir]) + self.bu[ur] + self.bi[ir]


def hashing_experiment(
    split,
    user_ids,
    item_ids=None,
    *,
    user_bins=(1024, 256, 64, 16, 1),
    item_bins=(),
    epochs: int = 2,
    embedding_dim: int = 32,
    learning_rate: float = 3e-2,
    batch_size: int = 4096,
    seed: int = 0,
) -> pd.DataFrame:
    """What hash collisions cost: MF whose user (or item) rows are chosen by ``keras.layers.Hashing(num_bins)``,
    one model per bucket count plus the exact model, all trained on the same split with the same sampled
    negatives and scored by the shared sampled protocol (on the test item). Lesson 04.

    ``user_ids``: int ``[num_users]``, the raw id of each ``user_idx`` (``dataset.user_ids``); ``item_ids`` the
    same for items (needed only with ``item_bins``). ``user_bins`` / ``item_bins``: bucket counts to try; ``1``
    is a single shared vector (for users: no personalisation left; for items: every film looks the same).
    ``learning_rate``: Adam's step size; the default 3e-2 (10x the Keras models' 3e-3) gets the exact model
    near its best in 2 epochs (ml-latest-small: test HR@10 0.697 after 2 epochs; 0.697 with 2e-2 after 3 and
    0.681 with 1e-2 after 4), so the comparison is between trained models within lesson 04's time budget.

    Returns a DataFrame with one row per model: ``side`` (``"exact"``, ``"user"``, ``"item"``), ``num_bins``,
    ``ids`` (how many ids were hashed), ``ids_per_row``, ``collided_fraction`` (share of ids sharing their
    row with another id), ``expected_collided_fraction`` (:func:`expected_collision_fraction`), ``hr@10``,
    ``ndcg@10``, ``table_kb`` (the hashed table's weights, vectors + bias, float32).
    """
    user_ids = np.asarray(user_ids, dtype=np.int64).reshape(-1)
    if len(user_ids) != split.num_users:
        raise ValueError(
            f"user_ids has {len(user_ids)} entries but the split has {split.num_users} users; pass "
            "dataset.user_ids (one raw id per user_idx)."
        )
    if item_bins:
        if item_ids is None:
            raise ValueError("item_bins needs item_ids (dataset.item_ids, one raw id per item_idx).")
        item_ids = np.asarray(item_ids, dtype=np.int64).reshape(-1)
        if len(item_ids) != split.num_items:
            raise ValueError(f"item_ids has {len(item_ids)} entries but the split has {split.num_items} items.")
    else:
        item_ids = np.arange(split.num_items, dtype=np.int64) if item_ids is None else np.asarray(item_ids, np.int64)
    heads = [("exact", None)] + [("user", n) for n in user_bins] + [("item", n) for n in item_bins]
    heads = _check_heads(heads)
    maps = _row_maps(heads, user_ids, item_ids)
    model = build_hashed_model(
        split.num_users, split.num_items, heads, embedding_dim=embedding_dim, learning_rate=learning_rate, seed=seed
    )
    keys = list(model.output.keys())

    def feed(u, i):
        out = {}
        for key, (user_row, item_row) in maps.items():
            out[f"{key}_user"], out[f"{key}_item"] = user_row[u], item_row[i]
        return out

    fit_custom(
        model, split, epochs, batch_size=batch_size, seed=seed, feed=feed, targets=lambda y: {k: y for k in keys}
    )
    from ncf_helpers.evaluate import evaluate

    rows = []
    for side, n in heads:
        key = _head_key(side, n)
        w = {
            what: (
                model.get_layer(f"{key}_{what}_embedding").get_weights()[0],
                model.get_layer(f"{key}_{what}_bias").get_weights()[0],
            )
            for what in ("user", "item")
        }
        user_row, item_row = maps[key]
        stats, ids = {"collided_fraction": 0.0, "expected_collided_fraction": 0.0}, 0
        if side == "user":
            stats, ids = collision_stats(user_row, n), len(user_ids)
        elif side == "item":
            stats, ids = collision_stats(item_row, n), len(item_ids)
        rec = _TableMF(key, *w["user"], *w["item"], user_row, item_row)
        res = evaluate(rec, split, protocol="sampled", k=10)
        rows.append(
            {
                "side": side,
                "num_bins": n if n is not None else 0,
                "ids": ids,
                "ids_per_row": ids / n if n else 1.0,
                "collided_fraction": stats["collided_fraction"],
                "expected_collided_fraction": stats["expected_collided_fraction"],
                "hr@10": res.metrics["hr@10"],
                "ndcg@10": res.metrics["ndcg@10"],
                "table_kb": id_table_bytes(n if n else 0, embedding_dim + 1) / 1e3,
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------- neighbours
def neighbour_genre_overlap(
    vectors: dict, dataset, items, pool, k: int = 10, *, popularity=None, seed: int = 0
) -> pd.DataFrame:
    """Do an item's nearest neighbours share its genres? Lessons 04 and 05.

    For each space in ``vectors`` (``{label: array [num_items, d]}``, e.g. ``rec.item_factors``): the mean, over
    the items in ``items``, of the Jaccard similarity of genre sets between the item and each of its ``k``
    nearest neighbours by cosine similarity among ``pool`` (the item itself excluded). Baselines: a row
    ``"random films"`` (``k`` neighbours drawn at random from ``pool``, without the item: the floor) and, when
    ``popularity`` (float ``[num_items]``, e.g. training positives per film) is given, a row ``"most popular
    films"`` (the ``k`` most popular films of ``pool`` for every item: what a space that only encodes popularity
    would return).

    Returns a DataFrame ``space, items, jaccard, se`` (``jaccard`` in ``[0, 1]``; ``se`` its standard error over
    the items, i.e. the spread one would see with other items, not with another training seed).
    """
    gm = dataset.genre_matrix().astype(bool)
    items = np.asarray(items, dtype=np.int64)
    pool = np.asarray(pool, dtype=np.int64)
    if len(items) == 0 or len(pool) <= k:
        raise ValueError(f"Need at least one item and more than k={k} films in the pool.")

    def jaccard(a_idx, b_idx):  # a_idx [q], b_idx [q, k] -> [q, k]
        a = gm[a_idx][:, None, :]
        b = gm[b_idx]
        inter = (a & b).sum(axis=2)
        union = (a | b).sum(axis=2)
        return np.where(union > 0, inter / np.maximum(union, 1), 0.0)

    def row(label, neighbours):
        per_item = jaccard(items, neighbours).mean(axis=1)
        se = float(per_item.std(ddof=1) / np.sqrt(len(items))) if len(items) > 1 else float("nan")
        return {"space": label, "items": len(items), "jaccard": float(per_item.mean()), "se": se}

    rows = []
    for label, vecs in vectors.items():
        top, _ = nearest_by_cosine(np.asarray(vecs)[items], np.asarray(vecs), pool, k, exclude=items)
        rows.append(row(label, top))
    rng = np.random.default_rng(seed)
    draws = rng.choice(pool, size=(len(items), k))
    for _ in range(100):  # redraw the (rare) neighbours that are the item itself
        self_hit = draws == items[:, None]
        if not self_hit.any():
            break
        draws[self_hit] = rng.choice(pool, size=int(self_hit.sum()))
    rows.append(row("random films", draws))
    if popularity is not None:
        pop = np.asarray(popularity, dtype=np.float64)
        if pop.shape != (gm.shape[0],):
            raise ValueError(f"popularity must have one value per item, shape ({gm.shape[0]},); got {pop.shape}.")
        ranked = pool[np.argsort(-pop[pool], kind="stable")][: k + 1]  # the k + 1 most popular films of the pool
        keep = ranked[None, :] != items[:, None]  # drop the item itself from its own list
        top = np.array([r[m][:k] for r, m in zip(np.broadcast_to(ranked, keep.shape), keep)])
        rows.append(row("most popular films", top))
    return pd.DataFrame(rows)
