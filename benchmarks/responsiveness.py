"""Wall-clock budgets the test suite used to assert, measured here instead (tests check behaviour, not time).

The shared 2-core CI machine makes timings flaky, so tests/test_movielens.py, tests/test_widgets_explorer.py
and tests/test_lessons_05_06.py no longer assert wall times; they check which timeout cut a request off, that
a cached run did not retrain, that the two-tower index runs one network row per request. This script measures
the times those assertions stood for, against the same budgets:

1. **Offline error** (README "Offline": "stops within 10 seconds"): how long ``load_movielens`` takes to raise
   ``DataUnavailableError`` with an empty cache when the server refuses the connection, accepts it but never
   answers, or the DNS lookup hangs; with the default timeouts ``(5, 30)`` (budget 10 s) and with ``(1, 1)``
   (budget 3 s, what the tests used). No outside network: a refused local port, a silent local socket and a
   patched ``socket.getaddrinfo``.
2. **Loading ml-latest-small** from ``$NCF_DATA_DIR`` (budget 3 s): the first load in a process (sha256 of the
   two parsed files, parsing, validation) and a second one (sums remembered), and the same ratings exported
   as your own CSV through ``load_ratings_csv`` (validated the same way).
3. **Serving one top-10 request** on ml-latest-small's 9,742 films and on 100,000 (lesson 05's claim that the
   two-tower index beats scoring every pair with an MLP): fastest and median of 20 requests, untrained models
   of the lesson's architectures (the cost of scoring does not depend on the weights).

The interaction explorer's cached run (budget 1 s, formerly asserted in tests/test_widgets_explorer.py) is
measured by benchmarks/explorer.py, column "cached".

Run from the repository root: ``NCF_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/responsiveness.py``.
Writes ``benchmarks/results/responsiveness.md``. Nothing is written into ``data/`` (the cache is a temporary
folder).
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
from _common import machine, markdown_table, write_result

BUDGET_OFFLINE_DEFAULT, BUDGET_OFFLINE_SHORT, BUDGET_LOAD = 10.0, 3.0, 3.0


def load_avg() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}, {five:.1f}"


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def offline_errors() -> pd.DataFrame:
    from ncf_helpers.data import DataUnavailableError, load_movielens

    rows = []
    shared = os.environ.pop("NCF_DATA_DIR", None)  # the offline learner: no shared copy, an empty cache
    for timeout in ((5, 30), (1, 1)):
        budget = BUDGET_OFFLINE_DEFAULT if timeout == (5, 30) else BUDGET_OFFLINE_SHORT
        for case in ("connection refused", "server never answers", "DNS lookup hangs"):
            silent, release, real_getaddrinfo = None, threading.Event(), socket.getaddrinfo
            if case == "connection refused":
                url = f"http://127.0.0.1:{_free_port()}"
            elif case == "server never answers":
                silent = socket.socket()
                silent.bind(("127.0.0.1", 0))
                silent.listen(8)
                url = f"http://127.0.0.1:{silent.getsockname()[1]}"
            else:
                url = "http://files.example.invalid/movielens"

                def hanging(*args, release=release, **kwargs):
                    release.wait(60)
                    raise socket.gaierror(-2, "Name or service not known")

                socket.getaddrinfo = hanging
            load = load_avg()
            with tempfile.TemporaryDirectory() as cache:
                os.environ["NCF_CACHE_DIR"] = cache
                start = time.perf_counter()
                try:
                    load_movielens("ml-latest-small", base_url=url, timeout=timeout, progress=False)
                    sys.exit(f"{case}: ml-latest-small loaded although no copy should be reachable")
                except DataUnavailableError as exc:
                    reason = exc.reason
                seconds = time.perf_counter() - start
                left = sorted(os.listdir(cache))
            socket.getaddrinfo = real_getaddrinfo
            release.set()
            if silent is not None:
                silent.close()
            rows.append(
                {
                    "case": case,
                    "timeout (connect, read)": f"{timeout}",
                    "seconds": seconds,
                    "budget (s)": budget,
                    "within budget": "yes" if seconds < budget else "NO",
                    "reason": reason,
                    "cache left": "empty" if not left else ", ".join(left),
                    "load avg": load,
                }
            )
            print(f"{case:22} timeout={timeout}: {seconds:5.2f} s  {reason}", flush=True)
    os.environ.pop("NCF_CACHE_DIR", None)
    if shared is not None:
        os.environ["NCF_DATA_DIR"] = shared
    return pd.DataFrame(rows).set_index("case")


def loading() -> pd.DataFrame:
    from ncf_helpers.data import data_dir_candidates, load_movielens, load_ratings_csv

    env = os.environ.get("NCF_DATA_DIR")
    if not env or not (Path(env) / "ml-latest-small" / "ratings.csv").is_file():
        sys.exit("Set NCF_DATA_DIR to a folder holding ml-latest-small/ (e.g. NCF_DATA_DIR=../shared/datasets).")
    folder = data_dir_candidates("ml-latest-small")[0]
    rows = []
    for what in ("first load in the process (sha256 + parse + checks)", "second load (sums remembered)"):
        load = load_avg()
        start = time.perf_counter()
        ds = load_movielens("ml-latest-small", download=False)
        seconds = time.perf_counter() - start
        rows.append({"load": what, "seconds": seconds, "ratings": ds.num_ratings, "load avg": load})
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "my_ratings.csv"
        ratings = pd.read_csv(folder / "ratings.csv").rename(columns={"userId": "user_id", "movieId": "item_id"})
        ratings.to_csv(csv, index=False)
        load = load_avg()
        start = time.perf_counter()
        own = load_ratings_csv(csv, items=None)
        seconds = time.perf_counter() - start
    assert own.num_ratings == ds.num_ratings
    rows.append(
        {
            "load": "the same ratings as your own CSV (load_ratings_csv)",
            "seconds": seconds,
            "ratings": own.num_ratings,
            "load avg": load,
        }
    )
    frame = pd.DataFrame(rows).set_index("load")
    frame["budget (s)"] = BUDGET_LOAD
    frame["within budget"] = ["yes" if s < BUDGET_LOAD else "NO" for s in frame["seconds"]]
    print(frame.to_string(), flush=True)
    return frame


def serving() -> pd.DataFrame:
    from ncf_helpers.data import leave_last_one_out, load_movielens
    from ncf_helpers.lessons.l05_two_tower import experiments as tt
    from ncf_helpers.models import KerasRecommender, TwoTowerIndex, build_model

    ds = load_movielens("ml-latest-small", download=False)
    split = leave_last_one_out(ds, num_negatives=99, seed=0, threshold=3.5, validation=True)
    tower = KerasRecommender(build_model(split.num_users, split.num_items, "two_tower", seed=0), name="two-tower")
    index = TwoTowerIndex(tower, split=split)
    mlp = KerasRecommender(build_model(split.num_users, split.num_items, "mlp", seed=0), name="mlp")
    load = load_avg()
    scaling = tt.catalogue_scaling(mlp, index, sizes=(split.num_items, 100_000), repeats=20, seed=0)
    table = scaling.pivot(index="num_items", columns="method", values=["best ms", "median ms"])
    mlp_name = next(m for m in scaling["method"].unique() if "MLP" in m)
    tt_name = next(m for m in scaling["method"].unique() if "MLP" not in m)
    out = pd.DataFrame(
        {
            "MLP best ms": table[("best ms", mlp_name)],
            "two-tower best ms": table[("best ms", tt_name)],
            "MLP median ms": table[("median ms", mlp_name)],
            "two-tower median ms": table[("median ms", tt_name)],
        }
    )
    out["MLP / two-tower (best)"] = out["MLP best ms"] / out["two-tower best ms"]
    out["two-tower faster"] = ["yes" if r > 1 else "NO" for r in out["MLP / two-tower (best)"]]
    out["load avg"] = load
    out.index = [f"{n:,} items" for n in out.index]
    out.index.name = "catalogue"
    print(out.to_string(), flush=True)
    return out


def main() -> None:
    print("load average before:", load_avg())
    off = offline_errors()
    loads = loading()
    serve = serving()
    ok = all(v == "yes" for v in (*off["within budget"], *loads["within budget"], *serve["two-tower faster"]))
    text = f"""# Responsiveness: the wall-clock budgets the tests no longer assert

