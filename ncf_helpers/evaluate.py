"""One evaluation entry point for every lesson, benchmark and widget (introduced in lesson 02).

``evaluate(model, split, protocol=..., k=10)`` works for any object with ``score(user_idx, item_idx)``
(and uses ``score_all(user_idx)`` when the model has one). Protocols:

* ``"sampled"`` - the NCF paper's: each held-out item is ranked among the split's sampled negatives (99), the
  same negatives for every model. HR@K, NDCG@K, MRR, AUC.
* ``"full"`` - every item the user did not interact with in training is a candidate. HR@K, NDCG@K, MRR, AUC,
  precision@K and recall@K (several relevant items per user for a random split).
* ``"rating"`` - RMSE and MAE of predicted ratings on a random split's test rows.
* ``"labels"`` - the original course's protocol: accuracy, ROC-AUC and PR-AUC of ``label`` on the test rows.

Rank convention (the same in every lesson): the rank ``r`` of a relevant item counts from 1 (``r = 1`` is the
top); HR@K counts a hit when ``r <= K`` and NDCG@K gives it ``1 / log2(r + 1)``. The ``rank`` column of
``EvalResult.per_user`` is 0-based instead: the number of candidates scored above the item (``r - 1``).

Ties: when the held-out item has the same score as ``e`` other candidates, it could land anywhere among them.
We report the *expected* metric under a uniformly random tie-break, so a constant model scores exactly what
random guessing would (HR@10 = 10/100 with 99 negatives), never a perfect 1.0.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .common import whole_number
from .data.checks import check_k
from .data.splits import positives

__all__ = [
    "DEFAULT_NEGATIVES",
    "EvalResult",
    "PROTOCOLS",
    "ScoreTable",
    "compare",
    "evaluate",
    "extend_negatives",
    "max_negatives",
    "metrics_from_counts",
    "paired_bootstrap",
    "protocol_curve",
]

PROTOCOLS = ("sampled", "full", "rating", "labels")


# ---------------------------------------------------------------------------------------------- rank maths
def _prefix(values: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(values)])


def metrics_from_counts(greater: np.ndarray, ties: np.ndarray, num_candidates, k: int) -> dict[str, np.ndarray]:
    """Per-row metrics of one relevant item from how many candidates beat it and how many tie with it.

    ``greater[row]`` other candidates score higher and ``ties[row]`` score the same; the item's 1-based rank ``r``
    is then uniform on ``greater + 1 .. greater + ties + 1``. ``num_candidates`` counts the item itself (100 = 1 +
    99 negatives). HR@k = P(r <= k), NDCG@k = E[1 / log2(r + 1)] over ``r <= k``, RR = E[1 / r].
    Returns float arrays ``hr, ndcg, rr, auc, rank`` (``rank`` = expected **0-based** rank ``E[r] - 1``, i.e. the
    number of candidates above the item, ties counted half).

    Worked example (no ties, 100 candidates): two items above -> r = 3, hr@10 = 1, ndcg@10 = 1/log2(3 + 1) = 0.5,
    rr = 1/3, auc = (99 - 2) / 99, rank = 2.
    """
    g = np.asarray(greater, dtype=np.int64)
    e = np.asarray(ties, dtype=np.int64)
    n = np.broadcast_to(np.asarray(num_candidates, dtype=np.int64), g.shape)
    top = int(n.max()) if n.size else 1
    r = np.arange(top)
    disc = _prefix(np.where(r < k, 1.0 / np.log2(r + 2.0), 0.0))
    recip = _prefix(1.0 / (r + 1.0))
    width = e + 1.0
    hr = np.clip((k - g) / width, 0.0, 1.0)
    ndcg = (disc[g + e + 1] - disc[g]) / width
    rr = (recip[g + e + 1] - recip[g]) / width
    others = np.maximum(n - 1, 1)
    auc = (n - 1 - g - e / 2.0) / others
    return {"hr": hr, "ndcg": ndcg, "rr": rr, "auc": auc, "rank": g + e / 2.0}


def _count_beats(scores: np.ndarray, target: np.ndarray, valid: np.ndarray | None = None):
    """``greater, ties`` per row: candidates (where ``valid``) scoring above / equal to ``target`` (itself excluded
    by the caller)."""
    t = target[:, None]
    gt = scores > t
    eq = scores == t
    if valid is not None:
        gt &= valid
        eq &= valid
    return gt.sum(axis=1), eq.sum(axis=1)


# ---------------------------------------------------------------------------------------------- result
@dataclass
class EvalResult:
    """What :func:`evaluate` returns.

    ``metrics`` maps names (``"hr@10"``, ``"ndcg@10"``, ``"mrr"``, ``"auc"``, ...) to floats averaged over
    users; ``per_user`` has one row per evaluated user (``user_idx``, per-user metrics, ``num_train`` = the
    user's training interactions, for breakdowns by activity); ``seconds`` is the wall time of the evaluation.
    ``per_user["rank"]`` is 0-based: for ``"sampled"`` the expected number of candidates scored above the held-out
    item (1-based rank ``r = rank + 1``); for ``"full"`` the 0-based position of the first relevant item in the
    top K, or ``K`` when none is in it.
    """

    metrics: dict[str, float]
    per_user: pd.DataFrame
    protocol: str
    k: int
    num_negatives: int | None
    seconds: float
    model_name: str = ""
    extra: dict = field(default_factory=dict)

    def __getitem__(self, key: str) -> float:
        return self.metrics[key]

    @property
    def hr(self) -> float:
        return self.metrics[f"hr@{self.k}"]

    @property
    def ndcg(self) -> float:
        return self.metrics[f"ndcg@{self.k}"]

    def row(self, name: str | None = None) -> dict:
        """One table row: ``{"model": name, **metrics}``."""
        return {"model": name or self.model_name, **self.metrics}

    def by_activity(self, bins=(0, 10, 20, 50, 100, 200, np.inf), metric: str | None = None) -> pd.DataFrame:
        """Mean per-user metric by bucket of training activity (lesson 02: users with little history do worst).

        Returns a DataFrame ``bucket, users, <metric>`` with buckets like ``"20-49"``.
        """
        metric = metric or ("hr" if "hr" in self.per_user.columns else self.per_user.columns[-1])
        edges = list(bins)
        labels = [
            f"{int(lo)}-{int(hi) - 1}" if np.isfinite(hi) else f"{int(lo)}+" for lo, hi in zip(edges[:-1], edges[1:])
        ]
        bucket = pd.cut(self.per_user["num_train"], edges, right=False, labels=labels)
        out = self.per_user.groupby(bucket, observed=True)[metric].agg(["size", "mean"]).reset_index()
        return out.rename(columns={"num_train": "bucket", "size": "users", "mean": metric})

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v:.4f}" for k, v in self.metrics.items())
        neg = f", {self.num_negatives} negatives" if self.num_negatives else ""
        return f"EvalResult({self.protocol}{neg}: {body}; {len(self.per_user)} users, {self.seconds:.2f}s)"


# ---------------------------------------------------------------------------------------------- entry point
def evaluate(
    model,
    split,
    protocol: str = "sampled",
    k: int = 10,
    *,
    which: str = "test",
    num_negatives: int | None = None,
    seed: int = 0,
    max_rows_per_batch: int = 2_000_000,
    name: str | None = None,
) -> EvalResult:
    """Score ``model`` on ``split`` with one of :data:`PROTOCOLS` (see the module docstring). Lesson 02.

    Parameters
    ----------
    model : anything with ``score(user_idx, item_idx) -> float [n]``; ``score_all(user_idx) -> [n, num_items]``
        is used for full ranking when present.
    split : a :class:`ncf_helpers.data.Split`.
    k : cut-off for HR@K, NDCG@K, precision@K, recall@K (positive int).
    which : ``"test"`` or ``"valid"`` (the validation rows of a split made with ``validation=True``).
    num_negatives : for ``"sampled"``, use only the first ``num_negatives`` of the stored negatives (lesson 06
        shows HR@10 as this grows). Default: all of them.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}; choose one of {PROTOCOLS}.")
    k = check_k(k)
    if which not in ("test", "valid"):
        raise ValueError(f"which must be 'test' or 'valid', got {which!r}.")
    rows = split.test if which == "test" else split.valid
    negatives = split.test_negatives if which == "test" else split.valid_negatives
    if rows is None or len(rows) == 0:
        raise ValueError(
            f"The split has no {which} rows to evaluate. Make it with leave_last_one_out(..., validation=True) "
            "for 'valid', and check that users have at least two positives."
        )
    if not hasattr(model, "score"):
        raise ValueError(f"{type(model).__name__} has no score(user_idx, item_idx) method; wrap it in a Recommender.")
    start = time.perf_counter()
    train_counts = np.bincount(split.train["user_idx"].to_numpy(np.int64), minlength=split.num_users)
    if protocol == "sampled":
        if negatives is None:
            raise ValueError(
                "This split has no sampled negatives (a random split, or num_negatives=0). Use protocol='full', "
                "or make the split with leave_last_one_out(..., num_negatives=99)."
            )
        result = _sampled(model, rows, negatives, k, num_negatives)
    elif protocol == "full":
        result = _full(model, split, rows, k, max_rows_per_batch, seed)
    elif protocol == "rating":
        result = _rating(model, rows)
    else:
        result = _labels(model, rows)
    metrics, per_user = result
    per_user.insert(1, "num_train", train_counts[per_user["user_idx"].to_numpy(np.int64)])
    return EvalResult(
        metrics=metrics,
        per_user=per_user,
        protocol=protocol,
        k=k,
        num_negatives=(negatives.shape[1] if num_negatives is None else num_negatives)
        if protocol == "sampled"
        else None,
        seconds=time.perf_counter() - start,
        model_name=name or getattr(model, "name", type(model).__name__),
    )


