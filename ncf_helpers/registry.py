"""The course's models in one place: one name each, with its family, colour, lesson and Keras interaction.

Every table, legend, result and recorded run uses these names, so a model is called the same in lesson 03 and
lesson 06 (``"iALS"``, not "ImplicitALS" here and "MF (ALS)" there). The classes keep their Python names
(:class:`ncf_helpers.classic.ImplicitALS` is ``"iALS"``; :func:`ncf_helpers.models.build_model` with
``interaction="dot"`` is ``"MF (dot)"``). The Keras models' tuned settings are ``ncf_helpers.models.DEFAULTS``
(they need no TensorFlow to read, but belong with the builders that use them).

>>> MODELS["iALS"].family
'dot product'
>>> INTERACTION_MODEL["dot"]
'MF (dot)'

No TensorFlow, no plotting: the core, the models and the figures all read it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FAMILIES", "INTERACTIONS", "INTERACTION_MODEL", "MODELS", "Model", "model_info"]

FAMILIES = ("baseline", "neighbourhood", "dot product", "learned (MLP)")
"""How a model combines a user and an item: no personalisation, neighbours, a (weighted) dot product of two
vectors, or a learned MLP over the pair (Rendle et al. 2020's question; lesson 06 colours by it)."""

INTERACTIONS = ("dot", "gmf", "mlp", "neumf", "two_tower")
"""The values ``build_model(..., interaction=...)`` accepts (``ncf_helpers.models.VALID_INTERACTIONS``)."""


@dataclass(frozen=True)
class Model:
    """One model of the course: ``name`` (the label everywhere), ``family`` (one of :data:`FAMILIES`),
    ``color`` (hex, Okabe-Ito where possible), ``lesson`` (``"02"``: where it is introduced), ``interaction``
    (the Keras ``interaction``, or None for the classical models; lesson 06's MF-32 and GMF-32 are "dot" and
    "gmf" with the options of its ``SAME_SIZE``)."""

    name: str
    family: str
    color: str
    lesson: str
    interaction: str | None = None


_GREY = "#A0A0A0"
MODELS: dict[str, Model] = {
    m.name: m
    for m in (
        Model("Random", "baseline", _GREY, "02"),
        Model("Popularity", "baseline", "#000000", "02"),
        Model("UserCF", "neighbourhood", "#0072B2", "02"),
        Model("ItemCF", "neighbourhood", "#56B4E9", "02"),
        Model("ExplicitMF", "dot product", "#CC79A7", "03"),
        Model("iALS", "dot product", "#009E73", "03"),
        Model("MF (dot)", "dot product", "#E69F00", "03", "dot"),
        Model("GMF", "dot product", "#D55E00", "04", "gmf"),
        Model("MLP", "learned (MLP)", "#CC79A7", "04", "mlp"),
        Model("NeuMF", "learned (MLP)", "#D55E00", "04", "neumf"),
        Model("Two-tower", "dot product", "#F0E442", "05", "two_tower"),
        Model("MF-32", "dot product", "#E69F00", "06", "dot"),
        Model("GMF-32", "dot product", "#D55E00", "06", "gmf"),
    )
}
"""Every model of the course by name, in the order the lessons introduce them."""

INTERACTION_MODEL = {i: next(m.name for m in MODELS.values() if m.interaction == i) for i in INTERACTIONS}
"""``interaction`` -> the model's name: ``{"dot": "MF (dot)", "gmf": "GMF", ...}``."""


def model_info(name: str) -> Model:
    """The :class:`Model` called ``name``; a ValueError listing the names otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"Unknown model {name!r}; the course's models are {', '.join(MODELS)}.") from None
