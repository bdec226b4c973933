"""Figures of lesson 05 (the two-tower model), one function per figure, each returning a closed ``Figure``.

* :func:`plot_serving_cost` - milliseconds per request, pairwise MLP scorer vs two-tower index, and how each
  grows with the catalogue;
* :func:`plot_sigmoid_dense` - the original course's ``Dense(1, sigmoid)`` after the dot product: model output against
  the dot product, and what an index that returns the largest dot products gets;
* :func:`plot_side_features` - do neighbours share genres, and can the model recommend a film nobody liked yet;
* :func:`plot_context` - cached vectors per context, and the cost of a request-time query tower;
* :func:`plot_ranking_stage` - HR@10 with and without a ranking stage that knows the request's time.

matplotlib only: the inputs are the DataFrames of :mod:`ncf_helpers.lessons.l05_two_tower.experiments`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ncf_helpers.ui.plots import GREY, OKABE_ITO, finish, new_figure, styled

__all__ = ["plot_context", "plot_ranking_stage", "plot_serving_cost", "plot_side_features", "plot_sigmoid_dense"]

_MLP, _TOWER, _THIRD = OKABE_ITO[3], OKABE_ITO[0], OKABE_ITO[1]


def _need(frame, columns, what):
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{what} must be a DataFrame with columns {list(columns)}, got {type(frame).__name__}.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)}.")


def _bar_labels(ax, bars, fmt="{:.2f}", horizontal=False):
    for bar in bars:
        if horizontal:
            w = bar.get_width()
            ax.text(w, bar.get_y() + bar.get_height() / 2, " " + fmt.format(w), va="center", ha="left", fontsize=8)
        else:
            h = bar.get_height()
            ax.text(bar.get_x() + bar.get_width() / 2, h, fmt.format(h), ha="center", va="bottom", fontsize=8)


@styled
def plot_serving_cost(scaling: pd.DataFrame, mark: int | None = None, *, width: float = 9.5, height: float = 3.6):
    """Lesson 05: ``scaling`` from :func:`~ncf_helpers.lessons.l05_two_tower.experiments.catalogue_scaling` (``method,
    num_items, best ms`` or ``median ms``, ``rows through a network``). Left: rows the network runs per request
    (log scale); right: milliseconds per request (the best of the timed requests when given, else the median)
    against the catalogue size (log-log). ``mark``: a catalogue size to mark with a dotted line (the data set's)."""
    _need(scaling, ("method", "num_items", "rows through a network"), "scaling")
    col = "best ms" if "best ms" in scaling.columns else "median ms"
    _need(scaling, (col,), "scaling")
    fig, (ax_rows, ax_ms) = new_figure(1, 2, width=width, height=height)
    methods = list(dict.fromkeys(scaling["method"]))
    colors = {m: (_MLP if "MLP" in m else _TOWER) for m in methods}
    for m in methods:
        part = scaling[scaling["method"] == m].sort_values("num_items")
        ax_rows.plot(part["num_items"], part["rows through a network"], marker="o", color=colors[m], label=m)
        ax_ms.plot(part["num_items"], part[col], marker="o", color=colors[m], label=m)
        last = part.iloc[-1]
        ax_ms.annotate(
            f"{last[col]:.1f} ms",
            (last["num_items"], last[col]),
            textcoords="offset points",
            xytext=(-4, 6),
            ha="right",
            fontsize=8,
            color=colors[m],
        )
    for ax in (ax_rows, ax_ms):
        if mark:
            ax.axvline(mark, color=GREY, ls=":", lw=1.2, label=f"this data set ({int(mark):,} items)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("items in the catalogue (log scale)")
    ax_rows.set_ylabel("rows through a network per request")
    ax_rows.set_title("Network work per request", loc="left")
    ax_ms.set_ylabel(("fastest" if col == "best ms" else "median") + " ms per request (log scale)")
    ax_ms.set_title("Latency per top-10 request", loc="left")
    ax_ms.legend(frameon=False, loc="upper left")
    return finish(fig, "Scoring every item vs looking up precomputed item vectors")


@styled
def plot_sigmoid_dense(
    pairs: pd.DataFrame, rankings: pd.DataFrame, *, k: int = 10, width: float = 9.5, height: float = 3.8
):
    """Lesson 05: ``pairs`` from :func:`~ncf_helpers.lessons.l05_two_tower.experiments.score_pairs` (``dot, score,
    held_out``) and ``rankings`` from :func:`~ncf_helpers.lessons.l05_two_tower.experiments.index_vs_model` (index: ranking;
    ``hr@k``, ``w``, ``b``). Left: the model's output against the towers' dot product, with the learned curve
    ``sigmoid(w x + b)``; right: HR@k of the model's own ranking, of an index returning the largest dot
    products, and of the index queried with ``w`` folded into the user vector."""
    _need(pairs, ("dot", "score", "held_out"), "pairs")
    _need(rankings, (f"hr@{k}", "w", "b"), "rankings")
    w, b = float(rankings["w"].iloc[0]), float(rankings["b"].iloc[0])
    fig, (ax_s, ax_b) = new_figure(1, 2, width=width, height=height, width_ratios=[1.1, 1])
    neg, pos = pairs[~pairs["held_out"]], pairs[pairs["held_out"]]
    ax_s.scatter(neg["dot"], neg["score"], s=6, color=GREY, alpha=0.5, label="sampled negatives", rasterized=True)
    ax_s.scatter(pos["dot"], pos["score"], s=14, color=_THIRD, edgecolor="black", lw=0.3, label="held-out films")
    xs = np.linspace(float(pairs["dot"].min()), float(pairs["dot"].max()) + 1e-9, 200)
    ax_s.plot(xs, 1.0 / (1.0 + np.exp(-(w * xs + b))), color="black", lw=1.2, label=f"sigmoid({w:.2f} x {b:+.2f})")
    ax_s.set_xlabel("dot product of the two towers, u . v")
    ax_s.set_ylabel("model output (probability)")
    ax_s.set_ylim(-0.03, 1.03)
    ax_s.set_title("Larger dot product, " + ("higher" if w > 0 else "LOWER") + " probability", loc="left")
    ax_s.legend(frameon=False, fontsize=8, loc="best")
    labels = list(rankings.index)
    vals = rankings[f"hr@{k}"].to_numpy(float)
    colors = [_THIRD, _MLP, _TOWER][: len(labels)]
    bars = ax_b.barh(np.arange(len(labels))[::-1], vals, color=colors)
    _bar_labels(ax_b, bars, horizontal=True)
    ax_b.set_yticks(np.arange(len(labels))[::-1], [str(x).replace(": ", ":\n") for x in labels])
    ax_b.axvline(k / 100, color=GREY, ls="--", lw=1)
    ax_b.text(k / 100, len(labels) - 0.45, " random", color="#555", fontsize=8, va="top")
    ax_b.set_xlim(0, 1)
    ax_b.set_xlabel(f"HR@{k} (1 + 99 sampled negatives)")
    ax_b.set_title("What the index returns", loc="left")
    return finish(fig, f"The original course's Dense(1, sigmoid) after the dot product learned w = {w:.2f}")


@styled
def plot_side_features(
    overlap: pd.DataFrame, fresh: pd.DataFrame, *, k: int = 10, width: float = 9.5, height: float = 3.6
):
    """Lesson 05: ``overlap`` from :func:`~ncf_helpers.lessons.l04_neuralcf.experiments.neighbour_genre_overlap` (``space,
    jaccard``) and ``fresh`` from :func:`~ncf_helpers.lessons.l05_two_tower.experiments.fresh_item_hits` (``model, items,
    users, hr@k``). Left: how much the nearest neighbours of films without a training positive share their
    genres; right: HR@k on test films nobody liked in training vs the others, per model."""
    _need(overlap, ("space", "jaccard"), "overlap")
    _need(fresh, ("model", "items", "users", f"hr@{k}"), "fresh")
    fig, (ax_o, ax_f) = new_figure(1, 2, width=width, height=height)
    spaces = list(overlap["space"])
    colors = [GREY if s.startswith("random") else OKABE_ITO[j] for j, s in enumerate(spaces)]
    bars = ax_o.bar(np.arange(len(spaces)), overlap["jaccard"], color=colors)
    _bar_labels(ax_o, bars)
    ax_o.set_xticks(np.arange(len(spaces)), spaces)
    ax_o.set_ylim(0, 1.05)
    ax_o.set_ylabel(f"genre overlap with {k} neighbours (Jaccard)")
    ax_o.set_title("Neighbours of films nobody liked yet", loc="left")
    models = list(dict.fromkeys(fresh["model"]))
    groups = list(dict.fromkeys(fresh["items"]))
    width_bar = 0.8 / max(len(models), 1)
    for j, m in enumerate(models):
        part = fresh[fresh["model"] == m].set_index("items").reindex(groups)
        x = np.arange(len(groups)) + (j - (len(models) - 1) / 2) * width_bar
        bars = ax_f.bar(x, part[f"hr@{k}"].fillna(0), width_bar, color=OKABE_ITO[j], label=m)
        _bar_labels(ax_f, bars)
    users = fresh.drop_duplicates("items").set_index("items")["users"].reindex(groups)
    ax_f.set_xticks(np.arange(len(groups)), [f"{g}\n({int(n)} test users)" for g, n in zip(groups, users)])
    ax_f.axhline(k / 100, color=GREY, ls="--", lw=1)
    ax_f.set_ylim(0, 1.05)
    ax_f.set_ylabel(f"HR@{k}")
    ax_f.set_title("Recommending a brand-new film", loc="left")
    ax_f.legend(frameon=False, loc="upper left")
    return finish(fig, "What genres in the item tower buy")


@styled
def plot_context(cache: pd.DataFrame, latency: pd.DataFrame, *, width: float = 9.5, height: float = 3.8):
    """Lesson 05: ``cache`` from :func:`~ncf_helpers.lessons.l05_two_tower.experiments.context_cache_size` (one frame, or
    several concatenated with a ``users`` column) and ``latency`` from
    :func:`~ncf_helpers.lessons.l05_two_tower.experiments.query_latency`. Left: bytes of cached vectors as context features
    are added (log scale, with the memory of a large server marked); right: median ms per request."""
    _need(cache, ("context", "bytes"), "cache")
    _need(latency, ("query vector", "network calls / request"), "latency")
    col = "best ms" if "best ms" in latency.columns else "median ms"
    _need(latency, (col,), "latency")
    fig, (ax_c, ax_l) = new_figure(1, 2, width=width, height=height, width_ratios=[1.2, 1])
    groups = cache.groupby("users", sort=False) if "users" in cache.columns else [("", cache)]
    for j, (users, part) in enumerate(groups):
        x = np.arange(len(part))
        label = f"{int(users):,} users" if users != "" else None
        ax_c.plot(x, part["bytes"], marker="o", color=OKABE_ITO[j], label=label)
        ax_c.set_xticks(x, [str(c).replace(" (", "\n(") for c in part["context"]], fontsize=8)
    ax_c.set_yscale("log")
    for size, name in ((1e9 * 512, "512 GB: a large server's RAM"),):
        ax_c.axhline(size, color=GREY, ls="--", lw=1)
        ax_c.text(0, size * 1.5, name, fontsize=8, color="#555")
    ax_c.set_ylabel("bytes of cached user vectors (log)")
    ax_c.set_title("One cached vector per user x context", loc="left")
    if "users" in cache.columns:
        ax_c.legend(frameon=False, loc="lower right")
    labels = list(latency["query vector"])
    vals = latency[col].to_numpy(float)
    colors = [
        GREY if c == 0 else (_TOWER if "context" not in q else _MLP)
        for q, c in zip(labels, latency["network calls / request"])
    ]
    bars = ax_l.barh(np.arange(len(labels))[::-1], vals, color=colors)
    _bar_labels(ax_l, bars, "{:.2f} ms", horizontal=True)
    ax_l.set_yticks(
        np.arange(len(labels))[::-1],
        [
            f"{q}\n({int(c)} network call{'s' if c != 1 else ''})"
            for q, c in zip(labels, latency["network calls / request"])
        ],
        fontsize=8,
    )
    ax_l.set_xlim(0, float(vals.max()) * 1.35)
    ax_l.set_xlabel(("fastest" if col == "best ms" else "median") + " ms per request (incl. retrieval)")
    ax_l.set_title("Computing the query per request", loc="left")
    return finish(fig, "Request-time context and a cached user vector do not mix")


@styled
def plot_ranking_stage(
    table: pd.DataFrame, coefficients: pd.Series | None = None, *, k: int = 10, width: float = 9.5, height: float = 3.4
):
    """Lesson 05: ``table`` from :func:`~ncf_helpers.lessons.l05_two_tower.experiments.context_ranking` (index: ranking;
    ``hr@k``, ``ndcg@k``). Left: HR@k and NDCG@k of each ranking; right (when ``coefficients`` is given): the
    weights the context-aware ranker learned on standardised features."""
    _need(table, (f"hr@{k}", f"ndcg@{k}"), "table")
    ncols = 2 if coefficients is not None else 1
    fig, axes = new_figure(
        1, ncols, width=width, height=height, squeeze=False, width_ratios=[1.3, 1] if ncols == 2 else None
    )
    ax = axes[0, 0]
    labels = list(table.index)
    y = np.arange(len(labels))[::-1]
    for j, (metric, name) in enumerate(((f"hr@{k}", f"HR@{k}"), (f"ndcg@{k}", f"NDCG@{k}"))):
        bars = ax.barh(y + (0.2 if j == 0 else -0.2), table[metric], 0.4, color=OKABE_ITO[j], label=name)
        _bar_labels(ax, bars, horizontal=True)
    ax.set_yticks(y, [str(x).replace(": ", ":\n") for x in labels], fontsize=8)
    ax.set_xlabel("metric (1 + 99 sampled candidates per test request)")
    ax.set_title("A ranking stage that knows the request's time", loc="left")
    ax.set_xlim(0, 1.3)  # room for the legend right of the bars
    ax.legend(frameon=False, loc="lower right")
    if coefficients is not None:
        axc = axes[0, 1]
        yc = np.arange(len(coefficients))[::-1]
        colors = [OKABE_ITO[2] if v >= 0 else OKABE_ITO[5] for v in coefficients.to_numpy()]
        axc.barh(yc, coefficients.to_numpy(), color=colors)
        axc.set_yticks(yc, list(coefficients.index), fontsize=8)
        axc.axvline(0, color="black", lw=0.8)
        axc.set_xlabel("weight (standardised feature)")
        axc.set_title("What the ranker learned", loc="left")
    return finish(fig, "Context in a ranking stage")
