"""Record lesson 06's comparison: every model of the course, 3 seeds, on ml-latest-small, under three protocols.

    NCF_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/comparison.py

Runs exactly what lesson 06 runs with ``RECORDED = False`` and its default parameters (``SEED = 0``,
``THRESHOLD = 3.5``, ``SEEDS = 3``, ``EPOCHS = None``, ``TEST_FRACTION = 0.2``):

1. :func:`ncf_helpers.lessons.l06_comparison.experiments.compare_models` (every model of ``cmp.MODELS``, with the
   same-size variants MF-32 and GMF-32, sampled and full ranking) on the leave-last-one-out split with 99
   sampled negatives, then the protocol curve (1 negative ... all items) of each model's first-seed fit;
2. the same comparison on the global time split (``temporal_split``: train before one cut-off time, test each
   user's first positive after it, 99 negatives from the same sampler);
3. the original course's protocol for the Keras models: a random 80/20 split of the rating rows, trained on
   ``label = rating >= 3.5``, ROC-AUC (``labels_comparison``).

It writes

* ``ncf_helpers/lessons/l06_comparison/recorded/comparison_ml-latest-small.json`` - the numbers lesson 06 reads by default
  (results per model and seed, per-user and per-seed hits, the curve, each split's fingerprint; no ratings),
  because training the seven Keras models three times on two splits takes many minutes, not the lesson's 90 s;
* ``benchmarks/results/comparison.md`` - the same as tables.

Takes about 15-25 minutes on 2 CPU cores.

    .venv/bin/python benchmarks/comparison.py --fast-synthetic

records instead what lesson 06 runs with ``FAST = True`` on the small synthetic data set it falls back to offline
(``lesson.load_data("synthetic", fast=True)``: 400 users x 600 items; ``cmp.FAST_EPOCHS`` epochs and
``cmp.FAST_OPTIONS``), as ``recorded/comparison_synthetic.json``: the offline notebook tests and nbgrader's
autograde (tests/test_nbgrader.py) read it instead of training 24 Keras models per run. About 2 minutes; no
MovieLens needed, no results page written.

    .venv/bin/python benchmarks/comparison.py --synthetic-size ml-1m

records lesson 06's default run on the synthetic set of ML-1M's shape (``DATASET = "synthetic"``,
``SYNTHETIC_SIZE = "ml-1m"``: 6,000 users x 3,700 items, 1.3M ratings; the Keras models train for
``epochs_at_scale`` epochs) as ``recorded/comparison_synthetic-ml-1m.json.gz``, so that the lesson at that size
runs in minutes, as it does on ml-latest-small (issue #15). About 20-30 minutes on 2 CPU cores; no results page.
"""

from __future__ import annotations

import os
import platform
import sys
import time

from _common import load_benchmark_data, machine, markdown_table, write_result

SEED, THRESHOLD, SEEDS, TEST_FRACTION = 0, 3.5, (0, 1, 2), 0.2
LABEL_MODELS = ("MF (dot)", "GMF", "MLP", "NeuMF")


