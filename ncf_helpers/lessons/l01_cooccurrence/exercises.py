"""Checks for lesson 01 (the co-occurrence matrix). Each check calls the learner's function on small inputs it
builds itself and compares with a reference; the message says what was expected, what came back, and a hint.

* 1.1 :func:`check_density` - ``density_of(matrix)``: share of filled cells.
* 1.2 :func:`check_positive_share` - ``positive_share(ratings, threshold)``: share of ratings kept as likes.
* 1.3 :func:`check_top_share` - ``top_share(counts, fraction)``: the head of the long tail.
* 1.4 :func:`check_cooccurrence` - ``cooccurrence_of(binary)``: item x item counts.
* 1.5 :func:`check_item_jaccard` - ``item_jaccard(binary, i, j)``: overlap of two items' audiences.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ncf_helpers.checks import ExerciseIncorrect, exercise, expect, expect_close
from ncf_helpers.checks import number as _number

__all__ = ["check_cooccurrence", "check_density", "check_item_jaccard", "check_positive_share", "check_top_share"]


# 3 users x 4 items, 5 filled cells -> density 5 / 12
_SMALL = sp.csr_matrix(np.array([[1, 0, 0, 1], [0, 1, 0, 0], [1, 0, 1, 0]], dtype=np.float32))
# 2 users x 5 items, 3 filled cells -> 3 / 10
_WIDE = sp.csr_matrix(np.array([[0, 4.5, 0, 0, 3], [0, 0, 0, 1, 0]], dtype=np.float32))


@exercise("1.1", "density of the user x item matrix")
def check_density(density_of):
    """``density_of(matrix)`` must return ``nnz / (num_users * num_items)``, a float in ``[0, 1]``."""
    for m, expected in ((_SMALL, 5 / 12), (_WIDE, 3 / 10)):
        got = _number(density_of(m.copy()), f"density_of(a {m.shape[0]} x {m.shape[1]} matrix with {m.nnz} ratings)")
        if np.isclose(got, 1 - expected):
            raise ExerciseIncorrect(
                f"for a {m.shape} matrix with {m.nnz} ratings you returned {got:.4f} = 1 - density: that is the "
                "sparsity (share of EMPTY cells). Return the share of filled cells."
            )
        if np.isclose(got, m.nnz):
            raise ExerciseIncorrect(
                f"you returned {got:g}, the number of ratings; divide it by the number of cells "
                "(matrix.shape[0] * matrix.shape[1])."
            )
        expect_close(
            got,
            expected,
            f"density_of(a {m.shape[0]} x {m.shape[1]} matrix with {m.nnz} ratings)",
            hint="Count the filled cells (matrix.nnz) and divide by rows x columns.",
        )
    return "A density of 1.7% means 98.3% of the cells are unknown."


@exercise("1.2", "share of ratings that become positives")
def check_positive_share(positive_share):
    """``positive_share(ratings, threshold)``: share of rows with ``rating >= threshold``, float in ``[0, 1]``."""
    ratings = pd.DataFrame(
        {"user_idx": [0, 0, 1, 1, 2], "item_idx": [0, 1, 0, 2, 1], "rating": [5.0, 3.5, 3.0, 1.0, 4.0]}
    )
    # 5, 3.5 and 4 are >= 3.5: 3 of 5 rows
    got = _number(positive_share(ratings.copy(), 3.5), "positive_share(ratings 5, 3.5, 3, 1, 4; threshold 3.5)")
    if np.isclose(got, 2 / 5):
        raise ExerciseIncorrect(
            "for ratings 5, 3.5, 3, 1, 4 and threshold 3.5 you returned 0.4; the expected answer "
            "is 0.6. A rating EQUAL to the threshold counts as a positive: use >=, not >."
        )
    expect_close(
        got,
        3 / 5,
        "positive_share(ratings 5, 3.5, 3, 1, 4; threshold 3.5)",
        hint="Compare the 'rating' column with the threshold and take the mean of the True/False values.",
    )
    got = _number(positive_share(ratings.copy(), 4.5), "positive_share(same ratings, threshold 4.5)")
    expect_close(
        got, 1 / 5, "positive_share(same ratings, threshold 4.5)", hint="Use the threshold argument, not a fixed 3.5."
    )
    return None


@exercise("1.3", "the head of the long tail")
def check_top_share(top_share):
    """``top_share(counts, fraction)``: share of all interactions held by the ``round(fraction * n)`` most
    popular items, float in ``[0, 1]``."""
    counts = np.array([1, 10, 0, 3, 0, 5, 1, 0, 0, 0])  # total 20; top 2 (10 and 5) hold 15
    got = _number(top_share(counts.copy(), 0.2), "top_share([1, 10, 0, 3, 0, 5, 1, 0, 0, 0], 0.2)")
    if np.isclose(got, 11 / 20):
        raise ExerciseIncorrect(
            "you returned 0.55: that is the share of the FIRST two items in the array, not of the "
            "two most popular ones. Sort the counts in decreasing order first."
        )
    expect_close(
        got,
        15 / 20,
        "top_share([1, 10, 0, 3, 0, 5, 1, 0, 0, 0], 0.2)",
        hint="Sort the counts in decreasing order, sum the first round(0.2 * 10) = 2, divide by the total.",
    )
    counts = np.array([4, 4, 0, 2, 6, 1, 1, 2])  # total 20; top 2 of 8 (6 and 4) hold 10
    got = _number(top_share(counts.copy(), 0.25), "top_share([4, 4, 0, 2, 6, 1, 1, 2], 0.25)")
    expect_close(
        got,
        10 / 20,
        "top_share([4, 4, 0, 2, 6, 1, 1, 2], 0.25)",
        hint="Use len(counts) and the fraction argument: round(0.25 * 8) = 2 items.",
    )
    return None


@exercise("1.4", "item x item co-occurrence")
def check_cooccurrence(cooccurrence_of):
    """``cooccurrence_of(binary)``: ``[num_items, num_items]`` counts of users who interacted with both items
    (the diagonal holds each item's popularity) from a binary ``[num_users, num_items]`` numpy array."""
    b = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 1, 0]])  # 4 users x 3 items
    # item 0 and item 1: users 0 and 2 -> 2; item 0 and 2: users 1, 2 -> 2; item 1 and 2: user 2 -> 1
    expected = np.array([[3, 2, 2], [2, 3, 1], [2, 1, 2]])
    got = cooccurrence_of(b.copy())
    if got is not None and sp.issparse(got):
        got = got.toarray()
    if got is not None and np.shape(got) == (4, 4):
        raise ExerciseIncorrect(
            "you returned a 4 x 4 matrix for 4 users x 3 items: that compares USERS (B @ B.T). "
            "Items are the columns: compare columns, B.T @ B."
        )
    expect_close(
        got,
        expected,
        "cooccurrence_of(a 4 x 3 binary matrix)",
        hint="Entry (i, j) counts the users with a 1 in both column i and column j: that is B.T @ B.",
    )
    return "The diagonal is each item's popularity; the off-diagonal cells are 'liked both'."


