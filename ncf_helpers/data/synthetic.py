"""Offline data: a MovieLens-shaped synthetic data set with planted structure, and the toy matrix (lesson 01)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .dataset import Dataset

GENRES = (
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
    "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western", "Film-Noir",
)
# Rough share of MovieLens movies carrying each genre: Drama and Comedy are everywhere, Film-Noir is rare.
_GENRE_WEIGHT = np.array([1.8, 1.3, 0.6, 0.7, 3.8, 1.3, 0.5, 4.4, 0.8, 1.0, 0.35, 0.6, 1.6, 1.0, 1.9, 0.4, 0.17, 0.09])

_ADJ = ("Silent", "Last", "Midnight", "Golden", "Broken", "Hidden", "Crimson", "Lonely", "Wild", "Electric",
        "Frozen", "Secret", "Little", "Endless", "Savage", "Quiet", "Burning", "Lost", "Iron", "Paper")
_NOUN = ("Heist", "River", "Garden", "Planet", "Detective", "Summer", "Empire", "Kingdom", "Station", "Letter",
         "Horizon", "Circus", "Harbor", "Machine", "Symphony", "Frontier", "Mirror", "Island", "Promise", "Storm")


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
    * each user rates ``n_u >= min_ratings`` items (log-normal activity, median ``median_ratings``), picked with
      probability proportional to ``popularity * exp(taste_strength * standardised affinity)``;
    * ratings (0.5-5 in half stars) rise with affinity and item quality; timestamps fall in 2000-2018.

    Returns a :class:`Dataset` named ``"synthetic"`` whose ``truth`` holds ``user_factors``, ``item_factors``,
    ``item_popularity`` (float ``[num_items]``, sums to 1), ``item_quality`` and ``genres``.
    1,000 users x 1,500 items take well under a second. Introduced in lesson 01.
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

    affinity = user_factors @ item_factors.T  # [num_users, num_items], in [0, 1]
    logits = np.log(popularity)[None, :] + taste_strength * (affinity - affinity.mean()) / affinity.std()
    keys = logits + rng.gumbel(size=logits.shape)
    order = np.argsort(-keys, axis=1)
    take = np.arange(num_items)[None, :] < activity[:, None]
    user_idx = np.broadcast_to(np.arange(num_users)[:, None], order.shape)[take]
    item_idx = order[take]

    # Ratings: centred affinity + quality + noise, mapped to MovieLens' half-star scale.
    a = affinity[user_idx, item_idx]
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
    items = pd.DataFrame({"item_id": np.arange(1, num_items + 1), "title": titles, "genres": genres})
    ratings = pd.DataFrame(
        {"user_id": user_idx + 1, "item_id": item_idx + 1, "rating": rating.astype(np.float32), "timestamp": timestamp}
    )
    truth = {
        "user_factors": user_factors,
        "item_factors": item_factors.astype(np.float32),
        "item_popularity": popularity,
        "item_quality": quality,
        "genres": list(names),
        "seed": seed,
    }
    return Dataset.from_frames("synthetic", ratings, items, truth=truth, source=f"make_synthetic(seed={seed})")


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
        {"user_id": u + 1, "item_id": i + 1, "rating": table[u, i], "timestamp": 1_000_000_000 + np.arange(len(u)) * 3600}
    )
    items = pd.DataFrame(
        {"item_id": np.arange(1, len(movies) + 1), "title": [m[0] for m in movies], "genres": [m[1] for m in movies]}
    )
    ds = Dataset.from_frames("toy", ratings, items, rating_range=(1, 5), source="toy_matrix()")
    ds.truth = {"user_names": users}
    return ds
