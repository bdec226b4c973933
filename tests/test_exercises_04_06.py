"""The modelling exercises of lessons 04-06 (4.6 GMF in Keras, 5.5 serving from two towers, 6.5 paired
comparison) and 6.2's ties: each check accepts the solution, rejects the stub, and rejects the wrong answer its
hint names, with that hint. (The numpy exercises of these lessons are tested in tests/test_experiments_*.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from ncf_helpers.checks import ExerciseIncomplete, ExerciseIncorrect
from ncf_helpers.lessons.l06_comparison import exercises as ex6


def stub(*args, **kwargs):
    raise NotImplementedError("Write your solution here, then run the check below.")


# ---------------------------------------------------------------------------------------------- 4.6
def _gmf(product="multiply", activation="sigmoid", bias=True):
    import keras
    from keras import layers

    def build(num_users, num_items, embedding_dim):
        user = keras.Input(shape=(), dtype="int32", name="user_idx")
        item = keras.Input(shape=(), dtype="int32", name="item_idx")
        p = layers.Embedding(num_users, embedding_dim)(user)
        q = layers.Embedding(num_items, embedding_dim)(item)
        if product == "multiply":
            x = layers.Multiply()([p, q])
        elif product == "concat":
            x = layers.Concatenate()([p, q])
        else:  # plain dot product: MF, no learned h
            out = layers.Dot(axes=1)([p, q])
            return keras.Model(inputs={"user_idx": user, "item_idx": item}, outputs=out)
        out = layers.Dense(1, activation=activation, use_bias=bias)(x)
        return keras.Model(inputs={"user_idx": user, "item_idx": item}, outputs=out)

    return build


def test_gmf_check():
    from ncf_helpers.lessons.l04_neuralcf import exercises as ex4

    assert ex4.check_gmf(_gmf())
    with pytest.raises(ExerciseIncomplete):
        ex4.check_gmf(stub)
    with pytest.raises(ExerciseIncorrect, match="CONCATENATED embeddings"):
        ex4.check_gmf(_gmf(product="concat"))
    with pytest.raises(ExerciseIncorrect, match="activation='sigmoid'"):
        ex4.check_gmf(_gmf(activation=None))
    with pytest.raises(ExerciseIncorrect, match="no Dense\\(1\\) output layer"):
        ex4.check_gmf(_gmf(product="dot"))
    with pytest.raises(ExerciseIncorrect, match="returned None"):
        ex4.check_gmf(lambda *a: None)


# ---------------------------------------------------------------------------------------------- 5.5
def _recommend(mask=True, sign=1.0, cosine=False):
    def recommend(user_tower, item_tower, user_idx, num_items, seen, k):
        u = np.asarray(user_tower.predict(np.array([user_idx], dtype="int32"), verbose=0))[0]
        v = np.asarray(item_tower.predict(np.arange(num_items, dtype="int32"), verbose=0))
        if cosine:
            v = v / np.linalg.norm(v, axis=1, keepdims=True)
        scores = sign * (v @ u)
        if mask:
            scores[np.asarray(seen, dtype=int)] = -np.inf
        return np.argsort(-scores, kind="stable")[:k]

    return recommend


def test_recommend_from_towers_check():
    from ncf_helpers.lessons.l05_two_tower import exercises as ex5

    assert ex5.check_recommend_from_towers(_recommend())
    with pytest.raises(ExerciseIncomplete):
        ex5.check_recommend_from_towers(stub)
    with pytest.raises(ExerciseIncorrect, match="includes the seen items"):
        ex5.check_recommend_from_towers(_recommend(mask=False))
    with pytest.raises(ExerciseIncorrect, match="SMALLEST"):
        ex5.check_recommend_from_towers(_recommend(sign=-1.0, mask=False))
    with pytest.raises(ExerciseIncorrect, match="expected|COSINE"):
        ex5.check_recommend_from_towers(_recommend(cosine=True))


# ---------------------------------------------------------------------------------------------- 6.2 ties
def test_hr_with_negatives_ties():
    def hr(t, neg, n, k, op=np.greater):
        return float(np.mean(op(neg[:, :n], t[:, None]).sum(axis=1) < k))

    assert ex6.check_hr_with_negatives(hr)
    with pytest.raises(ExerciseIncorrect, match="SAME score"):
        ex6.check_hr_with_negatives(lambda t, neg, n, k: hr(t, neg, n, k, op=np.greater_equal))


# ---------------------------------------------------------------------------------------------- 6.5
def _paired(a, b):
    d = (np.asarray(a, float) - np.asarray(b, float)).mean(axis=0)
    m, h = d.mean(), 1.96 * d.std(ddof=1) / np.sqrt(len(d))
    return float(m), float(m - h), float(m + h), bool(m - h <= 0 <= m + h)


def test_paired_comparison_check():
    assert ex6.check_paired_comparison(_paired)
    with pytest.raises(ExerciseIncomplete):
        ex6.check_paired_comparison(stub)

    def unpaired(a, b):
        a, b = a.mean(axis=0), b.mean(axis=0)
        m = a.mean() - b.mean()
        h = 1.96 * np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        return m, m - h, m + h, m - h <= 0 <= m + h

    with pytest.raises(ExerciseIncorrect, match="UNPAIRED"):
        ex6.check_paired_comparison(unpaired)

    def over_seeds(a, b):
        s = (a - b).mean(axis=1)
        m, h = s.mean(), 1.96 * s.std(ddof=1) / np.sqrt(len(s))
        return m, m - h, m + h, m - h <= 0 <= m + h

    with pytest.raises(ExerciseIncorrect, match="per-seed differences only"):
        ex6.check_paired_comparison(over_seeds)

    def ddof0(a, b):
        d = (a - b).mean(axis=0)
        m, h = d.mean(), 1.96 * d.std(ddof=0) / np.sqrt(len(d))
        return m, m - h, m + h, m - h <= 0 <= m + h

    with pytest.raises(ExerciseIncorrect, match="ddof=1"):
        ex6.check_paired_comparison(ddof0)
    with pytest.raises(ExerciseIncorrect, match="is_noise"):
        ex6.check_paired_comparison(lambda a, b: (*_paired(a, b)[:3], not _paired(a, b)[3]))
    with pytest.raises(ExerciseIncorrect, match="four values"):
        ex6.check_paired_comparison(lambda a, b: _paired(a, b)[0])
