"""The one caching + progress mechanism every explorer widget in the course shares.

An explorer is two plain functions plus controls:

* ``compute(config, progress) -> result`` does the work (train a model, fit MF, evaluate) for a dict of control
  values, reporting progress through a :class:`Progress`;
* ``render(result, explorer)`` draws the views (matplotlib figures, tables) into the explorer's ``Output`` areas.

:class:`Explorer` wires them to ipywidgets: a Run button, a status line, a progress bar, a readable error area,
controls disabled while work runs (so clicks don't queue up), and a :class:`ResultCache` so a configuration
computed before comes back at once. The same ``compute`` and ``render`` functions are called directly in the
lessons, so a lesson reads (and its tests run) the same without a front end; tests drive an explorer by setting
``explorer.controls[...].value`` and calling ``explorer.run()`` (what the button does).
"""

from __future__ import annotations

import hashlib
import html
import json
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import ipywidgets as W
import matplotlib.pyplot as plt
from IPython.display import display

__all__ = [
    "Explorer",
    "NULL_PROGRESS",
    "Progress",
    "ResultCache",
    "SHARED_CACHE",
    "data_key",
    "figure_png",
    "shared",
    "show_figure",
]


class ResultCache:
    """Results keyed by configuration (a JSON-able dict), least recently used dropped past ``max_items``."""

    def __init__(self, max_items: int = 32):
        self.max_items = max_items
        self._items: OrderedDict[str, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(config: dict) -> str:
        return json.dumps(config, sort_keys=True, default=str)

    def __contains__(self, config: dict) -> bool:
        return self.key(config) in self._items

    def __len__(self) -> int:
        return len(self._items)

    def get_or_compute(self, config: dict, compute: Callable[[], Any]) -> tuple[Any, bool]:
        """``(result, was_cached)``; ``compute()`` runs only on a miss, and a failure is not cached."""
        k = self.key(config)
        if k in self._items:
            self.hits += 1
            self._items.move_to_end(k)
            return self._items[k], True
        self.misses += 1
        result = compute()
        self._items[k] = result
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)
        return result, False

    def clear(self) -> None:
        self._items.clear()


class Progress:
    """Progress reporting that works with and without a front end.

    With widgets: drives an ``IntProgress`` bar and a status ``HTML`` line. Without: silent, but it still records
    ``steps`` and ``messages`` (tests read them). ``callback`` (optional) is called with ``(done, total, message)``.
    """

    def __init__(self, bar: W.IntProgress | None = None, status: W.HTML | None = None, callback=None):
        self.bar, self.status_line, self.callback = bar, status, callback
        self.total = 0
        self.done = 0
        self.messages: list[str] = []

    def start(self, total: int, message: str = "") -> None:
        self.total, self.done = max(int(total), 1), 0
        if self.bar is not None:
            self.bar.max, self.bar.value = self.total, 0
            self.bar.layout.visibility = "visible"
        self.status(message)

    def update(self, n: int = 1, message: str | None = None) -> None:
        self.done = min(self.done + n, self.total)
        if self.bar is not None:
            self.bar.value = self.done
        if message is not None:
            self.status(message)
        elif self.callback:
            self.callback(self.done, self.total, None)

    def status(self, message: str) -> None:
        if not message:
            return
        self.messages.append(message)
        if self.status_line is not None:
            self.status_line.value = html.escape(message)
        if self.callback:
            self.callback(self.done, self.total, message)

    def finish(self, message: str = "") -> None:
        self.done = self.total
        if self.bar is not None:
            self.bar.value = self.bar.max
        self.status(message)


NULL_PROGRESS = Progress()

SHARED_CACHE = ResultCache(max_items=64)
"""Results shared by every explorer (and the plain functions the lessons call): e.g. the reference models'
metrics of a split, computed once per kernel whichever explorer asks first. Keys are ``{"what": ..., ...}``
dicts; see :func:`shared`."""


def shared(what: str, key: dict, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per ``(what, key)`` for the whole kernel, then from :data:`SHARED_CACHE`."""
    result, _ = SHARED_CACHE.get_or_compute({"what": what, **key}, compute)
    return result


def data_key(data) -> str:
    """A short fingerprint of a ``Split`` (or ``Dataset``) for cache keys: name, sizes and a hash of the training
    and test rows, so two different splits never share a cached result and the same split always does."""
    parts = [
        type(data).__name__,
        str(getattr(data, "name", "")),
        str(getattr(data, "num_users", "")),
        str(getattr(data, "num_items", "")),
    ]
    digest = hashlib.sha1()
    for attr in ("train", "test", "valid", "ratings"):
        frame = getattr(data, attr, None)
        if frame is not None and hasattr(frame, "columns"):
            for col in ("user_idx", "item_idx"):
                if col in frame.columns:
                    digest.update(frame[col].to_numpy().tobytes())
            parts.append(f"{attr}={len(frame)}")
    for attr in ("test_negatives", "valid_negatives"):
        neg = getattr(data, attr, None)
        if neg is not None:
            digest.update(neg.tobytes())
    return ":".join(parts) + ":" + digest.hexdigest()[:12]


def show_figure(fig, out: W.Output | None = None) -> None:
    """Display a matplotlib figure (inside ``out`` when given) and close it so it is not shown twice."""
    if out is None:
        display(fig)
    else:
        out.clear_output(wait=True)
        with out:
            display(fig)
    plt.close(fig)


def figure_png(fig, dpi: float | None = None) -> bytes:
    """The figure as PNG bytes (what the inline backend would show), and the figure closed. Explorers keep these
    bytes with a cached result, so showing it again costs no drawing (a heatmap takes most of a second)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi, facecolor="white")
    plt.close(fig)
    return buf.getvalue()


