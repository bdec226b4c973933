"""Checks for lesson 06 (comparing every model, and the evaluation protocol).

* 6.1 :func:`check_random_hit_rate` - ``random_hit_rate(num_negatives, k)``: HR@k of random guessing.
* 6.2 :func:`check_hr_with_negatives` - ``hr_with_negatives(target, negatives, n, k)``: HR@k against only the
  first ``n`` sampled negatives.
* 6.3 :func:`check_mean_and_spread` - ``mean_and_spread(results)``: mean and standard deviation over seeds.
* 6.4 :func:`check_discordant_pairs` - ``discordant_pairs(a, b)``: pairs of models two protocols order
  differently.
* 6.5 :func:`check_paired_comparison` - ``paired_comparison(hits_a, hits_b)``: the difference of two models over
  the same users and seeds, with a paired 95% interval, and whether it is noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ncf_helpers.checks import ExerciseIncorrect, exercise, expect, expect_close
from ncf_helpers.checks import number as _number

__all__ = [
    "check_discordant_pairs",
    "check_hr_with_negatives",
    "check_mean_and_spread",
    "check_paired_comparison",
    "check_random_hit_rate",
]


@exercise("6.1", "HR@k of random guessing")
def check_random_hit_rate(random_hit_rate):
    """``random_hit_rate(num_negatives, k)``: the chance that the held-out item lands in the top ``k`` of
    ``1 + num_negatives`` candidates in random order: ``min(1, k / (num_negatives + 1))``."""
    # 99 negatives: 100 candidates, 10 of the places are hits -> 10 / 100 = 0.1
    got = _number(random_hit_rate(99, 10), "random_hit_rate(99, 10)")
    if np.isclose(got, 10 / 99):
        raise ExerciseIncorrect(
            "random_hit_rate(99, 10) returned 10/99: the held-out item is a candidate too, so "
            "there are 99 + 1 = 100 places: 10 / 100 = 0.1."
        )
    expect_close(got, 0.1, "random_hit_rate(99, 10)", hint="k good places out of num_negatives + 1.")
    # 4 negatives: 5 candidates, all of them fit in a top 10 -> 1
    got = _number(random_hit_rate(4, 10), "random_hit_rate(4, 10)")
    expect_close(
        got,
        1.0,
        "random_hit_rate(4, 10)",
        hint="With 5 candidates a top 10 holds all of them: a hit rate cannot exceed 1.",
    )
    expect_close(_number(random_hit_rate(9, 10), "random_hit_rate(9, 10)"), 1.0, "random_hit_rate(9, 10)")
    expect_close(_number(random_hit_rate(999, 10), "random_hit_rate(999, 10)"), 0.01, "random_hit_rate(999, 10)")
    expect_close(_number(random_hit_rate(19, 5), "random_hit_rate(19, 5)"), 0.25, "random_hit_rate(19, 5)")
    return "With 9 negatives or fewer EVERY model scores HR@10 = 1: the number of negatives is part of the metric."


@exercise("6.2", "HR@k with the first n negatives")
def check_hr_with_negatives(hr_with_negatives):
    """``hr_with_negatives(target, negatives, n, k)``: ``target [users]`` is the held-out item's score,
    ``negatives [users, N]`` its sampled negatives' scores. Rank each held-out item against its FIRST ``n``
    negatives only; it is a hit if fewer than ``k`` of them score strictly higher. Return the mean (float)."""
    target = np.array([0.9, 0.5, 0.2])
    negatives = np.array(
        [
            [0.1, 0.95, 0.3, 0.99],  # user 0: with n=2, one negative (0.95) beats 0.9
            [0.6, 0.7, 0.8, 0.1],  # user 1: with n=2, two (0.6, 0.7) beat 0.5
            [0.1, 0.0, 0.5, 0.6],
        ]
    )  # user 2: with n=2, none beats 0.2
    # k=2, n=2: beaten by 1, 2, 0 -> hits 1, 0, 1 -> 2/3
    got = _number(hr_with_negatives(target.copy(), negatives.copy(), 2, 2), "hr_with_negatives(t, N, n=2, k=2)")
    if np.isclose(got, 0.0):
        raise ExerciseIncorrect(
            "hr_with_negatives(t, N, n=2, k=2) returned 0, what all 4 negatives give. Use only "
            "the first n columns: negatives[:, :n]."
        )
    if np.isclose(got, 1.0):
        raise ExerciseIncorrect(
            "hr_with_negatives(t, N, n=2, k=2) returned 1: user 1's item is beaten by 2 "
            "negatives, so it is 3rd, outside a top 2. A hit needs FEWER than k higher negatives."
        )
    expect_close(
        got,
        2 / 3,
        "hr_with_negatives(t, N, n=2, k=2)",
        hint="Beaten by 1, 2 and 0 negatives; a hit needs fewer than k=2: hits 1, 0, 1.",
    )
    # ties: a negative with exactly the held-out item's score does not beat it (ties count in the item's favour,
    # as in lesson 02's rank_of_held_out). User 0 ties with two negatives and is beaten by one: rank 2, a hit at
    # k=2; user 1 ties with all three: rank 1, a hit at k=1.
    tie_t = np.array([0.5, 0.25])
    tie_n = np.array([[0.5, 0.5, 0.75], [0.25, 0.25, 0.25]])
    got = _number(hr_with_negatives(tie_t.copy(), tie_n.copy(), 3, 2), "hr_with_negatives(tied scores, n=3, k=2)")
    if np.isclose(got, 0.0):
        raise ExerciseIncorrect(
            "hr_with_negatives with tied scores (n=3, k=2) returned 0: you counted negatives "
            "with the SAME score as beating the held-out item (>=). Only strictly higher "
            "scores beat it (>): ties count in its favour, as in lesson 02."
        )
    expect_close(
        got,
        1.0,
        "hr_with_negatives(target [0.5, 0.25], negatives [[0.5, 0.5, 0.75], [0.25, 0.25, 0.25]], n=3, k=2)",
        hint="Count negatives[:, :n] > target[:, None] (strictly greater).",
    )
    got = _number(hr_with_negatives(tie_t, tie_n, 3, 1), "hr_with_negatives(tied scores, n=3, k=1)")
    expect_close(
        got,
        0.5,
        "hr_with_negatives(tied scores, n=3, k=1)",
        hint="User 0 is beaten by one negative (0.75), so not a hit at k=1; user 1 by none.",
    )
    # k=2, n=4: beaten by 2, 3, 2 -> no hits
    expect_close(
        _number(hr_with_negatives(target, negatives, 4, 2), "n=4, k=2"),
        0.0,
        "hr_with_negatives(t, N, n=4, k=2)",
        hint="With all 4 negatives each user's item is beaten by at least 2.",
    )
    # k=1, n=1: beaten by 0, 1, 0 -> 2/3
    expect_close(
        _number(hr_with_negatives(target, negatives, 1, 1), "n=1, k=1"), 2 / 3, "hr_with_negatives(t, N, n=1, k=1)"
    )
    rng = np.random.default_rng(3)
    t, neg = rng.random(200), rng.random((200, 50))
    want = float(np.mean((neg[:, :20] > t[:, None]).sum(axis=1) < 10))
    expect_close(
        _number(hr_with_negatives(t, neg, 20, 10), "random case"),
        want,
        "hr_with_negatives on 200 random users (n=20, k=10)",
    )
    return "More negatives can only lower each user's hit: the curve of lesson 06 always goes down."


@exercise("6.3", "mean and spread over seeds")
def check_mean_and_spread(mean_and_spread):
    """``mean_and_spread(results)``: ``results`` has columns ``model, seed, hr@10``; return a DataFrame indexed by
    model with columns ``mean`` and ``std`` (sample standard deviation over seeds, ``ddof=1``), best mean first."""
    results = pd.DataFrame(
        {
            "model": ["A", "A", "A", "B", "B", "B"],
            "seed": [0, 1, 2, 0, 1, 2],
            "hr@10": [0.60, 0.62, 0.64, 0.70, 0.70, 0.70],
        }
    )
    got = mean_and_spread(results.copy())
    if got is None or not isinstance(got, pd.DataFrame):
        raise ExerciseIncorrect(f"mean_and_spread must return a DataFrame, got {type(got).__name__}.")
    missing = [c for c in ("mean", "std") if c not in got.columns]
    expect(not missing, f"The DataFrame needs columns 'mean' and 'std'; it has {list(got.columns)}.")
    expect(
        list(got.index) == ["B", "A"],
        f"Expected the models best first, ['B', 'A'], got {list(got.index)}. Sort by the mean, descending.",
    )
    # A: mean 0.62; deviations -0.02, 0, 0.02 -> sum of squares 0.0008 / (3 - 1) = 0.0004 -> std 0.02
    if np.isclose(float(got.loc["A", "std"]), np.sqrt(0.0008 / 3)):
        raise ExerciseIncorrect(
            "std of A is 0.0163, the population std (ddof=0). Over a few seeds use the sample "
            "std (ddof=1, pandas' default): 0.02."
        )
    expect_close(got.loc["A", "mean"], 0.62, "mean of model A")
    expect_close(got.loc["A", "std"], 0.02, "std of model A", hint="Sample std over the three seeds (ddof=1).")
    expect_close(got.loc["B", "std"], 0.0, "std of model B (the same value every seed)")
    return "Report both: a difference smaller than the spread over seeds is not a difference."


@exercise("6.4", "discordant pairs")
def check_discordant_pairs(discordant_pairs):
    """``discordant_pairs(a, b)``: ``a`` and ``b`` are 1-D arrays of the same models' scores under two protocols;
    count the pairs of models ``(i, j)``, ``i < j``, that one protocol orders one way and the other the opposite
    way (pairs tied under either protocol do not count)."""
    # models 0, 1, 2: a orders 2 > 1 > 0, b orders 2 > 0 > 1: only the pair (0, 1) flips -> 1
    got = discordant_pairs(np.array([0.5, 0.6, 0.7]), np.array([0.06, 0.05, 0.08]))
    expect(got is not None, "discordant_pairs returned None. Did you forget a `return`?")
    if np.isclose(_number(got, "discordant_pairs"), 2):
        raise ExerciseIncorrect(
            "discordant_pairs([0.5, 0.6, 0.7], [0.06, 0.05, 0.08]) returned 2: count each "
            "unordered pair once (i < j). Only models 0 and 1 swap places."
        )
    expect_close(
        _number(got, "discordant_pairs"),
        1,
        "discordant_pairs([0.5, 0.6, 0.7], [0.06, 0.05, 0.08])",
        hint="Compare every pair i < j: is sign(a[i] - a[j]) the opposite of sign(b[i] - b[j])?",
    )
    expect_close(
        _number(discordant_pairs(np.array([1.0, 2.0, 3.0, 4.0]), np.array([4.0, 3.0, 2.0, 1.0])), "x"),
        6,
        "discordant_pairs of a fully reversed order of 4 models",
        hint="All 4 * 3 / 2 = 6 pairs flip.",
    )
    expect_close(
        _number(discordant_pairs(np.array([1.0, 1.0, 2.0]), np.array([2.0, 1.0, 3.0])), "x"),
        0,
        "discordant_pairs([1, 1, 2], [2, 1, 3])",
        hint="A pair tied under one protocol is not discordant.",
    )
    rng = np.random.default_rng(1)
    a, b = rng.random(9), rng.random(9)
    i, j = np.triu_indices(9, 1)
    want = int(np.sum(np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]) < 0))
    expect_close(_number(discordant_pairs(a, b), "random case"), want, "discordant_pairs on 9 random models")
    return "Kendall's tau is (concordant - discordant) / pairs: 1 when two protocols agree on every pair."


def _paired(a: np.ndarray, b: np.ndarray):
    d = (a - b).mean(axis=0)  # each user's difference, averaged over the seeds: [num_users]
    mean = float(d.mean())
    half = 1.96 * float(d.std(ddof=1)) / np.sqrt(len(d))
    return mean, mean - half, mean + half, bool(mean - half <= 0 <= mean + half)


def _four(value, what: str):
    if value is None:
        raise ExerciseIncorrect(f"{what}: your function returned None. Did you forget a `return`?")
    try:
        diff, low, high, noise = value
    except (TypeError, ValueError):
        raise ExerciseIncorrect(
            f"{what} must return four values (difference, low, high, is_noise); got {value!r}."
        ) from None
    return _number(diff, what + " difference"), _number(low, what + " low"), _number(high, what + " high"), noise


@exercise("6.5", "paired comparison over users and seeds")
def check_paired_comparison(paired_comparison):
    """``paired_comparison(hits_a, hits_b)``: ``hits_a``, ``hits_b`` float ``[num_seeds, num_users]`` (HR@10 of
    each test user, 0 or 1, for each training seed) of two models on the SAME users. Average each user's
    difference ``a - b`` over the seeds, then return ``(difference, low, high, is_noise)``: the mean over users,
    the 95% interval ``mean -+ 1.96 * std(ddof=1) / sqrt(num_users)`` of those per-user differences, and
    whether the interval contains 0."""
    rng = np.random.default_rng(7)
    num_seeds, num_users = 3, 400
    # the two models agree on most users (hits are strongly correlated), B misses a few users A gets right
    base = (rng.random(num_users) < 0.6).astype(float)
    hits_a = np.repeat(base[None, :], num_seeds, axis=0)
    hits_b = hits_a.copy()
    flips = rng.choice(np.flatnonzero(base == 1), size=30, replace=False)
    hits_b[:, flips] = 0.0  # B loses 30 users on every seed ...
    gains = rng.choice(np.flatnonzero(base == 0), size=6, replace=False)
    hits_b[:, gains] = 1.0  # ... and wins 6
    hits_b[1, rng.choice(num_users, size=10, replace=False)] = 1.0  # seed noise
    what = "paired_comparison(hits_a, hits_b) [3 seeds x 400 users]"
    want = _paired(hits_a, hits_b)
    diff, low, high, noise = _four(paired_comparison(hits_a.copy(), hits_b.copy()), what)
    expect_close(
        diff,
        want[0],
        f"{what}: the difference",
        rtol=1e-6,
        hint="Mean over seeds and users of hits_a - hits_b (the same as the difference of the two means).",
    )
    unpaired = 1.96 * np.sqrt(hits_a.mean(axis=0).var(ddof=1) / num_users + hits_b.mean(axis=0).var(ddof=1) / num_users)
    if np.isclose(high - low, 2 * unpaired, rtol=1e-3):
        raise ExerciseIncorrect(
            f"{what}: your interval [{low:.4f}, {high:.4f}] is the UNPAIRED one (the two "
            "models' standard errors combined as if they were tested on different users). Both "
            "models see the same users: take each user's difference first, then its standard "
            "error; it is much narrower because the models agree on most users."
        )
    per_seed = (hits_a - hits_b).mean(axis=1)
    seed_half = 1.96 * per_seed.std(ddof=1) / np.sqrt(num_seeds)
    if np.isclose(high - low, 2 * seed_half, rtol=1e-3):
        raise ExerciseIncorrect(
            f"{what}: your interval comes from the spread of the {num_seeds} per-seed "
            "differences only. Pair over the USERS: average each user's difference over the seeds "
            "and take the standard error over the 400 users."
        )
    d_user = (hits_a - hits_b).mean(axis=0)
    if np.isclose((high - low) / 2, 1.96 * d_user.std(ddof=0) / np.sqrt(num_users), rtol=1e-7, atol=0):
        raise ExerciseIncorrect(f"{what}: use the sample standard deviation (ddof=1) of the per-user differences.")
    expect_close(
        [low, high],
        [want[1], want[2]],
        f"{what}: the 95% interval (low, high)",
        rtol=1e-4,
        hint="d = (hits_a - hits_b).mean(axis=0); half = 1.96 * d.std(ddof=1) / sqrt(len(d)); "
        "(d.mean() - half, d.mean() + half).",
    )
    expect(
        bool(noise) == want[3],
        f"{what}: the interval [{low:.4f}, {high:.4f}] does not contain 0, so the "
        f"difference is not noise; you returned is_noise={noise!r}.",
    )
    # a pair of models that differ by noise only: the interval straddles 0
    c = (rng.random((2, num_users)) < 0.5).astype(float)
    d = c.copy()
    d[:, :4] = 1 - d[:, :4]
    want = _paired(c, d)
    diff, low, high, noise = _four(paired_comparison(c, d), "paired_comparison(two models differing on 4 users)")
    expect_close(
        [diff, low, high], list(want[:3]), "paired_comparison(two models differing on 4 of 400 users)", rtol=1e-4
    )
    expect(
        bool(noise) == want[3] and want[3],
        f"paired_comparison(two models differing on 4 of 400 users): the interval [{low:.4f}, {high:.4f}] "
        f"contains 0, so is_noise must be True; you returned {noise!r}.",
    )
    return "Paired per user, a 1-2 point HR@10 difference between models that agree on most users can be real."
