"""``KerasRecommender``: every Keras model behind the same interface as the classical recommenders (lesson 04).

``fit / score / score_all / recommend / user_factors / item_factors / similar_items`` work the same for a
trained Keras model as for ``ItemKNN`` or ``ALS``, so ``evaluate``, ``compare``, the plots and the widgets
never need to know which kind of model they hold.

Scoring is batched and cheap to call many times (the training widget evaluates after every epoch):

* ``"dot"``, ``"gmf"`` and ``"two_tower"`` score every item for a user with one matrix product of extracted
  vectors (``[users, d] @ [d, num_items]``), no network call per item;
* ``"mlp"`` and ``"neumf"`` have to run the network on every (user, item) row; they go through one compiled
  ``tf.function`` per model (fixed input signature, so no retracing for new batch sizes, and independent of
  the model's ``jit_compile`` setting) over batches of up to ``batch_size`` rows (default 262,144).

Measured for the default "mlp" on 60,800 rows (one sampled evaluation of ml-latest-small: 608 users x 100
candidates; 2 shared cores, medians of 7): ``model.predict`` ~460 ms per call (it builds a data pipeline and
a progress bar each time), eager ``model(x, training=False)`` ~90 ms, ``model.predict_on_batch`` ~21 ms, the
compiled function ~25 ms (the same within noise). A whole ``evaluate(rec, split)`` then takes ~80 ms, so the
per-epoch evaluation of :func:`train` costs little next to an epoch (~2 s).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tempfile  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402

from ..classic.base import Recommender  # noqa: E402
from ..data.checks import check_indices, check_k  # noqa: E402
from .builders import (  # noqa: E402
    BUILD_OPTIONS,
    DEFAULTS,
    PRETRAINED_NEUMF,
    ColdStartGate,
    build_model,
    check_interaction,
    interaction_of,
    item_vectors,
    output_of,
    table_sizes,
    user_genre_profile,
    user_vectors,
)
from .training import TRAIN_OPTIONS, TrainHistory, train  # noqa: E402


def _compiled_predict(model: keras.Model):
    """One ``tf.function`` per model (cached on it): int32 ``[n]`` users and items -> float ``[n]`` outputs.

    The first call traces it; TensorFlow's "triggered tf.function retracing" warning (it counts traces of the
    same Python code across *different* models, which is expected when a lesson trains several models) is
    silenced for that one call only.
    """
    fn = getattr(model, "_ncf_predict_fn", None)
    if fn is not None:
        return fn
    spec = tf.TensorSpec([None], tf.int32)

    @tf.function(input_signature=[spec, spec])
    def predict(users, items):
        return tf.reshape(model({"user_idx": users, "item_idx": items}, training=False), [-1])

    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        predict.get_concrete_function()
    finally:
        logger.setLevel(level)
    model._ncf_predict_fn = predict
    return predict


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


class KerasRecommender(Recommender):
    """A Keras model from :func:`build_model` as a :class:`~ncf_helpers.classic.base.Recommender`. Lesson 04.

    ``KerasRecommender(model)`` wraps a (trained or untrained) model; ``KerasRecommender(interaction="gmf",
    embedding_dim=16)`` builds one at ``fit`` time. ``fit(split, epochs=..., ...)`` calls :func:`train` and keeps
    its :class:`TrainHistory` in ``self.history``.

    Scores are the model's outputs: logits for ``output="logit"`` models, probabilities in ``[0, 1]`` for
    sigmoid outputs (:meth:`predict_proba` always gives probabilities). ``user_idx`` / ``item_idx`` outside the
    embedding tables raise a ``ValueError``.
    """

    def __init__(self, model: keras.Model | None = None, *, interaction: str | None = None, name: str | None = None,
                 batch_size: int = 262_144, **build_options):
        self.model = model
        if model is not None:
            self.interaction = interaction_of(model)
            if interaction is not None and interaction != self.interaction:
                raise ValueError(f"interaction={interaction!r} but the model is a {self.interaction!r} model.")
            num_users, num_items = table_sizes(model)
        else:
            if interaction is None:
                raise ValueError("Pass a Keras model or interaction=... (one of the VALID_INTERACTIONS).")
            self.interaction = check_interaction(interaction)
            num_users = num_items = None
        unknown = sorted(set(build_options) - set(BUILD_OPTIONS))
        if unknown:
            raise ValueError(f"Unknown build option(s) {unknown}; valid ones are {BUILD_OPTIONS}.")
        super().__init__(num_users, num_items)
        self.name = name or self.interaction
        self.build_options = build_options
        self.batch_size = check_k(batch_size, "batch_size")
        self.history: TrainHistory | None = None
        self._seen_known = False
        self._predict_fn = None
        self.fitted = model is not None

    # ------------------------------------------------------------------ fit
    def fit(self, train_data, **train_options) -> "KerasRecommender":
        """Build the model if needed, train it on ``train_data`` (a ``Split``) with :func:`train`, remember the
        training positives (for ``recommend(exclude_seen=True)``). Returns ``self``."""
        unknown = sorted(set(train_options) - set(TRAIN_OPTIONS))
        if unknown:
            raise ValueError(f"Unknown training option(s) {unknown}; valid ones are {TRAIN_OPTIONS}.")
        if self.model is None:
            nu, ni = getattr(train_data, "num_users", None), getattr(train_data, "num_items", None)
            if nu is None:
                raise ValueError("To build the model, fit() needs a Split (it knows num_users and num_items).")
            self.model = build_model(nu, ni, self.interaction, seed=train_options.get("seed", 0), **self.build_options)
            self.num_users, self.num_items = table_sizes(self.model)
            self._predict_fn = None
        self.history = train(self.model, train_data, **train_options)
        self.remember_training(train_data)
        self.fitted = True
        return self

    def remember_training(self, train_data) -> "KerasRecommender":
        """Record which items each user had in training (``recommend(exclude_seen=True)`` skips them), from a
        ``Split`` or a DataFrame with ``user_idx, item_idx`` (``label == 1`` rows if labelled)."""
        df = train_data.train if hasattr(train_data, "train") else train_data
        if "label" in df.columns:
            df = df[df["label"] == 1]
        u, i = check_indices(df["user_idx"].to_numpy(np.int64), df["item_idx"].to_numpy(np.int64),
                             self.num_users, self.num_items)
        self._seen_keys = np.unique(u * self.num_items + i)
        self._seen_known = True
        return self

    # ------------------------------------------------------------------ scoring
    def _predict(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        """Model outputs for int arrays ``u, i`` ``[n]``: float ``[n]``, in batches of ``batch_size`` rows."""
        if self._predict_fn is None:
            self._predict_fn = _compiled_predict(self.model)
        out = np.empty(len(u), dtype=np.float32)
        for lo in range(0, len(u), self.batch_size):
            hi = lo + self.batch_size
            out[lo:hi] = self._predict_fn(tf.constant(u[lo:hi], tf.int32), tf.constant(i[lo:hi], tf.int32)).numpy()
        return out

    def _score(self, user_idx, item_idx) -> np.ndarray:
        return self._predict(user_idx, item_idx)

    def _vector_parts(self):
        """For models scored by a matrix product: ``(left(users) -> [n, d], V [num_items, d], post(s, users))``."""
        it, model = self.interaction, self.model
        if it == "dot":
            V = model.get_layer("item_embedding").get_weights()[0]
            P = model.get_layer("user_embedding").get_weights()[0]
            names = {layer.name for layer in model.layers}
            bu = model.get_layer("user_bias").get_weights()[0][:, 0] if "user_bias" in names else None
            bi = model.get_layer("item_bias").get_weights()[0][:, 0] if "item_bias" in names else None

            def post(s, users):
                if bu is not None:
                    s = s + bu[users, None] + bi[None, :]
                return _sigmoid(s) if output_of(model) == "sigmoid" else s

            return (lambda users: P[users]), V, post
        if it == "gmf":
            V = model.get_layer("item_embedding").get_weights()[0]
            P = model.get_layer("user_embedding").get_weights()[0]
            h, b = model.get_layer("prediction").get_weights()
            sig = output_of(model) == "sigmoid"
            return (lambda users: P[users] * h[:, 0]), V, (lambda s, users: _sigmoid(s + b[0]) if sig else s + b[0])
        if it == "two_tower":
            V = item_vectors(model)
            out = output_of(model)
            if out == "sigmoid_dense":
                w, b = model.get_layer("prediction").get_weights()

                def post(s, users):
                    return _sigmoid(w[0, 0] * s + b[0])
            elif out == "sigmoid":
                def post(s, users):
                    return _sigmoid(s)
            else:
                def post(s, users):
                    return s
            return (lambda users: user_vectors(model, users)), V, post
        return None

    def _score_all(self, user_idx) -> np.ndarray:
        parts = self._vector_parts()
        if parts is not None:
            left, V, post = parts
            s = left(user_idx).astype(np.float64) @ V.T.astype(np.float64)
            return post(s, user_idx)
        n = self.num_items
        rows_per_chunk = max(1, self.batch_size // n)
        out = np.empty((len(user_idx), n), dtype=np.float32)
        items = np.arange(n, dtype=np.int64)
        for lo in range(0, len(user_idx), rows_per_chunk):
            users = user_idx[lo:lo + rows_per_chunk]
            out[lo:lo + len(users)] = self._predict(np.repeat(users, n), np.tile(items, len(users))).reshape(len(users), n)
        return out

    def predict_proba(self, user_idx, item_idx) -> np.ndarray:
        """Probabilities in ``[0, 1]`` for (user, item) pairs (the sigmoid of logit outputs)."""
        s = self.score(user_idx, item_idx)
        return _sigmoid(s) if output_of(self.model) == "logit" else s

    def recommend(self, user_idx, n: int = 10, exclude_seen: bool = True) -> np.ndarray:
        """Top-``n`` items, best first (see the base class). ``exclude_seen`` needs the training data: after
        :meth:`load` or wrapping a trained model, call :meth:`remember_training` (or pass ``split`` to ``load``)."""
        self._require_fit()
        if exclude_seen and not self._seen_known:
            raise ValueError("This recommender does not know the training interactions to exclude: call "
                             ".remember_training(split) first, or recommend(..., exclude_seen=False).")
        return super().recommend(user_idx, n, exclude_seen)

    # ------------------------------------------------------------------ vectors
    @property
    def user_factors(self) -> np.ndarray | None:
        """``[num_users, d]``: the user embedding (two-tower: the user tower's output; NeuMF: the GMF embedding)."""
        if self.model is None:
            return None
        if self.interaction == "neumf":
            return self.model.get_layer("gmf_user_embedding").get_weights()[0]
        return user_vectors(self.model)

    @property
    def item_factors(self) -> np.ndarray | None:
        """``[num_items, d]``: the item embedding (two-tower: the item tower's output; NeuMF: the GMF embedding)."""
        if self.model is None:
            return None
        if self.interaction == "neumf":
            return self.model.get_layer("gmf_item_embedding").get_weights()[0]
        return item_vectors(self.model)

    def item_space(self, space: str | None = None) -> np.ndarray:
        """Item vectors ``[num_items, d]`` in a named space: ``None`` (= :attr:`item_factors`), ``"gmf"`` or ``"mlp"``
        (NeuMF's two embeddings), ``"embedding"`` (the raw ID embedding, also for two-tower) or ``"tower"``
        (two-tower output), ``"genres"`` (two-tower genres-only vectors)."""
        self._require_fit()
        names = {layer.name for layer in self.model.layers}
        if space is None:
            return self.item_factors
        if space in ("gmf", "mlp"):
            if self.interaction != "neumf":
                raise ValueError(f"space={space!r} is for NeuMF models; this is a {self.interaction!r} model.")
            return self.model.get_layer(f"{space}_item_embedding").get_weights()[0]
        if space == "embedding":
            if "item_embedding" not in names:
                raise ValueError("This model has no single item_embedding (NeuMF: use space='gmf' or 'mlp').")
            return self.model.get_layer("item_embedding").get_weights()[0]
        if space in ("tower", "genres"):
            if self.interaction != "two_tower":
                raise ValueError(f"space={space!r} is for two-tower models; this is a {self.interaction!r} model.")
            return item_vectors(self.model, genres_only=space == "genres")
        raise ValueError(f"Unknown space {space!r}; choose None, 'gmf', 'mlp', 'embedding', 'tower' or 'genres'.")

    def similar_items(self, item_idx: int, k: int = 10, factors: np.ndarray | None = None,
                      space: str | None = None) -> pd.DataFrame:
        """The ``k`` items most cosine-similar to ``item_idx`` in an embedding space (see :meth:`item_space`).
        Returns a DataFrame ``item_idx, similarity``."""
        if factors is None:
            factors = self.item_space(space)
        return super().similar_items(item_idx, k, factors=factors)

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> Path:
        """Save the Keras model to ``path`` (must end in ``.keras``), atomically (temp file + rename)."""
        self._require_fit()
        path = Path(path)
        if path.suffix != ".keras":
            raise ValueError(f"Keras models are saved as .keras files; got {str(path)!r}. Use e.g. 'model.keras'.")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".keras")
        os.close(fd)
        try:
            with warnings.catch_warnings():
                # Keras 3.15 + numpy 2 warn inside model.save ("__array__ implementation doesn't accept a copy
                # keyword"); harmless and not actionable by a learner.
                warnings.filterwarnings("ignore", message=r"__array__ implementation", category=DeprecationWarning)
                self.model.save(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return path

    @classmethod
    def load(cls, path, split=None, **kwargs) -> "KerasRecommender":
        """Load a model saved by :meth:`save`; ``split`` (optional) restores the training interactions that
        ``recommend(exclude_seen=True)`` skips."""
        path = Path(path)
        if not path.exists():
            raise ValueError(f"No saved model at {str(path)!r}.")
        model = keras.saving.load_model(path, custom_objects={"ColdStartGate": ColdStartGate})
        rec = cls(model, **kwargs)
        if split is not None:
            rec.remember_training(split)
        return rec

    def __repr__(self) -> str:
        state = "fitted" if self.fitted else "not fitted"
        return f"KerasRecommender({self.interaction}, num_users={self.num_users}, num_items={self.num_items}, {state})"


def fit_model(split, interaction: str, epochs: int | None = None, seed: int = 0, *, verbose=0,
              **options) -> tuple[KerasRecommender, TrainHistory]:
    """Build, train and wrap a model in one line: ``rec, history = fit_model(split, "gmf")``. Lessons 04-06.

    ``options`` are any :func:`build_model` or :func:`train` option; anything not given comes from
    :data:`DEFAULTS` ``[interaction]``. Extras:

    * ``pretrained=True`` with ``"neumf"``: first train a GMF and an MLP with their defaults, then initialise the
      NeuMF from them (``alpha``) and fine-tune with :data:`PRETRAINED_NEUMF` settings; or pass
      ``pretrained=(gmf, mlp)`` (models or recommenders) that are already trained. The pre-training histories
      and time are in ``history.extra["pretraining"]``.
    * ``user_features="profile"`` with ``"two_tower"`` and ``item_features``: each user's mean genre vector over
      their training positives (:func:`user_genre_profile`).
    """
    check_interaction(interaction)
    unknown = sorted(set(options) - set(BUILD_OPTIONS) - set(TRAIN_OPTIONS))
    if unknown:
        raise ValueError(f"Unknown option(s) {unknown}; build options are {BUILD_OPTIONS} and train options "
                         f"{TRAIN_OPTIONS}.")
    if epochs is not None:
        options["epochs"] = epochs
    extra = {}
    pretrained = options.pop("pretrained", None)
    if pretrained is not None and pretrained is not False:
        if interaction != "neumf":
            raise ValueError("pretrained=... is only for interaction='neumf'.")
        if pretrained is True:
            gmf, h_gmf = fit_model(split, "gmf", seed=seed, verbose=verbose)
            mlp, h_mlp = fit_model(split, "mlp", seed=seed, verbose=verbose)
            extra["pretraining"] = {"gmf": h_gmf, "mlp": h_mlp, "seconds": h_gmf.seconds + h_mlp.seconds}
            pretrained = (gmf, mlp)
        for key, value in PRETRAINED_NEUMF.items():
            options.setdefault(key, value)
        options["pretrained"] = tuple(p.model if isinstance(p, KerasRecommender) else p for p in pretrained)
    if options.get("user_features") is not None and isinstance(options["user_features"], str):
        if options["user_features"] != "profile" or options.get("item_features") is None:
            raise ValueError("user_features='profile' needs item_features (e.g. dataset.genre_matrix()).")
        options["user_features"] = user_genre_profile(split, options["item_features"])
    config = {**DEFAULTS[interaction], **options}
    if "pretrained" in config:
        # sizes come from the pre-trained models unless given explicitly
        for key in ("embedding_dim", "mlp_embedding_dim", "hidden"):
            if key not in options:
                config.pop(key, None)
    build = {key: v for key, v in config.items() if key in BUILD_OPTIONS}
    fit_opts = {key: v for key, v in config.items() if key in TRAIN_OPTIONS}
    model = build_model(split.num_users, split.num_items, interaction, seed=seed, **build)
    rec = KerasRecommender(model)
    rec.fit(split, seed=seed, verbose=verbose, **fit_opts)
    rec.history.extra.update(extra)
    rec.history.extra["config"] = {k: v for k, v in config.items() if k not in ("item_features", "user_features", "pretrained")}
    return rec, rec.history
