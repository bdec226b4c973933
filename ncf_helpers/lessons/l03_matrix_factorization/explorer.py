"""Lesson 03's explorer: latent dimension and regularisation sliders that refit implicit ALS and redraw the
embedding map and the ranking metrics.

The plain function :func:`fit_and_describe` does the work (the lesson calls it once directly, so it reads the
same without widgets); :class:`MFExplorer` wires it to two sliders on the shared
:class:`~ncf_helpers.ui.base.Explorer` (one cache, one progress bar). ImplicitALS is used because it
refits on ml-latest-small in a second or two (a few conjugate-gradient ALS sweeps), where SGD-based
ExplicitMF needs many epochs.
"""

from __future__ import annotations

import time

import ipywidgets as W
import numpy as np

from ncf_helpers.classic import ImplicitALS
from ncf_helpers.data.checks import check_k
from ncf_helpers.evaluate import evaluate
from ncf_helpers.lessons.classic_plots import plot_mf_explorer
from ncf_helpers.ui.base import NULL_PROGRESS, Explorer, Progress, ResultCache

__all__ = ["MFExplorer", "fit_and_describe"]

EMBEDDING_DIMS = (2, 4, 8, 16, 32)
REGS = (0.1, 1.0, 10.0, 100.0, 1000.0)


def fit_and_describe(
    split,
    embedding_dim: int = 32,
    reg: float = 10.0,
    *,
    items=None,
    labels=None,
    iterations: int = 8,
    alpha: float = 10.0,
    seed: int = 0,
    k: int = 10,
    reference: dict | None = None,
    progress: Progress | None = None,
) -> dict:
    """Fit :class:`~ncf_helpers.classic.ImplicitALS` on ``split`` and collect what lesson 03's map shows.

    Parameters
    ----------
    split : a leave-last-one-out ``Split`` (with sampled negatives).
    embedding_dim, reg, iterations, alpha, seed : passed to ``ImplicitALS``.
    items : int array of the ``item_idx`` to draw on the map (default: all items).
    labels : one genre label per entry of ``items`` (see :func:`ncf_helpers.lessons.classic_plots.genre_labels`).
    reference : ``{name: hr@k}`` lines drawn next to the metrics (e.g. UserCF's HR@10).

    Returns a dict: ``config`` (``embedding_dim``, ``reg``), ``model``, ``metrics`` (``{"hr@10", "ndcg@10"}``),
    ``result`` (the :class:`~ncf_helpers.evaluate.EvalResult`), ``vectors`` (float ``[len(items),
    embedding_dim]``), ``labels``, ``reference``, ``seconds`` (fit + evaluation wall time).
    """
    progress = progress or NULL_PROGRESS
    embedding_dim = check_k(embedding_dim, "embedding_dim")
    items = np.arange(split.num_items) if items is None else np.asarray(items, dtype=np.int64)
    labels = np.full(len(items), "other", dtype=object) if labels is None else np.asarray(labels, dtype=object)
    if len(labels) != len(items):
        raise ValueError(f"labels has {len(labels)} entries for {len(items)} items; pass one label per item.")
    start = time.perf_counter()
    progress.start(2, f"Fitting ImplicitALS (embedding_dim = {embedding_dim}, reg = {reg:g}) ...")
    model = ImplicitALS(embedding_dim=embedding_dim, reg=reg, alpha=alpha, iterations=iterations, seed=seed)
    model.fit(split)
    progress.update(1, "Evaluating on the test items ...")
    result = evaluate(model, split, k=k)
    progress.update(1)
    return {
        "config": {"embedding_dim": embedding_dim, "reg": float(reg)},
        "model": model,
        "metrics": {f"hr@{k}": result.hr, f"ndcg@{k}": result.ndcg},
        "result": result,
        "vectors": model.item_factors[items],
        "labels": labels,
        "reference": dict(reference or {}),
        "seconds": time.perf_counter() - start,
    }


class MFExplorer(Explorer):
    """Lesson 03: refit implicit ALS with another ``embedding_dim`` and ``reg`` and see what changes.

    ``MFExplorer(split, items, labels, initial=result)``: ``items``/``labels`` choose the items drawn on the
    map and their genre colours (as for :func:`fit_and_describe`); ``initial`` (optional) is a result the
    lesson already computed with :func:`fit_and_describe`, put in the shared :class:`ResultCache` so the
    starting configuration appears at once. Press *Refit* after moving the sliders. Tests set
    ``explorer.controls["embedding_dim"].value = 8`` and call ``explorer.run()``.
    """

    def __init__(
        self,
        split,
        items=None,
        labels=None,
        *,
        embedding_dim: int = 32,
        reg: float = 10.0,
        embedding_dims=EMBEDDING_DIMS,
        regs=REGS,
        iterations: int = 8,
        alpha: float = 10.0,
        seed: int = 0,
        reference: dict | None = None,
        initial: dict | None = None,
        cache: ResultCache | None = None,
        run_now: bool = True,
    ):
        self.split, self.items, self.labels = split, items, labels
        self.iterations, self.alpha, self.seed, self.reference = iterations, alpha, seed, reference
        dims = sorted(set(int(d) for d in embedding_dims) | {int(embedding_dim)})
        reg_options = sorted(set(float(r) for r in regs) | {float(reg)})
        controls = {
            "embedding_dim": W.SelectionSlider(
                options=dims, value=int(embedding_dim), description="embedding_dim", continuous_update=False
            ),
            "reg": W.SelectionSlider(
                options=[(f"{r:g}", r) for r in reg_options],
                value=float(reg),
                description="reg",
                continuous_update=False,
            ),
        }
        super().__init__(
            controls,
            self._compute,
            self._render,
            views=("main",),
            run_label="Refit",
            title="Matrix factorization: latent dimension and regularisation",
            cache=cache,
        )
        if initial is not None:
            self.cache.get_or_compute(dict(initial["config"]), lambda: initial)
        if run_now:
            self.run()

    def _compute(self, config: dict, progress: Progress) -> dict:
        return fit_and_describe(
            self.split,
            config["embedding_dim"],
            config["reg"],
            items=self.items,
            labels=self.labels,
            iterations=self.iterations,
            alpha=self.alpha,
            seed=self.seed,
            reference=self.reference,
            progress=progress,
        )

    def _render(self, result: dict, explorer: Explorer) -> None:
        explorer.show("main", plot_mf_explorer(result))