@exercise("1.5", "Jaccard overlap of two items")
def check_item_jaccard(item_jaccard):
    """``item_jaccard(binary, i, j)``: users who liked both items / users who liked either, float in ``[0, 1]``
    (0 when nobody liked either)."""
    b = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 1, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    cases = [
        ((0, 1), 2 / 4),  # both: users 0, 2; either: users 0, 1, 2, 3
        ((0, 2), 2 / 4),  # both: users 1, 2; either: 0, 1, 2, 4
        ((1, 2), 1 / 5),  # both: user 2; either: 0, 1, 2, 3, 4
        ((0, 3), 0.0),  # item 3: nobody -> 0 / 3
    ]
    for (i, j), expected in cases:
        got = _number(item_jaccard(b.copy(), i, j), f"item_jaccard(B, {i}, {j})")
        both = int(np.sum((b[:, i] > 0) & (b[:, j] > 0)))
        if both and np.isclose(got, 1.0) and not np.isclose(expected, 1.0):
            raise ExerciseIncorrect(
                f"item_jaccard(B, {i}, {j}) returned 1.0, but only {both} users liked both items "
                "and more liked one of them. Divide by the users who liked EITHER item (the "
                "union), not by the overlap."
            )
        if both and np.isclose(got, both / b.shape[0]) and not np.isclose(expected, both / b.shape[0]):
            raise ExerciseIncorrect(
                f"item_jaccard(B, {i}, {j}) returned {got:.4g} = {both} / {b.shape[0]}: you divided "
                "by ALL users. Divide by the users who liked either item (the union)."
            )
        expect_close(
            got,
            expected,
            f"item_jaccard(B, {i}, {j})",
            hint="both = number of rows with a 1 in column i AND column j; either = rows with a 1 in i OR j.",
        )
    got = _number(item_jaccard(np.zeros((3, 2), dtype=int), 0, 1), "item_jaccard(an all-zero matrix, 0, 1)")
    expect(
        np.isclose(got, 0.0) and np.isfinite(got),
        f"item_jaccard(an all-zero matrix, 0, 1): expected 0 (nobody liked either item), got {got}. Return 0 "
        "when the union is empty instead of dividing by zero.",
    )
    return None
