"""The shared explorer mechanism: cache, progress, disabled controls, errors shown inside the widget."""

from __future__ import annotations

import ipywidgets as W
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ncf_helpers.ui.base import Explorer, Progress, ResultCache  # noqa: E402


def _explorer():
    calls = []

    def compute(config, progress):
        calls.append(dict(config))
        progress.start(3, "working")
        seen_disabled.append(ex.button.disabled and all(c.disabled for c in ex.controls.values()))
        for _ in range(3):
            progress.update()
        if config["n"] < 0:
            raise ValueError(f"n must be >= 0, got {config['n']}")
        return config["n"] ** 2

    def render(result, explorer):
        fig, ax = plt.subplots()
        ax.bar([0], [result])
        explorer.show("main", fig)

    seen_disabled: list = []
    ex = Explorer({"n": W.IntSlider(value=2, min=-5, max=5)}, compute, render, run_label="Go")
    return ex, calls, seen_disabled


def test_run_cache_and_progress():
    ex, calls, seen_disabled = _explorer()
    assert ex.run() == 4 and not ex.last_cached
    assert seen_disabled == [True]  # controls were disabled while computing
    assert not ex.button.disabled and not ex.controls["n"].disabled  # and enabled again after
    first = ex.figures["main"]
    ex.controls["n"].value = 3
    assert ex.run() == 9 and len(calls) == 2
    assert ex.figures["main"] is not first  # the view was redrawn
    ex.controls["n"].value = 2
    assert ex.run() == 4 and ex.last_cached and len(calls) == 2  # back from the cache, no recompute
    assert ex.cache.hits == 1 and ex.cache.misses == 2
    assert "from the cache" in ex.status.value


def test_errors_are_shown_not_raised():
    ex, calls, _ = _explorer()
    ex.controls["n"].value = -1
    assert ex.run() is None
    assert "Could not run this configuration (ValueError)" in ex.error.value
    assert "n must be &gt;= 0" in ex.error.value
    assert not ex.button.disabled  # the widget stays usable
    ex.controls["n"].value = 1
    assert ex.run() == 1 and ex.error.value == ""
    assert len(ex.cache) == 1  # the failure was not cached


def test_busy_clicks_are_ignored():
    ex, calls, _ = _explorer()
    ex.busy = True
    assert ex.run() is None and calls == []


def test_result_cache_lru_and_progress_without_widgets():
    cache = ResultCache(max_items=2)
    for n in range(3):
        cache.get_or_compute({"n": n}, lambda n=n: n)
    assert {"n": 0} not in cache and {"n": 2} in cache
    p = Progress()
    p.start(2, "a")
    p.update(message="b")
    p.finish("c")
    assert p.done == 2 and p.messages == ["a", "b", "c"]
