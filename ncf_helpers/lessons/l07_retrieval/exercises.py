"""Checks for lesson 07 (retrieval: in-batch softmax, logQ, accidental hits, ANN recall).

* 7.1 :func:`check_in_batch_softmax` - ``in_batch_softmax(U, V)``: per-row loss of the in-batch softmax.
* 7.2 :func:`check_accidental_hits` - ``accidental_hits(item_idx)``: which batch columns are the row's own film.
* 7.3 :func:`check_logq_logits` - ``logq_logits(logits, item_idx, counts)``: the popularity-corrected logits.
* 7.4 :func:`check_recall_vs_exact` - ``recall_vs_exact(found, exact)``: how much of the exact top-k an index finds.
"""

from __future__ import annotations

import numpy as np

from ncf_helpers.checks import ExerciseIncorrect, exercise, expect, expect_close

__all__ = ["check_accidental_hits", "check_in_batch_softmax", "check_logq_logits", "check_recall_vs_exact"]

# The lesson's 3-row batch (tests/test_retrieval.py works it out by hand).
_U = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
_V = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
_ITEMS = np.array([5, 7, 5])


def _reference_softmax(U, V):
    s = U @ V.T
    m = s.max(axis=1, keepdims=True)
    return (np.log(np.exp(s - m).sum(axis=1)) + m[:, 0]) - np.diag(s)


@exercise("7.1", "in-batch softmax loss")
def check_in_batch_softmax(in_batch_softmax):
    """``in_batch_softmax(U, V)``: ``U [B, d]`` user vectors, ``V [B, d]`` their positive items' vectors;
    returns ``[B]``: ``-log softmax(U @ V.T)[b, b]`` per row."""
    got = in_batch_softmax(_U, _V)
    e = np.e
    # row 0: log(2e + 1) - 1, row 1: log(e + 2) - 1, row 2: log 3
    expected = np.array([np.log(2 * e + 1) - 1, np.log(e + 2) - 1, np.log(3)])
    if got is not None and np.shape(got) == (3,) and np.allclose(got, np.log(3) * np.ones(3)):
        raise ExerciseIncorrect(
            "every row came out log 3: did you use the same logits for every row? Row b's logits are U[b] @ V.T."
        )
    if got is not None and np.shape(got) == (3,) and np.allclose(got, -expected):
        raise ExerciseIncorrect("your losses have the wrong sign: the loss is MINUS the log-probability.")
    expect_close(
        got,
        expected,
        "in_batch_softmax on the lesson's 3-row batch",
        hint="logits = U @ V.T; loss[b] = logsumexp(logits[b]) - logits[b, b].",
    )
    rng = np.random.default_rng(1)
    U, V = rng.normal(size=(6, 4)) * 20, rng.normal(size=(6, 4)) * 20  # large logits: exp overflows if naive
    got = in_batch_softmax(U, V)
    expect(
        got is not None and np.all(np.isfinite(got)),
        "with large logits (|u.v| in the hundreds) your loss is inf or NaN: subtract each row's maximum before "
        "np.exp (the log-sum-exp trick).",
    )
    expect_close(got, _reference_softmax(U, V), "in_batch_softmax on a batch with large logits", rtol=1e-6)
    return "This is the loss retrieval systems start from; the next two exercises correct it."


@exercise("7.2", "accidental hits")
def check_accidental_hits(accidental_hits):
    """``accidental_hits(item_idx)``: bool ``[B, B]``, True where ``item_idx[j] == item_idx[b]`` and ``j != b``."""
    got = accidental_hits(_ITEMS)
    expected = np.array([[False, False, True], [False, False, False], [True, False, False]])
    if (
        got is not None
        and np.shape(got) == (3, 3)
        and np.array_equal(np.asarray(got, bool), expected | np.eye(3, dtype=bool))
    ):
        raise ExerciseIncorrect(
            "the diagonal is True: column b of row b is the row's own positive, the one the loss "
            "must keep. Only OTHER columns with the same film are accidental hits."
        )
    expect(
        got is not None and np.shape(got) == (3, 3),
        f"accidental_hits([5, 7, 5]) must be a [3, 3] array, got {None if got is None else np.shape(got)}.",
    )
    expect(
        np.array_equal(np.asarray(got, bool), expected),
        f"accidental_hits([5, 7, 5]) should be {expected.tolist()}, got {np.asarray(got, bool).tolist()}. "
        "Compare every pair: item_idx[:, None] == item_idx[None, :], then clear the diagonal.",
    )
    expect(not np.asarray(accidental_hits(np.arange(4)), bool).any(), "four different films have no accidental hit.")
    return None


@exercise("7.3", "logQ-corrected logits")
def check_logq_logits(logq_logits):
    """``logq_logits(logits, item_idx, counts)``: ``logits [B, B]`` minus ``log(Q_j)`` by column, with ``Q_j =
    counts[item_idx[j]] / counts.sum()`` (``counts [num_items]``: training positives per film)."""
    logits = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    counts = np.zeros(8)
    counts[5], counts[7], counts[0] = 2, 1, 1  # Q = 0.5 for film 5, 0.25 for film 7
    got = logq_logits(logits, _ITEMS, counts)
    expected = logits + np.log([2.0, 4.0, 2.0])[None, :]
    if got is not None and np.shape(got) == (3, 3) and np.allclose(got, logits - np.log([2.0, 4.0, 2.0])[None, :]):
        raise ExerciseIncorrect(
            "you ADDED log Q: the correction subtracts it (logits - log Q), which raises the "
            "logits of rare films, so that beating them counts for more."
        )
    if got is not None and np.shape(got) == (3, 3) and np.allclose(got, logits + np.log([2.0, 4.0, 2.0])[:, None]):
        raise ExerciseIncorrect("the correction went by row; it belongs to the columns (the candidate films).")
    expect_close(
        got,
        expected,
        "logq_logits on the lesson's batch (Q = [0.5, 0.25, 0.5])",
        hint="q = counts[item_idx] / counts.sum(); return logits - np.log(q)[None, :].",
    )
    return None


@exercise("7.4", "recall of an index against exact search")
def check_recall_vs_exact(recall_vs_exact):
    """``recall_vs_exact(found, exact)``: both int ``[n, k]``; the mean over rows of ``|found ∩ exact| / k``."""
    exact = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    expect_close(recall_vs_exact(exact, exact), 1.0, "recall_vs_exact(exact, exact)")
    found = np.array([[4, 3, 9, 10], [8, 7, 6, 5]])  # row 0: 2 of 4 (order does not matter), row 1: all 4
    got = recall_vs_exact(found, exact)
    if got is not None and np.isclose(float(got), 0.5 * (0 + 0)):
        raise ExerciseIncorrect("recall counts shared items, in any order: compare sets, not positions.")
    expect_close(
        got,
        0.75,
        "recall_vs_exact on rows sharing 2/4 and 4/4 items",
        hint="len(set(found[r]) & set(exact[r])) / k for each row r, then the mean.",
    )
    return "This is the y axis of section 4's figure."
