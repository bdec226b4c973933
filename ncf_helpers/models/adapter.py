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

from ..common import epochs_at_scale
from .builders import (
    BUILD_OPTIONS,
    DEFAULTS,
    PRETRAINED_NEUMF,
    build_model,
    check_interaction,
    table_sizes,
    user_genre_profile,
)
from .scoring import KerasScorer
from .training import TRAIN_OPTIONS, TrainHistory, train

__all__ = ["KerasRecommender", "fit_model"]


class KerasRecommender(KerasScorer):
    """A Keras model from :func:`build_model` as a :class:`~ncf_helpers.classic.base.Recommender`. Lesson 04.

    ``KerasRecommender(model)`` wraps a (trained or untrained) model; ``KerasRecommender(interaction="gmf",
    embedding_dim=16)`` builds one at ``fit`` time. ``fit(split, epochs=..., ...)`` calls :func:`train` and keeps
    its :class:`TrainHistory` in ``self.history``.

    Scores are the model's outputs: logits for ``output="logit"`` models, probabilities in ``[0, 1]`` for
    sigmoid outputs (:meth:`predict_proba` always gives probabilities). ``user_idx`` / ``item_idx`` outside the
    embedding tables raise a ``ValueError``.
    """

    # ------------------------------------------------------------------ fit
    def fit(self, train_data, **train_options) -> KerasRecommender:
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


def fit_model(
    split, interaction: str, epochs: int | None = None, seed: int = 0, *, verbose=0, **options
) -> tuple[KerasRecommender, TrainHistory]:
    """Build, train and wrap a model in one line: ``rec, history = fit_model(split, "gmf")``. Lessons 04-06.

    ``options`` are any :func:`build_model` or :func:`train` option; anything not given comes from
    :data:`DEFAULTS` ``[interaction]`` (``epochs`` through :func:`~ncf_helpers.common.epochs_at_scale`: the
    same count on ml-latest-small, fewer on larger data). Extras:

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
        raise ValueError(
            f"Unknown option(s) {unknown}; build options are {BUILD_OPTIONS} and train options {TRAIN_OPTIONS}."
        )
    if epochs is not None:
        options["epochs"] = epochs
    epochs_given = "epochs" in options
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
    if not epochs_given:  # the tuned count, as many Adam steps on data larger than ml-latest-small
        config["epochs"] = epochs_at_scale(config["epochs"], split)
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
    rec.history.extra["config"] = {
        k: v for k, v in config.items() if k not in ("item_features", "user_features", "pretrained")
    }
    return rec, rec.history
