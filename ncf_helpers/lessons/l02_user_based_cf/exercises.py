"""Checks for lesson 02 (user-based CF and evaluation).

* 2.1 :func:`check_cosine` - ``cosine(a, b)`` of two rating vectors.
* 2.2 :func:`check_hit_and_ndcg` - ``hit_and_ndcg(rank, k)`` for one held-out item.
* 2.3 :func:`check_rank_of_held_out` - ``rank_of_held_out(scores)``: where the held-out item lands.
* 2.4 :func:`check_user_cf_score` - ``user_cf_score(sims, interactions, user, item, k)``.
* 2.5 :func:`check_pearson` - ``pearson(a, b)`` centred on each user's own mean.
"""

from __future__ import annotations

import numpy as np

from ncf_helpers.checks import ExerciseIncorrect, exercise, expect, expect_close
from ncf_helpers.checks import number as _number

__all__ = ["check_cosine", "check_hit_and_ndcg", "check_pearson", "check_rank_of_held_out", "check_user_cf_score"]


@exercise("2.1", "cosine similarity")
def check_cosine(cosine):
    """``cosine(a, b)`` = ``a . b / (|a| |b|)`` for 1-D arrays, 0 when either vector is all zeros."""
    a, b = np.array([5.0, 3.0, 0.0]), np.array([4.0, 0.0, 2.0])
    # a . b = 5*4 + 3*0 + 0*2 = 20; |a| = sqrt(34); |b| = sqrt(20); 20 / sqrt(680) = 0.76696
    got = _number(cosine(a.copy(), b.copy()), "cosine([5, 3, 0], [4, 0, 2])")
    if np.isclose(got, 20.0):
        raise ExerciseIncorrect(
            "cosine([5, 3, 0], [4, 0, 2]) returned 20, the dot product. Divide it by the two "
            "lengths, np.linalg.norm(a) * np.linalg.norm(b)."
        )
    expect_close(
        got,
        20 / np.sqrt(34 * 20),
        "cosine([5, 3, 0], [4, 0, 2])",
        rtol=1e-6,
        hint="a . b = 20, |a| = sqrt(34), |b| = sqrt(20).",
    )
    got = _number(cosine(np.array([1.0, 2.0]), np.array([2.0, 4.0])), "cosine([1, 2], [2, 4])")
    expect_close(
        got,
        1.0,
        "cosine([1, 2], [2, 4]) (same direction)",
        rtol=1e-6,
        hint="Vectors pointing the same way have cosine 1, whatever their lengths.",
    )
    with np.errstate(all="ignore"):
        got = cosine(np.zeros(3), np.array([1.0, 2.0, 3.0]))
    got = _number(got, "cosine([0, 0, 0], [1, 2, 3])")
    expect(
        np.isfinite(got) and np.isclose(got, 0.0),
        f"cosine([0, 0, 0], [1, 2, 3]) returned {got}; a user who rated nothing has similarity 0 to everybody. "
        "Return 0.0 when either length is 0 instead of dividing by zero.",
    )
    return None


@exercise("2.2", "HR@K and NDCG@K of one held-out item")
def check_hit_and_ndcg(hit_and_ndcg):
    """``hit_and_ndcg(rank, k=10)`` with ``rank`` 1-based (1 = top): ``(hr, ndcg)``; ``hr = 1`` if
    ``rank <= k`` else 0, ``ndcg = 1 / log2(rank + 1)`` if ``rank <= k`` else 0."""
    cases = [
        ((1, 10), (1.0, 1.0)),  # top of the list: 1 / log2(2) = 1
        ((3, 10), (1.0, 0.5)),  # 1 / log2(4) = 0.5
        ((10, 10), (1.0, 1 / np.log2(11))),  # last place inside the top 10: 0.289
        ((11, 10), (0.0, 0.0)),  # just outside
        ((4, 3), (0.0, 0.0)),  # k matters
    ]
    for (rank, k), (hr, ndcg) in cases:
        got = hit_and_ndcg(rank, k)
        if got is None or np.ndim(got) != 1 or len(got) != 2:
            raise ExerciseIncorrect(f"hit_and_ndcg({rank}, {k}) must return a pair (hr, ndcg); got {got!r}.")
        g_hr, g_ndcg = _number(got[0], "hr"), _number(got[1], "ndcg")
        if (rank, k) == (3, 10) and np.isclose(g_ndcg, 1 / np.log2(5)):
            raise ExerciseIncorrect(
                "hit_and_ndcg(3, 10) gave ndcg = 1/log2(5) = 0.431; with a 1-based rank the "
                "discount is 1 / log2(rank + 1) = 1/log2(4) = 0.5 (rank 1 -> 1/log2(2) = 1)."
            )
        expect_close(g_hr, hr, f"hr of hit_and_ndcg({rank}, {k})", hint="A hit means rank <= k.")
        expect_close(
            g_ndcg,
            ndcg,
            f"ndcg of hit_and_ndcg({rank}, {k})",
            hint="ndcg = 1 / log2(rank + 1) inside the top k, 0 outside.",
        )
    return "With one relevant item, the 'ideal' DCG is 1, so NDCG is just the discount."


