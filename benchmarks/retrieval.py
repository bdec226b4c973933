"""Record lesson 07: four losses x 3 seeds, context placement, fresh items, ANN indexes up to 10^6 items.

    NCF_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/retrieval.py

Runs what lesson 07 runs with its default parameters (``SEED = 0``, ``THRESHOLD = 3.5``, leave-last-one-out with
a validation item per user and 99 sampled negatives), for the seeds the lesson cannot afford in 90 s, and the
index table at 10^4, 10^5 and 10^6 items (random item vectors with the trained vectors' norm distribution;
queries are the trained user vectors of the test users). It writes

* ``ncf_helpers/lessons/l07_retrieval/recorded/retrieval_ml-latest-small.json`` - the tables the lesson reads (with the
  split's fingerprint and the training settings; no ratings);
* ``benchmarks/results/retrieval.md`` - the same as markdown tables, with the machine's load.

``--only train`` runs the losses, context and fresh-item parts, ``--only index`` the index tables (it trains the
seed-0 corrected-softmax towers for its queries); each merges its tables into the recorded file, so the two can
run one after the other or at the same time. Without ``--only`` both run. Takes 15-30 minutes on 2 CPU cores
(most of it training 18 pairs of towers and building the 10^6-item indexes).
"""

from __future__ import annotations

import os
import platform
import sys
import time

from _common import load_benchmark_data, machine, markdown_table, write_result

SEED, THRESHOLD, SEEDS = 0, 3.5, (0, 1, 2)
SIZES = (10_000, 100_000, 1_000_000)


