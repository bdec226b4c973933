"""Keras models behind one interaction knob (ncf_helpers.models): shapes, maths, training, adapter, serving.

Tests marked ``slow`` train a Keras model (one epoch on the 300 x 400 synthetic data set, shared through
module-scoped fixtures); the rest build models and set their weights by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")

from ncf_helpers.data import leave_last_one_out, make_synthetic  # noqa: E402
from ncf_helpers.evaluate import evaluate  # noqa: E402
from ncf_helpers.models import (  # noqa: E402
    DEFAULTS,
    VALID_INTERACTIONS,
    KerasRecommender,
    TwoTowerIndex,
    build_model,
    epoch_rows,
    fit_model,
    load_model,
    serving_cost,
    train,
)
from ncf_helpers.models.builders import item_vectors, user_genre_profile, user_vectors  # noqa: E402

FAST = dict(epochs=1, batch_size=1024, learning_rate=1e-2, verbose=0)


@pytest.fixture(scope="module")
def split(synthetic):
    return leave_last_one_out(synthetic, num_negatives=99, seed=0, validation=True)


@pytest.fixture(scope="module")
def genres(synthetic):
    return synthetic.genre_matrix()


@pytest.fixture(scope="module")
def trained_dot(split):
    """A "dot" model after one epoch (shared by several tests)."""
    return fit_model(split, "dot", seed=0, **FAST)


@pytest.fixture(scope="module")
def cold_split(split):
    """The split with every training row of items 0-4 removed: five cold-start items."""
    train_rows = split.train[split.train["item_idx"] >= 5].reset_index(drop=True)
    return type(split)(
        split.num_users,
        split.num_items,
        train_rows,
        split.test,
        split.test_negatives,
        split.valid,
        split.valid_negatives,
    )


@pytest.fixture(scope="module")
def trained_tower(cold_split, genres):
    """A two-tower model with genre side features, trained one epoch on ``cold_split``."""
    return fit_model(
        cold_split,
        "two_tower",
        seed=0,
        item_features=genres,
        user_features="profile",
        id_dropout=0.3,
        eval_metrics=False,
        **FAST,
    )


def _rand(model, seed=1):
    """Give every weight of ``model`` random values (so biases and output layers are not trivially 0/1)."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


# ----------------------------------------------------------------------------------------------- building
@pytest.mark.parametrize("interaction", VALID_INTERACTIONS)
def test_output_shapes_and_ranges(interaction):
    model = build_model(7, 11, interaction, embedding_dim=4, hidden=(3,), seed=0)
    x = {"user_idx": np.array([0, 6, 3, 3, 1]), "item_idx": np.array([10, 0, 5, 5, 2])}
    out = np.asarray(model(x))
    assert out.shape == (5, 1)
    assert np.all(np.isfinite(out))
    assert out[2, 0] == out[3, 0]  # the same (user, item) twice gives the same score
    if DEFAULTS[interaction]["output"] == "sigmoid":
        assert np.all((out >= 0) & (out <= 1))
    rec = KerasRecommender(model)
    assert rec.score_all([0, 6]).shape == (2, 11)
    assert model.get_layer("prediction") is model.layers[-1]
    assert sorted(t.name for t in model.inputs) == ["item_idx", "user_idx"]


def test_layer_names_are_stable():
    names = lambda m: {layer.name for layer in m.layers}  # noqa: E731
    assert {"user_embedding", "item_embedding", "user_bias", "item_bias"} <= names(build_model(3, 4, "dot"))
    assert {"user_embedding", "item_embedding", "mlp_hidden_1", "mlp_hidden_2"} <= names(build_model(3, 4, "mlp"))
    assert {"gmf_user_embedding", "gmf_item_embedding", "mlp_user_embedding", "mlp_item_embedding"} <= names(
        build_model(3, 4, "neumf")
    )
    assert {"user_tower", "item_tower", "user_embedding", "item_embedding"} <= names(build_model(3, 4, "two_tower"))


