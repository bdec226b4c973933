"""Figures of the explorer widgets (lessons 04-06): one function per view, each returning a matplotlib ``Figure``.

The :class:`~ncf_helpers.lessons.l04_neuralcf.explorer.InteractionExplorer` of lesson 04 shows four views after every training run,
and the lesson draws the same figures once without widgets:

* :func:`plot_training_curve` - the loss and the validation HR@10 per epoch;
* :func:`plot_metric_bars` - HR@10 and NDCG@10 of the configuration beside fixed reference models;
* :func:`plot_similarity_heatmap` - cosine similarities of a panel of well-known movies in the learned space;
* :func:`plot_score_vs_dot` - user vector . item vector against the model's score ("same vector space?").

:func:`plot_run_overview` puts the four interaction views in one figure.

matplotlib only (no TensorFlow): the inputs are plain arrays and DataFrames.
"""

from __future__ import annotations

import matplotlib
import matplotlib.ticker
import numpy as np
import pandas as pd

from ncf_helpers.registry import INTERACTION_MODEL
from ncf_helpers.ui.plots import GREY, MAX_WIDTH, check_frame, color_for, finish, new_figure, shorten, styled

__all__ = [
    "INTERACTION_LABELS",
    "interaction_color",
    "plot_metric_bars",
    "plot_run_overview",
    "plot_score_vs_dot",
    "plot_similarity_heatmap",
    "plot_training_curve",
]

INTERACTION_LABELS = INTERACTION_MODEL
"""Display names of the ``interaction`` values of :func:`ncf_helpers.models.build_model` (the registry's)."""


def interaction_color(interaction: str) -> str:
    """The course colour of an interaction (``"dot"``, ``"gmf"``, ...), the same as its model's in every lesson."""
    return color_for(INTERACTION_MODEL.get(interaction, interaction))


def _color(name: str, index: int = 0) -> str:
    return color_for(name, index)


# ---------------------------------------------------------------------------------------------- 1. training curve
@styled
def plot_training_curve(
    history: pd.DataFrame,
    *,
    title: str | None = None,
    metric: str = "hr@10",
    reference: float | None = None,
    reference_label: str = "",
    ax=None,
    width: float = 4.7,
    height: float = 3.5,
):
    """Loss (top) and validation ``metric`` (bottom) per epoch of one training run. Lessons 04-05.

    ``history``: DataFrame with ``epoch`` (1, 2, ...), ``loss`` (binary cross-entropy, float >= 0) and ``metric``
    (float in ``[0, 1]``, e.g. ``TrainHistory.frame()``). ``reference`` (optional): a horizontal line on the
    metric panel, e.g. the best reference model's HR@10. ``ax``: a pair of axes to draw into (for
    :func:`plot_run_overview`); otherwise a new figure ``width x height`` inches is returned.
    """
    check_frame(history, ("epoch", "loss"), "history")
    if len(history) == 0:
        raise ValueError("history is empty: train for at least one epoch.")
    own = ax is None
    if own:
        fig, (ax_loss, ax_metric) = new_figure(2, 1, width=width, height=height, sharex=True)
    else:
        ax_loss, ax_metric = ax
        fig = ax_loss.figure
    epochs = history["epoch"].to_numpy()
    ax_loss.plot(epochs, history["loss"], marker="o", ms=3, color="#0072B2")
    ax_loss.set_ylabel("train loss")
    ax_loss.set_title("Training curve" if title is None else title, loc="left")
    if metric in history.columns and history[metric].notna().any():
        values = history[metric].to_numpy(float)
        ax_metric.plot(epochs, values, marker="o", ms=3, color="#D55E00")
        best = int(np.nanargmax(values))
        ax_metric.annotate(
            f"{values[best]:.3f}",
            (epochs[best], values[best]),
            textcoords="offset points",
            xytext=(0, 5),
            ha="center",
            fontsize=8,
        )
        lo, hi = np.nanmin(values), np.nanmax(values)
        if reference is not None:
            ax_metric.axhline(reference, color=GREY, ls="--", lw=1)
            lo, hi = min(lo, reference), max(hi, reference)
        pad = max(0.02, 0.15 * (hi - lo))
        ax_metric.set_ylim(max(0.0, lo - pad), min(1.0, hi + 2 * pad))
        if reference is not None:  # a label on the line instead of a legend that could hide the curve
            ax_metric.annotate(
                reference_label or "reference",
                (0.01, reference),
                xycoords=("axes fraction", "data"),
                xytext=(0, 2),
                textcoords="offset points",
                fontsize=7.5,
                color="#666",
                va="bottom",
            )
    else:
        ax_metric.text(0.5, 0.5, f"no validation {metric}", ha="center", va="center", transform=ax_metric.transAxes)
    ax_metric.set_ylabel(f"validation {metric.upper()}")
    ax_metric.set_xlabel("epoch")
    if len(epochs) <= 12:
        ax_metric.set_xticks(epochs)
    else:
        ax_metric.xaxis.get_major_locator().set_params(integer=True)
    ax_metric.set_xlim(epochs.min() - 0.5, epochs.max() + 0.5)
    return finish(fig) if own else fig


