"""Matrix factorization (lesson 03): explicit ratings by SGD, implicit feedback by weighted ALS.

* :class:`ExplicitMF` - ``r_hat(u, i) = mu + b_u + b_i + p_u . q_i`` fitted to the observed ratings by
  minibatch SGD on the squared error with L2 regularisation (Koren, Bell & Volinsky 2009; "Funk SVD").
* :class:`ImplicitALS` - Hu, Koren & Volinsky (2008): every cell of the user x item matrix is a preference
  ``p_ui`` (1 if the user interacted, else 0) with confidence ``c_ui = 1 + alpha * r_ui``, fitted by
  alternating least squares. Each user's solve needs ``Y^T C_u Y``, computed as ``Y^T Y + Y^T (C_u - I) Y``:
  ``Y^T Y`` once per sweep, the correction only over the items the user interacted with.

numpy/scipy only, deterministic by ``seed``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..common import whole_number
from ..data._keys import unique_keys
from ..data.checks import check_indices, check_k
from .base import Recommender

__all__ = ["ExplicitMF", "ImplicitALS"]


def _positive(value, name: str, allow_zero: bool = False) -> float:
    ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if isinstance(value, bool) or not ok:
        raise ValueError(f"{name} must be a finite number {'>= 0' if allow_zero else '> 0'}, got {value!r}.")
    return float(value)


def _seed(seed) -> int:
    return whole_number(seed, "seed", minimum=0)


_CG_CELLS = 16_384  # padded cells per chunk of conjugate-gradient rows: [cells, 64] float32 = 4 MB, cache-sized


def _padded_chunks(sorted_counts: np.ndarray, cells: int) -> list[tuple[int, int]]:
    """Cut rows sorted by increasing length into runs ``[lo, hi)`` whose padded size ``(hi - lo) * longest``
    stays within ``cells`` (a row longer than that is a run of its own)."""
    runs, lo, n = [], 0, len(sorted_counts)
    while lo < n:
        most = max(1, min(n - lo, cells // max(int(sorted_counts[lo]), 1)))
        h = lo + np.arange(1, most + 1)
        fits = (h - lo) * sorted_counts[h - 1] <= cells
        hi = lo + max(1, int(np.count_nonzero(fits)))  # fits is True then False: padded size grows with h
        runs.append((lo, hi))
        lo = hi
    return runs


def _scatter_sum(index: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum the rows of ``values [n, d]`` that share an ``index``: returns ``(sums [m, d], distinct index [m])``,
    so ``target[distinct] += sums`` is ``np.add.at(target, index, values)`` (2-3x faster, one bincount)."""
    uniq, inv = unique_keys(index, return_inverse=True)
    d = values.shape[1]
    flat = (inv[:, None] * d + np.arange(d)).ravel()
    return np.bincount(flat, weights=values.ravel(), minlength=len(uniq) * d).reshape(-1, d), uniq


