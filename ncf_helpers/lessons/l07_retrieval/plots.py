"""Figures of lesson 07 (retrieval losses, context, fresh items, ANN serving, scale), each a closed ``Figure``.

matplotlib only: the inputs are the DataFrames of :mod:`ncf_helpers.lessons.l07_retrieval.experiments`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter, ScalarFormatter

from ncf_helpers.ui.plots import GREY, OKABE_ITO, finish, new_figure, styled

__all__ = ["LOSS_COLORS", "plot_context", "plot_fresh", "plot_index", "plot_losses", "plot_popularity", "plot_scale"]

LOSS_COLORS = {
    "bce": OKABE_ITO[0] if OKABE_ITO[0] != "#000000" else GREY,
    "softmax": OKABE_ITO[1],
    "softmax_logq": OKABE_ITO[2],
    "mixed": OKABE_ITO[3],
}
"""One colour per loss, shared by the lesson's figures."""

_LABELS = {
    "bce": "BCE + 4 sampled negatives",
    "softmax": "in-batch softmax",
    "softmax_logq": "softmax + logQ + hit removal",
    "mixed": "mixed negatives",
}


def _label(loss: str) -> str:
    return _LABELS.get(loss, loss)


@styled
def plot_losses(table: pd.DataFrame, *, width: float = 9.5, height: float = 3.8):
    """Left: full-catalogue Recall@10/50/100 per loss (mean over seeds, +- one standard deviation, one dot per
    seed). Right: the course's sampled HR@10 (99 negatives) for the same models. ``table``: the tidy frame of
    :func:`~ncf_helpers.lessons.l07_retrieval.experiments.loss_comparison` (``loss, seed, recall@K, sampled hr@10``)."""
    losses = list(dict.fromkeys(table["loss"]))
    metrics = ["recall@10", "recall@50", "recall@100"]
    fig, (ax, ax2) = new_figure(1, 2, width=width, height=height, gridspec_kw={"width_ratios": [2.2, 1]})
    w = 0.8 / len(losses)
    x = np.arange(len(metrics))
    for j, loss in enumerate(losses):
        rows = table[table["loss"] == loss]
        m = rows[metrics].mean().to_numpy()
        s = rows[metrics].std(ddof=1).fillna(0).to_numpy() if len(rows) > 1 else np.zeros(len(metrics))
        pos = x + (j - (len(losses) - 1) / 2) * w
        ax.bar(pos, m, w * 0.95, color=LOSS_COLORS.get(loss, GREY), label=_label(loss), yerr=s, capsize=2)
        for p, col in zip(pos, metrics):
            ax.scatter(np.full(len(rows), p), rows[col], s=7, color="white", edgecolor="black", lw=0.5, zorder=3)
        hr = rows["sampled hr@10"]
        ax2.bar(
            j, hr.mean(), 0.7, color=LOSS_COLORS.get(loss, GREY), yerr=hr.std(ddof=1) if len(hr) > 1 else 0, capsize=2
        )
        ax2.scatter(np.full(len(hr), j), hr, s=7, color="white", edgecolor="black", lw=0.5, zorder=3)
    ax.set_xticks(x, ["Recall@10", "Recall@50", "Recall@100"])
    ax.set_ylabel("share of test users (whole catalogue)")
    ax.set_title(
        "Full catalogue: the test film among all 9,742" if table.get("num_items") is None else "Full catalogue"
    )
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax2.set_xticks(
        range(len(losses)),
        [_label(loss).split(" ")[0] if loss != "softmax_logq" else "logQ" for loss in losses],
        fontsize=8,
    )
    ax2.axhline(0.1, color=GREY, ls="--", lw=1)
    ax2.text(len(losses) - 0.5, 0.105, "random", color=GREY, fontsize=8, ha="right", va="bottom")
    ax2.set_ylim(0, 1)
    ax2.set_title("Sampled HR@10 (99 negatives)")
    n = table.groupby("loss")["seed"].nunique().min()
    return finish(fig, f"Same towers, four losses ({n} seed{'s' if n > 1 else ''}; bars: mean, lines: ± 1 sd)")