# ---------------------------------------------------------------------------------------------- 2. metric bars
@styled
def plot_metric_bars(
    current: dict,
    references: pd.DataFrame | dict | None = None,
    *,
    label: str = "this model",
    interaction: str | None = None,
    split_name: str = "validation",
    random_hr: float | None = None,
    ax=None,
    width: float = 4.7,
    height: float = 3.5,
):
    """HR@10 and NDCG@10 of one configuration (highlighted) beside fixed reference models. Lessons 04-06.

    ``current``: ``{"hr@10": float in [0, 1], "ndcg@10": float in [0, 1]}``. ``references``: DataFrame indexed by
    model name with columns ``hr@10`` and ``ndcg@10`` (or a dict ``name -> {"hr@10": ..., "ndcg@10": ...}``),
    e.g. :func:`ncf_helpers.lessons.l04_neuralcf.explorer.reference_metrics`. ``random_hr``: HR@10 of random guessing
    (10/100 with 99 sampled negatives), drawn as a dashed line.
    """
    for key in ("hr@10", "ndcg@10"):
        if key not in current:
            raise ValueError(f"current must hold 'hr@10' and 'ndcg@10'; got {sorted(current)}.")
    refs = pd.DataFrame(references).T if isinstance(references, dict) else references
    rows = (
        []
        if refs is None
        else [(str(name), float(r["hr@10"]), float(r["ndcg@10"]), False) for name, r in refs.iterrows()]
    )
    rows.append((label, float(current["hr@10"]), float(current["ndcg@10"]), True))
    own = ax is None
    if own:
        fig, ax = new_figure(width=width, height=height)
    else:
        fig = ax.figure
    x = np.arange(len(rows))
    w = 0.38
    for j, (name, hr, ndcg, mine) in enumerate(rows):
        color = interaction_color(interaction) if (mine and interaction) else _color(name, j)
        edge = "black" if mine else "none"
        ax.bar(x[j] - w / 2, hr, w, color=color, edgecolor=edge, lw=1.2)
        ax.bar(
            x[j] + w / 2,
            ndcg,
            w,
            color=color,
            alpha=0.45,
            hatch="//",
            edgecolor="black" if mine else "white",
            lw=1.2 if mine else 0,
        )
        for dx, v in ((-w / 2, hr), (w / 2, ndcg)):
            ax.text(
                x[j] + dx,
                v + 0.01,
                f"{v:.2f}",
                ha="center",
                va="bottom",
                fontsize=7.5,
                fontweight="bold" if mine else "normal",
            )
    if random_hr is not None:
        ax.axhline(random_hr, color=GREY, ls="--", lw=1, zorder=0)
    ax.set_xticks(x, [_wrap(r[0]) for r in rows], fontsize=8)
    for tick, row in zip(ax.get_xticklabels(), rows):
        if row[3]:
            tick.set_fontweight("bold")
    ax.set_xlim(-0.6, len(rows) - 0.4)
    top = max(max(r[1] for r in rows), max(r[2] for r in rows))
    ax.set_ylim(0, min(1.1, top + 0.16))
    ax.set_ylabel(f"metric on the {split_name} item")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(facecolor="#777"), Patch(facecolor="#777", alpha=0.45, hatch="//", edgecolor="white")]
    labels = ["HR@10", "NDCG@10"]
    if random_hr is not None:
        handles.append(Line2D([], [], color=GREY, ls="--", lw=1))
        labels.append("random HR@10")
    ax.legend(
        handles=handles,
        labels=labels,
        loc="upper left",
        frameon=False,
        ncols=3,
        fontsize=8,
        handlelength=1.6,
        columnspacing=1.0,
    )
    ax.set_title(f"HR@10 and NDCG@10 ({split_name})", loc="left")
    return finish(fig) if own else fig


def _wrap(label: str, width: int = 11) -> str:
    """Tick label on at most two short lines: ``"MLP 32d [10,10]"`` -> ``"MLP\n32d [10,10]"``."""
    label = str(label)
    if len(label) <= width or " " not in label:
        return shorten(label, 2 * width)
    head, tail = label.split(" ", 1)
    return head + "\n" + shorten(tail, width + 3)


