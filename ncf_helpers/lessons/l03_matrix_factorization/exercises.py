"""Checks for lesson 03 (matrix factorization).

* 3.1 :func:`check_predict_all` - ``predict_all(P, Q)``: every user's score for every item.
* 3.2 :func:`check_rmse` - ``rmse(predicted, actual)``.
* 3.3 :func:`check_sgd_step` - ``sgd_step(p_u, q_i, rating, lr, reg)``: one update of explicit MF.
* 3.4 :func:`check_als_user` - ``als_user(Q, ratings, reg)``: the closed-form least-squares user vector.
"""

from __future__ import annotations

import numpy as np

from ncf_helpers.checks import ExerciseIncorrect, exercise, expect, expect_close
from ncf_helpers.checks import number as _number

__all__ = ["check_als_user", "check_predict_all", "check_rmse", "check_sgd_step"]


@exercise("3.1", "predict every cell")
def check_predict_all(predict_all):
    """``predict_all(P, Q)`` with ``P [num_users, embedding_dim]``, ``Q [num_items, embedding_dim]`` returns the
    ``[num_users, num_items]`` matrix of dot products ``P @ Q.T``."""
    p = np.array([[1.0, 0.0], [0.5, 2.0], [0.0, 1.0]])  # 3 users, embedding_dim 2
    q = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 1.0], [4.0, 0.0]])  # 4 items
    # user 1 x item 1 = 0.5*0 + 2*3 = 6; user 0 x item 3 = 1*4 + 0*0 = 4
    expected = p @ q.T
    got = predict_all(p.copy(), q.copy())
    if got is not None and np.shape(got) == (4, 3):
        raise ExerciseIncorrect(
            "predict_all returned a 4 x 3 matrix for 3 users and 4 items: the result is transposed. "
            "Rows are users: P @ Q.T."
        )
    if got is not None and np.shape(got) == (3, 2):
        raise ExerciseIncorrect(
            "predict_all returned shape (3, 2), the shape of P. Multiply by the item vectors: P @ Q.T."
        )
    expect_close(
        got,
        expected,
        "predict_all(P [3 x 2], Q [4 x 2])",
        hint="Cell (u, i) is the dot product of row u of P and row i of Q, e.g. (1, 1) = 0.5*0 + 2*3 = 6.",
    )
    return None


@exercise("3.2", "root mean squared error")
def check_rmse(rmse):
    """``rmse(predicted, actual)`` = ``sqrt(mean((predicted - actual)^2))`` for 1-D arrays."""
    pred, actual = np.array([3.5, 4.0, 2.0, 5.0]), np.array([4.0, 4.0, 1.0, 4.0])
    # errors -0.5, 0, 1, 1 -> squares 0.25, 0, 1, 1 -> mean 0.5625 -> sqrt 0.75
    got = _number(rmse(pred.copy(), actual.copy()), "rmse([3.5, 4, 2, 5], [4, 4, 1, 4])")
    if np.isclose(got, 0.5625):
        raise ExerciseIncorrect("you returned 0.5625, the mean squared error; take its square root.")
    if np.isclose(got, 0.625):
        raise ExerciseIncorrect("you returned 0.625, the mean ABSOLUTE error; square the errors, average, then sqrt.")
    expect_close(
        got,
        0.75,
        "rmse([3.5, 4, 2, 5], [4, 4, 1, 4])",
        hint="errors -0.5, 0, 1, 1 -> squares 0.25, 0, 1, 1 -> mean 0.5625 -> sqrt = 0.75.",
    )
    got = _number(rmse(np.ones(3), np.ones(3)), "rmse of a perfect prediction")
    expect_close(got, 0.0, "rmse of a perfect prediction")
    return "RMSE is in stars: 0.87 means predictions are off by about 0.9 stars on a typical rating."


