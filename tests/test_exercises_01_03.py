"""The exercise checks of lessons 01-03: each accepts a correct solution, rejects the student stub with
ExerciseIncomplete, and rejects typical wrong answers with a message that says what went wrong."""

from __future__ import annotations

import numpy as np
import pytest

from ncf_helpers.checks import ExerciseIncomplete, ExerciseIncorrect
from ncf_helpers.lessons.l01_cooccurrence import exercises as ex1
from ncf_helpers.lessons.l02_user_based_cf import exercises as ex2
from ncf_helpers.lessons.l03_matrix_factorization import exercises as ex3


def stub(*args, **kwargs):
    raise NotImplementedError("Write your solution here, then run the check below.")


ALL_CHECKS = [getattr(m, name) for m in (ex1, ex2, ex3) for name in m.__all__]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_every_check_rejects_the_stub(check):
    with pytest.raises(ExerciseIncomplete, match=rf"Exercise {check.exercise_number} .*NotImplementedError"):
        check(stub)


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_every_check_says_when_nothing_is_returned(check):
    with pytest.raises(ExerciseIncorrect, match="None|pair|got"):
        check(lambda *args, **kwargs: None)


def test_checks_are_numbered_per_lesson():
    numbers = sorted(c.exercise_number for c in ALL_CHECKS)
    assert numbers == ["1.1", "1.2", "1.3", "1.4", "1.5", "2.1", "2.2", "2.3", "2.4", "2.5", "3.1", "3.2", "3.3", "3.4"]


# ---------------------------------------------------------------------------------------------- lesson 01
def test_density(capsys):
    assert ex1.check_density(lambda m: m.nnz / (m.shape[0] * m.shape[1]))
    assert "correct" in capsys.readouterr().out
    with pytest.raises(ExerciseIncorrect, match="sparsity"):
        ex1.check_density(lambda m: 1 - m.nnz / (m.shape[0] * m.shape[1]))
    with pytest.raises(ExerciseIncorrect, match="number of ratings"):
        ex1.check_density(lambda m: m.nnz)
    with pytest.raises(ExerciseIncorrect, match="expected 0.416667"):
        ex1.check_density(lambda m: m.nnz / m.shape[0] / 4.5)


def test_positive_share():
    assert ex1.check_positive_share(lambda r, t: float((r["rating"] >= t).mean()))
    with pytest.raises(ExerciseIncorrect, match="use >=, not >"):
        ex1.check_positive_share(lambda r, t: float((r["rating"] > t).mean()))
    with pytest.raises(ExerciseIncorrect, match="threshold argument"):
        ex1.check_positive_share(lambda r, t: float((r["rating"] >= 3.5).mean()))


def test_top_share():
    def right(counts, fraction):
        c = np.sort(counts)[::-1]
        return c[: int(round(fraction * len(c)))].sum() / c.sum()

    assert ex1.check_top_share(right)
    with pytest.raises(ExerciseIncorrect, match="Sort the counts"):
        ex1.check_top_share(lambda c, f: c[: int(round(f * len(c)))].sum() / c.sum())
    with pytest.raises(ExerciseIncorrect, match="0.25 \\* 8"):
        ex1.check_top_share(lambda c, f: np.sort(c)[::-1][:2].sum() / c.sum() if len(c) == 10 else 0.3)


def test_cooccurrence():
    assert ex1.check_cooccurrence(lambda b: b.T @ b)
    with pytest.raises(ExerciseIncorrect, match="compares USERS"):
        ex1.check_cooccurrence(lambda b: b @ b.T)
    with pytest.raises(ExerciseIncorrect, match="B.T @ B"):
        ex1.check_cooccurrence(lambda b: b.T @ b - np.diag(np.diag(b.T @ b)))  # forgot the diagonal


def test_item_jaccard():
    def right(b, i, j):
        a, c = b[:, i] > 0, b[:, j] > 0
        either = np.sum(a | c)
        return np.sum(a & c) / either if either else 0.0

    assert ex1.check_item_jaccard(right)
    with pytest.raises(ExerciseIncorrect, match="union"):
        ex1.check_item_jaccard(lambda b, i, j: 1.0 if np.sum((b[:, i] > 0) & (b[:, j] > 0)) else 0.0)
    with pytest.raises(ExerciseIncorrect, match="ALL users"):
        ex1.check_item_jaccard(lambda b, i, j: np.sum((b[:, i] > 0) & (b[:, j] > 0)) / b.shape[0])
    with pytest.raises(ExerciseIncorrect, match="instead of dividing by zero"):
        with np.errstate(all="ignore"):
            ex1.check_item_jaccard(
                lambda b, i, j: np.sum((b[:, i] > 0) & (b[:, j] > 0)) / np.sum((b[:, i] > 0) | (b[:, j] > 0))
            )