def _checked_scores(model, u, i) -> np.ndarray:
    s = np.asarray(model.score(u, i), dtype=np.float64).reshape(-1)
    if s.shape[0] != len(u):
        raise ValueError(
            f"{type(model).__name__}.score returned {s.shape[0]} scores for {len(u)} (user, item) pairs; it must "
            "return exactly one score per pair."
        )
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{type(model).__name__}.score returned NaN or infinite scores; check the model's training.")
    return s


def _summarise(per: dict[str, np.ndarray], k: int) -> dict[str, float]:
    names = {
        "hr": f"hr@{k}",
        "ndcg": f"ndcg@{k}",
        "rr": "mrr",
        "auc": "auc",
        "precision": f"precision@{k}",
        "recall": f"recall@{k}",
    }
    return {names[key]: float(np.mean(v)) for key, v in per.items() if key in names}


def _sampled(model, rows: pd.DataFrame, negatives: np.ndarray, k: int, num_negatives: int | None):
    users = rows["user_idx"].to_numpy(np.int64)
    targets = rows["item_idx"].to_numpy(np.int64)
    neg = negatives if num_negatives is None else negatives[:, : int(num_negatives)]
    if num_negatives is not None and not 0 <= num_negatives <= negatives.shape[1]:
        raise ValueError(f"num_negatives must be between 0 and the {negatives.shape[1]} stored in the split.")
    if neg.shape[0] != len(users):
        raise ValueError(
            f"The split has {neg.shape[0]} rows of negatives for {len(users)} test rows; remake the split."
        )
    cand = np.concatenate([targets[:, None], neg], axis=1)  # [n, 1 + num_negatives], target first
    s = _checked_scores(model, np.repeat(users, cand.shape[1]), cand.reshape(-1)).reshape(cand.shape)
    g, e = _count_beats(s[:, 1:], s[:, 0])
    per = metrics_from_counts(g, e, cand.shape[1], k)
    per["precision"] = per["hr"] / k
    per["recall"] = per["hr"]
    frame = pd.DataFrame(
        {"user_idx": users, "item_idx": targets, **{key: per[key] for key in ("rank", "hr", "ndcg", "rr", "auc")}}
    )
    return _summarise(per, k), frame


