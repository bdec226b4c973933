"""Figures of lesson 06 (every model compared; the evaluation protocol), each returning a closed ``Figure``.

* :func:`plot_comparison` - HR@10 and NDCG@10 of every model, mean over seeds with the spread as error bars
  and each seed as a dot, coloured by how the model combines a user and an item;
* :func:`plot_sampled_vs_full` - each model's place with 99 sampled negatives and with full ranking;
* :func:`plot_literature` - published ML-1M numbers beside ours;
* :func:`plot_differences` - the planned differences between two models with their users x seeds intervals;
* :func:`plot_splits` - each model under leave-last-one-out and under the time split, sampled and full ranking.

* :func:`plot_protocol` - HR@10 against the number of sampled negatives, up to every item (the protocol
  explorer's figure).

matplotlib only: inputs are the DataFrames of :mod:`ncf_helpers.lessons.l06_comparison.experiments`.
"""

from __future__ import annotations

import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from ncf_helpers.ui.plots import GREY, OKABE_ITO, check_frame, color_for, finish, new_figure, shorten, styled

__all__ = [
    "FAMILY_COLORS",
    "plot_comparison",
    "plot_differences",
    "plot_literature",
    "plot_protocol",
    "plot_sampled_vs_full",
    "plot_splits",
]

FAMILY_COLORS = {
    "baseline": "#000000",
    "neighbourhood": OKABE_ITO[4],
    "dot product": OKABE_ITO[2],
    "learned (MLP)": OKABE_ITO[3],
}
"""One colour per model family (see :data:`ncf_helpers.lessons.l06_comparison.experiments.FAMILY`)."""


def _family_color(family) -> str:
    return FAMILY_COLORS.get(str(family), GREY)


@styled
def plot_comparison(results: pd.DataFrame, *, k: int = 10, width: float = 9.5, height: float = 4.2):
    """Lesson 06: ``results`` is the tidy frame of :func:`~ncf_helpers.lessons.l06_comparison.experiments.compare_models`
    (``model, family, seed, hr@k, ndcg@k``). Two panels of horizontal bars, best HR@k on top: the mean over
    seeds, a black error bar of +- one standard deviation, one dot per seed, and random guessing dashed."""
    need = ("model", "seed", f"hr@{k}", f"ndcg@{k}")
    missing = [c for c in need if c not in results.columns]
    if missing:
        raise ValueError(f"results lacks column(s) {missing}; pass Comparison.results from compare_models().")
    grouped = results.groupby("model", sort=False)
    order = grouped[f"hr@{k}"].mean().sort_values(ascending=True, kind="stable").index  # best at the top
    families = grouped["family"].first() if "family" in results.columns else pd.Series(dtype=str)
    fig, axes = new_figure(1, 2, width=width, height=height, sharey=True)
    y = np.arange(len(order))
    for ax, (metric, name) in zip(axes, ((f"hr@{k}", f"HR@{k}"), (f"ndcg@{k}", f"NDCG@{k}"))):
        means = grouped[metric].mean().reindex(order)
        stds = grouped[metric].std(ddof=1).reindex(order).fillna(0.0)
        colors = [_family_color(families.get(m, "")) for m in order]
        ax.barh(y, means, color=colors, alpha=0.85, height=0.7)
        ax.errorbar(means, y, xerr=stds, fmt="none", ecolor="black", elinewidth=1.2, capsize=3)
        for j, m in enumerate(order):
            vals = results.loc[results["model"] == m, metric].to_numpy(float)
            jitter = np.linspace(-0.18, 0.18, len(vals)) if len(vals) > 1 else np.zeros(1)
            ax.scatter(vals, j + jitter, s=9, color="white", edgecolor="black", lw=0.6, zorder=3)
            ax.text(means[m] + stds[m] + 0.01, j, f"{means[m]:.3f}", va="center", fontsize=8)
        if metric.startswith("hr@"):
            ax.axvline(k / 100, color=GREY, ls="--", lw=1)
            ax.text(k / 100, len(order) - 0.4, " random", fontsize=8, color="#555")
        lo = max(0.0, float(results[metric].min()) - 0.1)
        ax.set_xlim(lo if metric.startswith("ndcg") else 0.0, min(1.0, float(results[metric].max()) + 0.12))
        ax.set_xlabel(f"{name} (1 + 99 sampled negatives)")
        ax.set_title(name, loc="left")
    axes[0].set_yticks(y, list(order))
    handles = [Patch(color=c, label=f) for f, c in FAMILY_COLORS.items() if f in set(families.astype(str))]
    if handles:
        axes[1].legend(
            handles=handles, frameon=False, fontsize=8, loc="lower right", title="interaction", title_fontsize=8
        )
    seeds = results["seed"].nunique()
    return finish(fig, f"Every model on the same split and negatives ({seeds} seed{'s' if seeds != 1 else ''})")


