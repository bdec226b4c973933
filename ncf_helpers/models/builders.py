"""Keras models behind one ``interaction`` knob (lessons 03, 04 and 05).

``build_model(num_users, num_items, interaction)`` returns a compiled Keras model with two integer inputs,
``user_idx`` and ``item_idx`` (shape ``[batch]``), and one output ``[batch, 1]`` (a logit or a probability in
``[0, 1]``, see ``output``). What differs is how a user and an item *interact*:

* ``"dot"`` - matrix factorization (lesson 03): ``score = p_u . q_i + b_u + b_i`` (a logit).
* ``"gmf"`` - generalized MF (He et al. 2017): ``score = h . (p_u * q_i) + b``; the learned ``h`` can weight
  (or ignore) each dimension, where ``"dot"`` weights every dimension 1.
* ``"mlp"`` - the original course's ``neural_cf_model_1`` (lesson 04): ``concat(p_u, q_i)`` -> ``Dense(10, relu)``
  -> ``Dense(10, relu)`` -> ``Dense(1, sigmoid)``.
* ``"neumf"`` - GMF and MLP branches with separate embeddings, fused by one output layer (lesson 04),
  optionally initialised from trained GMF and MLP models (:func:`load_pretrained`).
* ``"two_tower"`` - the original course's ``neural_cf_model_2`` (lesson 05): each side's embedding (and side features)
  goes through its own Dense tower; the towers meet only in a dot product, so item vectors can be computed
  once and served by a nearest-neighbour search (:mod:`ncf_helpers.models.serving`).

Stable layer names (lessons and widgets pull weights out by name):

=============  =======================================================================================
interaction    layers
=============  =======================================================================================
dot            ``user_embedding``, ``item_embedding``, ``user_bias``, ``item_bias``, ``dot``, ``prediction``
gmf            ``user_embedding``, ``item_embedding``, ``gmf_product``, ``prediction``
mlp            ``user_embedding``, ``item_embedding``, ``mlp_concat``, ``mlp_hidden_1`` .., ``prediction``
neumf          ``gmf_user_embedding``, ``gmf_item_embedding``, ``mlp_user_embedding``,
               ``mlp_item_embedding``, ``gmf_product``, ``mlp_hidden_1`` .., ``neumf_concat``, ``prediction``
two_tower      ``user_embedding``, ``item_embedding``, ``user_tower``, ``item_tower`` (each a
               ``keras.Sequential``), optional ``user_features``, ``item_features`` (frozen lookup tables),
               ``item_id_gate``; ``prediction`` (the dot product, or the Dense after ``dot``)
=============  =======================================================================================

Every model's last layer is called ``prediction`` and its ``name`` is the interaction, so
:func:`interaction_of` and :func:`output_of` can tell what a (re)loaded model is.

Why ``"dot"`` outputs a logit: binary cross-entropy computed from logits (``from_logits=True``) is exact for any
score, whereas a sigmoid output saturates (the loss is clipped at ``1e-7`` and the gradient through the sigmoid
vanishes for confident mistakes). Ranking is unchanged by the monotone sigmoid, so every ranking metric is the
same. The per-user and per-item biases carry the "this item is popular / this user likes everything" part
and leave the vectors to model taste; in a tuning run on ml-latest-small (20 epochs, l2=1e-5) dropping them
cost ~0.03 HR@10 and ~0.04 NDCG@10 on the validation items. ``output="sigmoid"`` gives the probability
version for comparison.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers, ops

from ncf_helpers.common import set_seed, whole_number
from ncf_helpers.registry import INTERACTIONS

__all__ = [
    "BUILD_OPTIONS",
    "ColdStartGate",
    "DEFAULTS",
    "LABEL_DEFAULTS",
    "PRETRAINED_NEUMF",
    "VALID_INTERACTIONS",
    "build_model",
    "check_interaction",
    "dot_output",
    "gmf_output",
    "interaction_of",
    "item_vectors",
    "load_pretrained",
    "mlp_output",
    "neumf_output",
    "output_of",
    "set_known_items",
    "table_sizes",
    "user_genre_profile",
    "user_vectors",
]

VALID_INTERACTIONS = INTERACTIONS  # ncf_helpers.registry
"""The values ``build_model(..., interaction=...)`` accepts."""

OUTPUTS = ("logit", "sigmoid", "sigmoid_dense")
"""``"logit"``: raw score, trained with ``from_logits=True``; ``"sigmoid"``: a probability in ``[0, 1]``;
``"sigmoid_dense"`` (two_tower only): the original course's ``Dense(1, sigmoid)`` after the dot product."""

