"""One plausible wrong answer per lesson for the nbgrader round trip (tests/test_nbgrader.py).

Each entry is ``lesson: (grade_id of the solution cell, wrong body)``. The body replaces the lines between the
solution markers of that cell (at their indentation), as a learner would write it. Each is the misconception
that exercise's check names in its hint, so the submission scores 0 on that exercise and full marks on the
others: partial marks in all.
"""

WRONG_ANSWERS: dict[str, tuple[str, str]] = {
    # counts ratings, not users (the check: "the number of RATINGS")
    "00": ("ex0_1_count_users", "return len(ds.ratings)"),
    # > instead of >= (the check: "use >=, not >")
    "01": ("ex1_2_positive_share", 'return float((ratings["rating"] > threshold).mean())'),
    # the dot product without dividing by the lengths (the check: "returned 20, the dot product")
    "02": ("ex2_1_cosine", "return float(a @ b)"),
    # the mean squared error, no square root (the check: "the mean squared error; take its square root")
    "03": ("ex3_2_rmse", "return float(np.mean((np.asarray(predicted) - np.asarray(actual)) ** 2))"),
    # the MLP's concatenation instead of GMF's element-wise product (the check names the (2d, 1) kernel)
    "04": (
        "ex4_6_build_gmf",
        "\n".join(
            [
                'user = keras.Input(shape=(), dtype="int32", name="user_idx")',
                'item = keras.Input(shape=(), dtype="int32", name="item_idx")',
                "p = layers.Embedding(num_users, embedding_dim)(user)",
                "q = layers.Embedding(num_items, embedding_dim)(item)",
                "x = layers.Concatenate()([p, q])",
                'out = layers.Dense(1, activation="sigmoid")(x)',
                'return keras.Model(inputs={"user_idx": user, "item_idx": item}, outputs=out)',
            ]
        ),
    ),
    # the serving step without leaving out the seen items (the check: "includes the seen items")
    "05": (
        "ex5_5_recommend_from_towers",
        "\n".join(
            [
                'u = np.asarray(user_tower.predict(np.array([user_idx], dtype="int32"), verbose=0))[0]',
                'v = np.asarray(item_tower.predict(np.arange(num_items, dtype="int32"), verbose=0))',
                'return np.argsort(-(v @ u), kind="stable")[:k]',
            ]
        ),
    ),
    # ties counted against the held-out item, >= instead of > (the check: "with tied scores")
    "06": (
        "ex6_2_hr_with_negatives",
        "\n".join(
            [
                "beaten_by = (negatives[:, :n] >= target[:, None]).sum(axis=1)",
                "return float(np.mean(beaten_by < k))",
            ]
        ),
    ),
    # the diagonal kept: a row's own positive marked as an accidental hit (the check: "the diagonal is True")
    "07": (
        "ex7_2_accidental_hits",
        "\n".join(
            [
                "item_idx = np.asarray(item_idx)",
                "return item_idx[:, None] == item_idx[None, :]",
            ]
        ),
    ),
}
