"""ncf_helpers.interactions: the user x item matrix, co-occurrence and the long-tail counts (lesson 01)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from ncf_helpers.data import Split, leave_last_one_out
from ncf_helpers.interactions import (
    cooccurrence,
    density,
    interaction_matrix,
    item_popularity,
    top_cooccurring,
    user_activity,
)

# The hand-worked example used throughout: 4 users x 5 items.
#   user 0 rated items 0, 1, 3      user 1 rated items 0, 3
#   user 2 rated items 0, 1, 3, 4   user 3 rated items 1, 2, 3
RATED = {0: [0, 1, 3], 1: [0, 3], 2: [0, 1, 3, 4], 3: [1, 2, 3]}
STARS = {
    (0, 0): 5,
    (0, 1): 3,
    (0, 3): 1,
    (1, 0): 4,
    (1, 3): 1,
    (2, 0): 1,
    (2, 1): 1,
    (2, 3): 5,
    (2, 4): 4,
    (3, 1): 1,
    (3, 2): 5,
    (3, 3): 4,
}


def hand_frame() -> pd.DataFrame:
    pairs = sorted(STARS)
    return pd.DataFrame(
        {
            "user_idx": [u for u, _ in pairs],
            "item_idx": [i for _, i in pairs],
            "rating": np.array([STARS[p] for p in pairs], dtype=np.float32),
            "timestamp": np.arange(len(pairs)),
        }
    )


def test_binary_and_explicit_matrix_by_hand():
    b = interaction_matrix(hand_frame())
    assert isinstance(b, sp.csr_matrix) and b.shape == (4, 5)
    expected = np.zeros((4, 5))
    for u, items in RATED.items():
        expected[u, items] = 1.0
    np.testing.assert_array_equal(b.toarray(), expected)
    r = interaction_matrix(hand_frame(), binary=False)
    assert r[2, 3] == 5 and r[3, 2] == 5 and r[0, 3] == 1 and r[1, 1] == 0
    assert r.nnz == 12


def test_shape_arguments_and_dataset_sizes():
    b = interaction_matrix(hand_frame(), num_users=6, num_items=7)
    assert b.shape == (6, 7) and b.nnz == 12
    with pytest.raises(ValueError, match="outside"):
        interaction_matrix(hand_frame(), num_items=3)  # item 4 does not fit


def test_dataset_keeps_unrated_items(synthetic):
    m = interaction_matrix(synthetic)
    assert m.shape == (synthetic.num_users, synthetic.num_items)
    assert m.nnz == synthetic.num_ratings
    e = interaction_matrix(synthetic, binary=False)
    u = synthetic.ratings["user_idx"].to_numpy()
    i = synthetic.ratings["item_idx"].to_numpy()
    np.testing.assert_allclose(np.asarray(e[u, i]).ravel(), synthetic.ratings["rating"].to_numpy())


def test_split_uses_train_only(synthetic):
    split = leave_last_one_out(synthetic, num_negatives=0, threshold=3.5)
    m = interaction_matrix(split)
    assert m.shape == (split.num_users, split.num_items)
    assert m.nnz == len(split.train)
    tu, ti = split.test["user_idx"].to_numpy(), split.test["item_idx"].to_numpy()
    assert np.all(np.asarray(m[tu, ti]).ravel() == 0), "the held-out items must not leak into the matrix"


def test_label_zero_rows_are_not_interactions():
    df = hand_frame().assign(label=lambda f: (f["rating"] >= 3.5).astype(np.int8))
    b = interaction_matrix(df, num_users=4, num_items=5)
    # ratings >= 3.5: (0,0)=5, (1,0)=4, (2,3)=5, (2,4)=4, (3,2)=5, (3,3)=4 -> 6 likes
    assert b.nnz == 6
    assert interaction_matrix(df, binary=False).nnz == 12  # explicit keeps every rating


def test_bad_input():
    with pytest.raises(ValueError, match="more than once"):
        interaction_matrix(pd.concat([hand_frame(), hand_frame().iloc[:1]]))
    with pytest.raises(ValueError, match="lack"):
        interaction_matrix(pd.DataFrame({"user_idx": [0]}))
    with pytest.raises(ValueError, match="rating"):
        interaction_matrix(hand_frame().drop(columns="rating"), binary=False)
    with pytest.raises(ValueError, match="Dataset, a Split or a DataFrame"):
        interaction_matrix([[0, 1]])
    with pytest.raises(ValueError, match="outside"):
        interaction_matrix(hand_frame().assign(user_idx=lambda f: f["user_idx"] - 1))
    nan = hand_frame()
    nan.loc[0, "rating"] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        interaction_matrix(nan, binary=False)


def test_density_activity_popularity_by_hand():
    b = interaction_matrix(hand_frame())
    # 12 filled cells of 4 x 5 = 20 -> 0.6
    assert density(b) == pytest.approx(0.6)
    np.testing.assert_array_equal(user_activity(b), [3, 2, 4, 3])
    # item 0: users 0,1,2; item 1: 0,2,3; item 2: 3; item 3: everyone; item 4: user 2
    np.testing.assert_array_equal(item_popularity(b), [3, 3, 1, 4, 1])
    assert user_activity(b).dtype == np.int64 and item_popularity(b).dtype == np.int64
    # dense input and explicit zeros are fine
    d = b.toarray()
    assert density(d) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="no cells"):
        density(sp.csr_matrix((0, 5)))
    with pytest.raises(ValueError, match="scipy.sparse"):
        user_activity([[1, 0]])


def test_cooccurrence_by_hand():
    c = cooccurrence(interaction_matrix(hand_frame(), binary=False))  # ratings count as interactions
    assert c.shape == (5, 5) and c.dtype == np.int64
    # diagonal = popularity
    np.testing.assert_array_equal(c.diagonal(), [3, 3, 1, 4, 1])
    # items 0 and 1: users 0 and 2 -> 2; items 0 and 3: users 0, 1, 2 -> 3; items 0 and 2: nobody -> 0
    assert c[0, 1] == 2 and c[0, 3] == 3 and c[0, 2] == 0 and c[0, 4] == 1
    # items 1 and 3: users 0, 2, 3 -> 3; items 2 and 4: nobody
    assert c[1, 3] == 3 and c[2, 4] == 0
    assert (c != c.T).nnz == 0


def test_cooccurrence_matches_a_double_loop():
    rng = np.random.default_rng(1)
    dense = (rng.random((30, 12)) < 0.3) * rng.integers(1, 6, (30, 12))
    c = cooccurrence(sp.csr_matrix(dense)).toarray()
    naive = np.zeros((12, 12), dtype=np.int64)
    for i in range(12):
        for j in range(12):
            naive[i, j] = sum(1 for u in range(30) if dense[u, i] and dense[u, j])
    np.testing.assert_array_equal(c, naive)


def test_top_cooccurring_by_hand():
    b = interaction_matrix(hand_frame())
    # item 0 co-occurs with item 3 (3 users), item 1 (2), item 4 (1), item 2 (0)
    top = top_cooccurring(b, 0, k=3)
    assert list(top.columns) == ["item_idx", "count", "score"]
    assert top["item_idx"].tolist() == [3, 1, 4] and top["count"].tolist() == [3, 2, 1]
    # confidence = count / pop(0) = 3/3, 2/3, 1/3
    np.testing.assert_allclose(top_cooccurring(b, 0, 3, "confidence")["score"], [1.0, 2 / 3, 1 / 3])
    # lift = count * num_users / (pop(0) * pop(j)): item 4: 1*4/(3*1) = 1.333, item 3: 3*4/(3*4) = 1.0,
    # item 1: 2*4/(3*3) = 0.889 -> rare item 4 comes first
    lift = top_cooccurring(b, 0, 3, "lift")
    assert lift["item_idx"].tolist() == [4, 3, 1]
    np.testing.assert_allclose(lift["score"], [4 / 3, 1.0, 8 / 9])
    # jaccard = count / (pop(0) + pop(j) - count): item 3: 3/(3+4-3) = .75, item 1: 2/(3+3-2) = .5, item 4: 1/3
    jac = top_cooccurring(b, 0, 3, "jaccard")
    assert jac["item_idx"].tolist() == [3, 1, 4]
    np.testing.assert_allclose(jac["score"], [0.75, 0.5, 1 / 3])
    # min_count drops the single co-occurrence; only 2 items remain, fewer than k
    assert top_cooccurring(b, 0, 10, min_count=2)["item_idx"].tolist() == [3, 1]
    # the anchor is never listed, items that never co-occur are not listed
    assert 0 not in top_cooccurring(b, 0, 10)["item_idx"].tolist()
    assert 2 not in top_cooccurring(b, 0, 10)["item_idx"].tolist()
    # ties: items 0 and 1 both co-occur 3 times with item 3 -> smaller index first
    assert top_cooccurring(b, 3, 2)["item_idx"].tolist() == [0, 1]


def test_top_cooccurring_matches_cooccurrence_row():
    rng = np.random.default_rng(2)
    m = sp.csr_matrix((rng.random((40, 25)) < 0.25).astype(float))
    c = cooccurrence(m).toarray()
    for item in (0, 7, 24):
        top = top_cooccurring(m, item, k=5)
        row = c[item].copy()
        row[item] = 0
        np.testing.assert_array_equal(top["count"], np.sort(row[row > 0])[::-1][:5])
        np.testing.assert_array_equal(top["count"], row[top["item_idx"]])


def test_top_cooccurring_bad_input():
    b = interaction_matrix(hand_frame())
    with pytest.raises(ValueError, match="outside"):
        top_cooccurring(b, 5)
    with pytest.raises(ValueError, match="positive whole number"):
        top_cooccurring(b, 0, k=0)
    with pytest.raises(ValueError, match="measure"):
        top_cooccurring(b, 0, measure="cosine")
    with pytest.raises(ValueError, match="min_count"):
        top_cooccurring(b, 0, min_count=0)


def test_split_object_with_manual_frames():
    train = hand_frame()
    split = Split(4, 6, train, train.iloc[:1])
    assert interaction_matrix(split).shape == (4, 6)


def test_movielens_facts(movielens):
    """ml-latest-small: 100,836 ratings of 610 users x 9,742 items (skipped without NCF_DATA_DIR)."""
    m = interaction_matrix(movielens)
    assert m.shape == (610, 9742)
    assert density(m) == pytest.approx(100_836 / (610 * 9742))
    pop = item_popularity(m)
    assert pop.max() == 329 and movielens.title(int(pop.argmax())) == "Forrest Gump (1994)"
    assert user_activity(m).min() == 20  # MovieLens keeps users with at least 20 ratings
    toy = int(movielens.find_items("Toy Story (1995)")["item_idx"].iloc[0])
    top = top_cooccurring(m, toy, 3)
    assert movielens.title(int(top["item_idx"].iloc[0])) == "Forrest Gump (1994)" and top["count"].iloc[0] == 154
