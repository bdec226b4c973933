"""Lesson 07: the two-tower trained and served the way retrieval systems do it, as runnable experiments.

* Losses - :func:`loss_comparison`: the same towers trained with each loss of
  :data:`ncf_helpers.models.retrieval.LOSSES`, scored on the whole catalogue (:func:`full_metrics`) and with the
  course's 99 sampled negatives; :func:`popularity_profile` (why uncorrected in-batch softmax under-serves
  popular films).
* Context - :func:`request_context` (hour of day, day of week, year of the request as one-hot rows) and
  :func:`context_comparison`: no context, context in the query tower, context in a small ranking stage over
  the retrieved candidates; quality and per-request cost.
* Fresh items - :func:`fresh_items` (films first rated after a cut-off), :func:`content_features` (genres,
  title words, tags) and :func:`fresh_item_recall`.
* Serving - :func:`synthetic_catalogue` and :func:`index_table` (recall of an ANN index against exact top-k,
  ms/query, build time, bytes/item); :func:`scale_on_paper` (10^8 users, 10^7 items).
* Recorded runs - :func:`save_recorded` / :func:`find_recorded` (``benchmarks/retrieval.py`` writes the
  3-seed and 10^6-item numbers the lesson reads; fingerprinted by the split).

Imports TensorFlow (through :mod:`ncf_helpers.models`) only inside the functions that train.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ncf_helpers.common import atomic_write, latency_ms, top_k

__all__ = [
    "CONTEXT_NAMES",
    "RANKER_FEATURES",
    "content_features",
    "context_comparison",
    "find_recorded",
    "fresh_item_recall",
    "fresh_items",
    "full_metrics",
    "index_table",
    "loss_comparison",
    "popularity_profile",
    "request_context",
    "sampled_hr",
    "save_recorded",
    "scale_on_paper",
    "summarise_losses",
    "synthetic_catalogue",
]

LOSS_LABELS = {
    "bce": "BCE, 4 sampled negatives (lesson 05)",
    "softmax": "in-batch softmax",
    "softmax_logq": "in-batch softmax + logQ + hit removal",
    "mixed": "mixed: in-batch + uniform",
}


# ---------------------------------------------------------------------------------------------- metrics
def full_metrics(model, split, ks=(10, 50, 100), ndcg_k: int = 10) -> dict:
    """Full-catalogue Recall@K for every ``K`` in ``ks`` and NDCG@``ndcg_k``: each test item is ranked against
    every film, the user's other known positives (train, validation, test) excluded. With one held-out item
    per user, Recall@K is the share of users whose item is in their top K. Uses
    :func:`ncf_helpers.evaluate.evaluate` (``protocol="full"``)."""
    from ncf_helpers.evaluate import evaluate

    out = {}
    for k in sorted(set(ks) | {ndcg_k}):
        r = evaluate(model, split, protocol="full", k=k)
        if k in ks:
            out[f"recall@{k}"] = float(r.metrics[f"recall@{k}"])
        if k == ndcg_k:
            out[f"ndcg@{k}"] = float(r.metrics[f"ndcg@{k}"])
    return out


def sampled_hr(model, split, k: int = 10) -> float:
    """The course's protocol: HR@``k`` of the test item among its 99 stored negatives."""
    from ncf_helpers.evaluate import evaluate

    return float(evaluate(model, split, protocol="sampled", k=k).metrics[f"hr@{k}"])


# ---------------------------------------------------------------------------------------------- section 1
def loss_comparison(
    split,
    losses=("bce", "softmax", "softmax_logq", "mixed"),
    seeds=(0,),
    *,
    verbose: bool = True,
    keep_models: bool = False,
    **fit_options,
):
    """Train every loss for every seed on the same split and towers. Lesson 07, section 1.

    Returns a DataFrame with one row per ``(loss, seed)``: ``recall@10, recall@50, recall@100, ndcg@10`` (full
    catalogue), ``sampled hr@10`` (99 negatives), ``train s``; with ``keep_models`` also ``{loss: model}`` of
    the first seed.
    """
    from ncf_helpers.models.retrieval import fit_retrieval

    rows, models = [], {}
    for loss in losses:
        for seed in seeds:
            model = fit_retrieval(split, loss, seed=int(seed), **fit_options)
            row = {
                "loss": loss,
                "seed": int(seed),
                **full_metrics(model, split),
                "sampled hr@10": sampled_hr(model, split),
                "train s": model.train_seconds,
            }
            rows.append(row)
            if keep_models and loss not in models:
                models[loss] = model
            if verbose:
                print(
                    f"{loss:<13} seed {seed}: Recall@100 {row['recall@100']:.3f}, sampled HR@10 "
                    f"{row['sampled hr@10']:.3f}, {row['train s']:.1f} s",
                    flush=True,
                )
    table = pd.DataFrame(rows)
    return (table, models) if keep_models else table


