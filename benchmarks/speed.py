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

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, baseline_checkout, load_benchmark_data, machine, markdown_table, use_root, write_result

if os.environ.get("NCF_BENCH_ROOT"):  # a --train-row worker for another checkout (run_train_paths)
    use_root(os.environ["NCF_BENCH_ROOT"])

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from ncf_helpers.data import leave_last_one_out, random_split  # noqa: E402
from ncf_helpers.evaluate import evaluate  # noqa: E402
from ncf_helpers.models import DEFAULTS, LABEL_DEFAULTS, KerasRecommender, build_model, train, training  # noqa: E402

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
    """Records the wall-clock time at the end of the first report of a training step (graph tracing happens
    there) and how many steps it covered (1 for model.fit; up to ``STEPS_PER_CALL`` for train()'s compiled
    loop, which reports once per call)."""

    def __init__(self):
        super().__init__()
        self.first_step_done = None
        self.first_steps = 1

    def on_train_batch_end(self, batch, logs=None):
        if self.first_step_done is None:
            self.first_step_done = time.perf_counter()
            self.first_steps = batch + 1


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
        # train() reports once per call of its compiled loop (up to STEPS_PER_CALL steps): what follows it
        "rows/s after step 1": (rows - timer.first_steps * cfg["batch_size"]) / (end - timer.first_step_done)
        if rows > timer.first_steps * cfg["batch_size"]
        else float("nan"),
        "test ROC-AUC": auc["roc_auc"],
        "test accuracy": auc["accuracy"],
    }


TRAIN_INTERACTIONS = ("mlp", "dot", "gmf", "neumf", "two_tower")
TRAIN_SEEDS = (0, 1)


def train_row(interaction: str, seed: int) -> dict:
    """train() at DEFAULTS on lesson 04's split with whichever ncf_helpers this process imports (the worker
    side of :func:`run_train_paths`)."""
    import ncf_helpers

    ds = load_benchmark_data()
    split = leave_last_one_out(ds, num_negatives=99, seed=SEED, threshold=3.5, validation=True)
    model = build_model(split.num_users, split.num_items, interaction, seed=seed)
    hist = train(model, split, seed=seed, verbose=0, eval_metrics=False)
    sec = np.diff([0.0, *hist.history["seconds"]])
    metrics = evaluate(KerasRecommender(model), split).metrics
    return {
        "interaction": interaction,
        "seed": seed,
        "package": str(Path(ncf_helpers.__file__).parent),
        "epochs": hist.epochs,
        "rows/epoch": hist.rows_per_epoch,
        "epoch 1 s": float(sec[0]),
        "later epochs s": float(np.mean(sec[1:])),
        "rows/s after epoch 1": hist.rows_per_epoch / float(np.mean(sec[1:])),
        "test HR@10": metrics["hr@10"],
        "test NDCG@10": metrics["ndcg@10"],
        "final loss": hist.history["loss"][-1],
        "load": os.getloadavg()[0],
    }


def run_train_paths(baseline: Path) -> pd.DataFrame:
    """Each (interaction, seed) trained by the baseline checkout's train() and then by this checkout's, each in
    its own process (``$NCF_BENCH_ROOT``: :func:`_common.use_root`), back to back."""
    out = []
    for interaction in TRAIN_INTERACTIONS:
        for seed in TRAIN_SEEDS:
            for side, root in (("before", baseline), ("now", REPO)):
                env = {**os.environ, "NCF_BENCH_ROOT": str(root), "TF_CPP_MIN_LOG_LEVEL": "3"}
                cmd = [sys.executable, str(Path(__file__).resolve()), "--train-row", interaction, str(seed)]
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
                if proc.returncode:
                    sys.exit(f"{side} {interaction} seed {seed} failed:\n{proc.stderr[-3000:]}")
                row = json.loads(proc.stdout.strip().splitlines()[-1])
                if Path(row["package"]).parent != root.resolve():
                    sys.exit(f"the {side} worker imported {row['package']}, not {root}/ncf_helpers")
                out.append({**row, "path": side})
                print({k: row[k] for k in ("interaction", "seed", "rows/s after epoch 1", "test HR@10")}, side)
    return pd.DataFrame(out)