# ---------------------------------------------------------------------------------------------- 3. heatmap
@styled
def plot_similarity_heatmap(
    similarity: np.ndarray,
    titles: list[str],
    *,
    title: str | None = None,
    highlight: int | None = None,
    stretch: bool = True,
    annotate: str = "auto",
    ax=None,
    width: float = 4.9,
    height: float = 4.4,
):
    """Item x item cosine similarity over a panel of movies in a learned embedding space. Lessons 03-05.

    ``similarity``: float ``[n, n]`` in ``[-1, 1]`` (symmetric, 1 on the diagonal); ``titles``: ``n`` names.
    ``highlight``: row to outline (the movie picked in the explorer). ``annotate``: write the values in
    ``"all"`` cells, only in the highlighted ``"row"``, or ``"none"``; ``"auto"`` = the row when there is one,
    else all (the explorer redraws this often, and 132 labels take most of a second to draw).

    Colours: when every off-diagonal similarity is positive and ``stretch`` (the default), the colour scale
    spans their range (popular movies share a large common direction, so their raw cosines all sit near 1
    and a ``[-1, 1]`` scale would paint one flat block); the colour bar gives the range. Otherwise a diverging
    scale on ``[-1, 1]`` (blue similar, red opposite).
    """
    sim = np.asarray(similarity, dtype=float)
    n = len(titles)
    if sim.ndim != 2 or sim.shape != (n, n):
        raise ValueError(f"similarity must be [n, n] with n = len(titles) = {n}; got shape {sim.shape}.")
    if n < 2:
        raise ValueError("A similarity heatmap needs at least two items.")
    if annotate not in ("auto", "all", "row", "none"):
        raise ValueError(f"annotate must be 'auto', 'all', 'row' or 'none', got {annotate!r}.")
    if annotate == "auto":
        annotate = "row" if highlight is not None else "all"
    own = ax is None
    if own:
        # A fixed layout: constrained layout measures every rotated label twice (the explorer redraws often).
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(min(width, MAX_WIDTH), height))
        fig.subplots_adjust(left=0.30, right=0.84, bottom=0.27, top=0.93)
    else:
        fig = ax.figure
    off = ~np.eye(n, dtype=bool)
    lo, hi = float(np.nanmin(sim[off])), float(np.nanmax(sim[off]))
    shown = np.where(off, sim, np.nan)
    if stretch and lo > 0:
        vmin = np.floor(lo * 20) / 20
        vmax = max(min(1.0, np.ceil(hi * 100) / 100), vmin + 0.05)
        cmap, label = "viridis", f"cosine similarity (colours stretched: {vmin:.2f} to {vmax:.2f})"
    else:
        vmin, vmax, cmap, label = -1.0, 1.0, "RdBu", "cosine similarity"
    cm = matplotlib.colormaps[cmap].with_extremes(bad="#e8e8e8")
    im = ax.imshow(shown, cmap=cm, vmin=vmin, vmax=vmax)
    labels = [shorten(t, 20) for t in titles]
    ax.set_xticks(np.arange(n), labels, rotation=60, ha="right", rotation_mode="anchor", fontsize=7.5)
    ax.set_yticks(np.arange(n), labels, fontsize=7.5)
    rows = range(n) if annotate == "all" else ([highlight] if annotate == "row" and highlight is not None else [])
    if n <= 16:
        mid = (vmin + vmax) / 2
        for i in rows:
            for j in range(n):
                if i != j:
                    v = sim[i, j]
                    dark = v < mid if cmap == "viridis" else abs(v) > 0.6
                    text = f"{v:.2f}".replace("0.", ".", 1) if abs(v) < 1 else f"{v:.1f}"
                    ax.text(j, i, text, ha="center", va="center", fontsize=5.8, color="white" if dark else "black")
    if highlight is not None and 0 <= highlight < n:
        from matplotlib.patches import Rectangle

        ax.add_patch(Rectangle((-0.5, highlight - 0.5), n, 1, fill=False, ec="#D55E00", lw=1.8))
        ax.get_yticklabels()[highlight].set_fontweight("bold")
    ax.spines[:].set_visible(False)
    if own:
        cax = fig.add_axes([0.86, 0.27, 0.025, 0.66])
        fig.colorbar(im, cax=cax).set_label(label, fontsize=8)
    else:
        fig.colorbar(im, ax=ax, shrink=0.75).set_label(label, fontsize=8)
    ax.set_title("Similarity in the learned space" if title is None else title, loc="left")
    return finish(fig) if own else fig


