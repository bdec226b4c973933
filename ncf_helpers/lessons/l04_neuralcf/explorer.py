"""The interaction explorer of lesson 04 (also usable in 05 and 06): change how a user and an item interact,
train, and see what changed.

Plain functions first - the lesson calls them once without widgets, so it reads (and its tests run) the same
without a front end:

* :func:`explorer_split` - the split every run is scored on (leave-last-one-out, rating >= 3.5, validation);
* :func:`train_interaction` - build + train one configuration (:func:`ncf_helpers.models.fit_model`) and collect
  everything the views show, as an :class:`InteractionRun`;
* :func:`reference_metrics` - HR@10 / NDCG@10 of popularity, ItemCF and iALS on the same split, computed
  once per split and kernel (:func:`ncf_helpers.ui.base.shared`);
* :func:`movie_panel`, :func:`neighbours`, :func:`serving_vectors` - the similarity and "same vector space?"
  views' data; the figures are in :mod:`ncf_helpers.lessons.l04_neuralcf.explorer_plots`.

Then :class:`InteractionExplorer`, the widget: controls (interaction, embedding dimension, MLP layers, epochs,
negatives, seed), a Train button, a movie picker, and four views updated after each run - the training curve,
HR@10 / NDCG@10 beside the reference bars with a history table of the configurations tried, the similarity
heatmap of a panel of well-known movies with the picked movie's top-10 neighbours, and the embedding dot
product against the model's score. It is an :class:`~ncf_helpers.ui.base.Explorer`: a configuration
trained before comes back from the cache at once, controls are disabled while training, and errors (an
impossible layer size) are shown inside the widget.

TensorFlow is imported on the first training run, not when this module is imported.
"""

from __future__ import annotations

import dataclasses
import html
import re
import time
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as W
import numpy as np
import pandas as pd

from ncf_helpers.common import whole_number
from ncf_helpers.ui.base import Explorer, Progress, ResultCache, data_key, figure_png, shared

__all__ = [
    "EXPLORER_DEFAULTS",
    "FAST_EPOCHS",
    "InteractionExplorer",
    "InteractionRun",
    "PANEL_TITLES",
    "explorer_split",
    "movie_panel",
    "neighbours",
    "parse_layers",
    "reference_metrics",
    "reference_models",
    "serving_vectors",
    "train_interaction",
]

INTERACTIONS = ("dot", "gmf", "mlp", "neumf", "two_tower")
HIDDEN_USERS = ("mlp", "neumf", "two_tower")  # the interactions that read the "MLP layers" control

EXPLORER_DEFAULTS: dict[str, Any] = dict(
    interaction="mlp", embedding_dim=32, hidden=(10, 10), epochs=6, num_negatives=4, seed=0
)
"""The explorer's starting configuration (also :func:`train_interaction`'s defaults): the original course's NeuralCF
(``Dense(10) x 2``) with 32-d embeddings and 6 epochs - lesson 04's ``EPOCHS``, so the lesson's own MLP run is
the explorer's first cached configuration - fewer than :data:`ncf_helpers.models.DEFAULTS` (12-20), so a new
configuration trains in about 6-12 s on ml-latest-small on 2 CPU cores (``benchmarks/results/explorer.md``);
the learning curve shows what more epochs would add. Batch size,
learning rate, L2 and the output layer are each interaction's :data:`~ncf_helpers.models.DEFAULTS`."""

FAST_EPOCHS = 2
"""Epochs the explorer starts with when ``fast=True`` (the notebook tests)."""

MAX_UNITS = 1024
"""Largest MLP layer the explorer accepts, so one run stays interactive."""

PANEL_TITLES = (
    "Toy Story (1995)",
    "Lion King, The (1994)",
    "Aladdin (1992)",
    "Star Wars: Episode IV",
    "Matrix, The (1999)",
    "Jurassic Park (1993)",
    "Godfather, The (1972)",
    "Pulp Fiction (1994)",
    "Silence of the Lambs, The (1991)",
    "Shawshank Redemption, The (1994)",
    "Forrest Gump (1994)",
    "Titanic (1997)",
)
"""Well-known movies of ml-latest-small, grouped by kind (animation, sci-fi/adventure, crime, drama), so a
good embedding shows blocks along the diagonal of the similarity heatmap."""


# ---------------------------------------------------------------------------------------------- data
def _which(split) -> str:
    ok = split.valid is not None and len(split.valid) > 0 and split.valid_negatives is not None
    return "valid" if ok else "test"


def _train_counts(split) -> np.ndarray:
    """Training positives per item: int ``[num_items]``."""
    train = split.train_positives()
    return np.bincount(train["item_idx"].to_numpy(np.int64), minlength=split.num_items)


