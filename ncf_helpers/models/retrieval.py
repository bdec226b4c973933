"""Two towers trained the way retrieval systems train them (lesson 07).

Lesson 05 trains the two-tower model like every other model of the course: pointwise binary cross-entropy on
the positives and ``num_negatives`` uniformly sampled negatives per positive. Retrieval systems (Yi et al.,
RecSys 2019; TF Recommenders; Keras-RS) use the other items *of the same batch* as negatives and a softmax over
them, correct that softmax for how often each item turns up as a negative (the **logQ correction**) and
remove **accidental hits** (a batch item that is the row's own positive). This module has the losses, a pair of
towers and a small training loop that switches between them with one argument, ``loss=``:

=================  ==========================================================================================
``loss``           what one training row (a positive ``(user, item)``) contributes
=================  ==========================================================================================
``"bce"``          the original course's: ``softplus(-s_ui) + sum_j softplus(s_uj)`` over ``num_negatives``
                   uniform items ``j``, averaged over the ``1 + num_negatives`` labelled rows
``"softmax"``      in-batch softmax: ``-log softmax(s_u,:)_i`` over the batch's ``B`` items
``"softmax_logq"`` the same with ``s_uj - log Q_j`` (``Q_j`` = expected number of times item ``j`` appears in a
                   batch, from training frequencies) and accidental hits removed
``"mixed"``        ``"softmax_logq"`` plus ``num_negatives`` uniform items shared by the batch (mixed negative
                   sampling, Yang et al. WWW 2020), corrected with their own ``log Q = log(M / num_items)``
=================  ==========================================================================================

Keras-RS has layers for two of these steps (``SamplingProbabilityCorrection``, ``RemoveAccidentalHits``), but it
needs Python >= 3.11 (the course supports 3.10-3.12), and its ``RemoveAccidentalHits`` up to at least 0.4.0 adds
``finfo(float32).smallest_normal / 100`` (about ``1e-40``) to the accidental hits' logits, which changes nothing
in float32 (keras-team/keras-rs pull request #206 has the fix). So the few lines are written here and
``tests/test_retrieval.py`` cross-checks the logQ step against Keras-RS where it is installed.

Shapes: ``B`` = batch size, ``d`` = embedding_dim (the towers' output width), ``M`` = extra uniform negatives.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from ..common import epochs_at_scale, set_seed, whole_number
from ..data.splits import positives

__all__ = [
    "LOSSES",
    "RETRIEVAL_DEFAULTS",
    "RetrievalModel",
    "accidental_hit_mask",
    "build_towers",
    "fit_retrieval",
    "in_batch_softmax_loss",
    "log_sampling_probability",
    "pointwise_bce_loss",
]

LOSSES = ("bce", "softmax", "softmax_logq", "mixed")
"""The values :func:`fit_retrieval` accepts for ``loss`` (see the module docstring)."""

RETRIEVAL_DEFAULTS = dict(
    embedding_dim=32, epochs=10, batch_size=1024, learning_rate=3e-3, num_negatives=4, temperature=1.0, l2=0.0
)
"""Settings shared by every loss in lesson 07 (same towers, same optimizer, same number of epochs), so that
only the loss differs. Picked on ml-latest-small so that each run trains in a few seconds on 2 cores."""

_MASKED = -1e9  # logit of a removed accidental hit: exp(-1e9 - max) is exactly 0 in float32


# ---------------------------------------------------------------------------------------------- losses
def log_sampling_probability(item_counts, batch_size: int | None = None) -> np.ndarray:
    """``log Q_j`` for every item from its training frequency ``item_counts [num_items]`` -> float32 ``[num_items]``.

    ``Q_j = count_j / sum(count)`` is the probability that a batch row's positive is item ``j`` (batches are
    drawn from the training positives, so popular items are the common negatives). With ``batch_size`` the
    result is ``log(batch_size * Q_j)``, the expected number of times ``j`` is in a batch; inside one softmax
    the two differ by a constant and give the same loss, but the expected count is what can be compared with
    the uniform negatives of ``loss="mixed"``. Items never seen get the smallest positive count (0.5), so the
    log stays finite.
    """
    counts = np.asarray(item_counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0 or np.any(counts < 0) or not np.all(np.isfinite(counts)):
        raise ValueError(
            "item_counts must be a 1-D array of non-negative counts [num_items], e.g. "
            "np.bincount(split.train_item_idx, minlength=split.num_items)."
        )
    if counts.sum() <= 0:
        raise ValueError("item_counts are all 0: there are no training positives to estimate Q from.")
    q = np.maximum(counts, 0.5) / counts.sum()
    if batch_size is not None:
        q = q * int(batch_size)
    return np.log(q).astype(np.float32)


def accidental_hit_mask(item_idx, candidate_idx=None):
    """Boolean ``[B, C]``: ``True`` where candidate ``c`` is row ``b``'s positive item but not its own column.

    ``item_idx`` int ``[B]`` are the rows' positives; ``candidate_idx`` int ``[C]`` the softmax's columns
    (default: ``item_idx`` itself, the in-batch case, where column ``b`` is row ``b``'s positive). A ``True``
    entry is an *accidental hit*: the same film appears twice in the batch, and without the mask the loss
    would push the user away from the very item it is trying to pull in. Columns beyond ``B`` (extra
    negatives) are hits wherever their ID equals the row's positive.
    """
    item_idx = ops.convert_to_tensor(item_idx)
    cand = item_idx if candidate_idx is None else ops.convert_to_tensor(candidate_idx)
    same = ops.equal(ops.expand_dims(item_idx, 1), ops.expand_dims(cand, 0))  # [B, C]
    b = ops.shape(item_idx)[0]
    c = ops.shape(cand)[0]
    own = ops.equal(ops.expand_dims(ops.arange(b), 1), ops.expand_dims(ops.arange(c), 0))  # diagonal [B, C]
    return ops.logical_and(same, ops.logical_not(own))


def in_batch_softmax_loss(
    user_vectors,
    item_vectors,
    item_idx=None,
    log_q=None,
    *,
    remove_accidental_hits=False,
    extra_item_vectors=None,
    extra_item_idx=None,
    extra_log_q=None,
    temperature: float = 1.0,
):
    """Per-row in-batch softmax loss -> float ``[B]``.

    ``user_vectors [B, d]`` and ``item_vectors [B, d]`` are the towers' outputs for the batch's positive pairs
    (row ``b``'s positive is column ``b``). The logits are ``S = U @ V.T / temperature`` ``[B, B]``; row ``b``'s
    loss is ``-log softmax(S[b])[b]``. Options:

    * ``log_q [B]`` - subtract ``log Q_j`` from column ``j`` (the logQ correction; :func:`log_sampling_probability`);
    * ``remove_accidental_hits`` - set the logits of :func:`accidental_hit_mask` (needs ``item_idx [B]``) to
      ``-1e9`` so they take no share of the softmax;
    * ``extra_item_vectors [M, d]`` (+ ``extra_item_idx [M]``, ``extra_log_q [M]``) - more negative columns,
      shared by every row (mixed negatives).
    """
    u = ops.convert_to_tensor(user_vectors)
    v = ops.convert_to_tensor(item_vectors)
    logits = ops.matmul(u, ops.transpose(v)) / temperature  # [B, B]
    cols_idx = item_idx
    if log_q is not None:
        logits = logits - ops.expand_dims(ops.convert_to_tensor(log_q, dtype=logits.dtype), 0)
    if extra_item_vectors is not None:
        extra = ops.matmul(u, ops.transpose(ops.convert_to_tensor(extra_item_vectors))) / temperature  # [B, M]
        if extra_log_q is not None:
            extra = extra - ops.expand_dims(ops.convert_to_tensor(extra_log_q, dtype=extra.dtype), 0)
        logits = ops.concatenate([logits, extra], axis=1)  # [B, B + M]
        if item_idx is not None and extra_item_idx is not None:
            cols_idx = ops.concatenate([ops.convert_to_tensor(item_idx), ops.convert_to_tensor(extra_item_idx)], axis=0)
    if remove_accidental_hits:
        if cols_idx is None:
            raise ValueError(
                "remove_accidental_hits=True needs item_idx [B] (and extra_item_idx [M] with extra items)."
            )
        mask = accidental_hit_mask(item_idx, cols_idx)
        logits = ops.where(mask, ops.full_like(logits, _MASKED), logits)
    b = ops.shape(u)[0]
    labels = ops.arange(b)
    return keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)


def pointwise_bce_loss(positive_logits, negative_logits):
    """The original course's loss per positive -> float ``[B]``.

    ``positive_logits [B]`` (``u . v_i`` for the batch's positives) and ``negative_logits [B, n]`` (``u . v_j``
    for ``n`` sampled negatives per positive). Each of the ``1 + n`` logits is one labelled row of binary
    cross-entropy (label 1, then ``n`` labels 0); the result is their mean per positive, which is what
    ``model.fit`` on the ``(1 + n) * B`` rows of lessons 04-05 minimises.
    """
    pos = ops.convert_to_tensor(positive_logits)
    neg = ops.convert_to_tensor(negative_logits)
    n = ops.cast(ops.shape(neg)[1], pos.dtype)
    return (ops.softplus(-pos) + ops.sum(ops.softplus(neg), axis=1)) / (1.0 + n)


# ---------------------------------------------------------------------------------------------- towers
def build_towers(
    num_users: int,
    num_items: int,
    *,
    embedding_dim: int = 32,
    context_dim: int = 0,
    item_features=None,
    item_id: bool = True,
    l2: float = 0.0,
    seed: int = 0,
):
    """The query tower and the candidate tower, as two ``keras.Model`` s -> ``(query_tower, item_tower)``.

    * query tower: inputs ``user_idx`` int ``[B]`` (and ``context`` float ``[B, context_dim]`` when
      ``context_dim > 0``) -> ``[B, embedding_dim]``: an ID embedding, concatenated with the context, through
      one linear ``Dense(embedding_dim)`` (``"query_dense"``).
    * item tower: input ``item_idx`` int ``[B]`` -> ``[B, embedding_dim]``: an ID embedding and/or the row of a
      frozen ``item_features [num_items, k]`` table (genres, title words, tags), through ``Dense(embedding_dim)``.
      ``item_id=False`` with features is a content-only tower: it gives a vector to any item that has features.
    """
    set_seed(seed)
    reg = keras.regularizers.L2(l2) if l2 else None
    user = keras.Input(shape=(), dtype="int32", name="user_idx")
    x = layers.Embedding(num_users, embedding_dim, embeddings_regularizer=reg, name="user_embedding")(user)
    inputs = {"user_idx": user}
    if context_dim:
        ctx = keras.Input(shape=(int(context_dim),), dtype="float32", name="context")
        inputs["context"] = ctx
        x = layers.Concatenate(name="query_concat")([x, ctx])
    q = layers.Dense(embedding_dim, name="query_dense")(x)
    query_tower = keras.Model(inputs, q, name="query_tower")

    item = keras.Input(shape=(), dtype="int32", name="item_idx")
    parts = []
    if item_id:
        parts.append(
            layers.Embedding(num_items, embedding_dim, embeddings_regularizer=reg, name="item_embedding")(item)
        )
    if item_features is not None:
        feats = np.asarray(item_features, dtype=np.float32)
        if feats.ndim != 2 or feats.shape[0] != num_items:
            raise ValueError(f"item_features must have shape [num_items, k] = [{num_items}, k], got {feats.shape}.")
        table = layers.Embedding(num_items, feats.shape[1], trainable=False, name="item_features")
        table.build((None,))
        table.set_weights([feats])
        parts.append(table(item))
    if not parts:
        raise ValueError("The item tower needs item_id=True or item_features (or both).")
    x = parts[0] if len(parts) == 1 else layers.Concatenate(name="item_concat")(parts)
    v = layers.Dense(embedding_dim, name="item_dense")(x)
    item_tower = keras.Model({"item_idx": item}, v, name="item_tower")
    return query_tower, item_tower


# ---------------------------------------------------------------------------------------------- model
@dataclass
class RetrievalModel:
    """Trained towers plus what the lesson needs to evaluate and serve them (returned by :func:`fit_retrieval`).

    ``score(user_idx, item_idx)`` ``[n]`` and ``score_all(user_idx)`` ``[n, num_items]`` make it a model for
    :func:`ncf_helpers.evaluate.evaluate` (sampled and full protocols). ``context`` (float
    ``[num_users, context_dim]``) is the request context each user is scored with (e.g. the test request's);
    :meth:`with_context` returns a copy with another one.
    """

    query_tower: keras.Model
    item_tower: keras.Model
    num_users: int
    num_items: int
    loss: str
    name: str = ""
    train_seconds: float = 0.0
    history: list = field(default_factory=list)
    context: np.ndarray | None = None
    config: dict = field(default_factory=dict)
    _items: np.ndarray | None = field(default=None, repr=False)

    def item_vectors(self) -> np.ndarray:
        """float32 ``[num_items, d]``: the item tower run once over the catalogue (cached)."""
        if self._items is None:
            idx = np.arange(self.num_items, dtype=np.int32)
            self._items = np.concatenate(
                [
                    np.asarray(self.item_tower({"item_idx": idx[lo : lo + 16384]}, training=False), np.float32)
                    for lo in range(0, len(idx), 16384)
                ]
            )
        return self._items

    def user_vectors(self, user_idx, context=None) -> np.ndarray:
        """float32 ``[n, d]``: the query tower for ``user_idx [n]`` with ``context [n, c]`` (default: the
        model's ``context`` rows of these users)."""
        u = np.atleast_1d(np.asarray(user_idx, dtype=np.int64))
        if u.size and (u.min() < 0 or u.max() >= self.num_users):
            raise ValueError(f"user_idx must lie in [0, {self.num_users}); got values from {u.min()} to {u.max()}.")
        inputs = {"user_idx": u.astype(np.int32)}
        if "context" in self.query_tower.input:
            if context is None:
                if self.context is None:
                    raise ValueError("This query tower reads a context: pass context=[n, c] or set model.context.")
                context = self.context[u]
            inputs["context"] = np.asarray(context, np.float32)
        return np.asarray(self.query_tower(inputs, training=False), np.float32)

    def with_context(self, context) -> RetrievalModel:
        out = RetrievalModel(**{**self.__dict__, "context": np.asarray(context, np.float32)})
        return out

    def score_all(self, user_idx) -> np.ndarray:
        return self.user_vectors(user_idx) @ self.item_vectors().T

    def score(self, user_idx, item_idx) -> np.ndarray:
        u = np.asarray(user_idx, dtype=np.int64).reshape(-1)
        i = np.asarray(item_idx, dtype=np.int64).reshape(-1)
        uniq, inv = np.unique(u, return_inverse=True)
        uv = self.user_vectors(uniq)
        return np.einsum("nd,nd->n", uv[inv], self.item_vectors()[i])


# ---------------------------------------------------------------------------------------------- training
def fit_retrieval(
    split,
    loss: str = "softmax_logq",
    *,
    seed: int = 0,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    num_negatives: int | None = None,
    embedding_dim: int | None = None,
    temperature: float | None = None,
    l2: float | None = None,
    context=None,
    item_features=None,
    item_id: bool = True,
    train=None,
    name: str | None = None,
    jit_compile: bool = False,
    verbose: bool = False,
) -> RetrievalModel:
    """Train a query tower and an item tower on ``split.train``'s positives with one of :data:`LOSSES`. Lesson 07.

    Every loss sees the same batches of positives (shuffled by ``seed``), the same towers and the same Adam
    optimizer; ``None`` settings come from :data:`RETRIEVAL_DEFAULTS` (``epochs`` through
    :func:`~ncf_helpers.common.epochs_at_scale`: fewer on data larger than ml-latest-small). ``context``: float
    ``[len(train), c]``, one row of request features per training positive (lesson 07, section 2), fed to the
    query tower.
    ``item_features``/``item_id``: see :func:`build_towers`. ``train``: a DataFrame of positives to use
    instead of ``split.train`` (e.g. without the fresh items). ``jit_compile``: XLA-compile the training step
    (it did not pay off for these small towers). Returns a :class:`RetrievalModel`.
    """
    if loss not in LOSSES:
        raise ValueError(f"Unknown loss {loss!r}; choose one of {', '.join(LOSSES)}.")
    cfg = dict(RETRIEVAL_DEFAULTS)
    for key, value in dict(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        num_negatives=num_negatives,
        embedding_dim=embedding_dim,
        temperature=temperature,
        l2=l2,
    ).items():
        if value is not None:
            cfg[key] = value
    for key in ("epochs", "batch_size", "embedding_dim"):
        cfg[key] = whole_number(cfg[key], key)
    if loss in ("bce", "mixed"):
        cfg["num_negatives"] = whole_number(cfg["num_negatives"], "num_negatives", hint=f"loss={loss!r} needs it")
    rows = positives(split.train if train is None else train)
    users = rows["user_idx"].to_numpy(np.int32)
    items = rows["item_idx"].to_numpy(np.int32)
    if len(users) < 2:
        raise ValueError("fit_retrieval needs at least two training positives.")
    if epochs is None:  # tuned on ml-latest-small: as many Adam steps on larger data
        cfg["epochs"] = epochs_at_scale(cfg["epochs"], len(users))
    ctx = None
    if context is not None:
        ctx = np.asarray(context, np.float32)
        if ctx.ndim != 2 or ctx.shape[0] != len(users):
            raise ValueError(f"context must be [num_train_positives, c] = [{len(users)}, c], got {ctx.shape}.")
    num_users, num_items = int(split.num_users), int(split.num_items)
    query_tower, item_tower = build_towers(
        num_users,
        num_items,
        embedding_dim=cfg["embedding_dim"],
        context_dim=0 if ctx is None else ctx.shape[1],
        item_features=item_features,
        item_id=item_id,
        l2=cfg["l2"],
        seed=seed,
    )
    counts = np.bincount(items, minlength=num_items)
    log_q = tf.constant(log_sampling_probability(counts, cfg["batch_size"]))
    m = int(cfg["num_negatives"])
    extra_log_q = float(np.log(m / num_items)) if loss == "mixed" else 0.0
    temp = float(cfg["temperature"])
    optimizer = keras.optimizers.Adam(learning_rate=cfg["learning_rate"])
    weights = query_tower.trainable_variables + item_tower.trainable_variables
    rng = tf.random.Generator.from_seed(int(seed))

    def query(u, c):
        inputs = {"user_idx": u}
        if c is not None:
            inputs["context"] = c
        return query_tower(inputs, training=True)

    def batch_loss(u, i, c):
        q = query(u, c)
        v = item_tower({"item_idx": i}, training=True)
        if loss == "bce":
            neg = rng.uniform((tf.shape(u)[0], m), 0, num_items, dtype=tf.int32)
            nv = tf.reshape(item_tower({"item_idx": tf.reshape(neg, [-1])}, training=True), [tf.shape(u)[0], m, -1])
            per = pointwise_bce_loss(tf.reduce_sum(q * v, axis=1), tf.einsum("bd,bmd->bm", q, nv))
        elif loss == "softmax":
            per = in_batch_softmax_loss(q, v, temperature=temp)
        elif loss == "softmax_logq":
            per = in_batch_softmax_loss(q, v, i, tf.gather(log_q, i), remove_accidental_hits=True, temperature=temp)
        else:  # mixed
            extra = rng.uniform((m,), 0, num_items, dtype=tf.int32)
            ev = item_tower({"item_idx": extra}, training=True)
            per = in_batch_softmax_loss(
                q,
                v,
                i,
                tf.gather(log_q, i),
                remove_accidental_hits=True,
                extra_item_vectors=ev,
                extra_item_idx=extra,
                extra_log_q=tf.fill([m], extra_log_q),
                temperature=temp,
            )
        total = tf.reduce_mean(per)
        reg = query_tower.losses + item_tower.losses
        return total + (tf.add_n(reg) if reg else 0.0)

    @tf.function(reduce_retracing=True, jit_compile=jit_compile)
    def step(u, i, c=None):
        with tf.GradientTape() as tape:
            value = batch_loss(u, i, c)
        grads = tape.gradient(value, weights)
        optimizer.apply_gradients(zip(grads, weights))
        return value

    order_rng = np.random.default_rng(seed)
    history = []
    bs = int(cfg["batch_size"])
    start = time.perf_counter()
    for epoch in range(int(cfg["epochs"])):
        order = order_rng.permutation(len(users))
        n_full = len(order) // bs * bs  # full batches only: every step has the same B (one traced graph)
        if n_full == 0:
            n_full, bs = len(order), len(order)
        total, steps = 0.0, 0
        for lo in range(0, n_full, bs):
            idx = order[lo : lo + bs]
            args = (tf.constant(users[idx]), tf.constant(items[idx]))
            value = step(*args, tf.constant(ctx[idx])) if ctx is not None else step(*args)
            total += float(value)
            steps += 1
        history.append(total / steps)
        if verbose:
            print(f"epoch {epoch + 1}: loss {history[-1]:.4f}")
    seconds = time.perf_counter() - start
    return RetrievalModel(
        query_tower,
        item_tower,
        num_users,
        num_items,
        loss,
        name=name or loss,
        train_seconds=seconds,
        history=history,
        config={**cfg, "seed": int(seed)},
    )