`python benchmarks/responsiveness.py`, {machine()}. Every figure is one run's wall time on a shared machine;
"load avg" is the 1- and 5-minute load average when the row started (above the 2 cores, times stretch by about
load / 2). All within budget: **{"yes" if ok else "NO"}**.

## 1. Offline: time until `DataUnavailableError` (empty cache, no outside network)

README: "Without network and without the files, `load_movielens()` stops within 10 seconds". Budgets: 10 s with
the default timeouts `(5, 30)`, 3 s with `(1, 1)`. tests/test_movielens.py checks instead that the right
timeout fired (the socket's connect timeout for a silent server, the connect + 0.5 s backstop for a hanging DNS
lookup, the read timeout for a stalled body) and that the cache is left as it was.

{markdown_table(off, floatfmt=".2f")}

## 2. Loading ml-latest-small from `$NCF_DATA_DIR` (budget {BUDGET_LOAD:g} s)

{markdown_table(loads, floatfmt=".2f")}

## 3. One top-10 request: MLP over every pair vs the two-tower index (lesson 05)

Untrained models of lesson 05's architectures (`build_model(..., "mlp")`, `build_model(..., "two_tower")`);
fastest ("best") and median of 20 requests, `tt.catalogue_scaling`. The MLP pushes every (user, item) row
through the network; the index makes one user-tower call and one `[d] @ [d, n]` product.
tests/test_lessons_05_06.py no longer compares the two timings; lesson 05 still records them.

{markdown_table(serve, floatfmt=".2f")}

The interaction explorer's cached run (budget 1 s) is measured by `benchmarks/explorer.py` (column "cached").
"""
    path = write_result("responsiveness", text)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