class Explorer:
    """Controls + Run button + status/progress + error area + named views, backed by a :class:`ResultCache`.

    Parameters
    ----------
    controls : ordered dict ``name -> ipywidgets control``; ``config()`` is ``{name: control.value}``.
    compute : ``compute(config, progress) -> result``.
    render : ``render(result, explorer)``; draws into ``explorer.views[name]`` (``Output`` widgets).
    views : names of the output areas, in display order.
    run_label : the button's text (e.g. "Train").
    auto_run : also run when a control changes (cheap explorers), besides the button.
    """

    def __init__(
        self,
        controls: dict[str, W.ValueWidget],
        compute: Callable[[dict, Progress], Any],
        render: Callable[[Any, Explorer], None],
        views: tuple[str, ...] = ("main",),
        *,
        run_label: str = "Run",
        title: str = "",
        cache: ResultCache | None = None,
        auto_run: bool = False,
        layout: str = "vertical",
    ):
        self.controls = dict(controls)
        self.compute_fn, self.render_fn = compute, render
        self.cache = cache if cache is not None else ResultCache()
        self.button = W.Button(description=run_label, button_style="primary", icon="play")
        self.status = W.HTML(value="Set the controls and press " + html.escape(run_label) + ".")
        self.bar = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="240px", visibility="hidden"))
        self.error = W.HTML(value="")
        self.views = {name: W.Output() for name in views}
        self.busy = False
        self.last_result: Any = None
        self.last_config: dict | None = None
        self.last_cached = False
        self.last_seconds = 0.0
        self.last_error: BaseException | None = None
        self.runs = 0
        self.renders = 0
        self.figures: dict[str, Any] = {}
        self.button.on_click(lambda _b: self.run())
        if auto_run:
            for c in self.controls.values():
                c.observe(lambda _change: self.run(), names="value")
        header = [W.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        controls_box = W.HBox(list(self.controls.values()), layout=W.Layout(flex_flow="row wrap"))
        status_box = W.HBox([self.button, self.bar, self.status])
        view_widgets = list(self.views.values())
        body = (
            W.VBox(view_widgets)
            if layout == "vertical"
            else W.GridBox(view_widgets, layout=W.Layout(grid_template_columns="repeat(2, minmax(0, 1fr))"))
        )
        self.widget = W.VBox([*header, controls_box, status_box, self.error, body])

    # ------------------------------------------------------------------ state
    def config(self) -> dict:
        return {name: c.value for name, c in self.controls.items()}

    def _set_enabled(self, enabled: bool) -> None:
        for c in (*self.controls.values(), self.button):
            c.disabled = not enabled

    # ------------------------------------------------------------------ actions
    def run(self) -> Any:
        """What the button does: compute (or fetch from the cache) and render. Errors are shown in the widget,
        never raised into the front end; the return value is the result, or ``None`` after an error."""
        if self.busy:  # a click while working is ignored, not queued
            return None
        self.busy = True
        self._set_enabled(False)
        self.error.value = ""
        progress = Progress(self.bar, self.status)
        start = time.perf_counter()
        try:
            config = self.config()  # may reject a control value (e.g. unparsable text): shown like any error
            result, cached = self.cache.get_or_compute(config, lambda: self.compute_fn(config, progress))
            self.last_result, self.last_config, self.last_cached = result, config, cached
            self.last_seconds = time.perf_counter() - start
            self.runs += 1
            self.render_fn(result, self)
            self.renders += 1
            how = "from the cache" if cached else "computed"
            progress.finish(f"Done: {how} in {self.last_seconds:.1f} s.")
            return result
        except Exception as exc:  # shown to the learner, not a dead widget
            self.show_error(exc)
            return None
        finally:
            self.bar.layout.visibility = "hidden"
            self._set_enabled(True)
            self.busy = False

    def show_error(self, exc: BaseException) -> None:
        kind = type(exc).__name__
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self.error.value = (
            '<div style="color:#b00020;border-left:4px solid #b00020;padding:4px 8px;">'
            f"<b>Could not run this configuration ({html.escape(kind)}).</b><br>{html.escape(detail)}<br>"
            "Change the settings and try again.</div>"
        )
        self.status.value = "Error: see the message above."
        self.last_error = exc

    def show(self, name: str, fig) -> None:
        """Render a matplotlib figure into view ``name`` (and remember it for tests)."""
        self.figures[name] = fig
        show_figure(fig, self.views[name])

    def show_png(self, name: str, png: bytes, figure=None) -> None:
        """Show PNG bytes (from :func:`figure_png`) in view ``name``; ``self.figures[name]`` becomes ``figure``
        when given (a freshly drawn Figure), else the bytes (shown again from a cache)."""
        from IPython.display import Image

        self.figures[name] = png if figure is None else figure
        out = self.views[name]
        out.clear_output(wait=True)
        with out:
            display(Image(data=png, format="png"))

    def show_html(self, name: str, markup: str) -> None:
        out = self.views[name]
        out.clear_output(wait=True)
        with out:
            from IPython.display import HTML

            display(HTML(markup))
        self.figures[name] = markup

    def _ipython_display_(self):
        display(self.widget)