def main(argv=None) -> int:
    import argparse

    import keras
    import tensorflow as tf

    from ncf_helpers.data import leave_last_one_out, random_split, temporal_split  # first: quiets TensorFlow
    from ncf_helpers.evaluate import protocol_curve
    from ncf_helpers.interactions import later_training_share
    from ncf_helpers.lessons.l06_comparison import experiments as cmp

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--fast-synthetic", action="store_true", help="record lesson 06's FAST run on the small synthetic data"
    )
    parser.add_argument(
        "--synthetic-size", default=None, help="record lesson 06's default run on this synthetic size (ml-1m)"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    record_as = None
    if args.synthetic_size:
        from ncf_helpers import lesson

        ds = lesson.load_data("synthetic", False, seed=SEED, verbose=False, synthetic_size=args.synthetic_size)
        epochs, options = None, {}
        record_as = f"synthetic-{args.synthetic_size}"
    elif args.fast_synthetic:
        from ncf_helpers import lesson

        ds = lesson.load_data("synthetic", True, seed=SEED, verbose=False)
        epochs, options = cmp.FAST_EPOCHS, cmp.FAST_OPTIONS
    else:
        ds = load_benchmark_data("ml-latest-small")
        epochs, options = None, {}
    split = leave_last_one_out(ds, threshold=THRESHOLD, num_negatives=99, seed=SEED)
    print(split.describe(), flush=True)
    comparison = cmp.compare_models(split, cmp.MODELS, seeds=SEEDS, epochs=epochs, options=options, full=True)
    curve = protocol_curve(comparison.models, split, seed=SEED)

    tsplit = temporal_split(ds, test_fraction=TEST_FRACTION, threshold=THRESHOLD, num_negatives=99, seed=SEED)
    print(tsplit.describe(), flush=True)
    timed = cmp.compare_models(tsplit, cmp.MODELS, seeds=SEEDS, epochs=epochs, options=options, full=True)

    rsplit = random_split(ds, test_fraction=0.2, seed=SEED, threshold=THRESHOLD)
    print(rsplit.describe(), flush=True)
    labels = cmp.labels_comparison(rsplit, LABEL_MODELS, seeds=SEEDS, epochs=epochs, options=options)

    info = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "versions": f"Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}",
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    path = cmp.save_recorded(
        comparison,
        split,
        record_as or ds.name,
        curve,
        epochs=epochs,
        info=info,
        more=[(timed, tsplit, None), (labels, rsplit, None)],
        compress=record_as is not None,
    )
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    if args.fast_synthetic or record_as:
        for c in (comparison, timed, labels):
            print(c.table().to_string())
        return 0

    at = curve.pivot(index="model", columns="num_negatives", values="hr@10").reindex(list(comparison.summary().index))
    at = at[[c for c in ("1", "9", "99", "999", "all") if c in at.columns]]
    shares = {name: later_training_share(s) for name, s in (("leave-last-one-out", split), ("time split", tsplit))}
    total = time.perf_counter() - start
    lines = [
        "# Lesson 06's comparison, recorded",
        "",
        f"Machine: {machine()}; load average at the end {info['load']} (shared machine: fit times are inflated). "
        f"Produced by `benchmarks/comparison.py` in {total:.0f} s. Split fingerprints: leave-last-one-out "
        f"`{cmp.split_fingerprint(split)}`, time split `{cmp.split_fingerprint(tsplit)}`, random 80/20 "
        f"`{cmp.split_fingerprint(rsplit)}`.",
        "",
        f"ml-latest-small, rating >= {THRESHOLD} is a positive, 99 sampled negatives per test user shared by every "
        f"model; model seeds {SEEDS} (Popularity, UserCF and ItemCF have no randomness and are fitted once). Each "
        "model with its tuned defaults; MF-32 and GMF-32 are MF (no biases) and GMF at embedding_dim 32, the size "
        "of NeuMF's halves. Lesson 06 reads these numbers from "
        "`ncf_helpers/lessons/l06_comparison/recorded/comparison_ml-latest-small.json`.",
        "",
        "Share of all training positives dated after the test user's held-out positive: "
        + "; ".join(
            f"{k} mean {v.mean():.3f}, median {float(__import__('numpy').median(v)):.3f}" for k, v in shares.items()
        )
        + ".",
        "",
        f"## Leave-last-one-out ({len(split.test)} test users), mean ± std over seeds",
        "",
        markdown_table(comparison.table(), floatfmt=".1f"),
        "",
        f"## Time split ({len(tsplit.test)} test users, cut-off {time.strftime('%Y-%m-%d', time.gmtime(tsplit.cutoff))}), "
        "mean ± std over seeds",
        "",
        markdown_table(timed.table(), floatfmt=".1f"),
        "",
        f"## The original course's protocol (random 80/20 split, {len(rsplit.test):,} test rows, label = rating >= 3.5)",
        "",
        markdown_table(labels.table(), floatfmt=".1f"),
        "",
        "## HR@10 against n sampled negatives and against all items (leave-last-one-out, first seed)",
        "",
        markdown_table(at),
    ]
    write_result("comparison", "\n".join(lines))
    for c in (comparison, timed, labels):
        print(c.table().to_string())
    print(at.round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
