"""The interaction explorer (lesson 04) and the protocol explorer (lesson 06), driven without a browser.

Fast tests cover the plain functions and figures on hand-made inputs; the ``slow`` ones train small Keras
models on the synthetic data (2 epochs) and drive :class:`InteractionExplorer` as the Train button does.
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from ncf_helpers import evaluate as EV  # noqa: E402
from ncf_helpers.lessons.l04_neuralcf import explorer as I  # noqa: E402
from ncf_helpers.lessons.l04_neuralcf import explorer_plots as P  # noqa: E402
from ncf_helpers.lessons.l06_comparison import explorer as PR  # noqa: E402
from ncf_helpers.lessons.l06_comparison import plots as PP  # noqa: E402
from ncf_helpers.ui.base import SHARED_CACHE, data_key  # noqa: E402


@pytest.fixture(scope="module")
def split(synthetic):
    return I.explorer_split(synthetic, seed=0)


# ---------------------------------------------------------------------------------------------- plain helpers
@pytest.mark.parametrize(
    "text, expected",
    [("10, 10", (10, 10)), ("64,32 16", (64, 32, 16)), ("(8)", (8,)), ("", ()), ((5, 3), (5, 3)), ([7], (7,))],
)
def test_parse_layers_accepts(text, expected):
    assert I.parse_layers(text) == expected


@pytest.mark.parametrize(
    "text, words",
    [
        ("10, 0", "at least one unit"),
        ("ten", "whole numbers"),
        ("-3", "at least one unit"),
        ("2.5", "whole numbers"),
        ("5000", "too big"),
    ],
)
def test_parse_layers_rejects_with_a_readable_message(text, words):
    with pytest.raises(ValueError, match=words):
        I.parse_layers(text)


def test_movie_panel_finds_titles_and_falls_back_to_popular(synthetic, split):
    # Synthetic titles are made up, so the panel is the 12 items with the most training positives.
    counts = np.bincount(split.train["item_idx"], minlength=split.num_items)
    panel = I.movie_panel(synthetic, split)
    assert panel == [int(i) for i in np.argsort(-counts, kind="stable")[:12]]
    # A title that exists is looked up (most-rated match first), the rest filled from the popular items.
    title = synthetic.items["title"].iloc[5]
    panel = I.movie_panel(synthetic, split, titles=(title, "No Such Movie (1901)"), size=4)
    assert panel[0] == 5 and len(panel) == 4 and len(set(panel)) == 4
    with pytest.raises(ValueError, match="at least 2"):
        I.movie_panel(synthetic, split, size=1)


def test_movie_panel_on_movielens(movielens):
    panel = I.movie_panel(movielens)
    titles = movielens.title(panel)
    assert len(panel) == 12
    for want in ("Toy Story (1995)", "Matrix, The (1999)", "Pulp Fiction (1994)", "Godfather, The (1972)"):
        assert want in titles
    assert any(t.startswith("Star Wars: Episode IV") for t in titles)


def _run(vectors, counts, panel=(0, 1, 2)):
    """A hand-made InteractionRun (no training) for the neighbour and table tests."""
    v = np.asarray(vectors, dtype=np.float32)
    hist = pd.DataFrame({"epoch": [1, 2], "loss": [0.6, 0.5], "hr@10": [0.3, 0.4], "ndcg@10": [0.2, 0.25]})
    pairs = pd.DataFrame(
        {
            "user_idx": [0, 1, 2],
            "item_idx": [0, 1, 2],
            "dot": [0.0, 1.0, 2.0],
            "score": [1.0, 3.0, 5.0],
            "positive": [True, False, True],
        }
    )
    return I.InteractionRun(
        config=dict(interaction="mlp", embedding_dim=2, hidden=[10, 10], epochs=2, num_negatives=4, seed=0),
        history=hist,
        metrics={"hr@10": 0.4, "ndcg@10": 0.25},
        test_metrics={"hr@10": 0.35, "ndcg@10": 0.2},
        seconds=1.0,
        panel=list(panel),
        panel_titles=[f"m{i}" for i in panel],
        panel_similarity=I._cosine(v[list(panel)]),
        item_vectors=v,
        item_counts=np.asarray(counts),
        pairs=pairs,
        correlation=1.0,
        vectors="p . q",
        random_hr=0.1,
    )


def test_neighbours_by_hand():
    # Items: 0 = (1, 0), 1 = (1, 0.1), 2 = (0, 1), 3 = (-1, 0), 4 = (2, 0) but rare (3 training positives).
    # Cosines to item 0: item 1 -> 1 / sqrt(1.01) = 0.995, item 2 -> 0, item 3 -> -1, item 4 -> 1 (skipped: rare).
    run = _run([[1, 0], [1, 0.1], [0, 1], [-1, 0], [2, 0]], counts=[50, 40, 30, 20, 3])
    nb = I.neighbours(run, 0, k=10, min_count=10)
    assert nb["item_idx"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(nb["similarity"], [1 / np.sqrt(1.01), 0.0, -1.0], atol=1e-6)
    assert nb["rank"].tolist() == [1, 2, 3] and nb["train_count"].tolist() == [40, 30, 20]
    assert I.neighbours(run, 0, k=10, min_count=1)["item_idx"].iloc[0] == 4  # cosine 1 once allowed
    with pytest.raises(ValueError, match="item_idx"):
        I.neighbours(run, 9)


def test_cosine_matches_brute_force():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(6, 4))
    expect = np.array([[a @ b / np.linalg.norm(a) / np.linalg.norm(b) for b in v] for a in v])
    np.testing.assert_allclose(I._cosine(v), expect, atol=1e-12)


def test_history_table_marks_current_and_best():
    rows = [_run([[1, 0]] * 3, [1, 1, 1]).row() for _ in range(3)]
    rows[1]["hr@10"] = 0.9
    markup = I.history_html(rows, current=2)
    body = markup.split("<tbody>")[1]
    trs = body.split("<tr")[1:]
    assert len(trs) == 3
    assert trs[0].startswith(' style="background:#fff3c4;"')  # newest first, and it is the current one
    assert 'font-weight:bold;">0.900' in trs[1]  # the best HR@10 is bold
    assert I.history_html([]).startswith("<i>No configuration")


# ---------------------------------------------------------------------------------------------- figures
def test_figures_have_the_expected_content():
    run = _run([[1, 0], [1, 0.1], [0, 1], [-1, 0]], counts=[50, 40, 30, 20])
    fig = P.plot_training_curve(run.history)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[1].lines[0].get_ydata().tolist() == [0.3, 0.4]
    refs = pd.DataFrame({"hr@10": [0.5, 0.6], "ndcg@10": [0.3, 0.35]}, index=["Popularity", "ItemCF"])
    fig = P.plot_metric_bars(run.metrics, refs, label="MLP 2d", interaction="mlp", random_hr=0.1)
    heights = sorted(round(p.get_height(), 3) for p in fig.axes[0].patches)
    assert heights == [0.25, 0.3, 0.35, 0.4, 0.5, 0.6]  # two bars per model: HR@10 and NDCG@10
    fig = P.plot_similarity_heatmap(run.panel_similarity, run.panel_titles, highlight=1)
    assert fig.axes[0].images[0].get_clim() == (-1.0, 1.0)  # a negative cosine: diverging scale on [-1, 1]
    fig = P.plot_similarity_heatmap(np.array([[1, 0.9], [0.9, 1.0]]), ["a", "b"])
    assert fig.axes[0].images[0].get_clim()[0] == pytest.approx(0.9)  # all positive: stretched colours
    fig = P.plot_score_vs_dot(run.pairs["dot"], run.pairs["score"], positive=run.pairs["positive"], interaction="dot")
    assert "r = 1.000, an inner product" in fig.axes[0].get_title(loc="left")
    assert isinstance(P.plot_run_overview(run, refs), Figure)
    with pytest.raises(ValueError, match="n = len"):
        P.plot_similarity_heatmap(np.eye(3), ["a", "b"])
    with pytest.raises(ValueError, match="hr@10"):
        P.plot_metric_bars({"hr": 1}, refs)
    with pytest.raises(ValueError, match="same length"):
        P.plot_score_vs_dot([1, 2, 3], [1, 2])


def test_random_metric_by_hand():
    # One relevant item among c candidates ranked at random: HR@10 = min(10, c) / c;
    # NDCG@10 = (1/c) * sum_{r < min(10, c)} 1 / log2(r + 2). For c = 2: (1 + 1/log2(3)) / 2 = 0.8155.
    assert PP._random_metric("hr@10", 100, 10) == pytest.approx(0.1)
    assert PP._random_metric("hr@10", 5, 10) == 1.0
    assert PP._random_metric("ndcg@10", 2, 10) == pytest.approx((1 + 1 / np.log2(3)) / 2)
    assert PP._random_metric("mrr", 2, 10) is None


# ---------------------------------------------------------------------------------------------- protocol
def test_extend_negatives_keeps_the_stored_ones(split):
    wide = EV.extend_negatives(split, 150, seed=0)
    assert wide.test_negatives.shape == (len(split.test), 150)
    np.testing.assert_array_equal(wide.test_negatives[:, :99], split.test_negatives)  # same first 99
    keys = split.positive_keys()
    users = split.test["user_idx"].to_numpy()
    flat = (users[:, None] * split.num_items + wide.test_negatives).ravel()
    assert not np.isin(flat, keys).any()  # never a positive of that user
    assert all(len(set(row)) == 150 for row in wide.test_negatives)  # no repeats in a row
    assert EV.extend_negatives(split, 50) is split  # enough stored already
    with pytest.raises(ValueError, match="At most"):
        EV.extend_negatives(split, split.num_items)


def test_protocol_curve_matches_evaluate(split):
    from ncf_helpers.evaluate import evaluate

    models = I.reference_models(split, fast=True)
    curve = EV.protocol_curve(models, split, negatives=(1, 9, 99, 199, "all"))
    assert set(curve["num_negatives"]) == {"1", "9", "99", "199", "all"}
    for name, model in models.items():
        rows = curve[curve["model"] == name].set_index("num_negatives")
        for n in (1, 9, 99):  # the first n stored negatives, exactly as evaluate(..., num_negatives=n)
            assert rows.loc[str(n), "hr@10"] == pytest.approx(evaluate(model, split, num_negatives=n).hr, abs=1e-12)
        assert rows.loc["all", "ndcg@10"] == pytest.approx(evaluate(model, split, protocol="full").ndcg, abs=1e-12)
        # With n + 1 <= 10 candidates the held-out item is always in the top 10: HR@10 = 1 for every model.
        assert rows.loc["1", "hr@10"] == 1.0 and rows.loc["9", "hr@10"] == 1.0
        assert rows.loc["99", "hr@10"] >= rows.loc["199", "hr@10"] >= rows.loc["all", "hr@10"]
    assert curve.loc[curve["num_negatives"] == "199", "candidates"].iloc[0] == 200
    with pytest.raises(ValueError, match="positive whole numbers"):
        EV.protocol_curve(models, split, negatives=(0, "all"))


def test_score_table_matches_the_model(split):
    model = I.reference_models(split, fast=True)["ItemCF"]
    users = split.test["user_idx"].to_numpy()[:20]
    table = EV.ScoreTable(model, users, split.num_items, batch_users=7)
    items = np.arange(split.num_items)[::37]
    u = np.repeat(users[:3], len(items))
    i = np.tile(items, 3)
    np.testing.assert_allclose(table.score(u, i), model.score(u, i))
    other = np.setdiff1d(split.test["user_idx"].to_numpy(), users)[0]
    with pytest.raises(ValueError, match="only holds"):
        table.score([other], [0])


def test_protocol_explorer_slider(split):
    ex = PR.ProtocolExplorer(split=split, fast=True, negatives=(1, 9, 99, 199, "all"))
    assert ex.error.value == "" and ex.runs == 1  # drawn at once
    first = ex.figures["main"]
    assert "99 sampled negatives" in ex.figures["summary"].lower() or "against 99" in ex.figures["summary"]
    ex.controls["num_negatives"].value = "9"  # auto_run: the slider redraws without a button press
    assert ex.runs == 2 and ex.figures["main"] is not first
    assert "every model scores HR@10 = 1" in ex.figures["summary"]
    ex.controls["num_negatives"].value = "all"
    assert "against all items" in ex.figures["summary"].lower()
    ex.controls["metric"].value = "ndcg@10"
    assert ex.error.value == "" and ex.cache.misses == 4
    ex.controls["num_negatives"].value = "9"  # hr@10 -> ndcg@10 changed the key; back to a seen one:
    ex.controls["metric"].value = "hr@10"
    assert ex.last_cached


def test_protocol_explorer_shows_a_given_curve(split):
    pop = {"Popularity": I.reference_models(split, fast=True)["Popularity"]}
    curve = EV.protocol_curve(pop, split, negatives=(4, 99, "all"))
    ex = PR.ProtocolExplorer(pop, split, curve=curve)
    assert [v for _, v in ex.controls["num_negatives"].options] == ["4", "99", "all"]  # the lesson's settings
    assert ex.curve() is curve and ex.error.value == ""
    ex.controls["num_negatives"].value = "4"
    assert "every model scores HR@10 = 1" in ex.figures["summary"]  # 5 candidates <= 10
    with pytest.raises(ValueError, match="lacks column"):
        PR.ProtocolExplorer(pop, split, curve=curve.drop(columns="candidates"))


def test_data_key_tells_splits_apart(synthetic, split):
    assert data_key(split) == data_key(I.explorer_split(synthetic, seed=0))
    assert data_key(split) != data_key(I.explorer_split(synthetic, seed=1))


# ---------------------------------------------------------------------------------------------- Keras (slow)
@pytest.mark.slow
def test_train_interaction_two_tower(synthetic, split):
    run = I.train_interaction(
        split, "two_tower", epochs=1, embedding_dim=8, hidden=(8,), dataset=synthetic, num_pairs=400
    )
    assert run.history["epoch"].tolist() == [1] and run.which == "valid"
    # the reported numbers are the shared harness' numbers for the trained model, on the validation and test items
    from ncf_helpers.evaluate import evaluate

    valid, test = evaluate(run.model, split, which="valid"), evaluate(run.model, split)
    assert run.metrics == pytest.approx({"hr@10": valid.hr, "ndcg@10": valid.ndcg})
    assert run.test_metrics == pytest.approx({"hr@10": test.hr, "ndcg@10": test.ndcg})
    assert run.history["hr@10"].iloc[-1] == pytest.approx(valid.hr)
    assert run.correlation > 0.999  # the towers meet in a dot product: the score IS user vector . item vector
    np.testing.assert_allclose(run.pairs["dot"], run.pairs["score"], rtol=1e-3, atol=1e-4)
    assert run.item_vectors.shape == (split.num_items, 8) and run.model is not None
    assert run.panel_similarity.shape == (12, 12) and np.allclose(np.diag(run.panel_similarity), 1, atol=1e-6)
    assert run.pairs["positive"].sum() == 200 and run.row()["layers"] == "8"
    with pytest.raises(ValueError, match="Unknown interaction"):
        I.train_interaction(split, "cosine")
    with pytest.raises(ValueError, match="epochs"):
        I.train_interaction(split, "dot", epochs=0)


@pytest.mark.slow
def test_explorer_trains_caches_and_updates_every_view(synthetic, split, monkeypatch):
    calls = []
    real = I.train_interaction

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(I, "train_interaction", counting)
    seen = []  # state of the controls at the end of each epoch, recorded from inside training

    import keras

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(
                (ex.button.disabled, ex.controls["interaction"].disabled, ex.picker.disabled, ex.bar.value, ex.bar.max)
            )

    ex = I.InteractionExplorer(synthetic, split, fast=True, callbacks=[Spy()])
    assert isinstance(ex.widget, W.VBox) and ex.controls["epochs"].value == I.FAST_EPOCHS
    ex.controls["embedding_dim"].value = 8
    ex.controls["hidden"].value = "8"
    first = ex.run()
    assert first is not None and ex.error.value == "" and calls == ["mlp"]
    assert all(s[:3] == (True, True, True) for s in seen) and [s[3] for s in seen] == [1, 2]  # bar per epoch
    assert not ex.button.disabled and not ex.controls["interaction"].disabled  # usable again
    assert "Done: computed" in ex.status.value
    views = dict(ex.figures)
    assert set(views) == set(I.InteractionExplorer.VIEWS)

    ex.controls["interaction"].value = "dot"  # as if chosen in the page, then Train
    ex.button.click()
    assert calls == ["mlp", "dot"] and len(ex.history_rows) == 2
    for name in I.InteractionExplorer.VIEWS:  # every view was redrawn
        assert ex.figures[name] is not views[name], name
    assert ex.history_rows[1]["interaction"] == "dot" and ex.current_row == 1
    dot = ex.last_result  # [p_u, b_u, 1] . [q_i, 1, b_i] is exactly the dot model's logit: a straight line
    assert dot.correlation > 0.999 and "r = 1.000" in ex.figures["dot"].axes[0].get_title(loc="left")
    np.testing.assert_allclose(dot.pairs["dot"], dot.pairs["score"], rtol=1e-4, atol=1e-4)
    assert first.correlation < 0.95  # the MLP's score is not p_u . q_i: a cloud
    assert first.model is None  # the explorer's cache keeps arrays, not Keras models

    ex.controls["interaction"].value = "mlp"  # trained before: from the cache, no training (how fast that is on
    again = ex.run()  # ml-latest-small: benchmarks/explorer.py, budget < 1 s)
    assert again is first and ex.last_cached and calls == ["mlp", "dot"]
    assert len(ex.history_rows) == 2 and ex.current_row == 0 and "from the cache" in ex.status.value

    before = ex.figures["neighbours"]
    ex.picker.value = ex.picker.options[3][1]  # another movie: neighbour list redrawn, nothing retrained
    assert ex.figures["neighbours"] is not before and ex.picker.options[3][0].split(" (")[0] in ex.figures["neighbours"]
    assert calls == ["mlp", "dot"]

    ex.controls["hidden"].value = "8, 0"  # an impossible layer: a readable message, the widget stays alive
    assert ex.run() is None
    assert "Could not run this configuration" in ex.error.value and "at least one unit" in ex.error.value
    assert not ex.button.disabled and calls == ["mlp", "dot"]
    ex.controls["hidden"].value = "8"
    assert ex.run() is first and ex.error.value == ""

    # A run trained in a lesson cell seeds the explorer: shown at once, first history row, then cached.
    ex2 = I.InteractionExplorer(synthetic, split, fast=True, initial=first)
    assert len(ex2.history_rows) == 1 and set(ex2.figures) == set(I.InteractionExplorer.VIEWS)
    assert ex2.run() is not None and ex2.last_cached and calls == ["mlp", "dot"]


def test_reference_metrics_are_computed_once(split):
    SHARED_CACHE.clear()
    refs = I.reference_metrics(split, fast=True)
    hits = SHARED_CACHE.hits
    again = I.reference_metrics(split, fast=True)
    assert again is refs and SHARED_CACHE.hits > hits
    assert list(refs.index) == ["Popularity", "ItemCF", "iALS"]
    # the popularity row is the shared harness' number on the validation item; every model beats random (10 / 100)
    from ncf_helpers.classic import Popularity
    from ncf_helpers.evaluate import evaluate

    pop = evaluate(Popularity().fit(split), split, which="valid")
    assert refs.loc["Popularity", "hr@10"] == pytest.approx(pop.hr)
    assert refs.loc["Popularity", "ndcg@10"] == pytest.approx(pop.ndcg)
    assert (refs["hr@10"] > 2 * 10 / 100).all(), refs
    assert (refs["ndcg@10"] <= refs["hr@10"]).all()  # NDCG@10 <= HR@10 for one relevant item
