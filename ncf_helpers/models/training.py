"""Training loop for the Keras recommenders: fresh negatives every epoch, per-epoch HR@10 / NDCG@10 (lesson 04).

``train(model, split, epochs)`` does what the NCF paper does: every epoch, each training positive is paired
with ``num_negatives`` items the user has no training positive for, drawn anew (vectorized rejection
sampling, :func:`ncf_helpers.data.sample_negatives`), and the model minimizes binary cross-entropy with Adam.
After each epoch a callback ranks the validation items (or the test items when the split has no validation
rows) with the shared :func:`ncf_helpers.evaluate.evaluate` harness, so the numbers in the learning curve are
the same numbers as in every lesson's comparison table.

How an epoch runs, chosen by measurement (``benchmarks/results/speed.md``; ml-latest-small, 60,500 positives x
(1 + 4) = 302,500 rows per epoch, batch 4096, 2 CPU cores; rows/s after the first epoch):

* The rows live in numpy arrays, shuffled by numpy (``tf.data.Dataset.from_tensor_slices`` + shuffle was 2-3x
  slower; batch 1024 is ~25 % slower, 4x more Adam steps; batch 16384 ~2.5x faster but needs more epochs).
* One compiled ``tf.function`` runs ``STEPS_PER_CALL`` train steps per call, slicing the batches inside the graph:
  the same step as ``model.fit`` (``model.compute_loss``, gradients, ``optimizer.apply``), hence the same
  weights and metrics, without ``fit``'s per-step data adapter and callbacks. Side by side with one
  ``model.fit`` per epoch (what train() did before issue #15): "mlp" 446k -> 987k rows/s (2.0-2.4x), "dot"
  398k -> 727k (1.65-2.0x), NeuMF 1.7-1.8x, the two-tower 1.8-2.5x; the first epoch (tracing) is ~2x quicker too.
* Not used: ``jit_compile=True`` (XLA; ~1.4x faster epochs but seconds of compilation per model), TensorFlow's
  fused Adam kernel (``ResourceApplyAdam``: 1.4x faster, but Keras' Adam sums the squared gradients of repeated
  ids, Σg², where the kernel squares their sum, (Σg)²; on the defaults tuned with Keras' Adam that cost the
  "mlp" 0.013 HR@10 over 5 seeds), a lazy (row-sparse) Adam (no faster at this table size), XLA for the
  optimizer update alone (no faster).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import keras
import numpy as np
import pandas as pd

from ..common import epochs_at_scale, set_seed, whole_number
from ..data.splits import Split, sample_negatives
from .builders import DEFAULTS, interaction_of, set_known_items, table_sizes
from .scoring import KerasScorer

__all__ = ["STEPS_PER_CALL", "TRAIN_OPTIONS", "TrainHistory", "epoch_rows", "run_epoch", "train"]

TRAIN_OPTIONS = (
    "epochs",
    "num_negatives",
    "batch_size",
    "seed",
    "verbose",
    "eval_metrics",
    "eval_on",
    "k",
    "patience",
    "callbacks",
    "jit_compile",
    "initial_epoch",
)


@dataclass
class TrainHistory:
    """What :func:`train` returns.

    ``history`` maps ``"loss"``, ``"hr@10"``, ``"ndcg@10"`` (or the labels protocol's ``"roc_auc"`` ...) and
    ``"seconds"`` (cumulative wall time at the end of each epoch, evaluation included) to per-epoch lists;
    ``frame()`` gives them as a DataFrame. ``train_seconds`` counts only ``model.fit``; ``rows_per_second``
    is training rows (positives + negatives) per second of ``model.fit``.
    """

    history: dict[str, list] = field(default_factory=dict)
    epochs: int = 0
    seconds: float = 0.0
    train_seconds: float = 0.0
    eval_seconds: float = 0.0
    rows_per_epoch: int = 0
    eval_on: str | None = None
    best_epoch: int | None = None
    stopped_early: bool = False
    extra: dict = field(default_factory=dict)

    def __getitem__(self, key: str) -> list:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    @property
    def rows_per_second(self) -> float:
        return self.rows_per_epoch * self.epochs / self.train_seconds if self.train_seconds else float("nan")

    def last(self, key: str) -> float:
        """The value of ``key`` after the last epoch."""
        return self.history[key][-1]

    def frame(self) -> pd.DataFrame:
        """One row per epoch (``epoch`` starts at 1)."""
        df = pd.DataFrame(self.history)
        df.insert(0, "epoch", np.arange(1, len(df) + 1))
        return df

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4f}" for k, v in self.history.items() if v and k != "seconds")
        return (
            f"TrainHistory({self.epochs} epochs, {self.seconds:.1f}s, {self.rows_per_second:,.0f} rows/s; last: {last})"
        )


class EvalCallback(keras.callbacks.Callback):
    """Evaluates the model after every epoch with :func:`ncf_helpers.evaluate.evaluate` and adds the metrics to
    Keras' ``logs`` (so they show in the progress bar and in ``History``). Lesson 04's learning curves."""

    def __init__(
        self,
        split: Split,
        which: str = "valid",
        protocol: str = "sampled",
        k: int = 10,
        keys: tuple[str, ...] | None = None,
    ):
        super().__init__()
        self.split, self.which, self.protocol, self.k = split, which, protocol, k
        self.keys = keys or ((f"hr@{k}", f"ndcg@{k}") if protocol != "labels" else ("roc_auc", "pr_auc"))
        self.seconds = 0.0
        self._rec = None

    def on_epoch_end(self, epoch, logs=None):
        from ..evaluate import evaluate

        start = time.perf_counter()
        if self._rec is None or self._rec.model is not self.model:
            self._rec = KerasScorer(self.model)
        result = evaluate(self._rec, self.split, protocol=self.protocol, k=self.k, which=self.which)
        if logs is not None:
            for key in self.keys:
                logs[key] = result.metrics[key]
        self.seconds += time.perf_counter() - start


class _Progbar(keras.callbacks.ProgbarLogger):
    """Keras' progress bar, told the total number of epochs although ``fit`` runs one epoch at a time."""

    def __init__(self, total_epochs: int):
        super().__init__()
        self._total = total_epochs

    def set_params(self, params):
        super().set_params({**params, "epochs": self._total})


def _as_split(data, num_users: int, num_items: int) -> Split:
    if isinstance(data, Split) or (hasattr(data, "train") and hasattr(data, "num_items")):
        return data
    if isinstance(data, pd.DataFrame):
        empty = data.iloc[:0]
        return Split(num_users, num_items, data, empty, protocol="given")
    raise ValueError(f"train() takes a Split (or a DataFrame of training rows), got {type(data).__name__}.")


def _training_rows(split: Split):
    """Positive ``(user, item)`` arrays, explicit-negative arrays and the sorted keys of training positives."""
    df = split.train
    if df is None or len(df) == 0:
        raise ValueError(
            "The split's training table is empty: there is nothing to train on. Check the split "
            "(e.g. the rating threshold) and that it was made from a non-empty data set."
        )
    missing = [c for c in ("user_idx", "item_idx") if c not in df.columns]
    if missing:
        raise ValueError(f"The training table lacks column(s) {missing}; it needs user_idx and item_idx.")
    u = df["user_idx"].to_numpy(np.int64)
    i = df["item_idx"].to_numpy(np.int64)
    if "label" in df.columns:
        pos = df["label"].to_numpy() == 1
        return u[pos], i[pos], u[~pos], i[~pos]
    return u, i, u[:0], i[:0]


def _eval_target(split: Split, eval_on: str | None):
    """``(which, protocol)`` for the per-epoch evaluation, or ``None`` when there is nothing to evaluate."""
    candidates = []
    if eval_on in (None, "valid"):
        candidates.append("valid")
    if eval_on in (None, "test"):
        candidates.append("test")
    if eval_on not in (None, "valid", "test"):
        raise ValueError(f"eval_on must be None (valid if present, else test), 'valid' or 'test'; got {eval_on!r}.")
    for which in candidates:
        rows = getattr(split, which, None)
        negs = getattr(split, f"{which}_negatives", None)
        if rows is None or len(rows) == 0:
            continue
        if negs is not None:
            return which, "sampled"
        if "label" in rows.columns and rows["label"].nunique() == 2:
            return which, "labels"
    if eval_on is not None:
        raise ValueError(f"The split has no {eval_on} rows with sampled negatives or labels to evaluate each epoch.")
    return None


def epoch_rows(pos_u, pos_i, neg_u, neg_i, positive_keys, num_items, num_negatives, rng):
    """One epoch's training rows, shuffled: int32 ``user_idx``, ``item_idx`` and float32 ``label`` arrays.

    Every positive appears once with label 1, followed (before shuffling) by ``num_negatives`` sampled items
    per positive (label 0; never a training positive of that user, repeats across rows allowed) and the
    explicit negatives ``neg_u, neg_i`` (label 0). Length ``len(pos_u) * (1 + num_negatives) + len(neg_u)``.
    """
    parts_u, parts_i, parts_y = [pos_u], [pos_i], [np.ones(len(pos_u), np.float32)]
    if len(neg_u):
        parts_u.append(neg_u)
        parts_i.append(neg_i)
        parts_y.append(np.zeros(len(neg_u), np.float32))
    if num_negatives:
        sampled = sample_negatives(pos_u, num_negatives, num_items, positive_keys, rng, unique=False)
        parts_u.append(np.repeat(pos_u, num_negatives))
        parts_i.append(sampled.reshape(-1))
        parts_y.append(np.zeros(sampled.size, np.float32))
    u = np.concatenate(parts_u)
    order = rng.permutation(len(u))
    return (u[order].astype(np.int32), np.concatenate(parts_i)[order].astype(np.int32), np.concatenate(parts_y)[order])


STEPS_PER_CALL = 32
"""Optimizer steps per call of the compiled loop (:func:`run_epoch`): callbacks hear ``on_train_batch_end`` once
per 32 steps (131,072 rows at batch 4096), and Python runs once per 32 steps instead of once per step."""


def _graph_loop_ok(model: keras.Model) -> bool:
    """Whether :func:`run_epoch` may use its compiled loop for ``model``: TensorFlow backend, compiled with a loss
    and no metrics, not eager. Anything else goes through ``model.fit``, which handles every case."""
    return (
        keras.backend.backend() == "tensorflow"
        and getattr(model, "optimizer", None) is not None
        and getattr(model, "_compile_loss", None) is not None
        and getattr(model, "_compile_metrics", None) is None
        and not model.run_eagerly
    )


def _graph_loop(model: keras.Model, batch_size: int, x, y):
    """``loop(x, y) -> sum over batches of (batch loss x batch rows)``: a ``tf.function`` that slices the nests
    ``x``, ``y`` (arrays ``[n, ...]``, ``n <= STEPS_PER_CALL * batch_size``) into batches and runs the same
    train step as ``model.fit`` (forward pass, ``model.compute_loss``, gradients, ``optimizer.apply``) for each,
    inside one graph. Traced once (any ``n``) per model, optimizer, XLA setting, batch size and input structure;
    cached on the model."""
    import tensorflow as tf

    spec = tf.nest.map_structure(lambda a: tf.TensorSpec([None, *np.shape(a)[1:]], tf.as_dtype(a.dtype)), (x, y))
    key = (id(model.optimizer), bool(model.jit_compile), int(batch_size), repr(spec))
    cached = vars(model).get("_ncf_train_loop")
    if cached is not None and cached[0] == key:
        return cached[1]
    variables = model.trainable_variables
    if not model.optimizer.built:
        model.optimizer.build(variables)

    def loop(x, y):
        n = tf.shape(tf.nest.flatten(y)[0])[0]
        total = tf.zeros((), tf.float32)
        for start in tf.range(0, n, batch_size):
            xb, yb = tf.nest.map_structure(lambda t, s=start: t[s : s + batch_size], (x, y))
            with tf.GradientTape() as tape:
                y_pred = model(xb, training=True)
                loss = model.compute_loss(x=xb, y=yb, y_pred=y_pred, training=True)
            model.optimizer.apply(tape.gradient(loss, variables), variables)
            total += tf.cast(loss, tf.float32) * tf.cast(tf.minimum(batch_size, n - start), tf.float32)
        return total

    fn = tf.function(loop, input_signature=list(spec), jit_compile=bool(model.jit_compile))
    vars(model)["_ncf_train_loop"] = (key, fn)  # past Keras' attribute tracking, like model.train_function
    return fn


def _fit_one_epoch(model, x, y, batch_size: int, epoch: int, verbose, callbacks):
    """One pass over ``x``, ``y`` (numpy nests ``[n, ...]``, already shuffled) in batches of ``batch_size``, in
    order, with the compiled loop; the callbacks see what ``model.fit(..., epochs=epoch + 1,
    initial_epoch=epoch, shuffle=False)`` shows them (``on_train_batch_end`` once per ``STEPS_PER_CALL`` steps,
    ``logs["loss"]`` the row-weighted mean of the batch losses, as Keras reports it). Returns the History."""
    import tensorflow as tf

    n = len(tf.nest.flatten(y)[0])
    steps = -(-n // batch_size)
    cbs = keras.callbacks.CallbackList(
        callbacks, add_history=True, add_progbar=False, model=model, verbose=verbose, epochs=epoch + 1, steps=steps
    )
    history = next(c for c in cbs.callbacks if isinstance(c, keras.callbacks.History))
    loop = _graph_loop(model, batch_size, x, y)
    chunk = STEPS_PER_CALL * batch_size
    cbs.on_train_begin()
    cbs.on_epoch_begin(epoch)
    total = 0.0
    for step, start in zip(range(0, steps, STEPS_PER_CALL), range(0, n, chunk)):
        cbs.on_train_batch_begin(step)
        part = tf.nest.map_structure(lambda a, s=start: a[s : s + chunk], (x, y))
        total += float(loop(*part))
        done = min(n, start + chunk)
        cbs.on_train_batch_end(min(steps, step + STEPS_PER_CALL) - 1, {"loss": total / done})
    logs = {"loss": total / n}
    cbs.on_epoch_end(epoch, logs)
    cbs.on_train_end(logs)
    return history


def run_epoch(
    model: keras.Model,
    rows: tuple,
    num_items: int,
    num_negatives: int,
    epoch: int,
    *,
    seed: int,
    batch_size: int,
    feed=None,
    targets=None,
    verbose=0,
    callbacks=None,
):
    """One epoch of the course's training loop, shared by :func:`train` and lesson 04's ``fit_custom``.

    ``rows = (pos_u, pos_i, neg_u, neg_i, positive_keys)``: the training positives, explicit negatives (int
    arrays ``[n]``, possibly empty) and the sorted keys ``user * num_items + item`` of the positives. Epoch
    ``epoch`` (0-based, counted from the first epoch ever trained) draws its negatives and shuffle from
    ``numpy.random.default_rng([seed, epoch])`` (:func:`epoch_rows`), then trains on the rows in that order, in
    batches of ``batch_size``: the train step of ``model.fit`` (same loss, gradients and optimizer), run
    ``STEPS_PER_CALL`` steps per call of one compiled TensorFlow loop instead of one step per call, which
    streams rows 1.65-2.5x faster (benchmarks/results/speed.md). Models that loop does not cover (compiled
    metrics, ``run_eagerly``, another backend) go through ``model.fit``.
    ``feed(user_idx, item_idx) -> inputs`` and ``targets(labels) -> y`` adapt the rows to a model with other
    inputs or several outputs (default ``{"user_idx": u, "item_idx": i}`` and the float32 labels ``[n]``).
    Returns ``(keras History, rows in the epoch)``.
    """
    pos_u, pos_i, neg_u, neg_i, keys = rows
    rng = np.random.default_rng([int(seed), int(epoch)])
    u, i, y = epoch_rows(pos_u, pos_i, neg_u, neg_i, keys, num_items, int(num_negatives), rng)
    x = {"user_idx": u, "item_idx": i} if feed is None else feed(u, i)
    y = y if targets is None else targets(y)
    if _graph_loop_ok(model):
        return _fit_one_epoch(model, x, y, int(batch_size), int(epoch), verbose, callbacks), len(u)
    h = model.fit(
        x,
        y,
        batch_size=int(batch_size),
        epochs=int(epoch) + 1,
        initial_epoch=int(epoch),
        shuffle=False,
        verbose=verbose,
        callbacks=callbacks,
    )
    return h, len(u)


def train(
    model: keras.Model,
    split,
    epochs: int | None = None,
    num_negatives: int | None = None,
    batch_size: int | None = None,
    *,
    seed: int = 0,
    verbose="auto",
    eval_metrics: bool = True,
    eval_on: str | None = None,
    k: int = 10,
    patience: int | None = None,
    callbacks=None,
    jit_compile: bool | None = None,
    initial_epoch: int = 0,
) -> TrainHistory:
    """Train ``model`` (from :func:`build_model`) on ``split.train`` with binary cross-entropy and Adam. Lesson 04.

    Parameters (``None`` = the model's entry in :data:`DEFAULTS`)
    ----------
    split : a ``Split`` (or a DataFrame of training rows ``user_idx, item_idx[, label]``; then no per-epoch
        evaluation). With a ``label`` column, ``label == 1`` rows are positives and ``label == 0`` rows explicit
        negatives (the original course's protocol: ``num_negatives=0`` trains on the labels alone).
    epochs : passes over the training positives (positive whole number). ``None``: the entry in :data:`DEFAULTS`,
        through :func:`epochs_at_scale` (the same number on ml-latest-small, fewer on data with more positives).
    num_negatives : sampled negatives per positive, drawn anew each epoch (``>= 0``; the paper's 4).
    batch_size : rows per Adam step (4096 by default: see the module docstring for why).
    seed : ``set_seed(seed + initial_epoch)`` (``keras.utils.set_random_seed``) is called first, and epoch ``e``'s negatives and
        shuffling use ``numpy.random.default_rng([seed, e])``: the same seed gives the same history (on the
        same machine; build the model with the same ``seed`` too, as :func:`fit_model` does).
    verbose : Keras' progress output: ``"auto"``/``1`` a bar per epoch, ``2`` one line per epoch, ``0`` silent.
    eval_metrics : evaluate HR@k / NDCG@k (sampled protocol) after each epoch on ``split.valid`` if present, else
        ``split.test`` (a random split with labels gets ROC-AUC / PR-AUC instead). ``False`` skips it.
    eval_on : force ``"valid"`` or ``"test"``.
    patience : stop when NDCG@k (ROC-AUC for labels) has not improved for this many epochs and restore the
        best epoch's weights; ``None`` trains all ``epochs``.
    callbacks : extra Keras callbacks (e.g. a widget's live plot).
    jit_compile : XLA for the train step; ``None`` keeps the model's setting (Keras' ``"auto"``: off on CPU).
    initial_epoch : epochs already done (a widget training one epoch per call passes 0, 1, 2, ...): epoch ``e``'s
        negatives and order come from ``numpy.random.default_rng([seed, e])``, so ``train(m, s, 3)`` and three
        calls ``train(m, s, 1, initial_epoch=e)`` see the same rows.

    Returns a :class:`TrainHistory` (``history["loss"]``, ``["hr@10"]``, ``["ndcg@10"]``, ``["seconds"]``).

    Speed on ml-latest-small (302,500 rows per epoch, the default "mlp", 2 CPU cores): ~0.9-1.1 M rows/s after
    the first epoch, i.e. ~0.3 s per epoch; the first epoch adds ~0.5-1 s of graph tracing. See the module
    docstring for the alternatives measured.
    """
    interaction = interaction_of(model)
    defaults = DEFAULTS[interaction]
    num_negatives = defaults["num_negatives"] if num_negatives is None else num_negatives
    batch_size = defaults["batch_size"] if batch_size is None else batch_size
    if epochs is not None:
        epochs = whole_number(epochs, "epochs")
    batch_size = whole_number(batch_size, "batch_size")
    num_negatives = whole_number(num_negatives, "num_negatives", minimum=0)
    initial_epoch = whole_number(initial_epoch, "initial_epoch", minimum=0)
    if patience is not None:
        patience = whole_number(patience, "patience", hint="or None for no early stopping")
    n_users, n_items = table_sizes(model)
    split = _as_split(split, n_users, n_items)
    if split.num_users > n_users or split.num_items > n_items:
        raise ValueError(
            f"The split has {split.num_users} users x {split.num_items} items but the model's tables hold "
            f"{n_users} x {n_items}: build the model with build_model(split.num_users, split.num_items, ...)."
        )
    pos_u, pos_i, neg_u, neg_i = _training_rows(split)
    if len(pos_u) == 0:
        raise ValueError("The training table has no positive rows (label == 1): nothing to learn from.")
    if epochs is None:  # the tuned default, as many Adam steps as on ml-latest-small on larger data
        epochs = epochs_at_scale(defaults["epochs"], len(pos_u))
    if num_negatives == 0 and len(neg_u) == 0:
        raise ValueError(
            "num_negatives=0 and the training table has no label == 0 rows: every target would be 1. "
            "Use num_negatives >= 1 (the paper's 4) or a split with explicit labels."
        )
    for name, v, size in (("user_idx", np.r_[pos_u, neg_u], n_users), ("item_idx", np.r_[pos_i, neg_i], n_items)):
        if v.min() < 0 or v.max() >= size:
            raise ValueError(f"Training {name} values must lie in [0, {size}); found {v.min()} to {v.max()}.")
    keys = np.unique(pos_u * n_items + pos_i)

    set_seed(seed + initial_epoch)
    set_known_items(model, np.unique(pos_i))
    if jit_compile is not None and bool(model.jit_compile) != bool(jit_compile):
        model.jit_compile = bool(jit_compile)
        model.train_function = None

    target = _eval_target(split, eval_on) if eval_metrics else None
    if eval_on is not None and not eval_metrics:
        raise ValueError("eval_on was given but eval_metrics=False; drop one of them.")
    cbs = list(callbacks or [])
    evaluator = None
    if target is not None:
        evaluator = EvalCallback(split, which=target[0], protocol=target[1], k=k)
        cbs.insert(0, evaluator)
    verbose_flag = 1 if verbose == "auto" else verbose
    if verbose_flag:
        cbs.append(_Progbar(int(initial_epoch) + int(epochs)))
    monitor = (evaluator.keys[1] if target[1] != "labels" else "roc_auc") if evaluator is not None else None
    if patience is not None and monitor is None:
        raise ValueError(
            "patience needs a per-epoch evaluation: keep eval_metrics=True and use a split with "
            "validation or test negatives."
        )

    hist = TrainHistory(eval_on=None if target is None else f"{target[0]} ({target[1]})")
    best, best_weights, waited = -np.inf, None, 0
    start = time.perf_counter()
    for epoch in range(int(epochs)):
        t0 = time.perf_counter()
        h, n_rows = run_epoch(
            model,
            (pos_u, pos_i, neg_u, neg_i, keys),
            n_items,
            num_negatives,
            initial_epoch + epoch,
            seed=seed,
            batch_size=batch_size,
            verbose=verbose_flag,
            callbacks=cbs,
        )
        hist.train_seconds += time.perf_counter() - t0 - (evaluator.seconds - hist.eval_seconds if evaluator else 0)
        hist.eval_seconds = evaluator.seconds if evaluator else 0.0
        hist.rows_per_epoch = n_rows
        for key, values in h.history.items():
            hist.history.setdefault(key, []).extend(float(v) for v in values)
        hist.history.setdefault("seconds", []).append(time.perf_counter() - start)
        hist.epochs = epoch + 1
        if not np.isfinite(hist.history["loss"][-1]):
            raise ValueError(
                f"The loss became {hist.history['loss'][-1]} in epoch {epoch + 1}: lower the learning rate."
            )
        if monitor is not None:
            value = hist.history[monitor][-1]
            if value > best:
                best, hist.best_epoch, waited = value, epoch + 1, 0
                if patience is not None:
                    best_weights = model.get_weights()
            else:
                waited += 1
                if patience is not None and waited >= patience:
                    hist.stopped_early = True
                    break
    if patience is not None and best_weights is not None and hist.best_epoch != hist.epochs:
        model.set_weights(best_weights)
    hist.seconds = time.perf_counter() - start
    return hist