def summarise_losses(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds per loss (columns ``metric`` and ``metric sd``)."""
    metrics = [c for c in table.columns if c not in ("loss", "seed")]
    g = table.groupby("loss", sort=False)[metrics]
    mean, sd = g.mean(), g.std(ddof=1).fillna(0.0)
    out = pd.concat([mean, sd.add_suffix(" sd")], axis=1)
    out["seeds"] = table.groupby("loss", sort=False).size()
    return out


def popularity_profile(models: dict, split, bins: int = 10, k: int = 100) -> pd.DataFrame:
    """How each model treats films by popularity. Lesson 07's figure.

    Films are put into ``bins`` equal-count bins by training popularity (positives in ``split.train``). Per
    model and bin: ``mean score`` (the dot product ``u . v`` averaged over test users and films, minus the
    user's mean over all films, so models compare), ``share of top-k`` (share of the test users' top-``k``
    lists, known positives excluded) and ``share of test items`` (where the held-out films really are).
    """
    counts = np.bincount(split.train_item_idx, minlength=split.num_items)
    order = np.argsort(counts, kind="stable")
    bin_of = np.empty(split.num_items, np.int64)
    bin_of[order] = np.arange(split.num_items) * bins // split.num_items
    users = split.test["user_idx"].to_numpy(np.int64)
    test_share = np.bincount(bin_of[split.test["item_idx"].to_numpy(np.int64)], minlength=bins) / len(users)
    from ncf_helpers.evaluate import _mask_from_keys

    known = _mask_from_keys(split.positive_keys(), users, split.num_items)
    rows = []
    for name, model in models.items():
        s = np.asarray(model.score_all(users), np.float64)
        centred = s - s.mean(axis=1, keepdims=True)
        s[known] = -np.inf
        top = top_k(s, k)
        share = np.bincount(bin_of[top.ravel()], minlength=bins) / top.size
        mean_score = np.bincount(bin_of, weights=centred.mean(axis=0), minlength=bins) / np.bincount(
            bin_of, minlength=bins
        )
        for b in range(bins):
            rows.append(
                {
                    "model": name,
                    "bin": b,
                    "median popularity": float(np.median(counts[bin_of == b])),
                    "mean score": float(mean_score[b]),
                    f"share of top-{k}": float(share[b]),
                    "share of test items": float(test_share[b]),
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------- section 2
CONTEXT_NAMES = ("hour of day (24)", "day of week (7)", "year of the request")
"""The request features of section 2, one-hot encoded by :func:`request_context`."""


def request_context(timestamps, years=(1996, 2018)) -> np.ndarray:
    """One-hot request context for Unix ``timestamps [n]`` (seconds, UTC) -> float32 ``[n, 24 + 7 + Y]``.

    Hour of day (24 columns), day of week (7, Monday first) and the calendar year of the request clipped to
    ``years`` (``Y = years[1] - years[0] + 1`` columns). MovieLens stores UTC times, so "hour" is the UTC hour,
    not the rater's local one: a weaker signal than a real service's local time.
    """
    ts = pd.to_datetime(np.asarray(timestamps, dtype=np.int64), unit="s", utc=True)
    lo, hi = int(years[0]), int(years[1])
    hour = ts.hour.to_numpy()
    dow = ts.dayofweek.to_numpy()
    year = np.clip(ts.year.to_numpy(), lo, hi) - lo
    n, width = len(ts), 24 + 7 + hi - lo + 1
    out = np.zeros((n, width), np.float32)
    r = np.arange(n)
    out[r, hour] = 1.0
    out[r, 24 + dow] = 1.0
    out[r, 31 + year] = 1.0
    return out


RANKER_FEATURES = (
    "retrieval score",
    "log popularity",
    "log film age at request",
    "not yet released",
    "weekend x log popularity",
    "evening x log popularity",
)
"""Features of section 2's ranking stage: two without context, then the request context crossed with the
candidate film (a request-only feature is the same for every candidate and cannot change a ranking)."""


def _ranker_features(scores, cand, timestamps, years, popularity):
    from ncf_helpers.lessons.l05_two_tower.experiments import context_features

    base = context_features(scores, cand, timestamps, years, popularity)  # [n, c, 4]
    ts = pd.to_datetime(np.asarray(timestamps, dtype=np.int64), unit="s", utc=True)
    weekend = (ts.dayofweek.to_numpy() >= 5).astype(float)[:, None]
    evening = ((ts.hour.to_numpy() >= 18) | (ts.hour.to_numpy() < 2)).astype(float)[:, None]
    logpop = base[..., 1]
    return np.concatenate([base, (weekend * logpop)[..., None], (evening * logpop)[..., None]], axis=-1)


def _candidates(model, split, rows, n: int):
    """Top-``n`` films for each request row (known positives except the row's item excluded), the score
    matrix rows and the position of the row's item (``-1`` if not retrieved)."""
    from ncf_helpers.evaluate import _mask_from_keys

    users = rows["user_idx"].to_numpy(np.int64)
    targets = rows["item_idx"].to_numpy(np.int64)
    s = np.asarray(model.score_all(users), np.float64)
    known = _mask_from_keys(split.positive_keys(), users, split.num_items)
    known[np.arange(len(users)), targets] = False
    s[known] = -np.inf
    top = top_k(s, n)
    return users, targets, top, np.take_along_axis(s, top, axis=1)


def _list_metrics(ranked, targets, k: int = 10) -> dict:
    """Recall@k and NDCG@k of one held-out film per row in ranked lists ``[n, c]`` (a missing film scores 0)."""
    pos = np.where(ranked == targets[:, None], np.arange(ranked.shape[1])[None, :], ranked.shape[1]).min(axis=1)
    hit = pos < k
    return {f"recall@{k}": float(hit.mean()), f"ndcg@{k}": float(np.where(hit, 1.0 / np.log2(pos + 2.0), 0.0).mean())}


def context_comparison(
    dataset,
    split,
    *,
    seed: int = 0,
    candidates: int = 100,
    repeats: int = 50,
    models: dict | None = None,
    **fit_options,
):
    """Where the request context goes: nowhere, into the query tower, or into a ranking stage. Lesson 07, section 2.

    ``split`` needs validation rows (``leave_last_one_out(..., validation=True)``): the ranking stage (a
    :class:`~ncf_helpers.lessons.l05_two_tower.experiments.ContextRanker` over :data:`RANKER_FEATURES`) is fitted on the
    validation requests' top-``candidates`` lists and evaluated on the test requests' lists. The query tower
    gets :func:`request_context` of each training positive's time, and at test time that of the test
    request. Every placement is scored on the test requests over the whole catalogue (known positives
    excluded): ``recall@10``, ``ndcg@10``, ``recall@100`` (retrieval only), with ``network calls /
    request`` and the best and median ms of ``repeats`` single-user requests.

    Returns ``(table, extra)``; ``extra`` holds the models, the fitted rankers and the ranker coefficients.
    """
    from ncf_helpers.lessons.l05_two_tower.experiments import ContextRanker, release_years
    from ncf_helpers.models.retrieval import fit_retrieval

    if split.valid is None or len(split.valid) == 0:
        raise ValueError("context_comparison needs validation rows: leave_last_one_out(ds, validation=True).")
    models = dict(models or {})
    train = split.train
    years = (
        int(pd.to_datetime(train["timestamp"].min(), unit="s").year),
        int(pd.to_datetime(train["timestamp"].max(), unit="s").year),
    )
    if "none" not in models:
        models["none"] = fit_retrieval(split, "softmax_logq", seed=seed, **fit_options)
    ctx_train = request_context(train["timestamp"].to_numpy(), years)
    if "query tower" not in models:
        models["query tower"] = fit_retrieval(split, "softmax_logq", seed=seed, context=ctx_train, **fit_options)
    test_ctx = np.zeros((split.num_users, ctx_train.shape[1]), np.float32)
    test_ctx[split.test["user_idx"].to_numpy(np.int64)] = request_context(split.test["timestamp"].to_numpy(), years)
    with_ctx = models["query tower"].with_context(test_ctx)

    rel_years = release_years(dataset)
    pop = np.bincount(split.train_item_idx, minlength=split.num_items).astype(float)

    def ranker_data(rows):
        users, targets, top, s = _candidates(models["none"], split, rows, candidates)
        X = _ranker_features(s, top, rows["timestamp"].to_numpy(), rel_years, pop)
        return targets, top, X

    vt, vtop, Xv = ranker_data(split.valid)
    yv = (vtop == vt[:, None]).astype(float)
    keep = yv.sum(axis=1) > 0  # validation requests whose film was retrieved: the only ones with a label 1
    rankers = {
        "ranker without context": ContextRanker([0, 1], names=RANKER_FEATURES).fit(Xv[keep], yv[keep]),
        "ranker with context": ContextRanker(None, names=RANKER_FEATURES).fit(Xv[keep], yv[keep]),
    }
    tt_, ttop, Xt = ranker_data(split.test)

    rows = []
    base = _list_metrics(ttop, tt_)
    recall100 = float((ttop == tt_[:, None]).any(axis=1).mean())
    q_users, q_targets, q_top, _ = _candidates(with_ctx, split, split.test, candidates)
    rows.append({"placement": "no context (retrieval only)", **base, "recall@100": recall100})
    rows.append(
        {
            "placement": "context in the query tower",
            **_list_metrics(q_top, q_targets),
            "recall@100": float((q_top == q_targets[:, None]).any(axis=1).mean()),
        }
    )
    for name, ranker in rankers.items():
        order = np.argsort(-ranker.score(Xt), axis=1, kind="stable")
        rows.append(
            {
                "placement": f"{name} over top-{candidates}",
                **_list_metrics(np.take_along_axis(ttop, order, axis=1), tt_),
                "recall@100": recall100,
            }
        )
    table = pd.DataFrame(rows).set_index("placement")

    # per-request cost: one user per request, as a service sees it
    items = models["none"].item_vectors()
    cached = models["none"].user_vectors(np.arange(split.num_users))
    qt = models["query tower"].query_tower
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def encode(u, c):
        return qt({"user_idx": u, "context": c}, training=False)

    users = split.test["user_idx"].to_numpy(np.int64)
    ctx_rows = test_ctx[users]
    ranker = rankers["ranker with context"]
    ts = split.test["timestamp"].to_numpy()

    def top_n(vec, n=candidates):
        s = np.einsum("nd,d->n", items, vec)
        t = top_k(s, n)
        return t, s[t]

    def none(r):
        return top_n(cached[users[r % len(users)]])

    def query_tower(r):
        j = r % len(users)
        vec = encode(tf.constant([int(users[j])], tf.int32), tf.constant(ctx_rows[j : j + 1])).numpy()[0]
        return top_n(vec)

    def ranked(r):
        j = r % len(users)
        t, s = top_n(cached[users[j]])
        X = _ranker_features(s[None, :], t[None, :], ts[j : j + 1], rel_years, pop)
        return t[np.argsort(-ranker.score(X)[0])][:10]

    times = latency_ms({"none": none, "query": query_tower, "ranker": ranked}, int(repeats))
    cost = {
        "no context (retrieval only)": ("none", 0),
        "context in the query tower": ("query", 1),
        f"ranker without context over top-{candidates}": ("ranker", 0),
        f"ranker with context over top-{candidates}": ("ranker", 0),
    }
    table["network calls / request"] = [cost[p][1] for p in table.index]
    table["best ms / request"] = [float(times[cost[p][0]].min()) for p in table.index]
    table["median ms / request"] = [float(np.median(times[cost[p][0]])) for p in table.index]
    coefs = pd.DataFrame({name: r.coefficients() for name, r in rankers.items()}).reindex(list(RANKER_FEATURES))
    return table, {"models": models, "rankers": rankers, "coefficients": coefs, "context_years": years}


# ---------------------------------------------------------------------------------------------- section 3
def fresh_items(dataset, split, quantile: float = 0.9, *, min_fresh: int = 20) -> tuple[np.ndarray, float]:
    """Films first rated (by anyone) after the ``quantile`` of all rating times -> ``(item_idx, cutoff)``.

    The cut-off is a Unix time; ``item_idx`` are the films whose first rating in ``dataset.ratings`` is later
    and that have at least one positive in ``split`` (train, validation or test). When fewer than ``min_fresh``
    films qualify (``make_synthetic`` has no release dates: every film is rated from the start), the cut-off is
    the ``quantile`` of the films' first-rating times instead, so the latest ``1 - quantile`` of films by debut
    are the fresh ones. On ml-latest-small the first rule finds hundreds of films and is the one used."""
    r = dataset.ratings
    frames = [f for f in (split.train, split.valid, split.test) if f is not None]
    liked = np.unique(np.concatenate([f["item_idx"].to_numpy(np.int64) for f in frames]))
    first = r.groupby("item_idx")["timestamp"].min()
    cutoff = float(np.quantile(r["timestamp"].to_numpy(), quantile))
    fresh = np.intersect1d(first.index[first.to_numpy() > cutoff].to_numpy(np.int64), liked)
    if len(fresh) < min_fresh:
        cutoff = float(np.quantile(first.to_numpy(), quantile))
        fresh = np.intersect1d(first.index[first.to_numpy() > cutoff].to_numpy(np.int64), liked)
    return fresh, cutoff


def _read_tags(dataset) -> pd.DataFrame | None:
    """``tags.csv`` next to the data set's ratings (``userId, movieId, tag, timestamp``), or ``None``."""
    src = Path(str(getattr(dataset, "source", "") or ""))
    for folder in (src, src.parent):
        path = folder / "tags.csv"
        if path.is_file():
            return pd.read_csv(path)
    from ncf_helpers.data.movielens import data_dir_candidates

    for folder in data_dir_candidates(dataset.name):
        path = Path(folder) / "tags.csv"
        if path.is_file():
            return pd.read_csv(path)
    return None


def content_features(dataset, *, before: float | None = None, min_count: int = 3) -> tuple[np.ndarray, dict]:
    """Content of every film -> ``(features float32 [num_items, k], info)``: what an item tower can know about a
    film nobody has rated yet. Lesson 07, section 3.

    Three blocks, each row-normalised to sum 1 (so a film with many tags does not get a longer vector):
    genres (multi-hot), title words (lower-case, the year removed, words in at least ``min_count`` titles) and
    ``tags.csv`` tags (lower-case, tags used on at least ``min_count`` films, only those given before the Unix
    time ``before``: a film's tags come from its raters, so later tags would leak the future). ``info`` holds
    the block sizes and how many films have any tag.
    """
    items = dataset.items
    genres = dataset.genre_matrix().astype(np.float32)
    words = [re.findall(r"[a-z0-9']+", re.sub(r"\(\d{4}\)\s*$", "", str(t)).lower()) for t in items["title"]]
    vocab_counts = pd.Series([w for ws in words for w in set(ws)]).value_counts()
    vocab = {w: j for j, w in enumerate(sorted(vocab_counts.index[vocab_counts >= min_count]))}
    title = np.zeros((len(items), len(vocab)), np.float32)
    for i, ws in enumerate(words):
        for w in ws:
            if w in vocab:
                title[i, vocab[w]] = 1.0
    tags_raw = _read_tags(dataset)
    tag_block = np.zeros((len(items), 0), np.float32)
    if tags_raw is not None and len(tags_raw):
        t = tags_raw
        if before is not None:
            t = t[t["timestamp"] < before]
        t = t[t["movieId"].isin(dataset.item_ids)]
        t = t.assign(
            tag=t["tag"].astype(str).str.lower().str.strip(), item_idx=np.searchsorted(dataset.item_ids, t["movieId"])
        )
        t = t.drop_duplicates(["item_idx", "tag"])
        per_tag = t["tag"].value_counts()
        keep = sorted(per_tag.index[per_tag >= min_count])
        tag_idx = {w: j for j, w in enumerate(keep)}
        t = t[t["tag"].isin(tag_idx)]
        tag_block = np.zeros((len(items), len(keep)), np.float32)
        tag_block[t["item_idx"].to_numpy(), t["tag"].map(tag_idx).to_numpy()] = 1.0

    def norm(block):
        s = block.sum(axis=1, keepdims=True)
        return np.where(s > 0, block / np.maximum(s, 1.0), 0.0).astype(np.float32)

    feats = np.concatenate([norm(genres), norm(title), norm(tag_block)], axis=1)
    info = {
        "genres": genres.shape[1],
        "title words": title.shape[1],
        "tags": tag_block.shape[1],
        "films with tags": int((tag_block.sum(axis=1) > 0).sum()),
    }
    return feats, info


def fresh_item_recall(
    dataset, split, *, quantile: float = 0.9, ks=(10, 50), seed: int = 0, features=None, **fit_options
):
    """ID-only vs content-only item towers on films that arrived after a cut-off. Lesson 07, section 3.

    The fresh films (:func:`fresh_items`) are removed from training; both towers are trained on the rest
    (``loss="softmax_logq"``). Each user with a positive on a fresh film (anywhere in ``split``) ranks all
    fresh films; ``Recall@K`` = share of the user's fresh positives in the top K, averaged over users.
    ``random`` is the expected recall of a random order. Returns ``(table, extra)``: the table indexed by
    tower with ``recall@K``, ``users``, ``fresh films`` and the mean vector norm of fresh and of trained films;
    ``extra`` has the models, the fresh films, the cut-off and the feature info.
    """
    from ncf_helpers.models.retrieval import fit_retrieval

    fresh, cutoff = fresh_items(dataset, split, quantile)
    if len(fresh) < max(ks):
        raise ValueError(f"Only {len(fresh)} films arrived after the cut-off; lower quantile (now {quantile}).")
    is_fresh = np.zeros(split.num_items, bool)
    is_fresh[fresh] = True
    train = split.train[~is_fresh[split.train_item_idx]]
    frames = [f for f in (split.train, split.valid, split.test) if f is not None]
    pos = pd.concat([f[["user_idx", "item_idx"]] for f in frames])
    pos = pos[is_fresh[pos["item_idx"].to_numpy()]]
    pos = pos[pos["user_idx"].isin(np.unique(train["user_idx"]))].drop_duplicates()
    if features is None:
        features, info = content_features(dataset, before=cutoff)
    else:
        info = {}
    models = {
        "ID-only tower": fit_retrieval(split, "softmax_logq", seed=seed, train=train, **fit_options),
        "content-only tower": fit_retrieval(
            split, "softmax_logq", seed=seed, train=train, item_features=features, item_id=False, **fit_options
        ),
    }
    users = np.unique(pos["user_idx"].to_numpy(np.int64))
    col = {int(i): j for j, i in enumerate(fresh)}
    truth = np.zeros((len(users), len(fresh)), bool)
    urow = np.searchsorted(users, pos["user_idx"].to_numpy(np.int64))
    truth[urow, [col[int(i)] for i in pos["item_idx"]]] = True
    n_rel = truth.sum(axis=1)
    rows = {}
    for name, model in models.items():
        s = model.user_vectors(users) @ model.item_vectors()[fresh].T
        order = np.argsort(-s, axis=1, kind="stable")
        hits = np.take_along_axis(truth, order, axis=1)
        vec = model.item_vectors()
        norms = np.linalg.norm(vec, axis=1)
        trained = np.bincount(train["item_idx"].to_numpy(np.int64), minlength=split.num_items) > 0
        rows[name] = {
            **{f"recall@{k}": float((hits[:, :k].sum(axis=1) / n_rel).mean()) for k in ks},
            "mean norm, fresh films": float(norms[fresh].mean()),
            "mean norm, trained films": float(norms[trained].mean()),
        }
    rows["random order"] = {**{f"recall@{k}": float(np.mean(np.minimum(k, len(fresh)) / len(fresh))) for k in ks}}
    table = pd.DataFrame(rows).T
    table.index.name = "item tower"
    extra = {
        "models": models,
        "fresh": fresh,
        "cutoff": cutoff,
        "users": int(len(users)),
        "positives": int(n_rel.sum()),
        "info": info,
    }
    return table, extra


# ---------------------------------------------------------------------------------------------- section 4
def synthetic_catalogue(vectors, num_items: int, seed: int = 0) -> np.ndarray:
    """``num_items`` random item vectors float32 ``[num_items, d]`` with the norm distribution of ``vectors``:
    uniformly random directions, each scaled by the norm of a randomly drawn row of ``vectors``."""
    vecs = np.asarray(vectors, np.float32)
    rng = np.random.default_rng(seed)
    out = rng.standard_normal((int(num_items), vecs.shape[1]), dtype=np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    out *= np.linalg.norm(vecs, axis=1)[rng.integers(0, len(vecs), int(num_items))][:, None]
    return out


def _search_ms(index, queries, k: int, repeats: int) -> np.ndarray:
    """Milliseconds of single-query searches (one query per call, as a service answers requests)."""
    n = len(queries)
    return latency_ms({"search": lambda r: index.search(queries[r % n : r % n + 1], k)}, repeats)["search"]


DEFAULT_SETTINGS = (
    ("exact", {}, {}),
    ("faiss-ivf", {}, {"nprobe": 1}),
    ("faiss-ivf", {}, {"nprobe": 8}),
    ("faiss-ivf", {}, {"nprobe": 32}),
    ("faiss-ivf", {}, {"nprobe": 128}),
    ("faiss-ivfpq", {"pq_m": 8}, {"nprobe": 32}),
    ("faiss-hnsw", {"hnsw_m": 16}, {"ef_search": 16}),
    ("faiss-hnsw", {"hnsw_m": 16}, {"ef_search": 64}),
    ("faiss-hnsw", {"hnsw_m": 16}, {"ef_search": 256}),
)
"""``(backend, build options, search options)`` rows of :func:`index_table`; same-build rows share one index."""


def index_table(
    items,
    queries,
    settings=DEFAULT_SETTINGS,
    *,
    k: int = 10,
    repeats: int = 100,
    threads: int = 1,
    build_threads: int = 1,
    seed: int = 0,
) -> pd.DataFrame:
    """Recall@``k`` of each index setting against the exact top-``k`` of ``queries [n, d]`` over ``items``,
    with per-query latency (one query per call, searched with ``threads`` faiss threads; builds with
    ``build_threads``: on the loaded 2-core machine this was written on, IVF-PQ over 9,742 vectors built in 8.9 s
    on one thread and 31.7 s on two, HNSW in 5.6 s and 12.8 s: OpenMP threads that wait for each other lose
    to one thread when the cores are busy), build seconds and bytes/item. Lesson 07, section 4 (``benchmarks/retrieval.py`` for 10^4-10^6 items)."""
    import faiss

    from ncf_helpers.models.serving import VectorIndex

    items = np.ascontiguousarray(items, np.float32)
    queries = np.ascontiguousarray(queries, np.float32)
    exact = VectorIndex(items, "exact").search(queries, k)[0]
    built = {}
    rows = []
    for backend, build, search in settings:
        key = (backend, tuple(sorted(build.items())))
        if key not in built:
            faiss.omp_set_num_threads(build_threads)
            built[key] = VectorIndex(items, backend, seed=seed, **build)
        index = built[key].set(**search)
        found = index.search(queries, k)[0]
        recall = np.mean([len(np.intersect1d(a, b)) / k for a, b in zip(found, exact)])
        faiss.omp_set_num_threads(int(threads))
        ms = _search_ms(index, queries, k, repeats)
        label = ", ".join(f"{a}={b}" for a, b in {**build, **search}.items())
        if backend in ("faiss-ivf", "faiss-ivfpq"):
            label = f"nlist={index.nlist}, " + label
        faiss.omp_set_num_threads(build_threads)
        rows.append(
            {
                "num_items": len(items),
                "backend": backend,
                "setting": label or "brute force",
                f"recall@{k} vs exact": float(recall),
                "best ms/query": float(ms.min()),
                "median ms/query": float(np.median(ms)),
                "build s": float(index.build_seconds),
                "bytes/item": float(index.bytes_per_item),
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------- section 5
def scale_on_paper(
    *,
    num_users: float = 1e8,
    num_items: float = 1e7,
    embedding_dim: int = 32,
    hash_buckets: float = 1e6,
    pq_bytes: int = 8,
    exact_ms_per_million: float | None = None,
    ann_ms: float | None = None,
    cached_query_ms: float | None = None,
) -> pd.DataFrame:
    """What 10^8 users and 10^7 items cost, from the course's own sizes (float32, ``embedding_dim`` wide).

    Rows: the user and item embedding tables (plain, and with the hashing trick into ``hash_buckets`` rows),
    the Adam optimizer's two extra copies during training, the item index flat vs IVF-PQ (``pq_bytes`` codes +
    8-byte ids), and (when given, from section 4's measurements) the per-request search time extrapolated
    linearly in the catalogue size for brute force, and as measured at 10^6 items for the ANN index
    (``ann_ms``). Returns a DataFrame
    ``quantity, value, unit, how``.
    """
    d = int(embedding_dim)
    gb = 1e9
    rows = [
        ("user table", num_users * d * 4 / gb, "GB", f"{num_users:.0e} users x {d} floats x 4 bytes"),
        ("user table, hashed", hash_buckets * d * 4 / gb, "GB", f"{hash_buckets:.0e} shared rows (collisions)"),
        ("item table", num_items * d * 4 / gb, "GB", f"{num_items:.0e} items x {d} x 4 bytes"),
        (
            "training: tables + Adam (x3)",
            3 * (num_users + num_items) * d * 4 / gb,
            "GB",
            "weights + two moment estimates",
        ),
        ("index, flat float32", num_items * d * 4 / gb, "GB", "exact brute force keeps every vector"),
        ("index, IVF-PQ", num_items * (pq_bytes + 8) / gb, "GB", f"{pq_bytes}-byte codes + 8-byte ids"),
    ]
    if exact_ms_per_million is not None:
        rows.append(
            (
                "exact search / request",
                exact_ms_per_million * num_items / 1e6,
                "ms",
                "measured ms per 10^6 items, times 10 (linear in items)",
            )
        )
    if ann_ms is not None:
        rows.append(
            ("ANN search / request", ann_ms, "ms", "measured at 10^6 items (fastest setting with recall@10 >= 0.9)")
        )
    if cached_query_ms is not None:
        rows.append(("query vector / request", cached_query_ms, "ms", "one query-tower call (section 2)"))
    return pd.DataFrame(rows, columns=["quantity", "value", "unit", "how"])


# ---------------------------------------------------------------------------------------------- recorded runs
RECORDED_DIR = Path(__file__).resolve().parent / "recorded"
_FORMAT = 1


def _recorded_path(dataset: str, path=None) -> Path:
    return Path(path) if path is not None else RECORDED_DIR / f"retrieval_{dataset}.json"


def _settings() -> dict:
    from ncf_helpers.models.retrieval import RETRIEVAL_DEFAULTS

    return json.loads(json.dumps(RETRIEVAL_DEFAULTS))


def save_recorded(tables: dict, split, dataset: str, *, info: dict | None = None, path=None) -> Path:
    """Write ``tables`` (``{name: DataFrame}``) into the recorded run for ``dataset`` with the split's
    fingerprint and the training settings; atomically (temp file, then rename). Tables of an existing file for
    the same split and settings that are not in ``tables`` are kept (``benchmarks/retrieval.py --only index``
    adds the index table to the training tables). ``info`` is merged the same way."""
    import fcntl

    from ncf_helpers.lessons.l06_comparison.experiments import split_fingerprint

    target = _recorded_path(dataset, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(Path(tempfile.gettempdir()) / f".{target.name}.lock", "w") as lock:  # two parts may finish together
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _merge_and_write(target, tables, split_fingerprint(split), dataset, info)


def _merge_and_write(target: Path, tables: dict, fingerprint: str, dataset: str, info) -> Path:
    doc = {
        "format": _FORMAT,
        "dataset": str(dataset),
        "fingerprint": fingerprint,
        "settings": _settings(),
        "info": {},
        "tables": {},
    }
    if target.is_file():
        try:
            old = json.loads(target.read_text())
        except (OSError, ValueError):
            old = {}
        if all(old.get(key) == doc[key] for key in ("format", "dataset", "fingerprint", "settings")):
            doc["tables"], doc["info"] = dict(old.get("tables", {})), dict(old.get("info", {}))
    doc["info"].update(info or {})
    doc["tables"].update(
        {
            name: json.loads(
                t.reset_index(drop=t.index.name is None and isinstance(t.index, pd.RangeIndex)).to_json(
                    orient="records"
                )
            )
            for name, t in tables.items()
        }
    )
    return atomic_write(target, json.dumps(doc, indent=0))


def find_recorded(split, dataset: str, *, path=None, verbose: bool = True) -> dict | None:
    """The recorded tables (``{name: DataFrame}``, plus ``"info"``) for exactly this split and these settings, or
    ``None`` with the reason printed (then the lesson shows its live, single-seed numbers only)."""
    from ncf_helpers.lessons.l06_comparison.experiments import split_fingerprint

    target = _recorded_path(dataset, path)

    def no(reason):
        if verbose:
            print(f"No recorded lesson 07 run applies: {reason}. Run `python benchmarks/retrieval.py` to record one.")
        return None

    if not target.is_file():
        return no(f"{target.name} does not exist")
    try:
        doc = json.loads(target.read_text())
    except (OSError, ValueError) as exc:
        return no(f"{target} is unreadable ({exc})")
    if doc.get("format") != _FORMAT:
        return no(f"{target.name} has format {doc.get('format')!r}, expected {_FORMAT}")
    if doc.get("fingerprint") != split_fingerprint(split):
        return no("it was made on another split (different data, seed or threshold)")
    if doc.get("settings") != _settings():
        return no("the training settings (RETRIEVAL_DEFAULTS) changed since")
    out = {name: pd.DataFrame(rows) for name, rows in doc["tables"].items()}
    out["info"] = doc.get("info", {})
    return out