# Tuned on ml-latest-small (leave-last-one-out, label = rating >= 3.5, 4 sampled negatives per positive);
# see benchmarks/models.py and benchmarks/results/models.md. Each trains in well under 60 s on 2 CPU cores.
# Build options (embedding_dim, hidden, l2, learning_rate, ...) and train options (epochs, batch_size,
# num_negatives) live side by side; fit_model() sorts them out.
DEFAULTS: dict[str, dict[str, Any]] = {
    "dot": dict(
        embedding_dim=64,
        l2=0.0,
        learning_rate=3e-3,
        output="logit",
        use_bias=True,
        epochs=20,
        batch_size=4096,
        num_negatives=4,
    ),
    "gmf": dict(
        embedding_dim=64, l2=0.0, learning_rate=3e-3, output="logit", epochs=20, batch_size=4096, num_negatives=4
    ),
    "mlp": dict(
        embedding_dim=32,
        hidden=(10, 10),
        l2=0.0,
        learning_rate=1e-2,
        output="sigmoid",
        epochs=20,
        batch_size=4096,
        num_negatives=4,
    ),
    "neumf": dict(
        embedding_dim=32,
        mlp_embedding_dim=32,
        hidden=(10, 10),
        l2=0.0,
        learning_rate=3e-3,
        output="logit",
        epochs=12,
        batch_size=4096,
        num_negatives=4,
    ),
    "two_tower": dict(
        embedding_dim=32,
        hidden=(64,),
        l2=0.0,
        learning_rate=1e-2,
        output="logit",
        epochs=15,
        batch_size=4096,
        num_negatives=4,
    ),
}
"""Default configuration per interaction (build + train options), used by :func:`fit_model`, the widgets and
the lessons. ``DEFAULTS["neumf"]`` is also used for NeuMF with pre-training (then with a lower learning rate,
see ``PRETRAINED_NEUMF``)."""

LABEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "dot": dict(l2=1e-5, epochs=10),
    "gmf": dict(l2=1e-5, learning_rate=1e-2, epochs=6),
    "mlp": dict(l2=3e-4, learning_rate=3e-3, epochs=8),
    "neumf": dict(l2=1e-4, epochs=6),
    "two_tower": dict(epochs=2),
}
"""Overrides of :data:`DEFAULTS` for the original course's protocol (lesson 06): a random 80/20 split of all rating
rows, trained pointwise on ``label = rating >= 3.5`` (``num_negatives=0``). There are ~64,000 labelled rows
and no sampled negatives, so the models overfit after a few epochs; the epoch counts were picked on a
validation split carved out of the training rows (see ``benchmarks/models.py``)."""

PRETRAINED_NEUMF: dict[str, Any] = dict(learning_rate=2e-3, epochs=4)
"""Overrides for fine-tuning a NeuMF initialised from trained GMF and MLP models. The paper fine-tunes with plain
SGD (Adam's moment estimates are not carried over from pre-training); we keep Adam with fewer epochs so the
pre-trained solution is refined rather than thrown away. On ml-latest-small pre-training did not beat NeuMF
from scratch or GMF alone by more than the noise (``benchmarks/results/models.md``)."""

BUILD_OPTIONS = (
    "embedding_dim",
    "mlp_embedding_dim",
    "hidden",
    "l2",
    "learning_rate",
    "output",
    "use_bias",
    "item_features",
    "user_features",
    "item_id_embedding",
    "id_dropout",
    "tower_activation",
    "pretrained",
    "alpha",
    "seed",
    "compile",
)