# ---------------------------------------------------------------------------------------------- lesson 02
def test_cosine():
    def right(a, b):
        n = np.linalg.norm(a) * np.linalg.norm(b)
        return a @ b / n if n else 0.0

    assert ex2.check_cosine(right)
    with pytest.raises(ExerciseIncorrect, match="dot product"):
        ex2.check_cosine(lambda a, b: a @ b)
    with pytest.raises(ExerciseIncorrect, match="Return 0.0 when either length is 0"):
        ex2.check_cosine(lambda a, b: a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_hit_and_ndcg():
    assert ex2.check_hit_and_ndcg(lambda r, k=10: (1.0, 1 / np.log2(r + 1)) if r <= k else (0.0, 0.0))
    with pytest.raises(ExerciseIncorrect, match=r"1 / log2\(rank \+ 1\)"):
        ex2.check_hit_and_ndcg(lambda r, k=10: (1.0, 1 / np.log2(r + 2)) if r <= k else (0.0, 0.0))
    with pytest.raises(ExerciseIncorrect, match="hr of hit_and_ndcg\\(10, 10\\)"):
        ex2.check_hit_and_ndcg(lambda r, k=10: (1.0, 1 / np.log2(r + 1)) if r < k else (0.0, 0.0))
    with pytest.raises(ExerciseIncorrect, match="must return a pair"):
        ex2.check_hit_and_ndcg(lambda r, k=10: 1.0)


def test_rank_of_held_out():
    assert ex2.check_rank_of_held_out(lambda s: 1 + int(np.sum(s[1:] > s[0])))
    with pytest.raises(ExerciseIncorrect, match="0-based"):
        ex2.check_rank_of_held_out(lambda s: int(np.sum(s[1:] > s[0])))
    with pytest.raises(ExerciseIncorrect, match="strictly greater"):
        ex2.check_rank_of_held_out(lambda s: 1 + int(np.sum(s[1:] >= s[0])))  # ties against the item


def test_user_cf_score():
    def right(sims, inter, user, item, k):
        s = sims[user].astype(float).copy()
        s[user] = -np.inf
        nb = np.argsort(-s, kind="stable")[:k]
        return float(np.sum(sims[user, nb] * inter[nb, item]))

    def with_self(sims, inter, user, item, k):
        nb = np.argsort(-sims[user], kind="stable")[:k]
        return float(np.sum(sims[user, nb] * inter[nb, item]))

    assert ex2.check_user_cf_score(right)
    with pytest.raises(ExerciseIncorrect, match="own neighbour"):
        ex2.check_user_cf_score(with_self)
    with pytest.raises(ExerciseIncorrect, match="expected 1.4"):
        ex2.check_user_cf_score(lambda sims, inter, user, item, k: float(np.sum(inter[:, item])))


def test_pearson():
    def right(a, b):
        def c(v):
            r = v != 0
            return np.where(r, v - v[r].mean(), 0.0) if r.any() else np.zeros_like(v, dtype=float)

        x, y = c(a), c(b)
        n = np.linalg.norm(x) * np.linalg.norm(y)
        return x @ y / n if n else 0.0

    assert ex2.check_pearson(right)
    with pytest.raises(ExerciseIncorrect, match="mean over ALL six entries"):
        ex2.check_pearson(lambda a, b: np.corrcoef(a, b)[0, 1])
    with pytest.raises(ExerciseIncorrect, match="Return 0.0 in that case"):

        def no_guard(a, b):
            ca = np.where(a != 0, a - a[a != 0].mean(), 0.0)
            cb = np.where(b != 0, b - b[b != 0].mean(), 0.0)
            return ca @ cb / (np.linalg.norm(ca) * np.linalg.norm(cb))

        with np.errstate(all="ignore"):
            ex2.check_pearson(no_guard)


# ---------------------------------------------------------------------------------------------- lesson 03
def test_predict_all():
    assert ex3.check_predict_all(lambda p, q: p @ q.T)
    with pytest.raises(ExerciseIncorrect, match="transposed"):
        ex3.check_predict_all(lambda p, q: q @ p.T)
    with pytest.raises(ExerciseIncorrect, match="expected"):
        ex3.check_predict_all(lambda p, q: p @ q.T + 1)


def test_rmse():
    assert ex3.check_rmse(lambda p, a: np.sqrt(np.mean((p - a) ** 2)))
    with pytest.raises(ExerciseIncorrect, match="square root"):
        ex3.check_rmse(lambda p, a: np.mean((p - a) ** 2))
    with pytest.raises(ExerciseIncorrect, match="ABSOLUTE"):
        ex3.check_rmse(lambda p, a: np.mean(np.abs(p - a)))


def test_sgd_step():
    def right(p, q, r, lr, reg):
        e = r - p @ q
        return p + lr * (e * q - reg * p), q + lr * (e * p - reg * q)

    def stale(p, q, r, lr, reg):
        e = r - p @ q
        p2 = p + lr * (e * q - reg * p)
        return p2, q + lr * (e * p2 - reg * q)

    def in_place(p, q, r, lr, reg):
        e = r - p @ q
        dp, dq = lr * (e * q - reg * p), lr * (e * p - reg * q)
        p += dp
        q += dq
        return p, q

    assert ex3.check_sgd_step(right)
    with pytest.raises(ExerciseIncorrect, match="UPDATED p_u"):
        ex3.check_sgd_step(stale)
    with pytest.raises(ExerciseIncorrect, match="changed the arrays"):
        ex3.check_sgd_step(in_place)
    with pytest.raises(ExerciseIncorrect, match="new_p_u"):
        ex3.check_sgd_step(lambda p, q, r, lr, reg: (p, q))


def test_als_user():
    assert ex3.check_als_user(lambda q, r, reg: np.linalg.solve(q.T @ q + reg * np.eye(q.shape[1]), q.T @ r))
    with pytest.raises(ExerciseIncorrect, match="without the regularisation"):
        ex3.check_als_user(lambda q, r, reg: np.linalg.lstsq(q, r, rcond=None)[0])
    with pytest.raises(ExerciseIncorrect, match="reg argument"):
        ex3.check_als_user(lambda q, r, reg: np.linalg.solve(q.T @ q + np.eye(q.shape[1]), q.T @ r))
