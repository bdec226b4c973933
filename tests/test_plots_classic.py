"""Figures of lessons 01-03 (ncf_helpers.lessons.classic_plots): each returns a closed Figure with the expected axes and
artists, at most notebook width, with titles and axis labels; bad input gets a clear ValueError."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from matplotlib._pylab_helpers import Gcf  # noqa: E402 - pyplot's registry of open figures
from matplotlib.figure import Figure  # noqa: E402

from ncf_helpers.lessons import classic_plots as pc  # noqa: E402
from ncf_helpers.ui.plots import MAX_WIDTH, OKABE_ITO, color_for, new_figure, shorten  # noqa: E402


def _check(fig, n_axes: int | None = None) -> list:
    """Common checks: a Figure, not left open in pyplot, within notebook width, every visible axes labelled."""
    assert isinstance(fig, Figure)
    assert all(m.canvas.figure is not fig for m in Gcf.get_all_fig_managers()), "figure left open in pyplot"
    assert fig.get_figwidth() <= MAX_WIDTH + 1e-9
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    if n_axes is not None:
        assert len(axes) == n_axes, [ax.get_label() for ax in fig.axes]
    assert fig.get_suptitle() or any(ax.get_title() for ax in axes), "no title"
    fig.canvas.draw()  # renders without error
    return axes


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def _ratings_table():
    return pd.DataFrame([[5, 4, np.nan], [np.nan, 1, 3]], index=["Ann", "Ben"], columns=["A (1990)", "B (2000)", "C"])


# ---------------------------------------------------------------------------------------------- helpers
def test_shorten_keeps_year_and_width():
    assert shorten("Short (1999)") == "Short (1999)"
    out = shorten("Lord of the Rings: The Fellowship of the Ring, The (2001)", 24)
    assert out.endswith("… (2001)") and len(out) <= 24
    assert shorten("x" * 40, 10) == "x" * 9 + "…"


def test_color_for_known_and_prefixed_names():
    assert color_for("UserCF") == color_for("UserCF (pearson)")
    assert color_for("Popularity") != color_for("UserCF")
    assert color_for("something new", 2) == OKABE_ITO[2]


def test_new_figure_refuses_too_wide():
    with pytest.raises(ValueError, match="at most"):
        new_figure(width=14)


def test_pca_2d_recovers_the_main_direction():
    rng = np.random.default_rng(0)
    # points along (1, 1, 0) with small noise: PC 1 holds nearly all the variance
    t = rng.normal(size=200)
    x = np.c_[t, t, 0.05 * rng.normal(size=200)]
    xy, explained = pc.pca_2d(x, normalize=False)
    assert xy.shape == (200, 2)
    assert explained[0] > 0.99 and explained.sum() <= 1 + 1e-9
    assert abs(np.corrcoef(xy[:, 0], t)[0, 1]) > 0.999
    # deterministic sign: the largest loading of each axis is positive
    xy2, _ = pc.pca_2d(-x, normalize=False)
    assert np.allclose(np.abs(xy2), np.abs(xy))
    with pytest.raises(ValueError, match="n >= 3"):
        pc.pca_2d(np.ones((2, 3)))


def test_genre_labels_use_priority_order():
    genres = [["Adventure", "Animation", "Children"], ["Drama"], ["Horror", "Animation"], []]
    labels = pc.genre_labels(genres, ["Horror", "Animation"])
    # the first priority genre an item carries wins; no priority genre -> "other"
    assert list(labels) == ["Animation", "other", "Horror", "other"]


# ---------------------------------------------------------------------------------------------- lesson 01
def test_plot_toy_matrix_marks_empty_cells():
    fig = pc.plot_toy_matrix(_ratings_table())
    ax = _check(fig)[0]
    texts = _texts(ax)
    assert texts.count("·") == 2  # two unrated cells
    assert sorted(t for t in texts if t != "·") == ["1", "3", "4", "5"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Ann", "Ben"]
    assert ax.get_xlabel() and ax.get_ylabel()


def test_plot_spy_two_panels_same_cells():
    rng = np.random.default_rng(1)
    m = sp.random(40, 60, density=0.1, random_state=1, format="csr")
    fig = pc.plot_spy(m, num_users=20, num_items=30, seed=rng.integers(10))
    axes = _check(fig, 2)
    # both panels show the same number of filled cells (sorting only permutes rows and columns)
    assert axes[0].get_title().split("\n")[1] == axes[1].get_title().split("\n")[1]
    assert "empty" in fig.get_suptitle()


def test_plot_long_tail_head_share():
    pop = np.array([50, 30, 10, 5, 3, 1, 1, 0, 0, 0])  # top 10% = 1 item of 10: 50 of 100 interactions
    act = np.array([60, 25, 10, 5])
    fig = pc.plot_long_tail(pop, act, head_fraction=0.1)
    axes = _check(fig, 2)
    assert axes[0].get_xscale() == "log" and axes[0].get_yscale() == "log"
    labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert "top 10% of items: 50% of interactions" in labels
    assert "3 items with none (not drawn)" in labels
    with pytest.raises(ValueError, match="no interactions"):
        pc.plot_long_tail(np.zeros(3), act)


def test_plot_rating_threshold_counts():
    ratings = pd.DataFrame({"user_idx": [0, 0, 1, 1, 1], "rating": [5.0, 3.0, 3.5, 1.0, 4.0]})
    fig = pc.plot_rating_threshold(ratings, 3.5)
    axes = _check(fig, 2)
    # 5, 3.5, 4 kept -> 60%; user 0 drops 1/2, user 1 drops 1/3 -> 50% of users lose at least half
    assert axes[0].get_title().startswith("60% of 5 ratings")
    assert axes[1].get_title().startswith("50% of users")
    kept = [p for p in axes[0].patches if p.get_facecolor()[:3] == matplotlib.colors.to_rgb(OKABE_ITO[0])]
    assert len(kept) == 3


def test_plot_cooccurrence_annotated():
    c = np.array([[3, 2, 0], [2, 4, 1], [0, 1, 2]])
    fig = pc.plot_cooccurrence(c, ["a", "b", "c"])
    ax = _check(fig)[0]
    assert len(ax.texts) == 9 and "4" in _texts(ax)
    with pytest.raises(ValueError, match="square"):
        pc.plot_cooccurrence(c, ["a", "b"])


def test_plot_item_lists_one_panel_per_list():
    frames = {
        f"anchor {k}": pd.DataFrame({"title": [f"film {j}" for j in range(4)], "score": [4, 3, 2, 1.0]})
        for k in range(3)
    }
    fig = pc.plot_item_lists(frames, xlabel="Jaccard", title="lists")
    axes = _check(fig, 3)
    assert [len(ax.patches) for ax in axes] == [4, 4, 4]
    assert axes[0].get_yticklabels()[0].get_text() == "film 0"
    with pytest.raises(ValueError):
        pc.plot_item_lists({})


# ---------------------------------------------------------------------------------------------- lesson 02
def test_plot_similarity_matrices_panels_and_range():
    m = np.array([[1.0, 0.5], [0.5, 1.0]])
    fig = pc.plot_similarity_matrices({"cosine": m, "pearson": -m}, ["x", "y"])
    axes = _check(fig, 2)
    assert [ax.get_title() for ax in axes] == ["cosine", "pearson"]
    assert axes[1].images[0].norm.vmin == -1 and axes[1].images[0].norm.vmax == 1
    assert "-0.50" in _texts(axes[1])
    with pytest.raises(ValueError, match="expected shape"):
        pc.plot_similarity_matrices({"cosine": np.ones((3, 3))}, ["x", "y"])


def test_plot_similarity_agreement_rank_correlation():
    x = np.linspace(0, 1, 20)
    fig = pc.plot_similarity_agreement({"cosine": x, "jaccard": x**2, "pearson": -x}, overlap=np.arange(20))
    axes = _check(fig, 2)
    assert axes[0].get_title() == "jaccard vs cosine: rank correlation 1.00"
    assert axes[1].get_title() == "pearson vs cosine: rank correlation -1.00"
    with pytest.raises(ValueError, match="reference"):
        pc.plot_similarity_agreement({"jaccard": x}, reference="cosine")


def test_plot_neighbours_layout():
    view = {
        "user_idx": 3,
        "similarity": "cosine",
        "k": 4,
        "neighbours": pd.DataFrame(
            {"user_idx": [7, 1, 9, 2], "similarity": [0.9, 0.7, 0.5, 0.1], "overlap": [3, 2, 2, 1]}
        ),
        "recommendations": pd.DataFrame({"item_idx": [5, 6], "title": ["Film A", "Film B"], "score": [1.6, 0.5]}),
        "votes": np.array([[0.9, 0.7, 0.0, 0.0], [0.0, 0.0, 0.5, 0.0]]),
    }
    fig = pc.plot_neighbours(view, max_neighbours=3)
    axes = _check(fig)
    sim_ax, votes_ax, score_ax = axes[0], axes[1], axes[2]
    assert len(sim_ax.patches) == 3  # only 3 neighbours drawn
    assert [t.get_text() for t in votes_ax.get_xticklabels()] == ["7", "1", "9"]
    assert [t.get_text() for t in votes_ax.get_yticklabels()] == ["Film A", "Film B"]
    assert [round(p.get_width(), 2) for p in score_ax.patches] == [1.6, 0.5]


def test_plot_leave_one_out_markers():
    train = pd.DataFrame({"user_idx": [0, 0, 0, 1, 1], "item_idx": [1, 2, 3, 1, 4], "timestamp": [1, 2, 3, 1, 2]})
    test = pd.DataFrame({"user_idx": [0, 1], "item_idx": [9, 8], "timestamp": [4, 3]})
    fig = pc.plot_leave_one_out(train, test)
    ax = _check(fig, 1)[0]
    diamonds = [line for line in ax.lines if line.get_marker() == "D"]
    assert [line.get_xdata().tolist() for line in diamonds] == [[4], [3]]  # the last position of each user


@pytest.mark.parametrize(
    "scores, title",
    [
        # test item 0.8; 0.9 and 0.85 beat it -> rank 3, NDCG = 1/log2(4) = 0.5
        (
            np.r_[0.8, 0.9, 0.85, 0.1, np.zeros(10)],
            "Rank 3 <= 10: HR@10 = 1, NDCG@10 = 1/log2(3 + 1) = 0.500; 10 negatives",
        ),
        # 12 negatives beat it -> rank 13 > 10
        (np.r_[0.1, np.full(12, 0.5), np.zeros(5)], "Rank 13 > 10: HR@10 = 0, NDCG@10 = 0"),
    ],
)
def test_plot_ranking_example_titles(scores, title):
    fig = pc.plot_ranking_example(scores, k=10)
    ax = _check(fig, 1)[0]
    assert fig.get_suptitle().startswith(title.split(";")[0])
    assert len(ax.patches) == len(scores)
    # the held-out item is the one orange bar
    orange = [p for p in ax.patches if p.get_facecolor()[:3] == matplotlib.colors.to_rgb(OKABE_ITO[1])]
    assert len(orange) == 1


def test_plot_model_comparison_bars_and_errors():
    table = pd.DataFrame({"hr@10": [0.5, 0.7], "ndcg@10": [0.3, 0.4]}, index=["Popularity", "UserCF"])
    fig = pc.plot_model_comparison(table, random_hr=0.1)
    ax = _check(fig, 1)[0]
    assert len(ax.patches) == 4
    assert any("random" in t.get_text() for t in ax.get_legend().get_texts())
    with pytest.raises(ValueError, match="no column"):
        pc.plot_model_comparison(table, metrics=("auc",))


class _FakeResult:
    def __init__(self, per_user):
        self.per_user = per_user

    def by_activity(self, bins=pc.ACTIVITY_BINS, metric="hr"):
        from ncf_helpers.evaluate import EvalResult

        return EvalResult({}, self.per_user, "sampled", 10, 99, 0.0).by_activity(bins, metric)


def test_plot_by_activity_lines_and_user_counts():
    per_user = pd.DataFrame({"user_idx": range(6), "num_train": [3, 5, 15, 30, 40, 250], "hr": [1, 0, 1, 1, 0, 1.0]})
    fig = pc.plot_by_activity({"A": _FakeResult(per_user), "B": _FakeResult(per_user.assign(hr=0.5))})
    ax = _check(fig, 1)[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["0-9\n(2 users)", "10-19\n(1 user)", "20-49\n(2 users)", "200+\n(1 user)"]
    assert len(ax.get_legend().get_texts()) == 2
    with pytest.raises(ValueError):
        pc.plot_by_activity({})


# ---------------------------------------------------------------------------------------------- lesson 03
def test_plot_factorization_panels():
    r = np.array([[5, 0, 1], [4, 3, 0]], dtype=float)
    p = np.array([[1.0, 0.5], [0.8, 0.2]])
    q = np.array([[4.0, 1.0], [2.0, 3.0], [1.0, -1.0]])
    fig = pc.plot_factorization(r, p, q, ["u", "v"], ["a", "b", "c"])
    axes = _check(fig, 4)
    assert "observed" in axes[0].get_title() and "prediction" in axes[3].get_title()
    # the prediction panel writes P Q^T; cell (0, 0) = 1*4 + 0.5*1 = 4.5, and outlines the 2 empty cells
    assert "4.5" in _texts(axes[3])
    assert len(axes[3].patches) == 2
    with pytest.raises(ValueError, match="Shapes"):
        pc.plot_factorization(r, p, q[:2], ["u", "v"], ["a", "b", "c"])


def test_plot_learning_curve_marks_best_validation():
    history = pd.DataFrame({"epoch": [1, 2, 3], "train_rmse": [1.0, 0.8, 0.6], "valid_rmse": [1.1, 0.9, 0.95]})
    fig = pc.plot_learning_curve(history, baselines={"mean": 1.05})
    ax = _check(fig, 1)[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "best valid rmse: 0.900 (epoch 2)" in labels and "mean: 1.050" in labels
    with pytest.raises(ValueError, match="no column"):
        pc.plot_learning_curve(history, x="iteration")


def test_plot_embedding_maps_panels_and_highlight():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 4))
    labels = np.array(["Horror"] * 10 + ["Romance"] * 15 + ["other"] * 25, dtype=object)
    fig = pc.plot_embedding_maps(
        {"learned": vectors, "planted": vectors[:, ::-1]}, labels, highlight={3: "Film X"}, max_points=20
    )
    axes = _check(fig, 2)
    assert [ax.get_title() for ax in axes] == ["learned", "planted"]
    assert "Film X" in _texts(axes[0])
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[0] == "other" and set(legend[1:]) == {"Horror", "Romance"}
    with pytest.raises(ValueError, match="labels"):
        pc.plot_embedding_maps({"learned": vectors}, labels[:10])


def test_plot_mf_explorer():
    rng = np.random.default_rng(0)
    result = {
        "vectors": rng.normal(size=(30, 8)),
        "labels": ["Horror"] * 30,
        "metrics": {"hr@10": 0.7, "ndcg@10": 0.5},
        "reference": {"UserCF": 0.73},
        "config": {"embedding_dim": 8, "reg": 1.0},
        "seconds": 1.2,
    }
    fig = pc.plot_mf_explorer(result)
    axes = _check(fig, 2)
    assert axes[0].get_title() == "embedding_dim = 8, reg = 1.0"
    assert len(axes[1].patches) == 2 and "1.2 s" in fig.get_suptitle()
