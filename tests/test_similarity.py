"""ncf_helpers.similarity: cosine, centred-cosine Pearson and Jaccard, dense and top-k (lesson 02)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from ncf_helpers.similarity import (
    METRICS,
    neighbour_graph,
    pairwise,
    similarities_of,
    similarity_matrix,
    top_k_neighbours,
)

# 4 users x 5 items, 0 = not rated.
R = np.array(
    [
        [5, 3, 0, 1, 0],  # user 0
        [4, 0, 0, 1, 0],  # user 1
        [1, 1, 0, 5, 4],  # user 2
        [0, 1, 5, 4, 0],  # user 3
    ],
    dtype=float,
)


def naive(a: np.ndarray, b: np.ndarray, metric: str) -> float:
    """Straight from the definitions, one pair at a time."""
    if metric == "jaccard":
        sa, sb = set(np.flatnonzero(a)), set(np.flatnonzero(b))
        return len(sa & sb) / len(sa | sb) if sa | sb else 0.0
    if metric == "pearson":
        a = np.array([x - a[a != 0].mean() if x != 0 else 0.0 for x in a]) if (a != 0).any() else a
        b = np.array([x - b[b != 0].mean() if x != 0 else 0.0 for x in b]) if (b != 0).any() else b
    na, nb = np.sqrt(sum(x * x for x in a)), np.sqrt(sum(x * x for x in b))
    if na < 1e-12 or nb < 1e-12:
        return 0.0
    return float(sum(x * y for x, y in zip(a, b)) / (na * nb))


def test_cosine_by_hand():
    # users 0, 1: a.b = 5*4 + 1*1 = 21, |a| = sqrt(25+9+1) = sqrt(35), |b| = sqrt(16+1) = sqrt(17)
    #   -> 21 / sqrt(595) = 0.86092
    # users 0, 2: a.b = 5*1 + 3*1 + 1*5 = 13, |c| = sqrt(1+1+25+16) = sqrt(43) -> 13 / sqrt(1505) = 0.33510
    # users 0, 3: a.b = 3*1 + 1*4 = 7, |d| = sqrt(1+25+16) = sqrt(42) -> 7 / sqrt(1470) = 0.18257
    s = similarity_matrix(sp.csr_matrix(R), "cosine")
    assert s.shape == (4, 4)
    assert s[0, 1] == pytest.approx(21 / np.sqrt(595))
    assert s[0, 2] == pytest.approx(13 / np.sqrt(1505))
    assert s[0, 3] == pytest.approx(7 / np.sqrt(1470))
    np.testing.assert_allclose(np.diag(s), 1.0)
    np.testing.assert_allclose(s, s.T)
    assert pairwise(R[0], R[1], "cosine") == pytest.approx(0.86092, abs=1e-5)


def test_pearson_centres_on_rated_entries_only():
    # user 0 rated 5, 3, 1 -> mean 3 -> centred [2, 0, _, -2, _] (unrated stay 0)
    # user 1 rated 4, 1    -> mean 2.5 -> centred [1.5, _, _, -1.5, _]
    #   -> (2*1.5 + (-2)(-1.5)) / (sqrt(8) * sqrt(4.5)) = 6 / 6 = 1.0 (same taste, different scale)
    # user 2 rated 1, 1, 5, 4 -> mean 2.75 -> centred [-1.75, -1.75, _, 2.25, 1.25], |.|^2 = 12.75
    #   users 0, 2: 2*(-1.75) + (-2)*2.25 = -8 -> -8 / sqrt(8 * 12.75) = -8 / sqrt(102) = -0.79212
    s = similarity_matrix(R, "pearson")
    assert s[0, 1] == pytest.approx(1.0)
    assert s[0, 2] == pytest.approx(-8 / np.sqrt(102))
    assert pairwise(R[0], R[2], "pearson") == pytest.approx(-0.79212, abs=1e-5)
    # Plain cosine of the same pair is positive: centring is what reveals the disagreement.
    assert similarity_matrix(R, "cosine")[0, 2] > 0


def test_jaccard_by_hand():
    # rated sets: u0 {0,1,3}, u1 {0,3}, u2 {0,1,3,4}, u3 {1,2,3}
    # u0,u1: 2/3; u0,u2: 3/4; u0,u3: {1,3} / {0,1,2,3} = 2/4; u1,u3: {3} / {0,1,2,3} = 1/4
    s = similarity_matrix(R, "jaccard")
    assert s[0, 1] == pytest.approx(2 / 3)
    assert s[0, 2] == pytest.approx(3 / 4)
    assert s[0, 3] == pytest.approx(1 / 2)
    assert s[1, 3] == pytest.approx(1 / 4)
    assert pairwise(R[0], R[3], "jaccard") == pytest.approx(0.5)


def test_item_axis_by_hand():
    # items 0 and 3 as column vectors: [5,4,1,0] . [1,1,5,4] = 5+4+5 = 14, |.| = sqrt(42), sqrt(43)
    s = similarity_matrix(R, "cosine", axis=1)
    assert s.shape == (5, 5)
    assert s[0, 3] == pytest.approx(14 / np.sqrt(42 * 43))
    # raters of item 0 {u0,u1,u2}, item 3 {all} -> 3/4
    assert similarity_matrix(R, "jaccard", axis=1)[0, 3] == pytest.approx(0.75)
    np.testing.assert_allclose(similarity_matrix(R, "pearson", axis=1), similarity_matrix(R.T, "pearson"))
    # item 2 has one rating (5): centred on its own mean it is all zeros -> similarity 0, even to itself
    p = similarity_matrix(R, "pearson", axis=1)
    assert np.all(p[2] == 0)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("axis", [0, 1])
def test_matches_naive_double_loop(metric, axis):
    rng = np.random.default_rng(3)
    dense = np.where(rng.random((13, 9)) < 0.4, rng.integers(1, 6, (13, 9)), 0).astype(float)
    dense[4] = 0  # an empty user
    dense[7] = np.where(dense[7] > 0, 3.0, 0.0)  # a user with constant ratings (pearson: zero vector)
    vectors = dense if axis == 0 else dense.T
    expect = np.array([[naive(a, b, metric) for b in vectors] for a in vectors])
    got = similarity_matrix(sp.csr_matrix(dense), metric, axis=axis)
    np.testing.assert_allclose(got, expect, atol=1e-12)
    for a in range(3):
        for b in range(3):
            assert pairwise(vectors[a], vectors[b], metric) == pytest.approx(expect[a, b], abs=1e-12)
    for a in range(len(vectors)):  # one row at a time, the empty and the constant user included
        np.testing.assert_allclose(similarities_of(sp.csr_matrix(dense), a, metric, axis=axis), expect[a], atol=1e-12)


def test_similarities_of_by_hand_and_beyond_the_dense_limit():
    # user 0 = [5, 3, 0, 1, 0], user 1 = [4, 0, 0, 1, 0]: a . b = 20 + 1 = 21, |a| = sqrt(35), |b| = sqrt(17),
    # cosine = 21 / sqrt(595) = 0.8609
    assert similarities_of(R, 0)[1] == pytest.approx(21 / np.sqrt(595), abs=1e-12)
    # more rows than similarity_matrix's max_size: one row still works (and matches the dense matrix)
    rng = np.random.default_rng(0)
    big = sp.random(60, 30, density=0.2, random_state=rng, format="csr") * 5
    with pytest.raises(ValueError, match="top_k_neighbours"):
        similarity_matrix(big, "cosine", max_size=50)
    np.testing.assert_allclose(similarities_of(big, 7), similarity_matrix(big, "cosine")[7], atol=1e-12)
    for bad in (-1, 60, 2.0, True, "3"):
        with pytest.raises(ValueError, match="index must be an integer"):
            similarities_of(big, bad)


@pytest.mark.parametrize("metric", METRICS)
def test_top_k_matches_argsort_of_dense(metric):
    rng = np.random.default_rng(4)
    dense = np.where(rng.random((60, 40)) < 0.2, rng.integers(1, 6, (60, 40)), 0).astype(float)
    full = similarity_matrix(dense, metric)
    np.fill_diagonal(full, -np.inf)
    for block_size in (7, None):  # several blocks, and the default (one block)
        idx, sims = top_k_neighbours(dense, k=5, metric=metric, block_size=block_size)
        assert idx.shape == sims.shape == (60, 5) and idx.dtype == np.int64
        # the similarity values are the 5 largest of each row, in decreasing order
        np.testing.assert_allclose(sims, -np.sort(-full, axis=1)[:, :5], atol=1e-12)
        # and they belong to the returned indices; no row is its own neighbour; no repeats in a row
        np.testing.assert_allclose(np.take_along_axis(full, idx, axis=1), sims, atol=1e-12)
        assert not np.any(idx == np.arange(60)[:, None])
        assert all(len(set(row)) == 5 for row in idx)


def test_top_k_exact_on_near_ties():
    # User 0 = (1, 0). Users 1-8 = (1, t) with t = (9 - user) * 1e-5: cosine 1/sqrt(1 + t^2) = 1 - t^2/2,
    # distinct in float64 but all 1.0 in float32, the closest being the LAST ones. Users 9-28 = (1, 1):
    # cosine 0.707. The top 3 must be users 8, 7, 6: the float32 partition alone sees eight equal values.
    dense = np.zeros((29, 2))
    dense[:, 0] = 1.0
    dense[1:9, 1] = (9 - np.arange(1, 9)) * 1e-5
    dense[9:, 1] = 1.0
    idx, sims = top_k_neighbours(dense, k=3, metric="cosine")
    assert idx[0].tolist() == [8, 7, 6]
    assert sims[0, 0] > sims[0, 1] > sims[0, 2]


def test_top_k_items_axis_and_big_k():
    rng = np.random.default_rng(5)
    dense = (rng.random((30, 8)) < 0.4).astype(float)
    idx, sims = top_k_neighbours(dense, k=50, metric="cosine", axis=1)
    assert idx.shape == (8, 7)  # k lowered to the 7 other items
    full = similarity_matrix(dense, "cosine", axis=1)
    np.fill_diagonal(full, -np.inf)
    np.testing.assert_allclose(sims, -np.sort(-full, axis=1)[:, :7], atol=1e-12)
    idx2, _ = top_k_neighbours(dense, k=8, axis=1, exclude_self=False)
    assert idx2.shape == (8, 8)


def test_empty_rows_get_zero_similarity_neighbours():
    dense = R.copy()
    dense[1] = 0
    idx, sims = top_k_neighbours(dense, k=2, metric="cosine")
    assert idx[1].tolist() == [0, 2] and sims[1].tolist() == [0.0, 0.0]  # the smallest other indices
    assert 1 not in idx[0][sims[0] > 0]


def test_shrink():
    # users 0, 1: a.b = 21, |a||b| = sqrt(595) = 24.39 -> with shrink 10: 21 / 34.39 = 0.6106
    s = similarity_matrix(R, "cosine", shrink=10)
    assert s[0, 1] == pytest.approx(21 / (np.sqrt(595) + 10))
    # jaccard u0,u1: 2 / (3 + 10)
    assert similarity_matrix(R, "jaccard", shrink=10)[0, 1] == pytest.approx(2 / 13)
    _, sims = top_k_neighbours(R, k=1, shrink=10)
    assert sims[0, 0] == pytest.approx(21 / (np.sqrt(595) + 10))


def test_neighbour_graph():
    idx, sims = top_k_neighbours(R, k=2, metric="jaccard")
    w = neighbour_graph(idx, sims)
    assert w.shape == (4, 4) and w.nnz == 8
    # user 0's two nearest by jaccard: user 2 (3/4), user 1 (2/3)
    assert w[0, 2] == pytest.approx(0.75) and w[0, 1] == pytest.approx(2 / 3) and w[0, 3] == 0
    with pytest.raises(ValueError, match="must both be"):
        neighbour_graph(idx, sims[:, :1])


def test_pairwise_show_prints_the_arithmetic(capsys):
    value = pairwise([5, 3, 0], [4, 0, 2], "cosine", show=True)
    out = capsys.readouterr().out
    # a.b = 5*4 + 3*0 + 0*2 = 20; |a| = sqrt(34); |b| = sqrt(20) -> 20 / sqrt(680) = 0.7670
    assert value == pytest.approx(20 / np.sqrt(680))
    assert "5*4 + 3*0 + 0*2 = 20" in out and "sqrt(34)" in out and "0.767" in out
    pairwise([5, 3, 1], [4, 0, 1], "pearson", show=True)
    assert "mean of a over its 3 rated entries = 3" in capsys.readouterr().out
    assert pairwise([0, 0], [1, 2]) == 0.0 and pairwise([0, 0], [0, 0], "jaccard") == 0.0


def test_bad_input():
    with pytest.raises(ValueError, match="Unknown similarity"):
        similarity_matrix(R, "euclid")
    with pytest.raises(ValueError, match="axis"):
        similarity_matrix(R, axis=2)
    with pytest.raises(ValueError, match="top_k_neighbours"):
        similarity_matrix(R, max_size=3)
    with pytest.raises(ValueError, match="scipy.sparse"):
        similarity_matrix(R.tolist())
    with pytest.raises(ValueError, match="2-D"):
        similarity_matrix(R[0])
    with pytest.raises(ValueError, match="NaN"):
        similarity_matrix(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="positive whole number"):
        top_k_neighbours(R, k=0)
    with pytest.raises(ValueError, match="no neighbours"):
        top_k_neighbours(R[:1], k=3)
    with pytest.raises(ValueError, match="shrink"):
        top_k_neighbours(R, k=1, shrink=-1)
    with pytest.raises(ValueError, match="one length"):
        pairwise([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="NaN"):
        pairwise([1, np.nan], [1, 2])