def movie_panel(dataset, split=None, titles=PANEL_TITLES, size: int = 12) -> list[int]:
    """``item_idx`` of a panel of well-known movies for the similarity heatmap (lesson 04).

    Each title in ``titles`` is looked up with ``dataset.find_items`` (the most-rated match); titles that are
    missing (synthetic data, another MovieLens version) are replaced by the most popular remaining items, so
    the panel always has ``size`` items (fewer only if the catalogue is smaller). Without a ``dataset``, the
    most popular items of ``split`` are used.
    """
    if dataset is None and split is None:
        raise ValueError("movie_panel needs a dataset (to find titles) or a split (to find popular items).")
    size = int(size)
    if size < 2:
        raise ValueError(f"size must be at least 2 movies, got {size}.")
    chosen: list[int] = []
    if dataset is not None:
        for text in titles:
            found = dataset.find_items(text, limit=1)
            if len(found) and int(found["num_ratings"].iloc[0]) > 0:
                idx = int(found["item_idx"].iloc[0])
                if idx not in chosen:
                    chosen.append(idx)
            if len(chosen) >= size:
                break
    if len(chosen) < size:
        if split is not None:
            counts = _train_counts(split)
        else:
            counts = np.bincount(dataset.ratings["item_idx"].to_numpy(np.int64), minlength=dataset.num_items)
        for idx in np.argsort(-counts, kind="stable"):
            if len(chosen) >= min(size, len(counts)):
                break
            if int(idx) not in chosen:
                chosen.append(int(idx))
    return chosen


def _titles(dataset, num_items: int) -> np.ndarray:
    if dataset is not None and hasattr(dataset, "items") and len(dataset.items) >= num_items:
        return dataset.items["title"].astype(str).to_numpy()
    return np.array([f"item {i}" for i in range(num_items)], dtype=object)


# ---------------------------------------------------------------------------------------------- references
def explorer_split(dataset, seed: int = 0, num_negatives: int = 99, threshold: float = 3.5):
    """The split the explorer scores on (lesson 04): leave-last-one-out of the positives (rating >= 3.5), with a
    validation item per user (the per-epoch curves and the bars use it; the test item stays untouched while
    you tune) and ``num_negatives`` sampled negatives per held-out item."""
    from ncf_helpers.data import leave_last_one_out

    return leave_last_one_out(dataset, num_negatives=num_negatives, seed=seed, threshold=threshold, validation=True)


def reference_models(split, *, fast: bool = False) -> dict:
    """``{"Popularity": ..., "ItemCF": ..., "iALS": ...}`` fitted on ``split`` (lessons 02-03's models), once
    per split and kernel. ``fast=True``: a smaller, quicker ALS (the notebook tests)."""

    def fit():
        from ncf_helpers.classic import ImplicitALS, ItemCF, Popularity

        als = ImplicitALS(embedding_dim=32, iterations=5) if fast else ImplicitALS()
        models = {"Popularity": Popularity(), "ItemCF": ItemCF(), "iALS": als}
        for model in models.values():
            model.fit(split)
        return models

    return shared("reference_models", {"data": data_key(split), "fast": bool(fast)}, fit)


def reference_metrics(
    split, *, fast: bool = False, which: str | None = None, progress: Progress | None = None
) -> pd.DataFrame:
    """HR@10 and NDCG@10 of the fixed reference models on ``split`` (lessons 02-03's models): popularity,
    ItemCF and implicit MF by ALS, evaluated with the sampled protocol on ``which`` (default: the validation
    item if the split has one, else the test item).

    Returns a DataFrame indexed by model name (``"Popularity"``, ``"ItemCF"``, ``"iALS"``) with columns
    ``hr@10``, ``ndcg@10`` (floats in ``[0, 1]``). The models are fitted once per split and kernel
    (:func:`reference_models`, shared with lesson 06's protocol explorer), whichever explorer
    or cell asks first (``fast=True``: a smaller, quicker ALS).
    """
    which = which or _which(split)

    def compute():
        from ncf_helpers.evaluate import evaluate

        if progress is not None:
            progress.status("Fitting the reference models once for this split (popularity, ItemCF, MF) ...")
        start = time.perf_counter()
        models = reference_models(split, fast=fast)
        rows = {}
        for name, model in models.items():
            res = evaluate(model, split, which=which)
            rows[name] = {"hr@10": res["hr@10"], "ndcg@10": res["ndcg@10"]}
        frame = pd.DataFrame(rows).T
        frame.attrs["seconds"] = time.perf_counter() - start
        return frame

    return shared("reference_metrics", {"data": data_key(split), "which": which, "fast": bool(fast)}, compute)