@styled
def plot_sampled_vs_full(
    table: pd.DataFrame,
    families: dict | None = None,
    *,
    metric_label: str = "HR@10",
    width: float = 8.0,
    height: float = 4.2,
):
    """Lesson 06: ``table`` from :func:`~ncf_helpers.lessons.l06_comparison.experiments.sampled_vs_full` (index: model;
    ``sampled``, ``full``). A slope chart: each model's place (top = best; ties keep the table's order) with 99
    sampled negatives (left) and against every item (right), its value written beside it. Crossing lines are
    models whose order the protocol changes; they are drawn thicker. ``families`` (``{model: family}``, e.g.
    :data:`ncf_helpers.lessons.l06_comparison.experiments.FAMILY`) colours the lines as in :func:`plot_comparison`."""
    need = ("sampled", "full")
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks column(s) {missing}; pass the DataFrame of sampled_vs_full().")
    fig, ax = new_figure(1, 1, width=width, height=height)
    models = list(table.index)
    left = {m: j for j, m in enumerate(table["sampled"].sort_values(ascending=False, kind="stable").index)}
    right = {m: j for j, m in enumerate(table["full"].sort_values(ascending=False, kind="stable").index)}
    for j, model in enumerate(models):
        color = _family_color(families.get(model, "")) if families else OKABE_ITO[j % len(OKABE_ITO)]
        moved = left[model] != right[model]
        ax.plot(
            [0, 1],
            [left[model] + 1, right[model] + 1],
            color=color,
            lw=2.4 if moved else 1.2,
            marker="o",
            alpha=1.0 if moved else 0.6,
        )
        ax.text(
            -0.04, left[model] + 1, f"{model}  {table.loc[model, 'sampled']:.3f}", ha="right", va="center", fontsize=9
        )
        ax.text(1.04, right[model] + 1, f"{table.loc[model, 'full']:.3f}  {model}", ha="left", va="center", fontsize=9)
    n = len(models)
    ax.set_xlim(-0.8, 1.8)
    ax.set_ylim(n + 0.6, 0.4)
    ax.set_xticks([0, 1], [f"{metric_label}, 1 + 99 sampled", f"{metric_label}, all items"])
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    if families:
        present = {str(families.get(m, "")) for m in models}
        handles = [Patch(color=c, label=f) for f, c in FAMILY_COLORS.items() if f in present]
        ax.legend(
            handles=handles,
            frameon=False,
            fontsize=8,
            loc="lower center",
            ncol=len(handles),
            bbox_to_anchor=(0.5, -0.22),
        )
    ax.set_title("Place of each model (top = best) under two protocols", loc="left")
    return finish(fig)


@styled
def plot_literature(
    literature: pd.DataFrame, ours: pd.DataFrame | None = None, *, width: float = 8.0, height: float = 3.4
):
    """Lesson 06: published HR@10 (``literature``: ``source, model, hr@10`` from
    :func:`~ncf_helpers.lessons.l06_comparison.experiments.literature_table`; rows without a number are skipped) beside
    ours (``ours``: ``model, hr@10`` and optional ``hr@10_std``), as horizontal dots with labels."""
    lit = literature.dropna(subset=["hr@10"])
    fig, ax = new_figure(1, 1, width=width, height=height)
    labels, values, colors, errs = [], [], [], []
    for _, r in lit.iterrows():
        labels.append(f"{r['source']}: {r['model']} ({r.get('data', 'ML-1M')})")
        values.append(float(r["hr@10"]))
        colors.append(GREY)
        errs.append(0.0)
    if ours is not None:
        for _, r in ours.iterrows():
            labels.append(f"ours: {r['model']} ({r.get('data', 'ml-latest-small')})")
            values.append(float(r["hr@10"]))
            colors.append(OKABE_ITO[0])
            errs.append(float(r.get("hr@10_std", 0.0) or 0.0))
    y = np.arange(len(labels))[::-1]
    ax.errorbar(values, y, xerr=errs, fmt="none", ecolor="black", capsize=3)
    ax.scatter(values, y, color=colors, s=40, zorder=3)
    for v, yy in zip(values, y):
        ax.text(v + 0.005, yy + 0.15, f"{v:.3f}", fontsize=8)
    ax.set_yticks(y, labels, fontsize=8)
    lo, hi = min(values) - 0.05, max(values) + 0.05
    ax.set_xlim(max(0.0, lo), min(1.0, hi))
    ax.set_xlabel("HR@10 (leave-one-out, 1 + 99 sampled negatives)")
    ax.set_title("Published (grey, ML-1M) beside ours (blue): same protocol", loc="left")
    return finish(fig)


