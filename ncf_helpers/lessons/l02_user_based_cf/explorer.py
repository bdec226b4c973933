"""Lesson 02's explorer: pick a user and a similarity, see the nearest neighbours and what they recommend.

Plain functions first (the lesson calls them directly, so it reads the same without widgets):

* :func:`neighbour_view` - a fitted :class:`~ncf_helpers.classic.UserCF` + a user -> neighbours, top-N
  recommendations and the "votes" matrix behind them (drawn by
  :func:`ncf_helpers.lessons.classic_plots.plot_neighbours`);
* :func:`score_arithmetic` - the arithmetic of one score, neighbour by neighbour;
* :func:`example_users` - a handful of users spread from the least to the most active.

:class:`NeighbourExplorer` wires them to controls with the shared :class:`~ncf_helpers.ui.base.Explorer`
(one cache, one progress bar). Refitting UserCF on ml-latest-small takes a fraction of a second.
"""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
import pandas as pd

from ncf_helpers.classic import UserCF
from ncf_helpers.data.checks import check_indices, check_k
from ncf_helpers.interactions import interaction_matrix
from ncf_helpers.lessons.classic_plots import plot_neighbours
from ncf_helpers.similarity import METRICS
from ncf_helpers.ui.base import Explorer, Progress, ResultCache

__all__ = ["NeighbourExplorer", "example_users", "neighbour_view", "score_arithmetic"]


def _titles(ds, items: np.ndarray) -> list[str]:
    if ds is None:
        return [f"item {i}" for i in items]
    return list(ds.title(np.asarray(items, dtype=np.int64))) if len(items) else []


def _check_model(model) -> None:
    if not isinstance(model, UserCF) or not model.fitted:
        raise ValueError("neighbour_view needs a fitted UserCF model: UserCF(k=50, similarity='cosine').fit(split).")


def neighbour_view(model: UserCF, split, user_idx: int, n: int = 10, ds=None) -> dict:
    """What user-based CF does for one user (lesson 02).

    Parameters
    ----------
    model : a fitted :class:`~ncf_helpers.classic.UserCF` (its ``neighbours [num_users, k]`` and
        ``neighbour_sims`` are used).
    split : the ``Split`` it was fitted on (its ``train`` rows give who liked what).
    user_idx : int in ``[0, num_users)``.
    n : number of recommendations (top-``n`` unseen items).
    ds : the ``Dataset``, for titles (optional).

    Returns a dict: ``user_idx``, ``similarity`` (measure name), ``k``, ``num_train`` (the user's training
    interactions), ``neighbours`` (DataFrame ``user_idx, similarity, overlap``; ``overlap`` = items both
    liked), ``recommendations`` (DataFrame ``item_idx, title, score, voters``), ``votes`` (float
    ``[n, k]``: ``sim(u, v)`` if neighbour ``v`` liked recommended item ``i``, else 0; each row sums to the
    item's score).
    """
    _check_model(model)
    n = check_k(n, "n")
    check_indices(user_idx, 0, model.num_users, 1)
    user_idx = int(user_idx)
    binary = interaction_matrix(split, binary=True)  # [num_users, num_items] training positives
    nb = model.neighbours[user_idx]
    sims = model.neighbour_sims[user_idx]
    mine = binary[user_idx]
    overlap = np.asarray(binary[nb].multiply(mine).sum(axis=1)).ravel().astype(np.int64)
    recs = model.recommend(user_idx, n)
    votes = (binary[nb][:, recs].toarray().T * sims[None, :]).astype(np.float64)  # [n, k]
    scores = model.score(np.full(len(recs), user_idx), recs)
    return {
        "user_idx": user_idx,
        "similarity": model.similarity,
        "k": int(len(nb)),
        "num_train": int(mine.nnz),
        "neighbours": pd.DataFrame({"user_idx": nb, "similarity": sims, "overlap": overlap}),
        "recommendations": pd.DataFrame(
            {
                "item_idx": recs,
                "title": _titles(ds, recs),
                "score": scores,
                "voters": (votes > 0).sum(axis=1),
            }
        ),
        "votes": votes,
    }


def score_arithmetic(model: UserCF, split, user_idx: int, item_idx: int) -> pd.DataFrame:
    """The arithmetic of one UserCF score, ``sum over neighbours v of sim(u, v) * r(v, i)`` (lesson 02).

    Returns a DataFrame with one row per neighbour of ``user_idx`` that liked ``item_idx``:
    ``neighbour, similarity, r, contribution`` (``r`` = 1, the binary interaction). Its ``contribution``
    column sums to ``model.score(user_idx, item_idx)``; neighbours who did not like the item add 0 and are
    left out.
    """
    _check_model(model)
    check_indices(user_idx, item_idx, model.num_users, model.num_items)
    binary = interaction_matrix(split, binary=True)
    nb = model.neighbours[int(user_idx)]
    sims = model.neighbour_sims[int(user_idx)]
    r = binary[nb, int(item_idx)].toarray().ravel()
    liked = r > 0
    return pd.DataFrame(
        {"neighbour": nb[liked], "similarity": sims[liked], "r": r[liked], "contribution": sims[liked] * r[liked]}
    ).reset_index(drop=True)


