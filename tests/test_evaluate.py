"""ncf_helpers.evaluate: the one evaluation harness (lesson 02), checked by hand and against naive loops."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ncf_helpers.classic import ItemCF, Popularity
from ncf_helpers.data import Split, leave_last_one_out, random_split, to_implicit
from ncf_helpers.evaluate import PROTOCOLS, EvalResult, compare, evaluate, metrics_from_counts


class Table:
    """A model whose scores are a fixed ``[num_users, num_items]`` table (``score`` only)."""

    name = "table"

    def __init__(self, s):
        self.s = np.asarray(s, dtype=float)

    def score(self, user_idx, item_idx):
        return self.s[np.asarray(user_idx), np.asarray(item_idx)]


class TableAll(Table):
    """The same with ``score_all`` (the fast path for full ranking)."""

    def score_all(self, user_idx):
        return self.s[np.asarray(user_idx)]


# ---------------------------------------------------------------------------------------------- naive references
def naive_rank_metrics(target: float, others: np.ndarray, k: int) -> dict[str, float]:
    """Expected HR@K, NDCG@K, RR, AUC of one relevant item among ``others`` with a uniformly random tie-break:
    enumerate every position the item can take."""
    greater = sum(1 for o in others if o > target)
    ties = sum(1 for o in others if o == target)
    positions = range(greater, greater + ties + 1)
    hr = sum(1.0 for p in positions if p < k) / len(positions)
    ndcg = sum(1.0 / math.log2(p + 2) for p in positions if p < k) / len(positions)
    rr = sum(1.0 / (p + 1) for p in positions) / len(positions)
    auc = sum(1.0 if target > o else 0.5 if target == o else 0.0 for o in others) / max(len(others), 1)
    return {"hr": hr, "ndcg": ndcg, "rr": rr, "auc": auc}


def known_positives(split: Split) -> dict[int, set]:
    known: dict[int, set] = {}
    for frame in (split.train, split.valid, split.test):
        if frame is None:
            continue
        if "label" in frame.columns:
            frame = frame[frame["label"] == 1]
        for u, i in zip(frame["user_idx"], frame["item_idx"]):
            known.setdefault(int(u), set()).add(int(i))
    return known


# ---------------------------------------------------------------------------------------------- hand cases
def hand_split() -> Split:
    """3 users, 30 items, 5 sampled negatives each. Training rows: user 0 has 2, user 1 has 1, user 2 has 3."""
    train = pd.DataFrame({"user_idx": [0, 0, 1, 2, 2, 2], "item_idx": [3, 4, 5, 6, 7, 8]})
    test = pd.DataFrame({"user_idx": [0, 1, 2], "item_idx": [0, 1, 2]})
    negatives = np.array([[10, 11, 12, 13, 14], [15, 16, 17, 18, 19], [20, 21, 22, 23, 24]])
    return Split(3, 30, train, test, test_negatives=negatives)


def hand_scores() -> np.ndarray:
    s = np.zeros((3, 30))
    s[0, 0], s[0, 10:15] = 0.9, [0.1, 0.2, 0.3, 0.4, 0.5]  # user 0: target first
    s[1, 1], s[1, 15:20] = 0.5, [0.9, 0.8, 0.4, 0.3, 0.2]  # user 1: two negatives above -> rank 2 (0-based)
    s[2, :] = 0.5  # user 2: a constant row, the target ties with all 5 negatives
    return s


def test_metrics_from_counts_by_hand():
    # Rank 2 (two items above), 100 candidates: hr@10 = 1, ndcg@10 = 1/log2(2+2) = 0.5, rr = 1/3,
    # auc = (99 - 2) / 99
    m = metrics_from_counts(np.array([2]), np.array([0]), 100, 10)
    assert m["hr"][0] == 1 and m["ndcg"][0] == pytest.approx(0.5) and m["rr"][0] == pytest.approx(1 / 3)
    assert m["auc"][0] == pytest.approx(97 / 99) and m["rank"][0] == 2
    # HR@K boundary: rank 9 is the 10th place (hit, ndcg = 1/log2(11)); rank 10 is out (rr still 1/11)
    m = metrics_from_counts(np.array([9, 10]), np.array([0, 0]), 100, 10)
    np.testing.assert_allclose(m["hr"], [1, 0])
    np.testing.assert_allclose(m["ndcg"], [1 / math.log2(11), 0])
    np.testing.assert_allclose(m["rr"], [1 / 10, 1 / 11])
    # Ties: 8 above, tied with 3 -> positions 8, 9, 10, 11 equally likely: hr@10 = 2/4,
    # ndcg = (1/log2(10) + 1/log2(11)) / 4, rr = (1/9 + 1/10 + 1/11 + 1/12) / 4, auc = (99 - 8 - 1.5) / 99
    m = metrics_from_counts(np.array([8]), np.array([3]), 100, 10)
    assert m["hr"][0] == pytest.approx(0.5)
    assert m["ndcg"][0] == pytest.approx((1 / math.log2(10) + 1 / math.log2(11)) / 4)
    assert m["rr"][0] == pytest.approx((1 / 9 + 1 / 10 + 1 / 11 + 1 / 12) / 4)
    assert m["auc"][0] == pytest.approx(89.5 / 99) and m["rank"][0] == 9.5
    # A constant model: tied with all 99 negatives -> hr@10 = 10/100, auc = 1/2,
    # mrr = (1 + 1/2 + ... + 1/100) / 100, ndcg = (sum of 1/log2(r + 2), r < 10) / 100
    m = metrics_from_counts(np.array([0]), np.array([99]), 100, 10)
    assert m["hr"][0] == pytest.approx(0.1) and m["auc"][0] == pytest.approx(0.5)
    assert m["rr"][0] == pytest.approx(sum(1 / r for r in range(1, 101)) / 100)
    assert m["ndcg"][0] == pytest.approx(sum(1 / math.log2(r + 2) for r in range(10)) / 100)


@pytest.mark.parametrize("model_cls", [Table, TableAll])
def test_sampled_by_hand(model_cls):
    res = evaluate(model_cls(hand_scores()), hand_split(), "sampled", k=3)
    assert isinstance(res, EvalResult) and res.protocol == "sampled" and res.num_negatives == 5
    # user 0: rank 0 -> hr 1, ndcg 1, rr 1, auc 5/5
    # user 1: rank 2 -> hr@3 1, ndcg 1/log2(4) = 0.5, rr 1/3, auc 3/5
    # user 2: tied with 5 -> positions 0..5: hr@3 = 3/6, ndcg = (1 + 1/log2(3) + 1/log2(4)) / 6,
    #         rr = (1 + 1/2 + 1/3 + 1/4 + 1/5 + 1/6) / 6 = 2.45 / 6, auc = 1/2
    nd2 = (1 + 1 / math.log2(3) + 0.5) / 6
    assert res.metrics["hr@3"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert res.metrics["ndcg@3"] == pytest.approx((1 + 0.5 + nd2) / 3)
    assert res.metrics["mrr"] == pytest.approx((1 + 1 / 3 + 2.45 / 6) / 3)
    assert res.metrics["auc"] == pytest.approx((1 + 0.6 + 0.5) / 3)
    assert res.hr == res["hr@3"] and res.ndcg == res["ndcg@3"]
    np.testing.assert_allclose(res.per_user["rank"], [0, 2, 2.5])
    np.testing.assert_array_equal(res.per_user["num_train"], [2, 1, 3])
    np.testing.assert_array_equal(res.per_user["item_idx"], [0, 1, 2])
    # k = 2: user 1's rank 2 falls out -> hr 0, ndcg 0; user 2: 2 of 6 positions -> 1/3
    res2 = evaluate(model_cls(hand_scores()), hand_split(), "sampled", k=2)
    assert res2.metrics["hr@2"] == pytest.approx((1 + 0 + 2 / 6) / 3)
    assert res2.metrics["ndcg@2"] == pytest.approx((1 + 0 + (1 + 1 / math.log2(3)) / 6) / 3)
    # only the first 2 negatives: user 1 (target 0.5 vs 0.9, 0.8) is at rank 2 = last of 3
    res3 = evaluate(model_cls(hand_scores()), hand_split(), "sampled", k=3, num_negatives=2)
    assert res3.num_negatives == 2
    assert res3.per_user["rank"].tolist() == [0, 2, 1.0]  # user 2: tied with 2 -> positions 0..2, mean 1


@pytest.mark.parametrize("model_cls", [Table, TableAll])
def test_full_by_hand(model_cls):
    # One user, 6 items: item 0 in training (scored 10, must be excluded), item 1 held out (0.5).
    # Candidates: items 1..5 with scores 0.5, 0.7, 0.2, 0.5, 0.1 -> one above (0.7), one tie (item 4)
    # -> positions 1 or 2: hr@2 = 1/2, ndcg@2 = (1/log2(3) + 0) / 2, rr = (1/2 + 1/3) / 2,
    #    auc = (4 - 1 - 0.5) / 4 = 0.625 (win vs 0.2 and 0.1, tie vs 0.5, loss vs 0.7)
    split = Split(
        1, 6, pd.DataFrame({"user_idx": [0], "item_idx": [0]}), pd.DataFrame({"user_idx": [0], "item_idx": [1]})
    )
    s = np.array([[10.0, 0.5, 0.7, 0.2, 0.5, 0.1]])
    res = evaluate(model_cls(s), split, "full", k=2)
    assert res.metrics["hr@2"] == pytest.approx(0.5)
    assert res.metrics["ndcg@2"] == pytest.approx(0.5 / math.log2(3))
    assert res.metrics["mrr"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert res.metrics["auc"] == pytest.approx(0.625)
    # one relevant item: precision@2 = hr / 2, recall = hr
    assert res.metrics["precision@2"] == pytest.approx(0.25) and res.metrics["recall@2"] == pytest.approx(0.5)


def test_constant_model_scores_like_random_guessing(synthetic):
    split = leave_last_one_out(synthetic, num_negatives=99, threshold=3.5)
    const = Table(np.zeros((split.num_users, split.num_items)))
    res = evaluate(const, split, "sampled", k=10)
    assert res.hr == pytest.approx(10 / 100) and res["auc"] == pytest.approx(0.5)
    full = evaluate(TableAll(const.s), split, "full", k=10)
    # full ranking: each user's held-out item is tied with all n_u candidates -> hr = 10 / n_u
    known = known_positives(split)
    expect = np.mean([10 / (split.num_items - len(known[u]) + 1) for u in split.test["user_idx"]])
    assert full.hr == pytest.approx(expect)


# ---------------------------------------------------------------------------------------------- brute force
@pytest.mark.parametrize("which", ["test", "valid"])
def test_sampled_matches_naive_loop(synthetic, which):
    split = leave_last_one_out(synthetic, num_negatives=30, seed=2, threshold=3.5, validation=True)
    rng = np.random.default_rng(0)
    s = rng.integers(0, 15, (split.num_users, split.num_items)).astype(float)  # many ties
    res = evaluate(Table(s), split, "sampled", k=5, which=which)
    rows = split.test if which == "test" else split.valid
    negs = split.test_negatives if which == "test" else split.valid_negatives
    per = [
        naive_rank_metrics(s[u, i], s[u, negs[r]], 5)
        for r, (u, i) in enumerate(zip(rows["user_idx"], rows["item_idx"]))
    ]
    for key, name in (("hr", "hr@5"), ("ndcg", "ndcg@5"), ("rr", "mrr"), ("auc", "auc")):
        assert res.metrics[name] == pytest.approx(np.mean([p[key] for p in per]), abs=1e-12), name
        np.testing.assert_allclose(res.per_user[key], [p[key] for p in per], atol=1e-12)
    # the first 7 negatives only
    res7 = evaluate(Table(s), split, "sampled", k=5, which=which, num_negatives=7)
    hr7 = np.mean(
        [
            naive_rank_metrics(s[u, i], s[u, negs[r, :7]], 5)["hr"]
            for r, (u, i) in enumerate(zip(rows["user_idx"], rows["item_idx"]))
        ]
    )
    assert res7.hr == pytest.approx(hr7, abs=1e-12)


def test_full_single_item_matches_naive_loop(synthetic):
    split = leave_last_one_out(synthetic, num_negatives=0, threshold=3.5)
    rng = np.random.default_rng(1)
    s = rng.integers(0, 40, (split.num_users, split.num_items)).astype(float)
    known = known_positives(split)
    per = []
    for u, i in zip(split.test["user_idx"], split.test["item_idx"]):
        others = [j for j in range(split.num_items) if j not in known[u]]  # target is known, so not here
        per.append(naive_rank_metrics(s[u, i], s[u, others], 10))
    # a small batch size forces several batches
    for model, batch in ((Table(s), 2_000_000), (TableAll(s), 4000)):
        res = evaluate(model, split, "full", k=10, max_rows_per_batch=batch)
        for key, name in (("hr", "hr@10"), ("ndcg", "ndcg@10"), ("rr", "mrr"), ("auc", "auc")):
            assert res.metrics[name] == pytest.approx(np.mean([p[key] for p in per]), abs=1e-12), name


def test_full_multi_relevant_matches_naive_loop(synthetic):
    data = to_implicit(synthetic.ratings, 3.5)
    split = random_split(data, 0.2, seed=3, num_users=synthetic.num_users, num_items=synthetic.num_items)
    rng = np.random.default_rng(2)
    s = rng.random((split.num_users, split.num_items))  # continuous: no ties, so the order is unique
    k = 10
    known = known_positives(split)
    test_pos = split.test[split.test["label"] == 1]
    rel_by_user = test_pos.groupby("user_idx")["item_idx"].apply(set)
    disc = [1 / math.log2(r + 2) for r in range(k)]
    expect = {key: [] for key in ("hr", "ndcg", "rr", "precision", "recall", "auc")}
    for u, rel in rel_by_user.items():
        cand = [j for j in range(split.num_items) if j not in known[u] or j in rel]
        ranked = sorted(cand, key=lambda j: -s[u, j])
        hits = [1 if j in rel else 0 for j in ranked[:k]]
        expect["hr"].append(float(any(hits)))
        expect["ndcg"].append(sum(h * d for h, d in zip(hits, disc)) / sum(disc[: min(len(rel), k)]))
        expect["rr"].append(1 / (hits.index(1) + 1) if any(hits) else 0.0)
        expect["precision"].append(sum(hits) / k)
        expect["recall"].append(sum(hits) / len(rel))
        pos = [s[u, j] for j in cand if j in rel]
        neg = [s[u, j] for j in cand if j not in rel]
        expect["auc"].append(np.mean([[1.0 if p > n else 0.0 for n in neg] for p in pos]))
    res = evaluate(TableAll(s), split, "full", k=k)
    assert len(res.per_user) == len(rel_by_user)
    for key, name in (
        ("hr", "hr@10"),
        ("ndcg", "ndcg@10"),
        ("rr", "mrr"),
        ("precision", "precision@10"),
        ("recall", "recall@10"),
        ("auc", "auc"),
    ):
        assert res.metrics[name] == pytest.approx(np.mean(expect[key]), abs=1e-12), name
        np.testing.assert_allclose(res.per_user[key], expect[key], atol=1e-12)


def test_full_multi_relevant_breaks_ties_at_random():
    # 50 users x 40 items; everybody trained on items 0-4 and holds out items 35-39 (5 relevant among the 35
    # candidates 5..39). A constant model ties everything, so its top 10 must be a uniformly random 10 of the
    # 35: E[precision@10] = 5/35 = 0.1429, E[recall@10] = 10/35 = 0.2857, HR = 1 - C(30,10)/C(35,10) = 0.836.
    # A tie-break by item index would put the relevant items last (precision 0); by reverse index, first (0.5).
    users = np.repeat(np.arange(50), 5)
    train = pd.DataFrame({"user_idx": users, "item_idx": np.tile(np.arange(5), 50)})
    test = pd.DataFrame({"user_idx": users, "item_idx": np.tile(np.arange(35, 40), 50)})
    split = Split(50, 40, train, test, protocol="random")
    res = evaluate(TableAll(np.zeros((50, 40))), split, "full", k=10, seed=0)
    # sd of the mean over 50 users: precision 0.013, recall 0.027, hr 0.046
    assert res.metrics["precision@10"] == pytest.approx(5 / 35, abs=0.05)
    assert res.metrics["recall@10"] == pytest.approx(10 / 35, abs=0.1)
    assert res.metrics["hr@10"] == pytest.approx(1 - math.comb(30, 10) / math.comb(35, 10), abs=0.15)
    # AUC of a constant model is exactly 1/2 whatever the tie-break
    assert res.metrics["auc"] == pytest.approx(0.5)
    # deterministic by seed
    again = evaluate(TableAll(np.zeros((50, 40))), split, "full", k=10, seed=0)
    assert again.metrics == res.metrics


def test_recommenders_through_the_harness(synthetic):
    """A real model's metrics equal the naive computation on its own scores; full ranking via score_all
    equals full ranking via score()."""
    split = leave_last_one_out(synthetic, num_negatives=50, seed=1, threshold=3.5)
    for model in (Popularity().fit(split), ItemCF(k=20).fit(split)):
        s = model.score_all(np.arange(split.num_users))
        a = evaluate(model, split, "sampled")
        b = evaluate(Table(s), split, "sampled")
        assert a.metrics == pytest.approx(b.metrics, abs=1e-12)
        f1 = evaluate(model, split, "full")
        f2 = evaluate(Table(s), split, "full")
        assert f1.metrics == pytest.approx(f2.metrics, abs=1e-12)
        assert a.model_name == model.name
    # popularity is clearly better than chance on data with a planted popularity tail
    assert evaluate(Popularity().fit(split), split).hr > 0.2


# ---------------------------------------------------------------------------------------------- rating & labels
def test_rating_protocol_by_hand():
    train = pd.DataFrame({"user_idx": [0, 1], "item_idx": [0, 1], "rating": [3.0, 4.0]})
    test = pd.DataFrame({"user_idx": [0, 0, 1], "item_idx": [1, 2, 0], "rating": [4.0, 2.0, 3.0]})
    split = Split(2, 3, train, test, protocol="random")
    s = np.array([[0, 4.5, 1.0], [5.0, 0, 0]])
    # errors: 4.5 - 4 = 0.5, 1 - 2 = -1, 5 - 3 = 2 -> RMSE = sqrt((0.25 + 1 + 4) / 3) = sqrt(1.75) = 1.3229,
    # MAE = (0.5 + 1 + 2) / 3 = 1.1667; per user: user 0 RMSE sqrt((0.25 + 1) / 2), MAE 0.75; user 1: 2, 2
    res = evaluate(Table(s), split, "rating")
    assert res.metrics == pytest.approx({"rmse": math.sqrt(1.75), "mae": 3.5 / 3})
    pu = res.per_user.set_index("user_idx")
    assert pu.loc[0, "rmse"] == pytest.approx(math.sqrt(0.625)) and pu.loc[0, "mae"] == pytest.approx(0.75)
    assert pu.loc[1, "rmse"] == pytest.approx(2.0) and pu.loc[1, "num_train"] == 1
    with pytest.raises(ValueError, match="rating"):
        evaluate(Table(s), Split(2, 3, train, test.drop(columns="rating")), "rating")


def test_labels_protocol_by_hand():
    # labels 1, 0, 1, 0 with scores 0.9, 0.8, 0.3, 0.1:
    #   accuracy at 0.5: predictions 1, 1, 0, 0 -> right, wrong, wrong, right = 0.5
    #   ROC-AUC: positive/negative pairs (0.9 > 0.8) (0.9 > 0.1) (0.3 < 0.8) (0.3 > 0.1) -> 3/4
    #   PR-AUC (average precision): positives at ranks 1 and 3 -> (1/1 + 2/3) / 2 = 0.8333
    test = pd.DataFrame({"user_idx": [0, 0, 1, 1], "item_idx": [0, 1, 0, 1], "label": [1, 0, 1, 0]})
    split = Split(2, 2, test.iloc[:0], test, protocol="random")
    s = np.array([[0.9, 0.8], [0.3, 0.1]])
    res = evaluate(Table(s), split, "labels")
    assert res.metrics["accuracy"] == pytest.approx(0.5)
    assert res.metrics["roc_auc"] == pytest.approx(0.75)
    assert res.metrics["pr_auc"] == pytest.approx((1 + 2 / 3) / 2)
    # ties count 1/2 in ROC-AUC: all scores equal -> 0.5. For PR-AUC tied scores form one group, judged at
    # its end: precision 2/4 at recall 1 -> 0.5 (not the (1 + 2/3) / 2 of a lucky order 1, 0, 1, 0)
    const = evaluate(Table(np.full((2, 2), 0.7)), split, "labels").metrics
    assert const["roc_auc"] == pytest.approx(0.5) and const["pr_auc"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="label"):
        evaluate(Table(s), Split(2, 2, test.iloc[:0], test.drop(columns="label")), "labels")


def test_labels_protocol_matches_naive(synthetic):
    data = to_implicit(synthetic.ratings, 3.5)
    split = random_split(data, 0.2, seed=4, num_users=synthetic.num_users, num_items=synthetic.num_items)
    rng = np.random.default_rng(3)
    s = rng.random((split.num_users, split.num_items))
    res = evaluate(Table(s), split, "labels")
    y = split.test["label"].to_numpy()
    p = s[split.test["user_idx"], split.test["item_idx"]]
    assert res.metrics["accuracy"] == pytest.approx(np.mean((p >= 0.5) == (y == 1)))
    pos, neg = p[y == 1], p[y == 0]
    assert res.metrics["roc_auc"] == pytest.approx(np.mean(pos[:, None] > neg[None, :]))
    order = np.argsort(-p)
    ys = y[order]
    precision_at_hits = np.cumsum(ys)[ys == 1] / (np.flatnonzero(ys == 1) + 1)
    assert res.metrics["pr_auc"] == pytest.approx(precision_at_hits.mean())


# ---------------------------------------------------------------------------------------------- breakdowns, compare
def test_by_activity_buckets():
    res = evaluate(Table(hand_scores()), hand_split(), "sampled", k=3)
    # training rows per user: user 0: 2, user 1: 1, user 2: 3; hr@3: 1, 1, 0.5
    out = res.by_activity(bins=(0, 2, 3, np.inf))
    assert out["bucket"].astype(str).tolist() == ["0-1", "2-2", "3+"]
    assert out["users"].tolist() == [1, 1, 1]
    np.testing.assert_allclose(out["hr"], [1.0, 1.0, 0.5])
    both = res.by_activity(bins=(0, 3, np.inf), metric="ndcg")
    assert both["users"].tolist() == [2, 1]
    np.testing.assert_allclose(both["ndcg"], [(1 + 0.5) / 2, (1 + 1 / math.log2(3) + 0.5) / 6])


def test_compare_and_repr():
    table = compare({"good": Table(hand_scores()), "const": Table(np.zeros((3, 30)))}, hand_split(), k=3)
    assert table.index.tolist() == ["good", "const"]
    assert {"hr@3", "ndcg@3", "mrr", "auc", "eval_seconds"} <= set(table.columns)
    assert table.loc["const", "hr@3"] == pytest.approx(3 / 6)
    assert "hr@3" in repr(evaluate(Table(hand_scores()), hand_split(), k=3))


# ---------------------------------------------------------------------------------------------- bad input
class WrongShape(Table):
    def score(self, user_idx, item_idx):
        return super().score(user_idx, item_idx)[:-1]


class WithNaN(Table):
    def score(self, user_idx, item_idx):
        out = super().score(user_idx, item_idx).copy()
        out[0] = np.nan
        return out


class BadScoreAll(Table):
    def score_all(self, user_idx):
        return self.s[np.asarray(user_idx)][:, :-1]


class NaNScoreAll(Table):
    def score_all(self, user_idx):
        out = self.s[np.asarray(user_idx)].copy()
        out[0, 0] = np.inf
        return out


def test_bad_input():
    split, model = hand_split(), Table(hand_scores())
    for k in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive whole number"):
            evaluate(model, split, k=k)
    with pytest.raises(ValueError, match="Unknown protocol"):
        evaluate(model, split, "ndcg")
    assert set(PROTOCOLS) == {"sampled", "full", "rating", "labels"}
    with pytest.raises(ValueError, match="which"):
        evaluate(model, split, which="train")
    with pytest.raises(ValueError, match="no valid rows"):
        evaluate(model, split, which="valid")
    empty = Split(3, 30, split.train, split.test.iloc[:0], test_negatives=split.test_negatives[:0])
    with pytest.raises(ValueError, match="no test rows"):
        evaluate(model, empty)
    with pytest.raises(ValueError, match="score"):
        evaluate(object(), split)
    with pytest.raises(ValueError, match="one score per pair"):
        evaluate(WrongShape(hand_scores()), split)
    with pytest.raises(ValueError, match="NaN"):
        evaluate(WithNaN(hand_scores()), split)
    with pytest.raises(ValueError, match="NaN"):
        evaluate(WithNaN(hand_scores()), split, "full")
    with pytest.raises(ValueError, match="score_all returned shape"):
        evaluate(BadScoreAll(hand_scores()), split, "full")
    with pytest.raises(ValueError, match="NaN or infinite"):
        evaluate(NaNScoreAll(hand_scores()), split, "full")
    no_neg = Split(3, 30, split.train, split.test)
    with pytest.raises(ValueError, match="no sampled negatives"):
        evaluate(model, no_neg)
    for n in (6, -1):
        with pytest.raises(ValueError, match="num_negatives"):
            evaluate(model, split, num_negatives=n)
    short = Split(3, 30, split.train, split.test, test_negatives=split.test_negatives[:2])
    with pytest.raises(ValueError, match="rows of negatives"):
        evaluate(model, short)


def test_movielens_popularity_and_itemcf(movielens):
    """The benchmark's protocol on the real data (skipped without NCF_DATA_DIR): both protocols run on all
    608 test users, and item-based CF beats popularity on both."""
    split = leave_last_one_out(movielens, num_negatives=99, seed=0, threshold=3.5)
    pop, icf = Popularity().fit(split), ItemCF().fit(split)
    for protocol in ("sampled", "full"):
        a, b = evaluate(pop, split, protocol), evaluate(icf, split, protocol)
        assert len(a.per_user) == len(b.per_user) == len(split.test) == 608
        assert b.hr > a.hr and b.ndcg > a.ndcg
    # a popularity list is far better than chance on MovieLens' long tail (chance: 0.10)
    assert evaluate(pop, split).hr > 0.5
