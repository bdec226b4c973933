"""Figures for lessons 01-03: the interaction matrix, similarities and neighbours, evaluation, factorization.

Every function returns a closed matplotlib ``Figure`` (a cell that ends with the call shows it once) and names
the lesson that uses it. Inputs are plain arrays, DataFrames and dicts, so the figures can be tested on tiny
data and reused by the widgets. Colours come from :mod:`ncf_helpers.ui.plots` (colour-blind-friendly).

Lesson 01: :func:`plot_toy_matrix`, :func:`plot_spy`, :func:`plot_long_tail`, :func:`plot_rating_threshold`,
:func:`plot_cooccurrence`, :func:`plot_item_lists`.
Lesson 02: :func:`plot_similarity_matrices`, :func:`plot_similarity_agreement`, :func:`plot_neighbours`,
:func:`plot_leave_one_out`, :func:`plot_later_training_share`, :func:`plot_ranking_example`,
:func:`plot_model_comparison`, :func:`plot_by_activity`.
Lesson 03: :func:`plot_factorization`, :func:`plot_learning_curve`, :func:`plot_embedding_maps`,
:func:`plot_mf_explorer` (and :func:`plot_item_lists`, :func:`plot_by_activity` again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.colors as mcolors
import matplotlib.ticker
import numpy as np
import pandas as pd
import scipy.sparse as sp
from matplotlib.patches import Rectangle

from ncf_helpers.ui.plots import GREY, OKABE_ITO, color_for, finish, new_figure, shorten, styled

__all__ = [
    "genre_labels",
    "pca_2d",
    "plot_by_activity",
    "plot_cooccurrence",
    "plot_embedding_maps",
    "plot_factorization",
    "plot_item_lists",
    "plot_learning_curve",
    "plot_later_training_share",
    "plot_leave_one_out",
    "plot_long_tail",
    "plot_mf_explorer",
    "plot_model_comparison",
    "plot_neighbours",
    "plot_ranking_example",
    "plot_rating_threshold",
    "plot_similarity_agreement",
    "plot_similarity_matrices",
    "plot_spy",
    "plot_toy_matrix",
]

SEQUENTIAL = "viridis"
DIVERGING = "RdBu_r"  # blue-white-red: readable with red-green colour blindness


# ---------------------------------------------------------------------------------------------- helpers
def _dense(matrix) -> np.ndarray:
    if sp.issparse(matrix):
        return matrix.toarray()
    a = np.asarray(matrix, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"Expected a 2-D matrix, got shape {a.shape}.")
    return a


def _annotate(
    ax, values: np.ndarray, fmt: str = "{:.2g}", mask: np.ndarray | None = None, cmap=None, norm=None, fontsize: int = 9
) -> None:
    """Write each cell's value, in black or white depending on the cell colour."""
    cmap = cmap if cmap is not None else ax.images[0].cmap if ax.images else None
    for (r, c), v in np.ndenumerate(values):
        if mask is not None and mask[r, c]:
            continue
        colour = "black"
        if cmap is not None and norm is not None and np.isfinite(v):
            red, green, blue, _ = cmap(norm(v))
            colour = "white" if (0.299 * red + 0.587 * green + 0.114 * blue) < 0.5 else "black"
        text = fmt.format(v)
        if text.startswith("-") and float(text) == 0:  # "-0.0" for a tiny negative number reads oddly
            text = text[1:]
        ax.text(c, r, text, ha="center", va="center", fontsize=fontsize, color=colour)


def _ticks(ax, labels: Sequence[str], axis: str, rotate: bool = False, width: int = 24) -> None:
    labels = [shorten(t, width) for t in labels]
    if axis == "x":
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(
            labels, rotation=35 if rotate else 0, ha="right" if rotate else "center", rotation_mode="anchor"
        )
    else:
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels)


