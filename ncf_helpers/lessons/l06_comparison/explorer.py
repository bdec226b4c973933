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
* :func:`reference_models` - popularity, ItemCF and iALS fitted once per split and kernel (shared with
  the interaction explorer's reference bars).

Then :class:`ProtocolExplorer`, the widget (an :class:`~ncf_helpers.ui.base.Explorer`). numpy/scipy only:
Keras models are scored through their ``score_all``, once.
"""

from __future__ import annotations

import html

import ipywidgets as W
import pandas as pd

from ncf_helpers.evaluate import DEFAULT_NEGATIVES, max_negatives, protocol_curve
from ncf_helpers.lessons.l04_neuralcf.explorer import explorer_split, reference_models
from ncf_helpers.ui.base import Explorer, Progress

__all__ = ["ProtocolExplorer"]


# ---------------------------------------------------------------------------------------------- the widget
def _verdict(at: pd.DataFrame, metric: str, k: int, n: str) -> str:
    cands = int(at["candidates"].iloc[0])
    values = at.set_index("model")[metric]
    if metric.startswith("hr@") and cands <= k:
        return (
            f"With {cands} candidates every one of them is in the top {k}: <b>every model scores HR@{k} = 1</b>, "
            "the metric says nothing."
        )
    best, worst = values.idxmax(), values.idxmin()
    where = "against all items" if n == "all" else f"against {n} sampled negatives"
    return (
        f"{where.capitalize()}: best {html.escape(best)} ({values[best]:.3f}), worst {html.escape(worst)} "
        f"({values[worst]:.3f}); the gap is {values[best] - values[worst]:.3f}."
    )


class ProtocolExplorer(Explorer):
    """Lesson 06's slider: number of sampled negatives from 1 to all items, watch HR@10 inflate.

    ``ProtocolExplorer(models=None, split=None, *, dataset=None, negatives=DEFAULT_NEGATIVES, k=10,
    fast=False, curve=None)``

    * ``models`` - ``{name: fitted model}`` (default: :func:`reference_models` of the split);
    * ``split`` - a leave-last-one-out split (default: the interaction explorer's split of ``dataset``);
    * ``curve`` - a :func:`protocol_curve` result the lesson already computed (then nothing is recomputed).

    The whole curve is computed once (each model scores every item once); moving the slider only redraws.
    """

    def __init__(
        self,
        models: dict | None = None,
        split=None,
        *,
        dataset=None,
        negatives=DEFAULT_NEGATIVES,
        k: int = 10,
        fast: bool = False,
        curve: pd.DataFrame | None = None,
        seed: int = 0,
        title: str | None = None,
    ):
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
            "num_negatives": W.SelectionSlider(
                options=labels,
                value=start,
                description="negatives",
                continuous_update=False,
                style={"description_width": "initial"},
                layout=W.Layout(width="480px"),
            ),
            "metric": W.ToggleButtons(
                options=[(f"HR@{k}", f"hr@{k}"), (f"NDCG@{k}", f"ndcg@{k}")],
                value=f"hr@{k}",
                style={"button_width": "80px"},
            ),
        }
        super().__init__(
            controls,
            self._compute,
            self._render,
            ("main", "summary"),
            run_label="Show",
            title=title or "",
            auto_run=True,
        )
        self.views["main"].add_class("ncf-view-protocol")
        header = W.HTML(
            f'<div style="font-size:14px"><b>{html.escape(title or "Evaluation protocol explorer")}</b> · each '
            "test user's held-out item is ranked among <i>n</i> sampled negatives (the NCF paper: 99) or among all "
            "items. Move the slider.</div>"
        )
        status = W.HBox([self.button, self.bar, self.status], layout=W.Layout(align_items="center"))
        self.widget = W.VBox(
            [
                header,
                W.HBox(list(self.controls.values())),
                status,
                self.error,
                self.views["summary"],
                self.views["main"],
            ]
        )
        self.widget.add_class("ncf-protocol-explorer")
        self.run()

    def curve(self, progress: Progress | None = None) -> pd.DataFrame:
        """The full curve (computed on first use, then kept)."""
        if self._curve is None:
            models = self.models if self.models is not None else reference_models(self.split, fast=self.fast)
            if self.models is None:
                self.models = models
            self._curve = protocol_curve(
                models, self.split, self.negatives, k=self.k, seed=self.seed, progress=progress
            )
        return self._curve

    def _compute(self, config: dict, progress: Progress) -> dict:
        curve = self.curve(progress)
        n = str(config["num_negatives"])
        at = curve[curve["num_negatives"] == n]
        if at.empty:
            raise ValueError(f"No results for {n} negatives; the curve has {sorted(curve['num_negatives'].unique())}.")
        return {"curve": curve, "num_negatives": n, "metric": config["metric"], "at": at}

    def _render(self, result: dict, _explorer=None) -> None:
        from ncf_helpers.lessons.l06_comparison.plots import plot_protocol

        self.show("main", plot_protocol(result["curve"], result["num_negatives"], metric=result["metric"], k=self.k))
        self.show_html(
            "summary",
            f'<div style="font-size:13px;padding:2px 0">'
            f"{_verdict(result['at'], result['metric'], self.k, result['num_negatives'])}</div>",
        )
