"""The evaluation-protocol explorer of lesson 06: how many sampled negatives is the held-out item ranked against?

The NCF paper ranks each test item among 99 sampled negatives. With fewer negatives every model's HR@10 goes
up (with 9 or fewer, *every* model scores 1.0); against all items ("full ranking") it drops, and the gaps
between models can change (Krichene & Rendle 2020). The slider goes from 1 negative to all items.

Plain functions (the lesson calls them without widgets):

* :func:`extend_negatives` - a copy of a split with more stored negatives per test row (the first ones are
  the split's own, so ``num_negatives=99`` reproduces every number of the course);
* :func:`protocol_curve` - HR@K / NDCG@K of each model for each setting, with the shared
  :func:`ncf_helpers.evaluate.evaluate` (``num_negatives=n`` uses the first ``n`` stored negatives;
  ``protocol="full"`` for all items);
* :func:`reference_models` - popularity, ItemCF and MF (ALS) fitted once per split and kernel (shared with
  the interaction explorer's reference bars).

Then :class:`ProtocolExplorer`, the widget (an :class:`~ncf_helpers.widgets.base.Explorer`). numpy/scipy only:
Keras models are scored through their ``score_all``, once.
"""

from __future__ import annotations

import dataclasses
import html

import ipywidgets as W
import numpy as np
import pandas as pd

from .base import Explorer, Progress, data_key, shared

__all__ = [
    "DEFAULT_NEGATIVES",
    "ProtocolExplorer",
    "ScoreTable",
    "extend_negatives",
    "protocol_curve",
    "reference_models",
]

DEFAULT_NEGATIVES = (1, 2, 5, 9, 19, 49, 99, 199, 499, 999, "all")
"""Settings of the slider: sampled negatives per test item (1 + n candidates), and ``"all"`` (full ranking)."""


def explorer_split(dataset, seed: int = 0, num_negatives: int = 99, threshold: float = 3.5):
    """The split the explorer scores on (lesson 04): leave-last-one-out of the positives (rating >= 3.5), with a
    validation item per user (the per-epoch curves and the bars use it; the test item stays untouched while
    you tune) and ``num_negatives`` sampled negatives per held-out item."""
    from ..data import leave_last_one_out

    return leave_last_one_out(dataset, num_negatives=num_negatives, seed=seed, threshold=threshold, validation=True)


def reference_models(split, *, fast: bool = False) -> dict:
    """``{"Popularity": ..., "ItemCF": ..., "MF (ALS)": ...}`` fitted on ``split`` (lessons 02-03's models), once
    per split and kernel. ``fast=True``: a smaller, quicker ALS (the notebook tests)."""

    def fit():
        from ..classic import ImplicitALS, ItemCF, Popularity

        als = ImplicitALS(embedding_dim=32, iterations=5) if fast else ImplicitALS()
        models = {"Popularity": Popularity(), "ItemCF": ItemCF(), "MF (ALS)": als}
        for model in models.values():
            model.fit(split)
        return models

    return shared("reference_models", {"data": data_key(split), "fast": bool(fast)}, fit)


# ---------------------------------------------------------------------------------------------- negatives
def _rows(split, which: str):
    rows = split.test if which == "test" else split.valid
    negatives = split.test_negatives if which == "test" else split.valid_negatives
    if rows is None or len(rows) == 0:
        raise ValueError(f"The split has no {which} rows; make it with leave_last_one_out(...).")
    return rows, negatives


def max_negatives(split, which: str = "test") -> int:
    """The most negatives every ``which`` row can have: items the user never interacted with (int >= 0)."""
    rows, _ = _rows(split, which)
    users = rows["user_idx"].to_numpy(np.int64)
    keys = split.positive_keys()
    known = np.searchsorted(keys, (users + 1) * split.num_items) - np.searchsorted(keys, users * split.num_items)
    return int(split.num_items - known.max())


