"""Execute a lesson headless with injected parameters (used by the notebook tests and benchmarks/notebooks.py).

Every lesson has one code cell tagged ``parameters`` holding UPPER_CASE settings (``DATASET``, ``FAST``,
``SEED``, ``EPOCHS``, ...). :func:`run_lesson` copies the notebook, inserts a cell right after that one which
overrides the chosen settings (as papermill does), executes it with nbclient in a scratch folder, and returns
the executed notebook, the results the lesson recorded with :func:`ncf_helpers.lesson.record`, and timings.
A failing cell raises :class:`LessonError` with the cell's number, its source and the error.

With ``save_to=folder`` the executed notebook is also written there (``folder/<lesson>.ipynb``, atomically), with
``metadata["ncf_run"]`` saying which parameters were injected and the SHA-256 of the lesson it ran: the course site
(``site/build.py``) reuses such a copy while it is :func:`saved_run_is_current`, so the executions the tests
(``build/executed/fast/``) or ``benchmarks/notebooks.py`` (``build/executed/default/``) already paid for are not
repeated.

nbclient runs the kernel with :class:`SlicedKernelManager`, whose client's channels (:class:`SlicedChannel`) poll in
slices of 0.5 s instead of once for a whole cell time-out, so a missed zmq wake-up costs half a second, not the
time-out (see the comment above :data:`SLICE_SECONDS`). The course's nbgrader config uses the same client.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

import nbformat
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type

from .common import atomic_path
from .lesson import RECORD_ENV

__all__ = [
    "LessonError",
    "LessonRun",
    "SlicedChannel",
    "SlicedKernelClient",
    "SlicedKernelManager",
    "inject_parameters",
    "parameter_names",
    "parameters_cell",
    "run_lesson",
    "save_executed",
    "saved_run_is_current",
]


class LessonError(AssertionError):
    """A lesson cell failed; the message holds the cell number, source and error."""


@dataclass
class LessonRun:
    path: Path
    notebook: object
    records: dict
    seconds: float
    cell_seconds: list = field(default_factory=list)
    workdir: Path | None = None

    def stderr_outputs(self) -> list[tuple[int, str]]:
        """``(cell index, text)`` of every stderr stream output."""
        out = []
        for i, cell in enumerate(self.notebook.cells):
            for o in cell.get("outputs", []):
                if o.get("output_type") == "stream" and o.get("name") == "stderr":
                    out.append((i, o.get("text", "")))
        return out

    def images(self) -> list[tuple[int, bytes]]:
        """``(cell index, PNG bytes)`` of every image the lesson displayed."""
        import base64

        out = []
        for i, cell in enumerate(self.notebook.cells):
            for o in cell.get("outputs", []):
                data = o.get("data", {})
                if "image/png" in data:
                    out.append((i, base64.b64decode(data["image/png"])))
        return out


def parameters_cell(nb) -> int:
    """Index of the cell tagged ``parameters``; ``ValueError`` if there is none or more than one."""
    found = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(found) != 1:
        raise ValueError(f"A lesson needs exactly one code cell tagged 'parameters'; found {len(found)}.")
    return found[0]


def parameter_names(source: str) -> list[str]:
    """The names assigned in a parameters cell."""
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return names


def inject_parameters(nb, overrides: dict) -> None:
    """Insert a cell tagged ``injected-parameters`` after the ``parameters`` cell (in place)."""
    idx = parameters_cell(nb)
    known = parameter_names(nb.cells[idx].source)
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ValueError(f"Parameters {unknown} are not in the lesson's parameters cell (it defines {known}).")
    source = "# Injected by ncf_helpers.nbrun\n" + "\n".join(f"{k} = {v!r}" for k, v in overrides.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(idx + 1, cell)


# ---------------------------------------------------------------------------------------------- kernel client
# Why the kernel client is ours: under load, a ``zmq.asyncio`` poll sometimes misses the wake-up for a message that has
# already arrived (zmq's file descriptor is edge-triggered) and only sees the message when the poll times out. nbclient
# waits for a cell's reply with one poll as long as the whole cell time-out (minutes), so one missed wake-up froze a
# lesson test (and once ``nbgrader autograde`` of lesson 06) for up to 15 minutes with both the kernel and the client
# idle. A fresh poll sees a message that is already there, so polling in short slices notices it within
# SLICE_SECONDS. nbclient has no setting for this (its ``shell_timeout_interval`` only covers kernel_info), so the fix
# goes through the public extension points: NotebookClient(kernel_manager_class=...), the kernel manager's
# ``client_class`` and the kernel client's ``*_channel_class`` traits, and the channels' public ``get_msg(timeout)``.
SLICE_SECONDS = 0.5


class SlicedChannel(AsyncZMQSocketChannel):
    """jupyter_client's async channel whose ``get_msg(timeout)`` polls in slices of at most :data:`SLICE_SECONDS`.

    Same contract as the parent: returns the next message, raises ``queue.Empty`` when none arrives within
    ``timeout`` seconds, and waits for ever when ``timeout`` is None.
    """

    async def get_msg(self, timeout: float | None = None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = SLICE_SECONDS if deadline is None else max(0.0, min(SLICE_SECONDS, deadline - time.monotonic()))
            try:
                return await super().get_msg(timeout=left)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise


class SlicedKernelClient(AsyncKernelClient):
    """The async kernel client nbclient uses, with :class:`SlicedChannel` for every zmq channel."""

    shell_channel_class = Type(SlicedChannel)
    iopub_channel_class = Type(SlicedChannel)
    stdin_channel_class = Type(SlicedChannel)
    control_channel_class = Type(SlicedChannel)


class SlicedKernelManager(AsyncKernelManager):
    """nbclient's default kernel manager (``AsyncKernelManager``) handing out :class:`SlicedKernelClient`."""

    client_class = DottedObjectName(f"{__name__}.SlicedKernelClient", config=True)
    client_factory = Type(SlicedKernelClient, klass=AsyncKernelClient, config=True)