class ExplicitMF(Recommender):
    """Biased matrix factorization of explicit ratings (lesson 03).

    ``score(u, i) = mu + b_u + b_i + p_u . q_i`` (a predicted rating, clipped to the training ratings' range
    when ``clip``), with ``P [num_users, embedding_dim]``, ``Q [num_items, embedding_dim]``. Trained by SGD on
    shuffled minibatches of ``batch_size`` ratings: per rating with error ``e = r - r_hat``,
    ``b_u += lr (e - reg b_u)``, ``p_u += lr (e q_i - reg p_u)`` (and the same for ``b_i``, ``q_i``); the
    updates of one minibatch are summed, so ``lr`` means what it means in per-rating SGD.

    ``fit(split_or_frame, validation=frame_with_ratings)``; ``history`` is a DataFrame ``epoch, train_rmse,
    valid_rmse`` (NaN without validation), one row per epoch: the learning curve of lesson 03.
    Defaults tuned on ml-latest-small (random 80/20 split: RMSE 0.86 against 1.05 for the global mean).
    """

    name = "ExplicitMF"

    def __init__(
        self,
        embedding_dim: int = 64,
        reg: float = 0.1,
        epochs: int = 20,
        lr: float = 0.02,
        seed: int = 0,
        *,
        batch_size: int = 512,
        init_std: float = 0.1,
        clip: bool = True,
        num_users: int | None = None,
        num_items: int | None = None,
    ):
        super().__init__(num_users, num_items)
        self.embedding_dim = check_k(embedding_dim, "embedding_dim")
        self.reg = _positive(reg, "reg", allow_zero=True)
        self.epochs = check_k(epochs, "epochs")
        self.lr = _positive(lr, "lr")
        self.seed = _seed(seed)
        self.batch_size = check_k(batch_size, "batch_size")
        self.init_std = _positive(init_std, "init_std", allow_zero=True)
        self.clip = bool(clip)
        self.history = pd.DataFrame(columns=["epoch", "train_rmse", "valid_rmse"])

    # ------------------------------------------------------------------ training
    def _fit(self, user_idx, item_idx, rating, validation: pd.DataFrame | None = None):
        if rating is None:
            raise ValueError(
                "ExplicitMF learns ratings, but the training table has no 'rating' column. "
                "Use ImplicitALS for implicit feedback."
            )
        if not np.all(np.isfinite(rating)):
            raise ValueError("The training ratings hold NaN or infinite values.")
        valid = None
        if validation is not None:
            if not isinstance(validation, pd.DataFrame) or not {"user_idx", "item_idx", "rating"} <= set(
                validation.columns
            ):
                raise ValueError("validation must be a DataFrame with user_idx, item_idx and rating (e.g. split.test).")
            vu, vi = check_indices(
                validation["user_idx"].to_numpy(), validation["item_idx"].to_numpy(), self.num_users, self.num_items
            )
            valid = (vu, vi, validation["rating"].to_numpy(np.float64))
        rng = np.random.default_rng(self.seed)
        d = self.embedding_dim
        r = rating.astype(np.float64)
        self.rating_range = (float(r.min()), float(r.max()))
        self.global_mean = float(r.mean())
        self.user_bias = np.zeros(self.num_users)
        self.item_bias = np.zeros(self.num_items)
        self._p = rng.normal(0.0, self.init_std, (self.num_users, d))
        self._q = rng.normal(0.0, self.init_std, (self.num_items, d))
        n, lr, reg = len(r), self.lr, self.reg
        rows = []
        for epoch in range(1, self.epochs + 1):
            order = rng.permutation(n)
            for lo in range(0, n, self.batch_size):  # minibatches: vectorized within, sequential across
                b = order[lo : lo + self.batch_size]
                u, i = user_idx[b], item_idx[b]
                pu, qi = self._p[u], self._q[i]
                e = r[b] - (self.global_mean + self.user_bias[u] + self.item_bias[i] + np.einsum("nd,nd->n", pu, qi))
                # one scatter per side: column 0 = the bias step, columns 1.. = the factor step
                gu = np.concatenate([(e - reg * self.user_bias[u])[:, None], e[:, None] * qi - reg * pu], axis=1)
                gi = np.concatenate([(e - reg * self.item_bias[i])[:, None], e[:, None] * pu - reg * qi], axis=1)
                du, uu = _scatter_sum(u, lr * gu)
                di, ii = _scatter_sum(i, lr * gi)
                self.user_bias[uu] += du[:, 0]
                self._p[uu] += du[:, 1:]
                self.item_bias[ii] += di[:, 0]
                self._q[ii] += di[:, 1:]
            if not np.all(np.isfinite(self._p)):
                raise ValueError(f"SGD diverged at epoch {epoch} (NaN factors): lower lr (now {lr}).")
            train_rmse = self._rmse(user_idx, item_idx, r)
            valid_rmse = self._rmse(*valid) if valid is not None else np.nan
            rows.append({"epoch": epoch, "train_rmse": train_rmse, "valid_rmse": valid_rmse})
        self.history = pd.DataFrame(rows)

    def _rmse(self, u, i, r) -> float:
        return float(np.sqrt(np.mean((self._predict(u, i) - r) ** 2)))

    def _predict(self, u, i):
        s = self.global_mean + self.user_bias[u] + self.item_bias[i] + np.einsum("nd,nd->n", self._p[u], self._q[i])
        return np.clip(s, *self.rating_range) if self.clip else s

    # ------------------------------------------------------------------ scoring
    def _score(self, user_idx, item_idx):
        return self._predict(user_idx, item_idx)

    def _score_all(self, user_idx):
        s = self.global_mean + self.user_bias[user_idx, None] + self.item_bias[None, :] + self._p[user_idx] @ self._q.T
        return np.clip(s, *self.rating_range) if self.clip else s

    @property
    def user_factors(self):
        """``P``: float ``[num_users, embedding_dim]`` (None before fitting)."""
        return getattr(self, "_p", None)

    @property
    def item_factors(self):
        """``Q``: float ``[num_items, embedding_dim]`` (None before fitting)."""
        return getattr(self, "_q", None)


