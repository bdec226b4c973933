"""How responsive is lesson 04's interaction explorer on ml-latest-small?

For each interaction, the explorer's default configuration (``EXPLORER_DEFAULTS``: 32-d embeddings, MLP
layers 10-10, 6 epochs, 4 negatives, seed 0; batch size and learning rate from ``models.DEFAULTS``) is trained
through the widget (``explorer.run()``, what the Train button does: build, train with per-epoch validation
HR@10, score, compute the views, draw them), then asked for again, which must come from the cache. Budgets: a new
default configuration under 5 s (issue #15; issue 7 asked for 15 s), a cached one under 1 s, on 2 CPU cores. The reference bars (popularity,
ItemCF, MF) are fitted once per split and kernel, before the first training; that one-off cost is reported
separately.

The 1-minute load average is printed next to every row: the machine may be shared, and a load above the
number of cores slows everything down proportionally.

Run from the repository root: ``NCF_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/explorer.py
[--baseline ../wt-speed-base]``. Side by side in one run: the same measurement in a fresh process for a baseline
checkout (main before issue #15's training loop: ``git worktree add --detach ../wt-speed-base e2a5c1d``), then
for this checkout. Writes ``benchmarks/results/explorer.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from _common import REPO, baseline_checkout, load_benchmark_data, machine, markdown_table, use_root, write_result

BUDGET_NEW, BUDGET_CACHED = 5.0, 1.0


def measure() -> dict:
    """Time the explorer with whichever ncf_helpers this process imports (the worker side of :func:`main`)."""
    import matplotlib

    matplotlib.use("Agg")
    from ncf_helpers.lessons.l04_neuralcf.explorer import EXPLORER_DEFAULTS, InteractionExplorer, explorer_split

    start = time.perf_counter()
    ds = load_benchmark_data("ml-latest-small")
    split = explorer_split(ds, seed=0)
    print(f"data + split: {time.perf_counter() - start:.1f} s")
    quiet = io.StringIO()  # outside a notebook, display() prints figure reprs: keep the table readable

    t0 = time.perf_counter()
    import keras  # noqa: F401 - what a lesson has already paid for before the explorer's first run

    t_import = time.perf_counter() - t0
    explorer = InteractionExplorer(ds, split, seed=0)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(quiet):
        refs = explorer.references()
    t_refs = time.perf_counter() - t0
    print(f"import keras: {t_import:.1f} s; reference models (once per split and kernel): {t_refs:.1f} s")

    # A warm-up run, so the first row does not also pay for TensorFlow's one-off start-up (thread pools,
    # kernels registered on first use), which a lesson has paid long before the explorer is shown.
    with contextlib.redirect_stdout(quiet):
        explorer.controls["epochs"].value = 1
        explorer.controls["interaction"].value = "gmf"
        explorer.controls["embedding_dim"].value = 8
        explorer.run()
    explorer.controls["epochs"].value = EXPLORER_DEFAULTS["epochs"]
    explorer.controls["embedding_dim"].value = EXPLORER_DEFAULTS["embedding_dim"]

    def timed_run():
        with contextlib.redirect_stdout(quiet):
            load = os.getloadavg()[0]
            t0, c0 = time.perf_counter(), time.process_time()
            run = explorer.run()
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        if run is None:
            raise SystemExit(f"the explorer failed: {explorer.error.value}")
        return run, seconds, cpu, load

    rows = []
    for interaction in ("dot", "gmf", "mlp", "neumf", "two_tower"):
        explorer.controls["interaction"].value = interaction
        explorer.controls["seed"].value = 0
        run, t_new, cpu_new, load = timed_run()
        with contextlib.redirect_stdout(quiet):
            t0 = time.perf_counter()
            again = explorer.run()
            t_cached = time.perf_counter() - t0
        assert again is run and explorer.last_cached, "the second run did not come from the cache"
        # The same configuration with seed 1 (a new configuration, trained again): on a shared machine the
        # better of the two is closer to what the run costs without the other jobs.
        explorer.controls["seed"].value = 1
        _, t_new1, cpu_new1, load1 = timed_run()
        hist = run.history
        first_epoch = float(hist["seconds"].iloc[0])
        later = float(hist["seconds"].diff().iloc[1:].mean()) if len(hist) > 1 else float("nan")
        best = min(t_new, t_new1)
        rows.append(
            {
                "interaction": interaction,
                "epochs": run.config["epochs"],
                "new run, seed 0 (s)": t_new,
                "new run, seed 1 (s)": t_new1,
                "CPU time (s)": min(cpu_new, cpu_new1),
                "1st epoch (s)": first_epoch,
                "later epochs (s each)": later,
                "cached (s)": t_cached,
                "valid HR@10": run.metrics["hr@10"],
                "r(dot, score)": run.correlation,
                "load avg": f"{load:.1f}, {load1:.1f}",
                "within budget": "yes" if best < BUDGET_NEW and t_cached < BUDGET_CACHED else "NO",
            }
        )
        print(
            f"{interaction:>10}: new {t_new:5.1f} s / {t_new1:5.1f} s (seeds 0 / 1), cached {t_cached:.2f} s, "
            f"HR@10 {run.metrics['hr@10']:.3f} (load {load:.1f}, {load1:.1f})",
            flush=True,
        )

    return {"rows": rows, "t_import": t_import, "t_refs": t_refs, "refs": refs.to_dict()}


def run_side(root: Path) -> dict:
    env = {**os.environ, "NCF_BENCH_ROOT": str(root), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker"], capture_output=True, text=True, env=env
    )
    if proc.returncode:
        sys.exit(f"the explorer benchmark failed for {root}:\n{proc.stderr[-3000:]}")
    lines = proc.stdout.strip().splitlines()
    print("\n".join(lines[:-1]), flush=True)
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=str(REPO.parent / "wt-speed-base"), help="checkout to compare with")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        if os.environ.get("NCF_BENCH_ROOT"):
            use_root(os.environ["NCF_BENCH_ROOT"])
        print(json.dumps(measure(), default=float))
        return
    baseline, base_commit = baseline_checkout(args.baseline)
    print(f"== before: {baseline} ({base_commit})", flush=True)
    before = run_side(baseline)
    print("== now: this checkout", flush=True)
    now = run_side(REPO)
    t_import, t_refs = now["t_import"], now["t_refs"]
    table = pd.DataFrame(now["rows"]).set_index("interaction")
    old = pd.DataFrame(before["rows"]).set_index("interaction")
    best_old = old[["new run, seed 0 (s)", "new run, seed 1 (s)"]].min(axis=1)
    best_new = table[["new run, seed 0 (s)", "new run, seed 1 (s)"]].min(axis=1)
    side = pd.DataFrame(
        {
            "before: new run (s, quicker seed)": best_old,
            "now: new run (s, quicker seed)": best_new,
            "speed-up": [f"{r:.2f}x" for r in best_old / best_new],
            "before: later epochs (s each)": old["later epochs (s each)"],
            "now: later epochs (s each)": table["later epochs (s each)"],
            "before: valid HR@10": old["valid HR@10"],
            "now: valid HR@10": table["valid HR@10"],
            "now within 5 s": ["yes" if t < BUDGET_NEW else "NO" for t in best_new],
        }
    )
    print()
    print(markdown_table(table, ".2f"))
    print(markdown_table(side, ".2f"))
    refs_table = pd.DataFrame(now["refs"])
    refs_table.index.name = "reference"
    md = f"""# Interaction explorer responsiveness (lesson 04)

