"""ipywidgets explorers for the lessons, all built on :mod:`ncf_helpers.widgets.base` (one cache, one progress).

Importing this package is cheap; explorers that train Keras models import TensorFlow only when first used:

* ``NeighbourExplorer`` (lesson 02) - pick a user and a similarity, see neighbours and recommendations;
* ``MFExplorer`` (lesson 03) - latent dimension and regularisation sliders refit MF and redraw the embedding map;
* ``InteractionExplorer`` (lesson 04) - change the interaction layer, watch similarity and metrics change;
* ``ProtocolExplorer`` (lesson 06) - number of sampled negatives from 1 to all, watch HR@10 inflate.
"""

from importlib import import_module

from .base import Explorer, Progress, ResultCache, show_figure

_LAZY = {
    "NeighbourExplorer": "neighbours",
    "MFExplorer": "mf",
    "InteractionExplorer": "interaction",
    "ProtocolExplorer": "protocol",
}

__all__ = ["Explorer", "Progress", "ResultCache", "show_figure", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
