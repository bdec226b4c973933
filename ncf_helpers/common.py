"""One helper per mechanism the whole package shares: top-k, whole-number parameters, atomic file writes and
latency timing. No TensorFlow, no pandas: everything else imports it (the bottom layer of the dependency
contract in ``pyproject.toml``).

* :func:`top_k` - the one ranking rule: the ``k`` largest scores, best first, **ties broken by the lower
  index** (exactly what a stable ``np.argsort(-scores)[:k]`` gives, in ``O(n)`` per row instead of
  ``O(n log n)``). ``recommend``, the serving indexes and the lessons' experiments all call it, so the same
  scores give the same list everywhere (lesson 02 defines top-K lists; lesson 05 serves them).
* :func:`whole_number` - the one check for count and seed parameters (``k``, ``num_epochs``, ``seed``, ...):
  an ``int``, a NumPy integer or a float with no fraction (``10.0``, which a slider or a ``1e1`` may give) is
  accepted and returned as ``int``; ``True``, ``3.5``, ``"10"``, ``NaN`` and values below ``minimum`` are
  rejected with a message naming the parameter. The same rule as the integer columns of a ratings file
  (``ncf_helpers.data.checks.check_integer_column``).
* :func:`atomic_write` / :func:`atomic_path` - write a file so that a reader never sees half of it: into a
  temporary file in the same folder, then ``os.replace`` (atomic on POSIX and Windows); on failure the
  temporary file is removed and the previous file, if any, is untouched. Files get mode ``0o644`` less the
  umask (``mkstemp`` alone would leave them private, ``0o600``).
* :func:`set_seed` - the one seeding call: Python's ``random``, NumPy's global generator and, once Keras is
  imported, Keras and TensorFlow (``keras.utils.set_random_seed``). The course's own randomness (negatives,
  splits, synthetic data) uses explicit ``numpy.random.default_rng(seed)`` generators instead, so it does not
  depend on what ran before.
* :func:`latency_ms` - milliseconds per call of one or several functions, taking turns, after a warm-up.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

__all__ = [
    "REFERENCE_POSITIVES",
    "REFERENCE_RATINGS",
    "atomic_path",
    "atomic_write",
    "epochs_at_scale",
    "latency_ms",
    "set_seed",
    "top_k",
    "whole_number",
]


# ----------------------------------------------------------------------------------------------------- top-k
def top_k(scores, k: int) -> np.ndarray:
    """Indices of the ``k`` largest entries of ``scores``, best first; ties go to the lower index.

    ``scores``: float ``[n]`` or ``[rows, n]`` (a row per user). Returns int64 ``[min(k, n)]`` or
    ``[rows, min(k, n)]``. ``-inf`` marks an excluded item (seen in training, the query item itself): it ranks
    after every finite score and is returned only when fewer than ``k`` items are left. NaN is rejected (a
    NaN score has no rank; it usually means a diverged model).

    The rule is that of a stable sort, ``np.argsort(-scores, kind="stable")[:k]``, computed in linear time:
    ``np.partition`` finds the ``k``-th largest value ``v``; every score above ``v`` is in, and of the scores
    equal to ``v`` the lowest indices fill the remaining places; only those ``k`` are then sorted.

    >>> top_k(np.array([0.1, 0.9, 0.5, 0.9]), 2)  # two 0.9s: index 1 before index 3
    array([1, 3])
    >>> top_k(np.array([0.5, 0.5, 0.5, 0.2]), 2)  # a tie across the cut: the lower indices win
    array([0, 1])
    """
    s = np.asarray(scores)
    if s.ndim not in (1, 2):
        raise ValueError(f"scores must be [n] or [rows, n], got shape {s.shape}.")
    k = whole_number(k, "k")
    one = s.ndim == 1
    s = s[None, :] if one else s
    rows, n = s.shape
    k = min(k, n)
    if s.dtype.kind not in "if":  # bools, unsigned (whose negation wraps around), objects
        s = s.astype(np.float64)
    if s.dtype.kind == "f" and np.isnan(s).any():
        r, c = np.argwhere(np.isnan(s))[0]
        where = f"position {c}" if one else f"row {r}, position {c}"
        raise ValueError(f"scores contain NaN (first at {where}); a NaN score cannot be ranked.")
    if k == 0 or rows == 0:
        out = np.empty((rows, k), dtype=np.int64)
    elif k == n:
        out = np.argsort(-s, axis=1, kind="stable")
    else:
        v = -np.partition(-s, k - 1, axis=1)[:, k - 1 : k]  # [rows, 1]: the k-th largest score of each row
        above = s > v
        tied = s == v
        need = k - above.sum(axis=1, keepdims=True)  # places left for scores equal to v
        keep = above | (tied & (np.cumsum(tied, axis=1) <= need))  # exactly k per row, lowest tied indices
        picked = np.nonzero(keep)[1].reshape(rows, k)  # ascending index within each row
        order = np.argsort(-np.take_along_axis(s, picked, axis=1), axis=1, kind="stable")
        out = np.take_along_axis(picked, order, axis=1)
    out = out.astype(np.int64, copy=False)
    return out[0] if one else out


# ------------------------------------------------------------------------------------------- whole numbers
def whole_number(value, name: str, *, minimum: int = 1, hint: str = "") -> int:
    """``value`` as an ``int`` if it is a whole number ``>= minimum``, else a ``ValueError`` naming ``name``.

    Accepted: ``int``, NumPy integers, floats with no fraction (``10.0``). Rejected: booleans, fractions,
    NaN and infinity, text, ``None``, values below ``minimum``. ``hint`` is appended to the message (what the
    parameter means, e.g. ``"the number of epochs"``).

    >>> whole_number(10.0, "num_epochs")
    10
    >>> whole_number(0, "seed", minimum=0)
    0
    """
    ok = False
    if isinstance(value, (bool, np.bool_)):
        ok = False
    elif isinstance(value, (int, np.integer)):
        ok = True
    elif isinstance(value, (float, np.floating)):
        ok = math.isfinite(value) and float(value).is_integer()
    if not ok or int(value) < minimum:
        lowest = {0: "a whole number >= 0", 1: "a positive whole number"}.get(minimum, f"a whole number >= {minimum}")
        example = max(minimum, 10) if minimum > 0 else 0
        extra = f" ({hint})" if hint else ""
        raise ValueError(f"{name} must be {lowest}{extra}, e.g. {name}={example}; got {value!r}.")
    return int(value)


# ------------------------------------------------------------------------------------------------- seeding
def set_seed(seed) -> int:
    """Seed Python's ``random``, NumPy's global generator and, if Keras is imported, Keras/TensorFlow.

    ``seed``: a whole number ``>= 0`` (:func:`whole_number`). Returns it as an ``int``. Keras is seeded through
    ``keras.utils.set_random_seed`` only when something already imported it (this module never imports
    TensorFlow), so the models' builders and ``train`` call this after their own ``import keras``. Lessons
    01 and 04.
    """
    seed = whole_number(seed, "seed", minimum=0)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.utils.set_random_seed(seed)
    return seed


# ------------------------------------------------------------------------------------------- atomic writes
@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, mode: int = 0o644) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block ends without an error, it replaces ``path``.

    For writers that need a file name (``model.save``, ``nbformat.write``, ``zipfile``). Creates the parent
    folder. On an error the temporary file is removed and ``path`` is as it was. The file gets ``mode`` less
    the process umask. The temporary name ends in ``path``'s suffix (``.model.x1y2.tmp.keras``), since some
    writers check it.

    >>> with atomic_path(folder / "model.keras") as tmp:  # doctest: +SKIP
    ...     model.save(tmp)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, mode & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write(path: str | os.PathLike, data: str | bytes, *, mode: int = 0o644, encoding: str = "utf-8") -> Path:
    """Write ``data`` (text, UTF-8, or bytes) to ``path`` through :func:`atomic_path`. Returns ``path``."""
    target = Path(path)
    with atomic_path(target, mode=mode) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            with open(tmp, "w", encoding=encoding, newline="") as fh:
                fh.write(data)
    return target


# ------------------------------------------------------------------------------------------------- latency
def latency_ms(fns: dict[str, Callable[[int], object]], repeats: int, warmup: int = 1) -> dict[str, np.ndarray]:
    """Milliseconds of ``repeats`` calls ``fn(r)`` (``r = 0 .. repeats - 1``) of every function in ``fns``.

    Each function is first called ``warmup`` times (tracing, caches, lazy allocation). The functions take
    turns, so a burst of other work on the machine slows all of them alike instead of whichever happened to
    be running. Returns ``{label: float64 [repeats]}``; report medians and p95, not means (lessons 05, 07).
    """
    repeats = whole_number(repeats, "repeats")
    warmup = whole_number(warmup, "warmup", minimum=0)
    for fn in fns.values():
        for w in range(warmup):
            fn(w)
    out = {label: np.empty(repeats) for label in fns}
    for r in range(repeats):
        for label, fn in fns.items():
            t0 = time.perf_counter()
            fn(r)
            out[label][r] = (time.perf_counter() - t0) * 1000.0
    return out


# ------------------------------------------------------------------------------------------ training budget
REFERENCE_POSITIVES = 60_500
"""Training positives of ml-latest-small under lessons 04-05's split (leave-last-one-out of the ratings >= 3.5,
a validation and a test item per user held out): the data the epoch counts of ``ncf_helpers.models.DEFAULTS``
and of the lessons were tuned on (74 Adam steps of 4096 rows per epoch, with 4 sampled negatives each)."""

REFERENCE_RATINGS = 100_836
"""ml-latest-small's ratings: the reference of :func:`epochs_at_scale` for a whole data set (lesson 03's
explicit MF, trained on star ratings rather than positives)."""


def epochs_at_scale(epochs: int, data, *, minimum: int = 1) -> int:
    """The number of epochs that gives a model at least as many optimizer steps on ``data`` as ``epochs`` epochs
    give it on ml-latest-small: ``ceil(epochs * reference / size)``, at least ``minimum``, never more than
    ``epochs``. On ml-latest-small itself, or anything smaller, it returns ``epochs`` unchanged. Lessons 03-05,
    and ``ncf_helpers.models.train`` / ``fit_model`` / ``fit_retrieval`` for the epochs they default to.

    ``data``: a ``Split`` (size = its training positives, ``label == 1`` rows if it has labels; reference
    :data:`REFERENCE_POSITIVES`), a ``Dataset`` (size = its ratings; reference :data:`REFERENCE_RATINGS`) or the
    number of training positives (int). Why steps and not epochs: on 13x the data an epoch is 13x the steps,
    and on the synthetic set of ML-1M's shape (``benchmarks/results/epochs_at_scale.md``, seed 0, 6,000
    validation users) the tuned counts over-train most models: validation HR@10 after the scaled count vs the
    default count, MF (dot) 0.789 (2 epochs) vs 0.725 (20), GMF 0.789 vs 0.726, NeuMF 0.785 (1) vs 0.762 (12),
    the two-tower 0.779 (2) vs 0.762 (15). The MLP is the exception and pays for the shorter budget: 0.709
    after 2 epochs, 0.755 after 20.
    """
    epochs = whole_number(epochs, "epochs")
    minimum = whole_number(minimum, "minimum")
    reference = REFERENCE_POSITIVES
    if isinstance(data, (int, np.integer)) and not isinstance(data, bool):
        size = whole_number(int(data), "data", hint="(the number of training positives)")
    elif hasattr(data, "train") and hasattr(data, "num_items"):  # a Split
        train = data.train
        size = max(int((train["label"] == 1).sum()) if "label" in train.columns else len(train), 1)
    elif hasattr(data, "ratings") and hasattr(data, "num_ratings"):  # a Dataset
        size, reference = max(int(data.num_ratings), 1), REFERENCE_RATINGS
    else:
        raise ValueError(
            f"epochs_at_scale() takes a Split, a Dataset or a number of positives, got {type(data).__name__}."
        )
    scaled = -(-epochs * reference // size)  # ceil
    return int(min(epochs, max(minimum, scaled)))