def _score_rows(model, users: np.ndarray, num_items: int) -> np.ndarray:
    if hasattr(model, "score_all"):
        s = np.asarray(model.score_all(users), dtype=np.float64)
        if s.shape != (len(users), num_items):
            raise ValueError(f"score_all returned shape {s.shape}; expected {(len(users), num_items)}.")
        if not np.all(np.isfinite(s)):
            raise ValueError(f"{type(model).__name__}.score_all returned NaN or infinite scores.")
        return s
    items = np.tile(np.arange(num_items, dtype=np.int64), len(users))
    return _checked_scores(model, np.repeat(users, num_items), items).reshape(len(users), num_items)


def _full(model, split, rows: pd.DataFrame, k: int, max_rows: int, seed: int):
    n_items = split.num_items
    rel = positives(rows)
    if len(rel) == 0:
        raise ValueError("No relevant (label == 1) test rows to rank.")
    rel_u = rel["user_idx"].to_numpy(np.int64)
    rel_i = rel["item_idx"].to_numpy(np.int64)
    users, first = np.unique(rel_u, return_index=True)
    counts = np.bincount(rel_u, minlength=split.num_users)[users]
    single = bool(np.all(counts == 1))
    # Everything the user is known to like except the items being ranked is excluded from the candidates.
    known = split.positive_keys()
    rel_keys = np.unique(rel_u * n_items + rel_i)
    rng = np.random.default_rng(seed)
    batch = max(1, max_rows // n_items)
    out = {key: [] for key in ("hr", "ndcg", "rr", "auc", "rank", "precision", "recall")}
    for lo in range(0, len(users), batch):
        bu = users[lo : lo + batch]
        s = _score_rows(model, bu, n_items)
        excl = _mask_from_keys(known, bu, n_items)
        relevant = _mask_from_keys(rel_keys, bu, n_items)
        rrow, rcols = np.nonzero(relevant)
        excl &= ~relevant
        valid = ~excl
        n_cand = valid.sum(axis=1)
        if single:
            target = s[rrow, rcols]
            others = valid.copy()
            others[rrow, rcols] = False
            g, e = _count_beats(s, target, others)
            per = metrics_from_counts(g, e, n_cand, k)
            per["precision"] = per["hr"] / k
            per["recall"] = per["hr"]
        else:
            # Several relevant items: top-K list with ties broken at random. Each row's columns are put in a
            # seeded random order first (independently per user); any choice among tied items that depends
            # only on position is then a uniform one, so an O(num_items) partition replaces a full row sort.
            kk = min(k, n_items)
            perm = rng.permuted(np.tile(np.arange(n_items), (len(bu), 1)), axis=1)
            neg_s = np.take_along_axis(np.where(valid, -s, np.inf), perm, axis=1)
            top = np.argpartition(neg_s, kk - 1, axis=1)[:, :kk]
            top.sort(axis=1)  # by position in the random order, so the stable sort below keeps it for ties
            top = np.take_along_axis(
                top, np.argsort(np.take_along_axis(neg_s, top, axis=1), axis=1, kind="stable"), axis=1
            )
            order = np.take_along_axis(perm, top, axis=1)
            hits = np.take_along_axis(relevant, order, axis=1)
            if kk < k:
                hits = np.pad(hits, ((0, 0), (0, k - kk)))
            n_rel = relevant.sum(axis=1)
            disc = 1.0 / np.log2(np.arange(k) + 2.0)
            dcg = (hits * disc).sum(axis=1)
            idcg = _prefix(disc)[np.minimum(n_rel, k)]
            first_hit = np.where(hits.any(axis=1), hits.argmax(axis=1), -1)
            per = {
                "hr": hits.any(axis=1).astype(float),
                "ndcg": dcg / idcg,
                "rr": np.where(first_hit >= 0, 1.0 / (np.maximum(first_hit, 0) + 1.0), 0.0),
                "precision": hits.sum(axis=1) / k,
                "recall": hits.sum(axis=1) / n_rel,
                "rank": np.where(first_hit >= 0, first_hit, k).astype(float),
                "auc": _multi_auc(s, relevant, valid),
            }
        for key in out:
            out[key].append(per[key])
    per = {key: np.concatenate(v) for key, v in out.items()}
    frame = pd.DataFrame(
        {"user_idx": users, **{key: per[key] for key in ("rank", "hr", "ndcg", "rr", "auc", "precision", "recall")}}
    )
    if single:
        frame.insert(1, "item_idx", rel_i[first])
    return _summarise(per, k), frame


def _mask_from_keys(keys: np.ndarray, users: np.ndarray, num_items: int) -> np.ndarray:
    """Boolean ``[len(users), num_items]``: True where ``user * num_items + item`` is in the sorted ``keys``."""
    lo = np.searchsorted(keys, users * num_items)
    hi = np.searchsorted(keys, (users + 1) * num_items)
    lengths = hi - lo
    rows = np.repeat(np.arange(len(users)), lengths)
    idx = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths) + np.repeat(lo, lengths)
    mask = np.zeros((len(users), num_items), dtype=bool)
    mask[rows, keys[idx] - users[rows] * num_items] = True
    return mask