@exercise("2.3", "rank of the held-out item")
def check_rank_of_held_out(rank_of_held_out):
    """``rank_of_held_out(scores)``: ``scores[0]`` is the held-out item, the rest its negatives; return the
    1-based rank = 1 + number of negatives scoring strictly higher (ties count in the item's favour)."""
    cases = [
        (np.array([0.9, 0.1, 0.5, 0.3]), 1),
        (np.array([0.4, 0.1, 0.5, 0.9, 0.3]), 3),  # 0.5 and 0.9 beat 0.4
        (np.array([0.0, 0.0, 0.0, 0.2]), 2),  # ties with two negatives: only 0.2 beats it
    ]
    for scores, expected in cases:
        got = rank_of_held_out(scores.copy())
        what = f"rank_of_held_out({scores.tolist()})"
        g = _number(got, what)
        if np.isclose(g, expected - 1):
            raise ExerciseIncorrect(f"{what} returned {g:g}, a 0-based rank. Count from 1: the best item has rank 1.")
        expect_close(g, expected, what, hint="1 + (number of scores[1:] strictly greater than scores[0]).")
    return None


@exercise("2.4", "a user-based CF score")
def check_user_cf_score(user_cf_score):
    """``user_cf_score(sims, interactions, user, item, k)``: the sum, over the ``k`` users most similar to
    ``user`` (never ``user`` itself), of ``sims[user, v] * interactions[v, item]``."""
    sims = np.array(
        [
            [1.0, 0.9, 0.5, 0.1],
            [0.9, 1.0, 0.2, 0.3],
            [0.5, 0.2, 1.0, 0.8],
            [0.1, 0.3, 0.8, 1.0],
        ]
    )
    inter = np.array(
        [  # 4 users x 3 items, binary
            [1, 0, 0],
            [1, 1, 0],
            [0, 1, 1],
            [0, 1, 1],
        ]
    )
    cases = [
        # user 0, k = 2: neighbours 1 (0.9) and 2 (0.5); item 1 liked by both -> 1.4
        ((0, 1, 2), 1.4),
        # user 0, k = 1: only neighbour 1 -> item 2 not liked by user 1 -> 0
        ((0, 2, 1), 0.0),
        # user 3, k = 2: neighbours 2 (0.8) and 1 (0.3); item 1 liked by both -> 1.1
        ((3, 1, 2), 1.1),
        # user 3, k = 3: neighbours 2, 1, 0 (0.1); item 0 liked by users 1 and 0 -> 0.3 + 0.1 = 0.4
        ((3, 0, 3), 0.4),
    ]
    for (u, i, k), expected in cases:
        what = f"user_cf_score(sims, interactions, user={u}, item={i}, k={k})"
        got = _number(user_cf_score(sims.copy(), inter.copy(), u, i, k), what)
        if (u, i, k) == (0, 1, 2) and np.isclose(got, 0.9):
            raise ExerciseIncorrect(
                f"{what} returned 0.9: user 0 counted as their own neighbour (sims[0, 0] = 1), "
                "which pushed user 2 out of the top 2. "
                "Leave the user out before picking the k most similar."
            )
        expect_close(
            got,
            expected,
            what,
            hint="Sort the OTHER users by sims[user] (largest first), keep k, and add up sims[user, v] for "
            "those v with interactions[v, item] == 1.",
        )
    return None


@exercise("2.5", "Pearson similarity")
def check_pearson(pearson):
    """``pearson(a, b)``: centre each vector on the mean of ITS OWN rated (non-zero) entries, leave unrated
    entries at 0, then take the cosine; 0 if either centred vector is all zeros."""
    alice = np.array([5.0, 4.0, 5.0, 0.0, 1.0, 0.0])
    bob = np.array([4.0, 5.0, 0.0, 1.0, 0.0, 2.0])
    # Alice's mean over her 4 ratings = 3.75 -> [1.25, 0.25, 1.25, 0, -2.75, 0]
    # Bob's mean = 3 -> [1, 2, 0, -2, 0, -1]; dot = 1.25 + 0.5 = 1.75; |a| = sqrt(10.75), |b| = sqrt(10)
    expected = 1.75 / np.sqrt(10.75 * 10)
    got = _number(pearson(alice.copy(), bob.copy()), "pearson(Alice, Bob) from the toy matrix")
    wrong_mean = alice - alice.mean(), bob - bob.mean()
    if np.isclose(got, wrong_mean[0] @ wrong_mean[1] / np.linalg.norm(wrong_mean[0]) / np.linalg.norm(wrong_mean[1])):
        raise ExerciseIncorrect(
            "you centred on the mean over ALL six entries, counting 'not rated' as 0 stars. Use "
            "the mean of the rated entries only (a[a != 0].mean()) and leave unrated cells at 0."
        )
    expect_close(
        got,
        expected,
        "pearson(Alice, Bob) from the toy matrix",
        rtol=1e-6,
        hint="Alice's mean over her 4 ratings is 3.75, Bob's is 3; subtract only where rated, then cosine.",
    )
    with np.errstate(all="ignore"):
        got = pearson(np.array([3.0, 3.0, 0.0]), np.array([1.0, 5.0, 2.0]))
    got = _number(got, "pearson([3, 3, 0], [1, 5, 2])")
    expect(
        np.isfinite(got) and np.isclose(got, 0.0),
        f"pearson([3, 3, 0], [1, 5, 2]) returned {got}: a user who gives every film the same rating centres to all "
        "zeros and has no direction. Return 0.0 in that case.",
    )
    return None
