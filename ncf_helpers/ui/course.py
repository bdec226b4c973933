"""The course map of ``lessons/00_start_here.ipynb``: one box per lesson, the weakness that leads to the next.

matplotlib only; the input is a small DataFrame the start page builds (one row per lesson).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ncf_helpers.ui.plots import OKABE_ITO, finish, new_figure, styled

__all__ = ["plot_course_map"]


@styled
def plot_course_map(course: pd.DataFrame, *, title: str = "The path through the course"):
    """Lessons as boxes from left to right (top row 01-03, bottom row 04-06), each with its number, title, idea
    and time; the arrow into the next lesson carries the weakness that motivates it. Lesson 00.

    ``course``: DataFrame with columns ``lesson`` (e.g. ``"01"``), ``title``, ``idea``, ``weakness`` (what the
    lesson's model cannot do, shown on the arrow to the next lesson; empty for the last), ``minutes`` (time to
    work through it) and ``run_seconds`` (time the notebook takes to run).
    """
    need = ("lesson", "title", "idea", "weakness", "minutes", "run_seconds")
    missing = [c for c in need if c not in getattr(course, "columns", [])]
    if missing:
        raise ValueError(f"course lacks column(s) {missing}; it needs {list(need)}.")
    n = len(course)
    if n == 0:
        raise ValueError("course is empty: one row per lesson.")
    per_row = int(np.ceil(n / 2))
    fig, ax = new_figure(width=9.5, height=5.4)
    ax.set_xlim(0, per_row)
    ax.set_ylim(0, 2)
    ax.axis("off")
    from matplotlib.patches import FancyBboxPatch

    centres = []
    for k, row in enumerate(course.itertuples(index=False)):
        r, c = divmod(k, per_row)
        x, y = c + 0.5, 1.5 - r
        centres.append((x, y))
        color = OKABE_ITO[k % len(OKABE_ITO)]
        ax.add_patch(
            FancyBboxPatch(
                (x - 0.42, y - 0.3),
                0.84,
                0.6,
                boxstyle="round,pad=0.0,rounding_size=0.04",
                fc=color,
                ec=color,
                alpha=0.18,
                lw=1.5,
            )
        )
        ax.text(x, y + 0.22, f"{row.lesson} · {row.title}", ha="center", va="center", fontsize=9.5, fontweight="bold")
        ax.text(x, y + 0.02, _wrap(str(row.idea), 34), ha="center", va="center", fontsize=7.8)
        ax.text(
            x,
            y - 0.22,
            f"~{int(row.minutes)} min to work through · runs in ~{int(round(row.run_seconds))} s",
            ha="center",
            va="center",
            fontsize=7.2,
            color="#444",
        )
    for k in range(n - 1):
        (x0, y0), (x1, y1) = centres[k], centres[k + 1]
        weakness = str(course.iloc[k]["weakness"])
        if y0 == y1:
            ax.annotate(
                "", xy=(x1 - 0.43, y1), xytext=(x0 + 0.43, y0), arrowprops=dict(arrowstyle="-|>", lw=1.2, color="#333")
            )
            tx, ty = (x0 + x1) / 2, y0 - 0.36
        else:  # from the end of the top row down, across, and down into the start of the bottom row
            mid = (y0 + y1) / 2
            ax.plot([x0, x0, x1], [y0 - 0.31, mid, mid], color="#333", lw=1.2)
            ax.annotate(
                "", xy=(x1, y1 + 0.31), xytext=(x1, mid), arrowprops=dict(arrowstyle="-|>", lw=1.2, color="#333")
            )
            tx, ty = (x0 + x1) / 2, mid
        if weakness and weakness != "nan":
            ax.text(
                tx,
                ty,
                _wrap(weakness, 40),
                ha="center",
                va="center",
                fontsize=7.3,
                color="#B00020",
                style="italic",
                bbox=dict(fc="white", ec="none", pad=1.5),
            )
    total_min = int(course["minutes"].sum())
    total_run = float(course["run_seconds"].sum()) / 60
    ax.text(
        per_row / 2,
        0.02,
        f"In all about {total_min / 60:.1f} hours of work; running every notebook takes about "
        f"{total_run:.0f} minutes. Red: what each model cannot do, which the next lesson fixes.",
        ha="center",
        va="bottom",
        fontsize=8,
        color="#444",
    )
    return finish(fig, title)


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    if line:
        lines.append(line)
    return "\n".join(lines)
