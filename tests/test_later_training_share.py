"""ncf_helpers.interactions.later_training_share: how much training data postdates each test row (lesson 02)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ncf_helpers.data import Split, leave_last_one_out
from ncf_helpers.interactions import later_training_share


def _split(train_times, test_times, train_labels=None) -> Split:
    train = pd.DataFrame(
        {"user_idx": np.arange(len(train_times)) % 2, "item_idx": np.arange(len(train_times)), "timestamp": train_times}
    )
    if train_labels is not None:
        train["label"] = train_labels
    test = pd.DataFrame(
        {"user_idx": np.arange(len(test_times)), "item_idx": np.arange(len(test_times)) + 50, "timestamp": test_times}
    )
    return Split(num_users=5, num_items=100, train=train, test=test)


def test_hand_worked_example():
    # training positives at 1, 2, 3, 4; test rows at 2 and 4: two of four (3, 4) are after 2, none after 4
    got = later_training_share(_split([1, 2, 3, 4], [2, 4]))
    np.testing.assert_allclose(got, [0.5, 0.0])
    # a test row before everything: all of training is later; ties (same second) do not count as later
    np.testing.assert_allclose(later_training_share(_split([5, 5, 6], [0, 5])), [1.0, 1 / 3])


def test_only_positives_count():
    # a label-0 row at time 9 is not a positive: of the positives at 1 and 3 only 3 is after 2
    got = later_training_share(_split([1, 3, 9], [2], train_labels=[1, 1, 0]))
    np.testing.assert_allclose(got, [0.5])


def test_matches_brute_force_on_leave_last_one_out(synthetic):
    split = leave_last_one_out(synthetic, num_negatives=0, threshold=3.5)
    got = later_training_share(split)
    t = split.train["timestamp"].to_numpy()
    want = [(t > x).mean() for x in split.test["timestamp"].to_numpy()]
    np.testing.assert_allclose(got, want)
    assert got.shape == (len(split.test),)
    assert got.mean() > 0.05  # a per-user split keeps other users' later positives in training


def test_clear_errors():
    bare = Split(
        num_users=2,
        num_items=2,
        train=pd.DataFrame({"user_idx": [0], "item_idx": [0]}),
        test=pd.DataFrame({"user_idx": [1], "item_idx": [1]}),
    )
    with pytest.raises(ValueError, match="timestamp"):
        later_training_share(bare)
    with pytest.raises(ValueError, match="Split"):
        later_training_share(pd.DataFrame())


def test_figure_and_bad_input():
    import matplotlib

    matplotlib.use("Agg")
    from ncf_helpers.lessons.classic_plots import plot_later_training_share

    fig = plot_later_training_share(np.array([0.1, 0.5, 0.6, 0.9]))
    ax = fig.axes[0]
    assert "52%" in fig.get_suptitle()  # the mean of the four shares
    assert sum(p.get_height() for p in ax.patches) == 4  # one count per test user
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"mean 52%", "median 55%"}
    with pytest.raises(ValueError, match="shares"):
        plot_later_training_share(np.array([0.5, 1.5]))
