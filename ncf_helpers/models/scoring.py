"""``KerasScorer``: a Keras model's scores behind the classical recommenders' interface (lesson 04).

The scoring half of :class:`~ncf_helpers.models.adapter.KerasRecommender` (which adds ``fit``); see that module
for how scoring is batched and what it costs. Imports Keras.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from ..classic.base import Recommender
from ..common import atomic_path
from ..data.checks import check_indices, check_k
from ..data.splits import positives
from .builders import (
    BUILD_OPTIONS,
    ColdStartGate,
    check_interaction,
    interaction_of,
    item_vectors,
    output_of,
    table_sizes,
    user_vectors,
)

__all__ = ["KerasScorer"]


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


class KerasScorer(Recommender):
    """The scoring half of :class:`~ncf_helpers.models.adapter.KerasRecommender` (lesson 04): a Keras model from
    :func:`build_model` behind the :class:`~ncf_helpers.classic.base.Recommender` interface, without ``fit``.
    :func:`~ncf_helpers.models.training.train` evaluates through it after every epoch, and ``KerasRecommender``
    adds ``fit`` on top, so training and the adapter do not import each other.

    Scores are the model's outputs: logits for ``output="logit"`` models, probabilities in ``[0, 1]`` for
    sigmoid outputs (:meth:`predict_proba` always gives probabilities). ``user_idx`` / ``item_idx`` outside the
    embedding tables raise a ``ValueError``.
    """

    def __init__(
        self,
        model: keras.Model | None = None,
        *,
        interaction: str | None = None,
        name: str | None = None,
        batch_size: int = 262_144,
        **build_options,
    ):
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
        self.history = None  # a TrainHistory once KerasRecommender.fit has run
        self._seen_known = False
        self._predict_fn = None
        self.fitted = model is not None

    def remember_training(self, train_data) -> KerasScorer:
        """Record which items each user had in training (``recommend(exclude_seen=True)`` skips them), from a
        ``Split`` or a DataFrame with ``user_idx, item_idx`` (``label == 1`` rows if labelled)."""
        df = train_data.train if hasattr(train_data, "train") else train_data
        df = positives(df)
        u, i = check_indices(
            df["user_idx"].to_numpy(np.int64), df["item_idx"].to_numpy(np.int64), self.num_users, self.num_items
        )
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
            users = user_idx[lo : lo + rows_per_chunk]
            out[lo : lo + len(users)] = self._predict(np.repeat(users, n), np.tile(items, len(users))).reshape(
                len(users), n
            )
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
            raise ValueError(
                "This recommender does not know the training interactions to exclude: call "
                ".remember_training(split) first, or recommend(..., exclude_seen=False)."
            )
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

    def similar_items(
        self, item_idx: int, k: int = 10, factors: np.ndarray | None = None, space: str | None = None
    ) -> pd.DataFrame:
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
        with atomic_path(path) as tmp, warnings.catch_warnings():
            # Keras 3.15 + numpy 2 warn inside model.save ("__array__ implementation doesn't accept a copy
            # keyword"); harmless and not actionable by a learner.
            warnings.filterwarnings("ignore", message=r"__array__ implementation", category=DeprecationWarning)
            self.model.save(tmp)
        return path

    @classmethod
    def load(cls, path, split=None, **kwargs) -> KerasScorer:  # an instance of cls
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
        return f"{type(self).__name__}({self.interaction}, num_users={self.num_users}, num_items={self.num_items}, {state})"