def run_lesson(
    path: str | Path,
    overrides: dict | None = None,
    *,
    timeout: int = 300,
    workdir: str | Path | None = None,
    allow_errors: bool = False,
    save_to: str | Path | None = None,
) -> LessonRun:
    """Execute the notebook at ``path`` with ``overrides`` for its parameters; with ``save_to`` also write the
    executed notebook into that folder (see the module docstring and :func:`save_executed`)."""
    from nbclient import NotebookClient  # imported here: nbclient takes seconds to import
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    if overrides:
        inject_parameters(nb, overrides)
    scratch = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix=f"lesson-{path.stem}-"))
    scratch.mkdir(parents=True, exist_ok=True)
    for extra in path.parent.iterdir():  # lessons may read sibling files (glossary, images)
        if extra.is_file() and extra.suffix != ".ipynb":
            shutil.copy2(extra, scratch / extra.name)
    record_file = scratch / "records.json"
    if record_file.exists():
        record_file.unlink()
    # The kernel inherits this process's environment: point it at the record file, and draw figures inline as
    # JupyterLab does (a test process may have set MPLBACKEND=Agg, under which a kernel shows no figure at all).
    env = {RECORD_ENV: str(record_file), "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    # The kernel runs in the scratch folder: a relative NCF_DATA_DIR (CI's ../shared/datasets) would silently
    # point elsewhere there and the lesson would fall back to synthetic data. Resolve it from our folder.
    data_dir = os.environ.get("NCF_DATA_DIR")
    if data_dir and not Path(data_dir).is_absolute():
        env["NCF_DATA_DIR"] = str(Path(data_dir).resolve())
    old = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        kernel_manager_class=SlicedKernelManager,
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(scratch)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:
        failing = next(
            (i for i, c in enumerate(nb.cells) if any(o.get("output_type") == "error" for o in c.get("outputs", []))),
            None,
        )
        source = nb.cells[failing].source if failing is not None else "?"
        raise LessonError(
            f"{path.name}: cell {failing} failed.\n--- cell source ---\n{source}\n--- error ---\n"
            f"{exc.ename}: {exc.evalue}"
        ) from None
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    seconds = time.perf_counter() - start
    records = json.loads(record_file.read_text()) if record_file.exists() else {}
    cell_seconds = []
    for c in nb.cells:
        meta = c.get("metadata", {}).get("execution", {})
        t0, t1 = meta.get("iopub.execute_input"), meta.get("shell.execute_reply")
        cell_seconds.append(_seconds_between(t0, t1))
    run = LessonRun(path, nb, records, seconds, cell_seconds, scratch)
    if save_to is not None:
        save_executed(run, save_to, overrides or {})
    return run


def lesson_sha256(path: str | Path) -> str:
    """SHA-256 of a lesson file's bytes (what a saved execution records, to tell when it is out of date)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_executed(run: LessonRun, folder: str | Path, overrides: dict) -> Path:
    """Write ``run.notebook`` to ``folder/<lesson file name>`` (temp file, then rename) and return the path.

    ``metadata["ncf_run"]`` records the injected ``overrides``, the lesson's SHA-256, the wall seconds and the data set
    the lesson recorded (``records['dataset']``).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.from_dict(json.loads(json.dumps(run.notebook)))  # a copy: the caller's notebook is untouched
    nb.metadata["ncf_run"] = {
        "overrides": {k: v for k, v in overrides.items()},
        "lesson_sha256": lesson_sha256(run.path),
        "seconds": round(run.seconds, 1),
        "dataset": run.records.get("dataset"),
        "executed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    target = folder / run.path.name
    with atomic_path(target) as tmp:
        nbformat.write(nb, tmp)
    return target


def saved_run_is_current(saved: str | Path, lesson: str | Path, overrides: dict | None = None) -> bool:
    """True when ``saved`` is an execution (written by :func:`save_executed`) of the current ``lesson`` file and,
    if ``overrides`` is given, with exactly those injected parameters."""
    saved = Path(saved)
    if not saved.exists():
        return False
    try:
        meta = json.loads(saved.read_text(encoding="utf-8")).get("metadata", {}).get("ncf_run", {})
    except (OSError, ValueError):
        return False
    if meta.get("lesson_sha256") != lesson_sha256(lesson):
        return False
    return overrides is None or meta.get("overrides") == dict(overrides)


def _seconds_between(t0, t1):
    if not t0 or not t1:
        return None
    from datetime import datetime

    def parse(s):
        return datetime.fromisoformat(s.replace("Z", "+00:00"))

    return (parse(t1) - parse(t0)).total_seconds()