def test_dot_score_by_hand():
    model = build_model(2, 3, "dot", embedding_dim=2)
    model.get_layer("user_embedding").set_weights([np.array([[1.0, 2.0], [0.0, 1.0]], np.float32)])
    model.get_layer("item_embedding").set_weights([np.array([[0.0, 0.0], [3.0, -1.0], [1.0, 1.0]], np.float32)])
    model.get_layer("user_bias").set_weights([np.array([[0.5], [0.0]], np.float32)])
    model.get_layer("item_bias").set_weights([np.array([[0.0], [-0.25], [2.0]], np.float32)])
    rec = KerasRecommender(model)
    # user 0, item 1: [1, 2] . [3, -1] = 3 - 2 = 1; + b_u 0.5 + b_i -0.25 = 1.25
    # user 1, item 2: [0, 1] . [1, 1] = 1; + 0 + 2 = 3
    assert rec.score([0, 1], [1, 2]) == pytest.approx([1.25, 3.0])
    # score_all (a matrix product) must agree: user 0 -> [0 + 0.5 + 0, 1.25, 3 + 0.5 + 2] = [0.5, 1.25, 5.5]
    assert rec.score_all(0)[0] == pytest.approx([0.5, 1.25, 5.5])


def test_dot_scores_equal_embedding_dot_products_plus_biases():
    model = _rand(build_model(20, 30, "dot", embedding_dim=5))
    rec = KerasRecommender(model)
    rng = np.random.default_rng(0)
    u, i = rng.integers(0, 20, 200), rng.integers(0, 30, 200)
    P, Q = rec.user_factors, rec.item_factors
    bu = model.get_layer("user_bias").get_weights()[0][:, 0]
    bi = model.get_layer("item_bias").get_weights()[0][:, 0]
    expected = np.sum(P[u] * Q[i], axis=1) + bu[u] + bi[i]
    np.testing.assert_allclose(rec.score(u, i), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rec.score_all(np.arange(20)), P @ Q.T + bu[:, None] + bi[None, :], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("interaction", ["gmf", "mlp", "neumf"])
def test_score_all_matches_pairwise_scores(interaction):
    rec = KerasRecommender(_rand(build_model(9, 13, interaction, embedding_dim=4, hidden=(5, 3))))
    users = np.array([0, 4, 8])
    pairwise = rec.score(np.repeat(users, 13), np.tile(np.arange(13), 3)).reshape(3, 13)
    np.testing.assert_allclose(rec.score_all(users), pairwise, rtol=1e-5, atol=1e-5)


def test_two_tower_scores_are_dot_products_of_tower_outputs(genres):
    nu, ni = 25, genres.shape[0]
    profile = np.random.default_rng(2).random((nu, genres.shape[1])).astype(np.float32)
    model = _rand(
        build_model(nu, ni, "two_tower", embedding_dim=6, hidden=(8, 4), item_features=genres, user_features=profile),
        seed=3,
    )
    model.get_layer("item_features").set_weights([genres])  # _rand scrambled the frozen tables too
    model.get_layer("user_features").set_weights([profile])
    model.get_layer("item_id_gate").known.assign(np.ones(ni, np.float32))
    rec = KerasRecommender(model)
    U, V = user_vectors(model), item_vectors(model)
    assert U.shape == (nu, 4) and V.shape == (ni, 4)
    rng = np.random.default_rng(0)
    u, i = rng.integers(0, nu, 300), rng.integers(0, ni, 300)
    np.testing.assert_allclose(rec.score(u, i), np.sum(U[u] * V[i], axis=1), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(rec.score_all([3, 7]), U[[3, 7]] @ V.T, rtol=1e-4, atol=1e-4)


def test_sigmoid_dense_negative_weight_reverses_ranking():
    model = _rand(build_model(10, 40, "two_tower", embedding_dim=6, hidden=(8,), output="sigmoid_dense"))
    rec = KerasRecommender(model)
    dots = user_vectors(model, [2]) @ item_vectors(model).T  # [1, 40]
    dense = model.get_layer("prediction")
    dense.set_weights([np.array([[3.0]], np.float32), np.array([0.1], np.float32)])
    up = rec.score_all(2)[0]
    dense.set_weights([np.array([[-3.0]], np.float32), np.array([0.1], np.float32)])
    down = rec.score_all(2)[0]
    # sigmoid(3 d + 0.1) ranks by d, sigmoid(-3 d + 0.1) by -d: the same items in opposite order
    assert len(np.unique(dots)) == 40
    np.testing.assert_array_equal(np.argsort(-up, kind="stable"), np.argsort(-dots[0], kind="stable"))
    np.testing.assert_array_equal(np.argsort(-down, kind="stable"), np.argsort(-dots[0], kind="stable")[::-1])
    # the adapter's vector path and the network agree
    np.testing.assert_allclose(rec.score(2, np.arange(40)), down, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alpha", [0.5, 0.2])
def test_neumf_loads_pretrained_gmf_and_mlp(alpha):
    gmf = _rand(build_model(12, 15, "gmf", embedding_dim=4, seed=0), seed=10)
    mlp = _rand(build_model(12, 15, "mlp", embedding_dim=3, hidden=(6, 2), output="logit", seed=1), seed=11)
    neumf = build_model(12, 15, "neumf", pretrained=(gmf, mlp), alpha=alpha, output="logit")
    for target, model, source in [
        ("gmf_user_embedding", gmf, "user_embedding"),
        ("gmf_item_embedding", gmf, "item_embedding"),
        ("mlp_user_embedding", mlp, "user_embedding"),
        ("mlp_item_embedding", mlp, "item_embedding"),
        ("mlp_hidden_1", mlp, "mlp_hidden_1"),
        ("mlp_hidden_2", mlp, "mlp_hidden_2"),
    ]:
        for a, b in zip(neumf.get_layer(target).get_weights(), model.get_layer(source).get_weights()):
            np.testing.assert_array_equal(a, b)
    h, b = neumf.get_layer("prediction").get_weights()
    hg, bg = gmf.get_layer("prediction").get_weights()
    hm, bm = mlp.get_layer("prediction").get_weights()
    np.testing.assert_allclose(h, np.concatenate([alpha * hg, (1 - alpha) * hm]), rtol=1e-6)
    np.testing.assert_allclose(b, alpha * bg + (1 - alpha) * bm, rtol=1e-6)
    # so the initial NeuMF logit is the alpha-mix of the two models' logits
    u, i = np.arange(12), np.arange(12) % 15
    mix = alpha * KerasRecommender(gmf).score(u, i) + (1 - alpha) * KerasRecommender(mlp).score(u, i)
    np.testing.assert_allclose(KerasRecommender(neumf).score(u, i), mix, rtol=1e-4, atol=1e-5)


def test_neumf_pretrained_size_mismatch_is_clear():
    gmf = build_model(12, 15, "gmf", embedding_dim=4)
    mlp = build_model(12, 15, "mlp", embedding_dim=3, hidden=(6, 2))
    with pytest.raises(ValueError, match="must match"):
        build_model(12, 15, "neumf", pretrained=(gmf, mlp), embedding_dim=8)
    with pytest.raises(ValueError, match="gmf_model, mlp_model"):
        build_model(12, 15, "neumf", pretrained=(mlp, gmf))


# ----------------------------------------------------------------------------------------------- side features
def test_user_genre_profile_by_hand():
    feats = np.array([[1, 0], [1, 1], [0, 1]], np.float32)
    train_rows = pd.DataFrame({"user_idx": [0, 0, 2], "item_idx": [0, 1, 2]})
    prof = user_genre_profile(train_rows, feats)
    # user 0 liked items 0 [1, 0] and 1 [1, 1]: mean = [2/2, 1/2] = [1, 0.5]; user 1 liked nothing: zeros;
    # user 2 liked item 2 only: [0, 1]
    np.testing.assert_allclose(prof, [[1.0, 0.5], [0.0, 0.0], [0.0, 1.0]])


@pytest.mark.slow
def test_cold_start_item_is_scored_from_its_genres(trained_tower, cold_split, genres):
    rec, _ = trained_tower
    model = rec.model
    gate = model.get_layer("item_id_gate").known.numpy()
    assert np.all(gate[:5] == 0) and gate[5:].sum() > 0  # train() switched the ID off for never-seen items
    full, genre_only = item_vectors(model), item_vectors(model, genres_only=True)
    assert np.all(np.isfinite(full[:5]))
    np.testing.assert_allclose(full[:5], genre_only[:5], rtol=1e-6)  # cold items: genres alone
    seen = np.flatnonzero(gate)[:20]
    assert not np.allclose(full[seen], genre_only[seen])  # warm items use their ID embedding too
    # a film that is not in the catalogue at all, described by its genres, gets a vector the same way
    new = item_vectors(model, features=genres[[0, 1]])
    np.testing.assert_allclose(new, genre_only[[0, 1]], rtol=1e-5, atol=1e-6)
    # and the model's own score of a cold item uses exactly that vector
    np.testing.assert_allclose(rec.score(3, 0), user_vectors(model, [3])[0] @ full[0], rtol=1e-4, atol=1e-5)


def test_side_features_with_wrong_shape_are_rejected(genres):
    with pytest.raises(ValueError, match=r"\[num_items, num_features\]"):
        build_model(10, genres.shape[0] + 1, "two_tower", item_features=genres)
    with pytest.raises(ValueError, match=r"\[num_users, num_features\]"):
        build_model(10, genres.shape[0], "two_tower", item_features=genres, user_features=np.ones((9, 3)))
    with pytest.raises(ValueError, match="only used by interaction='two_tower'"):
        build_model(10, genres.shape[0], "mlp", item_features=genres)
    model = build_model(10, genres.shape[0], "two_tower", item_features=genres)
    with pytest.raises(ValueError, match=r"shape \[n, 12\]"):
        item_vectors(model, features=np.ones((2, 5)))
    with pytest.raises(ValueError, match="no item_features"):
        item_vectors(build_model(10, 20, "two_tower"), genres_only=True)


# ----------------------------------------------------------------------------------------------- training
def test_epoch_rows_never_sample_a_training_positive():
    pos_u = np.array([0, 0, 1, 2])
    pos_i = np.array([1, 2, 0, 4])
    keys = np.unique(pos_u * 5 + pos_i)
    u, i, y = epoch_rows(pos_u, pos_i, pos_u[:0], pos_i[:0], keys, 5, 4, np.random.default_rng(0))
    # 4 positives x (1 + 4) = 20 rows, 4 labelled 1
    assert len(u) == 20 and y.sum() == 4
    neg = y == 0
    assert not np.isin(u[neg] * 5 + i[neg], keys).any()
    assert set(zip(u[~neg], i[~neg])) == set(zip(pos_u, pos_i))


@pytest.mark.slow
def test_one_epoch_beats_random_and_records_metrics(trained_dot, split):
    rec, history = trained_dot
    assert set(history.history) >= {"loss", "hr@10", "ndcg@10", "seconds"}
    assert len(history["hr@10"]) == 1 and history.eval_on.startswith("valid")
    hr = evaluate(rec, split).metrics["hr@10"]
    # random scores: the held-out item lands in the top 10 of 100 candidates with probability 10/100
    assert hr > 0.2, hr


@pytest.mark.slow
def test_same_seed_same_metrics():
    small = leave_last_one_out(make_synthetic(60, 80, seed=1, min_ratings=10), num_negatives=20, seed=0)
    runs = [fit_model(small, "gmf", seed=s, epochs=2, batch_size=512, verbose=0)[1] for s in (7, 8)]
    # the same seed again, trained one epoch per call the way the widget does it
    model = build_model(small.num_users, small.num_items, "gmf", seed=7)
    again = [train(model, small, epochs=1, batch_size=512, seed=7, verbose=0, initial_epoch=e) for e in (0, 1)]
    assert runs[0]["loss"] == again[0]["loss"] + again[1]["loss"]
    assert runs[0]["hr@10"] == again[0]["hr@10"] + again[1]["hr@10"]
    assert runs[0]["ndcg@10"] == again[0]["ndcg@10"] + again[1]["ndcg@10"]
    assert runs[0]["loss"] != runs[1]["loss"]  # and the seed matters


def test_epochs_at_scale_keeps_the_adam_steps_of_ml_latest_small(split, monkeypatch):
    from ncf_helpers import common
    from ncf_helpers.models import epochs_at_scale

    assert common.REFERENCE_POSITIVES == 60_500  # ml-latest-small's training positives (lessons 04-05's split)
    # ML-1M's shape: 788,000 positives = 13.0x. The two-tower's 15 epochs -> ceil(15 * 60,500 / 788,000)
    # = ceil(1.15) = 2; lesson 04's 6 -> ceil(0.46) = 1, or 2 with minimum=2; NeuMF's 12 -> ceil(0.92) = 1.
    assert epochs_at_scale(15, 788_000) == 2
    assert epochs_at_scale(6, 788_000) == 1 and epochs_at_scale(6, 788_000, minimum=2) == 2
    assert epochs_at_scale(12, 788_000) == 1
    # at or below the reference: unchanged (never more epochs than asked, also with minimum > epochs)
    assert epochs_at_scale(15, 60_500) == 15 and epochs_at_scale(15, 1_000) == 15
    assert epochs_at_scale(1, 788_000, minimum=2) == 1
    assert epochs_at_scale(20, 121_000) == 10  # twice the positives: half the epochs, the same steps
    assert epochs_at_scale(20, 121_001) == 10 and epochs_at_scale(20, 120_999) == 11  # rounded up
    # a Split counts its training positives; a labelled table only its label == 1 rows
    assert epochs_at_scale(20, split) == 20
    labelled = type(split)(
        split.num_users,
        split.num_items,
        split.train.assign(label=[1, 0] * (len(split.train) // 2) + [1] * (len(split.train) % 2)),
        split.test,
    )
    monkeypatch.setattr(common, "REFERENCE_POSITIVES", len(split.train) // 4)
    assert epochs_at_scale(8, split) == 2 and epochs_at_scale(8, labelled) == 4
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="epochs"):
            epochs_at_scale(bad, 1000)
    with pytest.raises(ValueError, match="a Split, a Dataset or a number of positives"):
        epochs_at_scale(3, "ml-1m")
    # a Dataset counts its ratings against ml-latest-small's 100,836: ML-1M's shape (1,297,049) is 12.9x
    assert common.REFERENCE_RATINGS == 100_836
    synthetic = make_synthetic(60, 80, seed=1, min_ratings=10)
    assert epochs_at_scale(12, synthetic) == 12  # smaller than ml-latest-small
    monkeypatch.setattr(common, "REFERENCE_RATINGS", synthetic.num_ratings // 6)
    assert epochs_at_scale(12, synthetic) == 2 and epochs_at_scale(12, synthetic, minimum=3) == 3


def test_train_default_epochs_scale_with_the_data(split, monkeypatch):
    """``train(epochs=None)``: the tuned default on ml-latest-small-sized data, fewer epochs on larger data (here the
    reference is made small, so the test split counts as 'larger'); an explicit ``epochs`` is never changed."""
    from ncf_helpers import common

    monkeypatch.setattr(common, "REFERENCE_POSITIVES", len(split.train) // 10)  # the split is 10x 'the reference'
    model = build_model(split.num_users, split.num_items, "gmf", seed=0)
    history = train(model, split, batch_size=1024, verbose=0, eval_metrics=False)
    assert len(history["loss"]) == -(-DEFAULTS["gmf"]["epochs"] * (len(split.train) // 10) // len(split.train)) == 2
    history = train(model, split, epochs=3, batch_size=1024, verbose=0, eval_metrics=False)
    assert len(history["loss"]) == 3
    # fit_model too (it fills in DEFAULTS itself), also NeuMF's fine-tuning epochs (PRETRAINED_NEUMF: 4 -> 1)
    _, history = fit_model(split, "gmf", batch_size=1024, eval_metrics=False)
    assert len(history["loss"]) == 2 and history.extra["config"]["epochs"] == 2
    _, history = fit_model(split, "gmf", epochs=3, batch_size=1024, eval_metrics=False)
    assert len(history["loss"]) == 3
    gmf = build_model(split.num_users, split.num_items, "gmf", embedding_dim=8, seed=0)
    mlp = build_model(split.num_users, split.num_items, "mlp", embedding_dim=8, seed=0)
    _, history = fit_model(split, "neumf", pretrained=(gmf, mlp), batch_size=1024, eval_metrics=False)
    assert len(history["loss"]) == 1


def test_train_rejects_bad_input(split):
    model = build_model(split.num_users, split.num_items, "dot")
    empty = type(split)(split.num_users, split.num_items, split.train.iloc[:0], split.test)
    with pytest.raises(ValueError, match="empty"):
        train(model, empty, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        train(model, split, epochs=0)
    small = build_model(split.num_users - 1, split.num_items, "dot")
    with pytest.raises(ValueError, match="build_model\\(split.num_users"):
        train(small, split, epochs=1)
    with pytest.raises(ValueError, match="num_negatives=0"):
        train(model, split, epochs=1, num_negatives=0)


# ----------------------------------------------------------------------------------------------- adapter
def test_bad_model_options_are_clear_errors():
    with pytest.raises(ValueError, match="dot, gmf, mlp, neumf, two_tower"):
        build_model(5, 5, "transformer")
    with pytest.raises(ValueError, match="at least one unit"):
        build_model(5, 5, "mlp", hidden=(0,))
    with pytest.raises(ValueError, match="at least one unit"):
        build_model(5, 5, "two_tower", hidden=(8, -2))
    with pytest.raises(ValueError, match="embedding_dim"):
        build_model(5, 5, "gmf", embedding_dim=0)
    with pytest.raises(ValueError, match="output"):
        build_model(5, 5, "mlp", output="sigmoid_dense")
    with pytest.raises(ValueError, match="Unknown option"):
        fit_model(None, "dot", embeding_dim=3)


def test_ids_outside_the_tables_raise_value_errors():
    rec = KerasRecommender(build_model(5, 7, "mlp"))
    with pytest.raises(ValueError, match=r"item_idx 7 is outside \[0, 7\)"):
        rec.score(0, 7)
    with pytest.raises(ValueError, match="user_idx 5"):
        rec.score_all([1, 5])
    with pytest.raises(ValueError, match="user_idx -1"):
        TwoTowerIndex(build_model(5, 7, "two_tower")).query(-1, 3)


@pytest.mark.slow
def test_recommend_excludes_training_items(trained_dot, split):
    rec, _ = trained_dot
    top = rec.recommend([0, 1], n=15)
    assert top.shape == (2, 15)
    for row, u in enumerate([0, 1]):
        assert not np.isin(top[row], rec.seen_items(u)).any()
        scores = rec.score_all(u)[0]
        assert np.all(np.diff(scores[top[row]]) <= 0)  # best first
    with pytest.raises(ValueError, match="remember_training"):
        KerasRecommender(rec.model).recommend(0)


def test_similar_items_spaces():
    rec = KerasRecommender(_rand(build_model(6, 30, "neumf", embedding_dim=4, mlp_embedding_dim=5, hidden=(3,))))
    gmf, mlp = rec.similar_items(2, k=5, space="gmf"), rec.similar_items(2, k=5, space="mlp")
    assert len(gmf) == 5 and 2 not in gmf["item_idx"].to_numpy()
    V = rec.item_space("mlp")
    sims = V @ V[2] / (np.linalg.norm(V, axis=1) * np.linalg.norm(V[2]))
    sims[2] = -np.inf
    np.testing.assert_array_equal(mlp["item_idx"].to_numpy(), np.argsort(-sims, kind="stable")[:5])
    with pytest.raises(ValueError, match="space"):
        rec.similar_items(2, space="tower")


@pytest.mark.slow
@pytest.mark.parametrize("which", ["dot", "tower"])
def test_save_load_gives_identical_scores(which, trained_dot, trained_tower, split, tmp_path):
    rec = (trained_dot if which == "dot" else trained_tower)[0]
    path = rec.save(tmp_path / f"{which}.keras")
    assert path.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    again = load_model(path, split=split)
    users = np.arange(10)
    np.testing.assert_array_equal(again.score_all(users), rec.score_all(users))
    u, i = np.arange(50) % split.num_users, np.arange(50)
    np.testing.assert_array_equal(again.score(u, i), rec.score(u, i))
    with pytest.raises(ValueError, match=".keras"):
        rec.save(tmp_path / "model.h5")


# ----------------------------------------------------------------------------------------------- serving
@pytest.mark.slow
def test_serving_top_k_equals_brute_force(trained_tower, cold_split):
    rec, _ = trained_tower
    index = TwoTowerIndex(rec, split=cold_split)
    for u in (0, 17, 299):
        brute = np.argsort(-rec.score_all(u)[0], kind="stable")[:10]
        got = index.query(u, 10)
        np.testing.assert_array_equal(got["item_idx"].to_numpy(), brute)
        np.testing.assert_allclose(got["score"].to_numpy(), rec.score_all(u)[0][brute], rtol=1e-4, atol=1e-5)
    rec.remember_training(cold_split)
    items, _ = index.query(np.array([3, 4]), 10, exclude_seen=True)
    np.testing.assert_array_equal(items, rec.recommend([3, 4], 10))


@pytest.mark.slow
def test_serving_cost_counts_model_calls(trained_tower):
    index = TwoTowerIndex(trained_tower[0])
    scorer = KerasRecommender(build_model(index.num_users, index.num_items, "mlp", seed=0))
    table = serving_cost(scorer, index, users=[0, 1, 2], k=10, repeats=3)
    assert list(table["network calls / request"]) == [1, 1]
    assert list(table["rows through a network / request"]) == [index.num_items, 1]
    assert np.all(table["median ms"] > 0)


# ------------------------------------------------------------------ the compiled training loop (issue #15)
def _rows_of(split):
    from ncf_helpers.models.training import _training_rows

    pos_u, pos_i, neg_u, neg_i = _training_rows(split)
    return pos_u, pos_i, neg_u, neg_i, np.unique(pos_u * split.num_items + pos_i)


@pytest.mark.parametrize("interaction", ["dot", "mlp", "neumf", "two_tower"])
def test_compiled_loop_takes_the_same_steps_as_model_fit(split, interaction, monkeypatch):
    """run_epoch's compiled loop runs model.fit's train step: same rows, same order, same batches -> bit for bit
    the same weights, and the same reported loss (up to the order its batch losses are averaged in). STEPS_PER_CALL = 3 with batch 512 makes
    the 3,000-odd rows of one epoch span several calls, the last one short."""
    from ncf_helpers.models import training

    monkeypatch.setattr(training, "STEPS_PER_CALL", 3)
    rows = _rows_of(split)
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    models = [build_model(split.num_users, split.num_items, interaction, seed=3) for _ in range(2)]
    assert training._graph_loop_ok(models[0])
    h, n = training.run_epoch(models[0], rows, split.num_items, 4, 0, seed=5, batch_size=512, callbacks=[Spy()])
    steps = -(-n // 512)
    assert steps > 6 and seen == [min(steps, s + 3) - 1 for s in range(0, steps, 3)]
    u, i, y = epoch_rows(*rows, split.num_items, 4, np.random.default_rng([5, 0]))
    ref = models[1].fit({"user_idx": u, "item_idx": i}, y, batch_size=512, shuffle=False, verbose=0)
    assert h.history["loss"][0] == pytest.approx(ref.history["loss"][0], rel=1e-6)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(models[0].optimizer.iterations.numpy()) == steps


def test_models_the_compiled_loop_does_not_cover_go_through_fit(split):
    """A model compiled with metrics (or run eagerly) trains through model.fit: its metric is in the history."""
    from ncf_helpers.models import training

    model = build_model(split.num_users, split.num_items, "gmf", seed=0)
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=["auc"])
    assert not training._graph_loop_ok(model)
    h, _ = training.run_epoch(model, _rows_of(split), split.num_items, 1, 0, seed=0, batch_size=1024)
    assert set(h.history) == {"loss", "auc"}


def test_keras_adam_sums_the_squares_of_repeated_ids():
    """What training.py's docstring says of Keras' Adam on an embedding gradient with a repeated id: the second
    moment gets the sum of the squared rows, not the square of their sum. Two rows of gradient 1 for id 0:
    m = 0.1 * (1 + 1) = 0.2, v = 0.001 * (1^2 + 1^2) = 0.002 (not 0.001 * (1 + 1)^2 = 0.004)."""
    tf = pytest.importorskip("tensorflow")
    table = keras.Variable(np.zeros((3, 1), np.float32))
    opt = keras.optimizers.Adam(learning_rate=0.1)
    opt.build([table])
    grad = tf.IndexedSlices(tf.constant([[1.0], [1.0]]), tf.constant([0, 0]), tf.constant([3, 1]))
    opt.apply([grad], [table])
    np.testing.assert_allclose(opt._momentums[0].numpy().ravel(), [0.2, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(opt._velocities[0].numpy().ravel(), [0.002, 0, 0], rtol=1e-5)
