"""Lesson 04 (NeuralCF) and the start page (00): the numbers the notebooks record are in sane ranges.

Each lesson is executed once per session with FAST=True (the ``lesson_run`` fixture), on ml-latest-small when
NCF_DATA_DIR points at it, else on the synthetic data set; ranges branch on the recorded ``dataset``. FAST
trains every model for one epoch on MovieLens (three on FAST's small synthetic set, ~20 steps an epoch), so the
ranges are for such short runs.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

RANDOM_HR = 10 / 100  # HR@10 of random guessing with 99 sampled negatives


@pytest.fixture(scope="module")
def run04(lesson_run):
    return lesson_run("04_neuralcf")


@pytest.fixture(scope="module")
def rec(run04):
    return run04.records


def _real(rec) -> bool:
    return rec["dataset"] == "ml-latest-small"


def test_dataset_recorded(rec):
    assert rec["dataset"] in ("ml-latest-small", "synthetic")


def test_seed_model_equals_build_model(rec):
    # neural_cf_model_1 and build_model(..., "mlp") have the same weights: tables (U + I) * 32, Dense(10) on 64
    # inputs 650, Dense(10) 110, Dense(1) 11
    assert rec["params_neural_cf_model_1"] == rec["params_build_model_mlp"]
    # the per-layer table, keyed by layer name, accounts for every weight of both models
    assert rec["params_rows_neural_cf_model_1"] == rec["params_neural_cf_model_1"]
    assert rec["params_rows_build_model_mlp"] == rec["params_build_model_mlp"]
    if _real(rec):
        assert rec["params_neural_cf_model_1"] == (610 + 9742) * 32 + 650 + 110 + 11  # 332,035
    else:
        assert rec["params_neural_cf_model_1"] == (400 + 600) * 32 + 650 + 110 + 11  # 32,771


def test_ids_as_numbers_fail(rec):
    """The model that reads IDs as numbers does no better than popularity (it cannot be personal)."""
    assert rec["hr@10_raw_ids"] < rec["hr@10_popularity"] - 0.1
    if _real(rec):
        assert rec["hr@10_raw_ids"] > RANDOM_HR + 0.05  # ... though "far better than random guessing"
        assert rec["hr@10_popularity"] > 0.4
    else:  # "on the synthetic fallback, whose IDs are numbered at random, it is about as good as random guessing"
        assert abs(rec["hr@10_raw_ids"] - RANDOM_HR) < 0.05


def test_trained_models_are_useful(rec):
    for key in ("mlp", "mf", "neumf"):
        hr, ndcg = rec[f"hr@10_{key}"], rec[f"ndcg@10_{key}"]
        assert 0.0 < ndcg <= hr <= 1.0, key
        assert hr > 2.5 * RANDOM_HR, f"{key}: HR@10 {hr:.3f} is barely above random guessing"
    # GMF learns slowest (its output weights start small); after one epoch it may still be near random on the
    # synthetic data, but it must be a valid metric
    assert 0.0 < rec["ndcg@10_gmf"] <= rec["hr@10_gmf"] <= 1.0
    if _real(rec):
        for key in ("mlp", "gmf", "mf", "neumf"):
            assert 0.45 < rec[f"hr@10_{key}"] < 0.9, key
        # "None of the Keras models reaches lesson 03's ALS or lesson 02's ItemCF" and "the small MLP hardly
        # beats popularity" (the lesson's other orderings need its 6 epochs; FAST trains one)
        best_keras = max(rec[f"hr@10_{key}"] for key in ("mlp", "gmf", "mf", "neumf"))
        assert best_keras < min(rec["hr@10_itemcf_reference"], rec["hr@10_als_reference"])
        assert rec["hr@10_mlp"] < rec["hr@10_popularity"] + 0.05


def test_same_vector_space(rec):
    # MF and GMF scores are exactly inner products of their serving vectors: r = 1 and an index serves them
    for key in ("mf", "gmf"):
        assert rec[f"same_space_pearson_{key}"] > 0.999
        assert rec[f"same_space_overlap_{key}"] > 0.99
    # the MLP's embeddings do not reproduce its ranking
    assert abs(rec["same_space_pearson_mlp"]) < 0.6
    assert rec["same_space_overlap_mlp"] < 0.6
    # section 8 uses section 7's pairs: the overview figure and the table print the same r
    assert rec["same_space_pearson_mlp"] == pytest.approx(rec["overview_pearson_mlp"], abs=1e-9)


def test_item_similarity(rec):
    """Section 7: the MLP's well-known films are nearly collinear, and its item neighbours share genres barely
    more than random films, while MF's and GMF's share clearly more."""
    assert rec["panel_cosine_median_mlp"] > 0.9
    assert rec["panel_cosine_min_mf"] < rec["panel_cosine_min_mlp"]  # MF's vectors spread further apart
    se = rec["neighbour_genres_se_mlp"]
    assert 0.0 < se < 0.02
    assert abs(rec["neighbour_genres_mlp"] - rec["neighbour_genres_random"]) < 0.03
    for key in ("mf", "gmf"):
        assert rec[f"neighbour_genres_{key}"] > rec["neighbour_genres_mlp"] + 3 * se, key
        assert rec[f"neighbour_genres_{key}"] > rec["neighbour_genres_random"] + 0.005, key


def test_dot_product_learned_better_than_by_mlp(rec):
    dot, mlp = rec["dot_product_rmse_dot_d4"], rec["dot_product_rmse_mlp_d4"]
    assert 0.0 < dot < mlp < 1.5


def test_memory_calculator(rec):
    # 10^8 users x 64 dims x 4 bytes = 25.6 GB; with Adam's two slots x 3 = 76.8 GB
    assert rec["user_table_gb_1e8_d64"] == pytest.approx(25.6)
    assert rec["user_table_gb_1e8_d64_adam"] == pytest.approx(76.8)


def test_hashing(rec):
    exact = rec["hash_hr@10_exact"]
    assert exact > 2.5 * RANDOM_HR
    # hashing items into 64 buckets merges ~150 films per vector: a clear loss
    assert rec["hash_hr@10_item_min"] < exact - 0.1
    # one shared user vector (no personalisation) stays near the exact model on this data and protocol
    assert abs(rec["hash_hr@10_user_1"] - exact) < 0.1


def test_negative_sampling(rec):
    assert rec["negatives_fresh_over_fixed"] > 1.5  # two epochs of fresh draws: nearly twice the pairs
    assert 0.0 <= rec["false_negative_rate"] < 0.01


def test_lesson_shows_its_figures_and_the_widget(run04):
    assert len(run04.images()) >= 10
    widget_cells = [c for c in run04.notebook.cells if c.cell_type == "code" and "InteractionExplorer(" in c.source]
    assert widget_cells, "the lesson must display the interaction explorer"
    outputs = widget_cells[0].get("outputs", [])
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs), (
        "the explorer cell displayed no widget"
    )


# ---------------------------------------------------------------------------------------------- 00
def test_start_here(lesson_run):
    run = lesson_run("00_start_here")
    r = run.records
    assert r["dataset"] in ("ml-latest-small", "synthetic")
    assert r["keras_major"] == 3
    assert r["packages_found"] >= 8
    assert 180 <= r["course_minutes"] <= 480
    assert r["synthetic_users"] == 400
    assert len(run.images()) >= 1


def test_explorer_starts_from_the_lessons_own_run():
    """Lesson 04 hands its MLP run to the explorer (``initial=``); with the explorer's default controls equal to
    the lesson's parameters, that run is the explorer's first cached configuration, so pressing Train with the
    defaults answers at once instead of training again."""
    import json
    from pathlib import Path

    from ncf_helpers.lessons.l04_neuralcf.explorer import EXPLORER_DEFAULTS

    nb = json.loads((Path(__file__).resolve().parents[1] / "lessons" / "04_neuralcf.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    params = {}
    # The parameters cell reads NCF_FAST through `os`, which the lesson's Setup cell imports.
    exec("".join(cell["source"]), {"os": __import__("os")}, params)
    assert params["EPOCHS"] == EXPLORER_DEFAULTS["epochs"]
    assert params["EMBEDDING_DIM"] == EXPLORER_DEFAULTS["embedding_dim"]
    assert params["NUM_NEGATIVES"] == EXPLORER_DEFAULTS["num_negatives"]
    assert params["SEED"] == EXPLORER_DEFAULTS["seed"]
