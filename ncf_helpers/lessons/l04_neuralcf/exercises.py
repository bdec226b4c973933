"""Checks for lesson 04 (NeuralCF). Each check calls the learner's function on small inputs it builds itself
(no notebook state; only 4.6 imports Keras) and compares with a reference; the message says what was expected, what
came back, and a hint.

* 4.1 :func:`check_embedding_lookup` - ``one_hot_times_table(idx, table)``: an embedding layer is a one-hot
  vector times a table, i.e. a row lookup.
* 4.2 :func:`check_param_count` - ``ncf_param_count(num_users, num_items, embedding_dim, hidden)``: the
  weights of the original course's ``neural_cf_model_1``.
* 4.3 :func:`check_mlp_forward` - ``mlp_forward(p, q, layers)``: NeuralCF's interaction and output layers by
  hand in numpy.
* 4.4 :func:`check_negative_sampler` - ``sample_user_negatives(positives, num_items, num_negatives, rng)``:
  negative sampling for one user.
* 4.5 :func:`check_collision_share` - ``expected_collided_share(num_ids, num_bins)``: the hashing trick's
  collisions.
* 4.6 :func:`check_gmf` - ``build_gmf(num_users, num_items, embedding_dim)``: GMF written with ``keras.layers``,
  matching ``build_model(..., "gmf", output="sigmoid")`` given the same weights (imports Keras).
"""

from __future__ import annotations

import numpy as np

from ncf_helpers.checks import ExerciseIncorrect, exercise, expect, expect_close
from ncf_helpers.checks import number as _number

__all__ = [
    "check_collision_share",
    "check_embedding_lookup",
    "check_gmf",
    "check_mlp_forward",
    "check_negative_sampler",
    "check_param_count",
]


def _array(value, what: str) -> np.ndarray:
    if value is None:
        raise ExerciseIncorrect(f"{what}: your function returned None. Did you forget a `return`?")
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ExerciseIncorrect(f"{what}: expected an array of numbers, got {type(value).__name__}.") from None


# ---------------------------------------------------------------------------------------------- 4.1
@exercise("4.1", "an embedding layer is a one-hot product")
def check_embedding_lookup(one_hot_times_table):
    """``one_hot_times_table(idx, table)`` must return ``one_hot(idx) @ table``: float ``[len(idx), d]`` where
    ``one_hot(idx)`` is ``[len(idx), num_rows]`` with a single 1 per row (which equals ``table[idx]``)."""
    table = np.array([[0.1, 0.2], [1.0, -1.0], [3.0, 0.5], [-2.0, 4.0]])  # 4 rows (ids), d = 2
    idx = np.array([2, 0, 2])
    got = _array(one_hot_times_table(idx.copy(), table.copy()), "one_hot_times_table([2, 0, 2], a 4 x 2 table)")
    if got.shape == (3, 4):
        raise ExerciseIncorrect(
            "you returned a 3 x 4 array: that is the one-hot matrix itself. Multiply it by the "
            "table (one_hot @ table) to get one row of the table per index."
        )
    if got.shape == (4, 2) or got.shape == (2,):
        raise ExerciseIncorrect(f"you returned shape {got.shape}; expected (3, 2): one embedding row per index in idx.")
    expect_close(
        got,
        table[idx],
        "one_hot_times_table([2, 0, 2], a 4 x 2 table)",
        hint="Build np.eye(table.shape[0])[idx] (row k is the one-hot vector of idx[k]) and multiply it by "
        "the table with @.",
    )
    got = _array(one_hot_times_table(np.array([3]), table.copy()), "one_hot_times_table([3], the same table)")
    expect_close(
        got,
        table[[3]],
        "one_hot_times_table([3], the same table)",
        hint="Use the table's number of rows, not a fixed size, for the one-hot vectors.",
    )
    return "A Keras Embedding layer does exactly this, without ever building the one-hot matrix: it looks up row idx."


