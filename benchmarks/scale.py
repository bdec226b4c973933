"""The course at ten times the data (issue #15): how each step's cost grows with the number of interactions.

    NCF_DATA_DIR=../shared/datasets python benchmarks/scale.py [--baseline ../wt-scale-base] [--sizes 0.1M,1M,5M]

For ml-latest-small (first row, when ``NCF_DATA_DIR`` has it) and MovieLens-shaped synthetic data of 0.1M, 1M
(``make_synthetic(num_users=6000, num_items=3700, median_ratings=140)``, ML-1M's shape) and 5M interactions
(30,000 users x 20,000 items), it times data generation, the leave-last-one-out split (rating >= 3.5, 99
sampled negatives), each classical model's fit, its sampled (100 candidates) and full-ranking evaluation, and
one epoch of each Keras interaction, with the peak resident memory of every step.

Side by side in one run: "today" is the code of a baseline checkout (``--baseline``, a copy of main before
issue #15, imported through ``PYTHONPATH`` in its own subprocess), "new" this checkout. Both sides fit and
evaluate the same interactions (generated once with this checkout's ``make_synthetic``), so the times compare
like with like; each side's ``make_synthetic`` is timed on its own. A step that runs longer than its cap is
stopped and reported as "> cap s". ``implicit``'s ``AlternatingLeastSquares`` (the ``benchmarks`` extra:
``pip install -e '.[benchmarks]'``) is the peer of ``ImplicitALS``, with the same factors, regularization,
alpha and sweeps, in the same run.

The growth exponent ``b`` (time ~ interactions^b) is ``log(t2 / t1) / log(n2 / n1)`` between two sizes.
Writes ``benchmarks/results/scale.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS_DIR = HERE / "results"

SIZES = {
    "0.1M": dict(num_users=600, num_items=1000, median_ratings=140),
    "1M": dict(num_users=6000, num_items=3700, median_ratings=140),
    "5M": dict(num_users=30000, num_items=20000, median_ratings=140),
}
MODELS = ("Popularity", "UserCF", "ItemCF", "ImplicitALS")
KERAS = ("dot", "gmf", "mlp", "neumf", "two_tower")
IALS = dict(embedding_dim=64, reg=50.0, alpha=10.0, iterations=15)
MEMORY_LIMIT_GB = 10  # per classical worker: the machine (24 GB) is shared, a runaway step fails alone


# ---------------------------------------------------------------------------------------------- worker side
class PeakRSS:
    """Peak resident memory of this process during a block, sampled every 20 ms from /proc/self/statm (MB)."""

    def __init__(self):
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.rss())

    def reset(self):
        self.peak = self.rss()

    def mb(self) -> float:
        return max(self.peak, self.rss()) / 1e6


def emit(**record):
    print(json.dumps(record), flush=True)


def timed(rss: PeakRSS, step: str, fn, **extra):
    emit(event="start", step=step)
    rss.reset()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    emit(event="done", step=step, seconds=seconds, peak_mb=rss.mb(), **extra)
    return out, seconds


def load_frame(path: str):
    import numpy as np
    import pandas as pd

    z = np.load(path)
    frame = pd.DataFrame({k: z[k] for k in ("user_idx", "item_idx", "rating", "timestamp")})
    return frame, int(z["num_users"]), int(z["num_items"])


def worker_generate(args):
    """Time this side's make_synthetic at one size (and, for --save, write its interactions for both sides)."""
    import numpy as np

    from ncf_helpers.data import make_synthetic

    rss = PeakRSS()
    spec = json.loads(args.spec)
    ds, _ = timed(rss, "make_synthetic", lambda: make_synthetic(seed=0, **spec), source=make_synthetic.__module__)
    if args.save:
        r = ds.ratings
        np.savez(
            args.save,
            user_idx=r["user_idx"].to_numpy(np.int64),
            item_idx=r["item_idx"].to_numpy(np.int64),
            rating=r["rating"].to_numpy(np.float32),
            timestamp=r["timestamp"].to_numpy(np.int64),
            num_users=ds.num_users,
            num_items=ds.num_items,
        )
        emit(event="info", ratings=len(r), num_users=ds.num_users, num_items=ds.num_items)