def example_users(split, count: int = 12, include=()) -> list[int]:
    """``count`` users spread evenly by training activity, from the least to the most active (plus
    ``include``), sorted by activity. For the explorer's drop-down."""
    activity = np.bincount(split.train_user_idx, minlength=split.num_users)
    evaluated = np.unique(split.test["user_idx"].to_numpy(np.int64))
    order = evaluated[np.argsort(activity[evaluated], kind="stable")]
    pick = order[np.unique(np.linspace(0, len(order) - 1, min(count, len(order))).round().astype(int))]
    users = np.union1d(pick, np.asarray(list(include), dtype=np.int64))
    return [int(u) for u in users[np.argsort(activity[users], kind="stable")]]


def _recommendations_html(view: dict) -> str:
    rows = "".join(
        f"<tr><td>{r + 1}</td><td>{html.escape(str(t))}</td><td>{s:.3f}</td><td>{v}</td></tr>"
        for r, (t, s, v) in enumerate(
            zip(view["recommendations"]["title"], view["recommendations"]["score"], view["recommendations"]["voters"])
        )
    )
    return (
        f"<p>user_idx {view['user_idx']} liked {view['num_train']} movies in training; "
        f"{view['k']} neighbours by {html.escape(view['similarity'])} similarity.</p>"
        "<table><tr><th>#</th><th>recommended movie</th><th>score</th><th>neighbours who liked it</th></tr>"
        f"{rows}</table>"
    )


class NeighbourExplorer(Explorer):
    """Lesson 02: choose a user, a similarity and ``k``; see the neighbours and their recommendations.

    ``NeighbourExplorer(ds, split, user_idx=...)``; controls ``user``, ``similarity``, ``k``. Each
    configuration refits :class:`~ncf_helpers.classic.UserCF` (well under a second on ml-latest-small) and
    is cached by the shared :class:`ResultCache`. Views: ``main`` (the :func:`plot_neighbours` figure) and
    ``table`` (the recommendations). ``run_now`` (default) shows the starting configuration at once;
    ``auto_run`` (default) recomputes whenever a control changes. Tests: set ``explorer.controls["similarity"].value = "jaccard"`` and
    call ``explorer.run()``.
    """

    def __init__(
        self,
        ds,
        split,
        user_idx: int | None = None,
        *,
        similarity: str = "cosine",
        k: int = 50,
        n: int = 10,
        users=None,
        cache: ResultCache | None = None,
        auto_run: bool = True,
        run_now: bool = True,
    ):
        self.ds, self.split, self.n = ds, split, check_k(n, "n")
        users = (
            list(users) if users is not None else example_users(split, include=() if user_idx is None else [user_idx])
        )
        if user_idx is None:
            user_idx = users[len(users) // 2]
        if user_idx not in users:
            users = sorted(set(users) | {int(user_idx)})
        activity = np.bincount(split.train_user_idx, minlength=split.num_users)
        options = [(f"user_idx {u} ({activity[u]} liked)", int(u)) for u in users]
        if similarity not in METRICS:
            raise ValueError(f"Unknown similarity {similarity!r}; choose one of {METRICS}.")
        controls = {
            "user": W.Dropdown(options=options, value=int(user_idx), description="user"),
            "similarity": W.ToggleButtons(options=list(METRICS), value=similarity, description="similarity"),
            "k": W.IntSlider(value=int(k), min=5, max=100, step=5, description="k neighbours", continuous_update=False),
        }
        super().__init__(
            controls,
            self._compute,
            self._render,
            views=("main", "table"),
            run_label="Show",
            title="User-based CF: neighbours and recommendations",
            cache=cache,
            auto_run=auto_run,
        )
        if run_now:  # show the starting configuration right away
            self.run()

    def _compute(self, config: dict, progress: Progress) -> dict:
        progress.start(2, f"Fitting UserCF ({config['similarity']}, k = {config['k']}) ...")
        model = UserCF(k=config["k"], similarity=config["similarity"]).fit(self.split)
        progress.update(1, "Collecting neighbours and recommendations ...")
        view = neighbour_view(model, self.split, config["user"], self.n, self.ds)
        progress.update(1)
        return view

    def _render(self, view: dict, explorer: Explorer) -> None:
        explorer.show("main", plot_neighbours(view))
        explorer.show_html("table", _recommendations_html(view))
