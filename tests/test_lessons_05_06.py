"""Lessons 05 and 06 run with FAST=True and record sane results (real data when available, else synthetic).

Each lesson executes once per session through the ``lesson_run`` fixture (shared with tests/test_notebooks.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytestmark = pytest.mark.slow

COMPARED = ("popularity", "usercf", "itemcf", "ials", "mf_dot", "gmf", "mlp", "neumf", "two_tower", "mf_32", "gmf_32")


def _real(records) -> bool:
    return records.get("dataset") == "ml-latest-small"


def test_lesson_05_two_tower(lesson_run):
    r = lesson_run("05_two_tower").records
    real = _real(r)
    # Both two-tower models learn: well above random guessing (HR@10 = 10 / 100).
    assert 0.2 < r["hr@10_two_tower"] <= 1.0 and 0.0 < r["ndcg@10_two_tower"] < r["hr@10_two_tower"]
    assert 0.2 < r["hr@10_two_tower_genres"] <= 1.0
    if real:
        assert r["hr@10_two_tower"] > 0.45 and r["hr@10_two_tower_genres"] > 0.45
    # Serving times (ms_*) are printed by the lesson, not asserted here: wall-clock comparisons belong in
    # benchmarks/ (the shared CI machine makes them flaky).
    # The original course's Dense(1, sigmoid): folding w into the query reproduces the model's own ranking...
    assert math.isfinite(r["original_dense_w"]) and r["original_dense_w"] != 0.0
    assert r["hr@10_original_model_output"] == pytest.approx(r["hr@10_original_model"], abs=1e-6)
    assert r["hr@10_original_index_folded"] == pytest.approx(r["hr@10_original_model_output"], abs=0.01)
    # ... its sign is the sign it started with ...
    assert (r["original_dense_w"] > 0) == (r["original_dense_w_start"] > 0)
    if real:  # SEED = 0 starts negative and learns: a plain dot-product index serves the reversed order
        assert r["original_dense_w"] < 0 and r["hr@10_original_model"] > 0.3
        assert r["hr@10_original_index_raw"] < 0.1
    # Side features: neighbours of never-liked films share genres only when the tower sees genres.
    assert r["genre_jaccard_genres"] > r["genre_jaccard_ids"] + 0.2
    assert abs(r["genre_jaccard_ids"] - r["genre_jaccard_random"]) < 0.15
    # Item-item similarity of well-known films: the ID-only tower's neighbours share genres clearly more often
    # than random or popular films; with genres in the tower far more.
    se = r["neighbour_genres_se_two_tower"]
    assert 0.0 < se < 0.02
    assert r["neighbour_genres_two_tower"] > r["neighbour_genres_random"] + 3 * se
    assert r["neighbour_genres_two_tower"] > r["neighbour_genres_popular"] + 2 * se
    assert r["neighbour_genres_two_tower_genres"] > r["neighbour_genres_two_tower"] + 0.1
    # Freshness: the ID-only tower (almost) never recommends a film nobody liked in training, and "the number
    # of such test users is small".
    if real:
        assert 10 <= r["fresh_users"] <= 60  # 28 of 608 test users on ml-latest-small
    if r["fresh_users"] >= 10:
        assert r["fresh_hr@10_ids"] <= 0.1
        assert r["fresh_hr@10_genres"] > r["fresh_hr@10_ids"]
    # (The lesson's "on films seen in training the content tower is clearly worse" holds at its default epochs;
    # FAST's two epochs can flip it, as the lesson says, so it is not asserted on this FAST run.)
    # Context: 10^8 users x 24 hours x 7 weekdays x 3 devices x 1,000 cities, exactly.
    assert r["cache_vectors_1e8_all_contexts"] == 10**8 * 24 * 7 * 3 * 1000
    assert r["hr@10_retrieval_only"] == pytest.approx(r["hr@10_two_tower"], abs=1e-6)
    # "Popularity alone adds little on top of the retrieval score"
    assert abs(r["hr@10_ranker_no_context"] - r["hr@10_retrieval_only"]) < 0.03
    if real:  # on MovieLens the request's time (the film's age then) is worth several points
        assert r["hr@10_ranker_context"] > r["hr@10_retrieval_only"] + 0.03


def test_lesson_05_sign_of_w_over_seeds(lesson_run, movielens):
    """Lesson 05, section 3: over seeds 0-7 (two epochs each) the sign of the original course's Dense weight
    never changes in training; seeds starting with w < 0 learn, seeds starting with w > 0 stay near random
    guessing. Too slow for the lesson (about 25 s on 2 idle cores), so measured here."""
    from ncf_helpers.data import leave_last_one_out
    from ncf_helpers.lessons.l05_two_tower import experiments as tt

    split = leave_last_one_out(movielens, num_negatives=99, seed=0, threshold=3.5, validation=True)
    runs = tt.sigmoid_dense_seeds(split, seeds=range(8), epochs=2)
    assert (np.sign(runs["w_start"]) == np.sign(runs["w_end"])).all(), runs
    negative = runs["w_start"] < 0
    assert negative.any() and (~negative).any(), "the seeds must cover both signs for the claim to be tested"
    assert (runs.loc[negative, "hr@10"] > 0.5).all(), runs
    assert (runs.loc[~negative, "hr@10"] < 0.3).all(), runs
    # the lesson's hand-built model starts from the same weights as tt.original_two_tower for its SEED (0)
    lesson = lesson_run("05_two_tower").records
    if _real(lesson):
        assert lesson["original_dense_w_start"] == pytest.approx(runs.loc[runs["seed"] == 0, "w_start"].item())


def test_lesson_05_figures(lesson_run):
    run = lesson_run("05_two_tower")
    assert len(run.images()) >= 5


def test_lesson_06_comparison(lesson_run):
    r = lesson_run("06_comparison").records
    real = _real(r)
    assert r["seeds"] == 3 and r["test_users"] > 100
    # The Keras numbers come from a recorded run (benchmarks/comparison.py) whose split matches: the default run
    # on ml-latest-small, the FAST run (--fast-synthetic) on the synthetic fallback the tests use offline. One
    # model (MF (dot), seed 0) is retrained live beside it and must reproduce it.
    assert r["recorded"] is True
    assert 0.1 < r["verify_hr@10_live"] <= 1.0 and 0.1 < r["verify_hr@10_recorded"] <= 1.0
    if real:
        assert 0.5 < r["verify_hr@10_recorded"]
        assert r["curve_models"] == len(COMPARED)  # the recorded curves complete the live ones
    else:
        assert abs(r["verify_hr@10_live"] - r["verify_hr@10_recorded"]) < 0.03
    for name in COMPARED:
        assert 0.1 < r[f"hr@10_{name}"] <= 1.0, name  # every model beats random guessing
    for name in ("popularity", "usercf", "itemcf"):  # no randomness: one fit, zero spread
        assert r[f"hr@10_std_{name}"] == 0.0, name
    for name in ("ials", "mf_dot", "mlp", "neumf", "mf_32"):  # seeded models: three different fits
        assert r[f"hr@10_std_{name}"] > 0.0, name
    assert 0.0 < r["ndcg@10_best"] < 1.0
    # the planned pairs: each observed difference lies inside its own users x seeds interval
    for pair in PAIRS:
        for prefix in ("diff", "time_diff"):
            diff, low, high = r[f"{prefix}_{pair}"]
            assert low <= diff <= high, (prefix, pair)
    if real:
        assert r["hr@10_popularity"] > 0.5  # a strong baseline under sampled evaluation
    # The protocol: with 1 negative every model is perfect; full ranking is far lower than sampled.
    assert r["hr@10_1_negative_min"] == 1.0
    assert 0.0 <= r["hr@10_full_max"] < max(r[f"hr@10_{name}"] for name in COMPARED)
    if real:  # about 9,000 candidates instead of 100: an order of magnitude lower
        assert r["hr@10_full_max"] < 0.3
    # tau is 1 exactly when no model changes place (ties aside, which these scores do not have)
    assert (r["kendall_tau_sampled_full"] == 1.0) == (r["models_moved"] == 0)
    # The time split: nothing in training postdates a test item; leave-last-one-out leaks a lot.
    assert r["later_share_time_max"] == 0.0
    assert r["later_share_loo_mean"] > 0.2
    assert r["time_test_users"] >= 5
    if real:
        assert abs(r["time_popularity_live_minus_recorded"]) < 1e-9  # refitted = recorded (to JSON precision)
        assert r["time_models"] == len(COMPARED)
    for name in ("popularity", "itemcf", "ials", "mlp", "neumf"):
        assert 0.0 < r[f"time_hr@10_{name}"] <= 1.0
        assert r[f"time_full_hr@10_{name}"] < r[f"time_hr@10_{name}"]  # full ranking is harder
    # The original course's protocol: ROC-AUC of MF and the MLP beats guessing
    for name in ("mf_dot", "mlp"):
        assert 0.55 < r[f"roc_auc_{name}"] <= 1.0, name


PAIRS = ("mf_32_vs_mlp", "neumf_vs_gmf_32", "neumf_vs_mlp", "ials_vs_neumf")


@pytest.fixture(scope="module")
def recorded_06(movielens):
    """Lesson 06's recorded run, read exactly as the lesson reads it at its default parameters."""
    from ncf_helpers.data import leave_last_one_out, random_split, temporal_split
    from ncf_helpers.lessons.l06_comparison import experiments as cmp

    seeds = (0, 1, 2)
    splits = {
        "loo": leave_last_one_out(movielens, threshold=3.5, num_negatives=99, seed=0),
        "time": temporal_split(movielens, test_fraction=0.2, threshold=3.5, num_negatives=99, seed=0),
        "labels": random_split(movielens, test_fraction=0.2, seed=0, threshold=3.5),
    }
    runs = {
        "loo": cmp.find_recorded(splits["loo"], movielens.name, cmp.MODELS, seeds),
        "time": cmp.find_recorded(splits["time"], movielens.name, cmp.MODELS, seeds),
        "labels": cmp.find_recorded(splits["labels"], movielens.name, ["MF (dot)", "GMF", "MLP", "NeuMF"], seeds),
    }
    assert all(run is not None for run in runs.values()), "re-run benchmarks/comparison.py"
    return cmp, splits, runs


