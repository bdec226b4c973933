"""Lesson 07's losses, full-catalogue recall and ANN backend, checked against numbers worked out by hand."""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import pytest

from ncf_helpers.data import Split
from ncf_helpers.models.retrieval import (
    accidental_hit_mask,
    fit_retrieval,
    in_batch_softmax_loss,
    log_sampling_probability,
    pointwise_bce_loss,
)
from ncf_helpers.models.serving import VectorIndex

# A 3-item batch worked out by hand. Rows are (user, positive item) pairs; rows 0 and 2 liked the same film (5).
#   U = [[1, 0], [0, 1], [1, 1]]    V = [[1, 0], [0, 1], [1, 0]]    item_idx = [5, 7, 5]
#   S = U @ V.T = [[1, 0, 1],
#                  [0, 1, 0],
#                  [1, 1, 1]]
# In-batch softmax, row b's loss = -log(exp(S[b, b]) / sum_j exp(S[b, j])):
#   row 0: log(2e + 1) - 1 = 0.86201    row 1: log(e + 2) - 1 = 0.55144    row 2: log(3e) - 1 = log 3 = 1.09861
# Accidental hits: column j is a hit for row b when item_idx[j] == item_idx[b] and j != b:
#   mask = [[F, F, T],
#           [F, F, F],
#           [T, F, F]]
# Removing them (logit -> -inf): row 0: log(1 + 1/e) = 0.31326, row 1 unchanged, row 2: log 2 = 0.69315.
# logQ: film 5 is half of the training positives, film 7 a quarter: Q = [0.5, 0.25, 0.5] by column, and the
# corrected logits S - log Q = S + [log 2, log 4, log 2]:
#   row 0: [1 + log 2, log 4, (hit)]            -> log(1 + exp(log 4 - 1 - log 2)) = log(1 + 2/e) = 0.55144
#   row 1: [log 2, 1 + log 4, log 2]            -> log(1 + 2 exp(log 2 - 1 - log 4)) = log(1 + 1/e) = 0.31326
#   row 2: [(hit), 1 + log 4, 1 + log 2]        -> log(1 + exp(log 4 - log 2)) = log 3 = 1.09861
# The correction moved loss from the popular film's rows to film 7's: film 7 is rarely a negative, so
# beating it says more.
U = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)
V = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], np.float32)
ITEMS = np.array([5, 7, 5], np.int32)
E = math.e


def _np(x):
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def test_in_batch_softmax_by_hand():
    loss = _np(in_batch_softmax_loss(U, V))
    np.testing.assert_allclose(loss, [math.log(2 * E + 1) - 1, math.log(E + 2) - 1, math.log(3)], rtol=1e-5)


def test_accidental_hit_mask_by_hand():
    mask = _np(accidental_hit_mask(ITEMS))
    np.testing.assert_array_equal(mask, [[False, False, True], [False, False, False], [True, False, False]])
    # extra columns (mixed negatives): a uniform negative equal to a row's positive is a hit too
    mask = _np(accidental_hit_mask(ITEMS, np.array([5, 7, 5, 7, 1], np.int32)))
    np.testing.assert_array_equal(mask[:, 3:], [[False, False], [True, False], [False, False]])


def test_removing_accidental_hits_by_hand():
    loss = _np(in_batch_softmax_loss(U, V, ITEMS, remove_accidental_hits=True))
    np.testing.assert_allclose(loss, [math.log(1 + 1 / E), math.log(E + 2) - 1, math.log(2)], rtol=1e-5)


def test_logq_corrected_loss_by_hand():
    log_q = np.log(np.array([0.5, 0.25, 0.5], np.float32))
    loss = _np(in_batch_softmax_loss(U, V, ITEMS, log_q, remove_accidental_hits=True))
    np.testing.assert_allclose(loss, [math.log(1 + 2 / E), math.log(1 + 1 / E), math.log(3)], rtol=1e-5)


def test_log_sampling_probability_from_counts():
    # film 0 liked twice, film 1 once, film 2 never (counts as 0.5 so the log stays finite)
    np.testing.assert_allclose(log_sampling_probability([2, 1, 0]), np.log([2 / 3, 1 / 3, 0.5 / 3]), rtol=1e-6)
    np.testing.assert_allclose(log_sampling_probability([2, 1, 0], batch_size=3), np.log([2, 1, 0.5]), rtol=1e-6)
    with pytest.raises(ValueError, match="non-negative counts"):
        log_sampling_probability([1, -1])
    with pytest.raises(ValueError, match="all 0"):
        log_sampling_probability([0, 0])


