"""What `epochs_at_scale` costs each Keras model on data of ML-1M's shape (issue #15, point 5).

    NCF_DATA_DIR=../shared/datasets python benchmarks/epochs_at_scale.py [--seeds 0,1] [--only dot,gmf]

The epoch counts of ``DEFAULTS`` were tuned on ml-latest-small (60,500 training positives). On the synthetic set of
ML-1M's shape (``lesson.SYNTHETIC_SIZES["ml-1m"]``: 13x the ratings) an epoch is 13x the Adam steps, and the
lessons train for ``epochs_at_scale(epochs, split)`` epochs instead: as many steps as on ml-latest-small. This
script trains each model for its full default epoch count on that set, with the validation HR@10 after every
epoch (lesson 04's split: leave-last-one-out, a validation and a test item per user, 99 sampled negatives), and
reports the curve at the scaled count, at the best epoch and at the default count. Writes
``benchmarks/results/epochs_at_scale.md``.
"""

from __future__ import annotations

import argparse
import os
import time

from _common import machine, write_result

from ncf_helpers import lesson
from ncf_helpers.data import leave_last_one_out, make_synthetic
from ncf_helpers.models import DEFAULTS, epochs_at_scale, fit_model

MODELS = {  # row label -> (interaction, extra fit_model options, lesson that trains it)
    "MF (dot)": ("dot", {}, "06"),
    "GMF": ("gmf", {}, "06"),
    "MLP": ("mlp", {}, "06"),
    "NeuMF": ("neumf", {}, "06"),
    "two-tower (IDs)": ("two_tower", {}, "05"),
    "two-tower (IDs + genres)": ("two_tower", {"user_features": "profile", "id_dropout": 0.3}, "05"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--only", default="", help="comma-separated row labels' interactions, e.g. dot,two_tower")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s]
    only = {s for s in args.only.split(",") if s}
    rows, curves, users = [], [], 0
    load = os.getloadavg()[0]
    for seed in seeds:
        ds = make_synthetic(seed=seed, **lesson.SYNTHETIC_SIZES["ml-1m"])
        split = leave_last_one_out(ds, num_negatives=99, seed=seed, threshold=3.5, validation=True)
        users = len(split.valid)
        for label, (interaction, extra, where) in MODELS.items():
            if only and interaction not in only:
                continue
            options = dict(extra)
            if "user_features" in options:
                options["item_features"] = ds.genre_matrix()
            default = int(DEFAULTS[interaction]["epochs"])
            scaled = epochs_at_scale(default, split)
            t0 = time.perf_counter()
            _, history = fit_model(split, interaction, epochs=default, seed=seed, **options)
            seconds = time.perf_counter() - t0
            hr = list(history["hr@10"])
            best = max(range(len(hr)), key=lambda e: hr[e])
            per_epoch = history.train_seconds / default
            rows.append(
                f"| {label} | {where} | {seed} | {default} | {scaled} | {hr[scaled - 1]:.3f} | {best + 1} | "
                f"{hr[best]:.3f} | {hr[-1]:.3f} | {hr[scaled - 1] - hr[-1]:+.3f} | {per_epoch:.1f} |"
            )
            curves.append(f"| {label} | {seed} | " + " ".join(f"{x:.3f}" for x in hr) + " |")
            print(rows[-1], f"({seconds:.0f} s)", flush=True)
    text = "\n".join(
        [
            "# Tuned epoch counts at ML-1M's shape: `epochs_at_scale` (issue #15)",
            "",
            f"Written by `benchmarks/epochs_at_scale.py --seeds {args.seeds}`. {machine()}; load average "
            f"{load:.1f} at the start.",
            "",
            "Data: `make_synthetic(num_users=6000, num_items=3700, median_ratings=140)` (1.3M ratings, 13x "
            "ml-latest-small), lesson 04's split (leave-last-one-out of the ratings >= 3.5, a validation and a test "
            "item per user, 99 sampled negatives). Each model is trained with its `DEFAULTS` for its default number "
            "of epochs (tuned on ml-latest-small), evaluated on the validation item after every epoch. "
            '"scaled" is `epochs_at_scale(default, split)`, the epochs the lessons train for on this data: as '
            "many Adam steps as the default count gives on ml-latest-small (ceil(default x 60,500 / training "
            f"positives)). s/epoch: training seconds per epoch. {users:,} validation users: one HR@10 near 0.75 has "
            f"a binomial standard error of about {(0.75 * 0.25 / max(users, 1)) ** 0.5:.3f}; seeds: {args.seeds}.",
            "",
            "| model | lesson | seed | default epochs | scaled epochs | valid HR@10 at scaled | best epoch | "
            "best HR@10 | HR@10 at default | scaled - default | s/epoch |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "Validation HR@10 after each epoch:",
            "",
            "| model | seed | epoch 1, 2, ... |",
            "|---|---|---|",
            *curves,
        ]
    )
    write_result("epochs_at_scale", text)
    print("wrote benchmarks/results/epochs_at_scale.md")


if __name__ == "__main__":
    main()