def test_lesson_06_at_ml_1m_shape_reads_its_recorded_run():
    """Lesson 06 with ``DATASET = "synthetic"``, ``SYNTHETIC_SIZE = "ml-1m"`` (issue #15): 6,000 test users, the
    Keras numbers from recorded/comparison_synthetic-ml-1m.json.gz (default epochs, hence ``epochs_at_scale``), and
    the MF (dot) retrained in the notebook reproduces the recorded HR@10 (equal on the recording machine; 0.02
    is 120 of the 6,000 test users for another CPU's summation order). About a minute on 2 cores."""
    from conftest import LESSONS_DIR

    from ncf_helpers.nbrun import run_lesson

    path = next(LESSONS_DIR.glob("06_*.ipynb"))
    r = run_lesson(path, {"DATASET": "synthetic", "SYNTHETIC_SIZE": "ml-1m", "FAST": False}, timeout=900).records
    assert r["dataset"] == "synthetic" and r["test_users"] == 6000 and r["seeds"] == 3
    assert r["recorded"] is True
    assert abs(r["verify_hr@10_live"] - r["verify_hr@10_recorded"]) <= 0.02
    for name in COMPARED:
        assert 0.1 < r[f"hr@10_{name}"] <= 1.0, name


def test_lesson_06_prose_matches_the_recorded_run(recorded_06):
    """Every conclusion lesson 06's prose states about ml-latest-small holds for the numbers it prints (the
    recorded run at the default parameters; the lesson computes the same differences with the same seed)."""
    from ncf_helpers.interactions import later_training_share

    cmp, splits, runs = recorded_06

    def diff(run, a, b, metric="hr"):
        d = cmp.seed_user_difference(runs[run], a, b, metric, seed=0)
        return d["difference"], d["low"], d["high"]

    def clear(interval) -> bool:
        return interval[1] > 0 or interval[2] < 0

    loo = runs["loo"].summary()
    timed = runs["time"].summary()
    labels = runs["labels"].summary()
    # Section 3 and the Summary: the planned pairs on leave-last-one-out (HR@10), as the prose states them
    mf_mlp = diff("loo", "MF-32", "MLP")
    assert [round(x, 3) for x in mf_mlp] == [0.048, 0.018, 0.079] and clear(mf_mlp)
    neumf_mlp = diff("loo", "NeuMF", "MLP")
    assert [round(x, 3) for x in neumf_mlp] == [0.054, 0.025, 0.083] and clear(neumf_mlp)
    neumf_gmf = diff("loo", "NeuMF", "GMF-32")
    assert [round(x, 3) for x in neumf_gmf] == [0.018, -0.006, 0.041] and not clear(neumf_gmf)
    ials_neumf = diff("loo", "iALS", "NeuMF")
    assert [round(x, 3) for x in ials_neumf] == [0.020, -0.005, 0.044] and not clear(ials_neumf)
    ials_neumf_ndcg = diff("loo", "iALS", "NeuMF", "ndcg")
    assert round(ials_neumf_ndcg[0], 3) == 0.042 and clear(ials_neumf_ndcg)
    # "Shrinking MF from 64 dimensions with biases to MF-32 cost it only 0.005"
    assert round(loo.loc["MF (dot)", "hr@10_mean"] - loo.loc["MF-32", "hr@10_mean"], 3) == 0.005
    # Section 5: the leak, the 28 test users, their standard error
    share = later_training_share(splits["loo"])
    assert round(100 * share.mean()) == 55 and round(100 * float(np.median(share))) == 53
    assert later_training_share(splits["time"]).max() == 0.0 and len(splits["time"].test) == 28
    p = loo.loc["NeuMF", "hr@10_mean"]
    assert round(float(np.sqrt(p * (1 - p) / 28)), 2) == 0.08 and round(float(np.sqrt(p * (1 - p) / 608)), 2) == 0.02
    # "every model scores lower on the time split"; tau 0.53 sampled, 0.05 full; one hit = 0.036
    names = list(cmp.MODELS)
    assert (timed.loc[names, "hr@10_mean"] < loo.loc[names, "hr@10_mean"]).all()
    assert round(cmp.kendall_tau(loo.loc[names, "hr@10_mean"], timed.loc[names, "hr@10_mean"]), 2) == 0.53
    assert round(cmp.kendall_tau(loo.loc[names, "full hr@10_mean"], timed.loc[names, "full hr@10_mean"]), 2) == 0.05
    assert round(1 / 28, 3) == 0.036
    # "None of the four planned differences is clear on the time split ... 3.5 to 5.5 times wider"
    for a, b, _ in cmp.PLANNED_PAIRS:
        t, lo = diff("time", a, b), diff("loo", a, b)
        assert not clear(t), (a, b)
        assert 3.45 <= (t[2] - t[1]) / (lo[2] - lo[1]) < 5.55, (a, b)
    assert [round(x, 3) for x in diff("time", "MF-32", "MLP")] == [0.083, -0.012, 0.202]
    # Section 6: ROC-AUC from 0.774 to 0.796 (within 0.022); the MLP level with NeuMF and ahead of GMF; tau 0.33
    auc = labels["roc_auc_mean"]
    assert round(auc.min(), 3) == 0.774 and round(auc.max(), 3) == 0.796 and round(auc.max() - auc.min(), 3) == 0.022
    assert round(auc["MLP"], 3) == round(auc["NeuMF"], 3) and auc["MLP"] > auc["GMF"]
    assert loo.loc[list(auc.index), "hr@10_mean"].idxmin() == "MLP"
    assert round(cmp.kendall_tau(auc, loo.loc[auc.index, "hr@10_mean"]), 2) == 0.33


def test_lesson_06_figures(lesson_run):
    run = lesson_run("06_comparison")
    assert len(run.images()) >= 6  # comparison, differences, protocol curve, sampled vs full, splits, literature