# ---------------------------------------------------------------------------------------------- 4. dot vs score
@styled
def plot_score_vs_dot(
    dots: np.ndarray,
    scores: np.ndarray,
    *,
    positive: np.ndarray | None = None,
    correlation: float | None = None,
    interaction: str | None = None,
    vectors: str = "",
    ax=None,
    width: float = 4.7,
    height: float = 3.5,
):
    """The "same vector space?" picture (lessons 04-05): user vector . item vector (x) against the model's score
    (y, a logit) for a sample of (user, item) pairs.

    A straight line means the score *is* an inner product of a user vector and an item vector, so item vectors
    can be precomputed and served by a nearest-neighbour search (dot, GMF, two-tower); a cloud means the
    network mixes the two embeddings in a way no inner product reproduces (MLP).
    ``dots``, ``scores``: float ``[n]``; ``positive``: bool ``[n]`` (training positives are drawn in colour);
    ``correlation``: Pearson r (computed if not given); ``vectors``: what the vectors are, for the caption.
    """
    x = np.asarray(dots, dtype=float).reshape(-1)
    y = np.asarray(scores, dtype=float).reshape(-1)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"dots and scores must be 1-D arrays of the same length >= 2; got {x.shape} and {y.shape}.")
    if correlation is None:
        correlation = float(np.corrcoef(x, y)[0, 1]) if x.std() > 0 and y.std() > 0 else float("nan")
    own = ax is None
    if own:
        fig, ax = new_figure(width=width, height=height)
    else:
        fig = ax.figure
    color = interaction_color(interaction) if interaction else "#0072B2"
    pos = np.zeros(x.size, bool) if positive is None else np.asarray(positive, bool).reshape(-1)
    ax.scatter(x[~pos], y[~pos], s=6, alpha=0.35, color=GREY, lw=0, label="random pairs")
    if pos.any():
        ax.scatter(x[pos], y[pos], s=6, alpha=0.5, color=color, lw=0, label="training positives")
    if x.std() > 0:
        slope, intercept = np.polyfit(x, y, 1)
        xs = np.linspace(x.min(), x.max(), 2)
        ax.plot(xs, slope * xs + intercept, color="black", lw=1, ls="--", label="least-squares line")
    ax.set_xlabel("user vector · item vector" + (f"\n{vectors}" if vectors else ""), fontsize=8.5)
    ax.set_ylabel("model score (logit)")
    verdict = "an inner product" if np.isfinite(correlation) and correlation > 0.98 else "not an inner product"
    name = INTERACTION_LABELS.get(interaction, interaction or "model")
    ax.set_title(f"{name}: r = {correlation:.3f}, {verdict}", loc="left", pad=16)
    # Above the axes: inside, it would cover points (a cloud fills every corner).
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncols=3,
        frameon=False,
        markerscale=2.5,
        fontsize=7.5,
        borderaxespad=0.1,
        handletextpad=0.3,
        columnspacing=1.0,
    )
    return finish(fig) if own else fig


# ---------------------------------------------------------------------------------------------- overview
@styled
def plot_run_overview(run, references: pd.DataFrame | None = None, *, width: float = 9.5, height: float = 7.4):
    """All four interaction-explorer views of one training run in one figure (lesson 04, without widgets).

    ``run``: an :class:`ncf_helpers.lessons.l04_neuralcf.explorer.InteractionRun`; ``references``: as in
    :func:`plot_metric_bars`.
    """
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(width, height), layout="constrained")
    grid = fig.add_gridspec(4, 2, height_ratios=[1, 1, 1.25, 1.25])
    ax_loss = fig.add_subplot(grid[0, 0])
    ax_hr = fig.add_subplot(grid[1, 0], sharex=ax_loss)
    ax_bars = fig.add_subplot(grid[0:2, 1])
    ax_sim = fig.add_subplot(grid[2:4, 0])
    ax_dot = fig.add_subplot(grid[2:4, 1])
    plot_training_curve(run.history, ax=(ax_loss, ax_hr))
    plot_metric_bars(
        run.metrics, references, label=run.label, interaction=run.interaction, ax=ax_bars, random_hr=run.random_hr
    )
    plot_similarity_heatmap(run.panel_similarity, run.panel_titles, ax=ax_sim)
    plot_score_vs_dot(
        run.pairs["dot"],
        run.pairs["score"],
        positive=run.pairs["positive"],
        correlation=run.correlation,
        interaction=run.interaction,
        vectors=run.vectors,
        ax=ax_dot,
    )
    return finish(fig, f"{run.label}: what the interaction learned")