def _row_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks within each row of ``x`` (ascending), ties getting their average rank (like
    ``scipy.stats.rankdata(method="average", axis=1)``, without importing scipy.stats)."""
    n = x.shape[1]
    order = np.argsort(x, axis=1, kind="stable")
    xs = np.take_along_axis(x, order, axis=1)
    pos = np.arange(n)
    new = np.ones(xs.shape, dtype=bool)
    new[:, 1:] = xs[:, 1:] != xs[:, :-1]  # first position of each group of equal values
    last = np.ones(xs.shape, dtype=bool)
    last[:, :-1] = new[:, 1:]  # last position of each group
    start = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
    end = np.minimum.accumulate(np.where(last, pos, n)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty(x.shape)
    np.put_along_axis(ranks, order, (start + end) / 2.0 + 1.0, axis=1)
    return ranks


def _multi_auc(s: np.ndarray, relevant: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per-row AUC: chance a relevant candidate outscores an irrelevant one (ties count 1/2); 1.0 for a row
    with no irrelevant candidate. Rank-sum formula on every row at once: invalid items get ``-inf``, so they
    take the lowest ranks and shift every candidate's rank by their number."""
    ranks = _row_ranks(np.where(valid, s, -np.inf))
    n_invalid = (~valid).sum(axis=1)
    n_pos = relevant.sum(axis=1)
    n_neg = valid.sum(axis=1) - n_pos
    pos_ranks = np.where(relevant, ranks, 0.0).sum(axis=1) - n_pos * n_invalid
    u_stat = pos_ranks - n_pos * (n_pos + 1) / 2.0
    return np.divide(u_stat, n_pos * n_neg, out=np.ones(len(s)), where=(n_pos * n_neg) > 0)