# ------------------------------------------------------------------------------------------ custom layer
@keras.saving.register_keras_serializable(package="ncf_helpers")
class ColdStartGate(layers.Layer):
    """Gates an item's ID embedding for the two-tower cold-start demo (lesson 05).

    Call on ``[embedding [batch, d], item_idx [batch]]``.

    * Training: each row's ID embedding is zeroed with probability ``dropout`` (no rescaling), so the item
      tower also learns to score items from their side features alone.
    * Inference: the embedding is multiplied by ``known[item_idx]`` (a frozen weight ``[num_items]``, 1 = use
      the ID embedding). :func:`set_known_items` (called by ``train``) sets it to 0 for items without a
      training positive: their ID vectors were only ever pushed down as negatives, so such an item is
      represented by its genres alone.
    """

    def __init__(self, num_items: int, dropout: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.num_items = int(num_items)
        self.dropout = float(dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.known = self.add_weight(shape=(self.num_items,), initializer="ones", trainable=False, name="known")

    def call(self, inputs, training=False):
        emb, idx = inputs
        if training:
            if self.dropout > 0:
                keep = keras.random.uniform((ops.shape(emb)[0], 1), seed=self.seed_generator) >= self.dropout
                return emb * ops.cast(keep, emb.dtype)
            return emb
        gate = ops.take(self.known, ops.cast(idx, "int32"), axis=0)
        return emb * ops.expand_dims(ops.cast(gate, emb.dtype), -1)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "num_items": self.num_items, "dropout": self.dropout, "seed": self.seed}


# ------------------------------------------------------------------------------------------ validation
def _check_positive_int(value, name: str, hint: str) -> int:
    try:
        return whole_number(value, name)
    except ValueError as exc:
        raise ValueError(f"{exc} {hint}") from None


def _check_hidden(hidden, interaction: str) -> tuple[int, ...]:
    if hidden is None:
        return ()
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        hidden = (hidden,)
    try:
        sizes = tuple(hidden)
    except TypeError:
        raise ValueError(f"hidden must be a tuple of layer sizes such as (10, 10), got {hidden!r}.") from None
    try:
        return tuple(whole_number(h, "every hidden layer size") for h in sizes)
    except ValueError:
        raise ValueError(
            f"hidden={sizes!r} for {interaction!r}: every layer needs at least one unit (positive whole "
            "numbers such as (10, 10)); use hidden=() for no hidden layer."
        ) from None


def _check_features(features, rows: int, what: str, rows_name: str) -> np.ndarray | None:
    if features is None:
        return None
    arr = np.asarray(features, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] != rows or arr.shape[1] == 0:
        raise ValueError(
            f"{what} must be a 2-D array [{rows_name}, num_features] = [{rows}, k] with k >= 1; got shape "
            f"{arr.shape}. For genres use dataset.genre_matrix() (items) and user_genre_profile(split, genres) "
            "(users)."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains NaN or infinite values; fill them (e.g. with 0) first.")
    return arr


def check_interaction(interaction: str) -> str:
    """Return ``interaction`` if it is one of :data:`VALID_INTERACTIONS`, else raise a ``ValueError`` listing them."""
    if interaction not in VALID_INTERACTIONS:
        raise ValueError(f"Unknown interaction {interaction!r}; choose one of {', '.join(VALID_INTERACTIONS)}.")
    return interaction


# ------------------------------------------------------------------------------------------ building blocks
def _reg(l2: float):
    return keras.regularizers.L2(l2) if l2 else None


def _embedding(n: int, dim: int, name: str, l2: float, init="uniform"):
    return layers.Embedding(n, dim, embeddings_initializer=init, embeddings_regularizer=_reg(l2), name=name)


def _frozen_table(n: int, width: int, name: str):
    return layers.Embedding(n, width, trainable=False, embeddings_initializer="zeros", name=name)


def _mlp_stack(x, hidden, prefix: str, l2: float):
    for k, units in enumerate(hidden, start=1):
        x = layers.Dense(units, activation="relu", kernel_regularizer=_reg(l2), name=f"{prefix}_hidden_{k}")(x)
    return x


def _tower(hidden, name: str, activation, l2: float):
    stack = [
        layers.Dense(
            units,
            activation="relu" if k < len(hidden) - 1 else activation,
            kernel_regularizer=_reg(l2),
            name=f"{name}_{k + 1}",
        )
        for k, units in enumerate(hidden)
    ]
    return keras.Sequential(stack, name=name)


def _compile(model, learning_rate: float, from_logits: bool):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.BinaryCrossentropy(from_logits=from_logits),
    )
    return model


# ------------------------------------------------------------------------------------------ build_model
# ---------------------------------------------------------------------------------------------- one builder each
# The lines lessons 03-04 show: ``user`` and ``item`` are the int inputs ``[batch]``; each returns the output
# ``[batch, 1]`` (a logit, or a probability for output="sigmoid"). build_model checks the arguments first.
def dot_output(user, item, num_users, num_items, embedding_dim, l2, output, use_bias=True):
    """Matrix factorization (lesson 03): ``p_u . q_i`` (+ ``b_u + b_i`` with ``use_bias``)."""
    p = _embedding(num_users, embedding_dim, "user_embedding", l2)(user)  # [batch, d]
    q = _embedding(num_items, embedding_dim, "item_embedding", l2)(item)  # [batch, d]
    score = layers.Dot(axes=1, name="dot")([p, q])  # [batch, 1]
    name = "logit" if output == "sigmoid" else "prediction"
    if use_bias:
        bu = layers.Embedding(num_users, 1, embeddings_initializer="zeros", name="user_bias")(user)  # [batch, 1]
        bi = layers.Embedding(num_items, 1, embeddings_initializer="zeros", name="item_bias")(item)
        score = layers.Add(name=name)([score, bu, bi])
    else:
        score = layers.Identity(name=name)(score)
    return layers.Activation("sigmoid", name="prediction")(score) if output == "sigmoid" else score


def gmf_output(user, item, num_users, num_items, embedding_dim, l2, output):
    """GMF (He et al. 2017; lesson 04): ``h . (p_u * q_i) + b``, a dot product with learned weights ``h``."""
    p = _embedding(num_users, embedding_dim, "user_embedding", l2)(user)  # [batch, d]
    q = _embedding(num_items, embedding_dim, "item_embedding", l2)(item)  # [batch, d]
    x = layers.Multiply(name="gmf_product")([p, q])  # [batch, d]: p_u * q_i, element by element
    return layers.Dense(1, activation=_act(output), name="prediction")(x)  # [batch, 1]


def mlp_output(user, item, num_users, num_items, embedding_dim, hidden, l2, output):
    """The MLP interaction (the original course's NeuralCF, ``neural_cf_model_1``; lesson 04): the two
    embeddings side by side through Dense ReLU layers of sizes ``hidden``."""
    p = _embedding(num_users, embedding_dim, "user_embedding", l2)(user)  # [batch, d]
    q = _embedding(num_items, embedding_dim, "item_embedding", l2)(item)  # [batch, d]
    x = layers.Concatenate(name="mlp_concat")([p, q])  # [batch, 2d]
    x = _mlp_stack(x, hidden, "mlp", l2)  # [batch, hidden[-1]]
    return layers.Dense(1, activation=_act(output), name="prediction")(x)  # [batch, 1]


def neumf_output(user, item, num_users, num_items, embedding_dim, mlp_dim, hidden, l2, output):
    """NeuMF (He et al. 2017; lesson 04): a GMF branch and an MLP branch, each with its own embeddings,
    concatenated before one output layer."""
    gp = _embedding(num_users, embedding_dim, "gmf_user_embedding", l2)(user)  # [batch, d]
    gq = _embedding(num_items, embedding_dim, "gmf_item_embedding", l2)(item)
    mp = _embedding(num_users, mlp_dim, "mlp_user_embedding", l2)(user)  # [batch, d_mlp]
    mq = _embedding(num_items, mlp_dim, "mlp_item_embedding", l2)(item)
    g = layers.Multiply(name="gmf_product")([gp, gq])  # [batch, d]
    m = _mlp_stack(layers.Concatenate(name="mlp_concat")([mp, mq]), hidden, "mlp", l2)  # [batch, hidden[-1]]
    x = layers.Concatenate(name="neumf_concat")([g, m])  # [batch, d + hidden[-1]]
    return layers.Dense(1, activation=_act(output), name="prediction")(x)  # [batch, 1]


def build_model(
    num_users: int,
    num_items: int,
    interaction: str = "mlp",
    *,
    embedding_dim: int | None = None,
    hidden: tuple[int, ...] | None = None,
    mlp_embedding_dim: int | None = None,
    l2: float | None = None,
    learning_rate: float | None = None,
    output: str | None = None,
    use_bias: bool = True,
    item_features=None,
    user_features=None,
    item_id_embedding: bool = True,
    id_dropout: float = 0.0,
    tower_activation: str | None = None,
    pretrained: tuple | None = None,
    alpha: float = 0.5,
    seed: int | None = None,
    compile: bool = True,
) -> keras.Model:
    """A compiled Keras recommender: inputs ``user_idx``, ``item_idx`` (int ``[batch]``), output ``[batch, 1]``.

    Parameters (``None`` = the value in :data:`DEFAULTS` for ``interaction``)
    ----------
    num_users, num_items : sizes of the embedding tables (``split.num_users``, ``split.num_items``).
    interaction : one of :data:`VALID_INTERACTIONS` (see the module docstring).
    embedding_dim : width of each ID embedding (for NeuMF: of the GMF branch).
    hidden : Dense layer sizes: the MLP layers (``"mlp"``, ``"neumf"``) or each tower (``"two_tower"``, the
        last size is the width of the user and item vectors). Ignored by ``"dot"`` and ``"gmf"``.
    mlp_embedding_dim : NeuMF only: width of the MLP branch's embeddings (default ``embedding_dim``).
    l2 : L2 penalty on the embedding tables (and Dense kernels); ``0`` for none.
    learning_rate : Adam's step size.
    output : ``"logit"`` or ``"sigmoid"`` (:data:`OUTPUTS`); ``"two_tower"`` also takes ``"sigmoid_dense"``:
        the original course's ``Dense(1, sigmoid)`` after the dot product (its learned weight can be negative, which
        reverses the ranking - lesson 05). The loss uses ``from_logits=(output == "logit")``.
    use_bias : ``"dot"`` only: per-user and per-item biases ``user_bias``/``item_bias``.
    item_features : ``"two_tower"`` only: float ``[num_items, k]`` side features fed to the item tower next to
        the ID embedding, e.g. ``dataset.genre_matrix()``. Stored in the model as a frozen table.
    user_features : ``"two_tower"`` only: float ``[num_users, k']``, e.g. :func:`user_genre_profile`.
    item_id_embedding : ``"two_tower"`` with ``item_features``: ``False`` builds a pure content item tower (no
        item ID embedding at all).
    id_dropout : ``"two_tower"`` with ``item_features``: probability of hiding an item's ID embedding from the
        tower in a training row (ID dropout), so genres alone learn to score; in ``[0, 1)``.
    tower_activation : activation of each tower's last layer: ``None`` (linear, the default for
        ``output="logit"``) or ``"relu"`` (the original course's towers; the default for ``"sigmoid_dense"``).
    pretrained : ``"neumf"`` only: ``(gmf_model, mlp_model)``, trained models whose weights initialise the
        NeuMF (:func:`load_pretrained`); sizes not given are taken from them.
    alpha : weight of the GMF branch when combining pre-trained output layers (the paper's 0.5).
    seed : if given, ``keras.utils.set_random_seed(seed)`` first, so initial weights are reproducible.
    compile : compile with Adam and binary cross-entropy (default).

    Raises ``ValueError`` for an unknown interaction (listing the valid ones), sizes that are not positive
    whole numbers, side features of the wrong shape and options that do not fit the interaction.
    Introduced in lesson 03 (``"dot"``), 04 (``"gmf"``, ``"mlp"``, ``"neumf"``) and 05 (``"two_tower"``).
    """
    check_interaction(interaction)
    num_users = _check_positive_int(num_users, "num_users", "Use split.num_users.")
    num_items = _check_positive_int(num_items, "num_items", "Use split.num_items.")
    defaults = DEFAULTS[interaction]
    if pretrained is not None:
        if interaction != "neumf":
            raise ValueError(f"pretrained=(gmf_model, mlp_model) is for interaction='neumf', not {interaction!r}.")
        gmf_model, mlp_model = _unpack_pretrained(pretrained)
        if embedding_dim is None:
            embedding_dim = int(gmf_model.get_layer("user_embedding").output_dim)
        if mlp_embedding_dim is None:
            mlp_embedding_dim = int(mlp_model.get_layer("user_embedding").output_dim)
        if hidden is None:
            hidden = tuple(int(layer.units) for layer in _hidden_layers(mlp_model, "mlp"))
    embedding_dim = _check_positive_int(
        defaults["embedding_dim"] if embedding_dim is None else embedding_dim, "embedding_dim", "Try 32."
    )
    hidden = _check_hidden(defaults.get("hidden", ()) if hidden is None else hidden, interaction)
    l2 = float(defaults.get("l2", 0.0) if l2 is None else l2)
    if not np.isfinite(l2) or l2 < 0:
        raise ValueError(f"l2 must be a number >= 0, got {l2!r}.")
    learning_rate = float(defaults["learning_rate"] if learning_rate is None else learning_rate)
    if not np.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be a positive number such as 0.001, got {learning_rate!r}.")
    output = defaults["output"] if output is None else output
    allowed = OUTPUTS if interaction == "two_tower" else OUTPUTS[:2]
    if output not in allowed:
        raise ValueError(f"output={output!r} is not available for {interaction!r}; choose one of {allowed}.")
    if interaction != "two_tower" and (item_features is not None or user_features is not None):
        raise ValueError("Side features (item_features / user_features) are only used by interaction='two_tower'.")
    if not 0.0 <= float(id_dropout) < 1.0:
        raise ValueError(f"id_dropout must be in [0, 1), got {id_dropout!r}.")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}.")
    if seed is not None:
        set_seed(seed)

    user = keras.Input(shape=(), dtype="int32", name="user_idx")
    item = keras.Input(shape=(), dtype="int32", name="item_idx")

    if interaction == "two_tower":
        out = _two_tower(
            user,
            item,
            num_users,
            num_items,
            embedding_dim,
            hidden,
            l2,
            output,
            item_features,
            user_features,
            item_id_embedding,
            float(id_dropout),
            tower_activation,
            seed,
        )
    elif interaction == "neumf":
        mlp_dim = _check_positive_int(
            embedding_dim if mlp_embedding_dim is None else mlp_embedding_dim, "mlp_embedding_dim", "Try 32."
        )
        out = neumf_output(user, item, num_users, num_items, embedding_dim, mlp_dim, hidden, l2, output)
    elif interaction == "dot":
        out = dot_output(user, item, num_users, num_items, embedding_dim, l2, output, use_bias)
    elif interaction == "gmf":
        out = gmf_output(user, item, num_users, num_items, embedding_dim, l2, output)
    else:
        out = mlp_output(user, item, num_users, num_items, embedding_dim, hidden, l2, output)

    model = keras.Model(inputs={"user_idx": user, "item_idx": item}, outputs=out, name=interaction)
    if interaction == "two_tower":
        if item_features is not None:
            model.get_layer("item_features").set_weights(
                [_check_features(item_features, num_items, "item_features", "num_items")]
            )
        if user_features is not None:
            model.get_layer("user_features").set_weights(
                [_check_features(user_features, num_users, "user_features", "num_users")]
            )
    if pretrained is not None:
        load_pretrained(model, *_unpack_pretrained(pretrained), alpha=alpha)
    if compile:
        _compile(model, learning_rate, from_logits=(output == "logit"))
    return model