`python benchmarks/explorer.py` on ml-latest-small (leave-last-one-out, rating >= 3.5, validation item per
user, 99 sampled negatives), {machine()}.

Each row trains the explorer's default configuration for that interaction (32-d embeddings, MLP/tower layers
10-10, 6 epochs, 4 sampled negatives per positive, seed 0; batch size 4096 and each interaction's learning rate
from `ncf_helpers.models.DEFAULTS`) through `explorer.run()` - what the Train button does: build, train with
the validation HR@10 after every epoch, score the test item, compute the similarity and dot-vs-score views and
draw all six views - and then asks for it again ("cached"); then trains it once more with seed 1 (a new
configuration). "within budget" uses the quicker of the two new runs.
Budgets: new default configuration < {BUDGET_NEW:.0f} s (issue #15), cached < {BUDGET_CACHED:.0f} s.

## Before and now, side by side

"Before" is commit `{base_commit}` (main before issue #15's training loop: one `model.fit` per epoch), "now" this
checkout (the compiled loop of `ncf_helpers.models.training.run_epoch`); each ran the whole measurement below in a
fresh process, one after the other. The validation HR@10 is the same on both sides: the loop takes the same
optimizer steps on the same rows.

{markdown_table(side, ".2f")}

## Now, in detail

{markdown_table(table, ".2f")}

* One-off costs before the first row, paid once per kernel: `import keras` {t_import:.1f} s (a lesson has paid it
  long before), the reference models for the bars (Popularity, ItemCF, iALS) {t_refs:.1f} s, and a
  1-epoch warm-up run (TensorFlow's first training in a process is slower).
* "1st epoch", "later epochs", "valid HR@10" and "r(dot, score)" are those of the seed-0 run.
* "1st epoch" includes building the training graph for the new model; the explorer trains without XLA
  (`jit_compile=False`): XLA makes later epochs faster but compiling each new model costs more than the
  handful of epochs it saves (measured 2-3x an epoch on this machine).
* "load avg" is the 1-minute load average when the row started. The machine is shared: with a load above 1,
  another job takes CPU from the run, and above the 2 cores every wall time is inflated roughly by load / 2.
  "CPU time" (user + system, all threads; the smaller of the two runs) depends much less on the load: on an otherwise idle
  machine a run's wall time is about its CPU time or less (TensorFlow spreads the work over both cores).

Reference bars (validation item), computed once per split:

{markdown_table(refs_table, ".3f")}
"""
    path = write_result("explorer", md)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