@exercise("3.3", "one SGD step of explicit MF")
def check_sgd_step(sgd_step):
    """``sgd_step(p_u, q_i, rating, lr, reg) -> (new_p_u, new_q_i)`` with ``e = rating - p_u . q_i``,
    ``new_p_u = p_u + lr * (e * q_i - reg * p_u)``, ``new_q_i = q_i + lr * (e * p_u - reg * q_i)``, both using
    the OLD vectors. The inputs must not be modified."""
    p, q = np.array([1.0, 0.5]), np.array([2.0, -1.0])
    rating, lr, reg = 4.0, 0.1, 0.5
    # p . q = 2 - 0.5 = 1.5; e = 2.5
    # new p = [1, 0.5] + 0.1 * (2.5 * [2, -1] - 0.5 * [1, 0.5]) = [1.45, 0.225]
    # new q = [2, -1] + 0.1 * (2.5 * [1, 0.5] - 0.5 * [2, -1]) = [2.15, -0.825]
    p_in, q_in = p.copy(), q.copy()
    got = sgd_step(p_in, q_in, rating, lr, reg)
    if got is None or len(got) != 2:
        raise ExerciseIncorrect(f"sgd_step must return a pair (new_p_u, new_q_i); got {got!r}.")
    new_p, new_q = np.asarray(got[0], dtype=float), np.asarray(got[1], dtype=float)
    expect_close(
        new_p,
        [1.45, 0.225],
        "new_p_u",
        hint="e = 4 - (1*2 + 0.5*-1) = 2.5; new_p_u = p_u + lr * (e * q_i - reg * p_u).",
    )
    stale = q + lr * (2.5 * new_p - reg * q)
    if np.allclose(new_q, stale):
        raise ExerciseIncorrect(
            "new_q_i was computed from the UPDATED p_u. Both updates must use the old vectors: "
            "keep a copy of p_u (or compute both new vectors before assigning)."
        )
    expect_close(
        new_q, [2.15, -0.825], "new_q_i", hint="new_q_i = q_i + lr * (e * p_u - reg * q_i) with the OLD p_u = [1, 0.5]."
    )
    expect(
        np.allclose(p_in, p) and np.allclose(q_in, q),
        "sgd_step changed the arrays it was given (e.g. with +=). Return new arrays instead: p_u + ..., not p_u += ...",
    )
    return None


@exercise("3.4", "the ALS update of one user")
def check_als_user(als_user):
    """``als_user(Q, ratings, reg)``: with ``Q [num_rated, embedding_dim]`` the vectors of the items this user
    rated and ``ratings [num_rated]`` their ratings, return ``x = (Q^T Q + reg I)^-1 Q^T ratings``
    ``[embedding_dim]``, the user vector with the smallest ``sum (r - x . q)^2 + reg |x|^2``."""
    q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    r = np.array([3.0, 1.0, 5.0])
    # Q^T Q = [[2, 1], [1, 2]]; + 1 * I = [[3, 1], [1, 3]]; Q^T r = [8, 6]
    # solve [[3, 1], [1, 3]] x = [8, 6] -> x = [2.25, 1.25]
    got = als_user(q.copy(), r.copy(), 1.0)
    if got is not None and np.allclose(np.ravel(got), np.linalg.lstsq(q, r, rcond=None)[0]):
        raise ExerciseIncorrect(
            "you solved plain least squares, without the regularisation. Add reg * I to Q^T Q before solving."
        )
    expect_close(
        np.ravel(got) if got is not None else None,
        [2.25, 1.25],
        "als_user(Q [3 x 2], ratings [3, 1, 5], reg=1)",
        hint="A = Q.T @ Q + reg * np.eye(embedding_dim), b = Q.T @ ratings, x = np.linalg.solve(A, b).",
    )
    got = als_user(q.copy(), r.copy(), 0.0)
    expect_close(
        np.ravel(got),
        np.linalg.solve(q.T @ q, q.T @ r),
        "als_user(same, reg=0)",
        hint="Use the reg argument, not a fixed number.",
    )
    return "ALS does exactly this for every user at once, then the same for every item, and repeats."