def extend_negatives(split, num_negatives: int, *, which: str = "test", seed: int = 0):
    """A copy of ``split`` whose ``which`` rows have ``num_negatives`` stored negatives each (lesson 06).

    The split's own negatives come first, unchanged, so ``evaluate(..., num_negatives=99)`` on the copy gives
    exactly the numbers of every other lesson; the extra ones are sampled (seeded) among items the user never
    interacted with and not already in the row. Returns ``split`` itself if it already stores enough.
    """
    from ..data import sample_negatives

    rows, stored = _rows(split, which)
    have = 0 if stored is None else stored.shape[1]
    num_negatives = int(num_negatives)
    if num_negatives <= have:
        return split
    limit = max_negatives(split, which)
    if num_negatives > limit:
        raise ValueError(f"At most {limit} negatives fit every {which} row (some user has interacted with all other "
                         f"items); asked for {num_negatives}. Use fewer, or protocol='full' for all items.")
    users = rows["user_idx"].to_numpy(np.int64)
    keys = split.positive_keys()
    if have:
        # Exclude the stored negatives too; with several rows per user this is stricter than needed, never wrong.
        keys = np.union1d(keys, (users[:, None] * split.num_items + stored).reshape(-1))
    extra = sample_negatives(users, num_negatives - have, split.num_items, keys, np.random.default_rng(seed + 7919))
    wide = extra if not have else np.concatenate([stored, extra], axis=1)
    return dataclasses.replace(split, **{f"{which}_negatives": wide})


# ---------------------------------------------------------------------------------------------- scoring
class ScoreTable:
    """Every item's score for a fixed set of users, computed once with ``model.score_all`` (float64
    ``[len(users), num_items]``), behind the ``score`` / ``score_all`` interface :func:`evaluate` needs. So a
    model is run once however many protocols are evaluated (Keras MLPs are slow to score)."""

    def __init__(self, model, users, num_items: int, *, batch_users: int = 256, name: str | None = None):
        users = np.unique(np.asarray(users, dtype=np.int64))
        self.users, self.num_items = users, int(num_items)
        self.name = name or getattr(model, "name", type(model).__name__)
        table = np.empty((len(users), self.num_items), dtype=np.float64)
        for lo in range(0, len(users), batch_users):
            block = np.asarray(model.score_all(users[lo: lo + batch_users]), dtype=np.float64)
            if block.shape != (len(users[lo: lo + batch_users]), self.num_items):
                raise ValueError(f"{self.name}.score_all returned shape {block.shape}; expected "
                                 f"({len(users[lo: lo + batch_users])}, {self.num_items}).")
            table[lo: lo + len(block)] = block
        self.table = table
        self._row = np.full(int(users.max()) + 1 if len(users) else 0, -1, dtype=np.int64)
        self._row[users] = np.arange(len(users))

    def _rows_of(self, user_idx) -> np.ndarray:
        u = np.asarray(user_idx, dtype=np.int64)
        rows = np.where(u < len(self._row), self._row[np.minimum(u, len(self._row) - 1)], -1)
        if np.any(rows < 0):
            raise ValueError("ScoreTable only holds the users it was built for (the evaluated rows' users).")
        return rows

    def score(self, user_idx, item_idx) -> np.ndarray:
        return self.table[self._rows_of(user_idx), np.asarray(item_idx, dtype=np.int64)]

    def score_all(self, user_idx) -> np.ndarray:
        return self.table[self._rows_of(np.atleast_1d(user_idx))]


