"""ncf_helpers.classic: baselines, neighbourhood CF and matrix factorization (lessons 02-03)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ncf_helpers.classic import (
    ExplicitMF,
    ImplicitALS,
    ItemCF,
    Popularity,
    RandomRecommender,
    Recommender,
    UserCF,
)
from ncf_helpers.data import Split, leave_last_one_out, random_split

# The hand-worked 4 users x 5 items example (binary): who interacted with what.
#   user 0: items 0, 1, 3      user 1: items 0, 3
#   user 2: items 0, 1, 3, 4   user 3: items 1, 2, 3
RATED = {0: [0, 1, 3], 1: [0, 3], 2: [0, 1, 3, 4], 3: [1, 2, 3]}
S3 = np.sqrt(3.0)


def hand_frame(with_rating: bool = True) -> pd.DataFrame:
    pairs = [(u, i) for u, items in RATED.items() for i in items]
    df = pd.DataFrame({"user_idx": [u for u, _ in pairs], "item_idx": [i for _, i in pairs]})
    if with_rating:
        df["rating"] = np.float32(4.0)
    return df


def small_split(n_users=60, n_items=80, seed=0, with_rating=True, negatives=20) -> Split:
    """Random interactions with a little structure, split by leave-last-one-out with 20 negatives."""
    rng = np.random.default_rng(seed)
    group_u = rng.integers(0, 3, n_users)
    group_i = rng.integers(0, 3, n_items)
    p = np.where(group_u[:, None] == group_i[None, :], 0.35, 0.04)
    u, i = np.nonzero(rng.random((n_users, n_items)) < p)
    df = pd.DataFrame({"user_idx": u, "item_idx": i, "timestamp": rng.permutation(len(u))})
    if with_rating:
        df["rating"] = rng.integers(1, 11, len(u)) / 2.0
    return leave_last_one_out(df, num_negatives=negatives, seed=seed, num_users=n_users, num_items=n_items)


ALL_MODELS = [
    lambda: Popularity(),
    lambda: RandomRecommender(seed=1),
    lambda: UserCF(k=5),
    lambda: ItemCF(k=5),
    lambda: ImplicitALS(embedding_dim=4, iterations=3, reg=1.0),
    lambda: ExplicitMF(embedding_dim=4, epochs=3),
]


# ---------------------------------------------------------------------------------------------- baselines
def test_popularity_by_hand():
    m = Popularity().fit(hand_frame())
    # popularity: item 0: 3 users, item 1: 3, item 2: 1, item 3: 4, item 4: 1
    np.testing.assert_array_equal(m.score(0, [0, 1, 2, 3, 4]), [3, 3, 1, 4, 1])
    np.testing.assert_array_equal(m.score_all([1, 2]), [[3, 3, 1, 4, 1]] * 2)
    # user 1 saw items 0 and 3 -> the rest by popularity: item 1 (3), then items 2 and 4 (1 each)
    assert m.recommend(1, n=1).tolist() == [1]
    assert set(m.recommend(1, n=3)[1:].tolist()) == {2, 4}
    assert m.name == "Popularity"


def test_random_is_deterministic_and_consistent():
    split = small_split()
    a = RandomRecommender(seed=3).fit(split)
    b = RandomRecommender(seed=3).fit(split)
    c = RandomRecommender(seed=4).fit(split)
    users = np.arange(10)
    np.testing.assert_array_equal(a.score_all(users), b.score_all(users))
    assert not np.array_equal(a.score_all(users), c.score_all(users))
    s = a.score_all(users)
    assert s.min() >= 0 and s.max() < 1
    # roughly uniform: mean 0.5 +- 0.02 over 800 cells (sd 0.29 / sqrt(800) = 0.01)
    assert abs(s.mean() - 0.5) < 0.03
    np.testing.assert_array_equal(a.score(np.repeat(users, 80), np.tile(np.arange(80), 10)), s.ravel())
    with pytest.raises(ValueError, match="seed"):
        RandomRecommender(seed=-1)


# ---------------------------------------------------------------------------------------------- neighbourhoods
def test_user_cf_by_hand():
    # Binary cosine between users (|A & B| / sqrt(|A| |B|)):
    #   u1-u0: 2/sqrt(3*2) = 0.8165   u1-u2: 2/sqrt(2*4) = 0.7071   u1-u3: 1/sqrt(2*3) = 0.4082
    #   u3-u0: 2/sqrt(3*3) = 0.6667   u3-u2: 2/sqrt(4*3) = 0.5774   u3-u1: 0.4082
    # k = 2: user 1's neighbours are u0 (0.8165) and u2 (0.7071), so
    #   score(1, i) = 0.8165 * r(u0, i) + 0.7071 * r(u2, i)
    #   item 1: 0.8165 + 0.7071 = 1.5236; item 2: 0; item 4: 0.7071 (only u2)
    m = UserCF(k=2).fit(hand_frame())
    s1 = m.score_all(1)[0]
    np.testing.assert_allclose(s1[[1, 2, 4]], [2 / np.sqrt(6) + 2 / np.sqrt(8), 0.0, 2 / np.sqrt(8)])
    assert m.recommend(1, n=3).tolist() == [1, 4, 2]
    # user 3's neighbours: u0 (0.6667), u2 (0.5774): unseen items 0 (1.2440) and 4 (0.5774)
    s3 = m.score(3, [0, 4])
    np.testing.assert_allclose(s3, [2 / 3 + 2 / np.sqrt(12), 2 / np.sqrt(12)])
    assert m.recommend(3, n=2).tolist() == [0, 4]
    assert m.neighbours[1].tolist() == [0, 2]


def test_item_cf_by_hand():
    # Binary cosine between items (columns): raters i0 {0,1,2}, i1 {0,2,3}, i2 {3}, i3 {0,1,2,3}, i4 {2}
    #   i1-i3: 3/sqrt(3*4) = 0.8660  i1-i0: 2/sqrt(3*3) = 0.6667  i1-i2 = i1-i4 = 1/sqrt(3) = 0.5774
    #   i2-i1: 0.5774  i2-i3: 1/sqrt(1*4) = 0.5   i4-i0 = i4-i1 = 0.5774  i4-i3 = 0.5
    # k = 2 neighbours: i1 -> {i3, i0}; i2 -> {i1, i3}; i4 -> {i0, i1}
    # user 1 has items {0, 3}: score(1, i) = sum of sim(i, j) over i's neighbours j that user 1 has
    #   item 1: 0.8660 + 0.6667 = 1.5327; item 2: i3 only -> 0.5; item 4: i0 only -> 0.5774
    m = ItemCF(k=2, shrink=0).fit(hand_frame())
    np.testing.assert_allclose(m.score(1, [1, 2, 4]), [3 / np.sqrt(12) + 2 / 3, 0.5, 1 / S3])
    assert m.recommend(1, n=3).tolist() == [1, 4, 2]
    sim = m.similar_items(1, k=2)
    assert sim["item_idx"].tolist() == [3, 0]
    np.testing.assert_allclose(sim["similarity"], [3 / np.sqrt(12), 2 / 3])


def test_cf_scores_match_brute_force():
    """score = sum over the k nearest of sim * r, checked against a per-user / per-item Python loop."""
    split = small_split(seed=1)
    r = np.zeros((split.num_users, split.num_items))
    r[split.train_user_idx, split.train_item_idx] = 1.0
    for model in (UserCF(k=7, similarity="jaccard"), ItemCF(k=7, similarity="cosine")):
        model.fit(split)
        got = model.score_all(np.arange(split.num_users))
        expect = np.zeros_like(r)
        if isinstance(model, UserCF):
            for u in range(split.num_users):
                for v, s in zip(model.neighbours[u], model.neighbour_sims[u]):
                    expect[u] += s * r[v]
        else:
            for i in range(split.num_items):
                for j, s in zip(model.neighbours[i], model.neighbour_sims[i]):
                    expect[:, i] += s * r[:, j]
        np.testing.assert_allclose(got, expect, atol=1e-12)


def test_pearson_cf_needs_ratings():
    split = small_split(seed=2)
    m = UserCF(k=5, similarity="pearson").fit(split)
    assert m.use_ratings and np.isfinite(m.score_all([0, 1])).all()
    assert np.any(m.neighbour_sims < 0) or np.any(m.neighbour_sims > 0)
    with pytest.raises(ValueError, match="rating"):
        ItemCF(similarity="pearson").fit(hand_frame(with_rating=False))
    with pytest.raises(ValueError, match="Unknown similarity"):
        UserCF(similarity="dice")
    with pytest.raises(ValueError, match="shrink"):
        ItemCF(shrink=-1)


# ---------------------------------------------------------------------------------------------- shared contract
@pytest.mark.parametrize("make", ALL_MODELS)
def test_contract(make):
    split = small_split(seed=3)
    model = make()
    assert isinstance(model, Recommender) and model.name != "recommender"
    with pytest.raises(ValueError, match="not fitted"):
        model.score(0, 0)
    model.fit(split)
    users = np.arange(split.num_users)
    full = model.score_all(users)
    assert full.shape == (split.num_users, split.num_items) and np.isfinite(full).all()
    # score() and score_all() agree
    rng = np.random.default_rng(0)
    u, i = rng.integers(0, split.num_users, 200), rng.integers(0, split.num_items, 200)
    np.testing.assert_allclose(model.score(u, i), full[u, i], rtol=1e-9, atol=1e-12)
    # a scalar user is broadcast over many items
    np.testing.assert_allclose(model.score(3, np.arange(5)), full[3, :5], rtol=1e-9, atol=1e-12)
    # recommend() never returns a training item and returns the best-scored of the rest, best first
    for user in (0, 5, 17):
        seen = set(split.train.loc[split.train["user_idx"] == user, "item_idx"])
        rec = model.recommend(user, n=10)
        assert len(rec) == 10 and not seen & set(rec.tolist()) and len(set(rec.tolist())) == 10
        masked = full[user].copy()
        masked[list(seen)] = -np.inf
        np.testing.assert_allclose(full[user, rec], -np.sort(-masked)[:10], rtol=1e-9, atol=1e-12)
    rows = model.recommend([0, 1], n=4)
    assert rows.tolist() == [model.recommend(0, n=4).tolist(), model.recommend(1, n=4).tolist()]
    top = model.recommend(0, n=3, exclude_seen=False)  # training items allowed: the top 3 of all scores
    np.testing.assert_allclose(full[0, top], -np.sort(-full[0])[:3], rtol=1e-9, atol=1e-12)
    # bad input: clear ValueErrors
    with pytest.raises(ValueError, match="outside"):
        model.score(split.num_users, 0)
    with pytest.raises(ValueError, match="outside"):
        model.score(0, split.num_items)
    with pytest.raises(ValueError, match="outside"):
        model.score(-1, 0)
    with pytest.raises(ValueError, match="outside"):
        model.score_all([split.num_users])
    with pytest.raises(ValueError, match="same length"):
        model.score([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="integer"):
        model.score(0.5, 1)
    with pytest.raises(ValueError, match="positive whole number"):
        model.recommend(0, n=0)
    with pytest.raises(ValueError, match="positive whole number"):
        model.recommend(0, n=-3)
    with pytest.raises(ValueError, match="empty"):
        make().fit(split.train.iloc[:0])
    with pytest.raises(ValueError, match="user_idx and item_idx"):
        make().fit(split.train.drop(columns="item_idx"))
    with pytest.raises(ValueError, match="Split or a DataFrame"):
        make().fit(np.zeros((3, 2)))


@pytest.mark.parametrize("make", ALL_MODELS)
def test_deterministic_by_seed(make):
    split = small_split(seed=4)
    a, b = make().fit(split), make().fit(split)
    np.testing.assert_array_equal(a.score_all([0, 1, 2]), b.score_all([0, 1, 2]))


def test_constructor_validation():
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="positive whole number"):
            UserCF(k=bad)
        with pytest.raises(ValueError, match="embedding_dim"):
            ImplicitALS(embedding_dim=bad)
        with pytest.raises(ValueError, match="epochs"):
            ExplicitMF(epochs=bad)
    with pytest.raises(ValueError, match="reg"):
        ImplicitALS(reg=0)
    with pytest.raises(ValueError, match="alpha"):
        ImplicitALS(alpha=-1)
    with pytest.raises(ValueError, match="solver"):
        ImplicitALS(solver="svd")
    with pytest.raises(ValueError, match="lr"):
        ExplicitMF(lr=0)
    with pytest.raises(ValueError, match="seed"):
        ExplicitMF(seed=1.5)


# ---------------------------------------------------------------------------------------------- explicit MF
def planted_ratings(num_users=300, num_items=200, rank=3, density=0.25, noise=0.3, seed=0) -> pd.DataFrame:
    """r = 3.5 + b_u + b_i + p_u . q_i + noise on a random quarter of the cells."""
    rng = np.random.default_rng(seed)
    p = rng.normal(0, 0.6, (num_users, rank))
    q = rng.normal(0, 0.6, (num_items, rank))
    bu, bi = rng.normal(0, 0.4, num_users), rng.normal(0, 0.4, num_items)
    u, i = np.nonzero(rng.random((num_users, num_items)) < density)
    r = 3.5 + bu[u] + bi[i] + np.einsum("nd,nd->n", p[u], q[i]) + rng.normal(0, noise, len(u))
    return pd.DataFrame({"user_idx": u, "item_idx": i, "rating": r.astype(np.float32), "timestamp": 0})


def test_explicit_mf_beats_the_global_mean():
    df = planted_ratings()
    split = random_split(df, 0.2, seed=0, num_users=300, num_items=200)
    model = ExplicitMF(embedding_dim=8, epochs=40, lr=0.02, reg=0.05, seed=0, clip=False)
    model.fit(split, validation=split.test)
    test = split.test
    pred = model.score(test["user_idx"].to_numpy(), test["item_idx"].to_numpy())
    rmse = np.sqrt(np.mean((pred - test["rating"].to_numpy()) ** 2))
    baseline = np.sqrt(np.mean((split.train["rating"].mean() - test["rating"].to_numpy()) ** 2))
    # The planted signal has sd about 0.8 and the noise sd 0.3: the global mean is off by 0.89 (RMSE), MF
    # must at least halve that (it reaches about 0.35, near the noise floor of 0.3).
    assert rmse < 0.5 * baseline, (rmse, baseline)
    h = model.history
    assert list(h.columns) == ["epoch", "train_rmse", "valid_rmse"] and len(h) == 40
    assert h["valid_rmse"].iloc[-1] == pytest.approx(rmse, rel=1e-6)
    assert h["train_rmse"].iloc[-1] < h["train_rmse"].iloc[0]
    assert model.user_factors.shape == (300, 8) and model.item_factors.shape == (200, 8)
    assert model.global_mean == pytest.approx(split.train["rating"].mean(), rel=1e-5)


def test_explicit_mf_learns_the_biases():
    # Ratings = 3.5 + b_u + b_i + noise, no interaction term: the learned biases must track the planted ones.
    rng = np.random.default_rng(1)
    bu, bi = rng.normal(0, 0.5, 200), rng.normal(0, 0.5, 100)
    u, i = np.nonzero(rng.random((200, 100)) < 0.3)
    r = 3.5 + bu[u] + bi[i] + rng.normal(0, 0.2, len(u))
    df = pd.DataFrame({"user_idx": u, "item_idx": i, "rating": r})
    m = ExplicitMF(
        embedding_dim=2, epochs=15, lr=0.02, reg=0.02, init_std=0.01, clip=False, num_users=200, num_items=100
    ).fit(df)
    assert m.global_mean == pytest.approx(r.mean())
    # correlation with the truth above 0.95 (about 0.99 here); a model that ignored the error would stay at 0
    assert np.corrcoef(m.user_bias, bu)[0, 1] > 0.95 and np.corrcoef(m.item_bias, bi)[0, 1] > 0.95


def test_explicit_mf_clips_and_checks():
    split = random_split(planted_ratings(num_users=50, num_items=40, density=0.5), 0.2, num_users=50, num_items=40)
    m = ExplicitMF(embedding_dim=4, epochs=2).fit(split)
    s = m.score_all(np.arange(50))
    lo, hi = split.train["rating"].min(), split.train["rating"].max()
    assert s.min() >= lo - 1e-6 and s.max() <= hi + 1e-6
    assert m.history["valid_rmse"].isna().all()
    with pytest.raises(ValueError, match="no 'rating' column"):
        ExplicitMF().fit(hand_frame(with_rating=False))
    with pytest.raises(ValueError, match="validation"):
        ExplicitMF(epochs=1).fit(split, validation=split.test.drop(columns="rating"))
    with pytest.raises(ValueError, match="outside"):
        ExplicitMF(epochs=1).fit(split, validation=split.test.assign(item_idx=40))
    with pytest.raises(ValueError, match="diverged"):
        ExplicitMF(epochs=3, lr=50.0).fit(split)


# ---------------------------------------------------------------------------------------------- implicit ALS
def block_matrix(seed=0):
    """3 user groups x 3 item groups; a user interacts with every item of its group (rank 3), except a hidden
    tenth of those cells."""
    rng = np.random.default_rng(seed)
    gu, gi = np.repeat(np.arange(3), 20), np.repeat(np.arange(3), 15)  # 60 users, 45 items
    p = (gu[:, None] == gi[None, :]).astype(float)
    hidden = (p == 1) & (rng.random(p.shape) < 0.1)
    u, i = np.nonzero((p == 1) & ~hidden)
    return p, hidden, pd.DataFrame({"user_idx": u, "item_idx": i})


def test_als_recovers_a_planted_low_rank_matrix():
    p, hidden, df = block_matrix()
    model = ImplicitALS(embedding_dim=3, reg=0.1, alpha=20, iterations=15, seed=0, num_users=60, num_items=45)
    model.fit(df)
    s = model.score_all(np.arange(60))
    train = np.zeros_like(p)
    train[df["user_idx"], df["item_idx"]] = 1
    c = 1 + 20 * train
    # Relative confidence-weighted reconstruction error of the planted (full, rank-3) preference matrix:
    #   sqrt(sum c (p - x.y)^2 / sum c p^2) must be below 0.05 (it is about 0.01). Against the training
    #   matrix (hidden cells = 0) it is much larger (about 0.08): the model does not learn the holes.
    err = np.sqrt(np.sum(c * (p - s) ** 2) / np.sum(c * p**2))
    assert err < 0.05, err
    assert np.sqrt(np.sum(c * (train - s) ** 2) / np.sum(c * train**2)) > 2 * err
    # The hidden cells lie in the users' blocks, so rank 3 fills them in: every hidden cell scores above
    # every off-block cell, and above 0.5 (off-block cells stay near 0).
    assert s[hidden].min() > 0.5 and s[p == 0].max() < 0.2
    assert s[hidden].min() > s[p == 0].max()


def test_als_loss_never_increases_and_cg_matches_exact():
    split = small_split(seed=5)
    exact = ImplicitALS(embedding_dim=6, reg=0.5, alpha=5, iterations=8, solver="exact").fit(split)
    cg = ImplicitALS(embedding_dim=6, reg=0.5, alpha=5, iterations=8, solver="cg").fit(split)
    for m in (exact, cg):
        loss = m.history["loss"].to_numpy()
        assert len(loss) == 8 and np.all(np.diff(loss) <= 1e-9 * loss[0]), loss
    # 3 CG steps per sweep get within 2% of the exact objective
    assert cg.history["loss"].iloc[-1] == pytest.approx(exact.history["loss"].iloc[-1], rel=0.02)


def test_als_solve_matches_naive_normal_equations():
    split = small_split(n_users=15, n_items=12, seed=6, negatives=0)
    model = ImplicitALS(embedding_dim=4, reg=0.7, alpha=3, iterations=1, solver="exact").fit(split)
    rng = np.random.default_rng(0)
    y = rng.normal(size=(12, 4))
    r = np.zeros((15, 12))
    r[split.train_user_idx, split.train_item_idx] = 1.0
    import scipy.sparse as sp

    c1 = sp.csr_matrix(3 * r)
    x_exact = model._solve(y, c1, np.zeros((15, 4)))
    model.solver, model.cg_steps = "cg", 4  # CG on a 4-dim system converges in 4 steps
    x_cg = model._solve(y, c1, np.zeros((15, 4)))
    for u in range(15):  # x_u = (Y^T C_u Y + reg I)^-1 Y^T C_u p_u with the full dense C_u
        cu = np.diag(1 + 3 * r[u])
        expect = np.linalg.solve(y.T @ cu @ y + 0.7 * np.eye(4), y.T @ cu @ r[u])
        np.testing.assert_allclose(x_exact[u], expect, atol=1e-10)
        np.testing.assert_allclose(x_cg[u], expect, atol=1e-6)
    # the objective as computed without the empty cells equals the dense sum
    x = rng.normal(size=(15, 4))
    c = 1 + 3 * r
    dense = np.sum(c * (r - x @ y.T) ** 2) + 0.7 * (np.sum(x**2) + np.sum(y**2))
    assert model._loss(x, y, c1) == pytest.approx(dense)


def test_als_factors_and_ratings_option():
    split = small_split(seed=7)
    m = ImplicitALS(embedding_dim=5, iterations=2).fit(split)
    assert m.user_factors.shape == (split.num_users, 5) and m.item_factors.shape == (split.num_items, 5)
    np.testing.assert_allclose(m.score_all([2])[0], m.user_factors[2] @ m.item_factors.T)
    assert len(m.similar_items(0, k=4)) == 4
    w = ImplicitALS(embedding_dim=5, iterations=2, use_ratings=True).fit(split)
    assert not np.allclose(w.user_factors, m.user_factors)
    with pytest.raises(ValueError, match="rating"):
        ImplicitALS(use_ratings=True, iterations=1).fit(hand_frame(with_rating=False))
    assert ImplicitALS().user_factors is None and Popularity().fit(split).item_factors is None


def test_unique_keys_is_np_unique():
    """The sort-based unique_keys (np.unique's hash path is ~50x slower on 10^6 spread keys) gives np.unique's
    answers, first-occurrence indices and inverse included."""
    from ncf_helpers.data._keys import unique_keys

    rng = np.random.default_rng(3)
    for n, high in ((0, 5), (1, 5), (500, 40), (20_000, 10**12)):
        keys = rng.integers(0, high, n)
        expect = np.unique(keys, return_index=True, return_inverse=True)
        got = unique_keys(keys, return_index=True, return_inverse=True)
        for a, b in zip(expect, got):
            np.testing.assert_array_equal(a, np.ravel(b))
        np.testing.assert_array_equal(unique_keys(keys), expect[0])


def test_als_dtype_option():
    split = small_split(seed=8)
    with pytest.raises(ValueError, match="dtype"):
        ImplicitALS(dtype="float16")
    a = ImplicitALS(embedding_dim=5, iterations=4, dtype="float32").fit(split)
    b = ImplicitALS(embedding_dim=5, iterations=4, dtype="float64").fit(split)
    assert a.user_factors.dtype == np.float64  # scored in float64 whatever the solver's dtype
    # float32 conjugate gradient follows the float64 one closely
    assert a.history["loss"].iloc[-1] == pytest.approx(b.history["loss"].iloc[-1], rel=1e-4)