# ---------------------------------------------------------------------------------------------- 4.2
def _param_count(num_users, num_items, d, hidden) -> int:
    total = (num_users + num_items) * d  # two embedding tables
    width = 2 * d  # the concatenated embeddings
    for h in hidden:
        total += width * h + h  # Dense(h): weights + biases
        width = h
    return total + width + 1  # Dense(1, sigmoid)


@exercise("4.2", "parameters of neural_cf_model_1")
def check_param_count(ncf_param_count):
    """``ncf_param_count(num_users, num_items, embedding_dim, hidden)``: the number of weights of
    Input -> Embedding (user and item tables) -> Concatenate -> Dense(h, relu) per ``h`` in ``hidden`` ->
    Dense(1, sigmoid). An int."""
    # 3 users, 4 items, d = 2, hidden (3,): tables (3 + 4) * 2 = 14; Dense(3) on 4 inputs: 4*3 + 3 = 15;
    # Dense(1) on 3 inputs: 3 + 1 = 4; total 33
    cases = [
        ((3, 4, 2, (3,)), 33),
        ((3, 4, 2, ()), 14 + 4 + 1),
        ((610, 9742, 32, (10, 10)), _param_count(610, 9742, 32, (10, 10))),
    ]
    for args, expected in cases:
        what = "ncf_param_count({}, {}, {}, {})".format(*args)
        got = _number(ncf_param_count(*args), what)
        if args[3] and np.isclose(got, expected - sum(args[3]) - 1):
            raise ExerciseIncorrect(
                f"{what}: you returned {got:g}, which is {sum(args[3]) + 1} short: every Dense "
                "layer has a bias per unit as well as its weights."
            )
        if np.isclose(got, expected - (args[0] + args[1]) * args[2]):
            raise ExerciseIncorrect(
                f"{what}: you returned {got:g}: you left out the embedding tables "
                "(num_users + num_items) * embedding_dim, which hold most of the parameters."
            )
        expect_close(
            got,
            expected,
            what,
            hint="Add the two tables, then each Dense layer's inputs * units + units (the first Dense "
            "layer's input is the concatenation, 2 * embedding_dim wide), then the output layer.",
        )
    share = (610 + 9742) * 32 / _param_count(610, 9742, 32, (10, 10))
    return f"On ml-latest-small {share:.1%} of the original course's model's weights are in the two ID tables."


# ---------------------------------------------------------------------------------------------- 4.3
def _forward(p, q, layers):
    x = np.concatenate([p, q], axis=1)
    for W, b in layers[:-1]:
        x = np.maximum(x @ W + b, 0.0)
    W, b = layers[-1]
    z = (x @ W + b).reshape(-1)
    return 1.0 / (1.0 + np.exp(-z))


