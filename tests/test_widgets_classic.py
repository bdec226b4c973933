"""Lessons 02-03's explorers (NeighbourExplorer, MFExplorer) and the plain functions behind them, driven the way
the tests of ncf_helpers.ui.base describe: set control values, call run()."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ncf_helpers.classic import Popularity, UserCF  # noqa: E402
from ncf_helpers.data import leave_last_one_out  # noqa: E402
from ncf_helpers.evaluate import evaluate  # noqa: E402
from ncf_helpers.interactions import interaction_matrix  # noqa: E402
from ncf_helpers.lessons.l02_user_based_cf.explorer import (  # noqa: E402
    NeighbourExplorer,
    example_users,
    neighbour_view,
    score_arithmetic,
)
from ncf_helpers.lessons.l03_matrix_factorization.explorer import (
    MFExplorer,  # noqa: E402
    fit_and_describe,  # noqa: E402
)
from ncf_helpers.ui.base import ResultCache


@pytest.fixture(scope="module")
def split(synthetic):
    return leave_last_one_out(synthetic, num_negatives=50, seed=0, threshold=3.5)


@pytest.fixture(scope="module")
def usercf(split):
    return UserCF(k=20).fit(split)


# ---------------------------------------------------------------------------------------------- neighbours
def test_neighbour_view_votes_add_up_to_scores(split, usercf, synthetic):
    view = neighbour_view(usercf, split, 5, n=8, ds=synthetic)
    recs, votes = view["recommendations"], view["votes"]
    assert votes.shape == (8, 20) and len(view["neighbours"]) == 20
    # each recommended item's score is the sum of its row of votes (sim of every neighbour who liked it)
    assert np.allclose(votes.sum(axis=1), recs["score"].to_numpy())
    assert np.all(np.diff(recs["score"].to_numpy()) <= 1e-12)  # best first
    assert (recs["voters"].to_numpy() == (votes > 0).sum(axis=1)).all()
    assert recs["title"].tolist() == synthetic.title(recs["item_idx"].to_numpy())
    # never recommends what the user already liked in training
    seen = set(split.train.loc[split.train["user_idx"] == 5, "item_idx"])
    assert not seen & set(recs["item_idx"])
    # overlap = items both liked, recomputed by brute force for the first neighbour
    b = interaction_matrix(split).toarray()
    v = int(view["neighbours"]["user_idx"].iloc[0])
    assert view["neighbours"]["overlap"].iloc[0] == int(np.sum((b[5] > 0) & (b[v] > 0)))
    assert view["num_train"] == int(b[5].sum())


def test_score_arithmetic_matches_model(split, usercf):
    view = neighbour_view(usercf, split, 7, n=3)
    for item in view["recommendations"]["item_idx"]:
        terms = score_arithmetic(usercf, split, 7, int(item))
        assert np.isclose(terms["contribution"].sum(), usercf.score(7, int(item)))
        assert (terms["r"] == 1).all() and set(terms["neighbour"]) <= set(usercf.neighbours[7])
    # an item no neighbour liked has no terms and score 0
    b = interaction_matrix(split).toarray()
    nobody = np.flatnonzero(b[usercf.neighbours[7]].sum(axis=0) == 0)[0]
    assert len(score_arithmetic(usercf, split, 7, int(nobody))) == 0


def test_neighbour_view_rejects_bad_input(split, usercf):
    with pytest.raises(ValueError, match="fitted UserCF"):
        neighbour_view(Popularity().fit(split), split, 0)
    with pytest.raises(ValueError, match="fitted UserCF"):
        neighbour_view(UserCF(), split, 0)
    with pytest.raises(ValueError, match="user_idx"):
        neighbour_view(usercf, split, split.num_users + 3)


def test_example_users_spread_by_activity(split):
    users = example_users(split, count=6, include=[11])
    activity = np.bincount(split.train_user_idx, minlength=split.num_users)
    assert 11 in users and len(users) >= 6
    assert list(activity[users]) == sorted(activity[users])
    tested = set(split.test["user_idx"])
    assert activity[users[0]] == min(activity[u] for u in tested)  # the least active tested user is included


def test_neighbour_explorer_controls_cache_and_figures(split, synthetic):
    ex = NeighbourExplorer(synthetic, split, user_idx=4, k=20, n=5, run_now=False, auto_run=False)
    assert ex.run() is not None and not ex.last_cached
    first = ex.figures["main"]
    assert isinstance(first, Figure)
    assert "user_idx 4" in ex.figures["table"] and ex.error.value == ""
    assert ex.last_result["k"] == 20 and ex.last_result["similarity"] == "cosine"
    ex.controls["similarity"].value = "jaccard"
    ex.controls["k"].value = 10
    view = ex.run()
    assert view["similarity"] == "jaccard" and view["k"] == 10 and ex.figures["main"] is not first
    ex.controls["similarity"].value = "pearson"  # similarities from the stars of the training positives
    assert ex.run()["similarity"] == "pearson" and ex.error.value == ""
    ex.controls["similarity"].value = "cosine"
    ex.controls["k"].value = 20
    ex.run()
    assert ex.last_cached and ex.cache.hits == 1 and ex.cache.misses == 3
    # picking another user from the drop-down recomputes for that user
    other = [v for _, v in ex.controls["user"].options if v != 4][0]
    ex.controls["user"].value = other
    assert ex.run()["user_idx"] == other


def test_neighbour_explorer_auto_runs_and_shows_start(split, synthetic):
    ex = NeighbourExplorer(synthetic, split, k=20, n=5)  # run_now and auto_run by default
    assert ex.runs == 1 and "main" in ex.figures
    ex.controls["k"].value = 15  # a change re-runs without pressing the button
    assert ex.runs == 2 and ex.last_result["k"] == 15
    with pytest.raises(ValueError, match="similarity"):
        NeighbourExplorer(synthetic, split, similarity="euclid", run_now=False)


# ---------------------------------------------------------------------------------------------- MF
def test_fit_and_describe(split):
    items = np.arange(0, 60)
    labels = np.array(["Horror"] * 30 + ["other"] * 30, dtype=object)
    out = fit_and_describe(
        split, embedding_dim=4, reg=1.0, items=items, labels=labels, iterations=2, reference={"UserCF": 0.5}
    )
    assert out["config"] == {"embedding_dim": 4, "reg": 1.0}
    assert out["vectors"].shape == (60, 4)
    assert np.allclose(out["vectors"], out["model"].item_factors[items])
    assert out["metrics"]["hr@10"] == out["result"].hr
    assert out["metrics"]["hr@10"] == pytest.approx(evaluate(out["model"], split).hr)  # the shared harness' number
    assert out["reference"] == {"UserCF": 0.5} and out["seconds"] > 0
    with pytest.raises(ValueError, match="one label per item"):
        fit_and_describe(split, 4, 1.0, items=items, labels=labels[:5], iterations=1)


def test_mf_explorer_refits_and_caches(split):
    items = np.arange(40)
    labels = np.array(["Action", "Horror"] * 20, dtype=object)
    initial = fit_and_describe(split, 8, 10.0, items=items, labels=labels, iterations=2)
    cache = ResultCache()
    ex = MFExplorer(split, items, labels, embedding_dim=8, reg=10.0, iterations=2, initial=initial, cache=cache)
    # the lesson's result was put in the cache: the first run shows it without refitting
    assert ex.last_cached and ex.last_result is initial and isinstance(ex.figures["main"], Figure)
    ex.controls["embedding_dim"].value = 4
    ex.controls["reg"].value = 100.0
    out = ex.run()
    assert not ex.last_cached and out["config"] == {"embedding_dim": 4, "reg": 100.0}
    assert out["vectors"].shape == (40, 4) and ex.error.value == ""
    assert "computed" in ex.status.value
    ex.controls["embedding_dim"].value = 8
    ex.controls["reg"].value = 10.0
    ex.run()
    assert ex.last_cached and ex.last_result is initial and "from the cache" in ex.status.value
    assert cache.misses == 2 and cache.hits == 2  # the seeding miss, one refit; two runs from the cache
    assert set(ex.controls["embedding_dim"].options) >= {2, 4, 8, 16, 32}


def test_mf_explorer_shows_errors_in_the_widget(split, monkeypatch):
    ex = MFExplorer(split, np.arange(10), None, embedding_dim=4, iterations=1, run_now=False)

    def boom(*args, **kwargs):
        raise ValueError("reg must be a finite number > 0")

    monkeypatch.setattr("ncf_helpers.lessons.l03_matrix_factorization.explorer.fit_and_describe", boom)
    assert ex.run() is None
    assert "reg must be a finite number" in ex.error.value and not ex.button.disabled


def test_lesson_and_ui_packages_load_nothing_heavy_until_a_module_is_imported():
    """``import ncf_helpers.lessons`` / ``ncf_helpers.ui`` (the package docstrings' promise) loads no ipywidgets,
    matplotlib or TensorFlow; the explorer is where its lesson's package says."""
    import subprocess
    import sys

    code = (
        "import sys, ncf_helpers.lessons, ncf_helpers.ui; "
        "print(sorted(m for m in ('ipywidgets', 'matplotlib', 'tensorflow', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
    assert NeighbourExplorer.__module__ == "ncf_helpers.lessons.l02_user_based_cf.explorer"
    assert MFExplorer.__module__ == "ncf_helpers.lessons.l03_matrix_factorization.explorer"
