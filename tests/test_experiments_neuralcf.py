"""Lesson 04's experiments (ncf_helpers.lessons.l04_neuralcf.experiments), their figures and the lesson's exercise checks.

Small synthetic inputs, hand-worked cases with the arithmetic in comments, and brute-force cross-checks.
The few tests that train a Keras model train a tiny one for one epoch (a second or two).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ncf_helpers.checks import ExerciseIncomplete, ExerciseIncorrect
from ncf_helpers.data import leave_last_one_out
from ncf_helpers.lessons.l04_neuralcf import exercises as ex
from ncf_helpers.lessons.l04_neuralcf import experiments as X


@pytest.fixture(scope="module")
def split(synthetic):
    """300 users x 400 items, leave-last-one-out with validation, 20 sampled negatives (fast to evaluate)."""
    return leave_last_one_out(synthetic, num_negatives=20, seed=0, threshold=3.5, validation=True)


# ---------------------------------------------------------------------------------------------- memory
def test_id_table_bytes_worked_example():
    # 10^8 users x 64 dims x 4 bytes = 25.6e9 bytes; Adam keeps 2 more copies: x3 = 76.8e9
    assert X.id_table_bytes(10**8, 64) == pytest.approx(25.6e9)
    assert X.id_table_bytes(10**8, 64, optimizer_slots=X.ADAM_SLOTS) == pytest.approx(76.8e9)
    # 3 rows x 2 dims x 8 bytes (float64) = 48
    assert X.id_table_bytes(3, 2, bytes_per_value=8) == 48
    np.testing.assert_allclose(X.id_table_bytes(np.array([1, 10]), 4), [16, 160])
    with pytest.raises(ValueError, match="must be >= 0"):
        X.id_table_bytes(-1, 4)


def test_memory_table():
    t = X.memory_table(num_users=(10, 10**8), embedding_dims=(32, 64))
    assert list(t.columns) == ["num_users", "embedding_dim", "weights_gb", "with_adam_gb"]
    assert len(t) == 4
    row = t[(t.num_users == 10**8) & (t.embedding_dim == 64)].iloc[0]
    assert row.weights_gb == pytest.approx(25.6) and row.with_adam_gb == pytest.approx(76.8)
    np.testing.assert_allclose(t.with_adam_gb, 3 * t.weights_gb)


# ---------------------------------------------------------------------------------------------- hashing maths
def test_expected_collision_fraction_by_hand_and_by_simulation():
    assert X.expected_collision_fraction(1, 10) == 0.0  # alone: nobody to collide with
    assert X.expected_collision_fraction(2, 2) == pytest.approx(0.5)  # the other id hits my bucket w.p. 1/2
    assert X.expected_collision_fraction(3, 2) == pytest.approx(0.75)  # 1 - (1/2)^2
    # brute force: hash 200 ids uniformly into 150 buckets many times, count ids that share their bucket
    rng = np.random.default_rng(0)
    shares = []
    for _ in range(300):
        b = rng.integers(0, 150, 200)
        shares.append(np.mean(np.bincount(b, minlength=150)[b] > 1))
    assert np.mean(shares) == pytest.approx(X.expected_collision_fraction(200, 150), abs=0.01)
    with pytest.raises(ValueError):
        X.expected_collision_fraction(0, 5)


def test_collision_stats_by_hand():
    # buckets 0,0,1,2,2,2 in 4 bins: bucket 1 is alone; 5 of 6 ids share; 3 bins used; fullest holds 3
    s = X.collision_stats(np.array([0, 0, 1, 2, 2, 2]), 4)
    assert s["collided_fraction"] == pytest.approx(5 / 6)
    assert (s["used_bins"], s["max_per_bin"], s["num_bins"]) == (3, 3, 4)
    assert s["expected_collided_fraction"] == pytest.approx(1 - (3 / 4) ** 5)


def test_hash_buckets_match_keras_hashing():
    import keras

    ids = np.array([1, 5, 17, 123456789, 5])
    b = X.hash_buckets(ids, 7)
    assert b.dtype == np.int64 and b.min() >= 0 and b.max() < 7
    assert b[1] == b[4]  # the same id always lands in the same bucket
    np.testing.assert_array_equal(b, np.asarray(keras.layers.Hashing(7)(ids)).reshape(-1))
    np.testing.assert_array_equal(X.hash_buckets(ids, 1), np.zeros(5))
    with pytest.raises(ValueError, match="num_bins"):
        X.hash_buckets(ids, 0)


# ---------------------------------------------------------------------------------------------- overlap
def test_top_k_overlap_by_hand():
    # row 0 shares {3, 4}: 2 of 4; row 1 shares everything (order ignored); row 2 nothing
    a = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [0, 1, 2, 3]])
    b = np.array([[4, 3, 9, 8], [8, 7, 6, 5], [10, 11, 12, 13]])
    np.testing.assert_allclose(X.top_k_overlap(a, b), [0.5, 1.0, 0.0])
    with pytest.raises(ValueError, match="one shape"):
        X.top_k_overlap(a, b[:, :2])


def test_top_k_overlap_matches_sets_on_random_lists():
    rng = np.random.default_rng(1)
    a = np.stack([rng.choice(50, 10, replace=False) for _ in range(30)])
    b = np.stack([rng.choice(50, 10, replace=False) for _ in range(30)])
    brute = [len(set(x) & set(y)) / 10 for x, y in zip(a, b)]
    np.testing.assert_allclose(X.top_k_overlap(a, b), brute)


# ---------------------------------------------------------------------------------------------- negatives
def test_negative_coverage_tiny_case():
    """One user, 5 items: item 0 is the training positive, item 1 the held-out test item. Every draw is one of
    the items 1-4, so about 1/4 of the draws are the held-out positive, and at most 4 distinct pairs exist."""
    from ncf_helpers.data import Split

    train = pd.DataFrame({"user_idx": [0] * 20, "item_idx": [0] * 20})
    test = pd.DataFrame({"user_idx": [0], "item_idx": [1]})
    s = Split(1, 5, train, test)
    cov = X.negative_coverage(s, epochs=6, num_negatives=1, seed=0)
    assert list(cov.columns) == ["epoch", "distinct_fresh", "distinct_fixed", "false_negative_rate"]
    assert (cov.distinct_fixed == cov.distinct_fixed.iloc[0]).all()
    assert cov.distinct_fresh.is_monotonic_increasing and cov.distinct_fresh.iloc[-1] <= 4
    assert cov.distinct_fresh.iloc[-1] == 4  # 120 draws over 4 items: every one seen
    assert cov.false_negative_rate.mean() == pytest.approx(0.25, abs=0.08)


def test_negative_coverage_on_synthetic(split):
    cov = X.negative_coverage(split, epochs=3, num_negatives=4, seed=0)
    assert (cov.distinct_fresh >= cov.distinct_fixed).all()
    assert cov.distinct_fresh.iloc[-1] > 1.5 * cov.distinct_fixed.iloc[0]
    assert cov.false_negative_rate.between(0, 0.05).all()
    with pytest.raises(ValueError, match="epochs"):
        X.negative_coverage(split, epochs=0)


# ---------------------------------------------------------------------------------------------- models
def _untrained(split, interaction):
    from ncf_helpers.models import KerasRecommender, build_model

    model = build_model(split.num_users, split.num_items, interaction, embedding_dim=4, hidden=(6,), seed=1)
    # give biases and GMF weights non-trivial values so the exact-form test is not trivially true
    rng = np.random.default_rng(2)
    for layer in model.layers:
        if layer.name in ("user_bias", "item_bias", "prediction"):
            layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    rec = KerasRecommender(model)
    rec.remember_training(split)
    return rec


def test_inner_product_form_reproduces_the_logits(split):
    users, items = np.array([0, 3, 7, 7]), np.array([5, 1, 9, 399])
    for interaction in ("dot", "gmf"):
        rec = _untrained(split, interaction)
        U, V = X.inner_product_form(rec)
        np.testing.assert_allclose(np.einsum("nd,nd->n", U[users], V[items]), rec.score(users, items), atol=1e-5)
    assert X.inner_product_form(_untrained(split, "mlp")) is None


def test_score_vs_dot_and_same_space_table(split):
    recs = {"MF": _untrained(split, "dot"), "MLP": _untrained(split, "mlp")}
    pairs = X.score_vs_dot(recs["MF"], split, 200, seed=0)
    assert list(pairs.columns) == ["user_idx", "item_idx", "positive", "dot", "score"]
    assert len(pairs) == 200 and pairs.positive.sum() == 100
    assert np.corrcoef(pairs["dot"], pairs["score"])[0, 1] > 0.9999  # MF's logit is exactly this inner product
    mlp_pairs = X.score_vs_dot(recs["MLP"], split, 200, seed=0)
    assert np.all(np.isfinite(mlp_pairs.score))  # sigmoid outputs turned into finite logits
    table = X.same_space_table(recs, split, k=5, num_users=20, num_pairs=200, seed=0)
    assert list(table.index) == ["MF", "MLP"]
    assert table.loc["MF", "overlap_inner@5"] == pytest.approx(1.0)
    assert table.loc["MF", "pearson"] == pytest.approx(1.0, abs=1e-6)
    # brute force for the MLP (no inner-product form: its plain embeddings p_u . q_i are what an index could use):
    # the same 20 users, each one's top 5 by the model and by p_u . q_i among the items not liked in training
    users = np.sort(np.random.default_rng(0).choice(np.unique(split.test["user_idx"]), size=20, replace=False))
    liked = split.train[split.train["label"] == 1]
    P, Q = np.asarray(recs["MLP"].user_factors), np.asarray(recs["MLP"].item_factors)
    shares = []
    for u in users:
        seen = set(liked.loc[liked["user_idx"] == u, "item_idx"])
        cand = np.array([i for i in range(split.num_items) if i not in seen])
        by_model = set(cand[np.argsort(-recs["MLP"].score(u, cand))[:5]])
        by_dot = set(cand[np.argsort(-(Q[cand] @ P[u]))[:5]])
        shares.append(len(by_model & by_dot) / 5)
    assert table.loc["MLP", "overlap_inner@5"] == pytest.approx(np.mean(shares))
    assert table.loc["MLP", "overlap_inner@5"] < 0.9  # an MLP is not served by its embeddings' inner product
    assert table.loc["MLP", "interaction"] == "mlp"
    with pytest.raises(ValueError, match="vectors"):
        X.score_vs_dot(recs["MF"], split, 10, vectors="towers")
    # given pairs (e.g. an explorer run's run.pairs) are used as they are, so two figures show one sample
    given = X.score_vs_dot(recs["MLP"], split, 200, seed=7)[["user_idx", "item_idx", "positive"]]
    again = X.score_vs_dot(recs["MLP"], split, pairs=given)
    np.testing.assert_array_equal(again["item_idx"], given["item_idx"])
    r_given = np.corrcoef(again["dot"], again["score"])[0, 1]
    same = X.same_space_table(recs, split, k=5, num_users=20, pairs={"MF": given, "MLP": given})
    assert same.loc["MLP", "pearson"] == pytest.approx(r_given)
    assert same.loc["MLP", "pearson"] != pytest.approx(table.loc["MLP", "pearson"])  # another sample, another r
    with pytest.raises(ValueError, match="user_idx and item_idx"):
        X.score_vs_dot(recs["MF"], split, pairs=given[["user_idx"]])


@pytest.mark.slow
def test_raw_id_model_trains_and_scores(split):
    from ncf_helpers.evaluate import evaluate

    model = X.build_raw_id_model(split.num_users, split.num_items, hidden=(8,), seed=0)
    assert {layer.name for layer in model.layers} >= {"ids_as_numbers", "hidden_1", "prediction"}
    hist = X.fit_custom(model, split, epochs=1, num_negatives=2, batch_size=2048, seed=0)
    assert list(hist.columns) == ["epoch", "loss", "seconds"] and np.isfinite(hist.loss).all()
    rec = X.KerasScorer(model, split.num_users, split.num_items, name="raw", batch_size=500)
    res = evaluate(rec, split)
    # brute force: each test item's rank among its 20 sampled negatives (a tie counts half), from the scorer itself
    users = split.test["user_idx"].to_numpy()
    pos = np.asarray(rec.score(users, split.test["item_idx"].to_numpy()))
    neg = np.asarray(rec.score(np.repeat(users, 20), split.test_negatives.reshape(-1))).reshape(-1, 20)
    rank = (neg > pos[:, None]).sum(axis=1) + 0.5 * (neg == pos[:, None]).sum(axis=1)
    got = res.per_user.set_index("user_idx").loc[users, "rank"].to_numpy()
    np.testing.assert_allclose(got, rank)
    assert res.hr == pytest.approx(res.per_user["hr"].mean())
    curve = X.score_curve({"raw": rec}, 3, split.num_items)
    assert curve.shape == (split.num_items, 2)
    # the score is a function of a number: neighbouring ids get nearly the same score
    assert np.abs(np.diff(curve["raw"])).max() < 0.1 * (curve["raw"].max() - curve["raw"].min() + 1e-9) + 1e-3
    with pytest.raises(ValueError, match="num_negatives"):
        X.fit_custom(model, split, epochs=1, num_negatives=0)
    with pytest.raises(ValueError, match="num_users"):
        X.build_raw_id_model(0, 5)


@pytest.mark.slow
def test_learn_dot_product_tiny():
    frame = X.learn_dot_product(
        embedding_dims=(2,),
        num_train=(200, 600),
        num_users=30,
        num_items=30,
        hidden=(8,),
        steps=20,
        batch_size=64,
        num_test=200,
        seed=0,
    )
    assert list(frame.columns) == [
        "embedding_dim",
        "num_train",
        "fraction_observed",
        "model",
        "rmse",
        "naive_rmse",
        "noise",
    ]
    assert len(frame) == 4 and set(frame.model) == {"dot", "mlp"}
    assert frame.fraction_observed.tolist() == pytest.approx([200 / 900] * 2 + [600 / 900] * 2)
    # true scores have a standard deviation of about 1 by construction (entries ~ N(0, d^-1/2))
    assert frame.naive_rmse.between(0.6, 1.5).all()
    assert np.isfinite(frame.rmse).all()
    with pytest.raises(ValueError, match="exceeds"):
        X.learn_dot_product(num_train=(900,), num_users=30, num_items=30, num_test=200)


@pytest.mark.slow
def test_hashing_experiment_tiny(split, synthetic):
    frame = X.hashing_experiment(
        split,
        synthetic.user_ids,
        synthetic.item_ids,
        user_bins=(8, 1),
        item_bins=(16,),
        epochs=1,
        embedding_dim=4,
        batch_size=4096,
        seed=0,
    )
    assert list(frame.side) == ["exact", "user", "user", "item"]
    assert list(frame.num_bins) == [0, 8, 1, 16]
    exact = frame.iloc[0]
    assert exact.collided_fraction == 0 and exact.ids_per_row == 1
    one = frame[(frame.side == "user") & (frame.num_bins == 1)].iloc[0]
    assert one.collided_fraction == 1.0 and one.ids_per_row == split.num_users
    # 16 buckets for 400 items merge ~25 films per vector: HR@10 falls to about random (10 / 21); exact ids learn.
    # Over seeds 0-2: exact 0.73-0.76, items hashed 0.49-0.53.
    hr = frame["hr@10"].to_numpy()
    assert hr[0] > 10 / 21 + 0.15 and hr[0] > hr[3] + 0.1, hr
    # 16 buckets x (4 + 1) floats x 4 bytes = 320 bytes
    assert frame.iloc[3].table_kb == pytest.approx(0.32)
    with pytest.raises(ValueError, match="user_ids has"):
        X.hashing_experiment(split, synthetic.user_ids[:5])
    with pytest.raises(ValueError, match="item_ids"):
        X.hashing_experiment(split, synthetic.user_ids, None, item_bins=(4,))


def test_hashed_heads_scored_in_numpy_match_keras(split, synthetic):
    """The numpy scorer of a hashed head gives exactly the Keras head's logits."""
    heads = X._check_heads([("exact", None), ("user", 5), ("item", 7)])
    maps = X._row_maps(heads, synthetic.user_ids, synthetic.item_ids)
    model = X.build_hashed_model(split.num_users, split.num_items, heads, embedding_dim=3, seed=0)
    u, i = np.array([0, 1, 2, 299]), np.array([3, 3, 10, 399])
    feed = {f"{k}_{w}": (maps[k][0][u] if w == "user" else maps[k][1][i]) for k in maps for w in ("user", "item")}
    out = model(feed, training=False)
    for key, (user_row, item_row) in maps.items():
        w = [
            model.get_layer(f"{key}_{what}_{part}").get_weights()[0]
            for what in ("user", "item")
            for part in ("embedding", "bias")
        ]
        rec = X._TableMF(key, w[0], w[1], w[2], w[3], user_row, item_row)
        np.testing.assert_allclose(rec.score(u, i), np.asarray(out[key]).reshape(-1), atol=1e-5)
    with pytest.raises(ValueError, match="side"):
        X._check_heads([("users", 4)])
    with pytest.raises(ValueError, match="repeat"):
        X._check_heads([("user", 4), ("user", 4)])


