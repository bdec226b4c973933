"""Checks for lesson 05 (the two-tower model).

* 5.1 :func:`check_cached_vectors` - ``cached_vectors(num_users, context_sizes)``: how many user vectors a cache
  needs when every (user, context) combination gets its own.
* 5.2 :func:`check_top_k_by_dot` - ``top_k_by_dot(user_vector, item_vectors, k)``: brute-force retrieval.
* 5.3 :func:`check_genre_profile` - ``genre_profile(genre_matrix, liked_items)``: the user tower's side feature.
* 5.4 :func:`check_top_k_by_model` - ``top_k_by_model(user_vector, item_vectors, w, b, k)``: the top items of
  the original course's model ``sigmoid(w * u.v + b)``, which a plain dot-product index gets wrong when ``w < 0``.
* 5.5 :func:`check_recommend_from_towers` - ``recommend_from_towers(user_tower, item_tower, user_idx, num_items,
  seen, k)``: the serving step from two Keras towers' outputs, without the user's seen items (imports Keras).
"""

from __future__ import annotations

import numpy as np

from ncf_helpers.checks import ExerciseIncorrect, exercise, expect, expect_close

__all__ = [
    "check_cached_vectors",
    "check_genre_profile",
    "check_recommend_from_towers",
    "check_top_k_by_dot",
    "check_top_k_by_model",
]


def _as_int_list(value, what: str) -> list[int]:
    if value is None:
        raise ExerciseIncorrect(f"{what}: your function returned None. Did you forget a `return`?")
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ExerciseIncorrect(f"{what}: expected a 1-D array of item indices, got shape {arr.shape}.")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ExerciseIncorrect(
            f"{what}: expected integer item indices, got dtype {arr.dtype} ({arr!r}). "
            "Return positions (np.argsort / np.argpartition give them), not scores."
        )
    return [int(x) for x in arr]


@exercise("5.1", "cached vectors per context")
def check_cached_vectors(cached_vectors):
    """``cached_vectors(num_users, context_sizes)``: ``num_users`` times the product of ``context_sizes`` (a list of
    the number of values each context feature takes; an empty list means no context)."""
    got = cached_vectors(10, [])
    expect(got is not None, "cached_vectors(10, []) returned None. Did you forget a `return`?")
    expect_close(
        got,
        10,
        "cached_vectors(10, []) (no context: one vector per user)",
        hint="Without context every user needs exactly one vector.",
    )
    # 610 users x 24 hours = 14,640
    expect_close(
        cached_vectors(610, [24]),
        14_640,
        "cached_vectors(610, [24])",
        hint="Each user needs one vector per hour of the day: 610 * 24.",
    )
    got = cached_vectors(610, [24, 7, 3])
    if got is not None and np.isclose(float(got), 610 * (24 + 7 + 3)):
        raise ExerciseIncorrect(
            "cached_vectors(610, [24, 7, 3]) returned 610 * (24 + 7 + 3): a cached vector must "
            "match the whole context at once (hour AND weekday AND device), so the numbers of "
            "values multiply: 610 * 24 * 7 * 3."
        )
    # 610 * 24 * 7 * 3 = 307,440
    expect_close(got, 307_440, "cached_vectors(610, [24, 7, 3])", hint="Multiply the context sizes together.")
    # 10^8 users, hour x weekday: 1.68e10 vectors (a Python int must not overflow)
    expect_close(
        cached_vectors(10**8, [24, 7]),
        1.68e10,
        "cached_vectors(10**8, [24, 7])",
        rtol=1e-9,
        hint="Use Python ints (or float64), not int32, which overflows above 2.1e9.",
    )
    return "Every context feature multiplies the cache: that is why context goes to a ranking stage instead."


