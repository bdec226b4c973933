"""ImplicitALS against the `implicit` library, fit time and HR@10, alternating in one process (issue #15, point 3).

    NCF_DATA_DIR=../shared/datasets python benchmarks/ials_peer.py [--repeats 3]

On ml-latest-small (when ``NCF_DATA_DIR`` has it) and on the synthetic set of ML-1M's shape (``1M`` in
``benchmarks/scale.py``: 6,000 users x 3,700 items, 1.3M ratings), with the split of ``scale.py``
(leave-last-one-out of the ratings >= 3.5, 99 sampled negatives per test user), it fits the course's
``ImplicitALS`` and ``implicit``'s ``AlternatingLeastSquares`` with the same settings (``scale.IALS``: 64 factors,
regularization 50, alpha 10, 15 sweeps; ``implicit`` with one BLAS thread, its own advice, and its own threads
for the solves), taking turns ``--repeats`` times after one warm-up fit each, so a burst of other work on the
shared machine slows both alike. Reports the median fit time of each, their ratio (goal: within 2x) and the
sampled HR@10 of each (goal: within 0.01). ``scale.py`` measures the same pair once per size beside every other
step; this script measures only it, repeatedly. Writes ``benchmarks/results/ials_peer.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from _common import REPO, git_commit, machine, write_result
from scale import IALS, SIZES, implicit_fit, implicit_user_items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from ncf_helpers.classic import ImplicitALS
    from ncf_helpers.data import DataUnavailableError, leave_last_one_out, load_dataset, make_synthetic
    from ncf_helpers.evaluate import evaluate

    data = {}
    try:
        data["ml-latest-small"] = load_dataset("ml-latest-small")
    except DataUnavailableError:
        print("ml-latest-small not available (set NCF_DATA_DIR): only the synthetic set")
    data["1M (ML-1M's shape)"] = make_synthetic(seed=0, **SIZES["1M"])
    rows = []
    load_start = os.getloadavg()[0]
    for label, ds in data.items():
        split = leave_last_one_out(ds, num_negatives=99, seed=0, threshold=3.5)
        user_items = implicit_user_items(split)

        def ours(split=split):
            return ImplicitALS(seed=0, **IALS).fit(split)

        def theirs(user_items=user_items):
            return implicit_fit(user_items)

        times = {"ours": [], "implicit": []}
        fitted = {"ours": ours(), "implicit": theirs()}  # warm-up (imports, caches, thread pools)
        for _ in range(args.repeats):
            for name, fn in (("ours", ours), ("implicit", theirs)):
                t0 = time.perf_counter()
                fitted[name] = fn()
                times[name].append(time.perf_counter() - t0)
        hr = {name: evaluate(model, split, "sampled", k=10).hr for name, model in fitted.items()}
        med = {name: statistics.median(t) for name, t in times.items()}
        ratio = med["ours"] / med["implicit"]
        rows.append(
            f"| {label} | {user_items.nnz:,} | {med['ours']:.2f} ({', '.join(f'{t:.2f}' for t in times['ours'])}) | "
            f"{med['implicit']:.2f} ({', '.join(f'{t:.2f}' for t in times['implicit'])}) | {ratio:.2f}x | "
            f"{'yes' if ratio <= 2 else '**no**'} | {hr['ours']:.3f} | {hr['implicit']:.3f} | "
            f"{hr['ours'] - hr['implicit']:+.3f} |"
        )
        print(rows[-1], flush=True)
    import implicit

    text = "\n".join(
        [
            "# ImplicitALS against `implicit` (issue #15, point 3)",
            "",
            f"Written by `benchmarks/ials_peer.py --repeats {args.repeats}` at commit `{git_commit(REPO)}`. "
            f"{machine()}, implicit {implicit.__version__}. Load average {load_start:.1f} at the start, "
            f"{os.getloadavg()[0]:.1f} at the end.",
            "",
            "Same split for both (leave-last-one-out of the ratings >= 3.5, 99 sampled negatives per test user), same "
            "settings (64 factors, regularization 50, alpha 10, 15 sweeps; ours: conjugate gradient, 3 steps per "
            "sweep, float32), fits taking turns after one warm-up each; seconds are the median of the repeats (each "
            "repeat in brackets). HR@10: the shared sampled protocol on the last repeat's factors.",
            "",
            "| data | training positives | ours fit s | implicit fit s | ours / implicit | within 2x? | ours HR@10 | "
            "implicit HR@10 | difference |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    write_result("ials_peer", text)
    print("wrote benchmarks/results/ials_peer.md")


if __name__ == "__main__":
    main()
