"""Lesson 05's experiment, figure and exercise-check functions on tiny synthetic data.

Keras models here are built but barely (or not) trained: the experiments' arithmetic does not depend on how
good a model is, only on its structure, so these tests stay fast.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from ncf_helpers.checks import ExerciseIncomplete, ExerciseIncorrect
from ncf_helpers.data import leave_last_one_out
from ncf_helpers.lessons.l05_two_tower import exercises as ex
from ncf_helpers.lessons.l05_two_tower import experiments as tt

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def split(synthetic):
    return leave_last_one_out(synthetic, num_negatives=49, seed=0, threshold=3.5, validation=True)


@pytest.fixture(scope="module")
def keras_models(split, synthetic):
    """An untrained logit two-tower, a sigmoid_dense two-tower with w forced to -2, a genre two-tower and an
    MLP, all tiny."""
    from ncf_helpers.models import KerasRecommender, build_model

    nu, ni = split.num_users, split.num_items
    logit = build_model(nu, ni, "two_tower", embedding_dim=8, hidden=(8,), seed=0)
    dense = build_model(
        nu, ni, "two_tower", embedding_dim=8, hidden=(8,), output="sigmoid_dense", tower_activation="linear", seed=0
    )
    dense.get_layer("prediction").set_weights([np.array([[-2.0]], np.float32), np.array([0.5], np.float32)])
    content = build_model(
        nu,
        ni,
        "two_tower",
        embedding_dim=8,
        hidden=(8,),
        seed=0,
        item_features=synthetic.genre_matrix(),
        id_dropout=0.3,
    )
    mlp = build_model(nu, ni, "mlp", embedding_dim=8, hidden=(8,), seed=0)
    rng = np.random.default_rng(0)
    for m in (logit, dense):  # spread the untrained vectors out, so float32 outputs do not tie
        for name in ("user_embedding", "item_embedding"):
            layer = m.get_layer(name)
            layer.set_weights([rng.normal(0.0, 0.5, layer.get_weights()[0].shape).astype(np.float32)])
    return {
        name: KerasRecommender(m, name=name)
        for name, m in (("logit", logit), ("dense", dense), ("content", content), ("mlp", mlp))
    }


# ---------------------------------------------------------------------------------------------- no Keras
def test_context_cache_size_by_hand():
    t = tt.context_cache_size(610, {"hour of day": 24, "weekday": 7}, embedding_dim=32)
    assert list(t["context"]) == ["user only", "+ hour of day (24)", "+ weekday (7)"]
    # 610 users; x 24 = 14,640; x 7 = 102,480 vectors; bytes = vectors x 32 floats x 4 bytes
    assert list(t["vectors"]) == [610, 14_640, 102_480]
    assert list(t["combinations per user"]) == [1, 24, 168]
    assert t["bytes"].iloc[-1] == 102_480 * 32 * 4 == 13_117_440
    assert t["size"].iloc[-1] == "13.1 MB" and t["size"].iloc[0] == "78.1 KB"
    big = tt.context_cache_size(10**8, {"hour": 24, "weekday": 7, "device": 3, "city": 1000})
    assert big["vectors"].iloc[-1] == 10**8 * 504_000  # python ints: no overflow
    assert big["size"].iloc[-1].endswith("PB")
    with pytest.raises(ValueError, match="whole number"):
        tt.context_cache_size(10, {"hour": 0})
    with pytest.raises(ValueError, match=">= 1"):
        tt.context_cache_size(0, {})


def test_years_and_context_features(synthetic):
    # 0 s -> 1970.0; one mean Gregorian year (365.2425 days) later -> 1971.0
    assert tt.request_years([0, 365.2425 * 86400]) == pytest.approx([1970.0, 1971.0])
    years = tt.release_years(synthetic)
    assert years.shape == (synthetic.num_items,) and np.isfinite(years).all()
    assert years[0] == float(synthetic.items["title"].iloc[0][-5:-1])  # "... (1999)" -> 1999
    # two requests in mid-2000 (t = 30.5 years after 1970), candidates released 1990, 2000.4 and 2005
    t = (2000.5 - 1970.0) * 365.2425 * 86400
    yrs = np.array([1990.0, 2000.4, 2005.0])
    pop = np.array([0.0, np.e - 1, 3.0])
    cand = np.array([[0, 1, 2], [2, 1, 0]])
    X = tt.context_features(np.ones((2, 3)), cand, [t, t], yrs, pop)
    assert X.shape == (2, 3, 4)
    assert X[0, :, 1] == pytest.approx([0.0, 1.0, np.log(4.0)])  # log(1 + popularity)
    # ages 10.5, 0.1, -4.5 -> log1p(max(age, 0)) = log(11.5), log(1.1), 0; "not yet released" only for 2005
    assert X[0, :, 2] == pytest.approx([np.log(11.5), np.log(1.1), 0.0])
    assert list(X[0, :, 3]) == [0.0, 0.0, 1.0] and list(X[1, :, 3]) == [1.0, 0.0, 0.0]


def test_context_ranker_learns_the_signal():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 10, 2))
    y = (X[..., 0] + 0.1 * rng.normal(size=(400, 10)) > 1.0).astype(float)  # only feature 0 matters
    r = tt.ContextRanker(names=("signal", "noise")).fit(X, y)
    w = r.coefficients()
    assert w["signal"] > 2.0 and abs(w["noise"]) < 0.5 * w["signal"]
    assert r.score(X).shape == (400, 10)
    only = tt.ContextRanker([1], names=("signal", "noise")).fit(X, y)
    assert list(only.coefficients().index) == ["noise"]
    with pytest.raises(ValueError, match="not fitted"):
        tt.ContextRanker().score(X)
    with pytest.raises(ValueError, match="0/1 labels"):
        tt.ContextRanker().fit(X, np.zeros((400, 10)))


def test_neighbour_genre_overlap(synthetic):
    gm = synthetic.genre_matrix()
    items, pool = np.arange(0, 60), np.arange(60, synthetic.num_items)
    rng = np.random.default_rng(1)
    out = tt.neighbour_genre_overlap(
        {"genres": gm, "noise": rng.normal(size=(synthetic.num_items, 8))}, synthetic, items, pool, k=5
    ).set_index("space")["jaccard"]
    assert list(out.index) == ["genres", "noise", "random films"]
    # Neighbours in the genre space itself share (nearly) all genres; random vectors do not.
    assert out["genres"] > 0.8 > out["noise"] + 0.3 and abs(out["noise"] - out["random films"]) < 0.15
    with pytest.raises(ValueError, match="more than k"):
        tt.neighbour_genre_overlap({"g": gm}, synthetic, items, pool[:3], k=5)


def test_neighbour_genre_overlap_by_hand():
    """Four films with genre sets A, A, B, AB; vectors put film 0 next to film 1 (same genres) and film 2 next to
    film 3. Jaccard of the sets: A-A 1, A-B 0, A-AB 1/2, B-AB 1/2."""

    class Tiny:
        genres = ["A", "B"]

        def genre_matrix(self):
            return np.array([[1, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float32)

    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    popularity = np.array([1.0, 2.0, 3.0, 10.0])  # film 3 is the most popular, then film 2
    out = tt.neighbour_genre_overlap(
        {"v": vectors}, Tiny(), np.arange(4), np.arange(4), k=1, popularity=popularity
    ).set_index("space")
    assert list(out.index) == ["v", "random films", "most popular films"]
    # nearest neighbours 0->1 (1), 1->0 (1), 2->3 (1/2), 3->2 (1/2): mean 3/4
    assert out.loc["v", "jaccard"] == pytest.approx(0.75)
    # per-item values 1, 1, 1/2, 1/2: sample std 0.2887, over sqrt(4) = 0.1443
    assert out.loc["v", "se"] == pytest.approx(np.std([1, 1, 0.5, 0.5], ddof=1) / 2)
    # most popular other film: 3 for films 0, 1, 2 (1/2, 1/2, 1/2) and 2 for film 3 (1/2): mean 1/2
    assert out.loc["most popular films", "jaccard"] == pytest.approx(0.5)
    # random neighbours never include the film itself (that would count Jaccard 1 for free)
    # (film 2, genre B, drawn against films 0, 1 (genre A) and itself: only excluding itself gives exactly 0)
    for seed in range(5):
        alone = tt.neighbour_genre_overlap({"v": vectors}, Tiny(), np.array([2]), np.arange(3), k=2, seed=seed)
        assert alone.set_index("space").loc["random films", "jaccard"] == 0.0
    with pytest.raises(ValueError, match="one value per item"):
        tt.neighbour_genre_overlap({"v": vectors}, Tiny(), np.arange(4), np.arange(4), k=1, popularity=[1.0])


def test_fresh_item_hits_and_context_ranking_with_a_classic_model(split, synthetic):
    from ncf_helpers.classic import Popularity

    pop = Popularity().fit(split)
    fresh = tt.fresh_item_hits({"pop": pop}, split)
    assert list(fresh["items"]) == ["new in test", "seen in training"]
    assert fresh["users"].sum() == len(split.test)
    known = np.unique(split.train_item_idx)
    assert fresh["users"].iloc[0] == int((~np.isin(split.test["item_idx"], known)).sum())
    table, rankers = tt.context_ranking(pop, synthetic, split)
    assert list(table.index) == [
        "retrieval score only",
        "ranker: score + popularity",
        "ranker: + film age at request time",
    ]
    # the retrieval row ranks the test requests by the model's score alone: the shared harness' numbers
    from ncf_helpers.evaluate import evaluate

    direct = evaluate(pop, split)
    assert table.loc["retrieval score only", "hr@10"] == pytest.approx(direct.hr)
    assert table.loc["retrieval score only", "ndcg@10"] == pytest.approx(direct.ndcg)
    assert len(rankers["ranker: + film age at request time"].coefficients()) == 4
    no_valid = leave_last_one_out(synthetic, num_negatives=9, seed=0, threshold=3.5)
    with pytest.raises(ValueError, match="validation=True"):
        tt.context_ranking(pop, synthetic, no_valid)


# ---------------------------------------------------------------------------------------------- Keras
def test_index_vs_model_negative_weight_reverses_the_index(keras_models, split):
    res = tt.index_vs_model(keras_models["dense"], split)
    assert list(res.index) == ["model output", "index: largest u.v", "index: largest (w u).v"]
    assert res["w"].iloc[0] == pytest.approx(-2.0) and res["b"].iloc[0] == pytest.approx(0.5)
    # Folding w into the query reproduces the model's own ranking exactly.
    assert res.loc["index: largest (w u).v", "hr@10"] == pytest.approx(res.loc["model output", "hr@10"], abs=2e-3)
    # The raw index ranks by the opposite order: its metrics are those of the reversed scores.
    pairs = tt.score_pairs(keras_models["dense"], split, n=300)
    expected = 1.0 / (1.0 + np.exp(-(-2.0 * pairs["dot"] + 0.5)))
    assert pairs["score"].to_numpy() == pytest.approx(expected.to_numpy(), abs=1e-5)
    logit = tt.index_vs_model(keras_models["logit"], split)
    assert logit["w"].iloc[0] == 1.0  # no Dense: all three rank by the same number
    assert logit["hr@10"].max() - logit["hr@10"].min() < 2e-3
    lp = tt.score_pairs(keras_models["logit"], split, n=50)
    assert lp["score"].to_numpy() == pytest.approx(lp["dot"].to_numpy(), abs=1e-4)
    with pytest.raises(ValueError, match="two-tower"):
        tt.index_vs_model(keras_models["mlp"], split)


def test_serving_experiments(keras_models, split):
    from ncf_helpers.models import TwoTowerIndex

    index = TwoTowerIndex(keras_models["logit"], split=split)
    sc = tt.catalogue_scaling(keras_models["mlp"], index, sizes=(50, 500), repeats=2)
    assert list(sc.columns) == ["method", "num_items", "median ms", "best ms", "rows through a network"]
    assert len(sc) == 4 and (sc["best ms"] > 0).all() and (sc["best ms"] <= sc["median ms"]).all()
    mlp = sc[sc["method"].str.contains("MLP")]
    assert list(mlp["rows through a network"]) == [50, 500]
    assert (sc.loc[~sc["method"].str.contains("MLP"), "rows through a network"] == 1).all()
    with pytest.raises(ValueError, match="at least k"):
        tt.catalogue_scaling(keras_models["mlp"], index, sizes=(5,))
    lat = tt.query_latency(index, num_context=6, repeats=3)
    assert list(lat["query vector"]) == ["cached user vector", "user tower per request", "query tower with context"]
    assert list(lat["network calls / request"]) == [0, 1, 1] and (lat["best ms"] > 0).all()
    assert (lat["best ms"] <= lat["median ms"]).all() and (lat["median ms"] <= lat["p95 ms"] + 1e-9).all()


def test_cold_start_neighbours(keras_models, split, synthetic):
    content = keras_models["content"]
    out = tt.cold_start_neighbours(content, synthetic, split, item_idx=3, k=5)
    assert list(out.columns) == ["item_idx", "title", "genres", "similarity", "shared_genres"]
    assert len(out) == 5 and 3 not in set(out["item_idx"])
    assert set(out["item_idx"]) <= set(np.unique(split.train_item_idx))  # only films the model knows
    assert out["similarity"].is_monotonic_decreasing and (out["similarity"] <= 1 + 1e-6).all()
    g = synthetic.genres[:2]
    by_genre = tt.cold_start_neighbours(content, synthetic, split, genres=g, k=3)
    assert len(by_genre) == 3
    genres_of = synthetic.items.set_index("item_idx")["genres"]
    assert by_genre["shared_genres"].tolist() == [len(set(genres_of[i]) & set(g)) for i in by_genre["item_idx"]]
    with pytest.raises(ValueError, match="exactly one"):
        tt.cold_start_neighbours(content, synthetic, split, k=3)
    with pytest.raises(ValueError, match="unknown"):
        tt.cold_start_neighbours(content, synthetic, split, genres=["Space Opera"])


# ---------------------------------------------------------------------------------------------- figures
def test_plots():
    from matplotlib.figure import Figure

    from ncf_helpers.lessons.l05_two_tower import plots

    scaling = pd.DataFrame(
        {
            "method": ["score every pair (MLP)", "two-tower index"] * 2,
            "num_items": [1000, 1000, 10000, 10000],
            "median ms": [2.0, 1.0, 8.0, 1.2],
            "rows through a network": [1000, 1, 10000, 1],
        }
    )
    assert isinstance(plots.plot_serving_cost(scaling), Figure)
    fig = plots.plot_serving_cost(scaling.drop(columns="best ms", errors="ignore"), mark=5000)
    assert "5,000 items" in " ".join(t.get_text() for t in fig.axes[1].get_legend().get_texts())
    pairs = pd.DataFrame({"dot": [0.0, 1.0, 2.0], "score": [0.6, 0.4, 0.2], "held_out": [True, False, False]})
    rankings = pd.DataFrame(
        {"hr@10": [0.6, 0.02, 0.6], "w": -0.5, "b": 0.1},
        index=["model output", "index: largest u.v", "index: largest (w u).v"],
    )
    fig = plots.plot_sigmoid_dense(pairs, rankings)
    assert "w = -0.50" in fig._suptitle.get_text()
    overlap = pd.DataFrame({"space": ["IDs only", "IDs + genres", "random films"], "jaccard": [0.15, 0.9, 0.15]})
    fresh = pd.DataFrame(
        {
            "model": ["a", "a", "b", "b"],
            "items": ["new in test", "seen in training"] * 2,
            "users": [28, 580, 28, 580],
            "hr@10": [0.0, 0.6, 0.1, 0.62],
        }
    )
    assert isinstance(plots.plot_side_features(overlap, fresh), Figure)
    cache = pd.concat([tt.context_cache_size(n, {"hour": 24}).assign(users=n) for n in (610, 10**8)])
    latency = pd.DataFrame(
        {
            "query vector": ["cached user vector", "query tower with context"],
            "network calls / request": [0, 1],
            "median ms": [0.1, 2.0],
        }
    )
    assert isinstance(plots.plot_context(cache, latency), Figure)
    table = pd.DataFrame({"hr@10": [0.6, 0.7], "ndcg@10": [0.4, 0.45]}, index=["a", "b"])
    fig = plots.plot_ranking_stage(table, pd.Series([1.0, -2.0], index=["x", "y"]))
    assert len(fig.axes) == 2 and len(plots.plot_ranking_stage(table).axes) == 1
    with pytest.raises(ValueError, match="lacks column"):
        plots.plot_serving_cost(scaling.drop(columns="median ms"))
    with pytest.raises(ValueError, match="must be a DataFrame"):
        plots.plot_sigmoid_dense(None, rankings)


# ---------------------------------------------------------------------------------------------- exercises
def _stub(*args):
    raise NotImplementedError


def test_exercise_5_1():
    def good(n, sizes):
        out = int(n)
        for s in sizes:
            out *= int(s)
        return out

    assert ex.check_cached_vectors(good)
    with pytest.raises(ExerciseIncorrect, match="multiply"):
        ex.check_cached_vectors(lambda n, sizes: n * max(1, sum(sizes)))
    with pytest.raises(ExerciseIncorrect, match="int32"):
        ex.check_cached_vectors(lambda n, sizes: int(np.prod(np.r_[n, sizes].astype(np.int32), dtype=np.int32)))
    with pytest.raises(ExerciseIncomplete):
        ex.check_cached_vectors(_stub)


def test_exercise_5_2():
    def good(u, v, k):
        return np.argsort(-(v @ u), kind="stable")[:k]

    assert ex.check_top_k_by_dot(good)
    with pytest.raises(ExerciseIncorrect, match="SMALLEST"):
        ex.check_top_k_by_dot(lambda u, v, k: np.argsort(v @ u)[:k])
    with pytest.raises(ExerciseIncorrect, match="wrong order"):
        ex.check_top_k_by_dot(lambda u, v, k: np.sort(np.argpartition(-(v @ u), k - 1)[:k]))
    with pytest.raises(ExerciseIncorrect, match="not scores"):
        ex.check_top_k_by_dot(lambda u, v, k: np.sort(v @ u)[::-1][:k])


def test_exercise_5_3():
    def good(g, liked):
        liked = np.asarray(liked, dtype=int)
        return np.zeros(g.shape[1]) if len(liked) == 0 else g[liked].mean(axis=0)

    assert ex.check_genre_profile(good)
    with pytest.raises(ExerciseIncorrect, match="sum"):
        ex.check_genre_profile(lambda g, liked: g[np.asarray(liked, dtype=int)].sum(axis=0))
    with (
        pytest.raises(ExerciseIncorrect, match="empty case"),
        np.errstate(all="ignore"),
        pytest.warns(RuntimeWarning, match="Mean of empty slice"),
    ):
        ex.check_genre_profile(lambda g, liked: g[np.asarray(liked, dtype=int)].mean(axis=0))


def test_exercise_5_4():
    def good(u, v, w, b, k):
        return np.argsort(-(w * (v @ u) + b), kind="stable")[:k]

    assert ex.check_top_k_by_model(good)
    with pytest.raises(ExerciseIncorrect, match="DEcreases"):
        ex.check_top_k_by_model(lambda u, v, w, b, k: np.argsort(-(v @ u), kind="stable")[:k])

    def by_probability(u, v, w, b, k):  # ties once the probabilities round to 1.0
        p = 1.0 / (1.0 + np.exp(-(w * (v @ u) + b)))
        return np.argsort(-p, kind="stable")[:k]

    with pytest.raises(ExerciseIncorrect, match="rounded probability"):
        ex.check_top_k_by_model(by_probability)


def test_original_two_tower_and_its_seeds(split):
    model = tt.original_two_tower(split.num_users, split.num_items, seed=3)
    names = [layer.name for layer in model.layers]
    assert {"user_embedding", "item_embedding", "user_tower", "item_tower", "dot", "prediction"} <= set(names)
    # 10-dim embeddings, two Dense(10) per tower (110 + 110 weights each), Dense(1) on the dot: 2 weights
    assert model.count_params() == (split.num_users + split.num_items) * 10 + 2 * (110 + 110) + 2
    w3 = model.get_layer("prediction").get_weights()[0][0, 0]
    again = tt.original_two_tower(split.num_users, split.num_items, seed=3).get_layer("prediction").get_weights()[0]
    assert again[0, 0] == w3  # the seed alone fixes the initial weights
    out = tt.sigmoid_dense_seeds(split, seeds=(3, 4), epochs=1)
    assert list(out.columns) == ["seed", "w_start", "w_end", "hr@10"]
    assert out["seed"].tolist() == [3, 4] and out.loc[0, "w_start"] == pytest.approx(float(w3))
    assert out.loc[0, "w_start"] != out.loc[1, "w_start"]
    assert (out["w_end"] != out["w_start"]).any()  # training moves w