# ---------------------------------------------------------------------------------------------- plots
def _is_figure(fig, min_axes=1):
    import matplotlib.figure

    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) >= min_axes
    assert fig.get_size_inches()[0] <= 9.5 + 1e-9


def test_plots_draw():
    from ncf_helpers.lessons.l04_neuralcf import plots as P

    _is_figure(P.plot_ncf_layers(16, (10, 10)), 3)
    curve = pd.DataFrame({"item_idx": np.arange(50), "a": np.linspace(0, 1, 50), "b": np.sin(np.arange(50))})
    _is_figure(P.plot_raw_id_scores(curve, [1, 5], held_out=3), 2)
    cov = pd.DataFrame(
        {"epoch": [1, 2], "distinct_fresh": [10, 19], "distinct_fixed": [10, 10], "false_negative_rate": [0.001, 0.002]}
    )
    _is_figure(P.plot_negative_coverage(cov), 2)
    table = pd.DataFrame({"hr@10": [0.6, 0.5, 0.55], "ndcg@10": [0.3, 0.25, 0.3]}, index=["GMF", "NeuMF", "MLP"])
    _is_figure(P.plot_ncf_comparison(table, random_hr=0.1), 2)
    hist = pd.DataFrame({"epoch": [1, 2], "loss": [0.5, 0.4], "hr@10": [0.5, 0.6]})
    _is_figure(P.plot_learning_curves({"MLP": hist, "GMF": hist}, reference=0.55), 2)
    pairs = pd.DataFrame({"dot": [0.0, 1.0, 2.0], "score": [0.1, 1.2, 1.9], "positive": [True, False, False]})
    space = pd.DataFrame(
        {
            "interaction": ["dot", "mlp"],
            "pearson": [1.0, 0.2],
            "overlap_inner@10": [1.0, 0.1],
            "overlap_cosine@10": [0.2, 0.0],
        },
        index=["MF", "MLP"],
    )
    _is_figure(P.plot_same_space({"MF": pairs, "MLP": pairs}, space), 3)
    frame = pd.DataFrame(
        {
            "embedding_dim": [4, 4, 4, 4],
            "num_train": [10, 10, 20, 20],
            "model": ["dot", "mlp", "dot", "mlp"],
            "rmse": [0.5, 0.8, 0.2, 0.6],
            "naive_rmse": [1.0] * 4,
            "noise": [0.1] * 4,
        }
    )
    _is_figure(P.plot_learn_dot_product(frame), 1)
    _is_figure(P.plot_id_memory(X.memory_table()), 1)
    hashing = pd.DataFrame(
        {
            "side": ["exact", "user", "item"],
            "num_bins": [0, 8, 16],
            "ids": [0, 30, 40],
            "collided_fraction": [0, 0.9, 0.95],
            "expected_collided_fraction": [0, 0.9, 0.9],
            "hr@10": [0.6, 0.58, 0.3],
        }
    )
    _is_figure(P.plot_hashing(hashing), 2)
    fig = P.plot_hashing(hashing, popularity=0.55)
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert list(lines["popularity (same for every user)"].get_ydata()) == [0.55, 0.55]