@exercise("4.3", "the MLP interaction by hand")
def check_mlp_forward(mlp_forward):
    """``mlp_forward(p, q, layers)``: ``p``, ``q`` float ``[n, d]`` (user and item embeddings of ``n`` pairs);
    ``layers`` a list of ``(W, b)``: every layer but the last is ``Dense(relu)``, the last is ``Dense(1,
    sigmoid)``. Returns the probabilities, float ``[n]`` in ``[0, 1]``."""
    # hand case: d = 1, one hidden unit with weights [1, 1], bias -1, output weight 2, bias 0
    # p = 1, q = 2 -> hidden relu(1 + 2 - 1) = 2 -> sigmoid(4) = 0.98201
    p, q = np.array([[1.0], [0.0]]), np.array([[2.0], [0.5]])
    layers = [(np.array([[1.0], [1.0]]), np.array([-1.0])), (np.array([[2.0]]), np.array([0.0]))]
    # second pair: relu(0 + 0.5 - 1) = 0 -> sigmoid(0) = 0.5
    got = _array(mlp_forward(p.copy(), q.copy(), layers), "mlp_forward(hand example)").reshape(-1)
    expect(
        got.shape == (2,), f"mlp_forward(hand example): expected 2 probabilities (one per pair), got shape {got.shape}."
    )
    if np.allclose(got, [4.0, 0.0]):
        raise ExerciseIncorrect("you returned the logits [4, 0]; the output layer has a sigmoid: 1 / (1 + exp(-z)).")
    if np.allclose(got, [_sigmoid(4.0), _sigmoid(-0.5 * 2)]):
        raise ExerciseIncorrect(
            "the second pair came out as sigmoid(-1): the hidden layers need a ReLU, max(x, 0), "
            "so a negative pre-activation becomes 0 before the next layer."
        )
    expect_close(
        got,
        [_sigmoid(4.0), 0.5],
        "mlp_forward(hand example: p=[1, 0], q=[2, 0.5])",
        hint="Concatenate p and q along axis 1, apply x @ W + b and ReLU for each hidden layer, then "
        "x @ W + b and the sigmoid for the last.",
    )
    rng = np.random.default_rng(4)
    d, sizes = 3, (5, 4)
    p, q = rng.normal(size=(6, d)), rng.normal(size=(6, d))
    layers, width = [], 2 * d
    for h in (*sizes, 1):
        layers.append((rng.normal(size=(width, h)), rng.normal(size=h)))
        width = h
    got = _array(
        mlp_forward(p.copy(), q.copy(), [(W.copy(), b.copy()) for W, b in layers]),
        "mlp_forward(6 random pairs, layers 6 -> 5 -> 4 -> 1)",
    ).reshape(-1)
    if np.allclose(got, _forward(q, p, layers)):
        raise ExerciseIncorrect("the order of the concatenation matters: the user embedding p comes first, then q.")
    expect_close(
        got,
        _forward(p, q, layers),
        "mlp_forward(6 random pairs, layers 6 -> 5 -> 4 -> 1)",
        rtol=1e-5,
        hint="Loop over every layer but the last with ReLU; the number of hidden layers is len(layers) - 1.",
    )
    return "This is what neural_cf_model_1 computes for each (user, item) pair."


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------------------------------------- 4.4
@exercise("4.4", "negative sampling for one user")
def check_negative_sampler(sample_user_negatives):
    """``sample_user_negatives(positives, num_items, num_negatives, rng)``: ``num_negatives`` distinct items in
    ``[0, num_items)`` that are not in ``positives``, drawn uniformly at random with the numpy Generator ``rng``.
    Returns an int array ``[num_negatives]``."""
    positives = np.array([1, 4, 5])
    got = sample_user_negatives(positives.copy(), 8, 5, np.random.default_rng(0))
    arr = _array(got, "sample_user_negatives([1, 4, 5], 8 items, 5 negatives)")
    expect(
        arr.shape == (5,),
        f"sample_user_negatives([1, 4, 5], 8 items, 5 negatives): expected 5 items, got shape {arr.shape}.",
    )
    expect(np.all(arr == np.round(arr)), "negatives must be whole item indices, got " + str(arr))
    expect(arr.min() >= 0 and arr.max() < 8, f"negatives must lie in [0, 8); got {arr.astype(int).tolist()}.")
    bad = sorted(set(arr.astype(int).tolist()) & {1, 4, 5})
    expect(
        not bad,
        f"your negatives {arr.astype(int).tolist()} contain the positive(s) {bad}: a negative is an item "
        "the user has NOT interacted with.",
    )
    expect(
        len(set(arr.astype(int).tolist())) == 5,
        f"your negatives {arr.astype(int).tolist()} repeat an item; with "
        "5 of the 5 free items asked for, each must appear once.",
    )
    # uniform over the allowed items: 2000 draws of 1 negative from 6 allowed items -> about 333 each
    rng = np.random.default_rng(1)
    draws = np.array(
        [int(np.asarray(sample_user_negatives(np.array([0, 7]), 8, 1, rng)).reshape(-1)[0]) for _ in range(2000)]
    )
    counts = np.bincount(draws, minlength=8)
    expect(counts[0] == 0 and counts[7] == 0, "over 2,000 draws your sampler returned a positive item.")
    allowed = counts[1:7]
    # a fair sampler keeps each count within about 4 standard deviations (sqrt(2000 * 1/6 * 5/6) = 16.7) of 333
    expect(
        np.all(np.abs(allowed - 2000 / 6) < 70),
        f"over 2,000 single draws with positives [0, 7] the items 1..6 came {allowed.tolist()} times; a uniform "
        "sampler gives each about 333. Draw from the allowed items with equal probability.",
    )
    a = np.asarray(sample_user_negatives(positives.copy(), 50, 4, np.random.default_rng(3)))
    b = np.asarray(sample_user_negatives(positives.copy(), 50, 4, np.random.default_rng(3)))
    expect(
        np.array_equal(a, b),
        "with the same seed your sampler gave different negatives: draw with the rng "
        "argument (e.g. rng.choice), not np.random or random.",
    )
    return "ncf_helpers.data.sample_negatives does this for every training row at once, vectorized."


