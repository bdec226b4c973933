"""The original course's input pipeline vs ours, on the same training rows (lesson 04's "why is this so slow?").

The original course wrote its training rows to a CSV file and read them back with
``tf.data.experimental.make_csv_dataset(batch_size=12, label_name="label", num_epochs=1, shuffle=True)``:
every 12 rows cost one CSV-parsing step and one optimizer step. We keep the rows in numpy arrays and call
``model.fit`` with batches of 4,096 (``ncf_helpers.models.train``).

Both sides train the same architecture, the original course's ``neural_cf_model_1`` (= our ``"mlp"``: embeddings ->
Dense(10, relu) x 2 -> Dense(1, sigmoid), embedding_dim as in ``DEFAULTS["mlp"]``), on the original course's protocol: a
random 80/20 split of all ml-latest-small ratings, label = rating >= 3.5, pointwise BCE (no sampled
negatives). Rows per second include each side's one-off graph tracing; the test ROC-AUC is the shared
``evaluate(..., protocol="labels")``.

Run from the repo root: ``NCF_DATA_DIR=../shared/datasets python benchmarks/speed.py``.
Writes ``benchmarks/results/speed.md``.
"""

from __future__ import annotations

import os
import tempfile
import time

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402
from _common import load_benchmark_data, machine, markdown_table, write_result
from keras import layers  # noqa: E402

from ncf_helpers.data import random_split  # noqa: E402
from ncf_helpers.evaluate import evaluate  # noqa: E402
from ncf_helpers.models import DEFAULTS, LABEL_DEFAULTS, KerasRecommender, build_model, train  # noqa: E402

SEED = 0
SEED_BATCH = 12


def seed_model(num_users: int, num_items: int, embedding_dim: int) -> keras.Model:
    """The original course's neural_cf_model_1 with the CSV column names as its two int inputs."""
    user = keras.Input(shape=(), dtype="int32", name="userId")
    item = keras.Input(shape=(), dtype="int32", name="movieId")
    x = layers.Concatenate()(
        [layers.Embedding(num_users, embedding_dim)(user), layers.Embedding(num_items, embedding_dim)(item)]
    )
    x = layers.Dense(10, activation="relu")(x)
    x = layers.Dense(10, activation="relu")(x)
    out = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model({"userId": user, "movieId": item}, out)
    model.compile(optimizer=keras.optimizers.Adam(), loss="binary_crossentropy")
    return model


class FirstStepTimer(keras.callbacks.Callback):
    """Records the wall-clock time at the end of the very first training step (graph tracing happens there)."""

    def __init__(self):
        super().__init__()
        self.first_step_done = None

    def on_train_batch_end(self, batch, logs=None):
        if self.first_step_done is None:
            self.first_step_done = time.perf_counter()


class _SeedAsRecommender:
    """Just enough of the Recommender interface for evaluate(protocol="labels")."""

    def __init__(self, model):
        self.model = model

    def score(self, user_idx, item_idx):
        x = {"userId": np.asarray(user_idx, np.int32), "movieId": np.asarray(item_idx, np.int32)}
        return np.asarray(self.model.predict(x, batch_size=65536, verbose=0)).reshape(-1)


def run_seed_path(split, embedding_dim):
    train_rows = split.train[["user_idx", "item_idx", "label"]].rename(
        columns={"user_idx": "userId", "item_idx": "movieId"}
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "train.csv")
        train_rows.to_csv(path, index=False)
        keras.utils.set_random_seed(SEED)
        model = seed_model(split.num_users, split.num_items, embedding_dim)
        data = tf.data.experimental.make_csv_dataset(
            path, batch_size=SEED_BATCH, label_name="label", num_epochs=1, shuffle=True, shuffle_seed=SEED
        )
        # make_csv_dataset yields an OrderedDict; Keras 3 flattens it in insertion order but the model's plain
        # dict inputs in sorted order, which would feed movieId into the user embedding. A plain dict fixes it.
        data = data.map(lambda features, label: (dict(features), label))
        timer = FirstStepTimer()
        start, cpu = time.perf_counter(), time.process_time()
        model.fit(data, epochs=1, verbose=0, callbacks=[timer])
        end, cpu = time.perf_counter(), time.process_time() - cpu
    auc = evaluate(_SeedAsRecommender(model), split, protocol="labels").metrics
    rows = len(train_rows)
    return {
        "epochs": 1,
        "batch size": SEED_BATCH,
        "rows": rows,
        "seconds": end - start,
        "CPU s": cpu,
        "first step s": timer.first_step_done - start,
        "rows/s": rows / (end - start),
        "rows/s after step 1": (rows - SEED_BATCH) / (end - timer.first_step_done),
        "test ROC-AUC": auc["roc_auc"],
        "test accuracy": auc["accuracy"],
    }