def worker_movielens(args):
    import numpy as np

    from ncf_helpers.data import load_movielens

    ds = load_movielens("ml-latest-small")
    r = ds.ratings
    np.savez(
        args.save,
        user_idx=r["user_idx"].to_numpy(np.int64),
        item_idx=r["item_idx"].to_numpy(np.int64),
        rating=r["rating"].to_numpy(np.float32),
        timestamp=r["timestamp"].to_numpy(np.int64),
        num_users=ds.num_users,
        num_items=ds.num_items,
    )
    emit(event="info", ratings=len(r), num_users=ds.num_users, num_items=ds.num_items)


def worker_classic(args):
    import ncf_helpers
    from ncf_helpers.classic import ImplicitALS, ItemCF, Popularity, UserCF
    from ncf_helpers.data import leave_last_one_out
    from ncf_helpers.evaluate import evaluate

    emit(event="info", package=str(Path(ncf_helpers.__file__).parent))
    skip = set(args.skip.split(",")) if args.skip else set()
    rss = PeakRSS()
    frame, nu, ni = load_frame(args.data)
    split, _ = timed(
        rss,
        "split",
        lambda: leave_last_one_out(frame, num_negatives=99, seed=0, threshold=3.5, num_users=nu, num_items=ni),
    )
    emit(event="info", train_positives=len(split.train), test_users=len(split.test))
    makers = {
        "Popularity": Popularity,
        "UserCF": UserCF,
        "ItemCF": ItemCF,
        "ImplicitALS": lambda: ImplicitALS(seed=0, **IALS),
    }
    for name in MODELS:
        if f"fit:{name}" in skip:
            continue
        model = makers[name]()
        timed(rss, f"fit:{name}", partial(model.fit, split))
        for protocol in ("sampled", "full"):
            if f"{protocol}:{name}" in skip:
                continue
            res, _ = timed(rss, f"{protocol}:{name}", partial(evaluate, model, split, protocol, k=10))
            emit(event="metric", step=f"{protocol}:{name}", hr=res.hr)
        del model


class _Factors:
    """implicit's factors behind the course's score() interface, so the shared evaluate() ranks them."""

    name = "implicit ALS"

    def __init__(self, x, y):
        self.x, self.y = x, y

    def score(self, user_idx, item_idx):
        import numpy as np

        return np.einsum("nd,nd->n", self.x[user_idx], self.y[item_idx])