def main(only: str | None = None) -> int:
    import keras
    import tensorflow as tf

    from ncf_helpers.data import leave_last_one_out  # first: it quiets TensorFlow's start-up lines
    from ncf_helpers.lessons.l06_comparison.experiments import split_fingerprint
    from ncf_helpers.lessons.l07_retrieval import experiments as rt

    start = time.perf_counter()
    load_start = os.getloadavg()
    ds = load_benchmark_data("ml-latest-small")
    split = leave_last_one_out(ds, threshold=THRESHOLD, num_negatives=99, seed=SEED, validation=True)
    print(split.describe(), flush=True)

    import pandas as pd

    tables = {}
    if only in (None, "train"):
        losses, models = rt.loss_comparison(split, seeds=SEEDS, keep_models=True)
        print(rt.summarise_losses(losses).round(3).to_string(), flush=True)
        context_rows, fresh_rows = [], []
        for seed in SEEDS:
            ctx, _ = rt.context_comparison(
                ds, split, seed=seed, models={"none": models["softmax_logq"]} if seed == SEED else None
            )
            context_rows.append(ctx.reset_index().assign(seed=seed))
            fresh, extra = rt.fresh_item_recall(ds, split, seed=seed)
            fresh_rows.append(fresh.reset_index().assign(seed=seed, users=extra["users"], films=len(extra["fresh"])))
            print(f"seed {seed}: context and fresh items done ({time.perf_counter() - start:.0f} s)", flush=True)
        tables.update(
            losses=losses,
            context=pd.concat(context_rows, ignore_index=True),
            fresh=pd.concat(fresh_rows, ignore_index=True),
        )
    if only in (None, "index"):
        from ncf_helpers.models.retrieval import fit_retrieval

        best = fit_retrieval(split, "softmax_logq", seed=SEED)
        queries = best.user_vectors(split.test["user_idx"].to_numpy())
        items = best.item_vectors()
        index_tables = [rt.index_table(items, queries).assign(catalogue="trained item vectors")]
        for n in SIZES:
            t0 = time.perf_counter()
            index_tables.append(
                rt.index_table(rt.synthetic_catalogue(items, n, seed=SEED), queries).assign(catalogue="synthetic")
            )
            print(f"index table at {n:,} items: {time.perf_counter() - t0:.0f} s", flush=True)
        tables["index"] = pd.concat(index_tables, ignore_index=True)
    load_end = os.getloadavg()
    part = only or "all"
    info = {
        f"{part}: date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "versions": f"Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}",
        f"{part}: load average (1 min) at start, end": [round(load_start[0], 2), round(load_end[0], 2)],
        f"{part}: seconds": round(time.perf_counter() - start),
        "seeds": list(SEEDS),
    }
    path = rt.save_recorded(tables, split, ds.name, info=info)
    print(f"wrote {path}")
    doc = rt.find_recorded(split, ds.name)
    missing = [t for t in ("losses", "context", "fresh", "index") if t not in doc]
    if missing:
        print(
            f"{path.name} has no {missing} table yet: run with --only {'index' if 'index' in missing else 'train'}; "
            "the markdown is written when all four are there."
        )
        return 0
    losses, context, fresh, index, rec_info = doc["losses"], doc["context"], doc["fresh"], doc["index"], doc["info"]

    def mean_sd(frame, by, metrics):
        g = frame.groupby(by, sort=False)[metrics]
        m, s = g.mean(), g.std(ddof=1)
        out = m.copy()
        for c in metrics:
            out[c] = [f"{a:.3f} ± {b:.3f}" for a, b in zip(m[c], s[c])]
        return out

    loss_md = mean_sd(
        losses.assign(loss=losses["loss"].map(rt.LOSS_LABELS)),
        "loss",
        ["recall@10", "recall@50", "recall@100", "ndcg@10", "sampled hr@10", "train s"],
    )
    ctx_md = mean_sd(
        context, "placement", ["recall@10", "ndcg@10", "recall@100", "best ms / request", "median ms / request"]
    )
    fresh_md = mean_sd(fresh, "item tower", ["recall@10", "recall@50"])
    idx_md = index.set_index("num_items")[
        [
            "catalogue",
            "backend",
            "setting",
            "recall@10 vs exact",
            "best ms/query",
            "median ms/query",
            "build s",
            "bytes/item",
        ]
    ]
    runs = "; ".join(
        f"{key.split(':')[0]} part {rec_info.get(key.split(':')[0] + ': seconds', '?')} s, load "
        f"{rec_info[key][0]} -> {rec_info[key][1]}"
        for key in rec_info
        if key.endswith("at start, end")
    )
    lines = [
        "# Lesson 07's retrieval experiments, recorded",
        "",
        f"Machine: {machine()}. Produced by `benchmarks/retrieval.py` ({runs}; load average over 1 minute at the "
        "start and end of each part: other jobs shared the 2 cores, so times are upper bounds; compare them as "
        f"ratios within one table). Split fingerprint `{split_fingerprint(split)}`.",
        "",
        f"ml-latest-small, rating >= {THRESHOLD} is a positive, leave-last-one-out with a validation item per user, "
        f"{len(split.test)} test users. Mean ± standard deviation over seeds {list(SEEDS)} (training seeds; the "
        "split is fixed). Full-catalogue metrics rank the test film against every film, the user's other known "
        "positives excluded; sampled HR@10 is the course's 99-negative protocol.",
        "",
        "## 1. Losses (same towers, same batches, 10 epochs)",
        "",
        markdown_table(loss_md),
        "",
        "## 2. Context: hour of day, day of week, year of the request",
        "",
        markdown_table(ctx_md),
        "",
        "## 3. Fresh items (first rated after the 90th percentile of rating times), Recall@K among fresh films",
        "",
        f"{int(fresh['films'].iloc[0])} fresh films, {int(fresh['users'].iloc[0])} users with a positive on one.",
        "",
        markdown_table(fresh_md),
        "",
        "## 4. Index: recall@10 against exact brute force, per-query latency (1 thread), build, memory",
        "",
        "Queries: the trained user vectors of the test users. `synthetic`: random directions with the trained item "
        "vectors' norms. bytes/item counts the stored codes or vectors, ids and the centroids shared per item.",
        "",
        markdown_table(idx_md),
    ]
    print(write_result("retrieval", "\n".join(lines)))
    return 0


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("train", "index"), help="run one part (default: both)")
    sys.exit(main(parser.parse_args().only))