def test_plots_reject_bad_input():
    from ncf_helpers.lessons.l04_neuralcf import plots as P

    with pytest.raises(ValueError, match="lacks column"):
        P.plot_negative_coverage(pd.DataFrame({"epoch": [1]}))
    with pytest.raises(ValueError, match="empty"):
        P.plot_ncf_comparison(pd.DataFrame({"hr@10": [], "ndcg@10": []}))
    with pytest.raises(ValueError, match="pairs is empty"):
        P.plot_same_space({}, pd.DataFrame())


def test_distinct_colors_never_repeat_a_colour():
    from ncf_helpers.lessons.l04_neuralcf import plots as P

    colors = P.distinct_colors(["GMF", "NeuMF", "MLP", "MF (dot)", "Popularity"])
    assert len(set(colors)) == len(colors)


# ---------------------------------------------------------------------------------------------- exercise checks
def _stub(*args, **kwargs):
    raise NotImplementedError


def test_check_embedding_lookup():
    assert ex.check_embedding_lookup(lambda idx, table: np.eye(table.shape[0])[idx] @ table)
    with pytest.raises(ExerciseIncorrect, match="one-hot matrix itself"):
        ex.check_embedding_lookup(lambda idx, table: np.eye(table.shape[0])[idx])
    with pytest.raises(ExerciseIncorrect, match="4.1"):
        ex.check_embedding_lookup(lambda idx, table: np.eye(4)[idx] @ table * 2)
    with pytest.raises(ExerciseIncomplete):
        ex.check_embedding_lookup(_stub)


