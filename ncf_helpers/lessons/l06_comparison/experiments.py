"""Lesson 06: every model of the course on one split, several seeds, and the evaluation protocol itself.

* :func:`compare_models` - Popularity, UserCF, ItemCF, iALS, MF (dot), GMF, MLP, NeuMF and the two-tower
  model, each with its tuned defaults, fitted on the SAME split and ranked against the SAME sampled
  negatives (the split stores them), once per model seed. Returns a tidy DataFrame (one row per model and
  seed) plus the fitted models, so the protocol section reuses them instead of training again.
* :func:`summarise`, :func:`comparison_table` - mean and spread over seeds, as numbers and as printable text.
* :func:`paired_difference` - is model A really better than model B on these test users? A paired bootstrap
  over users (the test set is small: 600 users make HR@10 uncertain by about +-0.02 on their own).
* :func:`sampled_vs_full`, :func:`kendall_tau` - does the ranking of models survive when the held-out item is
  ranked against every item instead of 99 sampled ones? (The curve itself comes from
  :func:`ncf_helpers.evaluate.protocol_curve`, the lesson's protocol explorer.)
* :func:`literature_table` - published numbers on MovieLens 1M, for orientation.
* :func:`save_recorded`, :func:`find_recorded` - the recorded run. Training the five Keras models three times
  each takes about 6 minutes on 2 CPU cores, more than a lesson should make a learner wait. ``benchmarks/
  comparison.py`` runs exactly :func:`compare_models` (and the protocol curve) on ml-latest-small and saves the
  numbers (not the data) to ``ncf_helpers/lessons/l06_comparison/recorded/``; lesson 06 uses them only when its split is
  bit-for-bit the recorded one (a fingerprint of the training rows, test rows and negatives), retrains one of
  the models live to check, and trains everything live otherwise.

Only the Keras models import TensorFlow, when they are fitted, and :func:`find_recorded` / :func:`save_recorded`,
which compare the Keras models' defaults with the recorded ones.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ncf_helpers.common import atomic_write
from ncf_helpers.registry import MODELS as MODEL_INFO

__all__ = [
    "DETERMINISTIC",
    "FAST_EPOCHS",
    "FAST_OPTIONS",
    "FAMILY",
    "PLANNED_PAIRS",
    "SAME_SIZE",
    "SAME_SIZE_MODELS",
    "labels_comparison",
    "rank_table",
    "seed_user_difference",
    "KERAS_INTERACTION",
    "MODELS",
    "RECORDED_DIR",
    "Comparison",
    "compare_models",
    "find_recorded",
    "model_settings",
    "save_recorded",
    "split_fingerprint",
    "comparison_table",
    "kendall_tau",
    "literature_table",
    "make_model",
    "paired_difference",
    "sampled_vs_full",
    "summarise",
]

MODELS = ("Popularity", "UserCF", "ItemCF", "iALS", "MF (dot)", "GMF", "MLP", "NeuMF", "Two-tower", "MF-32", "GMF-32")
"""Every model of the course, in the order the lessons introduced them, then the two same-size variants of
:data:`SAME_SIZE` (lesson 06 compares like with like)."""

KERAS_INTERACTION = {name: MODEL_INFO[name].interaction for name in MODELS if MODEL_INFO[name].interaction}
"""Display name -> ``interaction`` of :func:`ncf_helpers.models.build_model`."""

SAME_SIZE = {"MF-32": dict(embedding_dim=32, use_bias=False), "GMF-32": dict(embedding_dim=32)}
"""Options that turn ``DEFAULTS["dot"]`` and ``DEFAULTS["gmf"]`` (64-dimensional; MF with per-user and per-item
biases) into models of the size of NeuMF's two halves: 32-dimensional embeddings, no per-user or per-item
biases. With them, MF-32, GMF-32, MLP (``DEFAULTS["mlp"]``: embedding_dim 32, hidden (10, 10)) and NeuMF
(``DEFAULTS["neumf"]``: a GMF half of 32 and an MLP half of 32 with hidden (10, 10)) all have 32-dimensional ID
embeddings, and GMF-32 and MLP are NeuMF's GMF half alone and its MLP half alone (the ablation). Each keeps its
own tuned learning rate, output and epochs. Lesson 06."""

SAME_SIZE_MODELS = ("MF-32", "GMF-32", "MLP", "NeuMF")
"""The like-for-like block of lesson 06: every model with 32-dimensional user and item embeddings."""

FAST_EPOCHS = 2
"""Epochs of every Keras model when lesson 06 runs with ``FAST = True`` (the automatic tests, nbgrader)."""

FAST_OPTIONS = {"iALS": {"iterations": 4}, **{name: {"jit_compile": False} for name in KERAS_INTERACTION}}
""":func:`make_model` options with ``FAST = True``: 4 ALS sweeps, no XLA compilation (it only pays off over many
epochs). ``benchmarks/comparison.py --fast-synthetic`` records lesson 06's FAST run on the small synthetic data set
with exactly these settings, so the offline tests and nbgrader's autograde read it instead of training 24 Keras
models per notebook."""

PLANNED_PAIRS = (
    ("MF-32", "MLP", "a dot product vs the learned MLP, same embedding size (32), no biases"),
    ("NeuMF", "GMF-32", "NeuMF vs its GMF half alone: what does the MLP half add?"),
    ("NeuMF", "MLP", "NeuMF vs its MLP half alone: what does the GMF half add?"),
    ("iALS", "NeuMF", "the best dot product of lesson 03 vs the NCF paper's model"),
)
"""The differences lesson 06 tests, fixed here before any result was looked at (model A, model B, question):
the interval of :func:`seed_user_difference` decides, not the table."""

FAMILY = {name: MODEL_INFO[name].family for name in MODELS}
"""How each model combines a user and an item: no personalisation, neighbours, a (weighted) dot product of two
vectors, or a learned MLP over the pair (Rendle et al. 2020's question)."""

DETERMINISTIC = frozenset({"Popularity", "UserCF", "ItemCF"})
"""Models without a random seed: fitted once, their row repeated for every seed (spread 0)."""


# ---------------------------------------------------------------------------------------------- fitting
def make_model(name: str, split, seed: int = 0, *, epochs: int | None = None, **options):
    """Fit model ``name`` (one of :data:`MODELS`) on ``split`` with its tuned defaults; return it fitted.

    ``seed`` seeds iALS and the Keras models; ``epochs`` (Keras models only) overrides ``DEFAULTS[...]["epochs"]``;
    ``options`` go to the model's constructor (classical) or to :func:`ncf_helpers.models.fit_model` (Keras).
    The fitted model has ``name`` set to the display name. Lesson 06.
    """
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; choose from {', '.join(MODELS)}.")
    if name in KERAS_INTERACTION:
        from ncf_helpers.models import fit_model

        options = {**SAME_SIZE.get(name, {}), **options}
        rec, _ = fit_model(
            split, KERAS_INTERACTION[name], epochs=epochs, seed=int(seed), verbose=0, eval_metrics=False, **options
        )
    else:
        from ncf_helpers.classic import ImplicitALS, ItemCF, Popularity, UserCF

        if name == "iALS":
            rec = ImplicitALS(seed=int(seed), **options)
        else:
            rec = {"Popularity": Popularity, "UserCF": UserCF, "ItemCF": ItemCF}[name](**options)
        rec.fit(split)
    rec.name = name
    return rec


@dataclass
class Comparison:
    """What :func:`compare_models` returns.

    ``results``: tidy DataFrame, one row per (model, seed): ``model, family, seed, hr@10, ndcg@10, mrr, auc,
    fit_seconds, eval_seconds, deterministic`` (and ``full hr@10, full ndcg@10`` when run with ``full=True``).
    ``models``: ``{name: model fitted with the first seed}``.
    ``per_user``: ``{name: DataFrame user_idx, hr, ndcg}`` averaged over seeds (for :func:`paired_difference`).
    ``per_user_seed``: ``{name: DataFrame seed, user_idx, hr, ndcg (, full_hr, full_ndcg)}``, one row per seed
    and test user (for :func:`seed_user_difference`, which resamples users and seeds).
    ``seconds``: wall time of the whole comparison. A comparison loaded by :func:`find_recorded` has no fitted
    ``models``; its ``curve`` holds the recorded protocol curve and ``note`` says where and when it was run.
    ``protocol``: the split's protocol (``"leave_last_one_out"``, ``"temporal"``, ``"random"``).
    ``epochs``: the Keras models' epochs, as given to :func:`compare_models` (``None``: each model's default), also
    for a recorded run (lesson 06 compares it with its own before it compares a retrained model with the record).
    """

    results: pd.DataFrame
    models: dict = field(default_factory=dict)
    per_user: dict = field(default_factory=dict)
    seeds: tuple = ()
    seconds: float = 0.0
    curve: pd.DataFrame | None = None
    note: str = ""
    per_user_seed: dict = field(default_factory=dict)
    protocol: str = ""
    epochs: int | None = None

    def summary(self) -> pd.DataFrame:
        return summarise(self.results)

    def merge(self, other: Comparison) -> Comparison:
        """One comparison from two run on the same split and seeds (e.g. the classical models fitted here, then
        the Keras ones, recorded or trained). Models in both keep ``self``'s results; curves are combined."""
        if tuple(other.seeds) != tuple(self.seeds):
            raise ValueError(f"Cannot merge comparisons run with different seeds: {self.seeds} and {other.seeds}.")
        clash = set(self.results["model"]) & set(other.results["model"])
        extra = other.results[~other.results["model"].isin(clash)]
        curves = [
            c
            for c in (self.curve, None if other.curve is None else other.curve[~other.curve["model"].isin(clash)])
            if c is not None
        ]
        return Comparison(
            pd.concat([self.results, extra], ignore_index=True),
            {**other.models, **self.models},
            {**other.per_user, **self.per_user},
            self.seeds,
            self.seconds + other.seconds,
            pd.concat(curves, ignore_index=True) if curves else None,
            "; ".join(n for n in (self.note, other.note) if n),
            {**other.per_user_seed, **self.per_user_seed},
            self.protocol or other.protocol,
            self.epochs if self.epochs is not None else other.epochs,
        )

    def table(self) -> pd.DataFrame:
        return comparison_table(self.results)


def compare_models(
    split,
    names=MODELS,
    seeds=(0, 1, 2),
    *,
    k: int = 10,
    epochs: int | None = None,
    options: dict | None = None,
    full: bool = False,
    verbose: bool = True,
) -> Comparison:
    """Fit and evaluate every model in ``names`` on ``split`` once per seed in ``seeds``. Lesson 06.

    Fair by construction: one split (leave-last-one-out or the time split, its stored sampled negatives) for
    every model and seed; only the models' own randomness changes with the seed (initialisation, sampled
    training negatives, shuffling). Popularity, UserCF and ItemCF have none and are fitted once. ``epochs``
    overrides the Keras models' default number of epochs (the notebook tests' FAST mode); ``options`` maps a
    name to extra arguments for :func:`make_model`. ``full`` also ranks each test item against every item
    (``evaluate(..., protocol="full")``: columns ``full hr@k``, ``full ndcg@k``). ``verbose`` prints one line per
    model.

    Returns a :class:`Comparison`; ``results`` holds HR@k, NDCG@k, MRR, AUC (floats in ``[0, 1]``), the fit
    and evaluation times in seconds.
    """
    from ncf_helpers.evaluate import evaluate

    names = list(names)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise ValueError(f"Unknown model(s) {unknown}; choose from {', '.join(MODELS)}.")
    if not names:
        raise ValueError("compare_models needs at least one model name.")
    seeds = tuple(int(s) for s in seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be one or more distinct whole numbers, got {seeds!r}.")
    if split.test_negatives is None:
        raise ValueError(
            "The split has no stored sampled negatives: make it with leave_last_one_out(..., "
            "num_negatives=99) or temporal_split(...) so every model is ranked against the same "
            "candidates."
        )
    options = options or {}
    start = time.perf_counter()
    if any(n in KERAS_INTERACTION for n in names):
        from ncf_helpers import models as _keras_models  # noqa: F401 - import TensorFlow now, not inside the first fit's time
    rows, models, per_user, per_user_seed = [], {}, {}, {}
    for name in names:
        runs = seeds[:1] if name in DETERMINISTIC else seeds
        users = []
        for seed in runs:
            t0 = time.perf_counter()
            model = make_model(
                name, split, seed, epochs=epochs if name in KERAS_INTERACTION else None, **options.get(name, {})
            )
            fit_seconds = time.perf_counter() - t0
            res = evaluate(model, split, k=k)
            if name not in models:
                models[name] = model
            frame = res.per_user[["user_idx", "hr", "ndcg"]].copy()
            row = {
                "model": name,
                "family": FAMILY[name],
                "seed": seed,
                **{key: float(res.metrics[key]) for key in (f"hr@{k}", f"ndcg@{k}", "mrr", "auc")},
                "fit_seconds": fit_seconds,
                "eval_seconds": res.seconds,
                "deterministic": name in DETERMINISTIC,
            }
            if full:
                whole = evaluate(model, split, protocol="full", k=k)
                row[f"full hr@{k}"] = float(whole.metrics[f"hr@{k}"])
                row[f"full ndcg@{k}"] = float(whole.metrics[f"ndcg@{k}"])
                row["eval_seconds"] += whole.seconds
                got = whole.per_user.set_index("user_idx").loc[frame["user_idx"]]
                frame["full_hr"] = got["hr"].to_numpy(float)
                frame["full_ndcg"] = got["ndcg"].to_numpy(float)
            seed_frames = [frame.assign(seed=s) for s in seeds] if name in DETERMINISTIC else [frame.assign(seed=seed)]
            users += seed_frames
            rows += [dict(row, seed=s) for s in seeds] if name in DETERMINISTIC else [row]
        tidy = pd.concat(users, ignore_index=True)
        per_user_seed[name] = tidy[["seed", *[c for c in tidy.columns if c != "seed"]]]
        per_user[name] = tidy.groupby("user_idx", as_index=False)[["hr", "ndcg"]].mean()
        if verbose:
            done = pd.DataFrame(rows[-len(seeds) :])
            hr = done[f"hr@{k}"]
            spread = "(no seed)" if name in DETERMINISTIC else f"± {hr.std(ddof=1) if len(hr) > 1 else 0:.3f}"
            extra = f"  full HR@{k} {done[f'full hr@{k}'].mean():.3f}" if full else ""
            print(
                f"{name:<11} HR@{k} {hr.mean():.3f} {spread:<9}{extra}  fit {done['fit_seconds'].mean():5.1f} s"
                f"{'' if name in DETERMINISTIC else f' x {len(runs)} seeds'}",
                flush=True,
            )
    return Comparison(
        pd.DataFrame(rows),
        models,
        per_user,
        seeds,
        time.perf_counter() - start,
        per_user_seed=per_user_seed,
        protocol=split.protocol,
        epochs=None if epochs is None else int(epochs),
    )


def labels_comparison(
    split,
    names=("MF (dot)", "MLP"),
    seeds=(0, 1, 2),
    *,
    epochs: int | None = None,
    options: dict | None = None,
    verbose: bool = True,
) -> Comparison:
    """The original course's protocol for Keras models (lesson 06): trained pointwise on ``label`` (rating >=
    3.5) of a :func:`~ncf_helpers.data.random_split` (80/20 of all rating rows), no sampled negatives, with
    :data:`ncf_helpers.models.LABEL_DEFAULTS`; scored by accuracy, ROC-AUC and PR-AUC of the test rows'
    labels (``evaluate(..., protocol="labels")``). One row per (model, seed) in ``results``.
    """
    from ncf_helpers.evaluate import evaluate
    from ncf_helpers.models import LABEL_DEFAULTS, fit_model

    if split.protocol != "random" or "label" not in split.test.columns:
        raise ValueError(
            "labels_comparison needs random_split(..., threshold=3.5): a random split of rating rows "
            "with a 'label' column."
        )
    names = list(names)
    bad = [n for n in names if n not in KERAS_INTERACTION]
    if bad:
        raise ValueError(f"labels_comparison trains Keras models only; {bad} are not among {list(KERAS_INTERACTION)}.")
    seeds = tuple(int(s) for s in seeds)
    options = options or {}
    start = time.perf_counter()
    rows = []
    for name in names:
        interaction = KERAS_INTERACTION[name]
        for seed in seeds:
            t0 = time.perf_counter()
            cfg = {**SAME_SIZE.get(name, {}), **LABEL_DEFAULTS.get(interaction, {}), **options.get(name, {})}
            if epochs is not None:
                cfg["epochs"] = epochs
            rec, _ = fit_model(split, interaction, seed=seed, verbose=0, num_negatives=0, eval_metrics=False, **cfg)
            res = evaluate(rec, split, protocol="labels")
            rows.append(
                {
                    "model": name,
                    "family": FAMILY[name],
                    "seed": seed,
                    **{key: float(res.metrics[key]) for key in ("accuracy", "roc_auc", "pr_auc")},
                    "fit_seconds": time.perf_counter() - t0,
                    "deterministic": False,
                }
            )
        if verbose:
            done = pd.DataFrame(rows[-len(seeds) :])
            spread = done["roc_auc"].std(ddof=1) if len(seeds) > 1 else 0.0
            print(
                f"{name:<11} ROC-AUC {done['roc_auc'].mean():.3f} ± {spread:.3f}"
                f"  accuracy {done['accuracy'].mean():.3f}",
                flush=True,
            )
    return Comparison(pd.DataFrame(rows), {}, {}, seeds, time.perf_counter() - start, protocol="random", epochs=epochs)


# ---------------------------------------------------------------------------------------------- recorded runs
RECORDED_DIR = Path(__file__).resolve().parent / "recorded"
"""Where :func:`save_recorded` writes and :func:`find_recorded` looks: ``comparison_<dataset>.json`` (or
``.json.gz``)."""

_RECORDED_FORMAT = 2


def split_fingerprint(split) -> str:
    """16 hex digits that change when anything a comparison depends on changes: the sizes, the training rows,
    the test rows and their stored negatives (sha256 over their int64 bytes). Two splits with the same
    fingerprint give every model exactly the same data and candidates. Lesson 06."""
    import hashlib

    h = hashlib.sha256()
    h.update(f"{int(split.num_users)}x{int(split.num_items)}".encode())
    for frame in (split.train, split.test):
        for col in ("user_idx", "item_idx", "label"):  # label: a random split's rows are the same at any THRESHOLD
            if col in frame.columns:
                h.update(np.ascontiguousarray(frame[col].to_numpy(np.int64)).tobytes())
    negatives = split.test_negatives
    h.update(b"none" if negatives is None else np.ascontiguousarray(np.asarray(negatives, np.int64)).tobytes())
    return h.hexdigest()[:16]


def model_settings() -> dict:
    """The settings every model of :data:`MODELS` is fitted with (constructor defaults of the classical models,
    :data:`ncf_helpers.models.DEFAULTS` of the Keras ones), as JSON values. A recorded run stores them, and
    :func:`find_recorded` refuses it once they changed. Imports Keras."""
    import inspect

    from ncf_helpers.classic import ImplicitALS, ItemCF, Popularity, UserCF
    from ncf_helpers.models import DEFAULTS, LABEL_DEFAULTS

    out: dict = {
        "keras": {k: dict(v) for k, v in DEFAULTS.items()},
        "same_size": {k: dict(v) for k, v in SAME_SIZE.items()},
        "labels": {k: dict(v) for k, v in LABEL_DEFAULTS.items()},
    }
    for cls in (Popularity, UserCF, ItemCF, ImplicitALS):
        out[cls.__name__] = {
            n: p.default
            for n, p in inspect.signature(cls).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
    return json.loads(json.dumps(out, default=str))


def _recorded_path(dataset: str, path=None) -> Path:
    """``comparison_<dataset>.json``, or its gzipped ``.json.gz`` when only that exists (the larger records)."""
    if path is not None:
        return Path(path)
    plain = RECORDED_DIR / f"comparison_{dataset}.json"
    packed = plain.with_name(plain.name + ".gz")
    return packed if packed.exists() and not plain.exists() else plain


def _read_recorded(target: Path) -> dict:
    import gzip

    raw = target.read_bytes()
    return json.loads(gzip.decompress(raw) if target.name.endswith(".gz") else raw)


_PER_USER_COLUMNS = ("hr", "ndcg", "full_hr", "full_ndcg")


def _run_doc(comparison: Comparison, split, curve) -> dict:
    users = None
    per_user = {}
    for name, frame in (comparison.per_user_seed or {}).items():
        cols = [c for c in _PER_USER_COLUMNS if c in frame.columns]
        wide = {c: frame.pivot(index="user_idx", columns="seed", values=c).sort_index() for c in cols}
        first = next(iter(wide.values()))
        if users is None:
            users = first.index.to_numpy(np.int64)
        elif not np.array_equal(users, first.index.to_numpy(np.int64)):
            raise ValueError(f"{name!r} was evaluated on other users than the first model: one split per comparison.")
        per_user[name] = {c: [[round(float(v), 5) for v in w[s]] for s in comparison.seeds] for c, w in wide.items()}
    return {
        "fingerprint": split_fingerprint(split),
        "protocol": split.protocol,
        "test_users": int(len(split.test)),
        "seconds": round(float(comparison.seconds), 1),
        "results": json.loads(comparison.results.to_json(orient="records")),
        "per_user": {"user_idx": [] if users is None else [int(u) for u in users], "models": per_user},
        "curve": None if curve is None else json.loads(curve.to_json(orient="records")),
    }


def save_recorded(
    comparison: Comparison,
    split,
    dataset: str,
    curve: pd.DataFrame | None = None,
    *,
    epochs: int | None = None,
    info: dict | None = None,
    path=None,
    more=(),
    compress: bool = False,
) -> Path:
    """Write ``comparison`` on ``split`` (its results, per-user and per-seed hits and the protocol ``curve``;
    never the ratings) as the recorded run for ``dataset`` (``benchmarks/comparison.py``). ``more``: further
    ``(comparison, split, curve)`` triples run with the same seeds on other splits of the same data (the time
    split, the original course's random split), each found again by its split's fingerprint. ``epochs`` is
    what :func:`compare_models` was given; ``info`` free-form provenance (machine, versions, date). ``compress``:
    write ``comparison_<dataset>.json.gz`` instead (gzip, reproducible bytes), for the larger data sets. Written
    to a temp file, then renamed."""
    runs = [(comparison, split, curve), *more]
    for other, _, _ in runs[1:]:
        if tuple(other.seeds) != tuple(comparison.seeds):
            raise ValueError(f"Every recorded run needs the same seeds: {comparison.seeds} and {other.seeds}.")
    doc = {
        "format": _RECORDED_FORMAT,
        "dataset": str(dataset),
        "seeds": [int(s) for s in comparison.seeds],
        "epochs": None if epochs is None else int(epochs),
        "seconds": round(float(sum(c.seconds for c, _, _ in runs)), 1),
        "settings": model_settings(),
        "info": dict(info or {}),
        "runs": [_run_doc(c, sp, cu) for c, sp, cu in runs],
    }
    text = json.dumps(doc, separators=(",", ":"))
    if compress:
        import gzip

        target = Path(path) if path is not None else RECORDED_DIR / f"comparison_{dataset}.json.gz"
        return atomic_write(target, gzip.compress(text.encode(), compresslevel=9, mtime=0))
    return atomic_write(_recorded_path(dataset, path), text)


def find_recorded(
    split, dataset: str, names, seeds, *, epochs: int | None | tuple = None, path=None, verbose: bool = True
) -> Comparison | None:
    """The recorded run of ``names`` (e.g. the Keras models) on exactly this split, or ``None``. Lesson 06.

    It applies only when the recorded file for ``dataset`` exists, holds a run whose split fingerprint
    (:func:`split_fingerprint`) equals this split's, its ``seeds``, ``epochs`` and the models' default settings
    (:func:`model_settings`) equal this run's, and it holds every model in ``names``; otherwise ``None`` is
    returned and (``verbose``) the reason printed, so the caller trains live. ``epochs`` may be a tuple of the
    values that would do: lesson 06 passes ``(EPOCHS, epochs)``, the default run or, with ``FAST = True``, one
    trained exactly as FAST trains (recorded for the small synthetic data set, ``--fast-synthetic``).
    The :class:`Comparison` returned has the recorded ``results``, ``per_user`` and ``per_user_seed`` of those
    models, the recorded protocol ``curve`` rows of those models, no fitted models, and a ``note`` on its
    provenance.
    """
    names = list(names)
    seeds = tuple(int(s) for s in seeds)
    target = _recorded_path(dataset, path)

    def no(reason: str):
        if verbose:
            print(f"No recorded run applies ({reason}): training live.")
        return None

    if not target.exists():
        return no(f"there is none for {dataset!r}")
    try:
        doc = _read_recorded(target)
    except (OSError, ValueError, EOFError) as exc:
        return no(f"{target.name} is unreadable: {exc}")
    if doc.get("format") != _RECORDED_FORMAT:
        return no(f"{target.name} has format {doc.get('format')!r}, this code reads {_RECORDED_FORMAT}")
    mine = split_fingerprint(split)
    run = next((r for r in doc.get("runs") or () if r.get("fingerprint") == mine), None)
    if run is None:
        return no("this split differs from the recorded ones: another data version, SEED or THRESHOLD")
    if tuple(doc.get("seeds") or ()) != seeds:
        return no(f"it used seeds {tuple(doc.get('seeds') or ())}, this run asks for {seeds}")
    wanted = {None if e is None else int(e) for e in (epochs if isinstance(epochs, tuple) else (epochs,))}
    if doc.get("epochs") not in wanted:
        asked = " or ".join(f"epochs={e}" for e in sorted(wanted, key=lambda e: (e is not None, e or 0)))
        return no(f"it used epochs={doc.get('epochs')}, this run asks for {asked}")
    if doc.get("settings") != model_settings():
        return no("the models' default settings changed since it was recorded; re-run benchmarks/comparison.py")
    results = pd.DataFrame(run["results"])
    missing = [n for n in names if n not in set(results["model"])]
    if missing:
        return no(f"it lacks {missing}")
    results = results[results["model"].isin(names)].reset_index(drop=True)
    users = np.asarray(run["per_user"]["user_idx"], np.int64)
    per_user, per_user_seed = {}, {}
    for n in names:
        stored = run["per_user"]["models"].get(n)
        if not stored:
            continue
        frames = [
            pd.DataFrame({"seed": s, "user_idx": users, **{c: np.asarray(v[j], float) for c, v in stored.items()}})
            for j, s in enumerate(seeds)
        ]
        per_user_seed[n] = pd.concat(frames, ignore_index=True)
        per_user[n] = per_user_seed[n].groupby("user_idx", as_index=False)[["hr", "ndcg"]].mean()
    curve = None
    if run.get("curve"):
        curve = pd.DataFrame(run["curve"])
        curve["num_negatives"] = curve["num_negatives"].astype(str)
        curve = curve[curve["model"].isin(names)].reset_index(drop=True)
    info = doc.get("info") or {}
    where = "; ".join(str(info[k]) for k in ("machine", "versions") if info.get(k))
    note = (
        "benchmarks/comparison.py"
        + (f" on {info['date']}" if info.get("date") else "")
        + f", {run.get('seconds', 0):.0f} s"
        + (f"; {where}" if where else "")
    )
    return Comparison(
        results,
        {},
        per_user,
        seeds,
        float(run.get("seconds") or 0.0),
        curve,
        note,
        per_user_seed,
        str(run.get("protocol") or ""),
        doc.get("epochs"),
    )


# ---------------------------------------------------------------------------------------------- summaries
def _metric_columns(results: pd.DataFrame) -> list[str]:
    return [
        c
        for c in results.columns
        if c.startswith(("hr@", "ndcg@", "full hr@", "full ndcg@"))
        or c in ("mrr", "auc", "accuracy", "roc_auc", "pr_auc")
    ]


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds per model (lesson 06).

    ``results``: the tidy frame of :func:`compare_models` (``model, seed, family, hr@10, ...``). Returns a
    DataFrame indexed by model, in the order of first appearance, with ``family``, ``seeds``, ``<metric>_mean``
    and ``<metric>_std`` (sample std, ``ddof=1``; 0 for deterministic models, NaN for a single seed) for every
    metric column, and ``fit_seconds`` (mean).
    """
    if not isinstance(results, pd.DataFrame) or "model" not in results.columns:
        raise ValueError("summarise() takes the tidy DataFrame of compare_models (with a 'model' column).")
    metrics = _metric_columns(results)
    if not metrics:
        raise ValueError(f"No metric columns (hr@K, ndcg@K, mrr, auc) in {list(results.columns)}.")
    order = list(dict.fromkeys(results["model"]))
    grouped = results.groupby("model", sort=False)
    out = pd.DataFrame(index=pd.Index(order, name="model"))
    if "family" in results.columns:
        out["family"] = grouped["family"].first()
    out["seeds"] = grouped.size()
    for m in metrics:
        out[f"{m}_mean"] = grouped[m].mean()
        out[f"{m}_std"] = grouped[m].std(ddof=1)
    if "fit_seconds" in results.columns:
        out["fit_seconds"] = grouped["fit_seconds"].mean()
    return out


def comparison_table(results: pd.DataFrame, k: int = 10, sort: bool = True) -> pd.DataFrame:
    """The printable table of lesson 06: ``family``, ``HR@k`` and ``NDCG@k`` as ``"mean ± std"`` strings over
    seeds, ``fit s`` (mean seconds per fit), best HR@k first when ``sort``."""
    s = summarise(results)
    if sort:
        key = f"hr@{k}_mean" if f"hr@{k}_mean" in s.columns else "roc_auc_mean"
        s = s.sort_values(key, ascending=False, kind="stable")
    table = pd.DataFrame(index=s.index)
    if "family" in s.columns:
        table["family"] = s["family"]
    for m, label in (
        (f"hr@{k}", f"HR@{k}"),
        (f"ndcg@{k}", f"NDCG@{k}"),
        (f"full hr@{k}", f"full HR@{k}"),
        (f"full ndcg@{k}", f"full NDCG@{k}"),
        ("roc_auc", "ROC-AUC"),
        ("accuracy", "accuracy"),
    ):
        if f"{m}_mean" in s.columns:
            std = s[f"{m}_std"].fillna(0.0)
            table[label] = [f"{a:.3f} ± {b:.3f}" for a, b in zip(s[f"{m}_mean"], std)]
    table["seeds"] = s["seeds"]
    if "fit_seconds" in s.columns:
        table["fit s"] = s["fit_seconds"].round(1)
    return table


def paired_difference(per_user: dict, a: str, b: str, metric: str = "hr", *, n_boot: int = 2000, seed: int = 0) -> dict:
    """How much better is model ``a`` than model ``b`` on the same test users, and how sure are we? Lesson 06.

    ``per_user``: :attr:`Comparison.per_user` (``{name: DataFrame user_idx, hr, ndcg}``). The per-user
    difference ``a - b`` is resampled over users ``n_boot`` times (a paired bootstrap: both models keep the same
    users in every resample). Returns ``{"difference", "low", "high", "users"}``: the mean difference and its
    95 % interval. An interval that contains 0 means this test set cannot tell the two apart.
    """
    for name in (a, b):
        if name not in per_user:
            raise ValueError(f"No per-user results for {name!r}; have {sorted(per_user)}.")
    left = per_user[a].set_index("user_idx")[metric]
    right = per_user[b].set_index("user_idx")[metric]
    common = left.index.intersection(right.index)
    if len(common) == 0:
        raise ValueError(f"{a!r} and {b!r} were evaluated on different users; use one split for both.")
    diff = (left.loc[common] - right.loc[common]).to_numpy(np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(diff), size=(int(n_boot), len(diff)))
    boot = diff[idx].mean(axis=1)
    low, high = np.percentile(boot, [2.5, 97.5])
    return {"difference": float(diff.mean()), "low": float(low), "high": float(high), "users": int(len(diff))}


def seed_user_difference(
    comparison: Comparison,
    a: str,
    b: str,
    metric: str = "hr",
    *,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """Model ``a`` minus model ``b`` on the same test users, with an interval that resamples users AND seeds.

    ``comparison``: a :class:`Comparison` with ``per_user_seed`` (from :func:`compare_models` or
    :func:`find_recorded`); ``metric``: ``"hr"``, ``"ndcg"``, ``"full_hr"`` or ``"full_ndcg"``. Builds each
    model's ``[seeds, users]`` table over the users both were scored on and calls
    :func:`ncf_helpers.evaluate.paired_bootstrap`: returns its dict (``difference, low, high, users, seeds_a,
    seeds_b, excludes_zero``) plus ``a``, ``b``, ``metric``. Lesson 06.
    """
    from ncf_helpers.evaluate import paired_bootstrap

    tables = []
    for name in (a, b):
        frame = (comparison.per_user_seed or {}).get(name)
        if frame is None:
            have = sorted(comparison.per_user_seed or {})
            raise ValueError(f"No per-user, per-seed results for {name!r}; have {have}.")
        if metric not in frame.columns:
            have = [c for c in frame.columns if c not in ("seed", "user_idx")]
            raise ValueError(f"{name!r} has no per-user {metric!r}; it has {have}.")
        tables.append(frame.pivot(index="seed", columns="user_idx", values=metric))
    common = tables[0].columns.intersection(tables[1].columns)
    if len(common) == 0:
        raise ValueError(f"{a!r} and {b!r} were evaluated on different users; use one split for both.")
    out = paired_bootstrap(
        tables[0][common].to_numpy(float), tables[1][common].to_numpy(float), n_boot=n_boot, seed=seed, level=level
    )
    return {"a": a, "b": b, "metric": metric, **out}


def rank_table(scores: dict, ascending: bool = False) -> pd.DataFrame:
    """Each model's place (1 = best) under several protocols, and Kendall's tau of each against the first.

    ``scores``: ``{protocol label: Series indexed by model}`` (e.g. mean HR@10 under leave-last-one-out and
    under the time split), over the same models. Returns a DataFrame indexed by model (order of the first
    Series, best first) with one rank column per label (ties share the better place), and ``attrs["tau"]``:
    ``{label: Kendall's tau with the first label}`` (1.0 for the first). Lesson 06.
    """
    labels = list(scores)
    if len(labels) < 2:
        raise ValueError("rank_table needs scores under at least two protocols.")
    first = pd.Series(scores[labels[0]], dtype=float).sort_values(ascending=ascending, kind="stable")
    models = list(first.index)
    for lab in labels[1:]:
        missing = [m for m in models if m not in scores[lab].index]
        if missing:
            raise ValueError(f"{lab!r} has no score for {missing}; rank the same models under every protocol.")
    table = pd.DataFrame(index=pd.Index(models, name="model"))
    for lab in labels:
        v = pd.Series(scores[lab], dtype=float).reindex(models)
        table[lab] = v.rank(ascending=ascending, method="min").astype(int)
    table.attrs["tau"] = {
        lab: kendall_tau(
            pd.Series(scores[labels[0]], dtype=float).reindex(models),
            pd.Series(scores[lab], dtype=float).reindex(models),
        )
        for lab in labels
    }
    return table


# ---------------------------------------------------------------------------------------------- protocol
def sampled_vs_full(curve: pd.DataFrame, sampled="99", metric: str = "hr@10") -> pd.DataFrame:
    """Each model's ``metric`` with ``sampled`` negatives beside full ranking, and its place in each ranking.

    ``curve``: the DataFrame of :func:`ncf_helpers.evaluate.protocol_curve` (``model, num_negatives,
    candidates, hr@10, ...``; ``num_negatives`` ``"99"`` or ``"all"``). Returns a DataFrame indexed by model,
    best sampled score first: ``sampled``, ``full`` (the metric), ``rank sampled``, ``rank full`` (1 = best) and
    ``ratio`` (full / sampled: how much of the sampled number survives). Lesson 06.
    """
    need = ("model", "num_negatives", metric)
    missing = [c for c in need if c not in curve.columns]
    if missing:
        raise ValueError(f"curve lacks column(s) {missing}; pass the DataFrame protocol_curve returns.")
    n = curve["num_negatives"].astype(str)
    a = curve[n == str(sampled)].set_index("model")[metric]
    b = curve[n == "all"].set_index("model")[metric]
    if a.empty or b.empty:
        raise ValueError(
            f"curve needs rows with num_negatives={str(sampled)!r} and 'all'; it has {sorted(n.unique())}."
        )
    out = pd.DataFrame({"sampled": a, "full": b.reindex(a.index)})
    out["rank sampled"] = out["sampled"].rank(ascending=False, method="min").astype(int)
    out["rank full"] = out["full"].rank(ascending=False, method="min").astype(int)
    out["ratio"] = out["full"] / out["sampled"]
    return out.sort_values("sampled", ascending=False, kind="stable")


def kendall_tau(a, b) -> float:
    """Kendall's tau between two score vectors over the same models (float in ``[-1, 1]``): 1 = both orderings
    agree on every pair, -1 = every pair reversed. Tied pairs count 0. Lesson 06 (sampled vs full ranking)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"kendall_tau needs two 1-D arrays of the same length >= 2; got {x.shape} and {y.shape}.")
    i, j = np.triu_indices(len(x), 1)
    s = np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
    return float(s.sum() / len(s))


# ---------------------------------------------------------------------------------------------- literature
def literature_table() -> pd.DataFrame:
    """Published numbers for orientation (lesson 06). All on MovieLens 1M (6,040 users, 1,000,209 ratings, every
    rating counted as an interaction), leave-one-out with 99 sampled negatives, HR@10 / NDCG@10 (NaN where we
    quote no number).

    * He et al. 2017, "Neural Collaborative Filtering" (WWW): NeuMF with pre-training, HR@10 0.730, NDCG@10 0.447.
    * Rendle, Krichene, Zhang & Anderson 2020, "Neural Collaborative Filtering vs. Matrix Factorization
      Revisited" (RecSys): a carefully tuned dot product (matrix factorization) 0.729 against NeuMF 0.709 in
      their comparison.
    * Ferrari Dacrema, Boglio, Cremonesi & Jannach 2021, "A Troubling Analysis of Reproducibility and Progress
      in Recommender Systems Research" (TOIS): re-ran NCF with its authors' code and protocol; tuned simple
      baselines (nearest neighbours, graph-based, linear models such as SLIM, iALS) matched or beat NeuMF.
    """
    rows = [
        ("He et al. 2017", "ML-1M", "NeuMF (pre-trained)", 0.730, 0.447, "the paper's best configuration"),
        ("Rendle et al. 2020", "ML-1M", "MF (tuned dot product)", 0.729, np.nan, "same data and protocol as He et al."),
        ("Rendle et al. 2020", "ML-1M", "NeuMF", 0.709, np.nan, "as compared in that paper"),
        (
            "Dacrema et al. 2021",
            "ML-1M",
            "NeuMF vs tuned baselines",
            np.nan,
            np.nan,
            "re-run: simple tuned baselines match or beat NeuMF",
        ),
    ]
    return pd.DataFrame(rows, columns=["source", "data", "model", "hr@10", "ndcg@10", "note"])
