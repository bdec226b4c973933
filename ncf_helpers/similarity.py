"""Similarity between users (rows) or items (columns) of an interaction matrix (lesson 02, user-based CF).

Three measures, on sparse input where an empty cell means "not rated" (never "rated 0"):

* ``"cosine"``  - ``a . b / (|a| |b|)`` over the full vectors (unrated cells count as 0);
* ``"pearson"`` - centred cosine: each vector is centred on the mean of ITS OWN rated entries (unrated cells
  stay 0), then cosine. This removes each user's rating scale (a harsh critic's 3 stars = a fan's 4.5). On a
  binary matrix every centred entry is 0, so use it on ratings;
* ``"jaccard"`` - ``|A & B| / |A | B|`` for the sets of rated cells (ignores the rating values).

``pairwise(a, b, metric, show=True)`` prints the arithmetic for two vectors (the lessons' worked examples);
``similarity_matrix`` returns dense ``[n, n]`` for moderate ``n`` (610 users: fine); ``similarities_of`` one
row of it for any ``n``; ``top_k_neighbours``
works in row blocks and keeps only the ``k`` best per row, for ml-latest-small's 9,742 items (a dense item x
item matrix would take 9,742^2 x 8 bytes = 760 MB).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .data.checks import check_k

__all__ = [
    "METRICS",
    "nearest_by_cosine",
    "neighbour_graph",
    "pairwise",
    "similarities_of",
    "similarity_matrix",
    "top_k_neighbours",
]

METRICS = ("cosine", "pearson", "jaccard")
MAX_DENSE = 5000  # largest n for which similarity_matrix builds a dense [n, n] array (5000^2 x 8 B = 200 MB)


def _check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(f"Unknown similarity {metric!r}; choose one of {METRICS}.")
    return metric


def _rows(matrix, axis: int) -> sp.csr_matrix:
    """The vectors to compare as the rows of a float64 csr matrix without stored zeros."""
    if axis not in (0, 1):
        raise ValueError(f"axis must be 0 (compare rows, e.g. users) or 1 (compare columns, e.g. items); got {axis!r}.")
    if isinstance(matrix, np.ndarray):
        if matrix.ndim != 2:
            raise ValueError(f"Expected a 2-D matrix [num_users, num_items]; got shape {matrix.shape}.")
        m = sp.csr_matrix(matrix, dtype=np.float64)
    elif sp.issparse(matrix):
        m = sp.csr_matrix(matrix, dtype=np.float64)
    else:
        raise ValueError(
            f"Expected a scipy.sparse matrix or a 2-D numpy array; got {type(matrix).__name__}. "
            "Build one with ncf_helpers.interactions.interaction_matrix(dataset)."
        )
    if not np.all(np.isfinite(m.data)):
        raise ValueError("The matrix holds NaN or infinite values; empty cells must be empty (0), not NaN.")
    if axis == 1:
        m = m.T.tocsr()
    m = m.copy()
    m.eliminate_zeros()
    m.sort_indices()
    return m


def _prepare(m: sp.csr_matrix, metric: str):
    """``(left, right_T, sizes)``: the rows (centred for pearson; binary for jaccard), their transpose, and per
    row the norm (cosine/pearson) or the number of rated cells (jaccard)."""
    x = m.copy()
    if metric == "jaccard":
        x.data = np.ones_like(x.data)
        return x, x.T.tocsr(), np.diff(x.indptr).astype(np.float64)
    if metric == "pearson":
        nnz = np.diff(x.indptr)
        means = np.asarray(x.sum(axis=1)).ravel() / np.maximum(nnz, 1)
        x.data = x.data - np.repeat(means, nnz)  # centre on the mean of the rated entries only
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    # a tiny norm is a vector of (numerically) zeros: its similarity to anything is 0
    norms[norms <= 1e-12] = 0.0
    return x, x.T.tocsr(), norms


def _block(left, right_t, sizes, metric: str, rows, shrink: float = 0.0) -> np.ndarray:
    """Dense similarities of ``left[rows]`` (a slice or index array) to every row: float64 ``[len(rows), n]``.

    The normalisation is applied to the stored entries of the sparse product only (pairs with no overlap
    have similarity 0 whatever the norms), then the block is made dense."""
    prod = sp.csr_matrix(left[rows] @ right_t)
    r = np.repeat(np.arange(prod.shape[0]), np.diff(prod.indptr))
    a = sizes[rows][r]
    b = sizes[prod.indices]
    if metric == "jaccard":
        denom = a + b - prod.data  # |A | B| = |A| + |B| - |A & B|
    else:
        denom = a * b
    with np.errstate(divide="ignore", invalid="ignore"):
        data = np.where(denom > 0, prod.data / (denom + shrink), 0.0)
    if metric != "jaccard":
        np.clip(data, -1.0, 1.0, out=data)
    prod.data = data
    return prod.toarray()


def _check_shrink(shrink) -> float:
    if not np.isfinite(shrink) or shrink < 0:
        raise ValueError(f"shrink must be a finite number >= 0, got {shrink!r}.")
    return float(shrink)


def similarity_matrix(
    matrix, metric: str = "cosine", axis: int = 0, max_size: int = MAX_DENSE, *, shrink: float = 0.0
) -> np.ndarray:
    """All pairwise similarities, dense float64 ``[n, n]`` with values in ``[-1, 1]`` (``[0, 1]`` for cosine of
    non-negative data and for jaccard). Lesson 02.

    ``axis=0`` compares the rows (users of a ``[num_users, num_items]`` matrix, ``n = num_users``); ``axis=1``
    compares the columns (items, ``n = num_items``). An all-empty vector has similarity 0 to everything,
    itself included; any other vector has similarity 1 to itself (pearson: unless all its ratings are equal,
    which centres it to zeros). Raises ``ValueError`` if ``n > max_size``: use :func:`top_k_neighbours`.

    ``shrink >= 0`` is added to the denominator (``a . b / (|a| |b| + shrink)``, jaccard
    ``|A & B| / (|A | B| + shrink)``): similarities resting on little overlap move towards 0.
    """
    metric = _check_metric(metric)
    shrink = _check_shrink(shrink)
    m = _rows(matrix, axis)
    n = m.shape[0]
    if n > max_size:
        raise ValueError(
            f"A dense {n} x {n} similarity matrix would take {n * n * 8 / 1e6:,.0f} MB (max_size={max_size}). Use "
            "top_k_neighbours(matrix, k, metric) to keep the k most similar per row, or raise max_size."
        )
    left, right_t, sizes = _prepare(m, metric)
    return _block(left, right_t, sizes, metric, slice(0, n), shrink)


def similarities_of(matrix, index: int, metric: str = "cosine", axis: int = 0, *, shrink: float = 0.0) -> np.ndarray:
    """Similarities of one row (``axis=0``, a user) or column (``axis=1``, an item) to every other: float64
    ``[n]``, equal to ``similarity_matrix(matrix, metric, axis)[index]`` but without the ``[n, n]`` matrix, so
    any ``n`` works (lesson 02 compares one user with all 6,000 users of ML-1M this way). ``index`` is in
    ``[0, n)``; ``shrink`` as in :func:`similarity_matrix`.
    """
    metric = _check_metric(metric)
    shrink = _check_shrink(shrink)
    m = _rows(matrix, axis)
    n = m.shape[0]
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)) or not 0 <= index < n:
        raise ValueError(
            f"index must be an integer in [0, {n}) (a {'row' if axis == 0 else 'column'} of the matrix); got {index!r}."
        )
    left, right_t, sizes = _prepare(m, metric)
    return _block(left, right_t, sizes, metric, np.array([int(index)]), shrink)[0]


def top_k_neighbours(
    matrix,
    k: int = 50,
    metric: str = "cosine",
    axis: int = 0,
    *,
    exclude_self: bool = True,
    shrink: float = 0.0,
    block_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most similar rows (``axis=0``, users) or columns (``axis=1``, items) of each one. Lesson 02.

    Works on blocks of ``block_size`` rows (default: about 32 MB of float64 per block), so the ``[n, n]``
    matrix is never held in memory. Returns ``(indices, sims)``: int64 ``[n, k]`` and float64 ``[n, k]``, each
    row sorted by decreasing similarity (ties: smaller index first among those kept). With
    ``exclude_self`` a vector is never its own neighbour. If fewer than ``k`` other vectors exist, ``k`` is
    lowered to that number. Neighbours with similarity 0 fill the rows of vectors with few overlaps.
    ``shrink`` as in :func:`similarity_matrix`.
    """
    metric = _check_metric(metric)
    shrink = _check_shrink(shrink)
    k = check_k(k)
    m = _rows(matrix, axis)
    n = m.shape[0]
    k = min(k, n - 1 if exclude_self else n)
    if k <= 0:
        raise ValueError(f"There are only {n} vectors: no neighbours to find.")
    if block_size is None:
        block_size = max(1, 4_000_000 // max(n, 1))
    block_size = check_k(block_size, "block_size")
    left, right_t, sizes = _prepare(m, metric)
    # A vector with nothing rated (or, for pearson, all its ratings equal) has similarity 0 to every other:
    # its neighbours are the k smallest other indices, with similarity 0, and no product is computed for it.
    empty = np.flatnonzero(sizes == 0)
    base = np.arange(k + 1)
    filler = (
        np.where(base[None, :] >= empty[:, None], base[None, :] + 1, base[None, :])[:, :k]
        if exclude_self
        else np.broadcast_to(base[:k], (len(empty), k))
    )
    indices = np.empty((n, k), dtype=np.int64)
    sims = np.zeros((n, k), dtype=np.float64)
    indices[empty] = filler
    active = np.flatnonzero(sizes > 0)
    for lo in range(0, len(active), block_size):  # row blocks, not a loop over users or items
        rows = active[lo : lo + block_size]
        s = _block(left, right_t, sizes, metric, rows, shrink)
        if exclude_self:
            s[np.arange(len(rows)), rows] = -np.inf
        # Candidates by a float32 partition (several times faster than float64 on rows of ~10^4), with a
        # margin of 8 so that rounding cannot push a true top-k item out; the exact float64 values decide.
        kk = min(n, k + 8)
        top = np.argpartition((-s).astype(np.float32), kk - 1, axis=1)[:, :kk]
        top.sort(axis=1)
        vals = np.take_along_axis(s, top, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")[:, :k]
        indices[rows] = np.take_along_axis(top, order, axis=1)
        sims[rows] = np.take_along_axis(vals, order, axis=1)
    return indices, sims


def neighbour_graph(indices: np.ndarray, sims: np.ndarray, n: int | None = None) -> sp.csr_matrix:
    """``top_k_neighbours`` output as a sparse float64 ``[n, n]`` matrix ``W`` with ``W[a, b] = sim(a, b)`` for
    the ``k`` neighbours ``b`` of each ``a`` (zero similarities dropped). Used by UserCF/ItemCF (lesson 02)."""
    indices = np.asarray(indices, dtype=np.int64)
    sims = np.asarray(sims, dtype=np.float64)
    if indices.shape != sims.shape or indices.ndim != 2:
        raise ValueError(f"indices {indices.shape} and sims {sims.shape} must both be [n, k].")
    n = indices.shape[0] if n is None else int(n)
    rows = np.repeat(np.arange(indices.shape[0]), indices.shape[1])
    w = sp.csr_matrix((sims.ravel(), (rows, indices.ravel())), shape=(indices.shape[0], n))
    w.eliminate_zeros()
    return w


# ---------------------------------------------------------------------------------------------- worked examples
def _fmt(x: float) -> str:
    return f"{x:.4g}"


def pairwise(a, b, metric: str = "cosine", *, show: bool = False) -> float:
    """Similarity of two vectors (two users' rating rows, 0 = not rated), float. Lesson 02's worked examples.

    With ``show=True`` it also prints the arithmetic step by step, e.g. for ``a = [5, 3, 0]``, ``b = [4, 0, 2]``
    and cosine: ``a . b = 5*4 + 3*0 + 0*2 = 20``, ``|a| = sqrt(34)``, ``|b| = sqrt(20)``, ``20 / 26.08 = 0.767``.
    Gives the same numbers as :func:`similarity_matrix` on a two-row matrix.
    """
    metric = _check_metric(metric)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"pairwise needs two 1-D vectors of one length; got shapes {a.shape} and {b.shape}.")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("The vectors hold NaN or infinite values; write 'not rated' as 0.")
    lines = []
    if metric == "jaccard":
        sa, sb = set(np.flatnonzero(a).tolist()), set(np.flatnonzero(b).tolist())
        both, either = sa & sb, sa | sb
        value = len(both) / len(either) if either else 0.0
        lines += [
            f"rated by a: {sorted(sa)}",
            f"rated by b: {sorted(sb)}",
            f"both: {sorted(both)} ({len(both)}), either: {sorted(either)} ({len(either)})",
            f"jaccard = {len(both)} / {len(either)} = {_fmt(value)}" if either else "jaccard = 0 (nothing rated)",
        ]
    else:
        if metric == "pearson":
            for name, v in (("a", a), ("b", b)):
                rated = v != 0
                mean = v[rated].mean() if rated.any() else 0.0
                lines.append(f"mean of {name} over its {int(rated.sum())} rated entries = {_fmt(mean)}")
            ca = np.where(a != 0, a - (a[a != 0].mean() if (a != 0).any() else 0.0), 0.0)
            cb = np.where(b != 0, b - (b[b != 0].mean() if (b != 0).any() else 0.0), 0.0)
            lines.append(f"centred a = {np.round(ca, 4).tolist()} (unrated stay 0)")
            lines.append(f"centred b = {np.round(cb, 4).tolist()}")
            a, b = ca, cb
        dot = float(a @ b)
        na, nb = float(np.sqrt(a @ a)), float(np.sqrt(b @ b))
        terms = " + ".join(f"{_fmt(x)}*{_fmt(y)}" for x, y in zip(a, b))
        lines.append(f"a . b = {terms} = {_fmt(dot)}")
        lines.append(f"|a| = sqrt({_fmt(float(a @ a))}) = {_fmt(na)},  |b| = sqrt({_fmt(float(b @ b))}) = {_fmt(nb)}")
        if na > 1e-12 and nb > 1e-12:
            value = float(np.clip(dot / (na * nb), -1.0, 1.0))
            lines.append(f"{metric} = {_fmt(dot)} / ({_fmt(na)} * {_fmt(nb)}) = {_fmt(value)}")
        else:
            value = 0.0
            lines.append(f"{metric} = 0 (a zero vector has no direction)")
    if show:
        print("\n".join(lines))
    return value


def nearest_by_cosine(query: np.ndarray, vectors: np.ndarray, pool: np.ndarray, k: int, exclude=None):
    """Top-``k`` of ``pool`` (item indices ``[p]``) by cosine similarity to each row of ``query [q, d]`` among the
    rows of ``vectors [num_items, d]`` (lessons 04-05: neighbours in an embedding space). ``exclude`` (``[q]``,
    optional): an item per query row that may not be its own neighbour. Returns ``(items [q, k], sims [q, k])``,
    most similar first (ties: the earlier pool position first); ``k`` is capped at ``len(pool)``."""
    qn = query / np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
    pv = vectors[pool]
    pn = pv / np.maximum(np.linalg.norm(pv, axis=1, keepdims=True), 1e-12)
    sims = qn @ pn.T  # [q, len(pool)]
    if exclude is not None:
        sims[np.asarray(exclude)[:, None] == pool[None, :]] = -np.inf
    k = min(k, len(pool))
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    return pool[top], np.take_along_axis(sims, top, axis=1)