def _params(num_users, num_items, d, hidden):
    total, width = (num_users + num_items) * d, 2 * d
    for h in hidden:
        total, width = total + width * h + h, h
    return total + width + 1


def test_check_param_count():
    assert ex.check_param_count(_params)
    # the seed model on ml-latest-small: 10352 * 32 + (64*10 + 10) + (10*10 + 10) + (10 + 1) = 332,035
    assert _params(610, 9742, 32, (10, 10)) == 332_035
    with pytest.raises(ExerciseIncorrect, match="bias"):
        ex.check_param_count(lambda u, i, d, h: _params(u, i, d, h) - sum(h) - 1)
    with pytest.raises(ExerciseIncorrect, match="embedding tables"):
        ex.check_param_count(lambda u, i, d, h: _params(u, i, d, h) - (u + i) * d)
    with pytest.raises(ExerciseIncomplete):
        ex.check_param_count(_stub)


def _forward(p, q, layers):
    x = np.concatenate([p, q], axis=1)
    for W, b in layers[:-1]:
        x = np.maximum(x @ W + b, 0)
    W, b = layers[-1]
    return 1 / (1 + np.exp(-(x @ W + b).reshape(-1)))


def test_check_mlp_forward():
    assert ex.check_mlp_forward(_forward)
    with pytest.raises(ExerciseIncorrect, match="logits"):
        ex.check_mlp_forward(lambda p, q, layers: np.log(_forward(p, q, layers) / (1 - _forward(p, q, layers))))

    def no_relu(p, q, layers):
        x = np.concatenate([p, q], axis=1)
        for W, b in layers[:-1]:
            x = x @ W + b
        W, b = layers[-1]
        return 1 / (1 + np.exp(-(x @ W + b).reshape(-1)))

    with pytest.raises(ExerciseIncorrect, match="ReLU"):
        ex.check_mlp_forward(no_relu)
    with pytest.raises(ExerciseIncorrect, match="order of the concatenation"):
        ex.check_mlp_forward(lambda p, q, layers: _forward(q, p, layers))