# ---------------------------------------------------------------------------------------------- one run
@dataclass
class InteractionRun:
    """Everything the explorer's views show about one trained configuration (lesson 04).

    Attributes
    ----------
    config : ``interaction, embedding_dim, hidden, epochs, num_negatives, seed``.
    history : DataFrame, one row per epoch: ``epoch, loss, hr@10, ndcg@10, seconds`` (validation metrics).
    metrics : ``{"hr@10", "ndcg@10"}`` after the last epoch on ``which`` (``"valid"`` or ``"test"``).
    test_metrics : the same on the test item (reported, not used for choosing).
    seconds : wall time of build + training + evaluation.
    panel, panel_titles : ``item_idx`` and titles of the heatmap's movies; ``panel_similarity`` float
        ``[len(panel), len(panel)]`` cosine similarities in ``[-1, 1]`` of their item vectors.
    item_vectors : float32 ``[num_items, d]``, the space of the similarity views (``KerasRecommender.item_factors``:
        the item embedding; NeuMF: its GMF embedding; two-tower: the item tower's output).
    item_counts : int ``[num_items]``, training positives per item (neighbour lists skip rare items).
    pairs : DataFrame ``user_idx, item_idx, dot, score, positive`` for a sample of (user, item) pairs: ``dot``
        = user vector . item vector (:func:`serving_vectors`), ``score`` = the model's logit.
    correlation : Pearson r of ``pairs.dot`` and ``pairs.score``; ``vectors`` says which vectors were used.
    model : the trained :class:`~ncf_helpers.models.KerasRecommender` (``None`` in the explorer's cache).
    renders : the explorer's drawn views as PNG bytes, keyed by ``(view, variant)``.
    """

    config: dict
    history: pd.DataFrame
    metrics: dict
    test_metrics: dict
    seconds: float
    panel: list
    panel_titles: list
    panel_similarity: np.ndarray
    item_vectors: np.ndarray
    item_counts: np.ndarray
    pairs: pd.DataFrame
    correlation: float
    vectors: str
    which: str = "valid"
    random_hr: float | None = None
    model: Any = field(default=None, repr=False)
    renders: dict = field(default_factory=dict, repr=False, compare=False)
    """PNG bytes of the views already drawn for this run (the explorer shows a cached run without redrawing)."""

    @property
    def interaction(self) -> str:
        return self.config["interaction"]

    @property
    def label(self) -> str:
        """Short name for tables and legends, e.g. ``"MLP 32d [10,10]"``."""
        from ncf_helpers.lessons.l04_neuralcf.explorer_plots import INTERACTION_LABELS

        c = self.config
        name = f"{INTERACTION_LABELS.get(c['interaction'], c['interaction'])} {c['embedding_dim']}d"
        if c["interaction"] in HIDDEN_USERS:
            name += " [" + ",".join(str(h) for h in c["hidden"]) + "]"
        return name

    def row(self) -> dict:
        """One row of the explorer's history table."""
        c = self.config
        return {
            "interaction": c["interaction"],
            "dim": c["embedding_dim"],
            "layers": ",".join(str(h) for h in c["hidden"]) if c["interaction"] in HIDDEN_USERS else "-",
            "epochs": c["epochs"],
            "negatives": c["num_negatives"],
            "seed": c["seed"],
            "hr@10": self.metrics["hr@10"],
            "ndcg@10": self.metrics["ndcg@10"],
            "seconds": self.seconds,
        }

    def __repr__(self) -> str:
        return (
            f"InteractionRun({self.label}, {self.config['epochs']} epochs: HR@10 {self.metrics['hr@10']:.3f}, "
            f"NDCG@10 {self.metrics['ndcg@10']:.3f} ({self.which}), r(dot, score) = {self.correlation:.3f}, "
            f"{self.seconds:.1f} s)"
        )


def parse_layers(text) -> tuple[int, ...]:
    """``"64, 32, 16"`` (or a tuple/list of ints) -> ``(64, 32, 16)``; ``""`` -> ``()`` (no hidden layer).

    Raises ``ValueError`` with a readable message for anything else (the explorer shows it in the widget).
    """
    if isinstance(text, (tuple, list)):
        parts = list(text)
        text = ", ".join(str(p) for p in parts)
    else:
        text = str(text).strip().strip("()[]")
        parts = [p for p in re.split(r"[,\s]+", text) if p]
    sizes = []
    for p in parts:
        try:
            value = int(p)
            if isinstance(p, float) and p != value:
                raise ValueError
        except (TypeError, ValueError):
            raise ValueError(
                f"MLP layers must be whole numbers separated by commas, such as '64, 32, 16'; could not read {p!r}."
            ) from None
        if value <= 0:
            raise ValueError(
                f"Every MLP layer needs at least one unit; got {value} in {text!r}. "
                "Use e.g. '10, 10', or leave the field empty for no hidden layer."
            )
        if value > MAX_UNITS:
            raise ValueError(
                f"A layer of {value} units is too big for the explorer (at most {MAX_UNITS}, so a run "
                "stays interactive); try '64, 32'."
            )
        sizes.append(value)
    return tuple(sizes)