def implicit_user_items(split):
    """The split's training positives as ``implicit``'s input: a float32 CSR ``[num_users, num_items]`` of ones
    (duplicates counted once, as ``ImplicitALS`` does)."""
    import numpy as np
    import scipy.sparse as sp

    nu, ni = split.num_users, split.num_items
    keys = np.unique(split.train["user_idx"].to_numpy(np.int64) * ni + split.train["item_idx"].to_numpy(np.int64))
    return sp.csr_matrix((np.ones(len(keys), np.float32), (keys // ni, keys % ni)), shape=(nu, ni))


def implicit_fit(user_items) -> _Factors:
    """``implicit``'s ``AlternatingLeastSquares`` with :data:`IALS`'s settings, fitted on ``user_items``; its
    factors behind the course's ``score()``. One BLAS thread: implicit's own advice (its threads do the work)."""
    import numpy as np
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    model = AlternatingLeastSquares(
        factors=IALS["embedding_dim"],
        regularization=IALS["reg"],
        alpha=IALS["alpha"],
        iterations=IALS["iterations"],
        random_state=0,
    )
    with threadpool_limits(1, "blas"):
        model.fit(user_items, show_progress=False)
    return _Factors(np.asarray(model.user_factors), np.asarray(model.item_factors))


def worker_implicit(args):
    from ncf_helpers.data import leave_last_one_out
    from ncf_helpers.evaluate import evaluate

    rss = PeakRSS()
    frame, nu, ni = load_frame(args.data)
    split = leave_last_one_out(frame, num_negatives=99, seed=0, threshold=3.5, num_users=nu, num_items=ni)
    user_items = implicit_user_items(split)
    factors, _ = timed(rss, "fit:implicit", lambda: implicit_fit(user_items))
    res = evaluate(factors, split, "sampled", k=10)
    emit(event="metric", step="sampled:implicit", hr=res.hr)


def worker_keras(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from ncf_helpers.data import leave_last_one_out
    from ncf_helpers.models import fit_model

    skip = set(args.skip.split(",")) if args.skip else set()
    rss = PeakRSS()
    frame, nu, ni = load_frame(args.data)
    split = leave_last_one_out(frame, num_negatives=99, seed=0, threshold=3.5, num_users=nu, num_items=ni)
    for name in args.interactions.split(","):
        if f"epoch:{name}" in skip:
            continue
        _, seconds = timed(rss, f"epoch:{name}", partial(fit_model, split, name, epochs=1, seed=0, eval_metrics=False))
        emit(event="info", step=f"epoch:{name}", rows_per_s=len(split.train) * 5 / seconds)


# ---------------------------------------------------------------------------------------------- parent side
def run_worker(mode: str, pythonpath: Path, cap: float, extra: list[str], limit_memory: bool = True):
    """Run one worker; restart it after a step that exceeds ``cap`` seconds, skipping that step.
    Returns ``{step: record}`` (records with ``seconds`` or ``over`` = the cap hit) and the info records."""
    steps, infos, skip = {}, [], []
    while True:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", mode, *extra]
        if skip:
            cmd += ["--skip", ",".join(skip)]
        env = {
            **os.environ,
            "PYTHONPATH": str(pythonpath),
            "NCF_SCALE_ROOT": str(pythonpath),
            "TF_CPP_MIN_LOG_LEVEL": "3",
        }
        limit = MEMORY_LIMIT_GB * 2**30

        def preexec(limit=limit):
            if limit_memory:
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=preexec
        )
        lines: list[str] = []
        reader = threading.Thread(target=lines.extend, args=(iter(proc.stdout.readline, ""),), daemon=True)
        reader.start()
        current, started, seen = None, None, 0
        killed = False
        while True:
            time.sleep(0.2)
            while seen < len(lines):
                rec = json.loads(lines[seen])
                seen += 1
                if rec["event"] == "start":
                    current, started = rec["step"], time.perf_counter()
                elif rec["event"] == "done":
                    steps[rec["step"]] = rec
                    current = None
                elif rec["event"] == "metric":
                    steps.setdefault(rec["step"], {})["hr"] = rec["hr"]
                else:
                    infos.append(rec)
            if current is not None and time.perf_counter() - started > cap:
                proc.kill()
                proc.wait()
                steps[current] = {"step": current, "over": cap}
                print(f"    {current}: stopped after {cap:.0f} s", flush=True)
                skip.append(current)
                if current.startswith("fit:"):
                    skip += [f"sampled:{current[4:]}", f"full:{current[4:]}"]
                killed = True
                break
            if proc.poll() is not None and not reader.is_alive():
                break
        if killed:
            if current in ("split", "make_synthetic"):
                return steps, infos
            continue
        reader.join()
        while seen < len(lines):
            rec = json.loads(lines[seen])
            seen += 1
            if rec["event"] == "done":
                steps[rec["step"]] = rec
            elif rec["event"] == "metric":
                steps.setdefault(rec["step"], {})["hr"] = rec["hr"]
            elif rec["event"] == "info":
                infos.append(rec)
        if proc.returncode != 0:
            err = proc.stderr.read().strip().splitlines()
            tail = err[-1] if err else f"exit code {proc.returncode}"
            if current is not None:
                steps[current] = {"step": current, "error": tail[:120]}
                print(f"    {current}: failed ({tail[:120]})", flush=True)
                skip.append(current)
                if current.startswith("fit:"):
                    skip += [f"sampled:{current[4:]}", f"full:{current[4:]}"]
                if current not in ("split", "make_synthetic"):
                    continue
            else:
                print(f"    worker {mode} failed: {tail}", flush=True)
        return steps, infos


def fmt_seconds(rec: dict | None) -> str:
    if not rec:
        return "n/a"
    if "over" in rec:
        return f"> {rec['over']:.0f}"
    if "error" in rec:
        return f"> {MEMORY_LIMIT_GB} GB memory" if "MemoryError" in rec["error"] else "failed"
    if "seconds" not in rec:
        return "n/a"
    s = rec["seconds"]
    return f"{s:.3f}" if s < 1 else f"{s:.2f}" if s < 10 else f"{s:.1f}"


def lower_bound(rec: dict | None) -> tuple[float, bool] | None:
    """``(seconds, is_lower_bound)``; None if not measured."""
    if not rec:
        return None
    if "over" in rec:
        return rec["over"], True
    if "seconds" in rec:
        return rec["seconds"], False
    return None


def exponent(a: dict | None, b: dict | None, n1: int, n2: int) -> str:
    ta, tb = lower_bound(a), lower_bound(b)
    if ta is None or tb is None or ta[1]:
        return "n/a"
    if ta[0] < 0.02:
        return "(< 20 ms)"
    value = math.log(max(tb[0], 1e-6) / ta[0]) / math.log(n2 / n1)
    return (">= " if tb[1] else "") + f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=("generate", "movielens", "classic", "implicit", "keras"))
    parser.add_argument("--spec", default="{}")
    parser.add_argument("--save", default="")
    parser.add_argument("--data", default="")
    parser.add_argument("--skip", default="")
    parser.add_argument("--interactions", default=",".join(KERAS))
    parser.add_argument("--baseline", default=str(REPO.parent / "wt-scale-base"))
    parser.add_argument("--sizes", default="0.1M,1M,5M")
    parser.add_argument("--cap", type=float, default=120.0, help="seconds after which a step is stopped")
    parser.add_argument("--keras-sizes", default="ml-latest-small,0.1M,1M,5M")
    parser.add_argument("--keras-5m", default="gmf,neumf", help="Keras interactions timed at 5M (each ~1-2 min)")
    parser.add_argument("--out", default="scale")
    parser.add_argument("--render", default="", help="only re-write the markdown from a run's results.json")
    args = parser.parse_args()
    if args.worker:
        from _common import use_root

        use_root(os.environ["NCF_SCALE_ROOT"])
        {
            "generate": worker_generate,
            "movielens": worker_movielens,
            "classic": worker_classic,
            "implicit": worker_implicit,
            "keras": worker_keras,
        }[args.worker](args)
        return

    sys.path.insert(0, str(HERE))
    from _common import baseline_checkout, git_commit, machine, write_result

    if args.render:
        saved = json.loads(Path(args.render).read_text())
        if "meta" not in saved:  # a results.json of the first version of this script: the rest is in its .md
            import re

            old = (RESULTS_DIR / f"{args.out}.md").read_text()
            base_c, new_c = re.findall(r"commit `(\w+)`", old)[:2]
            load = [float(x) for x in re.findall(r"([\d.]+) at the (?:start|end)", old)]
            total = float(re.search(r"Total run ([\d.]+) min", old).group(1)) * 60
            machine_line = re.search(r"\), both on the same interactions\. (.*?)\. Load average", old).group(1)
            saved = {"results": saved, "meta": [base_c, new_c, [load[0]], [load[1]], total, machine_line]}
        write_result(args.out, render(saved["results"], *saved["meta"]))
        print(f"wrote benchmarks/results/{args.out}.md from {args.render}")
        return

    baseline, base_commit = baseline_checkout(args.baseline, "main")
    new_commit = git_commit(REPO)
    try:
        import implicit  # noqa: F401

        have_implicit = True
    except ImportError:
        have_implicit = False
        print("implicit is not installed (pip install -e '.[benchmarks]'): no peer column for ImplicitALS.")
    sides = {"today": baseline, "new": REPO}
    load_start = os.getloadavg()
    started = time.perf_counter()
    results = {}  # size -> dict
    tmp = Path(tempfile.mkdtemp(prefix="ncf-scale-"))
    sizes = []
    if os.environ.get("NCF_DATA_DIR"):
        sizes.append("ml-latest-small")
    sizes += [s for s in args.sizes.split(",") if s]
    for size in sizes:
        print(f"== {size}", flush=True)
        data = tmp / f"{size}.npz"
        entry = {"steps": {}, "info": {}}
        if size == "ml-latest-small":
            _, infos = run_worker("movielens", REPO, args.cap, ["--save", str(data)], limit_memory=False)
            if not data.exists():
                print("   ml-latest-small not available; skipped")
                continue
        else:
            spec = json.dumps(SIZES[size])
            for side, path in sides.items():
                extra = ["--spec", spec] + (["--save", str(data)] if side == "new" else [])
                steps, infos_gen = run_worker("generate", path, args.cap, extra)
                entry["steps"].setdefault(side, {}).update(steps)
                if side == "new":
                    infos = infos_gen
        for rec in infos:
            entry["info"].update({k: v for k, v in rec.items() if k != "event"})
        for side, path in sides.items():
            steps, side_infos = run_worker("classic", path, args.cap, ["--data", str(data)])
            entry["steps"].setdefault(side, {}).update(steps)
            for rec in side_infos:
                if "package" in rec and not rec["package"].startswith(str(path)):
                    sys.exit(f"The {side} worker imported {rec['package']}, not {path}: fix the import path.")
                if side == "new":
                    entry["info"].update({k: v for k, v in rec.items() if k not in ("event", "package")})
            print(f"   {side}: " + ", ".join(f"{k} {fmt_seconds(v)}" for k, v in steps.items()), flush=True)
        if have_implicit:
            steps, _ = run_worker("implicit", REPO, args.cap, ["--data", str(data)])
            entry["steps"]["implicit"] = steps
            print(
                "   implicit: " + ", ".join(f"{k} {fmt_seconds(v)} {v.get('hr', '')}" for k, v in steps.items()),
                flush=True,
            )
        if size in args.keras_sizes.split(","):
            names = args.keras_5m if size == "5M" else ",".join(KERAS)
            steps, infos_k = run_worker(
                "keras", REPO, max(args.cap, 300), ["--data", str(data), "--interactions", names], limit_memory=False
            )
            entry["steps"]["keras"] = steps
            entry["keras_rows"] = {r["step"]: r["rows_per_s"] for r in infos_k if "rows_per_s" in r}
            print("   keras: " + ", ".join(f"{k} {fmt_seconds(v)}" for k, v in steps.items()), flush=True)
        results[size] = entry
        data.unlink(missing_ok=True)
    load_end = os.getloadavg()
    total = time.perf_counter() - started
    meta = [base_commit, new_commit, load_start, load_end, total, machine()]
    (tmp / "results.json").write_text(json.dumps({"results": results, "meta": meta}, indent=1))
    print(f"raw results in {tmp / 'results.json'}")
    write_result(args.out, render(results, *meta))
    print(f"wrote benchmarks/results/{args.out}.md")


def render(results, base_commit, new_commit, load_start, load_end, total, machine_line) -> str:
    sizes = list(results)
    step_names = ["make_synthetic", "split"]
    for m in MODELS:
        step_names += [f"fit:{m}", f"sampled:{m}", f"full:{m}"]
    label = {"make_synthetic": "make_synthetic", "split": "leave_last_one_out (99 negatives)"}
    for m in MODELS:
        label[f"fit:{m}"] = f"{m}.fit"
        label[f"sampled:{m}"] = f"{m} sampled eval"
        label[f"full:{m}"] = f"{m} full-ranking eval"
    lines = [
        "# Scale: cost of each step from 0.1M to 5M interactions (issue #15)",
        "",
        'Written by `benchmarks/scale.py` in one run: "today" = main before issue #15 (commit '
        f'`{base_commit}`, imported from a separate checkout by `PYTHONPATH` in its own process), "new" = this '
        f"branch (commit `{new_commit}`), both on the same interactions. {machine_line}. Load average (1 min) "
        f"{load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end (2 cores shared with other jobs: "
        f"timings are noisy; compare the columns of one row). Total run {total / 60:.1f} min.",
        "",
        "Sizes: "
        + "; ".join(
            f"**{s}**: {results[s]['info'].get('num_users', '?'):,} users x {results[s]['info'].get('num_items', '?'):,} "
            f"items, {results[s]['info'].get('ratings', 0):,} ratings, "
            f"{results[s]['info'].get('train_positives', 0):,} training positives"
            for s in sizes
        )
        + ".",
        "",
        'Times in seconds ("> N": stopped after N s). Peak = the process\'s peak resident memory during the step.',
        "",
        "| step | size | today s | new s | speed-up | today peak MB | new peak MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in step_names:
        for s in sizes:
            st = results[s]["steps"]
            a, b = st.get("today", {}).get(name), st.get("new", {}).get(name)
            if a is None and b is None:
                continue
            ta, tb = lower_bound(a), lower_bound(b)
            ratio = "n/a"
            if ta and tb and not tb[1] and tb[0] > 0:
                ratio = ("> " if ta[1] else "") + f"{ta[0] / tb[0]:.1f}x"
            pa = f"{a['peak_mb']:,.0f}" if a and "peak_mb" in a else "n/a"
            pb = f"{b['peak_mb']:,.0f}" if b and "peak_mb" in b else "n/a"
            lines.append(f"| {label[name]} | {s} | {fmt_seconds(a)} | {fmt_seconds(b)} | {ratio} | {pa} | {pb} |")
    # exponents
    synth = [s for s in sizes if s in SIZES]
    pairs = list(zip(synth[:-1], synth[1:]))
    if pairs:
        last = pairs[-1]
        lines += [
            "",
            "## Growth exponent b (time ~ interactions^b) between sizes",
            "",
            'b is `log(t2 / t1) / log(n2 / n1)` with n = ratings. "Own order" is the exponent of the work the '
            "algorithm itself does between the last two sizes: 1 for steps linear in the interactions; "
            "UserCF's fit compares every user with every user (O(num_users^2)), ItemCF's every item with "
            "every item (O(num_items^2)), and full ranking scores every item for every test user "
            "(O(num_users x num_items)). The goal: new b <= 1.15 where the own order is 1, else new b <= own "
            "order + 0.15. Steps under 20 ms at the smaller size are left out (timer noise).",
            "",
            "| step | "
            + " | ".join(f"today {a}->{b}" for a, b in pairs)
            + " | "
            + " | ".join(f"new {a}->{b}" for a, b in pairs)
            + f" | own order {last[0]}->{last[1]} | within? |",
            "|---|" + "---|" * (2 * len(pairs) + 2),
        ]
        for name in step_names:
            cells = []
            for side in ("today", "new"):
                for a, b in pairs:
                    n1, n2 = results[a]["info"].get("ratings", 1), results[b]["info"].get("ratings", 1)
                    cells.append(
                        exponent(
                            results[a]["steps"].get(side, {}).get(name),
                            results[b]["steps"].get(side, {}).get(name),
                            n1,
                            n2,
                        )
                    )
            ia, ib = results[last[0]]["info"], results[last[1]]["info"]
            growth = math.log(ib.get("ratings", 1) / ia.get("ratings", 1))
            if name == "fit:UserCF":
                own = 2 * math.log(ib["num_users"] / ia["num_users"]) / growth
            elif name == "fit:ItemCF":
                own = 2 * math.log(ib["num_items"] / ia["num_items"]) / growth
            elif name.startswith("full:"):
                own = math.log(ib["num_users"] * ib["num_items"] / (ia["num_users"] * ia["num_items"])) / growth
            else:
                own = 1.0
            new_b = cells[-1]
            try:
                verdict = "yes" if float(new_b) <= (1.15 if own == 1.0 else own + 0.15) else "**no**"
            except ValueError:
                verdict = "n/a"
            lines.append(f"| {label[name]} | " + " | ".join(cells) + f" | {own:.2f} | {verdict} |")
    # implicit
    lines += [
        "",
        "## ImplicitALS against `implicit` (same data, factors=64, regularization=50, alpha=10, 15 sweeps)",
        "",
        "| size | today fit s | today HR@10 | new fit s | new HR@10 | implicit fit s | implicit HR@10 | "
        "new / implicit time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in sizes:
        st = results[s]["steps"]
        a, b = st.get("today", {}), st.get("new", {})
        imp = st.get("implicit", {})
        if not imp:
            continue

        def hr(d, key):
            v = d.get(key, {}).get("hr")
            return f"{v:.3f}" if v is not None else "n/a"

        tb, ti = lower_bound(b.get("fit:ImplicitALS")), lower_bound(imp.get("fit:implicit"))
        ratio = f"{tb[0] / ti[0]:.2f}x" if tb and ti and not tb[1] else "n/a"
        lines.append(
            f"| {s} | {fmt_seconds(a.get('fit:ImplicitALS'))} | {hr(a, 'sampled:ImplicitALS')} | "
            f"{fmt_seconds(b.get('fit:ImplicitALS'))} | {hr(b, 'sampled:ImplicitALS')} | "
            f"{fmt_seconds(imp.get('fit:implicit'))} | {hr(imp, 'sampled:implicit')} | {ratio} |"
        )
    # keras
    krow = [s for s in sizes if results[s]["steps"].get("keras")]
    if krow:
        lines += [
            "",
            "## One epoch of each Keras interaction (`fit_model(split, name, epochs=1)`, 4 negatives per "
            "positive, batch 4,096, no per-epoch evaluation)",
            "",
            "The training code is the same on both sides so far, so only this branch is timed. The first "
            "epoch includes graph tracing.",
            "",
            "| interaction | " + " | ".join(f"{s} s (rows/s)" for s in krow) + " |",
            "|---|" + "---|" * len(krow),
        ]
        for name in KERAS:
            cells = []
            for s in krow:
                rec = results[s]["steps"]["keras"].get(f"epoch:{name}")
                rows = results[s].get("keras_rows", {}).get(f"epoch:{name}")
                cells.append(fmt_seconds(rec) + (f" ({rows:,.0f})" if rows else ""))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