def _act(output: str):
    return "sigmoid" if output == "sigmoid" else None


def _two_tower(
    user,
    item,
    num_users,
    num_items,
    embedding_dim,
    hidden,
    l2,
    output,
    item_features,
    user_features,
    item_id_embedding,
    id_dropout,
    tower_activation,
    seed,
):
    item_features = _check_features(item_features, num_items, "item_features", "num_items")
    user_features = _check_features(user_features, num_users, "user_features", "num_users")
    if not item_id_embedding and item_features is None:
        raise ValueError("item_id_embedding=False leaves the item tower with no input: pass item_features too.")
    if id_dropout and item_features is None:
        raise ValueError("id_dropout only makes sense with item_features (the tower must have something left).")
    if not hidden and (item_features is not None or user_features is not None):
        raise ValueError("With side features each tower needs at least one Dense layer: pass e.g. hidden=(32,).")
    if tower_activation not in (None, "linear", "relu"):
        raise ValueError(f"tower_activation must be None (linear) or 'relu', got {tower_activation!r}.")
    if tower_activation is None and output == "sigmoid_dense":
        tower_activation = "relu"  # the original course's towers end in relu

    u = _embedding(num_users, embedding_dim, "user_embedding", l2)(user)
    if user_features is not None:
        uf = _frozen_table(num_users, user_features.shape[1], "user_features")(user)
        u = layers.Concatenate(name="user_tower_input")([u, uf])
    parts = []
    if item_id_embedding:
        q = _embedding(num_items, embedding_dim, "item_embedding", l2)(item)
        if item_features is not None:
            q = ColdStartGate(num_items, id_dropout, seed=seed, name="item_id_gate")([q, item])
        parts.append(q)
    if item_features is not None:
        parts.append(_frozen_table(num_items, item_features.shape[1], "item_features")(item))
    v = layers.Concatenate(name="item_tower_input")(parts) if len(parts) > 1 else parts[0]
    if hidden:
        u = _tower(hidden, "user_tower", tower_activation, l2)(u)
        v = _tower(hidden, "item_tower", tower_activation, l2)(v)
    if output == "sigmoid_dense":
        d = layers.Dot(axes=1, name="dot")([u, v])
        return layers.Dense(1, activation="sigmoid", name="prediction")(d)
    if output == "sigmoid":
        return layers.Activation("sigmoid", name="prediction")(layers.Dot(axes=1, name="dot")([u, v]))
    return layers.Dot(axes=1, name="prediction")([u, v])