def train_paths_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per interaction: mean over seeds of each path's rows/s and HR@10, their ratio and the HR@10
    difference per seed."""
    rows = []
    for interaction, g in frame.groupby("interaction", sort=False):
        old = g[g["path"] == "before"].set_index("seed")
        new = g[g["path"] == "now"].set_index("seed")
        ratio = new["rows/s after epoch 1"] / old["rows/s after epoch 1"]
        rows.append(
            {
                "interaction": interaction,
                "epochs": int(old["epochs"].iloc[0]),
                "rows/epoch": f"{int(old['rows/epoch'].iloc[0]):,}",
                "before rows/s": f"{old['rows/s after epoch 1'].mean():,.0f}",
                "now rows/s": f"{new['rows/s after epoch 1'].mean():,.0f}",
                "speed-up (per seed)": " / ".join(f"{r:.2f}x" for r in ratio),
                "before epoch 1 s": f"{old['epoch 1 s'].mean():.2f}",
                "now epoch 1 s": f"{new['epoch 1 s'].mean():.2f}",
                "before test HR@10": f"{old['test HR@10'].mean():.3f}",
                "now test HR@10": f"{new['test HR@10'].mean():.3f}",
                "HR@10 now - before (per seed)": " / ".join(f"{d:+.3f}" for d in new["test HR@10"] - old["test HR@10"]),
            }
        )
    return pd.DataFrame(rows).set_index("interaction")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--baseline",
        default=str(REPO.parent / "wt-speed-base"),
        help="a checkout of main before issue #15's training loop: git worktree add --detach ../wt-speed-base e2a5c1d",
    )
    parser.add_argument("--train-row", nargs=2, metavar=("INTERACTION", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train_row:
        print(json.dumps(train_row(args.train_row[0], int(args.train_row[1]))))
        return
    baseline, base_commit = baseline_checkout(args.baseline)
    ds = load_benchmark_data()
    load_start = os.getloadavg()[0]
    print(f"train(): baseline {baseline} ({base_commit}) vs this checkout ...", flush=True)
    paths = train_paths_table(run_train_paths(baseline))
    print(markdown_table(paths))
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
    table["speed-up (after step 1)"] = [f"{r / steady.iloc[0]:.0f}x" if r == r else "n/a" for r in steady]
    for col in ("epochs", "batch size", "rows"):
        table[col] = table[col].astype(int)
    for col in ("rows/s", "rows/s after step 1"):
        table[col] = [f"{r:,.0f}" if r == r else "n/a" for r in table[col].astype(float)]
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
shuffling); "first step s" is the time to the end of the first optimizer step (for ours: the first call of
train()'s compiled loop, up to {training.STEPS_PER_CALL} steps, so "n/a" after it for a 1-epoch run), which includes Keras/TensorFlow
tracing the train step (a one-off cost per model); "rows/s" = rows / seconds; "rows/s after step 1" leaves
out that first step, i.e. the rate at which each pipeline streams rows once it runs. The speed-ups divide by
the original course's path's rate. Test ROC-AUC / accuracy after the stated number of epochs. Test ROC-AUC
from `evaluate(..., protocol="labels")` on the {len(split.test):,} test rows.

{markdown_table(table)}

## train(): one `model.fit` per epoch (before issue #15, commit `{base_commit}`) vs the compiled loop (now)

Lesson 04's split of the same data (leave-last-one-out of the positives, rating >= 3.5, a validation item per
user, 99 sampled negatives per held-out item), each interaction at its `DEFAULTS` (4 sampled negatives per
positive, batch 4096, Adam, its default epochs), seeds {", ".join(map(str, TRAIN_SEEDS))}, no per-epoch
evaluation. "Before" is the code of commit `{base_commit}` (a separate checkout, imported first in its own process): `run_epoch` calls `model.fit` once per epoch. "Now" is this checkout: the same train step (`model.compute_loss`, gradients,
`optimizer.apply`) `STEPS_PER_CALL` = {training.STEPS_PER_CALL} steps per call of one compiled `tf.function`
that slices the epoch's arrays into batches inside the graph (models it does not cover still go through
`model.fit`), and `sample_negatives` looks the positives up in a boolean table instead of binary-searching the
sorted keys. Both sides draw the same rows in the same order and ran back to back (same seed, before then now,
each in a fresh process), so the ratio is the number to read; load average
{load_start:.1f} at the start of this section, {os.getloadavg()[0]:.1f} at the end of the run. rows/s leave
out epoch 1 (it includes tracing the train step, shown separately). Test HR@10: sampled protocol (99
negatives), after the same epochs.

{markdown_table(paths)}
"""
    path = write_result("speed", md)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
