"""Offline data: a MovieLens-shaped synthetic data set with planted structure, and the toy matrix (lesson 01)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._keys import unique_keys
from .dataset import Dataset

__all__ = ["GENRES", "make_synthetic", "toy_matrix"]

GENRES = (
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
    "Film-Noir",
)
# Rough share of MovieLens movies carrying each genre: Drama and Comedy are everywhere, Film-Noir is rare.
_GENRE_WEIGHT = np.array([1.8, 1.3, 0.6, 0.7, 3.8, 1.3, 0.5, 4.4, 0.8, 1.0, 0.35, 0.6, 1.6, 1.0, 1.9, 0.4, 0.17, 0.09])

_ADJ = (
    "Silent",
    "Last",
    "Midnight",
    "Golden",
    "Broken",
    "Hidden",
    "Crimson",
    "Lonely",
    "Wild",
    "Electric",
    "Frozen",
    "Secret",
    "Little",
    "Endless",
    "Savage",
    "Quiet",
    "Burning",
    "Lost",
    "Iron",
    "Paper",
)
_NOUN = (
    "Heist",
    "River",
    "Garden",
    "Planet",
    "Detective",
    "Summer",
    "Empire",
    "Kingdom",
    "Station",
    "Letter",
    "Horizon",
    "Circus",
    "Harbor",
    "Machine",
    "Symphony",
    "Frontier",
    "Mirror",
    "Island",
    "Promise",
    "Storm",
)


def make_synthetic(
    num_users: int = 1000,
    num_items: int = 1500,
    seed: int = 0,
    *,
    num_genres: int = 12,
    min_ratings: int = 20,
    median_ratings: int = 45,
    taste_strength: float = 1.5,
    popularity_exponent: float = 1.1,
    rating_noise: float = 0.5,
) -> Dataset:
    """A MovieLens-shaped data set whose structure is known, for offline use and for checking what models learn.

    How it is made (all deterministic by ``seed``):

    * every item gets 1-3 genres (Drama and Comedy common, Western rare) and a popularity from a long tail
      (``popularity ~ 1 / rank**popularity_exponent``);
    * every user gets a taste vector over genres (Dirichlet, so most users like two or three genres);
    * true factors: ``user_factors[u]`` = taste ``[num_users, num_genres]``, ``item_factors[i]`` = unit-length
      multi-hot genres ``[num_items, num_genres]``; ``affinity = user_factors @ item_factors.T``;
    * each user rates ``n_u >= min_ratings`` items (log-normal activity, median ``median_ratings``), picked one
      after another without replacement with probability proportional to
      ``popularity * exp(taste_strength * standardised affinity)`` (see :func:`_choose_items`: the cost is
      linear in the number of ratings, not in ``num_users x num_items``);
    * ratings (0.5-5 in half stars) rise with affinity and item quality; timestamps fall in 2000-2018.

    Returns a :class:`Dataset` named ``"synthetic"`` whose ``truth`` holds ``user_factors``, ``item_factors``,
    ``item_popularity`` (float ``[num_items]``, sums to 1), ``item_quality`` and ``genres``.
    1,000 users x 1,500 items take well under a second, ML-1M's shape (6,000 x 3,700, ``median_ratings=140``,
    1.3M ratings) a few seconds. Introduced in lesson 01.
    """
    if num_users < 2 or num_items < 10:
        raise ValueError(f"make_synthetic needs at least 2 users and 10 items; got {num_users} x {num_items}.")
    if not 1 <= num_genres <= len(GENRES):
        raise ValueError(f"num_genres must be between 1 and {len(GENRES)}; got {num_genres}.")
    if min_ratings < 2 or min_ratings > num_items // 2:
        raise ValueError(f"min_ratings must be between 2 and num_items // 2 = {num_items // 2}; got {min_ratings}.")
    rng = np.random.default_rng(seed)
    names = GENRES[:num_genres]
    weight = _GENRE_WEIGHT[:num_genres] / _GENRE_WEIGHT[:num_genres].sum()

    # Genres: 1-3 per item, without replacement, by the Gumbel top-k trick.
    n_genres = np.minimum(1 + rng.poisson(0.7, num_items), min(3, num_genres))
    keys = np.log(weight)[None, :] + rng.gumbel(size=(num_items, num_genres))
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    multi_hot = (rank < n_genres[:, None]).astype(np.float32)
    item_factors = multi_hot / np.linalg.norm(multi_hot, axis=1, keepdims=True)

    taste = rng.dirichlet(np.full(num_genres, 0.35), size=num_users).astype(np.float32)
    user_factors = taste

    popularity = 1.0 / np.arange(1, num_items + 1) ** popularity_exponent
    popularity = popularity[rng.permutation(num_items)]
    popularity /= popularity.sum()
    quality = rng.normal(0.0, 0.5, num_items)

    # Activity: log-normal, at least min_ratings, at most half the catalogue.
    activity = np.exp(rng.normal(np.log(max(median_ratings - min_ratings, 1)), 1.0, num_users))
    activity = np.clip(min_ratings + activity.astype(np.int64), min_ratings, num_items // 2)

    user_idx, item_idx, affinity_of = _choose_items(
        rng, user_factors, multi_hot, item_factors, popularity, activity, taste_strength
    )

    # Ratings: centred affinity + quality + noise, mapped to MovieLens' half-star scale.
    a = affinity_of(user_idx, item_idx)
    z = (a - a.mean()) / (a.std() + 1e-9)
    raw = 3.5 + 0.55 * z + 0.6 * quality[item_idx] + rng.normal(0.0, rating_noise, len(a))
    rating = np.clip(np.round(raw * 2) / 2, 0.5, 5.0)

    # Timestamps: each user is active for a while, sometime between 2000 and 2018.
    start = rng.uniform(946_684_800, 1_514_764_800, num_users)
    span = rng.exponential(86_400 * 200, num_users)
    timestamp = np.minimum(start[user_idx] + rng.uniform(0, 1, len(a)) * span[user_idx], 1_546_300_799).astype(np.int64)

    years = rng.integers(1950, 2019, num_items)
    titles = [
        f"The {_ADJ[i % len(_ADJ)]} {_NOUN[(i // len(_ADJ) + j) % len(_NOUN)]} ({y})"
        for i, (j, y) in enumerate(zip(rng.integers(0, len(_NOUN), num_items), years))
    ]
    genres = [[names[g] for g in np.flatnonzero(row)] for row in multi_hot]
    items = pd.DataFrame(
        {
            "item_idx": np.arange(num_items, dtype=np.int32),
            "item_id": np.arange(1, num_items + 1),
            "title": titles,
            "genres": genres,
        }
    )
    # Rows in Dataset.from_frames' order (user, time, item) by one sort of a packed key, and the Dataset built
    # directly: the rows are valid by construction, and from_frames' validation and lexsort of 1.3M rows
    # took longer than generating them.
    order = _user_time_item_order(user_idx, timestamp, item_idx, num_items)
    ratings = pd.DataFrame(
        {
            "user_id": (user_idx + 1)[order],
            "item_id": (item_idx + 1)[order],
            "rating": rating.astype(np.float32)[order],
            "timestamp": timestamp[order],
            "user_idx": user_idx[order].astype(np.int32),
            "item_idx": item_idx[order].astype(np.int32),
        }
    )
    truth = {
        "user_factors": user_factors,
        "item_factors": item_factors.astype(np.float32),
        "item_popularity": popularity,
        "item_quality": quality,
        "genres": list(names),
        "seed": seed,
    }
    return Dataset(
        name="synthetic",
        ratings=ratings,
        items=items,
        user_ids=np.arange(1, num_users + 1, dtype=np.int64),
        item_ids=np.arange(1, num_items + 1, dtype=np.int64),
        truth=truth,
        source=f"make_synthetic(seed={seed})",
        has_timestamps=True,
        notes=(),
    )


def _user_time_item_order(user_idx, timestamp, item_idx, num_items) -> np.ndarray:
    """``np.lexsort((item_idx, timestamp, user_idx))``, by one argsort of a packed int64 key when it fits."""
    t = timestamp - timestamp.min()
    bits_i = max(int(num_items - 1).bit_length(), 1)
    bits_t = max(int(t.max()).bit_length(), 1)
    bits_u = max(int(user_idx.max()).bit_length(), 1)
    if bits_i + bits_t + bits_u > 63:
        return np.lexsort((item_idx, timestamp, user_idx))
    key = (user_idx.astype(np.int64) << (bits_t + bits_i)) | (t.astype(np.int64) << bits_i) | item_idx.astype(np.int64)
    return np.argsort(key, kind="stable")


_DENSE_SHARE = 10  # a user who rates more than num_items / 10 items is drawn by the dense Gumbel top-k
_OVERDRAW = 2.0  # first guess of draws with replacement per wanted item for the others (first occurrences kept)
_ROUNDS = 6  # rounds of further draws for the users still short of items, before the dense path takes them
_DENSE_CELLS = 4_000_000  # users x items per block of the dense path


def _choose_items(rng, user_factors, multi_hot, item_factors, popularity, activity, taste_strength):
    """Each user's ``activity[u]`` distinct items, in the order they were picked: ``(user_idx, item_idx,
    affinity_of)`` with ``affinity_of(u, i) = user_factors[u] . item_factors[i]`` (vectorized).

    The model: picks one after another without replacement, each with probability proportional to
    ``w_ui = popularity_i * exp(taste_strength * (affinity_ui - mean) / std)`` among the items not yet picked
    (mean and std over all ``num_users x num_items`` cells). Two facts make this linear in the ratings:

    * items with the same genre set have the same affinity to every user (12 genres, 1-3 per item: at most
      298 sets), so ``w_ui = popularity_i * g_u(set(i))`` and one draw is two small ones: a genre set by
      ``P_s * g_u(s)`` (``P_s`` = the set's total popularity), then an item of that set by popularity;
    * picking without replacement in sequence is the same as drawing with replacement and keeping first
      occurrences (the repeats are exactly the rejected draws), so ``_OVERDRAW x n_u`` draws per user are made
      at once and the first ``n_u`` distinct items kept.

    Users who rate more than ``num_items / _DENSE_SHARE`` items, and the rare users whose draws fell short,
    are drawn exactly by the Gumbel top-k trick over all items (the same distribution; it costs
    ``num_items <= _DENSE_SHARE x n_u`` per such user, so this too is linear in the ratings).
    """
    num_users, num_items = len(user_factors), len(item_factors)
    bits = (multi_hot.astype(np.int64) << np.arange(multi_hot.shape[1])).sum(axis=1)
    sets, set_of = unique_keys(bits, return_inverse=True)
    first_item = unique_keys(bits, return_index=True)[1]
    set_factors = item_factors[first_item].astype(np.float64)  # [S, num_genres]
    aff = user_factors.astype(np.float64) @ set_factors.T  # [num_users, S]: affinity of a user to a genre set
    per_set = np.bincount(set_of, minlength=len(sets)).astype(np.float64)
    cells = float(num_users) * num_items
    mean = float((aff @ per_set).sum() / cells)
    std = float(np.sqrt(max(((aff**2) @ per_set).sum() / cells - mean**2, 1e-300)))
    log_g = taste_strength * (aff - mean) / std  # [num_users, S]

    def affinity_of(u, i):
        return aff[u, set_of[i]]

    heavy = activity * _DENSE_SHARE > num_items
    light = np.flatnonzero(~heavy)
    # ---- light users: draws with replacement, first occurrences kept
    set_pop = np.bincount(set_of, weights=popularity, minlength=len(sets))
    lw = log_g[light] + np.log(np.maximum(set_pop, 1e-300))[None, :]
    pw = np.exp(lw - lw.max(axis=1, keepdims=True))
    cum = np.cumsum(pw, axis=1)
    cum /= cum[:, -1:]
    cum[:, -1] = 1.0
    by_set = np.argsort(set_of, kind="stable")  # items grouped by genre set
    set_start = np.concatenate([[0], np.cumsum(per_set.astype(np.int64))])
    within = np.cumsum(popularity[by_set])
    base = np.concatenate([[0.0], within[set_start[1:-1] - 1]])  # popularity before each set
    within = (within - np.repeat(base, np.diff(set_start))) / np.repeat(set_pop, np.diff(set_start))
    within[set_start[1:] - 1] = 1.0
    within += np.repeat(np.arange(len(sets), dtype=np.float64), np.diff(set_start))  # set s: (s, s + 1]

    def draw(users, n):  # n[k] draws with replacement for light user users[k] (a row of cum): items [sum n]
        du = np.repeat(users, n)
        pick = np.searchsorted(flat_cum, du + rng.random(len(du)), side="right")
        s = np.minimum(pick - du * len(sets), len(sets) - 1)
        j = np.searchsorted(within, s + rng.random(len(du)), side="right")
        return du, by_set[np.clip(j, set_start[s], set_start[s + 1] - 1)]

    flat_cum = (cum + np.arange(len(light))[:, None]).ravel()
    want = activity[light]
    pool_u, pool_i = np.empty(0, np.int64), np.empty(0, np.int64)  # all draws so far of the users still open
    todo = np.arange(len(light))
    have = np.zeros(len(light), np.int64)
    made = np.zeros(len(light), np.int64)
    done_u, done_i = [], []
    for _ in range(_ROUNDS):
        # more draws for the open users, sized by each one's share of distinct draws so far
        rate = np.where(made[todo] > 0, have[todo] / np.maximum(made[todo], 1), 1.0 / _OVERDRAW)
        n = np.ceil((want[todo] - have[todo]) / np.maximum(rate, 0.02) * 1.2).astype(np.int64) + 8
        du, di = draw(todo, n)
        made[todo] += n
        pool_u, pool_i = np.concatenate([pool_u, du]), np.concatenate([pool_i, di])  # in the order drawn
        _, first = unique_keys(pool_u * num_items + pool_i, return_index=True)  # first draw of each pair
        first = first[np.argsort(pool_u[first] * len(pool_u) + first)]  # user by user, in the order drawn
        ku, ki = pool_u[first], pool_i[first]
        start = np.searchsorted(ku, todo)
        rank = np.arange(len(ku)) - np.repeat(start, np.diff(np.append(start, len(ku))))
        have[todo] = np.diff(np.append(start, len(ku)))
        full = have[ku] >= want[ku]
        keep = full & (rank < want[ku])
        done_u.append(light[ku[keep]])
        done_i.append(ki[keep])
        todo = todo[have[todo] < want[todo]]
        open_draw = np.isin(pool_u, todo)
        pool_u, pool_i = pool_u[open_draw], pool_i[open_draw]
        if len(todo) == 0:
            break
    short = light[todo]
    # ---- heavy and short users: exact Gumbel top-k over all items
    dense = np.sort(np.concatenate([np.flatnonzero(heavy), short]))
    parts_u, parts_i = done_u, done_i
    step = max(1, _DENSE_CELLS // num_items)
    log_pop = np.log(popularity)
    for lo in range(0, len(dense), step):
        users = dense[lo : lo + step]
        keys = log_pop[None, :] + log_g[users][:, set_of] + rng.gumbel(size=(len(users), num_items))
        order = np.argsort(-keys, axis=1)
        take = np.arange(num_items)[None, :] < activity[users][:, None]
        parts_u.append(np.broadcast_to(users[:, None], order.shape)[take])
        parts_i.append(order[take])
    u = np.concatenate(parts_u)
    i = np.concatenate(parts_i)
    order = np.argsort(u, kind="stable")  # user by user, each user's items in the order picked
    return u[order].astype(np.int64), i[order].astype(np.int64), affinity_of


def toy_matrix() -> Dataset:
    """Five named users x six well-known movies, small enough to draw as a table (lesson 01's first figure).

    Ratings are 1-5 stars; empty cells are "not rated". Alice and Bob like the same kind of films,
    Dave and Erin the other kind, Carol a bit of both, so user-based CF has an obvious answer here.
    """
    users = ["Alice", "Bob", "Carol", "Dave", "Erin"]
    movies = [
        ("Toy Story (1995)", ["Animation", "Children", "Comedy"]),
        ("Finding Nemo (2003)", ["Animation", "Children", "Comedy"]),
        ("The Lion King (1994)", ["Animation", "Children", "Drama"]),
        ("The Godfather (1972)", ["Crime", "Drama"]),
        ("Pulp Fiction (1994)", ["Comedy", "Crime", "Drama", "Thriller"]),
        ("The Matrix (1999)", ["Action", "Sci-Fi", "Thriller"]),
    ]
    table = np.array(
        [  # Toy  Nemo  Lion  Godf  Pulp  Matrix
            [5, 4, 5, 0, 1, 0],  # Alice
            [4, 5, 0, 1, 0, 2],  # Bob
            [4, 0, 4, 4, 0, 4],  # Carol
            [0, 1, 0, 5, 5, 4],  # Dave
            [1, 0, 2, 4, 5, 0],  # Erin
        ],
        dtype=np.float32,
    )
    u, i = np.nonzero(table)
    ratings = pd.DataFrame(
        {
            "user_id": u + 1,
            "item_id": i + 1,
            "rating": table[u, i],
            "timestamp": 1_000_000_000 + np.arange(len(u)) * 3600,
        }
    )
    items = pd.DataFrame(
        {"item_id": np.arange(1, len(movies) + 1), "title": [m[0] for m in movies], "genres": [m[1] for m in movies]}
    )
    ds = Dataset.from_frames("toy", ratings, items, rating_range=(1, 5), source="toy_matrix()")
    ds.truth = {"user_names": users}
    return ds