@exercise("5.2", "top-k retrieval by dot product")
def check_top_k_by_dot(top_k_by_dot):
    """``top_k_by_dot(user_vector, item_vectors, k)``: indices of the ``k`` items with the largest
    ``user_vector . item_vectors[i]``, best first (``user_vector [d]``, ``item_vectors [num_items, d]``)."""
    u = np.array([1.0, 2.0])
    v = np.array(
        [
            [1.0, 0.0],  # 1*1 + 2*0 = 1
            [0.0, 1.0],  # 2
            [3.0, 1.0],  # 3 + 2 = 5
            [-1.0, -1.0],  # -3
            [1.0, 1.5],
        ]
    )  # 1 + 3 = 4
    got = _as_int_list(top_k_by_dot(u.copy(), v.copy(), 3), "top_k_by_dot(u, V, 3)")
    if got == [3, 0, 1]:
        raise ExerciseIncorrect(
            "top_k_by_dot(u, V, 3) returned the 3 SMALLEST dot products [3, 0, 1]. "
            "Sort by -scores (or reverse np.argsort) to put the largest first."
        )
    if set(got) == {2, 4, 1} and got != [2, 4, 1]:
        raise ExerciseIncorrect(
            f"top_k_by_dot(u, V, 3) returned the right items in the wrong order {got}: "
            "best first, i.e. [2, 4, 1] (dot products 5, 4, 2)."
        )
    expect(
        got == [2, 4, 1],
        f"top_k_by_dot(u, V, 3): expected [2, 4, 1] (dot products 5, 4, 2), got {got}. "
        "Compute scores = item_vectors @ user_vector, then take the indices of the k largest, best first.",
    )
    got = _as_int_list(top_k_by_dot(u, v, 1), "top_k_by_dot(u, V, 1)")
    expect(got == [2], f"top_k_by_dot(u, V, 1): expected [2], got {got}.")
    rng = np.random.default_rng(5)
    big_u, big_v = rng.normal(size=8), rng.normal(size=(500, 8))
    want = list(np.argsort(-(big_v @ big_u), kind="stable")[:10])
    got = _as_int_list(top_k_by_dot(big_u, big_v, 10), "top_k_by_dot on 500 random items")
    expect(got == [int(x) for x in want], f"On 500 random items with k=10 expected {want}, got {got}.")
    return "This is the whole of serving a two-tower model: one matrix-vector product and a partial sort."


@exercise("5.3", "genre profile of a user")
def check_genre_profile(genre_profile):
    """``genre_profile(genre_matrix, liked_items)``: the mean of the rows of ``genre_matrix [num_items,
    num_genres]`` (0/1) for the items in ``liked_items``; a vector of zeros when the user liked nothing."""
    g = np.array(
        [
            [1, 0, 1],  # item 0: Action, Comedy
            [0, 1, 0],  # item 1: Drama
            [1, 1, 0],  # item 2: Action, Drama
            [0, 0, 1],
        ],  # item 3: Comedy
        dtype=np.float32,
    )
    got = genre_profile(g.copy(), np.array([0, 2]))
    # items 0 and 2: ([1, 0, 1] + [1, 1, 0]) / 2 = [1, 0.5, 0.5]
    if got is not None and np.shape(got) == (3,) and np.allclose(got, [2, 1, 1]):
        raise ExerciseIncorrect(
            "genre_profile(G, [0, 2]) returned the sum [2, 1, 1]; divide by the number of "
            "liked items so heavy and light users get comparable profiles: [1, 0.5, 0.5]."
        )
    expect_close(
        got,
        [1.0, 0.5, 0.5],
        "genre_profile(G, [0, 2])",
        hint="Take the rows of the liked items and average them: genre_matrix[liked_items].mean(axis=0).",
    )
    expect_close(genre_profile(g, np.array([1, 2, 3])), [1 / 3, 2 / 3, 1 / 3], "genre_profile(G, [1, 2, 3])")
    got = genre_profile(g, np.array([], dtype=int))
    expect(
        got is not None and np.shape(got) == (3,) and np.all(np.isfinite(got)) and np.allclose(got, 0.0),
        f"genre_profile(G, []) returned {got!r}; a user with no liked film gets zeros (np.mean of nothing is "
        "nan). Handle the empty case first.",
    )
    return "The user tower sees this vector next to the user's ID embedding."


@exercise("5.4", "top-k of the original course's sigmoid model")
def check_top_k_by_model(top_k_by_model):
    """``top_k_by_model(user_vector, item_vectors, w, b, k)``: indices of the ``k`` items with the highest
    model score ``sigmoid(w * (user_vector . item_vectors[i]) + b)``, best first."""
    u = np.array([1.0, 2.0])
    v = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 1.0], [-1.0, -1.0], [1.0, 1.5]])  # dot products 1, 2, 5, -3, 4
    got = _as_int_list(top_k_by_model(u.copy(), v.copy(), 2.0, -1.0, 2), "top_k_by_model(u, V, w=2, b=-1, k=2)")
    expect(got == [2, 4], f"With w = 2 > 0 the model ranks like the dot product: expected [2, 4], got {got}.")
    got = _as_int_list(top_k_by_model(u, v, -0.5, 0.3, 2), "top_k_by_model(u, V, w=-0.5, b=0.3, k=2)")
    if got == [2, 4]:
        raise ExerciseIncorrect(
            "With w = -0.5 you returned [2, 4], the largest dot products. But sigmoid(w * dot + b) "
            "DEcreases with the dot product when w < 0: the model's favourites are the smallest "
            "dot products, [3, 0] (dot products -3 and 1)."
        )
    expect(
        got == [3, 0],
        f"top_k_by_model(u, V, w=-0.5, b=0.3, k=2): expected [3, 0], got {got}. "
        "Score every item with the model's formula, then take the k best.",
    )
    got = _as_int_list(top_k_by_model(u, v, -3.0, 50.0, 1), "top_k_by_model(u, V, w=-3, b=50, k=1)")
    expect(
        got == [3],
        f"With w = -3, b = 50 the sigmoid saturates near 1 for several items: expected [3] (its "
        f"score is the largest before rounding), got {got}. Rank by w * dot + b (monotone in the probability) "
        "rather than by the rounded probability.",
    )
    return (
        "A maximum-inner-product index always returns the largest dot products; with w < 0 query it with "
        "w * user_vector instead."
    )