# ------------------------------------------------------------------------------------------ introspection
def interaction_of(model: keras.Model) -> str:
    """The interaction a model built by :func:`build_model` uses (its ``name``); ValueError for other models."""
    if model.name not in VALID_INTERACTIONS:
        raise ValueError(
            f"Model {model.name!r} was not built by ncf_helpers.models.build_model (its name is not one of "
            f"{VALID_INTERACTIONS})."
        )
    return model.name


def output_of(model: keras.Model) -> str:
    """``"logit"``, ``"sigmoid"`` or ``"sigmoid_dense"``: what the model's output means (see :data:`OUTPUTS`)."""
    names = {layer.name for layer in model.layers}
    last = model.get_layer("prediction")
    if isinstance(last, layers.Activation):
        return "sigmoid"
    act = getattr(last, "activation", None)
    if act is not None and getattr(act, "__name__", "") == "sigmoid":
        return "sigmoid_dense" if "dot" in names and model.name == "two_tower" else "sigmoid"
    return "logit"


def table_sizes(model: keras.Model) -> tuple[int, int]:
    """``(num_users, num_items)`` read from the model's embedding tables."""
    user = item = None
    for layer in model.layers:
        if isinstance(layer, layers.Embedding):
            if layer.name.endswith("user_embedding") or layer.name in ("user_bias", "user_features"):
                user = int(layer.input_dim)
            elif layer.name.endswith("item_embedding") or layer.name in ("item_bias", "item_features"):
                item = int(layer.input_dim)
    if user is None or item is None:
        raise ValueError("Could not find the user/item embedding tables of this model; was it built by build_model?")
    return user, item