def _rating(model, rows: pd.DataFrame):
    if "rating" not in rows.columns:
        raise ValueError("protocol='rating' needs a 'rating' column in the test rows (use random_split on ratings).")
    u = rows["user_idx"].to_numpy(np.int64)
    i = rows["item_idx"].to_numpy(np.int64)
    err = _checked_scores(model, u, i) - rows["rating"].to_numpy(np.float64)
    frame = pd.DataFrame({"user_idx": u, "sq": err**2, "abs": np.abs(err)}).groupby("user_idx", as_index=False).mean()
    frame["rmse"] = np.sqrt(frame.pop("sq"))
    frame = frame.rename(columns={"abs": "mae"})
    return {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}, frame


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC-AUC by the rank-sum formula, ties counting 1/2. ``nan`` when only one class is present."""
    labels = np.asarray(labels).astype(bool)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _pr_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve, step-wise), ties grouped."""
    labels = np.asarray(labels).astype(bool)
    if labels.sum() == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    # group tied scores: precision/recall evaluated at the end of each tie group
    ends = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    tp = np.cumsum(y)[ends]
    fp = (ends + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / labels.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _labels(model, rows: pd.DataFrame):
    if "label" not in rows.columns:
        raise ValueError("protocol='labels' needs a 'label' column: make the split from to_implicit(ratings).")
    u = rows["user_idx"].to_numpy(np.int64)
    i = rows["item_idx"].to_numpy(np.int64)
    y = rows["label"].to_numpy().astype(int)
    s = _checked_scores(model, u, i)
    threshold = 0.5 if (s.min() >= 0 and s.max() <= 1) else 0.0
    acc = (s >= threshold) == y.astype(bool)
    frame = pd.DataFrame({"user_idx": u, "correct": acc.astype(float)}).groupby("user_idx", as_index=False).mean()
    return {"accuracy": float(acc.mean()), "roc_auc": _auc(y, s), "pr_auc": _pr_auc(y, s)}, frame


def compare(models: dict, split, protocol: str = "sampled", k: int = 10, **kwargs) -> pd.DataFrame:
    """Evaluate several fitted models on one split: a DataFrame with one row per model (lessons 02-06)."""
    rows = []
    for label, model in models.items():
        res = evaluate(model, split, protocol=protocol, k=k, name=label, **kwargs)
        rows.append({**res.row(label), "eval_seconds": res.seconds})
    return pd.DataFrame(rows).set_index("model")


def paired_bootstrap(a, b, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    """Mean of ``a - b`` over users and seeds, with a bootstrap interval over users AND seeds (lesson 06).

    ``a``: float ``[seeds_a, users]``, one row per training seed of model A, one column per test user (e.g.
    hits 0/1); ``b``: ``[seeds_b, users]``, the same users in the same column order. Every resample draws the
    users with replacement (the same users for both models: paired) and, independently, ``seeds_a`` of A's
    rows and ``seeds_b`` of B's rows with replacement (the two models' seeds are unrelated); its statistic is
    the mean over the drawn users of (A's mean over its drawn seeds - B's mean over its drawn seeds). A model
    with one row (deterministic) contributes no seed noise.

    Returns ``{"difference", "low", "high", "users", "seeds_a", "seeds_b", "excludes_zero"}``: the observed
    mean difference, the ``level`` percentile interval and whether it lies entirely above or below 0.
    Worked example: ``a = [[1, 1], [0, 0]]`` (seed 0 hits both users, seed 1 neither), ``b = [[0, 0]]``: the
    difference is 0.5; the drawn seeds are (0, 0), (0, 1), (1, 0) or (1, 1), giving 1, 0.5, 0.5, 0 with
    probability 1/4 each, so the 95 % interval is [0, 1], although resampling the users alone would give
    [0.5, 0.5].
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or a.size == 0 or b.size == 0:
        raise ValueError(
            f"paired_bootstrap needs a [seeds_a, users] and b [seeds_b, users] over the same users; "
            f"got shapes {a.shape} and {b.shape}."
        )
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("paired_bootstrap got NaN or infinite values; every (seed, user) needs a score.")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1, got {level}.")
    n_boot = int(n_boot)
    if n_boot < 1:
        raise ValueError(f"n_boot must be a positive whole number, got {n_boot}.")
    rng = np.random.default_rng(seed)
    n_users = a.shape[1]
    diffs = np.empty(n_boot)
    chunk = max(1, 2_000_000 // max(1, n_users * (a.shape[0] + b.shape[0])))
    for lo in range(0, n_boot, chunk):
        m = min(chunk, n_boot - lo)
        users = rng.integers(0, n_users, size=(m, n_users))
        sa = rng.integers(0, a.shape[0], size=(m, a.shape[0]))
        sb = rng.integers(0, b.shape[0], size=(m, b.shape[0]))
        mean_a = a[sa].mean(axis=1)  # [m, users]: A's mean over the drawn seeds, per user
        mean_b = b[sb].mean(axis=1)
        diffs[lo : lo + m] = np.take_along_axis(mean_a - mean_b, users, axis=1).mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    diff = float(a.mean() - b.mean())
    return {
        "difference": diff,
        "low": float(low),
        "high": float(high),
        "users": int(n_users),
        "seeds_a": int(a.shape[0]),
        "seeds_b": int(b.shape[0]),
        "excludes_zero": bool(low > 0 or high < 0),
    }


# ---------------------------------------------------------------------------------------------- protocols
# Lesson 06 (and its protocol explorer): the same models against 1, 2, ... sampled negatives, up to all items.
DEFAULT_NEGATIVES = (1, 2, 5, 9, 19, 49, 99, 199, 499, 999, "all")
"""Settings of the slider: sampled negatives per test item (1 + n candidates), and ``"all"`` (full ranking)."""


class _Silent:
    """The progress reporter when none is given (any object with ``start``, ``status``, ``update`` works:
    :class:`ncf_helpers.ui.base.Progress` drives a widget bar)."""

    def start(self, total, message=""):
        pass

    def status(self, message):
        pass

    def update(self, n=1, message=None):
        pass


def _rows(split, which: str):
    rows = split.test if which == "test" else split.valid
    negatives = split.test_negatives if which == "test" else split.valid_negatives
    if rows is None or len(rows) == 0:
        raise ValueError(f"The split has no {which} rows; make it with leave_last_one_out(...).")
    return rows, negatives


def max_negatives(split, which: str = "test") -> int:
    """The most negatives every ``which`` row can have: items the user never interacted with (int >= 0)."""
    rows, _ = _rows(split, which)
    users = rows["user_idx"].to_numpy(np.int64)
    keys = split.positive_keys()
    known = np.searchsorted(keys, (users + 1) * split.num_items) - np.searchsorted(keys, users * split.num_items)
    return int(split.num_items - known.max())


def extend_negatives(split, num_negatives: int, *, which: str = "test", seed: int = 0):
    """A copy of ``split`` whose ``which`` rows have ``num_negatives`` stored negatives each (lesson 06).

    The split's own negatives come first, unchanged, so ``evaluate(..., num_negatives=99)`` on the copy gives
    exactly the numbers of every other lesson; the extra ones are sampled (seeded) among items the user never
    interacted with and not already in the row. Returns ``split`` itself if it already stores enough.
    """
    from ncf_helpers.data import sample_negatives

    rows, stored = _rows(split, which)
    have = 0 if stored is None else stored.shape[1]
    num_negatives = int(num_negatives)
    if num_negatives <= have:
        return split
    limit = max_negatives(split, which)
    if num_negatives > limit:
        raise ValueError(
            f"At most {limit} negatives fit every {which} row (some user has interacted with all other "
            f"items); asked for {num_negatives}. Use fewer, or protocol='full' for all items."
        )
    users = rows["user_idx"].to_numpy(np.int64)
    keys = split.positive_keys()
    if have:
        # Exclude the stored negatives too; with several rows per user this is stricter than needed, never wrong.
        keys = np.union1d(keys, (users[:, None] * split.num_items + stored).reshape(-1))
    extra = sample_negatives(users, num_negatives - have, split.num_items, keys, np.random.default_rng(seed + 7919))
    wide = extra if not have else np.concatenate([stored, extra], axis=1)
    return dataclasses.replace(split, **{f"{which}_negatives": wide})


class ScoreTable:
    """Every item's score for a fixed set of users, computed once with ``model.score_all`` (float64
    ``[len(users), num_items]``), behind the ``score`` / ``score_all`` interface :func:`evaluate` needs. So a
    model is run once however many protocols are evaluated (Keras MLPs are slow to score)."""

    def __init__(self, model, users, num_items: int, *, batch_users: int = 256, name: str | None = None):
        users = np.unique(np.asarray(users, dtype=np.int64))
        self.users, self.num_items = users, int(num_items)
        self.name = name or getattr(model, "name", type(model).__name__)
        table = np.empty((len(users), self.num_items), dtype=np.float64)
        for lo in range(0, len(users), batch_users):
            block = np.asarray(model.score_all(users[lo : lo + batch_users]), dtype=np.float64)
            if block.shape != (len(users[lo : lo + batch_users]), self.num_items):
                raise ValueError(
                    f"{self.name}.score_all returned shape {block.shape}; expected "
                    f"({len(users[lo : lo + batch_users])}, {self.num_items})."
                )
            table[lo : lo + len(block)] = block
        self.table = table
        self._row = np.full(int(users.max()) + 1 if len(users) else 0, -1, dtype=np.int64)
        self._row[users] = np.arange(len(users))

    def _rows_of(self, user_idx) -> np.ndarray:
        u = np.asarray(user_idx, dtype=np.int64)
        rows = np.where(u < len(self._row), self._row[np.minimum(u, len(self._row) - 1)], -1)
        if np.any(rows < 0):
            raise ValueError("ScoreTable only holds the users it was built for (the evaluated rows' users).")
        return rows

    def score(self, user_idx, item_idx) -> np.ndarray:
        return self.table[self._rows_of(user_idx), np.asarray(item_idx, dtype=np.int64)]

    def score_all(self, user_idx) -> np.ndarray:
        return self.table[self._rows_of(np.atleast_1d(user_idx))]


def _is_count(n) -> bool:
    try:
        whole_number(n, "n")
    except ValueError:
        return False
    return True


def protocol_curve(
    models: dict, split, negatives=DEFAULT_NEGATIVES, *, k: int = 10, which: str = "test", seed: int = 0, progress=None
) -> pd.DataFrame:
    """HR@k, NDCG@k, MRR and AUC of every model with 1, 2, ... sampled negatives and with all items (lesson 06).

    ``models``: ``{name: fitted model}`` (anything :func:`ncf_helpers.evaluate.evaluate` takes, with
    ``score_all``). ``negatives``: ints (sampled negatives per held-out item; the split is widened with
    :func:`extend_negatives` when it stores fewer) and ``"all"`` (``protocol="full"``). Settings larger than
    any user's number of unseen items are skipped.

    Returns a DataFrame with one row per (model, setting): ``model``, ``num_negatives`` (str: ``"99"`` or
    ``"all"``), ``candidates`` (items ranked per user: ``n + 1``, or the mean for ``"all"``), ``hr@k``,
    ``ndcg@k``, ``mrr``, ``auc`` (floats in ``[0, 1]``).
    """
    if not models:
        raise ValueError("protocol_curve needs at least one model: {'name': fitted_model, ...}.")
    progress = progress or _Silent()
    bad = [n for n in negatives if n != "all" and not _is_count(n)]
    if bad:
        raise ValueError(f"negatives must be positive whole numbers or 'all'; got {bad}.")
    limit = max_negatives(split, which)
    sampled = sorted({int(n) for n in negatives if n != "all" and int(n) <= limit})
    wide = extend_negatives(split, max(sampled), which=which, seed=seed) if sampled else split
    rows, _ = _rows(split, which)
    users = rows["user_idx"].to_numpy(np.int64)
    keys = split.positive_keys()
    known = np.searchsorted(keys, (users + 1) * split.num_items) - np.searchsorted(keys, users * split.num_items)
    full_candidates = int(round(float(np.mean(split.num_items - known + 1))))
    out = []
    progress.start(len(models), "Scoring every item once per model ...")
    for name, model in models.items():
        progress.status(f"Scoring all items with {name} ...")
        table = ScoreTable(model, users, split.num_items, name=name)
        for n in sampled:
            res = evaluate(table, wide, k=k, which=which, num_negatives=n)
            out.append({"model": name, "num_negatives": str(n), "candidates": n + 1, **_pick(res.metrics, k)})
        if "all" in negatives:
            res = evaluate(table, split, protocol="full", k=k, which=which)
            out.append({"model": name, "num_negatives": "all", "candidates": full_candidates, **_pick(res.metrics, k)})
        progress.update(1)
    return pd.DataFrame(out)


def _pick(metrics: dict, k: int) -> dict:
    return {key: float(metrics[key]) for key in (f"hr@{k}", f"ndcg@{k}", "mrr", "auc")}