def test_pointwise_bce_by_hand():
    # logit 0 everywhere: each of the 1 + 2 rows costs log 2, so the mean is log 2
    np.testing.assert_allclose(_np(pointwise_bce_loss(np.zeros(1), np.zeros((1, 2)))), [math.log(2)], rtol=1e-6)
    # a confident right answer costs ~0: positive logit 20, negatives -20
    assert float(_np(pointwise_bce_loss(np.array([20.0]), np.array([[-20.0, -20.0]])))[0]) < 1e-8


@pytest.mark.skipif(sys.version_info < (3, 11), reason="keras-rs needs Python >= 3.11 (installed from 3.11 on)")
def test_logq_matches_keras_rs():
    """Our logQ step equals Keras-RS's SamplingProbabilityCorrection followed by a softmax cross-entropy."""
    import keras
    import keras_rs

    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(6, 4)).astype(np.float32), rng.normal(size=(6, 4)).astype(np.float32)
    q = rng.uniform(0.01, 0.5, size=6).astype(np.float32)
    logits = keras_rs.layers.SamplingProbabilityCorrection()(u @ v.T, np.tile(q, (6, 1)))
    theirs = keras.losses.categorical_crossentropy(np.eye(6, dtype=np.float32), logits, from_logits=True)
    ours = in_batch_softmax_loss(u, v, np.arange(6), np.log(q))
    np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-5)


class _FixedScores:
    """A model whose full score matrix is given: for the full-catalogue protocol."""

    name = "fixed"

    def __init__(self, scores):
        self.s = np.asarray(scores, float)

    def score_all(self, users):
        return self.s[np.asarray(users)]

    def score(self, users, items):
        return self.s[np.asarray(users), np.asarray(items)]


def test_full_catalogue_recall_toy_excludes_known_positives():
    """2 users, 5 films. User 0 liked film 0 in training and film 3 in test; user 1 films 1, 2 and then 4.
    user 0 scores [9, 1, 2, 5, 0]: film 0 is known and excluded, so film 3 (5) ranks first -> hit at K=1.
    (Without the exclusion film 0 would take first place and Recall@1 would be 0.)
    user 1 scores [3, 9, 8, 1, 2]: films 1, 2 excluded; left 0 (3), 4 (2), 3 (1): film 4 is second.
    Recall@1 = (1 + 0) / 2 = 0.5, Recall@2 = 1.0; NDCG@2 = (1 + 1/log2(3)) / 2 = 0.81546."""
    from ncf_helpers.lessons.l07_retrieval.experiments import full_metrics

    train = pd.DataFrame({"user_idx": [0, 1, 1], "item_idx": [0, 1, 2]})
    test = pd.DataFrame({"user_idx": [0, 1], "item_idx": [3, 4]})
    split = Split(2, 5, train, test)
    model = _FixedScores([[9, 1, 2, 5, 0], [3, 9, 8, 1, 2]])
    m = full_metrics(model, split, ks=(1, 2), ndcg_k=2)
    assert m["recall@1"] == pytest.approx(0.5)
    assert m["recall@2"] == pytest.approx(1.0)
    assert m["ndcg@2"] == pytest.approx((1 + 1 / math.log2(3)) / 2)


# ---------------------------------------------------------------------------------------------- ANN backend
def _exact_top(items, queries, k):
    s = queries @ items.T
    return np.argsort(-s, axis=1, kind="stable")[:, :k]


@pytest.fixture(scope="module")
def catalogue():
    rng = np.random.default_rng(0)
    items = rng.normal(size=(2000, 16)).astype(np.float32) * rng.uniform(0.5, 2.0, size=(2000, 1)).astype(np.float32)
    queries = rng.normal(size=(50, 16)).astype(np.float32)
    return items, queries


@pytest.mark.parametrize(
    "backend, options",
    [
        ("exact", {}),
        ("faiss-flat", {}),
        ("faiss-ivf", {"nlist": 16, "nprobe": 16}),  # every cell scanned: exhaustive
        ("faiss-hnsw", {"hnsw_m": 32, "ef_search": 2000}),  # the beam holds every item: exhaustive
    ],
)
def test_exhaustive_settings_return_the_exact_top_10(catalogue, backend, options):
    items, queries = catalogue
    index = VectorIndex(items, backend, **options)
    found, scores = index.search(queries, 10)
    np.testing.assert_array_equal(found, _exact_top(items, queries, 10))
    np.testing.assert_allclose(scores, np.take_along_axis(queries @ items.T, found, axis=1), rtol=1e-5)