def _towers(num_users: int, num_items: int, d: int, seed: int):
    """Two small Keras towers (Embedding -> Dense) with fixed random weights: ids ``[batch]`` -> ``[batch, d]``."""
    import keras

    from ncf_helpers.common import set_seed

    set_seed(seed)
    towers = []
    for n, name in ((num_users, "user_tower"), (num_items, "item_tower")):
        ids = keras.Input(shape=(), dtype="int32", name=name.split("_")[0] + "_idx")
        x = keras.layers.Embedding(n, 4)(ids)
        x = keras.layers.Dense(d)(x)
        towers.append(keras.Model(ids, x, name=name))
    return towers


@exercise("5.5", "the serving step from the towers")
def check_recommend_from_towers(recommend_from_towers):
    """``recommend_from_towers(user_tower, item_tower, user_idx, num_items, seen, k)``: ``user_tower`` and
    ``item_tower`` are Keras models mapping int ids ``[batch]`` to vectors ``[batch, d]``; return the ``k`` items
    (int array ``[k]``, best first) with the largest dot product between the user's vector and every item's
    vector, leaving out the items in ``seen`` (the user's training items)."""
    user_tower, item_tower = _towers(6, 12, 3, seed=1)
    u = np.asarray(user_tower.predict(np.arange(6, dtype="int32"), verbose=0), dtype=float)
    v = np.asarray(item_tower.predict(np.arange(12, dtype="int32"), verbose=0), dtype=float)
    user = 2
    scores = v @ u[user]
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    seen = np.array(order[:2] + order[5:6])  # the user's two favourites and the 6th are training items
    want = [i for i in order if i not in set(seen.tolist())][:4]
    what = f"recommend_from_towers(user_tower, item_tower, user_idx={user}, num_items=12, seen={seen.tolist()}, k=4)"
    got = _as_int_list(recommend_from_towers(user_tower, item_tower, user, 12, seen.copy(), 4), what)
    if got == order[:4]:
        raise ExerciseIncorrect(
            f"{what} returned {got}, which includes the seen items {seen.tolist()[:2]}: a user "
            "should not be recommended what they already rated. Set the scores of `seen` to "
            "-inf before taking the top k."
        )
    unseen_worst = [i for i in order[::-1] if i not in set(seen.tolist())][:4]
    if got == unseen_worst or got == order[::-1][:4]:
        raise ExerciseIncorrect(
            f"{what} returned the items with the SMALLEST dot products {got}. Take the largest, "
            "best first: np.argsort(-scores)."
        )
    norms = np.linalg.norm(v, axis=1)
    cos_order = [int(i) for i in np.argsort(-(scores / norms), kind="stable") if i not in set(seen.tolist())][:4]
    if got == cos_order and cos_order != want:
        raise ExerciseIncorrect(
            f"{what} returned {got}, the order by COSINE (you normalised the item vectors). The "
            "model scores with the plain dot product; rank by item_vectors @ user_vector."
        )
    expect(
        got == want,
        f"{what}: expected {want}, got {got}. Call user_tower on [user_idx] and item_tower on "
        "np.arange(num_items), score every item with the dot product, mask `seen`, take the k largest.",
    )
    other = 5
    scores5 = v @ u[other]
    want5 = [int(i) for i in np.argsort(-scores5, kind="stable")][:3]
    got5 = _as_int_list(
        recommend_from_towers(user_tower, item_tower, other, 12, np.array([], dtype=int), 3),
        "recommend_from_towers(..., user_idx=5, seen=[], k=3)",
    )
    expect(
        got5 == want5,
        f"recommend_from_towers(..., user_idx=5, seen=[], k=3): expected {want5}, got {got5}. "
        "Use the user_idx argument (and an empty `seen` must leave every item in).",
    )
    return "Serving is two tower calls (the item side cached once), one matrix-vector product and a partial sort."
