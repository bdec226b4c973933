"""Each lesson on ml-latest-small and on synthetic data of ML-1M's shape, side by side (issue #15, point 5).

    NCF_DATA_DIR=../shared/datasets python benchmarks/scale_lessons.py [--only 00,01,...,07] [--fast]

Runs every chosen lesson twice with its default parameters: once as shipped (``DATASET = "ml-latest-small"``),
once with ``DATASET = "synthetic"`` and ``SYNTHETIC_SIZE = "ml-1m"`` (6,000 users x 3,700 items, 1.3M ratings:
13x ml-latest-small's ratings), and records both wall times, their ratio (the goal: within 3x) and the load.
Writes ``benchmarks/results/scale_lessons.md``.

What a lesson does differently at that size is the lesson's own code, not this script's: every epoch count
goes through ``epochs_at_scale`` (the Adam/SGD steps it buys on ml-latest-small: fewer, longer epochs;
``benchmarks/results/epochs_at_scale.md`` shows what that costs each model), and lesson 06 reads the recorded
comparison of that data set (``benchmarks/comparison.py --synthetic-size ml-1m``), as it does on ml-latest-small.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from _common import REPO, RESULTS, machine, write_result

from ncf_helpers.nbrun import run_lesson


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="00,01,02,03,04,05,06,07")
    parser.add_argument("--fast", action="store_true", help="inject FAST=True in both runs")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args()
    if not os.environ.get("NCF_DATA_DIR"):
        sys.exit("Set NCF_DATA_DIR to the folder holding ml-latest-small/ (the first column runs on it).")
    prefixes = [p for p in args.only.split(",") if p]
    lessons = [p for p in sorted((REPO / "lessons").glob("[0-9][0-9]_*.ipynb")) if p.stem[:2] in prefixes]
    rows = []
    for path in lessons:
        cells = {}
        for label, overrides in (
            ("ml-latest-small", {}),
            ("synthetic ml-1m", {"DATASET": "synthetic", "SYNTHETIC_SIZE": "ml-1m"}),
        ):
            if args.fast:
                overrides = {**overrides, "FAST": True}
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            try:
                run_lesson(path, overrides, timeout=args.timeout)
                cells[label] = (time.perf_counter() - t0, load, "")
            except Exception as exc:  # a failing lesson is a row too
                last = [ln for ln in str(exc).splitlines() if ln.strip()][-1:] or [type(exc).__name__]
                cells[label] = (time.perf_counter() - t0, load, f"failed: {last[0][:160]}")
            print(f"{path.stem} {label}: {cells[label][0]:.0f} s (load {load:.1f}) {cells[label][2]}", flush=True)
        (a, la, ea), (b, lb, eb) = cells["ml-latest-small"], cells["synthetic ml-1m"]
        ratio = b / a if not (ea or eb) else float("nan")
        rows.append(
            f"| {path.stem} | {a:.0f}{' ' + ea if ea else ''} | {la:.1f} | {b:.0f}{' ' + eb if eb else ''} | "
            f"{lb:.1f} | {'n/a' if ratio != ratio else f'{ratio:.2f}x'} | {'yes' if ratio <= 3 else '**no**'} |"
        )
    text = "\n".join(
        [
            "# Lessons at ML-1M size (issue #15)",
            "",
            f"Written by `benchmarks/scale_lessons.py`{' --fast' if args.fast else ''}. {machine()}. Each lesson runs "
            "with its default parameters" + (" and FAST=True" if args.fast else "") + " on ml-latest-small (100,836 "
            'ratings), then with `DATASET = "synthetic"`, `SYNTHETIC_SIZE = "ml-1m"` (1,297,049 ratings, 13x). '
            "Wall times in seconds, with the 1-minute load average at each run's start (2 shared cores: a load "
            "above 2 inflates times). Goal: ML-1M within 3x. At ML-1M's shape the lessons train for "
            "`epochs_at_scale` epochs (as many optimizer steps as on ml-latest-small; "
            "`benchmarks/results/epochs_at_scale.md`), and lesson 06 reads its recorded comparison "
            "(`recorded/comparison_synthetic-ml-1m.json.gz`), as it does on ml-latest-small.",
            "",
            "| lesson | ml-latest-small s | load | synthetic ml-1m s | load | ratio | within 3x? |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    previous = RESULTS / "scale_lessons.md"
    if previous.exists():  # keep the rows of lessons not run this time
        done = {path.stem for path in lessons}
        kept = [
            ln
            for ln in previous.read_text().splitlines()
            if ln.startswith("| 0") and ln.split("|")[1].strip() not in done
        ]
        rows = sorted(rows + kept)
        text = text.split("|---|---|---|---|---|---|---|")[0] + "|---|---|---|---|---|---|---|\n" + "\n".join(rows)
    write_result("scale_lessons", text)
    print("wrote benchmarks/results/scale_lessons.md")


if __name__ == "__main__":
    main()
