"""Make JupyterLab start quietly offline (run by ``make venv``; safe to run again).

The server-side news and update checks are switched off by ``make lab``'s flags; the "Would you like to get
notified about official Jupyter news?" toast is a front-end setting, which only an ``overrides.json`` in the
environment's ``share/jupyter/lab/settings`` turns off for every user of this environment.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .common import atomic_write

__all__ = ["write_overrides"]

OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def settings_dir(prefix: str | os.PathLike = sys.prefix) -> Path:
    return Path(prefix) / "share" / "jupyter" / "lab" / "settings"


def write_overrides(prefix: str | os.PathLike = sys.prefix) -> Path:
    """Merge :data:`OVERRIDES` into ``<prefix>/share/jupyter/lab/settings/overrides.json`` atomically."""
    folder = settings_dir(prefix)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "overrides.json"
    current = {}
    if path.exists():
        try:
            current = json.loads(path.read_text())
        except json.JSONDecodeError:
            current = {}
    for plugin, values in OVERRIDES.items():
        current.setdefault(plugin, {}).update(values)
    return atomic_write(path, json.dumps(current, indent=2))


if __name__ == "__main__":
    print(f"JupyterLab settings override written to {write_overrides()}")