def _logit(scores: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(scores, dtype=np.float64), 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def serving_vectors(rec) -> tuple[np.ndarray, np.ndarray, str]:
    """``(U [num_users, d'], V [num_items, d'], description)``: user and item vectors whose inner product is the
    model's logit when the model is an inner-product model (lessons 04-05's "same vector space?").

    * ``"dot"``, ``"gmf"`` and a two-tower with a logit output: :func:`ncf_helpers.models.serving.inner_product_form`,
      the logit exactly (``[p_u, 1, b_u] . [q_i, b_i, 1]``: the biases ride along as extra coordinates, the usual
      trick to serve a biased MF from a nearest-neighbour index; GMF is MF with learned weights ``h``);
    * ``"two_tower"``: the towers' outputs, exactly (for the original course's ``sigmoid_dense`` output the logit is
      ``w (u . v) + b``, still a line);
    * ``"mlp"``: ``p_u . q_i``, the only vectors the model has; the network does something else with them;
    * ``"neumf"``: the GMF branch, folded as for GMF; the MLP branch's part of the score is left out.
    """
    from ncf_helpers.models.builders import item_vectors, output_of, user_vectors
    from ncf_helpers.models.serving import inner_product_form

    model, it = rec.model, rec.interaction
    exact = inner_product_form(rec)  # dot, gmf, two_tower with a logit output: the logit exactly
    if exact is not None:
        U, V = exact
        if it == "dot":
            biased = U.shape[1] > np.asarray(rec.user_factors).shape[1]
            return (
                U,
                V,
                ("[p_u, 1, b_u] · [q_i, b_i, 1]: embeddings and biases" if biased else "p_u · q_i: the embeddings"),
            )
        if it == "gmf":
            return U, V, "[p_u ∘ h, b] · [q_i, 1]: GMF as a dot product"
        return U, V, "user tower output · item tower output"
    if it == "neumf":  # the GMF branch, folded as for GMF; the MLP branch's part of the score is left out
        P = model.get_layer("gmf_user_embedding").get_weights()[0]
        Q = model.get_layer("gmf_item_embedding").get_weights()[0]
        w, b = model.get_layer("prediction").get_weights()
        h = w[: P.shape[1], 0]
        U = np.hstack([P * h, np.full((P.shape[0], 1), b[0], P.dtype)])
        return U, np.hstack([Q, np.ones((Q.shape[0], 1), Q.dtype)]), "GMF branch only: [p_u ∘ h, b] · [q_i, 1]"
    if it == "two_tower":
        U, V = user_vectors(model), item_vectors(model)
        if output_of(model) == "sigmoid_dense":
            return U, V, "user tower · item tower, then Dense(1)"
        return U, V, "user tower output · item tower output"
    P = model.get_layer("user_embedding").get_weights()[0]
    Q = model.get_layer("item_embedding").get_weights()[0]
    return P, Q, "p_u · q_i: the embeddings the MLP reads"


def _pairs(rec, split, num_pairs: int, seed: int) -> tuple[pd.DataFrame, float, str]:
    """A sample of (user, item) pairs, half training positives, half uniform: their vector dot and logit."""
    from ncf_helpers.models.builders import output_of

    rng = np.random.default_rng(seed + 1)
    train = split.train_positives()
    n_pos = min(num_pairs // 2, len(train))
    take = rng.choice(len(train), size=n_pos, replace=False)
    u = np.concatenate(
        [train["user_idx"].to_numpy(np.int64)[take], rng.integers(0, split.num_users, num_pairs - n_pos)]
    )
    i = np.concatenate(
        [train["item_idx"].to_numpy(np.int64)[take], rng.integers(0, split.num_items, num_pairs - n_pos)]
    )
    positive = np.zeros(len(u), bool)
    positive[:n_pos] = True
    U, V, description = serving_vectors(rec)
    dots = np.einsum("nd,nd->n", U[u].astype(np.float64), V[i].astype(np.float64))
    scores = np.asarray(rec.score(u, i), dtype=np.float64)
    if output_of(rec.model) != "logit":
        scores = _logit(scores)
    ok = dots.std() > 0 and scores.std() > 0
    r = float(np.corrcoef(dots, scores)[0, 1]) if ok else float("nan")
    frame = pd.DataFrame({"user_idx": u, "item_idx": i, "dot": dots, "score": scores, "positive": positive})
    return frame, r, description


def _cosine(vectors: np.ndarray) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float64)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    v = v / np.maximum(n, 1e-12)
    return np.clip(v @ v.T, -1.0, 1.0)


def _progress_callback(progress: Progress, epochs: int, label: str):
    import keras

    class ProgressCallback(keras.callbacks.Callback):
        """Moves the explorer's bar one step per epoch and writes loss / HR@10 into the status line; between
        epochs, the batch count (at most twice a second)."""

        def __init__(self):
            super().__init__()
            self.epoch = 0
            self.last = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            if now - self.last > 0.5:
                self.last = now
                steps = (self.params or {}).get("steps") or "?"
                progress.status(f"Training {label}: epoch {self.epoch + 1}/{epochs}, batch {batch + 1}/{steps} ...")

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            text = f"Training {label}: epoch {epoch + 1}/{epochs} done, loss {logs.get('loss', float('nan')):.4f}"
            if "hr@10" in logs:
                text += f", validation HR@10 {logs['hr@10']:.3f}"
            progress.update(1, text)

    return ProgressCallback()


def train_interaction(
    split,
    interaction: str = "mlp",
    *,
    embedding_dim: int = 32,
    hidden=(10, 10),
    epochs: int = 6,
    num_negatives: int = 4,
    seed: int = 0,
    dataset=None,
    panel: list[int] | None = None,
    progress: Progress | None = None,
    num_pairs: int = 1500,
    keep_model: bool = True,
    **options,
) -> InteractionRun:
    """Train one configuration and collect what the explorer shows (lesson 04; also 05 and 06).

    Parameters
    ----------
    split : a leave-last-one-out ``Split``, ideally with validation rows (:func:`explorer_split`).
    interaction : ``"dot"``, ``"gmf"``, ``"mlp"``, ``"neumf"`` or ``"two_tower"``.
    embedding_dim : width of each ID embedding (NeuMF: of both branches), positive int.
    hidden : MLP layer sizes (``"mlp"``, ``"neumf"``) or tower sizes (``"two_tower"``), e.g. ``(10, 10)`` or
        ``"64, 32"``; ignored by ``"dot"`` and ``"gmf"``.
    epochs, num_negatives, seed : training length, sampled negatives per positive, random seed.
    dataset : for movie titles (the similarity panel); ``panel`` overrides the panel's ``item_idx``.
    progress : a :class:`~ncf_helpers.ui.base.Progress` (the widget's bar); one step per epoch.
    num_pairs : (user, item) pairs sampled for the dot-vs-score view.
    keep_model : keep the trained ``KerasRecommender`` in ``run.model`` (the explorer drops it to keep its
        cache small).
    options : any other :func:`ncf_helpers.models.fit_model` option (``learning_rate``, ``batch_size``, ``l2``,
        ...; not given: the interaction's :data:`ncf_helpers.models.DEFAULTS`); ``jit_compile`` defaults to
        ``False`` here (see the code comment).

    Returns an :class:`InteractionRun`. Raises ``ValueError`` for an unknown interaction or impossible sizes.
    """
    if interaction not in INTERACTIONS:
        raise ValueError(f"Unknown interaction {interaction!r}; choose one of {', '.join(INTERACTIONS)}.")
    hidden = parse_layers(hidden)
    embedding_dim = whole_number(embedding_dim, "embedding_dim")
    epochs = whole_number(epochs, "epochs")
    num_negatives = whole_number(num_negatives, "num_negatives")
    seed = whole_number(seed, "seed", minimum=0)
    progress = progress or Progress()
    from ncf_helpers.evaluate import evaluate
    from ncf_helpers.models import fit_model

    config = dict(
        interaction=interaction,
        embedding_dim=int(embedding_dim),
        hidden=list(hidden),
        epochs=int(epochs),
        num_negatives=int(num_negatives),
        seed=int(seed),
    )
    label = interaction.replace("_", "-")
    build: dict[str, Any] = {"embedding_dim": int(embedding_dim)}
    if interaction in HIDDEN_USERS:
        build["hidden"] = hidden
    if interaction == "neumf":
        build["mlp_embedding_dim"] = int(embedding_dim)
    which = _which(split)
    progress.start(int(epochs) + 1, f"Training {label}: building the model (the first epoch also builds its graph) ...")
    start = time.perf_counter()
    callbacks = [_progress_callback(progress, int(epochs), label)] + list(options.pop("callbacks", []) or [])
    # XLA makes later epochs faster but compiling a new model costs 2-3x an epoch on 2 CPU cores: with a fresh
    # model per configuration and few epochs, the plain graph is quicker (benchmarks/results/explorer.md).
    options.setdefault("jit_compile", False)
    rec, hist = fit_model(
        split,
        interaction,
        epochs=int(epochs),
        seed=int(seed),
        verbose=0,
        num_negatives=int(num_negatives),
        callbacks=callbacks,
        eval_on=which,
        **build,
        **options,
    )
    progress.status(f"Training {label}: done; scoring the test item and computing similarities ...")
    history = hist.frame()
    if "hr@10" in history.columns:
        metrics = {"hr@10": float(history["hr@10"].iloc[-1]), "ndcg@10": float(history["ndcg@10"].iloc[-1])}
    else:  # pragma: no cover - train() always evaluates a split with sampled negatives
        res = evaluate(rec, split, which=which)
        metrics = {"hr@10": res["hr@10"], "ndcg@10": res["ndcg@10"]}
    test = evaluate(rec, split, which="test")
    vectors = np.asarray(rec.item_factors, dtype=np.float32)
    if panel is None:
        panel = movie_panel(dataset, split)
    titles = _titles(dataset, split.num_items)
    pairs, r, description = _pairs(rec, split, int(num_pairs), int(seed))
    negatives = split.valid_negatives if which == "valid" else split.test_negatives
    run = InteractionRun(
        config=config,
        history=history,
        metrics=metrics,
        test_metrics={"hr@10": test["hr@10"], "ndcg@10": test["ndcg@10"]},
        seconds=time.perf_counter() - start,
        panel=[int(p) for p in panel],
        panel_titles=[str(titles[p]) for p in panel],
        panel_similarity=_cosine(vectors[np.asarray(panel)]),
        item_vectors=vectors,
        item_counts=_train_counts(split),
        pairs=pairs,
        correlation=r,
        vectors=description,
        which=which,
        random_hr=min(10, negatives.shape[1] + 1) / (negatives.shape[1] + 1),
        model=rec if keep_model else None,
    )
    progress.update(1)
    return run


def neighbours(run: InteractionRun, item_idx: int, dataset=None, k: int = 10, min_count: int = 10) -> pd.DataFrame:
    """The ``k`` items whose vectors are most cosine-similar to ``item_idx``'s in ``run``'s learned space (lesson
    04), among items with at least ``min_count`` training positives (rare items' vectors are mostly noise).

    Returns a DataFrame ``rank, item_idx, title, similarity, train_count`` (similarity in ``[-1, 1]``).
    """
    v = np.asarray(run.item_vectors, dtype=np.float64)
    item_idx = int(item_idx)
    if not 0 <= item_idx < len(v):
        raise ValueError(f"item_idx must be in [0, {len(v)}), got {item_idx}.")
    norms = np.linalg.norm(v, axis=1)
    sims = v @ v[item_idx] / np.maximum(norms * norms[item_idx], 1e-12)
    sims[run.item_counts < min_count] = -np.inf
    sims[item_idx] = -np.inf
    k = int(min(k, np.isfinite(sims).sum()))
    top = np.argsort(-sims, kind="stable")[:k]
    titles = _titles(dataset, len(v))
    return pd.DataFrame(
        {
            "rank": np.arange(1, k + 1),
            "item_idx": top,
            "title": [str(titles[t]) for t in top],
            "similarity": sims[top],
            "train_count": run.item_counts[top],
        }
    )


# ---------------------------------------------------------------------------------------------- HTML tables
_TABLE_CSS = "border-collapse:collapse;font-size:12px;font-family:var(--jp-ui-font-family, sans-serif);margin:4px 0;"


def history_html(rows: list[dict], current: int | None = None) -> str:
    """The explorer's history table: one row per configuration tried (newest first); ``current`` (index into
    ``rows``) is highlighted, the best HR@10 is bold."""
    if not rows:
        return "<i>No configuration trained yet.</i>"
    best = int(np.argmax([r["hr@10"] for r in rows]))
    head = ["#", "interaction", "dim", "layers", "epochs", "negatives", "seed", "HR@10", "NDCG@10", "time"]
    out = [f'<table class="ncf-history" style="{_TABLE_CSS}"><thead><tr>']
    out += [f'<th style="padding:2px 8px;border-bottom:1px solid #999;text-align:right">{h}</th>' for h in head]
    out.append("</tr></thead><tbody>")
    for n in range(len(rows) - 1, -1, -1):
        r = rows[n]
        style = "background:#fff3c4;" if n == current else ""
        weight = "font-weight:bold;" if n == best else ""
        cells = [
            n + 1,
            r["interaction"],
            r["dim"],
            r["layers"],
            r["epochs"],
            r["negatives"],
            r["seed"],
            f"{r['hr@10']:.3f}",
            f"{r['ndcg@10']:.3f}",
            f"{r['seconds']:.1f} s",
        ]
        out.append(
            f'<tr style="{style}">'
            + "".join(
                f'<td style="padding:2px 8px;text-align:right;{weight if j in (7, 8) else ""}">{html.escape(str(c))}</td>'
                for j, c in enumerate(cells)
            )
            + "</tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def neighbours_html(frame: pd.DataFrame, title: str, label: str) -> str:
    rows = "".join(
        f'<tr><td style="padding:1px 6px;text-align:right">{r.rank}</td>'
        f'<td style="padding:1px 6px">{html.escape(r.title)}</td>'
        f'<td style="padding:1px 6px;text-align:right">{r.similarity:.2f}</td>'
        f'<td style="padding:1px 6px;text-align:right;color:#666">{r.train_count}</td></tr>'
        for r in frame.itertuples()
    )
    return (
        f'<div style="font-size:12px"><b>Nearest neighbours of {html.escape(title)}</b> in the {html.escape(label)} '
        f'item space (cosine):<table class="ncf-neighbours" style="{_TABLE_CSS}"><thead><tr>'
        '<th style="padding:1px 6px">#</th><th style="padding:1px 6px;text-align:left">movie</th>'
        '<th style="padding:1px 6px">cosine</th><th style="padding:1px 6px">train positives</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


_HOW_TO_READ = (
    '<div style="font-size:12px;line-height:1.45;padding:4px 8px">'
    "<b>Same vector space?</b> Each point is a (user, item) pair: across, the inner product of a user vector "
    "and an item vector; up, the model's score. On a <b>straight line</b> (r = 1) the score <i>is</i> an inner "
    "product, so item vectors can be computed once and served by a nearest-neighbour search (dot/MF, GMF, "
    "two-tower: lesson 05). A <b>cloud</b> means the network mixes the two embeddings in a way no inner "
    "product reproduces (MLP), so every item must go through the network for every user.<br><br>"
    "<b>Try:</b> MLP against dot with the same embedding size; more epochs; a bigger first layer; several seeds "
    "(how much of a difference is noise?).</div>"
)


# ---------------------------------------------------------------------------------------------- the widget
class InteractionExplorer(Explorer):
    """Lesson 04's widget: pick an interaction and its sizes, press Train, compare (see the module docstring).

    ``InteractionExplorer(dataset, split=None, *, seed=0, fast=False, initial=None)``

    * ``dataset`` - a :class:`~ncf_helpers.data.Dataset` (titles for the movie panel and the picker);
    * ``split`` - the split to train and score on (default :func:`explorer_split` ``(dataset, seed)``);
    * ``fast`` - start with :data:`FAST_EPOCHS` epochs and a quicker ALS reference (the notebook tests);
    * ``initial`` - an :class:`InteractionRun` the lesson already trained (with :func:`train_interaction`): its
      views are shown at once and it is the first row of the history table (no retraining);
    * ``references`` - the reference bars (default :func:`reference_metrics`).

    Drive it from code as the tests do: ``explorer.controls["interaction"].value = "dot"; explorer.run()``.
    ``explorer.picker`` chooses the movie of the neighbour list. Each explorer has its own history table;
    trained configurations are cached per explorer (``cache=`` to share one).
    """

    VIEWS = ("curve", "metrics", "history", "similarity", "neighbours", "dot")

    def __init__(
        self,
        dataset=None,
        split=None,
        *,
        seed: int = 0,
        fast: bool = False,
        initial: InteractionRun | None = None,
        references: pd.DataFrame | None = None,
        panel: list[int] | None = None,
        cache: ResultCache | None = None,
        title: str | None = None,
        **train_options,
    ):
        if split is None:
            if dataset is None:
                raise ValueError(
                    "InteractionExplorer needs a dataset (and optionally a split): "
                    "InteractionExplorer(ds) or InteractionExplorer(ds, split)."
                )
            split = explorer_split(dataset, seed=seed)
        self.dataset, self.split, self.fast = dataset, split, bool(fast)
        self.train_options = train_options
        self.which = _which(split)
        self._data_key = data_key(split)
        self._references = references
        self.panel = list(panel) if panel is not None else movie_panel(dataset, split)
        self.titles = _titles(dataset, split.num_items)
        self.history_rows: list[dict] = []
        self._history_keys: list[str] = []
        self.current_row: int | None = None

        d = EXPLORER_DEFAULTS
        epochs = FAST_EPOCHS if fast else d["epochs"]
        style = {"description_width": "initial"}
        controls = {
            "interaction": W.Dropdown(
                options=[
                    ("dot (MF)", "dot"),
                    ("GMF", "gmf"),
                    ("MLP", "mlp"),
                    ("NeuMF", "neumf"),
                    ("two-tower", "two_tower"),
                ],
                value=d["interaction"],
                description="interaction",
                style=style,
                layout=W.Layout(width="200px"),
            ),
            "embedding_dim": W.Dropdown(
                options=[4, 8, 16, 32, 64, 128],
                value=d["embedding_dim"],
                description="embedding dim",
                style=style,
                layout=W.Layout(width="170px"),
            ),
            "hidden": W.Text(
                value=", ".join(str(h) for h in d["hidden"]),
                description="MLP layers",
                placeholder="e.g. 64, 32, 16",
                style=style,
                layout=W.Layout(width="210px"),
            ),
            "epochs": W.IntSlider(
                value=epochs, min=1, max=30, description="epochs", style=style, layout=W.Layout(width="260px")
            ),
            "num_negatives": W.IntSlider(
                value=d["num_negatives"],
                min=1,
                max=10,
                description="negatives",
                style=style,
                layout=W.Layout(width="260px"),
            ),
            "seed": W.BoundedIntText(
                value=d["seed"], min=0, max=9999, description="seed", style=style, layout=W.Layout(width="130px")
            ),
        }
        super().__init__(
            controls, self._compute, self._render, self.VIEWS, run_label="Train", title=title or "", cache=cache
        )
        self.button.tooltip = "Train this configuration (or fetch it from the cache if trained before)"
        self.status.value = "Choose a configuration and press <b>Train</b>."
        popular = np.argsort(-_train_counts(split), kind="stable")[:300]
        order = self.panel + sorted((int(i) for i in popular if int(i) not in self.panel), key=lambda i: self.titles[i])
        self.picker = W.Dropdown(
            options=[(str(self.titles[i]), int(i)) for i in order],
            value=int(self.panel[0]),
            description="movie",
            style=style,
            layout=W.Layout(width="95%", max_width="460px"),
        )
        self.picker.observe(self._on_pick, names="value")
        self._layout(title)
        if initial is not None:
            self.show_run(initial)

    # ------------------------------------------------------------------ layout
    def _layout(self, title: str | None):
        for name, out in self.views.items():
            out.add_class(f"ncf-view-{name}")
        c = self.controls
        header = W.HTML(
            f'<div style="font-size:14px"><b>{html.escape(title or "Interaction explorer")}</b> · change how a '
            "user and an item interact, press <b>Train</b>, and compare. Scores are on the "
            f"{'validation' if self.which == 'valid' else 'test'} item "
            f"({self.split.valid_negatives.shape[1] if self.which == 'valid' else self.split.num_negatives} "
            "sampled negatives); the test item stays untouched while you tune.</div>"
        )
        rows = W.VBox(
            [
                W.HBox(
                    [c["interaction"], c["embedding_dim"], c["hidden"], c["seed"]],
                    layout=W.Layout(flex_flow="row wrap"),
                ),
                W.HBox([c["epochs"], c["num_negatives"]], layout=W.Layout(flex_flow="row wrap")),
            ]
        )
        status = W.HBox([self.button, self.bar, self.status], layout=W.Layout(align_items="center"))
        two = W.Layout(grid_template_columns="repeat(2, minmax(0, 1fr))", grid_gap="4px 12px", width="100%")
        v = self.views
        body = W.VBox(
            [
                W.GridBox([v["curve"], v["metrics"]], layout=two),
                v["history"],
                W.GridBox([v["similarity"], W.VBox([self.picker, v["neighbours"]])], layout=two),
                W.GridBox([v["dot"], W.HTML(_HOW_TO_READ)], layout=two),
            ]
        )
        self.widget = W.VBox([header, rows, status, self.error, body], layout=W.Layout(width="100%"))
        self.widget.add_class("ncf-interaction-explorer")

    def _set_enabled(self, enabled: bool) -> None:
        super()._set_enabled(enabled)
        if hasattr(self, "picker"):
            self.picker.disabled = not enabled

    # ------------------------------------------------------------------ config -> result
    def config(self) -> dict:
        c = super().config()
        hidden = list(parse_layers(c["hidden"])) if c["interaction"] in HIDDEN_USERS else []
        return {
            "interaction": c["interaction"],
            "embedding_dim": int(c["embedding_dim"]),
            "hidden": hidden,
            "epochs": int(c["epochs"]),
            "num_negatives": int(c["num_negatives"]),
            "seed": int(c["seed"]),
            "data": self._data_key,
            "options": sorted((k, repr(v)) for k, v in self.train_options.items()),
        }

    def references(self, progress: Progress | None = None) -> pd.DataFrame:
        """The reference bars (computed once per split and kernel)."""
        if self._references is None:
            self._references = reference_metrics(self.split, fast=self.fast, which=self.which, progress=progress)
        return self._references

    def _compute(self, config: dict, progress: Progress) -> InteractionRun:
        self.references(progress)
        return train_interaction(
            self.split,
            config["interaction"],
            embedding_dim=config["embedding_dim"],
            hidden=tuple(config["hidden"]),
            epochs=config["epochs"],
            num_negatives=config["num_negatives"],
            seed=config["seed"],
            dataset=self.dataset,
            panel=self.panel,
            progress=progress,
            keep_model=False,
            **self.train_options,
        )

    def show_run(self, run: InteractionRun) -> None:
        """Show a run trained outside the widget (the lesson's cell) and cache it under its configuration."""
        if run.which != self.which or len(run.item_vectors) != self.split.num_items:
            raise ValueError("This run was trained on another split; pass the same split to the explorer.")
        if run.model is not None:  # keep the cache light; the lesson still holds its own reference
            run = dataclasses.replace(run, model=None, renders={})
        c = run.config
        self.controls["interaction"].value = c["interaction"]
        if c["embedding_dim"] not in self.controls["embedding_dim"].options:
            dims = self.controls["embedding_dim"]
            dims.options = sorted({*dims.options, c["embedding_dim"]})
        self.controls["embedding_dim"].value = c["embedding_dim"]
        if c["hidden"]:
            self.controls["hidden"].value = ", ".join(str(h) for h in c["hidden"])
        self.controls["epochs"].value = min(max(c["epochs"], 1), self.controls["epochs"].max)
        self.controls["num_negatives"].value = min(max(c["num_negatives"], 1), self.controls["num_negatives"].max)
        self.controls["seed"].value = c["seed"]
        config = self.config()
        self.cache.get_or_compute(config, lambda: run)
        self.last_result, self.last_config, self.last_cached = run, config, True
        self._render(run, self)
        self.status.value = (
            f"Showing the run trained above ({html.escape(run.label)}). Change something and press <b>Train</b>."
        )

    # ------------------------------------------------------------------ views
    def _remember(self, run: InteractionRun) -> None:
        key = ResultCache.key(run.config)
        if key in self._history_keys:
            self.current_row = self._history_keys.index(key)
        else:
            self._history_keys.append(key)
            self.history_rows.append(run.row())
            self.current_row = len(self.history_rows) - 1

    def _render(self, run: InteractionRun, _explorer=None) -> None:
        from ncf_helpers.lessons.l04_neuralcf.explorer_plots import (
            plot_metric_bars,
            plot_score_vs_dot,
            plot_training_curve,
        )

        self._remember(run)
        refs = self.references()
        best = refs["hr@10"].idxmax()
        refs_key = ResultCache.key(refs[["hr@10", "ndcg@10"]].round(6).to_dict())  # drawn with these bars
        self._figure(
            "curve",
            run,
            refs_key,
            lambda: plot_training_curve(
                run.history,
                title=f"Training curve: {run.label}",
                reference=float(refs.loc[best, "hr@10"]),
                reference_label=f"{best} (best reference)",
            ),
        )
        self._figure(
            "metrics",
            run,
            refs_key,
            lambda: plot_metric_bars(
                run.metrics,
                refs[["hr@10", "ndcg@10"]],
                label=run.label,
                interaction=run.interaction,
                random_hr=run.random_hr,
                split_name="validation" if run.which == "valid" else "test",
            ),
        )
        self.show_html(
            "history",
            '<div style="font-size:12px"><b>Configurations tried</b> (newest first; '
            "highlighted: shown now; bold: best HR@10)</div>" + history_html(self.history_rows, self.current_row),
        )
        self._render_similarity(run)
        self._figure(
            "dot",
            run,
            None,
            lambda: plot_score_vs_dot(
                run.pairs["dot"],
                run.pairs["score"],
                positive=run.pairs["positive"],
                correlation=run.correlation,
                interaction=run.interaction,
                vectors=run.vectors,
            ),
        )

    def _figure(self, view: str, run: InteractionRun, variant, make) -> None:
        """Draw ``make()`` into ``view`` once per run and variant; afterwards show the stored PNG (fast)."""
        png = run.renders.get((view, variant))
        if png is None:
            fig = make()
            png = run.renders[(view, variant)] = figure_png(fig)
            self.show_png(view, png, figure=fig)
        else:
            self.show_png(view, png)

    def _render_similarity(self, run: InteractionRun) -> None:
        from ncf_helpers.lessons.l04_neuralcf.explorer_plots import plot_similarity_heatmap

        picked = int(self.picker.value)
        highlight = run.panel.index(picked) if picked in run.panel else None
        self._figure(
            "similarity",
            run,
            highlight,
            lambda: plot_similarity_heatmap(
                run.panel_similarity, run.panel_titles, highlight=highlight, title=f"Item similarity: {run.label}"
            ),
        )
        frame = neighbours(run, picked, self.dataset)
        space = {"neumf": "GMF-branch", "two_tower": "item-tower"}.get(run.interaction, "embedding")
        self.show_html("neighbours", neighbours_html(frame, str(self.titles[picked]), f"{run.label} {space}"))

    def _on_pick(self, _change) -> None:
        if self.last_result is None or self.busy:
            return
        try:
            self._render_similarity(self.last_result)
        except Exception as exc:  # a picker must never kill the widget either
            self.show_error(exc)
