"""Keras 3 recommenders behind one ``interaction`` knob (lessons 03-06).

>>> from ncf_helpers.models import fit_model, build_model, DEFAULTS
>>> rec, history = fit_model(split, "gmf")            # build + train + wrap, DEFAULTS["gmf"]
>>> evaluate(rec, split)                               # the same harness as the classical models

* :func:`build_model` - ``"dot"`` (matrix factorization), ``"gmf"``, ``"mlp"`` (the original course's NeuralCF),
  ``"neumf"`` (GMF + MLP, optionally pre-trained) and ``"two_tower"`` (with genre side features), compiled
  with Adam and binary cross-entropy;
* :func:`train` - fresh sampled negatives every epoch, per-epoch HR@10 / NDCG@10, seeded;
  :func:`epochs_at_scale` - an epoch count tuned on ml-latest-small, as many Adam steps on larger data;
* :class:`KerasRecommender` - the classical recommenders' interface for any of them (batched scoring,
  embeddings, ``similar_items``, ``.keras`` save/load);
* :class:`TwoTowerIndex`, :func:`serving_cost` - precomputed item vectors and brute-force retrieval;
  :class:`VectorIndex` - the same search exact or from a faiss ANN index (lesson 07);
* :mod:`ncf_helpers.models.retrieval` - in-batch softmax, logQ correction, accidental hits (lesson 07).

This is the first module (left to right: data, interactions, similarity, classic, evaluate, models) that
imports TensorFlow / Keras.
"""

from ..common import epochs_at_scale
from .adapter import KerasRecommender, fit_model
from .builders import DEFAULTS, LABEL_DEFAULTS, VALID_INTERACTIONS, build_model
from .serving import TwoTowerIndex, VectorIndex, serving_cost
from .training import epoch_rows, train

# What lessons and learners call. Everything else (the builders' helpers such as item_vectors or output_of,
# BACKENDS, TrainHistory, ...) is imported from its submodule: builders, training, adapter, scoring, serving.
__all__ = [
    "DEFAULTS",
    "KerasRecommender",
    "LABEL_DEFAULTS",
    "TwoTowerIndex",
    "VALID_INTERACTIONS",
    "VectorIndex",
    "build_model",
    "epoch_rows",
    "epochs_at_scale",
    "fit_model",
    "load_model",
    "serving_cost",
    "train",
]


def load_model(path, split=None) -> KerasRecommender:
    """Load a ``.keras`` file saved by :meth:`KerasRecommender.save` (lessons 04-06)."""
    return KerasRecommender.load(path, split=split)
