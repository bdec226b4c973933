"""Checks for the start page (``lessons/00_start_here.ipynb``): three warm-ups that show how every exercise of
the course works (complete a function, run its check) and the :class:`~ncf_helpers.data.Dataset` every lesson
uses. The checks build their own small data (the toy matrix, a tiny synthetic set), so they do not depend on
what the notebook loaded.

* 0.1 :func:`check_count_users` - ``count_users(ds)``: how many users rated something.
* 0.2 :func:`check_ratings_per_user` - ``ratings_per_user(ds)``: the average user's number of ratings.
* 0.3 :func:`check_offline_dataset` - ``offline_dataset(num_users, num_items, seed)``: the offline data set.
"""

from __future__ import annotations

import numpy as np

from ncf_helpers.checks import ExerciseIncorrect, exercise, expect, expect_close
from ncf_helpers.checks import number as _number

__all__ = ["check_count_users", "check_offline_dataset", "check_ratings_per_user"]


@exercise("0.1", "count the users")
def check_count_users(count_users):
    """``count_users(ds)``: the number of distinct users in ``ds.ratings`` (an int)."""
    from ncf_helpers.data import make_synthetic, toy_matrix

    toy = toy_matrix()  # 5 named users, 20 ratings
    got = _number(count_users(toy), "count_users(toy_matrix())")
    if np.isclose(got, toy.num_ratings):
        raise ExerciseIncorrect(
            f"count_users(toy_matrix()) returned {got:g}, the number of RATINGS. Count each user "
            "once: ds.ratings['user_id'].nunique() (or ds.num_users)."
        )
    expect_close(got, 5, "count_users(toy_matrix())", hint="The toy matrix has Alice, Bob, Carol, Dave and Erin.")
    small = make_synthetic(30, 40, seed=3, min_ratings=5, median_ratings=8)
    expect_close(
        _number(count_users(small), "count_users(a 30-user synthetic set)"),
        30,
        "count_users(a 30-user synthetic set)",
        hint="Use the data set you are given, not a fixed number.",
    )
    return "Every Dataset also has ds.num_users and ds.num_items."


@exercise("0.2", "ratings per user")
def check_ratings_per_user(ratings_per_user):
    """``ratings_per_user(ds)``: the mean number of ratings per user, ``num_ratings / num_users`` (a float)."""
    from ncf_helpers.data import make_synthetic, toy_matrix

    toy = toy_matrix()  # 20 ratings by 5 users -> 4.0
    got = _number(ratings_per_user(toy), "ratings_per_user(toy_matrix())")
    if np.isclose(got, toy.num_ratings / toy.num_items):
        raise ExerciseIncorrect(
            f"ratings_per_user(toy_matrix()) returned {got:g} = ratings / movies: divide by the "
            "number of users instead."
        )
    expect_close(got, toy.num_ratings / 5, "ratings_per_user(toy_matrix())", hint="len(ds.ratings) / number of users.")
    small = make_synthetic(30, 40, seed=3, min_ratings=5, median_ratings=8)
    counts = np.bincount(small.ratings["user_idx"].to_numpy(), minlength=small.num_users)
    got = _number(ratings_per_user(small), "ratings_per_user(a small synthetic set)")
    if np.isclose(got, np.median(counts)) and not np.isclose(np.median(counts), counts.mean()):
        raise ExerciseIncorrect(
            f"ratings_per_user(a small synthetic set) returned {got:g}, the median; the exercise "
            "asks for the mean (total ratings / users)."
        )
    expect_close(got, counts.mean(), "ratings_per_user(a small synthetic set)")
    return "On ml-latest-small the mean is about 165 while the median is 70: a few users rate a lot."


@exercise("0.3", "offline data")
def check_offline_dataset(offline_dataset):
    """``offline_dataset(num_users, num_items, seed)``: the synthetic MovieLens-shaped data set of that size."""
    from ncf_helpers.data import Dataset, make_synthetic

    ds = offline_dataset(50, 80, 1)
    if ds is None:
        raise ExerciseIncorrect("offline_dataset(50, 80, 1) returned None. Did you forget a `return`?")
    expect(
        isinstance(ds, Dataset),
        f"offline_dataset(50, 80, 1) returned a {type(ds).__name__}; return the Dataset "
        "that make_synthetic(...) gives you.",
    )
    expect(
        ds.name == "synthetic",
        f"offline_dataset returned the data set {ds.name!r}; it should be the synthetic "
        "one (make_synthetic), which needs no download.",
    )
    expect(
        (ds.num_users, ds.num_items) == (50, 80),
        f"offline_dataset(50, 80, 1) has {ds.num_users} users x {ds.num_items} items; pass num_users and num_items "
        "on to make_synthetic.",
    )
    again = make_synthetic(50, 80, seed=1)
    expect(
        ds.num_ratings == again.num_ratings and np.array_equal(ds.ratings["item_id"], again.ratings["item_id"]),
        "offline_dataset(50, 80, 1) is not make_synthetic(50, 80, seed=1): pass the seed on as seed=seed.",
    )
    return 'In any lesson, DATASET = "synthetic" in the parameters cell does the same.'