@styled
def plot_differences(
    differences: pd.DataFrame, *, metric_label: str = "HR@10", width: float = 8.0, height: float | None = None
):
    """Lesson 06: one row per planned pair; ``differences`` has ``A, B, difference, low, high`` (and optionally
    ``split``), e.g. rows of :func:`~ncf_helpers.lessons.l06_comparison.experiments.seed_user_difference`. Each difference
    ``A - B`` is a dot with its interval as a line; intervals that exclude 0 are drawn solid black, the others
    grey (within noise). 0 is the dashed line."""
    need = ("A", "B", "difference", "low", "high")
    missing = [c for c in need if c not in differences.columns]
    if missing:
        raise ValueError(f"differences lacks column(s) {missing}; one row per pair with A, B, difference, low, high.")
    n = len(differences)
    fig, ax = new_figure(1, 1, width=width, height=height or 1.0 + 0.45 * n)
    y = np.arange(n)[::-1]
    labels = []
    for yy, (_, r) in zip(y, differences.iterrows()):
        clear = r["low"] > 0 or r["high"] < 0
        color = "black" if clear else GREY
        ax.plot([r["low"], r["high"]], [yy, yy], color=color, lw=2.2 if clear else 1.6, solid_capstyle="butt")
        ax.scatter([r["difference"]], [yy], color=color, s=30, zorder=3)
        ax.text(
            r["high"] + 0.004,
            yy + 0.12,
            f"{r['difference']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]",
            fontsize=8,
            color="black" if clear else "#555",
        )
        where = f" ({r['split']})" if "split" in differences.columns else ""
        labels.append(f"{r['A']} - {r['B']}{where}")
    ax.axvline(0.0, color=GREY, ls="--", lw=1)
    span = max(abs(float(differences["low"].min())), abs(float(differences["high"].max())), 0.02)
    ax.set_xlim(-1.15 * span, 1.9 * span)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(f"{metric_label} of A minus {metric_label} of B (95 % interval over users and seeds)")
    ax.set_title("Planned comparisons: black = the interval excludes 0, grey = within noise", loc="left")
    return finish(fig)


@styled
def plot_splits(
    table: pd.DataFrame, families: dict | None = None, *, k: int = 10, width: float = 9.5, height: float = 4.4
):
    """Lesson 06: ``table`` indexed by model with columns ``("loo", "sampled")``, ``("time", "sampled")``,
    ``("loo", "full")``, ``("time", "full")`` flattened as ``"<split> <protocol>"`` (e.g. ``"loo sampled"``):
    mean HR@k over seeds. Two panels (sampled, full ranking); in each, one row per model (order of
    ``table``) with a hollow dot for leave-last-one-out and a filled one for the time split joined by a line,
    coloured by family."""
    need = ("loo sampled", "time sampled", "loo full", "time full")
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks column(s) {missing}; columns are '<loo|time> <sampled|full>'.")
    models = list(table.index)[::-1]  # first row at the top
    fig, axes = new_figure(1, 2, width=width, height=height, sharey=True)
    y = np.arange(len(models))
    for ax, protocol, label in (
        (axes[0], "sampled", f"HR@{k}, 1 + 99 sampled negatives"),
        (axes[1], "full", f"HR@{k}, all items"),
    ):
        for yy, m in zip(y, models):
            color = _family_color(families.get(m, "")) if families else OKABE_ITO[0]
            a, b = float(table.loc[m, f"loo {protocol}"]), float(table.loc[m, f"time {protocol}"])
            ax.plot([a, b], [yy, yy], color=color, lw=1.4, alpha=0.8)
            ax.scatter([a], [yy], facecolor="white", edgecolor=color, s=34, lw=1.4, zorder=3)
            ax.scatter([b], [yy], color=color, s=34, zorder=3)
        ax.set_xlabel(label)
        ax.set_title("sampled" if protocol == "sampled" else "full ranking", loc="left")
        lo = min(table[f"loo {protocol}"].min(), table[f"time {protocol}"].min())
        hi = max(table[f"loo {protocol}"].max(), table[f"time {protocol}"].max())
        pad = 0.05 * (hi - lo + 1e-9)
        ax.set_xlim(max(0.0, lo - pad), min(1.0, hi + pad))
    axes[0].set_yticks(y, models)
    handles = [
        _legend_dot(marker="o", facecolor="white", label="leave-last-one-out"),
        _legend_dot(marker="o", facecolor="black", label="time split"),
    ]
    fig.legend(handles=handles, frameon=False, fontsize=8, loc="outside lower center", ncol=2)
    return finish(fig, "Each model under the per-user split (hollow) and the global time split (filled)")


def _legend_dot(marker: str, facecolor: str, label: str):
    from matplotlib.lines import Line2D

    return Line2D([], [], marker=marker, ls="none", markerfacecolor=facecolor, markeredgecolor="black", label=label)


# ---------------------------------------------------------------------------------------------- protocol
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">")
_DASHES = ("-", "--", "-.", ":")