class ImplicitALS(Recommender):
    """Weighted matrix factorization for implicit feedback by alternating least squares (lesson 03;
    Hu, Koren & Volinsky, "Collaborative Filtering for Implicit Feedback Datasets", ICDM 2008).

    Minimises ``sum over ALL (u, i) of c_ui (p_ui - x_u . y_i)^2 + reg (|X|^2 + |Y|^2)`` with preference
    ``p_ui = 1`` where the user interacted (else 0) and confidence ``c_ui = 1 + alpha * r_ui`` (``r_ui = 1``,
    or the rating when ``use_ratings``; 1 for the empty cells). With ``Y`` fixed each user has a closed form,
    ``x_u = (Y^T C_u Y + reg I)^{-1} Y^T C_u p_u``, and ``Y^T C_u Y = Y^T Y + Y^T (C_u - I) Y`` where ``C_u - I``
    is non-zero only on the user's items; then the same for the items with ``X`` fixed.

    ``solver="exact"`` solves every ``d x d`` system directly (the paper's method); ``"cg"`` (default) takes
    ``cg_steps`` conjugate-gradient steps per sweep from the previous factors, which reaches the same quality
    in a fraction of the time (Takacs, Pilaszy & Tikk 2011, as in the ``implicit`` library). Conjugate gradient
    rather than batched direct solves or per-row Gram matrices: a CG step costs O(nnz d) where building the
    ``d x d`` systems costs O(nnz d^2), and 3 steps from the previous sweep's factors reach the same HR@10 as
    ``implicit`` (``benchmarks/results/scale.md``). ``dtype="float32"`` (default, as ``implicit``) halves the
    memory traffic of the CG steps; the factors are kept and scored in float64. ``"exact"`` runs in float64.

    ``score(u, i) = x_u . y_i`` (float, about 1 for a predicted interaction, about 0 otherwise).
    ``history`` is a DataFrame ``iteration, loss`` (the objective above, never increasing).
    Defaults tuned on ml-latest-small (leave-last-one-out, rating >= 3.5).
    """

    name = "iALS"  # the course's name for it (ncf_helpers.registry)

    def __init__(
        self,
        embedding_dim: int = 64,
        reg: float = 50.0,
        alpha: float = 10.0,
        iterations: int = 15,
        seed: int = 0,
        *,
        solver: str = "cg",
        cg_steps: int = 3,
        use_ratings: bool = False,
        init_std: float = 0.01,
        dtype: str = "float32",
        num_users: int | None = None,
        num_items: int | None = None,
    ):
        super().__init__(num_users, num_items)
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' (default: half the memory traffic) or 'float64', got {dtype!r}.")
        self.dtype = dtype
        if solver not in ("cg", "exact"):
            raise ValueError(
                f"solver must be 'cg' (conjugate gradient, fast) or 'exact' (direct solves), got {solver!r}."
            )
        self.solver = solver
        self.cg_steps = check_k(cg_steps, "cg_steps")
        self.embedding_dim = check_k(embedding_dim, "embedding_dim")
        self.reg = _positive(reg, "reg")
        self.alpha = _positive(alpha, "alpha", allow_zero=True)
        self.iterations = check_k(iterations, "iterations")
        self.seed = _seed(seed)
        self.use_ratings = bool(use_ratings)
        self.init_std = _positive(init_std, "init_std")
        self.history = pd.DataFrame(columns=["iteration", "loss"])

    def _fit(self, user_idx, item_idx, rating):
        if self.use_ratings and rating is None:
            raise ValueError("use_ratings=True needs a 'rating' column in the training table.")
        keys, first = unique_keys(user_idx * self.num_items + item_idx, return_index=True)
        u, i = keys // self.num_items, keys % self.num_items
        strength = rating[first].astype(np.float64) if self.use_ratings else np.ones(len(keys))
        if np.any(strength < 0) or not np.all(np.isfinite(strength)):
            raise ValueError("Interaction strengths (ratings) must be finite and >= 0.")
        # Confidence minus one, alpha * r_ui, on the observed cells only: the sparse part of C_u - I.
        c1 = sp.csr_matrix((self.alpha * strength, (u, i)), shape=(self.num_users, self.num_items))
        c1t = c1.T.tocsr()
        rng = np.random.default_rng(self.seed)
        d = self.embedding_dim
        dtype = np.float64 if self.solver == "exact" else np.dtype(self.dtype)
        x = rng.normal(0.0, self.init_std, (self.num_users, d)).astype(dtype)
        y = rng.normal(0.0, self.init_std, (self.num_items, d)).astype(dtype)
        rows = []
        # conjugate gradient's chunks depend only on where the cells are: built once per side, not per sweep
        layout = (None, None) if self.solver == "exact" else (self._cg_layout(c1, dtype), self._cg_layout(c1t, dtype))
        for it in range(1, self.iterations + 1):
            x = self._solve(y, c1, x, chunks=layout[0])
            if self.solver == "exact":
                y = self._solve(x, c1t, y)
                loss = self._loss(x, y, c1)
            else:  # the item sweep also returns the loss terms of the stored cells, from its own gathers
                y, cells = self._solve(x, c1t, y, cell_terms=True, chunks=layout[1])
                loss = self._loss_from_cells(x, y, cells)
            rows.append({"iteration": it, "loss": loss})
        # scored in float64 (score() and score_all() then agree to the last bit whatever the solver's dtype)
        self._x, self._y = x.astype(np.float64), y.astype(np.float64)
        self.history = pd.DataFrame(rows)

    def _solve(self, other: np.ndarray, c1: sp.csr_matrix, current: np.ndarray, cell_terms: bool = False, chunks=None):
        """Least-squares factors for every row of ``c1`` (users, or items with ``c1.T``) given the other side's
        factors ``other [m, d]``: for row ``u`` solve ``A_u x_u = b_u`` with

        ``A_u = O^T O + reg I + sum_i c1_ui o_i o_i^T`` (``O^T O`` shared by all rows; the sum only over the
        row's stored cells) and ``b_u = sum_i (1 + c1_ui) o_i`` (the preference is 1 exactly there).
        Computed in ``other``'s dtype. With ``cell_terms`` (conjugate gradient only) also returns
        ``sum over stored cells of (1 + c1) (1 - s)^2 - s^2`` for the new factors (``s = x_u . o_i``), the part of
        :meth:`_loss` that needs the cells. ``chunks``: :meth:`_cg_layout` of ``c1`` if already built.
        """
        gram = other.T @ other + self.reg * np.eye(other.shape[1], dtype=other.dtype)  # Y^T Y + reg I, once per sweep
        if self.solver == "exact":
            conf = c1.copy()
            conf.data = conf.data + 1.0  # c_ui on the stored cells
            b = np.asarray(conf @ other)  # [n, d] = Y^T C_u p_u
            return self._solve_exact(other, c1, gram, b)
        if chunks is None:
            chunks = self._cg_layout(c1, other.dtype)
        out, cells = self._solve_cg(other, c1.shape[0], gram, current, chunks)
        return (out, cells) if cell_terms else out

    @staticmethod
    def _solve_exact(other, c1, gram, b, chunk: int = 2048):
        """Direct solves. ``sum_i c1_ui o_i o_i^T`` for all rows is ``c1 @ (o_i o_i^T)`` flattened, built one row
        of the ``d x d`` matrices at a time (``d`` sparse-dense products: a loop over the embedding dimension,
        not over users or items), in chunks of rows to bound memory. Rows with no stored cell have ``b = 0``,
        hence ``x = 0``, and are skipped."""
        n, d = c1.shape[0], other.shape[1]
        out = np.zeros((n, d))
        rows = np.flatnonzero(np.diff(c1.indptr))
        for lo in range(0, len(rows), chunk):
            idx = rows[lo : lo + chunk]
            block = c1[idx]
            a = np.empty((len(idx), d, d))
            for j in range(d):  # Y^T (C_u - I) Y, one row of each d x d matrix per product
                a[:, j, :] = block @ (other * other[:, j : j + 1])
            a += gram
            out[idx] = np.linalg.solve(a, b[idx, :, None])[:, :, 0]
        return out

    def _solve_cg(self, other, n, gram, x, chunks):
        """A few conjugate-gradient steps from the current factors ``x`` (Takacs, Pilaszy & Tikk 2011, as in
        ``implicit``), for every row of ``c1``. ``A_u v = (O^T O + reg I) v + sum_i c1_ui (o_i . v) o_i``: the
        second term touches only the row's stored cells, so a step costs O(nnz d + n d^2) instead of the
        O(nnz d^2 + n d^3) of the direct solves. Each step lowers the objective, so it still decreases.
        Returns ``(factors [n, d], cell loss terms)`` (see :meth:`_solve`).

        Layout: the rows are sorted by their number of cells and cut into chunks of about ``_CG_CELLS`` cells;
        a chunk of ``B`` rows of at most ``L`` cells gathers its cells' vectors once into ``O [B, L, d]``
        (padding has confidence 0), and every step is two batched matrix products, ``O @ v`` (the dots
        ``o_i . v``) and ``(c1 * dots) @ O``, on an array that stays in the CPU cache for all the steps. A row
        with no stored cell has ``b = 0``, hence ``x = 0`` exactly (on ml-latest-small about 40% of the items
        have no positive in training)."""
        d = other.shape[1]
        dtype = other.dtype
        gram = gram.astype(dtype)
        out = np.zeros((n, d), dtype=dtype)
        cells = 0.0
        for rows, mask, columns, c, weight in chunks:
            o = other[columns]  # [B, L, d]: the only gather a sweep needs
            b = np.matmul(weight[:, None, :], o)[:, 0, :]  # Y^T C_u p_u

            def matvec(v, o=o, c=c):  # o, c: this block's (bound now, not by the loop)
                dots = np.matmul(o, v[:, :, None])[:, :, 0]  # [B, L]: o_i . v
                return np.matmul(v[:, None, :], gram)[:, 0, :] + np.matmul((c * dots)[:, None, :], o)[:, 0, :], dots

            xc = x[rows].astype(dtype)
            ax, sc = matvec(xc)  # sc: o_i . x for the cells, kept up to date below for the loss terms
            r = b - ax
            p = r.copy()
            rs = np.einsum("nd,nd->n", r, r)
            for _ in range(self.cg_steps):
                ap, dots = matvec(p)
                pap = np.einsum("nd,nd->n", p, ap)
                alpha = np.divide(rs, pap, out=np.zeros_like(rs), where=pap > 1e-30)
                xc += alpha[:, None] * p
                sc += alpha[:, None] * dots  # o . (x + alpha p) without another [B, L, d] product
                r -= alpha[:, None] * ap
                rs_new = np.einsum("nd,nd->n", r, r)
                beta = np.divide(rs_new, rs, out=np.zeros_like(rs), where=rs > 1e-30)
                p = r + beta[:, None] * p
                rs = rs_new
            out[rows] = xc
            sc = sc.astype(np.float64)
            cells += float(np.sum(np.where(mask, (1.0 + c) * (1.0 - sc) ** 2 - sc**2, 0.0)))
        return out, cells

    @staticmethod
    def _cg_layout(c1: sp.csr_matrix, dtype) -> list:
        """The chunks of :meth:`_solve_cg` for the rows of ``c1``: ``(rows, mask [B, L], columns [B, L], c1 [B, L],
        (1 + c1) on the cells [B, L])`` each. They depend only on ``c1``'s sparsity, the same in every sweep, so
        :meth:`_fit` builds them once per side instead of once per sweep."""
        counts = np.diff(c1.indptr)
        order = np.argsort(counts, kind="stable")
        order = order[counts[order] > 0]
        chunks = []
        for lo, hi in _padded_chunks(counts[order], _CG_CELLS):
            rows = order[lo:hi]
            cnt = counts[rows]
            pos = np.arange(int(cnt.max()))
            mask = pos[None, :] < cnt[:, None]  # [B, L]
            at = np.minimum(c1.indptr[rows][:, None] + pos[None, :], c1.indptr[rows + 1][:, None] - 1)
            c = np.where(mask, c1.data[at], 0.0).astype(dtype)  # c1 on the cells, 0 on the padding
            chunks.append((rows, mask, c1.indices[at], c, ((c + 1.0) * mask).astype(dtype)))
        return chunks

    def _loss_from_cells(self, x, y, cells: float) -> float:
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        total = np.sum((x64.T @ x64) * (y64.T @ y64)) + cells
        return float(total + self.reg * (np.sum(x64**2) + np.sum(y64**2)))

    def _loss(self, x, y, c1) -> float:
        """The full weighted objective without touching the empty cells one by one:
        ``sum_all s^2 = trace(X^T X Y^T Y)``, corrected on the stored cells where ``p = 1`` and ``c = 1 + c1``."""
        s = np.einsum("nd,nd->n", np.repeat(x, np.diff(c1.indptr), axis=0), y[c1.indices])
        total = np.sum((x.T @ x) * (y.T @ y))
        total += np.sum((1.0 + c1.data) * (1.0 - s) ** 2 - s**2)
        return float(total + self.reg * (np.sum(x**2) + np.sum(y**2)))

    def _score(self, user_idx, item_idx):
        return np.einsum("nd,nd->n", self._x[user_idx], self._y[item_idx])

    def _score_all(self, user_idx):
        return self._x[user_idx] @ self._y.T

    @property
    def user_factors(self):
        """``X``: float ``[num_users, embedding_dim]`` (None before fitting)."""
        return getattr(self, "_x", None)

    @property
    def item_factors(self):
        """``Y``: float ``[num_items, embedding_dim]`` (None before fitting)."""
        return getattr(self, "_y", None)