# ---------------------------------------------------------------------------------------------- 4.5
@exercise("4.5", "how many ids collide")
def check_collision_share(expected_collided_share):
    """``expected_collided_share(num_ids, num_bins)``: expected share of ids whose hash bucket holds at least one
    other id, when ``num_ids`` ids are hashed uniformly at random into ``num_bins`` buckets. A float in [0, 1]."""
    # one id never collides; 2 ids in 2 buckets: the other id lands in mine with probability 1/2;
    # 3 ids in 2 buckets: both others miss my bucket with probability (1/2)^2 -> 1 - 1/4 = 0.75
    cases = [
        ((1, 10), 0.0),
        ((2, 2), 0.5),
        ((3, 2), 0.75),
        ((610, 610), 1 - (1 - 1 / 610) ** 609),
        ((10**8, 10**6), 1 - (1 - 1e-6) ** (10**8 - 1)),
    ]
    for (n, b), expected in cases:
        what = f"expected_collided_share(num_ids={n:,}, num_bins={b:,})"
        got = _number(expected_collided_share(n, b), what)
        if np.isclose(got, 1 - (1 - 1 / b) ** n) and not np.isclose(got, expected):
            raise ExerciseIncorrect(
                f"{what}: you returned {got:.4f} = 1 - (1 - 1/b)^n. An id collides when one of "
                "the OTHER n - 1 ids lands in its bucket: the exponent is n - 1."
            )
        expect_close(
            got,
            expected,
            what,
            rtol=1e-6,
            atol=1e-9,
            hint="Each other id misses my bucket with probability 1 - 1/num_bins; all num_ids - 1 of them "
            "miss it with probability (1 - 1/num_bins) ** (num_ids - 1).",
        )
    return "With as many buckets as ids, about 63% of the ids share their vector with someone."


# ---------------------------------------------------------------------------------------------- 4.6
def _weights_by_shape(model, num_users: int, num_items: int, d: int) -> dict:
    """The learner's GMF weights found by shape: user table, item table, output kernel and bias."""
    found: dict = {}
    for w in model.weights:
        shape = tuple(int(s) for s in w.shape)
        key = {(num_users, d): "user", (num_items, d): "item", (d, 1): "kernel", (1,): "bias"}.get(shape)
        if key is None:
            shape_hint = ""
            if shape == (2 * d, 1):
                shape_hint = (
                    " That is the kernel of a Dense layer on the CONCATENATED embeddings (the MLP of "
                    "exercise 4.3); GMF multiplies them element-wise: keras.layers.Multiply()([p, q])."
                )
            raise ExerciseIncorrect(
                f"your model has a weight of shape {shape}; a GMF with {num_users} users, "
                f"{num_items} items and embedding_dim={d} has only ({num_users}, {d}), "
                f"({num_items}, {d}), ({d}, 1) and (1,).{shape_hint}"
            )
        if key in found:
            raise ExerciseIncorrect(
                f"your model has two weights of shape {shape}: build ONE user table, ONE item "
                "table and ONE Dense(1) output layer."
            )
        found[key] = w
    if "kernel" not in found or "bias" not in found:
        raise ExerciseIncorrect(
            "your model has no Dense(1) output layer with a bias: GMF ends in "
            "keras.layers.Dense(1, activation='sigmoid') on the element-wise product. (A plain "
            "Dot layer is MF, without GMF's learned weight per dimension.)"
        )
    for key, what in (
        ("user", "user Embedding(num_users, embedding_dim)"),
        ("item", "item Embedding(num_items, embedding_dim)"),
    ):
        if key not in found:
            raise ExerciseIncorrect(
                f"your model has no {what}; check that you pass num_users, num_items and "
                "embedding_dim to the right layers."
            )
    return found