def test_check_negative_sampler():
    def good(positives, num_items, k, rng):
        return rng.choice(np.setdiff1d(np.arange(num_items), positives), size=k, replace=False)

    assert ex.check_negative_sampler(good)
    with pytest.raises(ExerciseIncorrect, match="positive"):
        ex.check_negative_sampler(lambda pos, n, k, rng: rng.choice(n, size=k, replace=False))
    with pytest.raises(ExerciseIncorrect, match="repeat"):
        ex.check_negative_sampler(lambda pos, n, k, rng: np.full(k, np.setdiff1d(np.arange(n), pos)[0]))

    def biased(pos, n, k, rng):  # always prefers the smallest allowed items
        allowed = np.setdiff1d(np.arange(n), pos)
        return allowed[:k] if rng.random() < 0.5 else rng.choice(allowed, size=k, replace=False)

    with pytest.raises(ExerciseIncorrect, match="uniform"):
        ex.check_negative_sampler(biased)

    def unseeded(pos, n, k, rng):
        return np.random.default_rng().choice(np.setdiff1d(np.arange(n), pos), size=k, replace=False)

    with pytest.raises(ExerciseIncorrect, match="same seed"):
        ex.check_negative_sampler(unseeded)


def test_check_collision_share():
    assert ex.check_collision_share(lambda n, b: 1 - (1 - 1 / b) ** (n - 1))
    with pytest.raises(ExerciseIncorrect, match="n - 1"):
        ex.check_collision_share(lambda n, b: 1 - (1 - 1 / b) ** n)
    with pytest.raises(ExerciseIncorrect, match="4.5"):
        ex.check_collision_share(lambda n, b: min(1.0, n / b))
    with pytest.raises(ExerciseIncomplete):
        ex.check_collision_share(_stub)