@styled
def plot_popularity(profile: pd.DataFrame, *, k: int = 100, width: float = 9.5, height: float = 3.8):
    """Left: each model's mean score (centred per user) by film-popularity bin. Right: each bin's share of the
    users' top-``k`` lists next to its share of the held-out test films. ``profile``: from
    :func:`~ncf_helpers.lessons.l07_retrieval.experiments.popularity_profile`."""
    fig, (a, b) = new_figure(1, 2, width=width, height=height)
    bins = sorted(profile["bin"].unique())
    models = list(dict.fromkeys(profile["model"]))
    labels = [f"{int(profile.loc[profile['bin'] == i, 'median popularity'].iloc[0])}" for i in bins]
    w = 0.8 / (len(models) + 1)
    for j, name in enumerate(models):
        rows = profile[profile["model"] == name].set_index("bin").reindex(bins)
        color = LOSS_COLORS.get(name, OKABE_ITO[(j + 4) % len(OKABE_ITO)])
        a.plot(bins, rows["mean score"], marker="o", ms=3, color=color, label=_label(name))
        b.bar(
            np.array(bins) + (j - len(models) / 2) * w,
            rows[f"share of top-{k}"],
            w * 0.95,
            color=color,
            label=_label(name),
        )
    test = profile[profile["model"] == models[0]].set_index("bin").reindex(bins)["share of test items"]
    b.bar(
        np.array(bins) + (len(models) / 2) * w,
        test,
        w * 0.95,
        color="white",
        edgecolor="black",
        lw=0.8,
        label="held-out test films",
    )
    a.axhline(0, color=GREY, lw=0.8)
    for ax in (a, b):
        ax.set_xticks(bins, labels, fontsize=8)
        ax.set_xlabel("films in 10 equal bins by training popularity (median likes per bin)")
    a.set_ylabel("mean score u·v − user's mean")
    a.set_title("Score by popularity")
    b.set_ylabel(f"share of top-{k} lists")
    b.set_title(f"Who gets recommended (top {k}) vs who is liked next")
    b.legend(frameon=False, fontsize=8, loc="upper left")
    return finish(fig, "Uncorrected in-batch softmax pushes popular films down; logQ gives them back")


@styled
def plot_context(table: pd.DataFrame, *, width: float = 9.5, height: float = 3.4):
    """Left: Recall@10 per placement of the context; right: best and median ms per single-user request."""
    fig, (a, b) = new_figure(1, 2, width=width, height=height, sharey=True)
    y = np.arange(len(table))[::-1]
    colors = [OKABE_ITO[(i + 1) % len(OKABE_ITO)] for i in range(len(table))]
    a.barh(y, table["recall@10"], color=colors)
    for yi, v in zip(y, table["recall@10"]):
        a.text(v, yi, f" {v:.3f}", va="center", fontsize=8)
    a.set_yticks(y, table.index, fontsize=8)
    a.set_xlabel("Recall@10, whole catalogue (test requests)")
    a.set_title("Quality")
    b.barh(y + 0.18, table["best ms / request"], 0.35, color=colors, label="best")
    b.barh(y - 0.18, table["median ms / request"], 0.35, color=colors, alpha=0.45, label="median")
    b.set_xlabel("ms per request (one user)")
    b.set_title("Cost")
    b.legend(frameon=False, fontsize=8)
    return finish(fig, "Where the request context goes")


