"""Classical recommenders (lessons 02-03), all with the :class:`Recommender` interface of ``base``.

``Popularity``, ``RandomRecommender`` (floors), ``UserCF``, ``ItemCF`` (neighbourhood CF, lesson 02),
``ExplicitMF`` (biased MF of ratings by SGD) and ``ImplicitALS`` (Hu, Koren & Volinsky 2008), lesson 03.
No TensorFlow here.
"""

from .base import Recommender, train_arrays
from .baselines import Popularity, RandomRecommender
from .cf import ItemCF, UserCF
from .mf import ExplicitMF, ImplicitALS

__all__ = [
    "ExplicitMF",
    "ImplicitALS",
    "ItemCF",
    "Popularity",
    "RandomRecommender",
    "Recommender",
    "UserCF",
    "train_arrays",
]
