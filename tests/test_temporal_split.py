"""The global time split (ncf_helpers.data.temporal_split), worked out by hand on a 3-user toy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ncf_helpers.data import leave_last_one_out, temporal_split
from ncf_helpers.interactions import later_training_share

# (user, item, time) positives of the docstring's worked example, plus one low rating (label 0) of user 1 at 9
TOY = pd.DataFrame(
    [
        (0, 0, 1, 1),
        (0, 1, 2, 1),
        (0, 2, 5, 1),
        (0, 3, 6, 1),
        (1, 0, 3, 1),
        (1, 2, 4, 1),
        (2, 1, 7, 1),
        (2, 3, 8, 1),
        (1, 4, 9, 0),
    ],
    columns=["user_idx", "item_idx", "timestamp", "label"],
)


def _pairs(frame):
    return sorted(zip(frame["user_idx"].tolist(), frame["item_idx"].tolist(), frame["timestamp"].tolist()))


def test_temporal_split_by_hand():
    split = temporal_split(TOY, cutoff=5, num_negatives=0, num_users=3, num_items=6)
    # train: every positive strictly before 5, whoever made it; the label-0 row is no positive
    assert _pairs(split.train) == [(0, 0, 1), (0, 1, 2), (1, 0, 3), (1, 2, 4)]
    # test: user 0's first positive at or after 5; (0, 3, 6) is later and used by nobody
    assert _pairs(split.test) == [(0, 2, 5)]
    # user 1 has nothing after the cut-off, user 2 nothing before it
    assert split.num_skipped_users == 2
    assert split.protocol == "temporal" and split.cutoff == 5.0
    # every positive of every user, the unused later ones included, is excluded from negatives
    assert split.positive_keys().tolist() == sorted([0, 1, 2, 3, 6, 8, 13, 15])
    assert later_training_share(split).tolist() == [0.0]


def test_temporal_split_quantile_cutoff_and_ties():
    # 8 positives at times 1 2 3 4 5 6 7 8: the 0.5 quantile (method "higher") is time 5 -> the hand example
    split = temporal_split(TOY, test_fraction=0.5, num_negatives=0, num_users=3, num_items=6)
    assert split.cutoff == 5.0 and _pairs(split.test) == [(0, 2, 5)]
    # the 0.75 quantile is time 7: only user 2 has positives after it, and none before -> a clear error
    with pytest.raises(ValueError, match="No user has positives both before and after"):
        temporal_split(TOY, test_fraction=0.25, num_negatives=0, num_users=3, num_items=6)
    # a tie at the cut-off time: the smaller item_idx is the first positive after it
    tied = pd.DataFrame({"user_idx": [0, 0, 0], "item_idx": [3, 1, 0], "timestamp": [5, 5, 1]})
    s = temporal_split(tied, cutoff=5, num_negatives=0, num_users=1, num_items=4)
    assert _pairs(s.test) == [(0, 1, 5)] and _pairs(s.train) == [(0, 0, 1)]


def test_temporal_split_negatives_use_the_same_sampler(synthetic):
    split = temporal_split(synthetic, threshold=3.5, num_negatives=99, seed=3)
    assert split.test_negatives.shape == (len(split.test), 99)
    assert split.test["user_idx"].is_unique
    # never a positive of that user, at any time, and no repeats in a row
    keys = set(split.positive_keys().tolist())
    users = split.test["user_idx"].to_numpy()
    pairs = [(int(u), int(i)) for u, row in zip(users, split.test_negatives) for i in row]
    assert not any(u * split.num_items + i in keys for u, i in pairs)
    assert all(len(set(row)) == 99 for row in split.test_negatives)
    # the same seed gives the same split; every training positive predates every test row
    again = temporal_split(synthetic, threshold=3.5, num_negatives=99, seed=3)
    np.testing.assert_array_equal(split.test_negatives, again.test_negatives)
    assert split.train["timestamp"].max() < split.cutoff <= split.test["timestamp"].min()
    assert np.all(later_training_share(split) == 0.0)
    # ... which leave-last-one-out does not give on the same data
    assert later_training_share(leave_last_one_out(synthetic, threshold=3.5, num_negatives=0)).mean() > 0.05


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(test_fraction=0.0), "test_fraction must be strictly between 0 and 1"),
        (dict(test_fraction=1.0), "test_fraction must be strictly between 0 and 1"),
        (dict(cutoff=float("nan")), "cutoff must be a finite time"),
        (dict(num_negatives=-1), "num_negatives must be >= 0"),
    ],
)
def test_temporal_split_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        temporal_split(TOY, num_users=3, num_items=6, **{"num_negatives": 0, **kwargs})


def test_temporal_split_needs_timestamps():
    with pytest.raises(ValueError, match="needs a 'timestamp' column"):
        temporal_split(TOY.drop(columns="timestamp"), num_negatives=0, num_users=3, num_items=6)
