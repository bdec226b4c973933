"""Shared plumbing for the benchmark scripts: data loading, atomic result files, machine description."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
sys.path.insert(0, str(REPO))


def use_root(root: str) -> None:
    """Import ``ncf_helpers`` from the checkout ``root``: first on sys.path, and the editable install's import
    hook (which would always answer with this checkout) taken out."""
    sys.meta_path[:] = [
        f
        for f in sys.meta_path
        if "__editable__" not in getattr(f, "__module__", "") and "__editable__" not in type(f).__module__
    ]
    sys.path.insert(0, root)


SPEED_BASELINE = "e2a5c1d"
"""main before issue #15's compiled training loop: the "before" side of speed.py, explorer.py and notebooks.py
(``git worktree add --detach ../wt-speed-base e2a5c1d``; ``make benchmarks`` creates it)."""


def git_commit(root: Path) -> str:
    """The short commit hash checked out in ``root``."""
    return subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()


def baseline_checkout(path: str, commit: str = SPEED_BASELINE) -> tuple[Path, str]:
    """``(resolved path, its short commit)`` of a baseline checkout to compare with; exits with how to make one
    when ``path`` holds no ``ncf_helpers/``."""
    root = Path(path).resolve()
    if not (root / "ncf_helpers").is_dir():
        sys.exit(
            f"--baseline {root} has no ncf_helpers/: make the checkout to compare with there "
            f"(git worktree add --detach {path} {commit})."
        )
    return root, git_commit(root)


def load_benchmark_data(name: str = "ml-latest-small"):
    """ml-latest-small from ``$NCF_DATA_DIR`` (or the cache / a download); exits with a clear message if absent."""
    from ncf_helpers.data import DataUnavailableError, load_movielens

    try:
        return load_movielens(name)
    except DataUnavailableError as exc:
        sys.exit(f"Benchmarks run on real data.\n{exc}\nSet NCF_DATA_DIR=../shared/datasets (or where your copy is).")


def machine() -> str:
    try:
        import tensorflow as tf  # noqa: F401 - only for its version, if installed

        tf_version = tf.__version__
    except Exception:  # pragma: no cover
        tf_version = "n/a"
    return (
        f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
        f"TensorFlow {tf_version}, {time.strftime('%Y-%m-%d')}"
    )


def write_result(name: str, markdown: str) -> Path:
    """Write ``benchmarks/results/<name>.md`` atomically (temp file + rename) and return its path."""
    from ncf_helpers.common import atomic_write

    return atomic_write(RESULTS / f"{name}.md", markdown.rstrip() + "\n")


def markdown_table(frame, floatfmt: str = ".3f") -> str:
    """A pandas DataFrame as a GitHub markdown table (no tabulate dependency)."""
    cols = [frame.index.name or ""] + [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for idx, row in frame.iterrows():
        cells = [str(idx)]
        for v in row:
            cells.append(format(v, floatfmt) if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
