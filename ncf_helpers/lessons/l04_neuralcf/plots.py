"""Figures of lesson 04 (NeuralCF), one function per figure, each returning a closed matplotlib ``Figure``.

* :func:`plot_ncf_layers` - the NeuralCF structure layer by layer: MLP (the original course's ``neural_cf_model_1``),
  GMF and NeuMF side by side, with the tensor shapes;
* :func:`plot_raw_id_scores` - one user's scores over every ``item_idx``: smooth for the model that reads the
  ID as a number, item-by-item for the embedding model;
* :func:`plot_negative_coverage` - how many distinct negatives the model sees, re-drawn vs drawn once;
* :func:`plot_ncf_comparison` - HR@10 / NDCG@10 of the lesson's models beside the classical references;
* :func:`plot_same_space` - "same vector space?": inner product against score, and nearest-neighbour overlap;
* :func:`plot_item_similarity` - item-item similarity of well-known films on one colour scale per model, and
  how often an item's nearest neighbours share its genres;
* :func:`plot_learn_dot_product` - "can an MLP learn a dot product?" (Rendle et al. 2020, small);
* :func:`plot_id_memory` and :func:`plot_hashing` - "10^8 users": table size, and what hashing costs.

matplotlib only (no TensorFlow): the inputs are the DataFrames of :mod:`ncf_helpers.lessons.l04_neuralcf.experiments`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ncf_helpers.ui.plots import GREY, OKABE_ITO, color_for, finish, new_figure, styled

__all__ = [
    "distinct_colors",
    "plot_hashing",
    "plot_id_memory",
    "plot_item_similarity",
    "plot_learning_curves",
    "plot_learn_dot_product",
    "plot_ncf_comparison",
    "plot_ncf_layers",
    "plot_negative_coverage",
    "plot_raw_id_scores",
    "plot_same_space",
]


def _need(frame, columns, what: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame with columns {list(columns)}, got {type(frame).__name__}.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)}.")
    if len(frame) == 0:
        raise ValueError(f"{what} is empty: there is nothing to plot.")
    return frame


def distinct_colors(names: Sequence[str]) -> list[str]:
    """The course colour of each model name (:func:`~ncf_helpers.ui.plots.color_for`), except that a colour already
    used in this figure is replaced by the next unused palette colour (GMF and NeuMF share one course colour)."""
    used: list[str] = []
    out = []
    for j, name in enumerate(names):
        c = color_for(str(name), j)
        if c in used:
            c = next((p for p in OKABE_ITO if p not in used and p != "#F0E442"), GREY)
        used.append(c)
        out.append(c)
    return out


# ---------------------------------------------------------------------------------------------- architecture
def _box(ax, x, y, w, h, text, color, *, fontsize=8, alpha=0.22, bold=False):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.01,rounding_size=0.015",
            fc=color,
            ec=color,
            alpha=alpha,
            lw=1.2,
        )
    )
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.01,rounding_size=0.015", fc="none", ec=color, lw=1.2
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, fontweight="bold" if bold else "normal")


def _arrow(ax, x0, y0, x1, y1):
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="-|>", lw=0.9, color="#444"))


@styled
def plot_ncf_layers(embedding_dim: int = 32, hidden: Sequence[int] = (10, 10)):
    """NeuralCF layer by layer (He et al. 2017), three variants side by side. Lesson 04.

    Left: the MLP interaction, the original course's ``neural_cf_model_1`` (``concat(p_u, q_i)`` ->
    ``Dense(10, relu)`` x 2 -> ``Dense(1, sigmoid)``); middle: GMF (element-wise product, one weight per
    dimension); right: NeuMF (both, with separate embeddings, joined before the output). Shapes are per batch of
    ``B`` (user, item) pairs with ``embedding_dim`` = ``d``.
    """
    hidden = tuple(int(h) for h in hidden)
    d = int(embedding_dim)
    layer_colors = {
        "input": "#999999",
        "embedding": "#0072B2",
        "interaction": "#E69F00",
        "mlp": "#CC79A7",
        "output": "#009E73",
    }

    def _id_inputs(ax, ys, d, layer_colors):  # user_idx -> user embedding, item_idx -> item embedding
        for x, who in ((0.27, "user"), (0.73, "item")):
            _box(ax, x, ys["input"], 0.4, 0.07, f"{who}_idx  [B]", layer_colors["input"])
            _box(ax, x, ys["embedding"], 0.4, 0.08, f"{who} embedding\n[B, {d}]", layer_colors["embedding"])
            _arrow(ax, x, ys["input"] + 0.035, x, ys["embedding"] - 0.04)
            _arrow(ax, x, ys["embedding"] + 0.04, 0.5 + (x - 0.5) * 0.4, ys["interaction"] - 0.04)

    fig, axes = new_figure(1, 3, width=9.5, height=5.0)
    for ax in axes:
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.axis("off")
    ys = {"input": 0.06, "embedding": 0.24, "interaction": 0.44, "mlp": 0.66, "output": 0.9}

    # ---- MLP (neural_cf_model_1)
    ax = axes[0]
    ax.set_title("MLP: neural_cf_model_1", loc="left", fontsize=10)  # the original course's model
    _id_inputs(ax, ys, d, layer_colors)
    _box(ax, 0.5, ys["interaction"], 0.6, 0.08, f"Concatenate\n[B, {2 * d}]", layer_colors["interaction"])
    mlp_text = "\n".join(f"Dense({h}, relu)  [B, {h}]" for h in hidden) or "(no hidden layer)"
    _box(ax, 0.5, ys["mlp"], 0.66, 0.06 + 0.045 * max(len(hidden), 1), mlp_text, layer_colors["mlp"])
    _arrow(ax, 0.5, ys["interaction"] + 0.04, 0.5, ys["mlp"] - 0.03 - 0.0225 * max(len(hidden), 1))
    _box(ax, 0.5, ys["output"], 0.6, 0.08, "Dense(1, sigmoid)\n[B, 1] in [0, 1]", layer_colors["output"])
    _arrow(ax, 0.5, ys["mlp"] + 0.03 + 0.0225 * max(len(hidden), 1), 0.5, ys["output"] - 0.04)

    # ---- GMF
    ax = axes[1]
    ax.set_title("GMF: generalized MF", loc="left", fontsize=10)
    _id_inputs(ax, ys, d, layer_colors)
    _box(ax, 0.5, ys["interaction"], 0.66, 0.08, f"Multiply: p_u * q_i\n[B, {d}]", layer_colors["interaction"])
    ax.text(
        0.5,
        ys["mlp"],
        "no hidden layers:\nh . (p_u * q_i) + b\n(h = 1, b = 0 is plain MF)",
        ha="center",
        va="center",
        fontsize=8,
        color="#555",
        bbox=dict(fc="white", ec="none", pad=2),
        zorder=3,
    )
    _box(ax, 0.5, ys["output"], 0.6, 0.08, "Dense(1)\n[B, 1] logit", layer_colors["output"])
    _arrow(ax, 0.5, ys["interaction"] + 0.04, 0.5, ys["output"] - 0.04)

    # ---- NeuMF
    ax = axes[2]
    ax.set_title("NeuMF: GMF + MLP", loc="left", fontsize=10)
    _box(ax, 0.5, ys["input"], 0.8, 0.07, "user_idx, item_idx  [B]", layer_colors["input"])
    for x, label in ((0.25, "GMF user, item\nembeddings"), (0.75, "MLP user, item\nembeddings")):
        _box(ax, x, ys["embedding"], 0.44, 0.08, label, layer_colors["embedding"])
        _arrow(ax, 0.5 + (x - 0.5) * 0.5, ys["input"] + 0.035, x, ys["embedding"] - 0.04)
    _box(ax, 0.25, ys["interaction"], 0.44, 0.08, f"Multiply\n[B, {d}]", layer_colors["interaction"])
    _box(ax, 0.75, ys["interaction"], 0.44, 0.08, f"Concatenate\n[B, {2 * d}]", layer_colors["interaction"])
    _box(
        ax,
        0.75,
        ys["mlp"],
        0.44,
        0.06 + 0.045 * max(len(hidden), 1),
        "\n".join(f"Dense({h}, relu)" for h in hidden) or "(none)",
        layer_colors["mlp"],
    )
    for x in (0.25, 0.75):
        _arrow(ax, x, ys["embedding"] + 0.04, x, ys["interaction"] - 0.04)
    _arrow(ax, 0.75, ys["interaction"] + 0.04, 0.75, ys["mlp"] - 0.03 - 0.0225 * max(len(hidden), 1))
    last = hidden[-1] if hidden else 2 * d
    _box(ax, 0.5, ys["output"], 0.8, 0.08, f"Concatenate [B, {d + last}]\n-> Dense(1)  [B, 1]", layer_colors["output"])
    _arrow(ax, 0.25, ys["interaction"] + 0.04, 0.4, ys["output"] - 0.04)
    _arrow(ax, 0.75, ys["mlp"] + 0.03 + 0.0225 * max(len(hidden), 1), 0.6, ys["output"] - 0.04)

    for name, y in (
        ("input layer", ys["input"]),
        ("embedding layer", ys["embedding"]),
        ("interaction layer", ys["interaction"]),
        ("MLP layers", ys["mlp"]),
        ("output layer", ys["output"]),
    ):
        axes[0].text(
            -0.04,
            y,
            name,
            ha="right",
            va="center",
            fontsize=8.5,
            color=layer_colors[name.split()[0].lower() if name.split()[0].lower() in layer_colors else "mlp"],
            fontweight="bold",
            rotation=0,
        )
    fig.get_layout_engine().set(w_pad=0.02)
    return finish(fig, f"NeuralCF layer by layer (B = batch size, d = {d})")


# ---------------------------------------------------------------------------------------------- raw IDs
@styled
def plot_raw_id_scores(
    curve: pd.DataFrame, positives: Sequence[int] = (), *, user_label: str = "", held_out: int | None = None
):
    """One user's score for every item, against ``item_idx``: one panel per model column of ``curve``. Lesson 04.

    ``curve``: DataFrame ``item_idx, <model>, ...`` (:func:`ncf_helpers.lessons.l04_neuralcf.experiments.score_curve`);
    each model's scores are standardised (mean 0, std 1) so the panels share a scale. ``positives``: the user's
    training positives (marked below the curve); ``held_out``: the test item (a vertical line).
    """
    _need(curve, ("item_idx",), "curve")
    models = [c for c in curve.columns if c != "item_idx"]
    if not models:
        raise ValueError("curve has no model columns besides item_idx.")
    fig, axes = new_figure(len(models), 1, width=9.0, height=1.9 * len(models) + 0.6, sharex=True, squeeze=False)
    x = curve["item_idx"].to_numpy()
    colors = distinct_colors(models)
    pos = np.asarray(list(positives), dtype=np.int64)
    for j, (ax, name, color) in enumerate(zip(axes[:, 0], models, colors)):
        y = curve[name].to_numpy(float)
        z = (y - y.mean()) / (y.std() + 1e-12)
        ax.plot(x, z, lw=0.6, color=color)
        if len(pos):
            ax.plot(
                pos,
                np.full(len(pos), z.min() - 0.4),
                "|",
                color="black",
                ms=6,
                mew=0.8,
                label="the user's training positives",
            )
        if held_out is not None:
            ax.axvline(held_out, color="#D55E00", lw=1, ls="--", label="the held-out test item")
        ax.set_ylabel("score\n(standardised)")
        ax.set_title(name, loc="left", fontsize=10)
        if j == 0 and (len(pos) or held_out is not None):
            ax.legend(loc="upper right", frameon=False, fontsize=8)
    axes[-1, 0].set_xlabel("item_idx (movies in order of their MovieLens id: roughly the order they were added)")
    return finish(fig, f"Scores of every item for {user_label or 'one user'}")


# ---------------------------------------------------------------------------------------------- negatives
@styled
def plot_negative_coverage(coverage: pd.DataFrame):
    """Left: distinct (user, item) negatives seen after each epoch, re-drawn every epoch vs drawn once; right:
    the share of sampled negatives that are in fact a held-out positive (false negatives). Lesson 04.

    ``coverage``: DataFrame ``epoch, distinct_fresh, distinct_fixed, false_negative_rate``
    (:func:`ncf_helpers.lessons.l04_neuralcf.experiments.negative_coverage`).
    """
    _need(coverage, ("epoch", "distinct_fresh", "distinct_fixed", "false_negative_rate"), "coverage")
    fig, (ax, ax2) = new_figure(1, 2, width=9.0, height=3.3, width_ratios=[1.5, 1])
    e = coverage["epoch"].to_numpy()
    ax.plot(e, coverage["distinct_fresh"] / 1e6, marker="o", ms=3, color="#0072B2", label="re-drawn every epoch")
    ax.plot(e, coverage["distinct_fixed"] / 1e6, marker="s", ms=3, color="#E69F00", label="drawn once, reused")
    ax.set_xlabel("epoch")
    ax.set_ylabel("distinct negative pairs seen\n(millions)")
    ax.set_ylim(0, float(coverage["distinct_fresh"].max()) / 1e6 * 1.15)
    ax.legend(frameon=False, loc="upper left")
    ax.set_title("Fresh negatives show the model more of the catalogue", loc="left")
    ax.xaxis.get_major_locator().set_params(integer=True)
    rate = coverage["false_negative_rate"].to_numpy(float) * 100
    ax2.bar(e, rate, color=GREY)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("sampled negatives that are a\nheld-out positive (%)")
    ax2.set_ylim(0, max(0.05, float(rate.max()) * 1.6))
    ax2.set_title(f"False negatives: {rate.mean():.3f}% of draws", loc="left")
    ax2.xaxis.get_major_locator().set_params(integer=True)
    return finish(fig)


# ---------------------------------------------------------------------------------------------- comparison
@styled
def plot_ncf_comparison(
    table: pd.DataFrame,
    metrics: Sequence[str] = ("hr@10", "ndcg@10"),
    *,
    random_hr: float | None = None,
    title: str = "Every model on the same test items",
):
    """Horizontal bars of ``metrics`` per model (best at the top of each panel). Lesson 04.

    ``table``: DataFrame indexed by model name with the ``metrics`` columns (floats in ``[0, 1]``);
    ``random_hr``: the HR@10 of random guessing (10/100 with 99 sampled negatives), dashed.
    """
    _need(table, metrics, "table")
    names = [str(n) for n in table.index]
    colors = dict(zip(names, distinct_colors(names)))
    fig, axes = new_figure(1, len(metrics), width=9.0, height=0.45 * len(names) + 1.3, squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        vals = table[metric].astype(float)
        order = vals.sort_values().index
        y = np.arange(len(order))
        ax.barh(y, vals[order], color=[colors[str(n)] for n in order])
        for yy, v in zip(y, vals[order]):
            ax.text(v + 0.01, yy, f"{v:.3f}", va="center", fontsize=8)
        ax.set_yticks(y, [str(n) for n in order])
        ax.set_xlim(0, min(1.0, float(vals.max()) * 1.22 + 0.02))
        ax.set_xlabel(metric.upper())
        if random_hr is not None and metric.startswith("hr@"):
            ax.axvline(random_hr, color="black", ls="--", lw=1)
            ax.text(random_hr, len(order) - 0.45, " random", fontsize=8, va="bottom")
    return finish(fig, title)


@styled
def plot_learning_curves(
    histories: Mapping[str, pd.DataFrame],
    *,
    metric: str = "hr@10",
    reference: float | None = None,
    reference_label: str = "",
):
    """Training loss (left) and validation ``metric`` (right) per epoch, one line per model. Lesson 04.

    ``histories``: ``{model name: DataFrame with epoch, loss, <metric>}`` (``TrainHistory.frame()`` or an
    ``InteractionRun.history``). Losses of logit and sigmoid models are the same binary cross-entropy, so they
    share an axis. ``reference``: a dashed line on the metric panel (e.g. popularity's HR@10).
    """
    if not histories:
        raise ValueError("histories is empty: pass {model name: history frame}.")
    names = list(histories)
    colors = distinct_colors(names)
    fig, (ax_loss, ax_metric) = new_figure(1, 2, width=9.0, height=3.3)
    for name, color in zip(names, colors):
        h = _need(histories[name], ("epoch", "loss"), f"histories[{name!r}]")
        ax_loss.plot(h["epoch"], h["loss"], marker="o", ms=3, color=color, label=name)
        if metric in h.columns:
            ax_metric.plot(h["epoch"], h[metric], marker="o", ms=3, color=color, label=name)
    if reference is not None:
        ax_metric.axhline(reference, color="black", ls="--", lw=1, label=reference_label or "reference")
    for ax, label in ((ax_loss, "training loss (binary cross-entropy)"), (ax_metric, f"validation {metric.upper()}")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax_metric.legend(frameon=False, fontsize=8, loc="lower right")
    ax_loss.set_title("Loss falls every epoch...", loc="left")
    ax_metric.set_title(f"...{metric.upper()} on the validation item", loc="left")
    return finish(fig)


# ---------------------------------------------------------------------------------------------- item similarity
@styled
def plot_item_similarity(
    panels: Mapping[str, np.ndarray], titles: Sequence[str], overlap: pd.DataFrame, *, k: int = 10
):
    """Can a model's item vectors serve item-item similarity? Lesson 04 (and 05 for the two-tower vectors).

    Top row, one panel per model: the cosine similarities of a panel of well-known films (``panels[name]``: float
    ``[n, n]`` in ``[-1, 1]``, ``titles``: their ``n`` names), all on one fixed colour scale from -1 to 1, so
    nearly collinear vectors look alike instead of being stretched into apparent structure; the panel title
    gives the spread of the off-diagonal values. Bottom: ``overlap`` (DataFrame ``space, jaccard, se`` from
    :func:`~ncf_helpers.lessons.l04_neuralcf.experiments.neighbour_genre_overlap`): the mean genre overlap (Jaccard) of
    each item's ``k`` nearest neighbours, with one standard error over items, baselines in grey.
    """
    from ncf_helpers.lessons.l04_neuralcf.explorer_plots import plot_similarity_heatmap

    names = list(panels)
    if not names:
        raise ValueError("panels is empty: pass {model name: [n, n] cosine similarities}.")
    _need(overlap, ("space", "jaccard", "se"), "overlap")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(9.5, 7.0), layout="constrained")
    grid = fig.add_gridspec(2, len(names), height_ratios=[1.35, 1])
    for j, name in enumerate(names):
        ax = fig.add_subplot(grid[0, j])
        sim = np.asarray(panels[name], dtype=float)
        off = sim[~np.eye(len(sim), dtype=bool)]
        plot_similarity_heatmap(sim, list(titles), stretch=False, annotate="none", ax=ax)
        ax.set_title(
            f"{name}\ncosine {off.min():.2f} to {off.max():.2f} (median {np.median(off):.2f})", loc="left", fontsize=9
        )
        if j:
            ax.set_yticklabels([])
        # one colour bar is enough: the scale is the same in every panel
        if j < len(names) - 1 and fig.axes[-1] is not ax:
            fig.axes[-1].remove()
    ax = fig.add_subplot(grid[1, :])
    spaces = list(overlap["space"])
    baseline = [s in ("random films", "most popular films") for s in spaces]
    colours = [GREY if b else c for b, c in zip(baseline, distinct_colors(spaces))]
    y = overlap["jaccard"].to_numpy(float)
    err = overlap["se"].to_numpy(float)
    bars = ax.bar(np.arange(len(spaces)), y, yerr=err, color=colours, capsize=3)
    ax.bar_label(bars, labels=[f"{v:.3f}" for v in y], fontsize=8, padding=2)
    ax.set_xticks(np.arange(len(spaces)), spaces)
    ax.set_ylim(0, max(float(np.nanmax(y + np.nan_to_num(err))) * 1.25, 0.05))
    ax.set_ylabel(f"genre overlap (Jaccard)\nof the top-{k} neighbours")
    ax.set_title(
        f"Do an item's {k} nearest neighbours (cosine) share its genres? Mean over "
        f"{int(overlap['items'].iloc[0]):,} films, \u00b1 1 s.e.",
        loc="left",
    )
    return finish(fig, "Item-item similarity in each model's item space")


# ---------------------------------------------------------------------------------------------- same space
@styled
def plot_same_space(pairs: Mapping[str, pd.DataFrame], table: pd.DataFrame, *, k: int = 10):
    """ "Same vector space?" in one figure. Lesson 04.

    Top row, one panel per model: the inner product of the user and item vectors (x) against the model's logit
    (y) for sampled pairs (``pairs[name]``: DataFrame ``dot, score, positive`` from
    :func:`~ncf_helpers.lessons.l04_neuralcf.experiments.score_vs_dot`). Bottom: for each model, the share of its own top-k
    that a nearest-neighbour search returns (``table``: :func:`~ncf_helpers.lessons.l04_neuralcf.experiments.same_space_table`).
    """
    from ncf_helpers.lessons.l04_neuralcf.explorer_plots import plot_score_vs_dot

    names = list(pairs)
    if not names:
        raise ValueError("pairs is empty: pass {model name: score_vs_dot frame}.")
    cols = [f"overlap_inner@{k}", f"overlap_cosine@{k}"]
    _need(table, cols + ["pearson"], "table")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(9.5, 6.6), layout="constrained")
    grid = fig.add_gridspec(2, len(names), height_ratios=[1.25, 1])
    for j, name in enumerate(names):
        ax = fig.add_subplot(grid[0, j])
        p = _need(pairs[name], ("dot", "score"), f"pairs[{name!r}]")
        interaction = table.loc[name, "interaction"] if "interaction" in table.columns else None
        plot_score_vs_dot(p["dot"], p["score"], positive=p.get("positive"), interaction=interaction, ax=ax)
        ax.set_title(f"{name}: r = {np.corrcoef(p['dot'], p['score'])[0, 1]:.2f}", loc="left", fontsize=10)
        ax.set_xlabel("user vector · item vector", fontsize=8.5)
        if j:
            ax.set_ylabel("")
            ax.get_legend().remove()
        else:
            ax.legend(loc="upper left", frameon=False, markerscale=2.5, fontsize=7.5)
    ax = fig.add_subplot(grid[1, :])
    x = np.arange(len(names))
    w = 0.36
    exact = table.loc[names, cols[0]].to_numpy(float)
    cosine = table.loc[names, cols[1]].to_numpy(float)
    b1 = ax.bar(x - w / 2, np.nan_to_num(exact), w, color="#0072B2", label="inner product of the vectors above")
    b2 = ax.bar(x + w / 2, cosine, w, color="#E69F00", label="cosine of the plain embeddings")
    ax.bar_label(b1, labels=[f"{v:.2f}" for v in exact], fontsize=8, padding=1)
    ax.bar_label(b2, labels=[f"{v:.2f}" for v in cosine], fontsize=8, padding=1)
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1.45)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_ylabel(f"share of the model's top-{k}\nthat the search returns")
    ax.legend(
        frameon=False, loc="upper center", ncols=2, title="nearest-neighbour search by", fontsize=8, title_fontsize=8
    )
    ax.set_title(f"Can a nearest-neighbour index over item vectors serve the model's own top-{k}?", loc="left")
    return finish(fig, "Same vector space? Inner product vs the model's score")


# ---------------------------------------------------------------------------------------------- Rendle
@styled
def plot_learn_dot_product(frame: pd.DataFrame):
    """RMSE on unseen cells against the number of observed cells, one panel per ``embedding_dim``, for the
    dot-product model and the MLP (``frame`` from :func:`~ncf_helpers.lessons.l04_neuralcf.experiments.learn_dot_product`).
    The dashed line is the error of predicting 0 (a model above it learned nothing useful). Lesson 04.
    """
    _need(frame, ("embedding_dim", "num_train", "model", "rmse", "naive_rmse"), "frame")
    dims = sorted(frame["embedding_dim"].unique())
    fig, axes = new_figure(1, len(dims), width=min(9.0, 3.6 * len(dims) + 1.0), height=3.4, sharey=True, squeeze=False)
    styles = {"dot": ("#E69F00", "o", "dot product (MF)"), "mlp": ("#CC79A7", "s", "MLP (NeuralCF)")}
    top = float(max(frame["rmse"].max(), frame["naive_rmse"].max()))
    for ax, d in zip(axes[0], dims):
        sub = frame[frame["embedding_dim"] == d]
        for model, (color, marker, label) in styles.items():
            rows = sub[sub["model"] == model].sort_values("num_train")
            if len(rows):
                ax.plot(rows["num_train"], rows["rmse"], marker=marker, color=color, label=label)
        ax.axhline(float(sub["naive_rmse"].mean()), color=GREY, ls="--", lw=1, label="predict 0 (no model)")
        if "noise" in sub.columns:
            ax.axhline(float(sub["noise"].iloc[0]), color=GREY, ls=":", lw=1, label="noise in the data")
        ax.set_xscale("log")
        ax.set_xlabel("observed cells (training pairs), log scale")
        ax.set_title(f"embedding_dim = {d}", loc="left")
        ax.set_ylim(0, top * 1.1)
    axes[0, 0].set_ylabel("RMSE on unseen cells\n(vs the true dot product)")
    axes[0, -1].legend(frameon=False, fontsize=8, loc="upper right")
    return finish(fig, "Can an MLP learn a dot product? Lower is better")


# ---------------------------------------------------------------------------------------------- 10^8 users
@styled
def plot_id_memory(table: pd.DataFrame, *, references: Mapping[str, float] | None = None):
    """Size of a user embedding table (GB, log scale) against the number of users, one line per
    ``embedding_dim``; solid = the float32 weights, dashed = with Adam's two extra slots. Lesson 04.

    ``table``: :func:`~ncf_helpers.lessons.l04_neuralcf.experiments.memory_table`; ``references``: horizontal lines such as
    ``{"laptop RAM (16 GB)": 16}``.
    """
    _need(table, ("num_users", "embedding_dim", "weights_gb", "with_adam_gb"), "table")
    refs = {"laptop RAM (16 GB)": 16.0, "one large GPU (80 GB)": 80.0} if references is None else references
    fig, ax = new_figure(width=7.5, height=3.6)
    for j, (d, rows) in enumerate(table.groupby("embedding_dim")):
        rows = rows.sort_values("num_users")
        color = OKABE_ITO[j % len(OKABE_ITO)]
        ax.plot(rows["num_users"], rows["weights_gb"], marker="o", ms=3, color=color, label=f"d = {d}: weights")
        ax.plot(rows["num_users"], rows["with_adam_gb"], ls="--", color=color, label=f"d = {d}: + Adam's 2 slots")
    for label, gb in refs.items():
        ax.axhline(gb, color=GREY, lw=1, ls=":")
        ax.text(table["num_users"].min(), gb * 1.15, label, fontsize=8, color="#555")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("num_users (log scale)")
    ax.set_ylabel("user table size (GB, log scale)")
    ax.legend(frameon=False, fontsize=7.5, ncols=2, loc="lower right")
    return finish(fig, "One float32 vector per user: the table grows with the users")


@styled
def plot_hashing(frame: pd.DataFrame, popularity: float | None = None):
    """What hash collisions cost (``frame`` from :func:`~ncf_helpers.lessons.l04_neuralcf.experiments.hashing_experiment`).
    Left: HR@10 against the number of hash buckets (log scale), one line per hashed side, the exact model
    dashed and, when given, ``popularity``'s HR@10 on the same test items (float in [0, 1]) dotted grey; right:
    the share of ids that share their bucket, measured (dots) and expected (line). Lesson 04.
    """
    _need(frame, ("side", "num_bins", "ids", "collided_fraction", "expected_collided_fraction", "hr@10"), "frame")
    fig, (ax, ax2) = new_figure(1, 2, width=9.5, height=3.6)
    exact = frame[frame["side"] == "exact"]
    colors = {"user": "#0072B2", "item": "#D55E00"}
    for side in ("user", "item"):
        rows = frame[frame["side"] == side].sort_values("num_bins")
        if rows.empty:
            continue
        n_ids = int(rows["ids"].iloc[0])
        ax.plot(
            rows["num_bins"],
            rows["hr@10"],
            marker="o",
            color=colors[side],
            label=f"hashed {side} ids ({n_ids:,}: dotted line)",
        )
        ax.axvline(n_ids, color=colors[side], lw=0.8, ls=":")
        ax2.plot(rows["num_bins"], rows["collided_fraction"], "o", color=colors[side], label=f"{side}s: measured")
        grid = np.geomspace(max(1, rows["num_bins"].min()), max(rows["num_bins"].max(), n_ids) * 4, 80)
        ax2.plot(
            grid,
            1 - (1 - 1 / grid) ** (n_ids - 1),
            color=colors[side],
            lw=1,
            label=f"{side}s: 1 - (1 - 1/bins)^(n - 1)",
        )
    if len(exact):
        ax.axhline(float(exact["hr@10"].iloc[0]), color="black", ls="--", lw=1, label="exact table (no hashing)")
    if popularity is not None:
        ax.axhline(float(popularity), color="#999999", ls=":", lw=1.5, label="popularity (same for every user)")
    ax.set_xscale("log")
    ax.set_xlabel("hash buckets (rows in the table), log scale")
    ax.set_ylabel("HR@10 (test)")
    ax.set_ylim(0, min(1.0, float(frame["hr@10"].max()) * 1.25))
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(0.0, 0.42), framealpha=0.9, edgecolor="none")
    ax.set_title("Accuracy against table size", loc="left")
    ax2.set_xscale("log")
    ax2.set_ylim(-0.03, 1.08)
    ax2.set_xlabel("hash buckets, log scale")
    ax2.set_ylabel("ids sharing their bucket")
    ax2.legend(frameon=False, fontsize=7.5, loc="lower left")
    ax2.set_title("Collisions", loc="left")
    return finish(fig, "The hashing trick: a fixed-size table for any number of ids")