def protocol_curve(models: dict, split, negatives=DEFAULT_NEGATIVES, *, k: int = 10, which: str = "test",
                   seed: int = 0, progress: Progress | None = None) -> pd.DataFrame:
    """HR@k, NDCG@k, MRR and AUC of every model with 1, 2, ... sampled negatives and with all items (lesson 06).

    ``models``: ``{name: fitted model}`` (anything :func:`ncf_helpers.evaluate.evaluate` takes, with
    ``score_all``). ``negatives``: ints (sampled negatives per held-out item; the split is widened with
    :func:`extend_negatives` when it stores fewer) and ``"all"`` (``protocol="full"``). Settings larger than
    any user's number of unseen items are skipped.

    Returns a DataFrame with one row per (model, setting): ``model``, ``num_negatives`` (str: ``"99"`` or
    ``"all"``), ``candidates`` (items ranked per user: ``n + 1``, or the mean for ``"all"``), ``hr@k``,
    ``ndcg@k``, ``mrr``, ``auc`` (floats in ``[0, 1]``).
    """
    from ..evaluate import evaluate

    if not models:
        raise ValueError("protocol_curve needs at least one model: {'name': fitted_model, ...}.")
    progress = progress or Progress()
    bad = [n for n in negatives if n != "all" and not (isinstance(n, (int, np.integer)) and not isinstance(n, bool)
                                                       and n >= 1)]
    if bad:
        raise ValueError(f"negatives must be positive whole numbers or 'all'; got {bad}.")
    limit = max_negatives(split, which)
    sampled = sorted({int(n) for n in negatives if n != "all" and int(n) <= limit})
    wide = extend_negatives(split, max(sampled), which=which, seed=seed) if sampled else split
    rows, _ = _rows(split, which)
    users = rows["user_idx"].to_numpy(np.int64)
    keys = split.positive_keys()
    known = np.searchsorted(keys, (users + 1) * split.num_items) - np.searchsorted(keys, users * split.num_items)
    full_candidates = int(round(float(np.mean(split.num_items - known + 1))))
    out = []
    progress.start(len(models), "Scoring every item once per model ...")
    for name, model in models.items():
        progress.status(f"Scoring all items with {name} ...")
        table = ScoreTable(model, users, split.num_items, name=name)
        for n in sampled:
            res = evaluate(table, wide, k=k, which=which, num_negatives=n)
            out.append({"model": name, "num_negatives": str(n), "candidates": n + 1, **_pick(res.metrics, k)})
        if "all" in negatives:
            res = evaluate(table, split, protocol="full", k=k, which=which)
            out.append({"model": name, "num_negatives": "all", "candidates": full_candidates, **_pick(res.metrics, k)})
        progress.update(1)
    return pd.DataFrame(out)


def _pick(metrics: dict, k: int) -> dict:
    return {key: float(metrics[key]) for key in (f"hr@{k}", f"ndcg@{k}", "mrr", "auc")}


# ---------------------------------------------------------------------------------------------- the widget
def _verdict(at: pd.DataFrame, metric: str, k: int, n: str) -> str:
    cands = int(at["candidates"].iloc[0])
    values = at.set_index("model")[metric]
    if metric.startswith("hr@") and cands <= k:
        return (f"With {cands} candidates every one of them is in the top {k}: <b>every model scores HR@{k} = 1</b>, "
                "the metric says nothing.")
    best, worst = values.idxmax(), values.idxmin()
    where = "against all items" if n == "all" else f"against {n} sampled negatives"
    return (f"{where.capitalize()}: best {html.escape(best)} ({values[best]:.3f}), worst {html.escape(worst)} "
            f"({values[worst]:.3f}); the gap is {values[best] - values[worst]:.3f}.")