def pca_2d(vectors: np.ndarray, normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Project ``vectors [n, embedding_dim]`` onto their two principal axes (lesson 03's embedding map).

    ``normalize`` first scales every row to unit length, so the map shows *direction* (taste) rather than
    length (which in MF mostly encodes popularity). Returns ``(xy [n, 2], explained [2])`` where
    ``explained`` is the share of variance (float in ``[0, 1]``) each axis holds. The sign of each axis is
    fixed (largest loading positive) so maps of the same vectors look the same run after run.
    """
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 3:
        raise ValueError(f"pca_2d needs a matrix [n >= 3, embedding_dim]; got shape {x.shape}.")
    if normalize:
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    x = x - x.mean(axis=0)
    if x.shape[1] == 1:
        return np.c_[x[:, 0], np.zeros(len(x))], np.array([1.0, 0.0])
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    signs = np.sign(vt[:2][np.arange(2), np.argmax(np.abs(vt[:2]), axis=1)])
    xy = u[:, :2] * s[:2] * signs
    var = s**2
    explained = var[:2] / max(var.sum(), 1e-12)
    return xy, explained


def genre_labels(genre_lists: Sequence[Sequence[str]], priority: Sequence[str]) -> np.ndarray:
    """One label per item for colouring: the first genre of ``priority`` the item carries, else ``"other"``.

    Put rare, distinctive genres first (``["Animation", "Horror", "Documentary", ...]``): an item tagged
    ``Adventure|Animation|Children`` is then coloured as Animation. Lesson 03's embedding map.
    """
    order = {g: k for k, g in enumerate(priority)}
    out = []
    for gs in genre_lists:
        ranked = sorted((order[g], g) for g in gs if g in order)
        out.append(ranked[0][1] if ranked else "other")
    return np.array(out, dtype=object)


def _label_points(ax, points) -> None:
    """Circle and label ``[(xy, text), ...]`` on a scatter plot, trying four positions per label so that labels
    do not overlap each other (greedy, in display coordinates; good enough for a handful of labels)."""
    ax.autoscale_view()
    fig = ax.figure
    fig.canvas.draw()  # positions in display units need a laid-out figure
    placed = []
    offsets = [
        (5, 5, "left", "bottom"),
        (5, -5, "left", "top"),
        (-5, 5, "right", "bottom"),
        (-5, -5, "right", "top"),
        (5, 16, "left", "bottom"),
        (5, -16, "left", "top"),
    ]
    renderer = fig.canvas.get_renderer()
    for xy, text in points:
        ax.plot(*xy, "o", ms=6, mfc="none", mec="black")
        best = None
        for dx, dy, ha, va in offsets:
            t = ax.annotate(
                text,
                xy,
                xytext=(dx, dy),
                textcoords="offset points",
                fontsize=8,
                ha=ha,
                va=va,
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85),
            )
            box = t.get_window_extent(renderer).expanded(1.05, 1.1)
            if not any(box.overlaps(other) for other in placed):
                best = (t, box)
                break
            t.remove()
        if best is None:  # every position collides: keep the first one
            dx, dy, ha, va = offsets[0]
            t = ax.annotate(
                text,
                xy,
                xytext=(dx, dy),
                textcoords="offset points",
                fontsize=8,
                ha=ha,
                va=va,
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85),
            )
            best = (t, t.get_window_extent(renderer))
        placed.append(best[1])


# ---------------------------------------------------------------------------------------------- lesson 01
@styled
def plot_toy_matrix(table: pd.DataFrame, title: str = "The toy user x item matrix (stars; blank = not rated)"):
    """Lesson 01's first figure: a small ratings table as an annotated heatmap.

    ``table``: DataFrame ``[users, movies]`` of ratings with ``NaN`` (or 0) for "not rated"; index = user
    names, columns = movie titles. Empty cells are drawn light grey with a dot, so "not rated" never looks
    like "rated low".
    """
    values = table.to_numpy(dtype=float)
    values = np.where(values == 0, np.nan, values)
    n_users, n_items = values.shape
    fig, ax = new_figure(width=min(9.0, 2.0 + 1.15 * n_items), height=0.9 + 0.5 * n_users)
    cmap = mcolors.ListedColormap(["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"])
    norm = mcolors.BoundaryNorm([0.5, 1.5, 2.5, 3.5, 4.5, 5.5], cmap.N)
    ax.set_facecolor("#eeeeee")
    im = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, aspect="auto")
    for (r, c), v in np.ndenumerate(values):
        if np.isnan(v):
            ax.text(c, r, "·", ha="center", va="center", color="#888888", fontsize=12)
        else:
            ax.text(
                c,
                r,
                f"{v:g}",
                ha="center",
                va="center",
                fontsize=11,
                color="white" if v >= 3.5 else "black",
                fontweight="bold",
            )
    _ticks(ax, list(table.columns), "x", rotate=True, width=22)
    _ticks(ax, [str(i) for i in table.index], "y")
    ax.tick_params(length=0)
    ax.set_xlabel("movie (item)")
    ax.set_ylabel("user")
    for spine in ax.spines.values():
        spine.set_visible(False)
    cb = fig.colorbar(im, ax=ax, ticks=[1, 2, 3, 4, 5], shrink=0.9)
    cb.set_label("rating (stars)")
    return finish(fig, title)


def _sample_block(matrix, num_users: int, num_items: int, seed: int, sort: bool):
    m = sp.csr_matrix(matrix)
    rng = np.random.default_rng(seed)
    users = np.sort(rng.choice(m.shape[0], size=min(num_users, m.shape[0]), replace=False))
    items = np.sort(rng.choice(m.shape[1], size=min(num_items, m.shape[1]), replace=False))
    block = (m[users][:, items] != 0).astype(np.float32).tocsr()
    if sort:
        row_order = np.argsort(-np.diff(block.indptr), kind="stable")
        col_order = np.argsort(-np.bincount(block.indices, minlength=block.shape[1]), kind="stable")
        block = block[row_order][:, col_order]
    return block


@styled
def plot_spy(matrix, num_users: int = 150, num_items: int = 400, seed: int = 0, title: str | None = None):
    """Lesson 01: the sparsity of the user x item matrix, on a random sample of users and items.

    Left: the sample as it comes (a dark dot = an interaction). Right: the same cells with users sorted by
    activity and items by popularity, which reveals the dense corner of heavy users x popular items and the
    empty rest. ``matrix``: sparse ``[num_users, num_items]``.
    """
    m = sp.csr_matrix(matrix)
    raw = _sample_block(m, num_users, num_items, seed, sort=False)
    srt = _sample_block(m, num_users, num_items, seed, sort=True)
    fig, axes = new_figure(1, 2, width=9.0, height=3.6)
    for ax, block, label in (
        (axes[0], raw, "random sample, original order"),
        (axes[1], srt, "same cells, sorted by activity / popularity"),
    ):
        ax.spy(block, markersize=1.6, color="#08306b", aspect="auto")
        ax.xaxis.set_ticks_position("bottom")
        ax.set_title(
            f"{label}\n{block.nnz:,} of {block.shape[0] * block.shape[1]:,} cells filled "
            f"({block.nnz / max(1, block.shape[0] * block.shape[1]):.1%})",
            fontsize=10,
        )
        ax.set_xlabel(f"{block.shape[1]} sampled items")
        ax.set_ylabel(f"{block.shape[0]} sampled users")
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_color("#888888")
    density = m.nnz / max(1, m.shape[0] * m.shape[1])
    title = title or f"The user x item matrix is {1 - density:.1%} empty ({m.shape[0]:,} x {m.shape[1]:,})"
    return finish(fig, title)


@styled
def plot_long_tail(
    item_popularity,
    user_activity,
    head_fraction: float = 0.1,
    title: str = "The long tail: a few items and users hold most interactions",
):
    """Lesson 01: rank-frequency plots on log-log axes for items (popularity) and users (activity).

    ``item_popularity``: interactions per item ``[num_items]``; ``user_activity``: per user ``[num_users]``.
    The shaded band is the top ``head_fraction`` of items (or users); the label says what share of all
    interactions it holds. Items nobody interacted with cannot be drawn on a log axis and are counted in
    the legend instead.
    """
    fig, axes = new_figure(1, 2, width=9.0, height=3.6)
    for ax, counts, what, colour in (
        (axes[0], item_popularity, "items", OKABE_ITO[0]),
        (axes[1], user_activity, "users", OKABE_ITO[1]),
    ):
        c = np.sort(np.asarray(counts, dtype=float))[::-1]
        if c.size == 0 or c.max() <= 0:
            raise ValueError(f"plot_long_tail: no interactions among the {what}.")
        zeros = int(np.sum(c <= 0))
        c = c[c > 0]
        ranks = np.arange(1, len(c) + 1)
        head = max(1, int(round(head_fraction * (len(c) + zeros))))
        share = c[:head].sum() / c.sum()
        ax.axvspan(1, head, color=colour, alpha=0.12, lw=0)
        ax.loglog(ranks, c, color=colour, lw=2, label=f"top {head_fraction:.0%} of {what}: {share:.0%} of interactions")
        if zeros:
            ax.plot([], [], " ", label=f"{zeros:,} {what} with none (not drawn)")
        ax.set_xlabel(f"{what[:-1]} rank (1 = most {'popular' if what == 'items' else 'active'}, log scale)")
        ax.set_ylabel(f"interactions per {what[:-1]} (log scale)")
        ax.set_title(f"{'Item popularity' if what == 'items' else 'User activity'}: {len(c) + zeros:,} {what}")
        ax.legend(loc="lower left", frameon=False)
        ax.grid(True, which="major", alpha=0.3)
    return finish(fig, title)


@styled
def plot_rating_threshold(ratings: pd.DataFrame, threshold: float = 3.5, title: str | None = None):
    """Lesson 01: what the explicit-to-implicit step keeps and throws away.

    Left: how many ratings each star value has, coloured by whether ``rating >= threshold`` (kept as a
    positive, ``label = 1``) or not. Right: per user, the share of their ratings that fall below the
    threshold: for some users most of the history stops counting as a "like".
    ``ratings``: DataFrame with ``user_idx`` and ``rating``.
    """
    r = ratings["rating"].to_numpy(dtype=float)
    values, counts = np.unique(r, return_counts=True)
    kept = values >= threshold
    fig, axes = new_figure(1, 2, width=9.0, height=3.5)
    ax = axes[0]
    step = np.min(np.diff(values)) if len(values) > 1 else 1.0
    ax.bar(values[kept], counts[kept], width=0.8 * step, color=OKABE_ITO[0], label=f"kept: rating >= {threshold:g}")
    ax.bar(values[~kept], counts[~kept], width=0.8 * step, color=GREY, label="dropped (label 0)")
    ax.axvline(threshold - step / 2, color="black", ls="--", lw=1)
    share = float(np.mean(r >= threshold))
    ax.set_title(f"{share:.0%} of {len(r):,} ratings become positives")
    ax.set_xlabel("rating (stars)")
    ax.set_ylabel("number of ratings")
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_xticks(values if len(values) <= 10 else values[::2] if values[0] % 1 == 0.5 else values[::2])
    ax.legend(frameon=False, loc="upper left")
    ax = axes[1]
    per_user = pd.Series(r < threshold).groupby(ratings["user_idx"].to_numpy()).mean()
    ax.hist(per_user.to_numpy(), bins=np.linspace(0, 1, 21), color=OKABE_ITO[5], edgecolor="white")
    ax.set_xlabel(f"share of a user's ratings below {threshold:g} (dropped)")
    ax.set_ylabel("number of users")
    ax.axvline(0.5, color="black", ls="--", lw=1)
    half = float(np.mean(per_user >= 0.5))
    ax.set_title(f"{half:.0%} of users lose at least half their history")
    return finish(fig, title or f"From stars to likes: the threshold rating >= {threshold:g}")


@styled
def plot_cooccurrence(counts, titles: Sequence[str], title: str = "Item x item co-occurrence: users who liked both"):
    """Lesson 01: a small item x item co-occurrence matrix as an annotated heatmap.

    ``counts``: ``[n, n]`` (dense or sparse) with the item popularities on the diagonal; ``titles``: ``n``
    item names. The diagonal is outlined: it is each item's own popularity, not a co-occurrence.
    """
    c = _dense(counts)
    n = c.shape[0]
    if c.shape != (n, n) or len(titles) != n:
        raise ValueError(f"counts must be square [n, n] with n = len(titles) = {len(titles)}; got {c.shape}.")
    size = min(9.0, 3.0 + 0.55 * n)
    fig, ax = new_figure(width=size, height=min(7.5, 1.5 + 0.45 * n))
    norm = mcolors.Normalize(0, max(c.max(), 1))
    cmap = matplotlib.colormaps.get_cmap(SEQUENTIAL)
    im = ax.imshow(c, cmap=cmap, norm=norm)
    _annotate(ax, c, "{:.0f}", cmap=cmap, norm=norm, fontsize=8 if n > 8 else 9)
    for k in range(n):
        ax.add_patch(Rectangle((k - 0.5, k - 0.5), 1, 1, fill=False, ec="white", lw=1.5, ls=":"))
    _ticks(ax, titles, "x", rotate=True, width=22)
    _ticks(ax, titles, "y", width=26)
    ax.tick_params(length=0)
    cb = fig.colorbar(im, ax=ax, shrink=0.85)
    cb.set_label("users who interacted with both")
    return finish(fig, title)


@styled
def plot_item_lists(
    lists: Mapping[str, pd.DataFrame],
    value: str = "score",
    label: str = "title",
    xlabel: str = "score",
    ncols: int = 2,
    title: str = "",
    width: int = 30,
):
    """Lessons 01 and 03: several ranked item lists as horizontal bar charts, one panel per anchor.

    ``lists``: ``{panel title: DataFrame}`` where each frame has a ``label`` column (item titles) and a
    ``value`` column, best first. Used for "people who liked X also liked ..." (lesson 01) and for the
    nearest neighbours of a movie in embedding space (lesson 03).
    """
    if not lists:
        raise ValueError("plot_item_lists needs at least one list.")
    n = len(lists)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    rows = max(len(df) for df in lists.values())
    fig, axes = new_figure(nrows, ncols, width=9.0, height=nrows * (0.6 + 0.22 * rows), squeeze=False)
    for k, (ax, (name, df)) in enumerate(zip(axes.ravel(), lists.items())):
        y = np.arange(len(df))
        ax.barh(y, df[value].to_numpy(dtype=float), color=OKABE_ITO[k % 6], height=0.7)
        ax.set_yticks(y)
        ax.set_yticklabels([shorten(t, width) for t in df[label]], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(shorten(name, 40), fontsize=10)
        ax.set_xlabel(xlabel)
        ax.tick_params(axis="y", length=0)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return finish(fig, title)


# ---------------------------------------------------------------------------------------------- lesson 02
@styled
def plot_similarity_matrices(
    matrices: Mapping[str, np.ndarray], names: Sequence[str], title: str = "The same users, three similarities"
):
    """Lesson 02: user x user similarity matrices side by side (one panel per measure), annotated.

    ``matrices``: ``{"cosine": [n, n], "pearson": [n, n], ...}`` with values in ``[-1, 1]``; ``names``: the
    ``n`` user names. One diverging colour scale for all panels: blue = alike, red = opposite, white = 0.
    """
    k = len(matrices)
    if k == 0:
        raise ValueError("plot_similarity_matrices needs at least one matrix.")
    n = len(names)
    fig, axes = new_figure(1, k, width=min(9.0, 3.1 * k + 0.8), height=3.4, squeeze=False)
    norm = mcolors.Normalize(-1, 1)
    cmap = matplotlib.colormaps.get_cmap(DIVERGING).reversed()  # blue = similar
    for ax, (metric, m) in zip(axes[0], matrices.items()):
        m = _dense(m)
        if m.shape != (n, n):
            raise ValueError(f"{metric}: expected shape {(n, n)}, got {m.shape}.")
        im = ax.imshow(m, cmap=cmap, norm=norm)
        _annotate(ax, m, "{:.2f}", cmap=cmap, norm=norm, fontsize=8)
        _ticks(ax, names, "x", rotate=True)
        _ticks(ax, names, "y")
        ax.tick_params(length=0)
        ax.set_title(metric)
    cb = fig.colorbar(im, ax=axes[0].tolist(), shrink=0.85)
    cb.set_label("similarity")
    return finish(fig, title)


@styled
def plot_similarity_agreement(
    sims: Mapping[str, np.ndarray], overlap: np.ndarray | None = None, reference: str = "cosine", title: str = ""
):
    """Lesson 02: do the measures agree? One user's similarity to every other user, measure against measure.

    ``sims``: ``{"cosine": [n], "pearson": [n], "jaccard": [n]}`` (one user vs ``n`` others). Each panel plots
    ``reference`` (x) against another measure (y); points are coloured by ``overlap`` (co-rated items), if given.
    """
    if reference not in sims:
        raise ValueError(f"reference {reference!r} is not one of the measures {list(sims)}.")
    others = [m for m in sims if m != reference]
    if not others:
        raise ValueError("plot_similarity_agreement needs at least two measures.")
    fig, axes = new_figure(1, len(others), width=min(9.0, 4.3 * len(others) + 0.6), height=3.6, squeeze=False)
    x = np.asarray(sims[reference], dtype=float)
    norm = None
    if overlap is not None:
        ov = np.asarray(overlap, dtype=float)
        norm = mcolors.LogNorm(1, max(2, ov.max())) if ov.max() > 10 else mcolors.Normalize(0, max(1, ov.max()))
    for ax, metric in zip(axes[0], others):
        y = np.asarray(sims[metric], dtype=float)
        if overlap is not None:
            sc = ax.scatter(x, y, c=np.maximum(ov, 1), cmap=SEQUENTIAL, norm=norm, s=12, alpha=0.8, lw=0)
        else:
            ax.scatter(x, y, s=12, alpha=0.7, color=OKABE_ITO[0], lw=0)
        rho = pd.Series(x).corr(pd.Series(y), method="spearman")
        ax.set_xlabel(f"{reference} similarity")
        ax.set_ylabel(f"{metric} similarity")
        ax.set_title(f"{metric} vs {reference}: rank correlation {rho:.2f}")
        ax.axhline(0, color=GREY, lw=0.8)
        ax.grid(True, alpha=0.3)
    if overlap is not None:
        cb = fig.colorbar(sc, ax=axes[0].tolist(), shrink=0.85)
        cb.set_label("items both users rated")
    return finish(fig, title)


@styled
def plot_neighbours(view: Mapping, max_neighbours: int = 10, title: str | None = None):
    """Lesson 02 (and ``NeighbourExplorer``): who a user's nearest neighbours are and what they vote for.

    ``view`` (see :func:`ncf_helpers.lessons.l02_user_based_cf.explorer.neighbour_view`) holds ``user_idx``, ``similarity``
    (the measure's name), ``neighbours`` (DataFrame ``user_idx, similarity, overlap``, best first),
    ``recommendations`` (DataFrame ``item_idx, title, score``, best first) and ``votes`` (float
    ``[num_recommendations, num_neighbours]``: ``sim(u, v)`` where neighbour ``v`` liked the item, else 0).
    Top: each neighbour's similarity. Middle: which neighbours liked which recommended item. Right: the
    score, the sum of the votes over all ``k`` neighbours (only the top ``max_neighbours`` are drawn).
    """
    nb = view["neighbours"].head(max_neighbours)
    recs = view["recommendations"]
    votes = np.asarray(view["votes"], dtype=float)[:, : len(nb)]
    n_rec, n_nb = votes.shape
    fig = new_figure(width=9.0, height=2.2 + 0.32 * max(n_rec, 4))[0]
    fig.clf()
    gs = fig.add_gridspec(2, 2, width_ratios=[max(n_nb, 1), 3.2], height_ratios=[1, max(n_rec, 1) / 4 + 0.8])
    ax_sim = fig.add_subplot(gs[0, 0])
    ax_votes = fig.add_subplot(gs[1, 0], sharex=ax_sim)
    ax_score = fig.add_subplot(gs[1, 1], sharey=ax_votes)
    x = np.arange(n_nb)
    ax_sim.bar(x, nb["similarity"].to_numpy(), color=OKABE_ITO[0], width=0.7)
    ax_sim.set_ylabel(f"{view['similarity']}\nsimilarity")
    ax_sim.set_title(f"user_idx {view['user_idx']}'s {n_nb} nearest neighbours", fontsize=10)
    ax_sim.tick_params(labelbottom=False)
    liked = (votes != 0).astype(float)
    ax_votes.imshow(
        liked,
        cmap=mcolors.ListedColormap(["#f0f0f0", OKABE_ITO[0]]),
        vmin=0,
        vmax=1,
        aspect="auto",
        interpolation="nearest",
    )
    ax_votes.set_xticks(np.arange(n_nb + 1) - 0.5, minor=True)
    ax_votes.set_yticks(np.arange(n_rec + 1) - 0.5, minor=True)
    ax_votes.grid(which="minor", color="white", lw=1.5)
    ax_votes.tick_params(which="minor", length=0)
    ax_votes.set_xticks(x)
    ax_votes.set_xticklabels([str(v) for v in nb["user_idx"]], rotation=90, fontsize=8)
    ax_votes.set_xlabel("neighbour (user_idx)")
    ax_votes.set_yticks(np.arange(n_rec))
    ax_votes.set_yticklabels([shorten(t, 38) for t in recs["title"]], fontsize=8)
    ax_votes.set_xlim(-0.5, n_nb - 0.5)
    ax_score.barh(np.arange(n_rec), recs["score"].to_numpy(), color=OKABE_ITO[2], height=0.7)
    ax_score.tick_params(labelleft=False)
    ax_score.set_xlabel("sum of similarities\nof those who liked it")
    ax_score.set_title(f"score (all {view.get('k', n_nb)}\nneighbours)", fontsize=10)
    fig.add_subplot(gs[0, 1]).axis("off")
    title = title or "Who recommends what: blue = this neighbour liked this film"
    return finish(fig, title)


@styled
def plot_leave_one_out(train: pd.DataFrame, test: pd.DataFrame, title: str = ""):
    """Lesson 02: leave-last-one-out, drawn for a few users.

    ``train``: the users' training positives ``user_idx, item_idx, timestamp``; ``test``: their held-out rows.
    One line per user, interactions in time order (x = position in the user's history, because many users
    rate dozens of films within minutes); blue dots are training positives, the orange diamond is the most
    recent positive, hidden from every model and used to test it. The order is each user's own: other users'
    later ratings stay in training (:func:`plot_later_training_share` measures how many).
    """
    users = list(pd.unique(pd.concat([train["user_idx"], test["user_idx"]])))
    fig, ax = new_figure(width=9.0, height=1.3 + 0.42 * len(users))
    longest = 1
    for row, u in enumerate(users):
        n_train = int(np.sum(train["user_idx"].to_numpy() == u))
        n_test = int(np.sum(test["user_idx"].to_numpy() == u))
        longest = max(longest, n_train + n_test)
        ax.plot(
            np.arange(1, n_train + 1),
            np.full(n_train, row),
            "o",
            ms=5,
            color=OKABE_ITO[0],
            label="training positive" if row == 0 else None,
        )
        ax.plot(
            np.arange(n_train + 1, n_train + n_test + 1),
            np.full(n_test, row),
            "D",
            ms=9,
            color=OKABE_ITO[1],
            mec="black",
            label="held out: the most recent positive" if row == 0 else None,
        )
    ax.set_yticks(range(len(users)))
    ax.set_yticklabels([f"user_idx {u}" for u in users])
    ax.set_ylim(len(users) - 0.4, -0.6)
    ax.set_xlim(0, longest + 1)
    ax.set_xlabel("the user's positives in time order (1 = first)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    ax.grid(True, axis="x", alpha=0.3)
    return finish(fig, title or "Leave-last-one-out: each user's most recent positive is held out")


@styled
def plot_later_training_share(shares, title: str = ""):
    """Lesson 02: for each test user, the share of all training positives dated after their held-out rating.

    ``shares``: float ``[num_test_users]`` in ``[0, 1]`` (:func:`ncf_helpers.interactions.later_training_share`).
    A histogram over test users with the mean and the median marked; a split that cuts every user at one time
    would put every user at 0.
    """
    x = np.asarray(shares, dtype=float).reshape(-1)
    if x.size == 0 or not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1:
        raise ValueError("shares must be a non-empty array of shares in [0, 1], one per test user.")
    fig, ax = new_figure(width=9.0, height=3.0)
    ax.hist(100 * x, bins=np.linspace(0, 100, 21), color=OKABE_ITO[0], edgecolor="white")
    for value, name, style in ((x.mean(), "mean", "-"), (np.median(x), "median", "--")):
        ax.axvline(100 * value, color="black", ls=style, lw=1.2, label=f"{name} {value:.0%}")
    ax.set_xlim(0, 100)
    ax.set_xlabel("training positives (of all users) dated after this user's held-out rating, %")
    ax.set_ylabel("test users")
    ax.legend(loc="upper center", frameon=False)
    return finish(
        fig,
        title
        or f"Leave-last-one-out is per user: for the average test user, {x.mean():.0%} of "
        "the training positives come later",
    )


@styled
def plot_ranking_example(scores: np.ndarray, k: int = 10, title: str = ""):
    """Lesson 02's worked example of HR@K and NDCG@K: one test user's candidates, ranked by the model.

    ``scores``: float ``[1 + num_negatives]``, the held-out item's score FIRST, then its sampled negatives.
    Bars are sorted best first; the held-out item is orange; a dashed line marks the top-``k`` cut-off. The
    title works out its 1-based rank, HR@k and NDCG@k = 1 / log2(rank + 1). Ties are broken in the item's
    favour here (``evaluate`` averages over tie orders); the title says how many there are.
    """
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1 or len(s) < 2:
        raise ValueError("scores must be 1-D: the held-out item's score first, then its negatives.")
    k = int(k)
    rank = 1 + int(np.sum(s[1:] > s[0]))  # 1-based, ties in the item's favour
    ties = int(np.sum(s[1:] == s[0]))
    order = np.lexsort((np.arange(len(s)) != 0, -s))  # best first; the held-out item first among ties
    fig, ax = new_figure(width=9.0, height=3.2)
    colours = [OKABE_ITO[1] if j == 0 else OKABE_ITO[0] if pos < k else GREY for pos, j in enumerate(order)]
    ax.bar(np.arange(len(s)), s[order], color=colours, width=0.85)
    ax.axvline(k - 0.5, color="black", ls="--", lw=1)
    top = max(float(s.max()), 1e-9)
    ax.text(k - 0.5, top * 1.02, f" top {k} | the rest", ha="left", va="bottom", fontsize=9)
    ax.annotate(
        f"held-out item: rank {rank}",
        xy=(rank - 1, s[0]),
        xytext=(rank - 1 + max(6, len(s) * 0.1), top * 0.75),
        arrowprops=dict(arrowstyle="->", color="black"),
        va="center",
    )
    zeros = int(np.sum(s == 0))
    if zeros >= 5:
        first_zero = int(np.flatnonzero(s[order] == 0)[0])
        ax.text(
            (first_zero + len(s)) / 2,
            top * 0.08,
            f"{zeros} candidates score exactly 0",
            ha="center",
            fontsize=9,
            color="#555555",
        )
    ax.set_ylim(min(0.0, float(s.min())), top * 1.15)
    ax.set_xlabel(f"the {len(s)} candidates (held-out item + {len(s) - 1} sampled negatives), best first")
    ax.set_ylabel("model score")
    ax.set_xlim(-0.7, len(s) - 0.3)
    tie_note = f"; {ties} negatives tie with it" if ties else ""
    if rank <= k:
        auto = f"Rank {rank} <= {k}: HR@{k} = 1, NDCG@{k} = 1/log2({rank} + 1) = {1 / np.log2(rank + 1):.3f}{tie_note}"
    else:
        auto = f"Rank {rank} > {k}: HR@{k} = 0, NDCG@{k} = 0{tie_note}"
    return finish(fig, title or auto)


@styled
def plot_model_comparison(
    table: pd.DataFrame,
    metrics: Sequence[str] = ("hr@10", "ndcg@10"),
    random_hr: float | None = None,
    title: str = "Which recommender ranks the held-out item best?",
):
    """Lessons 02-03: grouped bars of ranking metrics, one colour per model (course colours).

    ``table``: DataFrame indexed by model name with the ``metrics`` columns (``evaluate.compare`` output).
    ``random_hr``: draw the random-guessing level of HR@K (10/100 with 99 negatives) as a dashed line.
    """
    missing = [m for m in metrics if m not in table.columns]
    if missing:
        raise ValueError(f"The table has no column(s) {missing}; it has {list(table.columns)}.")
    names = list(table.index)
    fig, ax = new_figure(width=min(9.0, 3.0 + 1.1 * len(names) * len(metrics) / 2), height=3.4)
    width = 0.8 / len(names)
    for j, name in enumerate(names):
        x = np.arange(len(metrics)) + (j - (len(names) - 1) / 2) * width
        vals = table.loc[name, list(metrics)].to_numpy(dtype=float)
        bars = ax.bar(x, vals, width=width * 0.92, color=color_for(str(name), j), label=str(name))
        ax.bar_label(bars, fmt="%.3f", fontsize=8, padding=1)
    if random_hr is not None:
        ax.axhline(random_hr, color="black", ls="--", lw=1, label=f"random guessing\n(HR = {random_hr:g})")
    ax.set_xticks(np.arange(len(metrics)))
    ax.set_xticklabels([m.upper().replace("@", "@") for m in metrics])
    ax.set_ylabel("score (higher is better, max 1)")
    ax.set_ylim(0, min(1.05, max(0.2, float(table[list(metrics)].to_numpy().max()) * 1.2)))
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return finish(fig, title)


ACTIVITY_BINS = (0, 10, 20, 50, 100, 200, np.inf)


@styled
def plot_by_activity(
    results: Mapping, metric: str = "hr", bins=ACTIVITY_BINS, title: str = "", ylabel: str | None = None
):
    """Lessons 02-03: a metric per user-activity bucket, one line per model, with standard errors.

    ``results``: ``{model name: EvalResult}`` (anything with ``by_activity(bins, metric)`` and ``per_user``).
    x = users' number of training interactions (bucket), y = mean per-user ``metric``; error bars are one
    standard error (few users per bucket -> wide bars: do not over-read them). The number of users per
    bucket is written under each tick.
    """
    if not results:
        raise ValueError("plot_by_activity needs at least one result.")
    fig, ax = new_figure(width=9.0, height=3.8)
    labels = None
    for j, (name, res) in enumerate(results.items()):
        table = res.by_activity(bins=bins, metric=metric)
        per = res.per_user
        edges = list(bins)
        bucket = pd.cut(per["num_train"], edges, right=False)
        se = per.groupby(bucket, observed=True)[metric].sem().to_numpy()
        x = np.arange(len(table))
        ax.errorbar(
            x + (j - (len(results) - 1) / 2) * 0.06,
            table[metric].to_numpy(),
            yerr=np.nan_to_num(se),
            marker="osD^v"[j % 5],
            ms=5,
            lw=2,
            capsize=3,
            color=color_for(str(name), j),
            label=str(name),
        )
        labels = [f"{b}\n({n} user{'' if n == 1 else 's'})" for b, n in zip(table["bucket"], table["users"])]
    ax.set_xticks(np.arange(len(labels)))
    ax.set_xticklabels(labels)
    ax.set_xlabel("user's training interactions (bucket)")
    name = {"hr": "HR@10", "ndcg": "NDCG@10"}.get(metric, metric)
    ax.set_ylabel(ylabel or f"mean {name} of the users in the bucket")
    ax.set_ylim(0, 1.02)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return finish(fig, title or f"{name} by user activity (error bars: one standard error)")


# ---------------------------------------------------------------------------------------------- lesson 03
@styled
def plot_factorization(
    observed: np.ndarray,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    user_names: Sequence[str],
    item_names: Sequence[str],
    title: str = "Matrix factorization: ratings ≈ user vectors x item vectors",
):
    """Lesson 03: ``R ≈ P Q^T`` drawn out on the toy matrix.

    ``observed``: ``[n_users, n_items]`` ratings with 0 or NaN for "not rated"; ``user_factors`` ``P``
    ``[n_users, d]``; ``item_factors`` ``Q`` ``[n_items, d]``. Panels: the observed matrix, ``P``, ``Q^T``
    and the prediction ``P Q^T``, which fills in every empty cell (outlined). Each factor's sign is chosen so
    that its item loadings sum to a positive number (the product is unchanged).
    """
    r = _dense(np.nan_to_num(np.asarray(observed, dtype=float)))
    p = np.asarray(user_factors, dtype=float)
    q = np.asarray(item_factors, dtype=float)
    if p.shape[0] != r.shape[0] or q.shape[0] != r.shape[1] or p.shape[1] != q.shape[1]:
        raise ValueError(f"Shapes do not fit R ≈ P Q^T: R {r.shape}, P {p.shape}, Q {q.shape}.")
    # Flipping the sign of factor k in both P and Q leaves P Q^T unchanged; show each factor with mostly
    # positive item loadings, which reads more easily.
    flip = np.where(q.sum(axis=0) < 0, -1.0, 1.0)
    p, q = p * flip, q * flip
    pred = p @ q.T
    d = p.shape[1]
    n_u, n_i = r.shape
    fig = new_figure(width=9.0, height=1.6 + 0.42 * max(n_u, d))[0]
    fig.clf()
    gs = fig.add_gridspec(1, 4, width_ratios=[n_i, d + 0.6, n_i, n_i])
    axes = [fig.add_subplot(gs[0, k]) for k in range(4)]
    rating_norm = mcolors.Normalize(0, 5)
    f_max = max(np.abs(p).max(), np.abs(q).max(), 1e-9)
    f_norm = mcolors.Normalize(-f_max, f_max)
    blues = matplotlib.colormaps.get_cmap("Blues")
    div = matplotlib.colormaps.get_cmap("PuOr")
    empty = r == 0
    ax = axes[0]
    ax.set_facecolor("#eeeeee")
    ax.imshow(np.ma.masked_where(empty, r), cmap=blues, norm=rating_norm)
    _annotate(ax, r, "{:g}", mask=empty, cmap=blues, norm=rating_norm, fontsize=8)
    ax.set_title("observed R\n(grey = not rated)", fontsize=10)
    ax = axes[1]
    ax.imshow(p, cmap=div, norm=f_norm, aspect="auto")
    _annotate(ax, p, "{:.1f}", cmap=div, norm=f_norm, fontsize=8)
    ax.set_title(f"P: user vectors\n[{n_u} x {d}]", fontsize=10)
    ax.set_xticks(range(d))
    ax.set_xticklabels([f"f{k + 1}" for k in range(d)])
    ax.set_yticks([])
    ax = axes[2]
    ax.imshow(q.T, cmap=div, norm=f_norm, aspect="auto")
    _annotate(ax, q.T, "{:.1f}", cmap=div, norm=f_norm, fontsize=8)
    ax.set_title(f"Q^T: item vectors\n[{d} x {n_i}]", fontsize=10)
    ax.set_yticks(range(d))
    ax.set_yticklabels([f"f{k + 1}" for k in range(d)])
    ax = axes[3]
    ax.imshow(np.clip(pred, 0, 5), cmap=blues, norm=rating_norm)
    _annotate(ax, pred, "{:.1f}", cmap=blues, norm=rating_norm, fontsize=8)
    for i, j in zip(*np.nonzero(empty)):
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec=OKABE_ITO[5], lw=2))
    ax.set_title("prediction P Q^T\n(orange = filled-in)", fontsize=10)
    short_items = [shorten(t, 16) for t in item_names]
    for ax in (axes[0], axes[2], axes[3]):
        ax.set_xticks(range(n_i))
        ax.set_xticklabels(short_items, rotation=60, ha="right", rotation_mode="anchor", fontsize=8)
    axes[0].set_yticks(range(n_u))
    axes[0].set_yticklabels(user_names)
    axes[3].set_yticks([])
    for ax in axes:
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
    return finish(fig, title)


@styled
def plot_learning_curve(
    history: pd.DataFrame,
    x: str = "epoch",
    columns: Sequence[str] = ("train_rmse", "valid_rmse"),
    baselines: Mapping[str, float] | None = None,
    ylabel: str = "RMSE (stars, lower is better)",
    title: str = "Learning curve",
):
    """Lesson 03: metric per epoch/iteration (e.g. ``ExplicitMF.history``: ``epoch, train_rmse, valid_rmse``).

    ``baselines``: ``{label: value}`` drawn as dashed horizontal lines (e.g. the RMSE of predicting every
    user's mean). The best validation point is marked when a ``valid_*`` column is present.
    """
    if x not in history.columns:
        raise ValueError(f"history has no column {x!r}; it has {list(history.columns)}.")
    cols = [c for c in columns if c in history.columns and history[c].notna().any()]
    if not cols:
        raise ValueError(f"history has none of the columns {list(columns)} with values.")
    fig, ax = new_figure(width=7.5, height=3.6)
    for j, c in enumerate(cols):
        ax.plot(history[x], history[c], marker="o", ms=3, lw=2, color=OKABE_ITO[j], label=c.replace("_", " "))
        if c.startswith("valid"):
            best = int(history[c].to_numpy().argmin())
            ax.plot(
                history[x].iloc[best],
                history[c].iloc[best],
                "*",
                ms=14,
                color=OKABE_ITO[j],
                mec="black",
                label=f"best {c.replace('_', ' ')}: {history[c].iloc[best]:.3f} ({x} {history[x].iloc[best]})",
            )
    for j, (label, value) in enumerate((baselines or {}).items()):
        ax.axhline(value, ls="--", lw=1, color=[GREY, "black", OKABE_ITO[5]][j % 3], label=f"{label}: {value:.3f}")
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return finish(fig, title)


@styled
def plot_embedding_maps(
    maps: Mapping[str, np.ndarray],
    labels: Sequence[str],
    highlight: Mapping[int, str] | None = None,
    max_points: int = 3000,
    seed: int = 0,
    title: str = "Item vectors, projected to 2-D (PCA)",
):
    """Lesson 03 (and ``MFExplorer``): item vectors on their first two principal axes, coloured by genre.

    ``maps``: ``{panel title: vectors [n, embedding_dim]}`` for the same ``n`` items (e.g. the learned ALS
    vectors and, on synthetic data, the planted ones); ``labels``: ``n`` genre labels (:func:`genre_labels`;
    ``"other"`` is drawn grey and underneath). ``highlight``: ``{row: text}`` items to label.
    At most ``max_points`` items are drawn (a fixed random subset; highlighted items always).
    """
    if not maps:
        raise ValueError("plot_embedding_maps needs at least one set of vectors.")
    labels = np.asarray(labels, dtype=object)
    n = len(labels)
    for name, v in maps.items():
        if np.asarray(v).shape[0] != n:
            raise ValueError(f"{name}: {np.asarray(v).shape[0]} vectors but {n} labels.")
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(n, size=min(n, max_points), replace=False))
    if highlight:
        keep = np.union1d(keep, np.fromiter(highlight.keys(), dtype=np.int64))
    cats = [c for c in dict.fromkeys(labels[keep]) if c != "other"]
    cats = sorted(cats, key=lambda c: -np.sum(labels == c))
    palette = {c: OKABE_ITO[k % 7] for k, c in enumerate(cats)}
    k = len(maps)
    fig, axes = new_figure(1, k, width=min(9.0, 4.2 * k + 1.4), height=4.0, squeeze=False)
    for ax, (name, vectors) in zip(axes[0], maps.items()):
        xy, explained = pca_2d(np.asarray(vectors)[keep])
        lab = labels[keep]
        other = lab == "other"
        ax.scatter(xy[other, 0], xy[other, 1], s=6, color="#d0d0d0", lw=0, label="other")
        for c in cats:
            sel = lab == c
            ax.scatter(xy[sel, 0], xy[sel, 1], s=10, color=palette[c], lw=0, alpha=0.85, label=c)
        if highlight:
            pos = {row: j for j, row in enumerate(keep)}
            points = [(xy[pos[int(row)]], shorten(text, 22)) for row, text in highlight.items()]
            _label_points(ax, points)
        ax.set_xlabel(f"PC 1 ({explained[0]:.0%} of variance)")
        ax.set_ylabel(f"PC 2 ({explained[1]:.0%})")
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside right center", frameon=False, markerscale=2, title="genre")
    return finish(fig, title)


@styled
def plot_mf_explorer(result: Mapping, title: str | None = None):
    """``MFExplorer`` (lesson 03): the embedding map of one fitted model next to its ranking metrics.

    ``result`` (see :func:`ncf_helpers.lessons.l03_matrix_factorization.explorer.fit_and_describe`): ``vectors [n, d]`` and ``labels [n]`` of
    the drawn items, ``metrics`` (``{"hr@10": .., "ndcg@10": ..}``), ``reference`` (``{name: hr@10}`` lines
    to compare with), ``config`` and ``seconds``.
    """
    labels = np.asarray(result["labels"], dtype=object)
    fig = new_figure(width=9.0, height=3.8)[0]
    fig.clf()
    gs = fig.add_gridspec(1, 2, width_ratios=[2.2, 1])
    ax = fig.add_subplot(gs[0, 0])
    xy, explained = pca_2d(result["vectors"])
    cats = [c for c in dict.fromkeys(labels) if c != "other"]
    cats = sorted(cats, key=lambda c: -np.sum(labels == c))
    other = labels == "other"
    ax.scatter(xy[other, 0], xy[other, 1], s=6, color="#d0d0d0", lw=0, label="other")
    for k, c in enumerate(cats):
        sel = labels == c
        ax.scatter(xy[sel, 0], xy[sel, 1], s=10, color=OKABE_ITO[k % 7], lw=0, alpha=0.85, label=c)
    ax.set_xlabel(f"PC 1 ({explained[0]:.0%} of variance)")
    ax.set_ylabel(f"PC 2 ({explained[1]:.0%})")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(frameon=False, fontsize=8, markerscale=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    cfg = result.get("config", {})
    ax.set_title(", ".join(f"{k} = {v}" for k, v in cfg.items()), fontsize=10)
    ax2 = fig.add_subplot(gs[0, 1])
    names = list(result["metrics"])
    vals = [result["metrics"][m] for m in names]
    bars = ax2.bar(np.arange(len(names)), vals, color=[OKABE_ITO[2], OKABE_ITO[0]][: len(names)], width=0.6)
    ax2.bar_label(bars, fmt="%.3f", fontsize=9)
    for j, (name, value) in enumerate((result.get("reference") or {}).items()):
        ax2.axhline(value, ls="--", lw=1, color=[GREY, "black"][j % 2], label=f"{name}: {value:.3f}")
    ax2.set_xticks(np.arange(len(names)))
    ax2.set_xticklabels([n.upper() for n in names])
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("score on the test items")
    if result.get("reference"):
        ax2.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    return finish(fig, title or f"iALS refitted in {result.get('seconds', 0):.1f} s")