@exercise("4.6", "GMF from keras.layers")
def check_gmf(build_gmf):
    """``build_gmf(num_users, num_items, embedding_dim)``: a ``keras.Model`` with inputs ``{"user_idx": int
    [batch], "item_idx": int [batch]}`` and output ``[batch, 1]`` = ``sigmoid(h . (p_u * q_i) + b)``. The check
    builds ``build_model(num_users, num_items, "gmf", output="sigmoid")``, copies its weights into the learner's
    model (matched by shape) and compares the predictions for every (user, item) pair."""
    import keras

    from ncf_helpers.models import build_model

    num_users, num_items, d = 5, 7, 3
    model = build_gmf(num_users, num_items, d)
    if model is None:
        raise ExerciseIncorrect("build_gmf(5, 7, 3) returned None. Did you forget to `return keras.Model(...)`?")
    expect(
        isinstance(model, keras.Model),
        f"build_gmf(5, 7, 3) returned a {type(model).__name__}; return the "
        "keras.Model(inputs={...}, outputs=...) you built.",
    )
    ref = build_model(num_users, num_items, "gmf", embedding_dim=d, output="sigmoid", seed=0, compile=False)
    rng = np.random.default_rng(0)
    values = {
        "user": rng.normal(size=(num_users, d)),
        "item": rng.normal(size=(num_items, d)),
        "kernel": rng.normal(size=(d, 1)),
        "bias": np.array([0.3]),
    }
    ref.get_layer("user_embedding").set_weights([values["user"]])
    ref.get_layer("item_embedding").set_weights([values["item"]])
    ref.get_layer("prediction").set_weights([values["kernel"], values["bias"]])
    for key, w in _weights_by_shape(model, num_users, num_items, d).items():
        w.assign(values[key].astype(w.dtype))
    users, items = np.meshgrid(np.arange(num_users), np.arange(num_items), indexing="ij")
    inputs = {"user_idx": users.reshape(-1).astype("int32"), "item_idx": items.reshape(-1).astype("int32")}
    try:
        got = model.predict(inputs, verbose=0)
    except Exception as exc:  # noqa: BLE001 - the learner's model may fail in many ways; say which input it needs
        raise ExerciseIncorrect(
            f"calling your model on {{'user_idx': ..., 'item_idx': ...}} failed with "
            f"{type(exc).__name__}: {exc}. Name the inputs keras.Input(shape=(), dtype='int32', "
            "name='user_idx') and name='item_idx', and pass them as a dict to keras.Model."
        ) from None
    got = _array(got, "your model's predictions").reshape(-1)
    want = np.asarray(ref.predict(inputs, verbose=0), dtype=float).reshape(-1)
    expect(
        got.shape == want.shape,
        f"your model returned {got.shape[0]} scores for {want.shape[0]} (user, item) "
        "pairs: one score per pair, output shape [batch, 1].",
    )
    logits = np.log(want) - np.log1p(-want)
    if np.allclose(got, logits, rtol=1e-4, atol=1e-5):
        raise ExerciseIncorrect(
            "your scores are the logits h . (p_u * q_i) + b: the output layer needs "
            "activation='sigmoid' so the scores are probabilities in [0, 1]."
        )
    expect_close(
        got,
        want,
        "your GMF's predictions for all 35 (user, item) pairs (weights copied from "
        "build_model(5, 7, 'gmf', output='sigmoid'))",
        rtol=1e-4,
        atol=1e-5,
        hint="Embed user_idx with the user table and item_idx with the item table, multiply the two vectors "
        "element-wise (keras.layers.Multiply), then Dense(1, activation='sigmoid').",
    )
    return "This is exactly build_model(num_users, num_items, 'gmf', output='sigmoid'): GMF is MF with a learned h."
