"""The data core: Dataset, validation, synthetic and toy data, implicit labels, splits, negative sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ncf_helpers.data import (
    Dataset,
    leave_last_one_out,
    load_dataset,
    make_synthetic,
    random_split,
    sample_negatives,
    to_implicit,
    toy_matrix,
    validate_ratings,
)
from ncf_helpers.data.checks import check_indices, check_integer_column, check_k
from ncf_helpers.data.dataset import check_items


def _ratings(rows):
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])


# ------------------------------------------------------------------------------------------ validation
def test_validate_ratings_accepts_clean_input():
    df = validate_ratings(_ratings([(1, 10, 4.0, 5), (1, 11, 3.5, 6)]), "ratings.csv")
    assert list(df.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert df["user_id"].dtype == np.int64 and df["rating"].dtype == np.float32


IDS = "IDs must be whole numbers from 0 to 9,223,372,036,854,775,807 (int64), written with digits only (e.g. 42)."
TIMES = (
    "Timestamps (seconds since 1970-01-01 UTC) must be whole numbers from 0 to 9,223,372,036,854,775,807 "
    "(int64), written with digits only (e.g. 964982703)."
)


@pytest.mark.parametrize(
    "rows, columns, expected",
    [
        ([(1, 10, 4.0)], ["user_id", "item_id", "rating"], "ratings.csv: missing column(s) ['timestamp']"),
        (
            [(1, "x", 4.0, 5)],
            None,
            f"ratings.csv: row 0 (0-based), column 'item_id': 'x' is not a whole number. {IDS} Correct or drop that row.",
        ),
        (
            [(1, 10, 4.0, 5), (1, 11.5, 4.0, 5)],
            None,
            f"ratings.csv: row 1 (0-based), column 'item_id': 11.5 is not a whole number. {IDS} Correct or drop that row.",
        ),
        (
            [(1, 10, 4.0, 5), (-2, 10, 4.0, 5)],
            None,
            f"ratings.csv: row 1 (0-based), column 'user_id': -2 is negative. {IDS}",
        ),
        (
            [(1, 10, 4.0, 5), (2, 10, 4.0, -1)],
            None,
            f"ratings.csv: row 1 (0-based), column 'timestamp': -1 is negative. {TIMES}",
        ),
        (
            [(1, 10, 4.0, 5), (2, 10, np.nan, 5)],
            None,
            "ratings.csv: row 1 (0-based), column 'rating': the cell is empty. Ratings must be numbers. Correct or drop that row.",
        ),
        (
            [(1, 10, 4.0, 5), (2, 10, "4 stars", 5)],
            None,
            "ratings.csv: row 1 (0-based), column 'rating': '4 stars' is not a number.",
        ),
        (
            [(1, 10, 4.0, 5), (2, 10, np.inf, 5)],
            None,
            "ratings.csv: row 1 (0-based), column 'rating': inf is not a finite number. Ratings must be finite numbers.",
        ),
        (
            [(1, 10, 4.0, 5), (2, 10, 7.0, 5), (3, 10, 0.0, 5)],
            None,
            "ratings.csv: row 1 (0-based), column 'rating': 7.0 is outside [0.5, 5.0] (2 such ratings in all). "
            "Ratings of this data set must lie in [0.5, 5.0]. Correct or drop that row.",
        ),
        (
            [(1, 10, 4.0, 5), (2, 11, 3.0, 6), (1, 10, 3.0, 6)],
            None,
            "ratings.csv: row 2 (0-based): the (user, item) pair (1, 10) appears again; it first appears on row 0 (0-based).",
        ),
    ],
)
def test_validate_ratings_errors_name_file_column_and_row(rows, columns, expected):
    df = pd.DataFrame(rows, columns=columns or ["user_id", "item_id", "rating", "timestamp"])
    with pytest.raises(ValueError) as err:
        validate_ratings(df, "ratings.csv")
    assert str(err.value).startswith(expected), str(err.value)


def test_validate_ratings_with_line_numbers_labels_step_and_known_items():
    df = _ratings([(1, 10, 4.0, 5), (1, 11, 3.7, 6)])
    with pytest.raises(ValueError) as err:  # lines: position -> the file's line number
        validate_ratings(df, "r.csv", rating_step=0.5, lines=lambda i: i + 2, labels={"rating": "column 'stars'"})
    assert str(err.value) == (
        "r.csv: line 3, column 'stars': 3.7 is not a multiple of 0.5; this data set rates in "
        "steps of 0.5. Correct or delete that line."
    )
    assert validate_ratings(df, "r.csv", rating_step=0.1)["rating"].tolist() == pytest.approx([4.0, 3.7])
    with pytest.raises(ValueError) as err:
        validate_ratings(
            _ratings([(1, 10, 4.0, 5), (1, 12, 4.0, 6), (2, 13, 1.0, 7), (3, 12, 2.0, 8)]),
            "r.csv",
            item_ids=[10, 11],
            items_source="items.csv",
            lines=[2, 3, 5, 6],
        )
    assert str(err.value).startswith(
        "r.csv: line 3, column 'item_id': item 12 is not in items.csv (3 rating(s) in all refer to 2 id(s) missing "
        "there: 12, 13). Every rated item must be listed in items.csv"
    )
    # any finite rating when rating_range is None, but never NaN or infinity
    assert validate_ratings(_ratings([(1, 10, 42.0, 5)]), "r", rating_range=None)["rating"].tolist() == [42.0]
    with pytest.raises(ValueError, match="-inf is not a finite number"):
        validate_ratings(_ratings([(1, 10, -np.inf, 5)]), "r", rating_range=None)


def test_check_integer_column_accepts_exact_whole_numbers_only():
    def check(values, **kw):
        return check_integer_column(
            pd.Series(values), source="f.csv", column="column 'movieId'", lines=lambda i: i + 2, **kw
        ).tolist()

    # text is parsed exactly: 2**53 + 1 would round to 2**53 through a float
    assert check(["9007199254740993", "10", " 7 ", "10.0", "+3", "0"]) == [2**53 + 1, 10, 7, 10, 3, 0]
    assert check([1.0, 10.0]) == [1, 10]  # whole floats are whole numbers
    assert check(np.array([5, 2**63 - 1], dtype=np.uint64)) == [5, 2**63 - 1]
    assert check(["-5", "3"], minimum=None) == [-5, 3]
    bad = [
        (["1", "99999999999999999999999"], "line 3, column 'movieId': '99999999999999999999999' is too large."),
        (np.array([1, 2**63], dtype=np.uint64), "line 3, column 'movieId': 9223372036854775808 is too large."),
        ([1e19], "line 2, column 'movieId': 1e+19 is too large."),
        (["1", "3.5"], "line 3, column 'movieId': '3.5' is not a whole number."),
        ([1.0, 3.5], "line 3, column 'movieId': 3.5 is not a whole number."),
        (["abc", "def"], "line 2, column 'movieId': 'abc' is not a whole number (2 values in this column are bad)."),
        (["1", ""], "line 3, column 'movieId': the cell is empty."),
        ([1.0, np.nan], "line 3, column 'movieId': the cell is empty."),
        (["1e3"], "line 2, column 'movieId': '1e3' is not a whole number."),
        (["1_000"], "line 2, column 'movieId': '1_000' is not a whole number."),
        (["١٢"], "line 2, column 'movieId': '١٢' is not a whole number."),  # non-ASCII digits
        ([True], "line 2, column 'movieId': True is a boolean, not a whole number."),
        ([3, -1], "line 3, column 'movieId': -1 is negative."),
        (["3", "-1"], "line 3, column 'movieId': '-1' is negative."),
    ]
    for values, message in bad:
        with pytest.raises(ValueError) as err:
            check(values)
        assert str(err.value).startswith("f.csv: " + message), (values, str(err.value))
        assert str(err.value).endswith("Correct or delete that line.")
    with pytest.raises(ValueError, match=r"^f.csv: line 3, column 'movieId': 4 is below 5\."):
        check([5, 4], minimum=5)


def test_check_items_names_both_rows_of_a_repeated_id():
    items = pd.DataFrame({"item_id": [1, 5, 7, 5, 7], "title": list("abcde")})
    with pytest.raises(ValueError) as err:
        check_items(items, "movies.csv", lines=lambda i: i + 2, label="column 'movieId'")
    assert str(err.value) == (
        "movies.csv: line 5, column 'movieId': item 5 appears again; it first appears on line 3 "
        "(2 repeated ids in all). Each item must be listed once: delete one of the two."
    )
    with pytest.raises(
        ValueError,
        match=r"^items: row 3 \(0-based\), column 'item_id': item 5 appears again; it first "
        r"appears on row 1 \(0-based\)",
    ):
        check_items(items, "items")


def test_validate_ratings_empty_and_duplicate_policies():
    with pytest.raises(ValueError, match="no ratings"):
        validate_ratings(_ratings([]), "ratings.csv")
    dup = _ratings([(1, 10, 4.0, 5), (1, 10, 2.0, 9), (2, 10, 3.0, 1)])
    with pytest.raises(ValueError, match="duplicates='last'"):
        validate_ratings(dup, "r")
    last = validate_ratings(dup, "r", duplicates="last")
    assert last.loc[last.user_id == 1, "rating"].tolist() == [2.0]  # the rating at t=9 is the latest
    mean = validate_ratings(dup, "r", duplicates="mean")
    assert mean.loc[mean.user_id == 1, "rating"].tolist() == [3.0]  # (4 + 2) / 2
    assert mean.loc[mean.user_id == 1, "timestamp"].tolist() == [9]


# ------------------------------------------------------------------------------------------ Dataset
def test_dataset_indices_are_contiguous_and_sorted():
    ratings = _ratings([(7, 300, 4.0, 3), (7, 100, 5.0, 1), (3, 300, 2.0, 2)])
    items = pd.DataFrame({"item_id": [100, 200, 300], "title": ["A", "B", "C"], "genres": [["X"], [], ["X", "Y"]]})
    ds = Dataset.from_frames("t", ratings, items)
    assert ds.num_users == 2 and ds.num_items == 3  # item 200 is nobody's, but it has an index
    assert ds.user_ids.tolist() == [3, 7] and ds.item_ids.tolist() == [100, 200, 300]
    # rows sorted by user_idx, then time: user 3 first, then user 7's t=1 (item 100) and t=3 (item 300)
    assert ds.ratings[["user_idx", "item_idx"]].values.tolist() == [[0, 2], [1, 0], [1, 2]]
    assert ds.user_idx(7) == 1 and ds.item_idx([300, 100]).tolist() == [2, 0]
    assert ds.title(2) == "C" and ds.title([0, 1]) == ["A", "B"]
    assert ds.genres == ["X", "Y"]
    assert ds.genre_matrix().tolist() == [[1, 0], [0, 0], [1, 1]]
    with pytest.raises(ValueError, match="user_id 5 is not in data set 't'"):
        ds.user_idx(5)
    s = ds.stats()
    assert s["num_rated_items"] == 2 and s["density"] == pytest.approx(3 / (2 * 2))
    assert "ratings" in ds.summary() and "Dataset(name='t'" in repr(ds)
    # a rating of an item the items table does not list is an error, not a new untitled item
    with pytest.raises(ValueError) as err:
        Dataset.from_frames("t", _ratings([(7, 300, 4.0, 3), (7, 400, 5.0, 1)]), items)
    assert str(err.value).startswith("t: row 1 (0-based), column 'item_id': item 400 is not in t (items table)")
    with pytest.raises(
        ValueError,
        match=r"t \(items table\): row 3 \(0-based\), column 'item_id': item 100 appears again; it first appears on row 0",
    ):
        Dataset.from_frames("t", ratings, pd.concat([items, items.iloc[[0]]], ignore_index=True))
    # without an items table the items are the rated ones, with placeholder titles
    bare = Dataset.from_frames("t", ratings)
    assert bare.item_ids.tolist() == [100, 300] and bare.title(1) == "item 300"


def test_toy_matrix_is_small_and_named():
    toy = toy_matrix()
    assert toy.num_users == 5 and toy.num_items == 6
    assert toy.truth["user_names"][0] == "Alice"
    assert toy.title(0) == "Toy Story (1995)"
    alice = toy.ratings[toy.ratings.user_idx == 0]
    assert dict(zip(alice.item_idx, alice.rating)) == {0: 5, 1: 4, 2: 5, 4: 1}


def test_load_dataset_dispatch():
    assert load_dataset("toy").name == "toy"
    assert load_dataset("synthetic", num_users=50, num_items=60).num_users == 50
    with pytest.raises(ValueError, match="Choose one of: synthetic, toy, ml-latest-small"):
        load_dataset("ml-25m")


# ------------------------------------------------------------------------------------------ synthetic
def test_synthetic_shape_and_determinism():
    a = make_synthetic(200, 300, seed=3)
    b = make_synthetic(200, 300, seed=3)
    c = make_synthetic(200, 300, seed=4)
    pd.testing.assert_frame_equal(a.ratings, b.ratings)
    assert not a.ratings.equals(c.ratings)
    assert a.num_users == 200 and a.num_items == 300
    per_user = a.ratings.groupby("user_idx").size()
    assert per_user.min() >= 20
    assert not a.ratings.duplicated(["user_idx", "item_idx"]).any()
    r = a.ratings["rating"]
    assert r.min() >= 0.5 and r.max() <= 5.0 and np.all((r * 2) == np.round(r * 2))
    t = a.truth
    assert t["user_factors"].shape == (200, 12) and t["item_factors"].shape == (300, 12)
    assert np.allclose(np.linalg.norm(t["item_factors"], axis=1), 1.0)
    assert t["item_popularity"].sum() == pytest.approx(1.0)
    assert all(1 <= len(g) <= 3 for g in a.items["genres"])


def test_synthetic_has_the_planted_structure():
    ds = make_synthetic(400, 600, seed=0)
    t = ds.truth
    u = ds.ratings["user_idx"].to_numpy()
    i = ds.ratings["item_idx"].to_numpy()
    affinity_rated = np.sum(t["user_factors"][u] * t["item_factors"][i], axis=1).mean()
    affinity_all = (t["user_factors"] @ t["item_factors"].T).mean()
    # users pick items that match their taste far more than chance
    assert affinity_rated > 1.5 * affinity_all
    # ratings rise with affinity
    aff = np.sum(t["user_factors"][u] * t["item_factors"][i], axis=1)
    assert np.corrcoef(aff, ds.ratings["rating"])[0, 1] > 0.2
    # popularity has a long tail: the top 10% of items get a large share of ratings
    counts = np.sort(np.bincount(i, minlength=ds.num_items))[::-1]
    assert counts[: ds.num_items // 10].sum() > 0.3 * counts.sum()


def test_synthetic_rows_are_what_from_frames_builds():
    """make_synthetic builds its Dataset directly (no validation pass): the same tables as from_frames."""
    from ncf_helpers.data.dataset import Dataset

    ds = make_synthetic(150, 200, seed=5)
    shuffled = ds.ratings[["user_id", "item_id", "rating", "timestamp"]].sample(frac=1.0, random_state=0)
    ref = Dataset.from_frames("synthetic", shuffled, ds.items[["item_id", "title", "genres"]])
    pd.testing.assert_frame_equal(ref.ratings, ds.ratings)
    pd.testing.assert_frame_equal(ref.items, ds.items)
    assert np.array_equal(ref.user_ids, ds.user_ids) and np.array_equal(ref.item_ids, ds.item_ids)


def _pick_setup(num_users, activity):
    rng = np.random.default_rng(0)
    multi_hot = np.zeros((12, 3), np.float32)
    multi_hot[np.arange(12), np.arange(12) % 3] = 1.0
    multi_hot[0, 1] = 1.0  # one item with two genres
    item_factors = multi_hot / np.linalg.norm(multi_hot, axis=1, keepdims=True)
    taste = np.tile(np.array([[0.7, 0.2, 0.1]], np.float32), (num_users, 1))
    popularity = 1.0 / np.arange(1, 13) ** 1.1
    popularity /= popularity.sum()
    return rng, taste, multi_hot, item_factors, popularity, np.full(num_users, activity)


def test_synthetic_first_pick_follows_popularity_times_taste():
    """One pick per user is drawn with probability popularity * exp(strength * standardised affinity)."""
    from ncf_helpers.data.synthetic import _choose_items

    n = 40_000
    rng, taste, multi_hot, item_factors, popularity, activity = _pick_setup(n, 1)
    u, i, affinity_of = _choose_items(rng, taste, multi_hot, item_factors, popularity, activity, 1.5)
    assert len(u) == n and np.array_equal(u, np.arange(n))
    aff = (taste @ item_factors.T).astype(np.float64)
    w = popularity * np.exp(1.5 * (aff[0] - aff.mean()) / aff.std())
    expected = w / w.sum()
    freq = np.bincount(i, minlength=12) / n
    # 4 binomial standard errors per item
    assert np.all(np.abs(freq - expected) < 4 * np.sqrt(expected * (1 - expected) / n) + 1e-4), (freq, expected)
    np.testing.assert_allclose(affinity_of(u[:50], i[:50]), aff[0, i[:50]], rtol=1e-6)


def test_synthetic_sampled_and_dense_picks_agree(monkeypatch):
    """Draws with replacement keeping first occurrences (light users) and the Gumbel top-k over all items (heavy
    users) pick the same distribution of item sets without replacement."""
    import ncf_helpers.data.synthetic as synthetic

    n = 20_000
    rng, taste, multi_hot, item_factors, popularity, activity = _pick_setup(n, 4)
    u, i, _ = synthetic._choose_items(rng, taste, multi_hot, item_factors, popularity, activity, 1.5)
    monkeypatch.setattr(synthetic, "_DENSE_SHARE", 10**6)  # everybody is "heavy": the exact dense path
    rng, *rest = _pick_setup(n, 4)
    u2, i2, _ = synthetic._choose_items(rng, *rest, 1.5)
    for uu, ii in ((u, i), (u2, i2)):
        assert len(uu) == 4 * n
        assert len(np.unique(uu * 12 + ii)) == 4 * n  # no item twice for a user
    a, b = np.bincount(i, minlength=12) / n, np.bincount(i2, minlength=12) / n  # inclusion probabilities
    se = np.sqrt(a * (1 - a) / n + b * (1 - b) / n) + 1e-4
    assert np.all(np.abs(a - b) < 5 * se), (a, b)


def test_synthetic_rejects_bad_sizes():
    with pytest.raises(ValueError, match="at least 2 users and 10 items"):
        make_synthetic(1, 5)
    with pytest.raises(ValueError, match="num_genres"):
        make_synthetic(10, 50, num_genres=40)


# ------------------------------------------------------------------------------------------ implicit + splits
def test_to_implicit_threshold():
    df = to_implicit(_ratings([(1, 1, 3.5, 0), (1, 2, 3.0, 0), (1, 3, 5.0, 0)]))
    assert df["label"].tolist() == [1, 0, 1]  # 3.5 >= 3.5 counts as liked; 3.0 does not
    with pytest.raises(ValueError, match="'rating'"):
        to_implicit(pd.DataFrame({"x": [1]}))


def _frame(rows):
    return pd.DataFrame(rows, columns=["user_idx", "item_idx", "timestamp"])


def test_leave_last_one_out_by_hand():
    # user 0: items 1 (t=1), 2 (t=5), 3 (t=5)  -> tie at t=5 broken by item_idx: item 3 is "last"
    # user 1: items 4 (t=2), 0 (t=9)           -> item 0 held out
    # user 2: item 2 only                      -> too few positives: stays in train, not evaluated
    df = _frame([(0, 1, 1), (0, 3, 5), (0, 2, 5), (1, 0, 9), (1, 4, 2), (2, 2, 7)])
    split = leave_last_one_out(df, num_negatives=0, num_users=3, num_items=6)
    assert split.test[["user_idx", "item_idx"]].values.tolist() == [[0, 3], [1, 0]]
    assert sorted(map(tuple, split.train[["user_idx", "item_idx"]].values.tolist())) == [(0, 1), (0, 2), (1, 4), (2, 2)]
    assert split.num_skipped_users == 1
    assert split.test_negatives is None

    v = leave_last_one_out(df, num_negatives=0, num_users=3, num_items=6, validation=True)
    # with validation a user needs 3 positives: only user 0 qualifies; item 2 (t=5, lower idx) is second-to-last
    assert v.test[["user_idx", "item_idx"]].values.tolist() == [[0, 3]]
    assert v.valid[["user_idx", "item_idx"]].values.tolist() == [[0, 2]]
    assert v.num_skipped_users == 2


def test_leave_last_one_out_negatives_are_never_positives(synthetic):
    split = leave_last_one_out(synthetic, num_negatives=99, seed=1, threshold=3.5, validation=True)
    keys = split.positive_keys()
    for rows, neg in ((split.test, split.test_negatives), (split.valid, split.valid_negatives)):
        users = rows["user_idx"].to_numpy()
        assert neg.shape == (len(rows), 99)
        assert not np.isin(users[:, None] * split.num_items + neg, keys).any()
        assert all(len(set(r)) == 99 for r in neg)  # no repeats inside one user's list
        assert not np.any(neg == rows["item_idx"].to_numpy()[:, None])
    # only liked items (rating >= 3.5) are positives, and every test item is one of them
    liked = synthetic.ratings[synthetic.ratings.rating >= 3.5]
    liked_keys = set(liked.user_idx * split.num_items + liked.item_idx)
    assert set(split.test.user_idx * split.num_items + split.test.item_idx) <= liked_keys
    # the same seed gives the same negatives; another seed does not
    again = leave_last_one_out(synthetic, num_negatives=99, seed=1, threshold=3.5, validation=True)
    assert np.array_equal(again.test_negatives, split.test_negatives)
    other = leave_last_one_out(synthetic, num_negatives=99, seed=2, threshold=3.5, validation=True)
    assert not np.array_equal(other.test_negatives, split.test_negatives)


def test_leave_last_one_out_errors():
    df = _frame([(0, 1, 1)])
    with pytest.raises(ValueError, match="num_users and num_items"):
        leave_last_one_out(df)
    with pytest.raises(ValueError, match="nothing can be held out"):
        leave_last_one_out(df, num_users=1, num_items=3, num_negatives=0)
    with pytest.raises(ValueError, match=r"item_idx must lie in \[0, 3\)"):
        leave_last_one_out(_frame([(0, 5, 1), (0, 1, 2)]), num_users=1, num_items=3)
    with pytest.raises(ValueError, match="'user_idx' and 'item_idx'"):
        leave_last_one_out(pd.DataFrame({"a": [1]}), num_users=1, num_items=1)
    with pytest.raises(ValueError, match="empty"):
        leave_last_one_out(_frame([]), num_users=1, num_items=1)


@pytest.mark.parametrize("unique", [True, False])
def test_sample_negatives_table_and_binary_search_agree(unique, monkeypatch):
    """The boolean-table lookup (key ranges up to BITMAP_MAX) and the binary search of the sorted keys (larger
    ranges) draw exactly the same negatives from the same generator."""
    from ncf_helpers.data import splits

    rng = np.random.default_rng(3)
    num_users, num_items = 200, 300
    keys = np.unique(rng.integers(0, num_users * num_items, 20_000))
    users = rng.integers(0, num_users, 5_000)
    table = sample_negatives(users, 4, num_items, keys, rng=11, unique=unique)
    monkeypatch.setattr(splits, "BITMAP_MAX", 0)
    search = sample_negatives(users, 4, num_items, keys, rng=11, unique=unique)
    assert np.array_equal(table, search)
    assert not np.isin(users[:, None] * num_items + table, keys).any()


def test_sample_negatives_brute_force():
    rng = np.random.default_rng(0)
    num_users, num_items = 30, 40
    pos = {(u, i) for u in range(num_users) for i in rng.choice(num_items, rng.integers(1, 30), replace=False)}
    keys = np.unique([u * num_items + i for u, i in pos])
    users = np.repeat(np.arange(num_users), 2)
    neg = sample_negatives(users, 10, num_items, keys, rng=5)
    assert neg.shape == (60, 10)
    for u, row in zip(users, neg):
        assert len(set(row)) == 10
        assert all((u, i) not in pos for i in row)
        assert all(0 <= i < num_items for i in row)
    assert np.array_equal(neg, sample_negatives(users, 10, num_items, keys, rng=5))
    # a user with only 5 free items cannot get 10 distinct negatives ...
    full = np.array([0 * num_items + i for i in range(35)])
    with pytest.raises(ValueError, match="only 5 items left"):
        sample_negatives([0], 10, num_items, full, rng=0)
    # ... but can get 10 training negatives with repeats, all among the 5 free items
    train_neg = sample_negatives([0], 10, num_items, full, rng=0, unique=False)
    assert set(train_neg[0]) <= set(range(35, 40))
    # negatives are spread over the free items (uniform): every free item appears
    many = sample_negatives(np.zeros(2000, int), 1, num_items, full, rng=1, unique=False)
    assert set(many[:, 0]) == set(range(35, 40))


def test_random_split_keeps_columns(synthetic):
    split = random_split(
        to_implicit(synthetic.ratings), 0.2, seed=0, num_users=synthetic.num_users, num_items=synthetic.num_items
    )
    assert {"rating", "label"} <= set(split.test.columns)
    assert len(split.train) + len(split.test) == synthetic.num_ratings
    assert abs(len(split.test) / synthetic.num_ratings - 0.2) < 0.02
    assert split.test_negatives is None and split.protocol == "random"
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        random_split(synthetic, 1.0)


# ------------------------------------------------------------------------------------------ checks
def test_check_indices_and_k():
    u, i = check_indices(2, [0, 1, 2], num_users=3, num_items=3)
    assert u.tolist() == [2, 2, 2] and i.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match=r"user_idx 3 is outside \[0, 3\)"):
        check_indices([3], [0], 3, 3)
    with pytest.raises(ValueError, match="same length"):
        check_indices([0, 1], [0, 1, 2], 3, 3)
    with pytest.raises(ValueError, match="integer indices"):
        check_indices(["a"], [0], 3, 3)
    assert check_k(10) == 10
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="positive whole number"):
            check_k(bad)


def test_train_positives_and_keys_by_hand():
    import pandas as pd

    from ncf_helpers.data import Split, positives

    # 3 items; training rows (user, item, label): (0, 2, 1), (1, 0, 0), (1, 1, 1), (0, 2, 1) again
    # positives: (0, 2), (1, 1), (0, 2); keys user * 3 + item: 2, 4, 2 -> unique sorted [2, 4]
    train = pd.DataFrame({"user_idx": [0, 1, 1, 0], "item_idx": [2, 0, 1, 2], "label": [1, 0, 1, 1]})
    test = pd.DataFrame({"user_idx": [0], "item_idx": [1], "label": [1]})
    split = Split(train=train, test=test, num_users=2, num_items=3)
    assert split.train_positives()[["user_idx", "item_idx"]].values.tolist() == [[0, 2], [1, 1], [0, 2]]
    assert split.train_keys().tolist() == [2, 4]
    assert split.positive_keys().tolist() == [1, 2, 4]  # + the test positive (0, 1): key 1
    unlabelled = train.drop(columns="label")
    assert len(positives(unlabelled)) == 4  # an unlabelled table holds positives only