@styled
def plot_fresh(table: pd.DataFrame, norms: dict | None = None, *, width: float = 9.5, height: float = 3.4):
    """Left: Recall@K among the fresh films per item tower (and a random order). Right (``norms``: ``{label:
    array}``): the length of item vectors, e.g. trained vs never-trained IDs in the ID-only tower."""
    ncols = 2 if norms else 1
    fig, axes = new_figure(1, ncols, width=width if norms else width * 0.6, height=height)
    a = axes[0] if norms else axes
    cols = [c for c in table.columns if c.startswith("recall@")]
    x = np.arange(len(cols))
    w = 0.8 / len(table)
    for j, (name, row) in enumerate(table.iterrows()):
        color = GREY if name.startswith("random") else OKABE_ITO[(j + 1) % len(OKABE_ITO)]
        a.bar(x + (j - (len(table) - 1) / 2) * w, row[cols].astype(float), w * 0.95, color=color, label=name)
    a.set_xticks(x, [c.replace("recall", "Recall") for c in cols])
    a.set_ylabel("share of the user's fresh films found")
    a.set_title("Films nobody rated before the cut-off")
    a.legend(frameon=False, fontsize=8)
    if norms:
        b = axes[1]
        hi = max(float(np.max(v)) for v in norms.values())
        edges = np.linspace(0, hi, 40)
        for j, (label, v) in enumerate(norms.items()):
            b.hist(v, bins=edges, alpha=0.6, density=True, color=OKABE_ITO[(j + 5) % len(OKABE_ITO)], label=label)
        b.set_xlabel("|v|, length of the item vector")
        b.set_ylabel("density")
        b.set_title("ID-only tower: what an unseen ID gets")
        b.legend(frameon=False, fontsize=8)
    return finish(fig, "Fresh items need content in the item tower")


@styled
def plot_index(index: pd.DataFrame, *, k: int = 10, width: float = 9.5, height: float = 3.8):
    """Recall@k of each index setting against exact top-k (y) vs best ms per query (x, log), one panel per
    catalogue size; exact brute force is the black square. ``index``: rows of
    :func:`~ncf_helpers.lessons.l07_retrieval.experiments.index_table` (``num_items`` may hold several sizes)."""
    sizes = sorted(index["num_items"].unique())
    fig, axes = new_figure(1, len(sizes), width=width, height=height, sharey=True, squeeze=False)
    colors = {
        "faiss-ivf": OKABE_ITO[1],
        "faiss-ivfpq": OKABE_ITO[6 % len(OKABE_ITO)],
        "faiss-hnsw": OKABE_ITO[2],
        "faiss-flat": GREY,
    }
    col = f"recall@{k} vs exact"
    for ax, n in zip(axes[0], sizes):
        rows = index[index["num_items"] == n]
        for backend, g in rows.groupby("backend", sort=False):
            if backend == "exact":
                ax.scatter(g["best ms/query"], g[col], marker="s", color="black", s=30, label="exact", zorder=3)
                continue
            ax.plot(
                g["best ms/query"],
                g[col],
                marker="o",
                ms=4,
                color=colors.get(backend, GREY),
                label=backend.replace("faiss-", ""),
            )
            for _, r in g.iterrows():
                tag = r["setting"].split(", ")[-1].replace("nprobe=", "p").replace("ef_search=", "ef")
                ax.annotate(tag, (r["best ms/query"], r[col]), fontsize=7, xytext=(3, -8), textcoords="offset points")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{n:,} items" + (f" ({rows['catalogue'].iloc[0]})" if "catalogue" in rows else ""), fontsize=9)
        ax.set_xlabel("best ms / query (1 thread)")
        ax.set_ylim(-0.02, 1.05)
    axes[0][0].set_ylabel(f"recall@{k} against exact top-{k}")
    axes[0][0].legend(frameon=False, fontsize=8, loc="lower right")
    return finish(fig, "Approximate nearest neighbours: recall against exact search vs time per query")


@styled
def plot_scale(paper: pd.DataFrame, *, width: float = 8.0, height: float = 3.4):
    """The GB rows of :func:`~ncf_helpers.lessons.l07_retrieval.experiments.scale_on_paper` as horizontal bars (log scale)."""
    rows = paper[paper["unit"] == "GB"]
    fig, ax = new_figure(1, 1, width=width, height=height)
    y = np.arange(len(rows))[::-1]
    ax.barh(y, rows["value"], color=[OKABE_ITO[(i + 1) % len(OKABE_ITO)] for i in range(len(rows))])
    for yi, v in zip(y, rows["value"]):
        ax.text(v, yi, f" {v:,.2f} GB", va="center", fontsize=8)
    ax.set_yticks(y, rows["quantity"], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("GB (log scale)")
    return finish(fig, "10^8 users, 10^7 items, 32 floats each: memory on paper")
