"""Execute every lesson with its default parameters and record the wall time of each.

    NCF_DATA_DIR=../shared/datasets python benchmarks/notebooks.py [--fast] [--only 04]

Writes ``benchmarks/results/notebooks.md`` (or ``notebooks_fast.md`` with ``--fast``) and the figures each lesson
displayed under ``benchmarks/results/figures/<lesson>/`` (git-ignored PNGs, for looking at). Budgets on a
2-core CPU: lessons 01-03 under 60 s, lessons 04-06 under 90 s.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time

from _common import REPO, RESULTS, machine, write_result

from ncf_helpers.nbrun import run_lesson

BUDGET = {"01": 60, "02": 60, "03": 60, "04": 90, "05": 90, "06": 90}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="inject FAST=True (what the tests run)")
    parser.add_argument("--only", default="", help="run only lessons whose name starts with this")
    args = parser.parse_args(argv)
    lessons = sorted((REPO / "lessons").glob("[0-9][0-9]_*.ipynb"))
    lessons = [p for p in lessons if p.stem.startswith(args.only)]
    if not lessons:
        sys.exit("No lessons matched.")
    rows = []
    for path in lessons:
        overrides = {"FAST": True} if args.fast else None
        start = time.perf_counter()
        try:
            run = run_lesson(path, overrides)
            status = "ok"
            images = run.images()
            records = run.records
        except Exception as exc:  # keep going: report every lesson
            status = f"FAILED: {str(exc).splitlines()[0][:120]}"
            images, records = [], {}
        seconds = time.perf_counter() - start
        number = path.stem[:2]
        budget = BUDGET.get(number)
        within = "" if budget is None or args.fast else ("yes" if seconds <= budget else "NO")
        figdir = RESULTS / "figures" / path.stem
        shutil.rmtree(figdir, ignore_errors=True)
        figdir.mkdir(parents=True, exist_ok=True)
        for k, (cell, png) in enumerate(images):
            (figdir / f"{k:02d}_cell{cell:03d}.png").write_bytes(png)
        rows.append((path.stem, seconds, budget, within, len(images), status, records.get("dataset", "")))
        print(f"{path.stem:32s} {seconds:7.1f} s  budget {budget} s  figures {len(images):2d}  {status}", flush=True)
    mode = "FAST=True" if args.fast else "default parameters"
    lines = [
        f"# Lesson run times ({mode})",
        "",
        f"Machine: {machine()}",
        "",
        "| lesson | data | seconds | budget (s) | within budget | figures | status |",
        "|---|---|---|---|---|---|---|",
    ]
    for stem, seconds, budget, within, n_fig, status, data in rows:
        lines.append(f"| {stem} | {data} | {seconds:.1f} | {budget or ''} | {within} | {n_fig} | {status} |")
    write_result("notebooks_fast" if args.fast else "notebooks", "\n".join(lines))
    return 0 if all(r[5] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
