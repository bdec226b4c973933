"""Record lesson 06's comparison: every model of the course, 3 seeds, on ml-latest-small.

    NCF_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/comparison.py

Runs exactly what lesson 06 runs with ``RECORDED = False`` and its default parameters (``SEED = 0``,
``THRESHOLD = 3.5``, ``SEEDS = 3``, ``EPOCHS = None``): :func:`ncf_helpers.experiments.comparison.compare_models`
on the leave-last-one-out split with 99 sampled negatives, then the protocol curve (1 negative ... all items) of
each model's first-seed fit. It writes

* ``ncf_helpers/experiments/recorded/comparison_ml-latest-small.json`` - the numbers lesson 06 reads by default
  (results per model and seed, per-user hits averaged over seeds, the curve, the split's fingerprint; no
  ratings), because training the five Keras models three times takes minutes, not the lesson's 90 s budget;
* ``benchmarks/results/comparison.md`` - the same as tables.

Takes about 6-7 minutes on 2 CPU cores.
"""

from __future__ import annotations

import os
import platform
import sys
import time

from _common import load_benchmark_data, machine, markdown_table, write_result

SEED, THRESHOLD, SEEDS = 0, 3.5, (0, 1, 2)


def main() -> int:
    from ncf_helpers.data import leave_last_one_out  # first: it quiets TensorFlow's start-up lines
    from ncf_helpers.experiments import comparison as cmp
    from ncf_helpers.widgets.protocol import protocol_curve

    import keras
    import tensorflow as tf

    start = time.perf_counter()
    ds = load_benchmark_data("ml-latest-small")
    split = leave_last_one_out(ds, threshold=THRESHOLD, num_negatives=99, seed=SEED)
    print(split.describe(), flush=True)
    comparison = cmp.compare_models(split, cmp.MODELS, seeds=SEEDS)
    curve = protocol_curve(comparison.models, split, seed=SEED)
    info = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
            "versions": f"Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}"}
    path = cmp.save_recorded(comparison, split, ds.name, curve, info=info)
    print(f"wrote {path}")

    summary = comparison.summary()
    table = comparison.table()
    at = curve.pivot(index="model", columns="num_negatives", values="hr@10").reindex(list(summary.index))
    at = at[[c for c in ("1", "9", "99", "999", "all") if c in at.columns]]
    total = time.perf_counter() - start
    lines = [
        "# Lesson 06's comparison, recorded",
        "",
        f"Machine: {machine()}. Produced by `benchmarks/comparison.py` in {total:.0f} s "
        f"(compare_models {comparison.seconds:.0f} s). Split fingerprint `{cmp.split_fingerprint(split)}`.",
        "",
        f"ml-latest-small, rating >= {THRESHOLD} is a positive, leave-last-one-out, 99 sampled negatives per test "
        f"user shared by every model, {len(split.test)} test users; model seeds {SEEDS} (Popularity, UserCF and "
        "ItemCF have no randomness and are fitted once). Each model with its tuned defaults. Lesson 06 reads "
        "these numbers from `ncf_helpers/experiments/recorded/comparison_ml-latest-small.json` and retrains "
        "MF (dot) live to check them.",
        "",
        "## HR@10 and NDCG@10, mean ± std over seeds",
        "",
        markdown_table(table, floatfmt=".1f"),
        "",
        "## HR@10 against n sampled negatives and against all items (first seed)",
        "",
        markdown_table(at),
    ]
    write_result("comparison", "\n".join(lines))
    print(table.to_string())
    print(at.round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