@styled
def plot_protocol(
    curve: pd.DataFrame,
    num_negatives,
    *,
    metric: str = "hr@10",
    k: int = 10,
    width: float = 9.5,
    height: float | None = None,
):
    """Lesson 06: the same models scored against 1, 2, ... sampled negatives, up to every item.

    ``curve``: DataFrame ``model, num_negatives, candidates, <metric>`` with one row per model and setting
    (:func:`ncf_helpers.evaluate.protocol_curve`); ``num_negatives`` is an int or ``"all"`` (full
    ranking, drawn at the right end). Left: the metric of each model at the chosen setting, random guessing
    dashed; right: the metric against the number of candidates (log scale) for every model, the chosen setting
    marked. The fewer negatives, the higher (and the less informative) every model's HR@10.
    """
    check_frame(curve, ("model", "num_negatives", "candidates", metric), "curve")
    key = str(num_negatives)
    at = curve[curve["num_negatives"].astype(str) == key]
    if at.empty:
        raise ValueError(
            f"The curve has no rows for num_negatives={num_negatives!r}; it has "
            f"{sorted(curve['num_negatives'].astype(str).unique())}."
        )
    models = list(dict.fromkeys(curve["model"]))
    if height is None:
        height = max(3.6, 0.28 * len(models) + 1.6)
    fig, (ax_bar, ax_line) = new_figure(1, 2, width=width, height=height, width_ratios=[1, 1.3])
    candidates = int(at["candidates"].iloc[0])
    values = [float(at.loc[at["model"] == m, metric].iloc[0]) for m in models]
    colors = [color_for(m, j) for j, m in enumerate(models)]
    y = np.arange(len(models))[::-1]  # first model on top
    edges = ["black" if c == "#F0E442" else "none" for c in colors]
    ax_bar.barh(y, values, color=colors, edgecolor=edges, height=0.7)
    for yy, v in zip(y, values):
        ax_bar.text(min(v, 1.0) + 0.01, yy, f"{v:.2f}", va="center", fontsize=8)
    rnd = _random_metric(metric, candidates, k)
    if rnd is not None:
        ax_bar.axvline(rnd, color=GREY, ls="--", lw=1, zorder=0, label=f"random guessing ({rnd:.2f})")
        ax_bar.legend(frameon=False, loc="lower right", fontsize=8, bbox_to_anchor=(1.0, 1.0), borderaxespad=0)
    ax_bar.set_yticks(y, [shorten(m, 14) for m in models], fontsize=8.5)
    ax_bar.set_xlim(0, 1.15)
    ax_bar.set_xlabel(metric.upper())
    label = "all items (full ranking)" if key == "all" else f"1 + {key} sampled negatives"
    ax_bar.set_title(f"{metric.upper()} with {label}", loc="left", pad=18)

    for j, m in enumerate(models):
        rows = curve[curve["model"] == m].sort_values("candidates")
        ax_line.plot(
            rows["candidates"],
            rows[metric],
            marker=_MARKERS[j % len(_MARKERS)],
            ms=3.5,
            ls=_DASHES[(j // len(_MARKERS)) % len(_DASHES)] if j < len(_MARKERS) else _DASHES[1],
            color=colors[j],
            label=m,
            mec="black" if colors[j] == "#F0E442" else colors[j],
            mew=0.5,
            lw=1.3,
        )
    cands = np.sort(curve["candidates"].unique())
    ax_line.plot(
        cands, [_random_metric(metric, c, k) or np.nan for c in cands], color=GREY, ls="--", lw=1, label="random"
    )
    ax_line.axvline(candidates, color="black", lw=1, alpha=0.6)
    ax_line.set_xscale("log")
    ticks = [t for t in (2, 10, 100, 1000, 10000, 100000) if cands.min() <= t <= cands.max()]
    ax_line.set_xticks(ticks, [f"{t:,}" for t in ticks])
    ax_line.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax_line.set_xlabel("candidates per test user (1 held-out item + negatives), log scale")
    ax_line.set_ylabel(metric.upper())
    ax_line.set_ylim(0, 1.05)
    ax_line.legend(frameon=False, fontsize=7.5, loc="upper left", bbox_to_anchor=(1.0, 1.0), borderaxespad=0)
    ax_line.set_title("Fewer negatives, higher numbers", loc="left", pad=18)
    return finish(fig)


def _random_metric(metric: str, candidates: int, k: int) -> float | None:
    """Expected HR@k / NDCG@k of a random ranking of ``candidates`` items with one relevant (None otherwise)."""
    c = max(int(candidates), 1)
    if metric.startswith("hr@"):
        return min(k, c) / c
    if metric.startswith("ndcg@"):
        r = np.arange(min(k, c))
        return float(np.sum(1.0 / np.log2(r + 2.0)) / c)
    return None
