"""Execute every lesson with its default parameters and record the wall time of each.

    NCF_DATA_DIR=../shared/datasets python benchmarks/notebooks.py [--fast] [--only 04,05] [--baseline ../wt-speed-base]

Writes ``benchmarks/results/notebooks.md`` (or ``notebooks_fast.md`` with ``--fast``) and the figures each lesson
displayed under ``benchmarks/results/figures/<lesson>/`` (git-ignored PNGs, for looking at). Each executed
notebook is saved in ``build/executed/default/`` (``--fast``: ``build/executed/fast/``), where ``make site`` reuses
it. Budgets on a 2-core CPU: lessons 01-03 under 60 s, lessons 04-07 under 90 s. With ``--only`` the rows of the
lessons not run are kept from the previous file. The 1-minute load average at each lesson's start is recorded: the
machine may be shared, and a load above the 2 cores inflates wall times. With ``--baseline`` each lesson first runs
as a baseline checkout has it (its notebook, its ``ncf_helpers`` through the kernel's ``PYTHONPATH``), then as this
checkout has it, back to back: the "before (s)" column.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from pathlib import Path

from _common import REPO, RESULTS, baseline_checkout, machine, write_result

from ncf_helpers.nbrun import run_lesson

BUDGET = {"01": 60, "02": 60, "03": 60, "04": 90, "05": 90, "06": 90, "07": 90}


def time_baseline(path: Path, root: Path, overrides) -> float:
    """Wall seconds of the baseline's lesson ``path`` with the baseline's package: the kernel inherits
    ``PYTHONPATH=root``, ahead of this checkout's editable install."""
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(root)
    try:
        start = time.perf_counter()
        run_lesson(path, overrides)
        return time.perf_counter() - start
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="inject FAST=True (what the tests run)")
    parser.add_argument("--only", default="", help="comma-separated prefixes: run only lessons starting with one")
    parser.add_argument("--baseline", default="", help="a checkout to time first, lesson by lesson")
    args = parser.parse_args(argv)
    baseline, base_commit = baseline_checkout(args.baseline) if args.baseline else (None, "")
    lessons = sorted((REPO / "lessons").glob("[0-9][0-9]_*.ipynb"))
    prefixes = [p.strip() for p in args.only.split(",") if p.strip()] or [""]
    lessons = [p for p in lessons if any(p.stem.startswith(x) for x in prefixes)]
    if not lessons:
        sys.exit("No lessons matched.")
    rows = []
    for path in lessons:
        overrides = {"FAST": True} if args.fast else None
        before = ""
        if baseline is not None and (baseline / "lessons" / path.name).exists():
            before = f"{time_baseline(baseline / 'lessons' / path.name, baseline, overrides):.1f}"
            print(f"{path.stem:32s} {before:>7s} s  (baseline {baseline.name})", flush=True)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        try:
            executed = REPO / "build" / "executed" / ("fast" if args.fast else "default")
            run = run_lesson(path, overrides, save_to=executed)
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
        rows.append(
            (
                path.stem,
                records.get("dataset", ""),
                f"{seconds:.1f}",
                budget or "",
                within,
                f"{load:.1f}",
                len(images),
                status,
                before,
            )
        )
        print(
            f"{path.stem:32s} {seconds:7.1f} s  budget {budget} s  load {load:.1f}  figures {len(images):2d}  {status}",
            flush=True,
        )
    name = "notebooks_fast" if args.fast else "notebooks"
    previous = RESULTS / f"{name}.md"
    done = {r[0] for r in rows}
    if previous.exists():  # keep the rows of lessons not run this time
        for line in previous.read_text().splitlines():
            m = re.match(r"\| (\d\d_\w+) \|", line)
            if m and m.group(1) not in done and (REPO / "lessons" / f"{m.group(1)}.ipynb").exists():
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if len(cells) in (8, 9):
                    rows.append(tuple(cells) + ("",) * (9 - len(cells)))
    rows.sort(key=lambda r: r[0])
    mode = "FAST=True" if args.fast else "default parameters"
    lines = [
        f"# Lesson run times ({mode})",
        "",
        f"Machine: {machine()}",
        "",
        "| lesson | data | seconds | budget (s) | within budget | load avg | figures | status | before (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    lines += [
        "",
        "Wall seconds of `run_lesson` (kernel start to last cell), measured on the machine above. Rows of "
        'lessons not run in the latest call were kept from an earlier one. "before (s)": the same lesson as '
        + (f"commit `{base_commit}` has it" if baseline is not None else "a baseline checkout has it")
        + " (`--baseline`), run just before it in the same call (main before issue #15's training loop).",
    ]
    write_result(name, "\n".join(lines))
    return 0 if all(r[7] == "ok" for r in rows if r[0] in done) else 1


if __name__ == "__main__":
    sys.exit(main())