def run_our_path(split, epochs):
    cfg = {**DEFAULTS["mlp"], **LABEL_DEFAULTS["mlp"]}
    model = build_model(
        split.num_users,
        split.num_items,
        "mlp",
        embedding_dim=cfg["embedding_dim"],
        hidden=cfg["hidden"],
        l2=cfg["l2"],
        learning_rate=cfg["learning_rate"],
        seed=SEED,
    )
    timer = FirstStepTimer()
    start, cpu = time.perf_counter(), time.process_time()
    hist = train(
        model,
        split,
        epochs=epochs,
        num_negatives=0,
        batch_size=cfg["batch_size"],
        seed=SEED,
        verbose=0,
        eval_metrics=False,
        callbacks=[timer],
    )
    end, cpu = time.perf_counter(), time.process_time() - cpu
    auc = evaluate(KerasRecommender(model), split, protocol="labels").metrics
    rows = hist.rows_per_epoch * hist.epochs
    return {
        "epochs": epochs,
        "batch size": cfg["batch_size"],
        "rows": rows,
        "seconds": end - start,
        "CPU s": cpu,
        "first step s": timer.first_step_done - start,
        "rows/s": rows / (end - start),
        "rows/s after step 1": (rows - cfg["batch_size"]) / (end - timer.first_step_done),
        "test ROC-AUC": auc["roc_auc"],
        "test accuracy": auc["accuracy"],
    }


def main():
    ds = load_benchmark_data()
    split = random_split(ds, test_fraction=0.2, seed=SEED, threshold=3.5)
    print(split.describe())
    dim = DEFAULTS["mlp"]["embedding_dim"]
    results = {}
    print("original course's path: CSV + make_csv_dataset, batch 12, 1 epoch ...", flush=True)
    results["original course: CSV -> make_csv_dataset, batch 12"] = run_seed_path(split, dim)
    print(results["original course: CSV -> make_csv_dataset, batch 12"], flush=True)
    print("our path: numpy arrays, batch 4096 ...", flush=True)
    results["ours: numpy arrays -> model.fit, 1 epoch"] = run_our_path(split, 1)
    n_ours = LABEL_DEFAULTS["mlp"]["epochs"]
    results[f"ours: numpy arrays -> model.fit, {n_ours} epochs (LABEL_DEFAULTS)"] = run_our_path(split, n_ours)
    table = pd.DataFrame(results).T
    table.index.name = "pipeline"
    table["speed-up (all)"] = [f"{r / table['rows/s'].iloc[0]:.0f}x" for r in table["rows/s"]]
    steady = table["rows/s after step 1"]
    table["speed-up (after step 1)"] = [f"{r / steady.iloc[0]:.0f}x" for r in steady]
    for col in ("epochs", "batch size", "rows"):
        table[col] = table[col].astype(int)
    for col in ("rows/s", "rows/s after step 1"):
        table[col] = [f"{r:,.0f}" for r in table[col].astype(float)]
    for col in ("seconds", "CPU s", "first step s"):
        table[col] = [f"{v:.1f}" for v in table[col].astype(float)]
    table["rows"] = [f"{v:,}" for v in table["rows"]]
    for col in ("test ROC-AUC", "test accuracy"):
        table[col] = table[col].astype(float)
    print()
    print(markdown_table(table))
    md = f"""# Input pipeline: the original course's CSV reader vs numpy arrays

Machine: {machine()}. Produced by `benchmarks/speed.py` (seed {SEED}).
The VM's 2 cores were shared with other jobs during this run; both pipelines ran back to back in one process,
so the ratio is the meaningful number.

Same rows for both: {len(split.train):,} training rows of a random 80/20 split of ml-latest-small, label =
rating >= 3.5; same architecture (the original course's `neural_cf_model_1` = our `"mlp"`, embedding_dim {dim},
Dense(10, relu) x 2, Dense(1, sigmoid)), binary cross-entropy, Adam. The original course's path: rows written to a
temporary CSV (`userId,movieId,label`) and read with `tf.data.experimental.make_csv_dataset(batch_size=12,
label_name="label", num_epochs=1, shuffle=True)`, Adam's default step size, one epoch. Ours:
`ncf_helpers.models.train` (numpy arrays, batch 4096, shuffled in numpy), `LABEL_DEFAULTS["mlp"]` =
{LABEL_DEFAULTS["mlp"]}. "seconds" is the wall time of training (for ours including the per-epoch numpy
shuffling); "first step s" is the time to the end of the first optimizer step, which includes Keras/TensorFlow
tracing the train step (a one-off cost per model); "rows/s" = rows / seconds; "rows/s after step 1" leaves
out that first step, i.e. the rate at which each pipeline streams rows once it runs. The speed-ups divide by
the original course's path's rate. Test ROC-AUC / accuracy after the stated number of epochs. Test ROC-AUC
from `evaluate(..., protocol="labels")` on the {len(split.test):,} test rows.

{markdown_table(table)}
"""
    path = write_result("speed", md)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
