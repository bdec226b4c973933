"""One name per model (ncf_helpers.registry): every model the course fits or plots is called the same everywhere."""

from __future__ import annotations

import pytest

from ncf_helpers.registry import FAMILIES, INTERACTION_MODEL, INTERACTIONS, MODELS, model_info


def test_every_model_has_a_family_colour_and_lesson():
    for name, m in MODELS.items():
        assert m.name == name and m.family in FAMILIES and m.lesson in {f"{i:02d}" for i in range(8)}
        assert m.color.startswith("#") and len(m.color) == 7
        assert m.interaction is None or m.interaction in INTERACTIONS


def test_classical_models_are_called_by_their_registry_name():
    from ncf_helpers.classic import ExplicitMF, ImplicitALS, ItemCF, Popularity, RandomRecommender, UserCF

    for cls in (Popularity, RandomRecommender, UserCF, ItemCF, ExplicitMF, ImplicitALS):
        assert cls.name in MODELS, f"{cls.__name__}.name = {cls.name!r} is not in ncf_helpers.registry.MODELS"
    assert ImplicitALS.name == "iALS"  # the class keeps its Python name; the course calls it iALS


def test_interactions_map_to_one_model_each():
    # dot -> MF (dot) (lesson 03), not MF-32 (lesson 06's variant of it)
    assert INTERACTION_MODEL == {
        "dot": "MF (dot)",
        "gmf": "GMF",
        "mlp": "MLP",
        "neumf": "NeuMF",
        "two_tower": "Two-tower",
    }


def test_lesson_06_models_and_plot_colours_come_from_the_registry():
    from ncf_helpers.lessons.l06_comparison import experiments as cmp
    from ncf_helpers.ui.plots import MODEL_COLORS, color_for

    assert set(cmp.MODELS) <= set(MODELS)
    assert cmp.FAMILY == {n: MODELS[n].family for n in cmp.MODELS}
    assert MODEL_COLORS == {n: m.color for n, m in MODELS.items()}
    assert color_for("iALS") == MODELS["iALS"].color and color_for("MF-32") == MODELS["MF (dot)"].color


def test_unknown_names_are_refused_with_the_list():
    with pytest.raises(ValueError, match="Unknown model 'ImplicitALS'.*iALS"):
        model_info("ImplicitALS")