# ---------------------------------------------------------------------------------------------- start page (00)
def test_start_page_checks():
    from ncf_helpers.data import make_synthetic
    from ncf_helpers.lessons.l00_start_here import exercises as lesson00

    assert lesson00.check_count_users(lambda ds: ds.ratings["user_id"].nunique())
    with pytest.raises(ExerciseIncorrect, match="RATINGS"):
        lesson00.check_count_users(lambda ds: len(ds.ratings))
    assert lesson00.check_ratings_per_user(lambda ds: len(ds.ratings) / ds.num_users)
    with pytest.raises(ExerciseIncorrect, match="median"):
        lesson00.check_ratings_per_user(lambda ds: float(np.median(np.bincount(ds.ratings["user_idx"]))))
    with pytest.raises(ExerciseIncorrect, match="users instead"):
        lesson00.check_ratings_per_user(lambda ds: len(ds.ratings) / ds.num_items)
    assert lesson00.check_offline_dataset(lambda u, i, s: make_synthetic(u, i, seed=s))
    with pytest.raises(ExerciseIncorrect, match="seed"):
        lesson00.check_offline_dataset(lambda u, i, s: make_synthetic(u, i, seed=s + 1))
    with pytest.raises(ExerciseIncorrect, match="users x"):
        lesson00.check_offline_dataset(lambda u, i, s: make_synthetic(60, i, seed=s))
    with pytest.raises(ExerciseIncomplete):
        lesson00.check_offline_dataset(_stub)


def test_course_map():
    from ncf_helpers.ui.course import plot_course_map

    course = pd.DataFrame(
        {
            "lesson": ["01", "02", "03"],
            "title": ["a", "b", "c"],
            "idea": ["x"] * 3,
            "weakness": ["w1", "w2", ""],
            "minutes": [40, 50, 30],
            "run_seconds": [10, 20, 30],
        }
    )
    _is_figure(plot_course_map(course), 1)
    with pytest.raises(ValueError, match="lacks column"):
        plot_course_map(course.drop(columns="weakness"))