def _hidden_layers(model, prefix: str):
    out, k = [], 1
    names = {layer.name for layer in model.layers}
    while f"{prefix}_hidden_{k}" in names:
        out.append(model.get_layer(f"{prefix}_hidden_{k}"))
        k += 1
    return out


def _unpack_pretrained(pretrained):
    try:
        gmf_model, mlp_model = pretrained
    except (TypeError, ValueError):
        raise ValueError("pretrained must be a pair (gmf_model, mlp_model) of trained Keras models.") from None
    if getattr(gmf_model, "model", None) is not None and not isinstance(gmf_model, keras.Model):
        gmf_model = gmf_model.model  # a KerasRecommender
    if getattr(mlp_model, "model", None) is not None and not isinstance(mlp_model, keras.Model):
        mlp_model = mlp_model.model
    if getattr(gmf_model, "name", None) != "gmf" or getattr(mlp_model, "name", None) != "mlp":
        raise ValueError(
            "pretrained must be (gmf_model, mlp_model) built with interaction='gmf' and 'mlp'; got models named "
            f"{getattr(gmf_model, 'name', type(gmf_model).__name__)!r} and "
            f"{getattr(mlp_model, 'name', type(mlp_model).__name__)!r}."
        )
    return gmf_model, mlp_model


def load_pretrained(neumf: keras.Model, gmf: keras.Model, mlp: keras.Model, alpha: float = 0.5) -> keras.Model:
    """Initialise a NeuMF model from trained GMF and MLP models (He et al. 2017, section 3.4.1). Lesson 04.

    Copies the GMF embeddings into ``gmf_user_embedding`` / ``gmf_item_embedding``, the MLP embeddings and
    hidden layers into ``mlp_*``, and sets the output layer to ``[alpha * h_gmf, (1 - alpha) * h_mlp]`` with
    bias ``alpha * b_gmf + (1 - alpha) * b_mlp`` (pre-activation weights, so the initial NeuMF logit is the
    alpha-weighted mix of the two models' logits). Sizes must match; returns ``neumf`` (modified in place).
    """
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}.")
    if getattr(neumf, "name", None) != "neumf":
        raise ValueError(
            f"load_pretrained needs a model built with interaction='neumf', got {getattr(neumf, 'name', neumf)!r}."
        )
    gmf, mlp = _unpack_pretrained((gmf, mlp))
    pairs = [
        ("gmf_user_embedding", gmf, "user_embedding"),
        ("gmf_item_embedding", gmf, "item_embedding"),
        ("mlp_user_embedding", mlp, "user_embedding"),
        ("mlp_item_embedding", mlp, "item_embedding"),
    ]
    n_hidden = len(_hidden_layers(neumf, "mlp"))
    if len(_hidden_layers(mlp, "mlp")) != n_hidden:
        raise ValueError(
            f"The MLP model has {len(_hidden_layers(mlp, 'mlp'))} hidden layers but the NeuMF has {n_hidden}; build "
            "the NeuMF with the MLP's hidden sizes (or let build_model(..., pretrained=...) take them)."
        )
    pairs += [(f"mlp_hidden_{k}", mlp, f"mlp_hidden_{k}") for k in range(1, n_hidden + 1)]
    for target, source_model, source in pairs:
        dst, src = neumf.get_layer(target), source_model.get_layer(source).get_weights()
        if [w.shape for w in dst.get_weights()] != [w.shape for w in src]:
            raise ValueError(
                f"Cannot copy {source_model.name}.{source} {[w.shape for w in src]} into neumf.{target} "
                f"{[w.shape for w in dst.get_weights()]}: embedding sizes, table sizes and hidden sizes must match."
            )
        dst.set_weights(src)
    hg, bg = gmf.get_layer("prediction").get_weights()
    hm, bm = mlp.get_layer("prediction").get_weights()
    out = neumf.get_layer("prediction")
    if out.get_weights()[0].shape[0] != hg.shape[0] + hm.shape[0]:
        raise ValueError("The NeuMF output layer does not match the GMF + MLP output sizes.")
    out.set_weights([np.concatenate([alpha * hg, (1.0 - alpha) * hm], axis=0), alpha * bg + (1.0 - alpha) * bm])
    return neumf