class ProtocolExplorer(Explorer):
    """Lesson 06's slider: number of sampled negatives from 1 to all items, watch HR@10 inflate.

    ``ProtocolExplorer(models=None, split=None, *, dataset=None, negatives=DEFAULT_NEGATIVES, k=10,
    fast=False, curve=None)``

    * ``models`` - ``{name: fitted model}`` (default: :func:`reference_models` of the split);
    * ``split`` - a leave-last-one-out split (default: the interaction explorer's split of ``dataset``);
    * ``curve`` - a :func:`protocol_curve` result the lesson already computed (then nothing is recomputed).

    The whole curve is computed once (each model scores every item once); moving the slider only redraws.
    """

    def __init__(self, models: dict | None = None, split=None, *, dataset=None, negatives=DEFAULT_NEGATIVES,
                 k: int = 10, fast: bool = False, curve: pd.DataFrame | None = None, seed: int = 0,
                 title: str | None = None):
        if split is None:
            if dataset is None:
                raise ValueError("ProtocolExplorer needs a split or a dataset: ProtocolExplorer(models, split).")
            split = explorer_split(dataset, seed=seed)
        self.split, self.k, self.fast, self.seed = split, int(k), bool(fast), int(seed)
        self.models = models
        if curve is not None:  # the slider offers exactly the settings the lesson computed
            for column in ("model", "num_negatives", "candidates", f"hr@{k}", f"ndcg@{k}"):
                if column not in curve.columns:
                    raise ValueError(f"curve lacks column {column!r}; pass the DataFrame protocol_curve(...) returned.")
            order = curve.drop_duplicates("num_negatives").sort_values("candidates", kind="stable")
            self.negatives = ["all" if n == "all" else int(n) for n in order["num_negatives"].astype(str)]
        else:
            limit = max_negatives(split)
            self.negatives = [n for n in negatives if n == "all" or 1 <= int(n) <= limit]
            if not self.negatives:
                raise ValueError(f"None of the settings {list(negatives)} fits this split (at most {limit} negatives).")
        self._curve = curve
        labels = [("all items" if n == "all" else str(n), str(n)) for n in self.negatives]
        start = "99" if "99" in [v for _, v in labels] else labels[len(labels) // 2][1]
        controls = {
            "num_negatives": W.SelectionSlider(options=labels, value=start, description="negatives",
                                               continuous_update=False, style={"description_width": "initial"},
                                               layout=W.Layout(width="480px")),
            "metric": W.ToggleButtons(options=[(f"HR@{k}", f"hr@{k}"), (f"NDCG@{k}", f"ndcg@{k}")],
                                      value=f"hr@{k}", style={"button_width": "80px"}),
        }
        super().__init__(controls, self._compute, self._render, ("main", "summary"), run_label="Show",
                         title=title or "", auto_run=True)
        self.views["main"].add_class("ncf-view-protocol")
        header = W.HTML(
            f'<div style="font-size:14px"><b>{html.escape(title or "Evaluation protocol explorer")}</b> · each '
            "test user's held-out item is ranked among <i>n</i> sampled negatives (the NCF paper: 99) or among all "
            "items. Move the slider.</div>")
        status = W.HBox([self.button, self.bar, self.status], layout=W.Layout(align_items="center"))
        self.widget = W.VBox([header, W.HBox(list(self.controls.values())), status, self.error,
                              self.views["summary"], self.views["main"]])
        self.widget.add_class("ncf-protocol-explorer")
        self.run()

    def curve(self, progress: Progress | None = None) -> pd.DataFrame:
        """The full curve (computed on first use, then kept)."""
        if self._curve is None:
            models = self.models if self.models is not None else reference_models(self.split, fast=self.fast)
            if self.models is None:
                self.models = models
            self._curve = protocol_curve(models, self.split, self.negatives, k=self.k, seed=self.seed,
                                         progress=progress)
        return self._curve

    def _compute(self, config: dict, progress: Progress) -> dict:
        curve = self.curve(progress)
        n = str(config["num_negatives"])
        at = curve[curve["num_negatives"] == n]
        if at.empty:
            raise ValueError(f"No results for {n} negatives; the curve has {sorted(curve['num_negatives'].unique())}.")
        return {"curve": curve, "num_negatives": n, "metric": config["metric"], "at": at}

    def _render(self, result: dict, _explorer=None) -> None:
        from ..plots.explorer import plot_protocol

        self.show("main", plot_protocol(result["curve"], result["num_negatives"], metric=result["metric"], k=self.k))
        self.show_html("summary", f'<div style="font-size:13px;padding:2px 0">'
                       f'{_verdict(result["at"], result["metric"], self.k, result["num_negatives"])}</div>')
