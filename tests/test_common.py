"""ncf_helpers.common: the one top-k rule, whole-number parameters, atomic writes, seeding and latency timing."""

from __future__ import annotations

import os
import random
import stat

import numpy as np
import pandas as pd
import pytest

from ncf_helpers.common import atomic_path, atomic_write, latency_ms, set_seed, top_k, whole_number


# ------------------------------------------------------------------------------------------------- top-k
def test_top_k_by_hand():
    # scores 0.1 0.9 0.5 0.9: the two 0.9s tie, the lower index (1) first, then 3; then 0.5 (index 2)
    assert top_k(np.array([0.1, 0.9, 0.5, 0.9]), 3).tolist() == [1, 3, 2]
    # a tie across the cut: three 0.5s for two places -> indices 0 and 1, never 2
    assert top_k(np.array([0.5, 0.5, 0.5, 0.2]), 2).tolist() == [0, 1]
    # -inf (an excluded item) comes after every finite score, and only when places are left
    assert top_k(np.array([-np.inf, 0.0, -1.0]), 3).tolist() == [1, 2, 0]
    # k larger than n: all n, best first
    assert top_k(np.array([2, 3, 1]), 10).tolist() == [1, 0, 2]
    # rows are independent: row 0 ties everywhere (0, 1), row 1 prefers the last items
    assert top_k(np.array([[1.0, 1.0, 1.0], [0.0, 2.0, 3.0]]), 2).tolist() == [[0, 1], [2, 1]]


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.uint8])
def test_top_k_equals_a_stable_sort_on_random_scores_with_many_ties(dtype):
    rng = np.random.default_rng(0)
    for trial in range(60):
        rows, n = int(rng.integers(1, 6)), int(rng.integers(1, 40))
        s = rng.integers(0, 4, size=(rows, n)).astype(dtype)  # values 0..3: ties at every cut
        if dtype in (np.float64, np.float32) and trial % 3 == 0:
            s[rng.random(s.shape) < 0.2] = -np.inf
        k = int(rng.integers(1, n + 3))
        want = np.argsort(-s.astype(np.float64), axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(top_k(s, k), want)
        np.testing.assert_array_equal(top_k(s[0], k), want[0])


def test_top_k_rejects_nan_and_bad_k():
    with pytest.raises(ValueError, match=r"NaN \(first at row 1, position 0\)"):
        top_k(np.array([[1.0, 2.0], [np.nan, 0.0]]), 1)
    with pytest.raises(ValueError, match="k must be a positive whole number"):
        top_k(np.array([1.0, 2.0]), 0)
    with pytest.raises(ValueError, match=r"\[n\] or \[rows, n\]"):
        top_k(np.zeros((2, 2, 2)), 1)


def test_recommend_similar_items_and_the_serving_index_follow_the_same_rule():
    """Recommender.recommend, similar_items and VectorIndex('exact') give exactly top_k's lists on tied scores."""
    from ncf_helpers.classic.base import Recommender
    from ncf_helpers.models.serving import VectorIndex

    rng = np.random.default_rng(1)
    users = rng.integers(0, 3, size=(5, 4)).astype(np.float64)  # few distinct values: many tied scores
    items = rng.integers(0, 3, size=(30, 4)).astype(np.float64)

    class Fixed(Recommender):
        name = "fixed"

        def _fit(self, user_idx, item_idx, rating):
            pass

        def score_all(self, user_idx):
            return users[np.atleast_1d(user_idx)] @ items.T

        @property
        def item_factors(self):
            return items

    train = pd.DataFrame({"user_idx": [0, 0, 3], "item_idx": [4, 7, 0], "label": [1, 1, 1]})
    model = Fixed(num_users=5, num_items=30).fit(train)
    scores = users @ items.T
    masked = scores.copy()
    masked[0, [4, 7]] = masked[3, 0] = -np.inf
    np.testing.assert_array_equal(model.recommend(np.arange(5), 8), top_k(masked, 8))
    np.testing.assert_array_equal(model.recommend(np.arange(5), 8, exclude_seen=False), top_k(scores, 8))

    norms = np.linalg.norm(items, axis=1)
    cos = items @ items[2] / np.maximum(norms * norms[2], 1e-12)
    cos[2] = -np.inf
    assert model.similar_items(2, 6)["item_idx"].tolist() == top_k(cos, 6).tolist()

    index = VectorIndex(items.astype(np.float32), backend="exact")
    found, found_scores = index.search(users.astype(np.float32), 8)
    np.testing.assert_array_equal(found, top_k(scores.astype(np.float32), 8))
    np.testing.assert_allclose(found_scores, np.take_along_axis(scores, found, axis=1), rtol=1e-6)


# ------------------------------------------------------------------------------------------- whole numbers
@pytest.mark.parametrize(
    "value, minimum, want",
    [(10, 1, 10), (np.int32(3), 1, 3), (10.0, 1, 10), (np.float32(2.0), 1, 2), (0, 0, 0), (2**40, 1, 2**40)],
)
def test_whole_number_accepts(value, minimum, want):
    got = whole_number(value, "x", minimum=minimum)
    assert got == want and type(got) is int


@pytest.mark.parametrize(
    "value, minimum, message",
    [
        (True, 1, "x must be a positive whole number, e.g. x=10; got True."),
        (np.bool_(True), 1, "x must be a positive whole number"),
        (3.5, 1, "got 3.5"),
        (float("nan"), 1, "got nan"),
        (float("inf"), 1, "got inf"),
        ("10", 1, "got '10'"),
        (None, 1, "got None"),
        (0, 1, "x must be a positive whole number, e.g. x=10; got 0."),
        (-1, 0, "x must be a whole number >= 0, e.g. x=0; got -1."),
        (2, 3, "x must be a whole number >= 3, e.g. x=10; got 2."),
    ],
)
def test_whole_number_rejects_with_the_parameter_name(value, minimum, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        whole_number(value, "x", minimum=minimum)


def test_every_parameter_check_follows_the_one_rule():
    """10.0 is accepted and 10.5 / True rejected the same way by the classic models, the Keras builder and top-k."""
    from ncf_helpers.classic import ImplicitALS
    from ncf_helpers.classic.baselines import RandomRecommender
    from ncf_helpers.data.checks import check_k

    assert check_k(10.0) == 10
    assert RandomRecommender(seed=3.0).seed == 3
    assert ImplicitALS(embedding_dim=8, iterations=1, seed=2.0).seed == 2
    for bad in (True, 10.5):
        with pytest.raises(ValueError, match="whole number"):
            check_k(bad)
        with pytest.raises(ValueError, match="seed must be a whole number >= 0"):
            RandomRecommender(seed=bad if bad is True else -1)


# ------------------------------------------------------------------------------------------- atomic writes
def test_atomic_write_replaces_whole_files_with_a_shareable_mode(tmp_path):
    target = tmp_path / "sub" / "result.json"
    atomic_write(target, '{"a": 1}')
    assert target.read_text() == '{"a": 1}'
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644 & ~umask  # not mkstemp's private 0o600
    atomic_write(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in target.parent.iterdir()) == ["result.json"]  # no temporary file left


def test_atomic_path_leaves_the_old_file_and_no_temp_on_failure(tmp_path):
    target = tmp_path / "model.keras"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp.name.endswith(".keras")  # writers may check the suffix
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


# ------------------------------------------------------------------------------------------ seeding, latency
def test_set_seed_repeats_python_and_numpy_draws():
    set_seed(7)
    a = (random.random(), np.random.random())
    set_seed(7.0)
    assert (random.random(), np.random.random()) == a
    with pytest.raises(ValueError, match="seed must be a whole number >= 0"):
        set_seed(-1)


def test_latency_ms_takes_turns_after_a_warmup():
    calls = []
    times = latency_ms({"a": lambda r: calls.append(("a", r)), "b": lambda r: calls.append(("b", r))}, 3)
    assert calls == [("a", 0), ("b", 0), ("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]
    assert set(times) == {"a", "b"} and times["a"].shape == (3,) and (times["a"] >= 0).all()