# ------------------------------------------------------------------------------------------ side features
def user_genre_profile(train, item_features) -> np.ndarray:
    """Each user's mean side-feature vector over their training positives: float32 ``[num_users, k]``.

    ``train`` is a ``Split`` (its ``train`` table, ``label == 1`` rows if labelled) or a DataFrame with
    ``user_idx, item_idx``; ``item_features`` is ``[num_items, k]`` (e.g. ``dataset.genre_matrix()``, then a row
    is the share of the user's liked films carrying each genre, values in ``[0, 1]``). Users with no training
    positive get zeros. Only training rows are used, so nothing leaks from the test items. Lesson 05.
    """
    from ..classic.base import train_arrays

    u, i, _, nu, ni = train_arrays(train)
    feats = np.asarray(item_features, dtype=np.float32)
    num_items = ni if ni is not None else feats.shape[0]
    num_users = nu if nu is not None else int(u.max()) + 1
    _check_features(feats, num_items, "item_features", "num_items")
    sums = np.zeros((num_users, feats.shape[1]), dtype=np.float64)
    np.add.at(sums, u, feats[i])
    counts = np.bincount(u, minlength=num_users)[:, None]
    return (sums / np.maximum(counts, 1)).astype(np.float32)


def set_known_items(model: keras.Model, item_idx) -> None:
    """Two-tower with an ``item_id_gate``: use ID embeddings only for ``item_idx`` (int array, e.g. the items with
    a training positive); every other item is scored from its side features alone. No-op for other models."""
    names = {layer.name for layer in model.layers}
    if "item_id_gate" not in names:
        return
    gate = model.get_layer("item_id_gate")
    known = np.zeros(gate.num_items, dtype=np.float32)
    known[np.asarray(item_idx, dtype=np.int64)] = 1.0
    gate.known.assign(known)