def test_approximate_settings_lose_some_neighbours(catalogue):
    """The check above can fail: one probed cell out of 64 misses part of the exact top-10."""
    items, queries = catalogue
    index = VectorIndex(items, "faiss-ivf", nlist=64, nprobe=1)
    found, _ = index.search(queries, 10)
    exact = _exact_top(items, queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact)])
    assert recall < 0.9
    index.set(nprobe=64)
    np.testing.assert_array_equal(index.search(queries, 10)[0], exact)


def test_ivfpq_reports_compressed_bytes(catalogue):
    items, _ = catalogue
    flat = VectorIndex(items, "exact")
    pq = VectorIndex(items, "faiss-ivfpq", nlist=16, pq_m=8)
    assert flat.bytes_per_item == 4 * 16
    assert pq.bytes_per_item < flat.bytes_per_item


def test_vector_index_rejects_bad_input():
    with pytest.raises(ValueError, match="Unknown backend"):
        VectorIndex(np.ones((3, 2)), "annoy")
    with pytest.raises(ValueError, match="2-D array"):
        VectorIndex(np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        VectorIndex(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="width d=2"):
        VectorIndex(np.ones((3, 2))).search(np.ones((1, 3)))


@pytest.mark.slow
def test_two_tower_index_faiss_backend_matches_exact():
    """TwoTowerIndex keeps its interface with an ANN backend: exhaustive IVF == brute force, also with
    exclude_seen."""
    from ncf_helpers.data import leave_last_one_out, make_synthetic
    from ncf_helpers.models import TwoTowerIndex, fit_model

    ds = make_synthetic(120, 300, seed=0)
    split = leave_last_one_out(ds, num_negatives=20, seed=0)
    rec, _ = fit_model(split, "two_tower", epochs=1, seed=0, eval_metrics=False)
    exact = TwoTowerIndex(rec, split=split)
    ann = TwoTowerIndex(rec, split=split, backend="faiss-ivf", nlist=8, nprobe=8)
    users = np.arange(20)
    for seen in (False, True):
        a, sa = exact.query(users, 10, exclude_seen=seen)
        b, sb = ann.query(users, 10, exclude_seen=seen)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(sa, sb, rtol=1e-5)
    assert list(ann.query(0, 5).columns) == ["rank", "item_idx", "score"]


@pytest.mark.slow
def test_fit_retrieval_learns_each_loss():
    """Every loss trains on the synthetic data and beats random on the full catalogue."""
    from ncf_helpers.data import leave_last_one_out, make_synthetic
    from ncf_helpers.lessons.l07_retrieval.experiments import full_metrics

    ds = make_synthetic(300, 400, seed=0)
    split = leave_last_one_out(ds, num_negatives=99, seed=0)
    for loss in ("bce", "softmax", "softmax_logq", "mixed"):
        model = fit_retrieval(split, loss, epochs=5, batch_size=256, seed=0)
        m = full_metrics(model, split, ks=(50,))
        assert m["recall@50"] > 2 * 50 / 400, (loss, m)
        assert np.isfinite(model.history).all() and model.history[-1] < model.history[0]
    with pytest.raises(ValueError, match="Unknown loss"):
        fit_retrieval(split, "hinge")


def test_fresh_items_on_synthetic_data_falls_back_to_the_latest_debuts():
    """make_synthetic has no release dates (every film is rated from the start), so no film debuts after the 0.9
    quantile of rating times; fresh_items then takes the latest 10 % of films by first rating. On a hand-made
    data set where two of ten films debut late, the rating-time rule finds exactly those two."""
    import pandas as pd

    from ncf_helpers.data import leave_last_one_out, make_synthetic
    from ncf_helpers.lessons.l07_retrieval.experiments import fresh_items

    ds = make_synthetic(num_users=200, num_items=300, seed=0)
    split = leave_last_one_out(ds, num_negatives=20, seed=0)
    fresh, cutoff = fresh_items(ds, split, 0.9)
    first = ds.ratings.groupby("item_idx")["timestamp"].min()
    assert len(fresh) >= 20
    assert (first.loc[fresh] > cutoff).all()
    assert cutoff == float(np.quantile(first.to_numpy(), 0.9))

    class Toy:  # 10 films rated every day from t = 0 to 99, films 8 and 9 only from t = 95
        ratings = pd.DataFrame(
            {
                "item_idx": [i for t in range(100) for i in range(10) if i < 8 or t >= 95],
                "timestamp": [t for t in range(100) for i in range(10) if i < 8 or t >= 95],
            }
        )

    class ToySplit:
        train, valid, test = Toy.ratings, None, None

    fresh, cutoff = fresh_items(Toy, ToySplit, 0.9, min_fresh=2)
    assert list(fresh) == [8, 9] and cutoff < 95
