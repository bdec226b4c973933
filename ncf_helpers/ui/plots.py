"""Figures for the lessons: one function per figure, each returning a matplotlib ``Figure``.

Modules, one per part of the course (import the one you need; this package imports none of them, so a
module that does not exist yet never breaks ``import ncf_helpers.ui.plots``):

* :mod:`ncf_helpers.lessons.classic_plots` - lessons 01-03 (matrix, long tail, similarities, evaluation, MF);
* later modules (``neural``, ...) - lessons 04-06.

This file holds the shared style: a colour-blind-friendly palette (Okabe & Ito 2008), fixed colours per model
so a model looks the same in every lesson, a notebook-width figure factory and small text helpers.

Conventions every figure follows: at most :data:`MAX_WIDTH` inches wide (readable at notebook width), a
title, labelled axes with units, no overlapping labels (long titles are shortened with :func:`shorten`), and
the figure is closed before it is returned (so Jupyter shows it exactly once, as the cell's result).
"""

from __future__ import annotations

import functools

import matplotlib
import matplotlib.pyplot as plt

from ncf_helpers.registry import MODELS

__all__ = [
    "GREY",
    "MAX_WIDTH",
    "MODEL_COLORS",
    "OKABE_ITO",
    "check_frame",
    "color_for",
    "finish",
    "new_figure",
    "shorten",
    "style",
    "styled",
]

OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)
"""Okabe & Ito's palette: distinguishable with every common form of colour blindness. Use in this order."""

GREY = "#A0A0A0"
"""For "other", background points and reference lines."""

MODEL_COLORS = {name: model.color for name, model in MODELS.items()}
"""One colour per model name, shared by every lesson (:data:`ncf_helpers.registry.MODELS`; see :func:`color_for`)."""

MAX_WIDTH = 9.5
"""Widest figure in inches: fits a JupyterLab notebook column without scaling the text down."""

_RC = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "axes.prop_cycle": matplotlib.cycler(color=list(OKABE_ITO)),
    "image.cmap": "viridis",
}


def style() -> dict:
    """The rcParams every course figure uses (a copy); ``with matplotlib.rc_context(style()): ...``."""
    return dict(_RC)


def styled(fn):
    """Decorator for figure functions: everything inside runs with the course style (:func:`style`)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(_RC):
            return fn(*args, **kwargs)

    return wrapper


def color_for(name: str, index: int = 0) -> str:
    """The course colour of a model ``name`` (e.g. ``"UserCF"``); unknown names get palette colour ``index``."""
    if name in MODEL_COLORS:
        return MODEL_COLORS[name]
    for key, value in MODEL_COLORS.items():  # "UserCF (pearson)" -> UserCF's colour
        if name.startswith(key):
            return value
    return OKABE_ITO[index % len(OKABE_ITO)]


def check_frame(frame, columns, what: str):
    """``frame`` itself if it is a pandas DataFrame with every column of ``columns``; else a ValueError naming
    ``what`` (the parameter) and the missing columns. Every figure function checks its input with it."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame with columns {list(columns)}, got {type(frame).__name__}.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)}.")
    return frame


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 9.0, height: float = 3.6, **kwargs):
    """``(fig, axes)`` like ``plt.subplots`` with the course style and constrained layout (no overlapping
    labels). ``width`` is capped at :data:`MAX_WIDTH` inches."""
    if width > MAX_WIDTH:
        raise ValueError(f"Figures are at most {MAX_WIDTH} inches wide (notebook width); got width={width}.")
    with matplotlib.rc_context(_RC):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained", **kwargs)
    return fig, axes


def finish(fig, title: str | None = None):
    """Set the figure title, close the figure (Jupyter then shows it once, as the cell's value) and return it."""
    if title:
        fig.suptitle(title, fontsize=_RC["figure.titlesize"], fontweight="bold")
    plt.close(fig)
    return fig


def shorten(text: str, width: int = 32) -> str:
    """``"Lord of the Rings: The Fellowship of the Ring, The (2001)"`` -> ``"Lord of the Rings: The Fell… (2001)"``.

    Keeps a trailing ``(year)``; used for tick labels so long titles never overlap.
    """
    text = str(text)
    if len(text) <= width:
        return text
    year = ""
    if text.endswith(")") and len(text) > 7 and text[-6] == "(" and text[-5:-1].isdigit():
        year, text = text[-7:], text[:-7]
    keep = max(4, width - len(year) - 1)
    return text[:keep].rstrip() + "…" + year