def _to_numpy(x) -> np.ndarray:
    """A float32 numpy copy of a tensor (``.numpy()`` avoids numpy 2's ``__array__(copy=...)`` warning)."""
    return np.asarray(x.numpy() if hasattr(x, "numpy") else ops.convert_to_numpy(x), dtype=np.float32)


def _user_tower_input(model, users: np.ndarray):
    names = {layer.name for layer in model.layers}
    u = model.get_layer("user_embedding")(users)
    if "user_features" in names:
        u = ops.concatenate([u, model.get_layer("user_features")(users)], axis=1)
    return u, names


def user_vectors(model: keras.Model, user_idx=None) -> np.ndarray:
    """User vectors ``[len(user_idx), d]`` (all users if ``None``): the embedding for ``"dot"``/``"gmf"``/``"mlp"``,
    the ``user_tower`` output for ``"two_tower"``. ``d`` = ``embedding_dim`` or the tower's last size."""
    interaction = interaction_of(model)
    if interaction == "neumf":
        raise ValueError("NeuMF has two user embeddings: read gmf_user_embedding or mlp_user_embedding.")
    n_users, _ = table_sizes(model)
    users = np.arange(n_users) if user_idx is None else np.asarray(user_idx, dtype=np.int64).reshape(-1)
    if interaction != "two_tower":
        return model.get_layer("user_embedding").get_weights()[0][users]
    x, names = _user_tower_input(model, ops.convert_to_tensor(users.astype(np.int32)))
    if "user_tower" in names:
        x = model.get_layer("user_tower")(x, training=False)
    return _to_numpy(x)


def item_vectors(model: keras.Model, item_idx=None, *, genres_only: bool = False, features=None) -> np.ndarray:
    """Item vectors ``[n, d]``: the embedding (``"dot"``/``"gmf"``/``"mlp"``) or the ``item_tower`` output.

    Two-tower options (lesson 05's cold-start demo):

    * ``genres_only=True`` - the tower output with the ID embedding zeroed: what the model thinks of an item
      it knows nothing about except its side features;
    * ``features`` - side-feature rows ``[n, k]`` for items that are not in the table at all (a brand-new film
      described by its genres); implies ``genres_only``.

    The default applies the model's ``item_id_gate``, so items without a training positive already get their
    genres-only vector, exactly as the model scores them.
    """
    interaction = interaction_of(model)
    if interaction == "neumf":
        raise ValueError("NeuMF has two item embeddings: read gmf_item_embedding or mlp_item_embedding.")
    _, n_items = table_sizes(model)
    if interaction != "two_tower":
        if genres_only or features is not None:
            raise ValueError(f"genres_only/features need a two_tower model with item_features, not {interaction!r}.")
        items = np.arange(n_items) if item_idx is None else np.asarray(item_idx, dtype=np.int64).reshape(-1)
        return model.get_layer("item_embedding").get_weights()[0][items]
    names = {layer.name for layer in model.layers}
    has_feats = "item_features" in names
    has_id = "item_embedding" in names
    if (genres_only or features is not None) and not has_feats:
        raise ValueError("This two-tower model has no item_features: build it with item_features=genre_matrix.")
    if features is not None:
        width = model.get_layer("item_features").output_dim
        feats = np.asarray(features, dtype=np.float32)
        if feats.ndim == 1:
            feats = feats[None, :]
        if feats.ndim != 2 or feats.shape[1] != width:
            raise ValueError(
                f"features must have shape [n, {width}] (one multi-hot genre row per item); got {feats.shape}."
            )
        n = feats.shape[0]
        parts = [np.zeros((n, model.get_layer("item_embedding").output_dim), np.float32)] if has_id else []
        x = np.concatenate(parts + [feats], axis=1)
    else:
        items = np.arange(n_items) if item_idx is None else np.asarray(item_idx, dtype=np.int64).reshape(-1)
        it = ops.convert_to_tensor(items.astype(np.int32))
        parts = []
        if has_id:
            q = model.get_layer("item_embedding")(it)
            if genres_only:
                q = ops.zeros_like(q)
            elif "item_id_gate" in names:
                q = model.get_layer("item_id_gate")([q, it], training=False)
            parts.append(q)
        if has_feats:
            parts.append(model.get_layer("item_features")(it))
        x = ops.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
    if "item_tower" in names:
        x = model.get_layer("item_tower")(x, training=False)
    return _to_numpy(x)
