"""A learner's own ratings file (data/README.md): load_ratings_csv and load_dataset("path.csv").

Every bad input gives one exact message naming the file, the line (the header is line 1) and the column;
nothing is written anywhere (the folder holding the file is unchanged afterwards).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ncf_helpers.data import leave_last_one_out, load_dataset, load_ratings_csv

GOOD = (
    "user_id,item_id,rating,timestamp\n7,100,4.5,1000\n7,300,2.0,3000\n3,300,5.0,2000\n7,200,3.5,2000\n3,100,1.0,500\n"
)
IDS = "IDs must be whole numbers from 0 to 9,223,372,036,854,775,807 (int64), written with digits only (e.g. 42)."
TIMES = (
    "Timestamps (seconds since 1970-01-01 UTC) must be whole numbers from 0 to 9,223,372,036,854,775,807 "
    "(int64), written with digits only (e.g. 964982703)."
)
FIX = "Correct or delete that line."


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _tree(folder: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(folder)), p.stat().st_size) for p in folder.rglob("*"))


def test_a_good_file_loads_as_the_lessons_dataset(tmp_path, monkeypatch):
    path = _write(tmp_path / "mine", "my_ratings.csv", GOOD)
    before = _tree(tmp_path)
    ds = load_ratings_csv(path)
    assert _tree(tmp_path) == before  # nothing cached, nothing written next to the file
    assert ds.name == "my_ratings" and ds.source == str(path)
    assert ds.num_ratings == 5 and ds.num_users == 2 and ds.num_items == 3
    assert ds.user_ids.tolist() == [3, 7] and ds.item_ids.tolist() == [100, 200, 300]
    assert list(ds.ratings.columns) == ["user_id", "item_id", "rating", "timestamp", "user_idx", "item_idx"]
    # sorted by user, then time: user 3 rated 100 (t=500) then 300 (t=2000); user 7: 100, 200, 300
    assert ds.ratings[["user_id", "item_id"]].values.tolist() == [[3, 100], [3, 300], [7, 100], [7, 200], [7, 300]]
    assert ds.ratings["rating"].tolist() == [1.0, 5.0, 4.5, 3.5, 2.0]
    assert ds.title(0) == "item 100" and ds.has_timestamps and ds.notes == ()
    assert "1970-01-01" in ds.summary()  # t=500 s
    # the lessons' entry point: DATASET = "path/to/file.csv" (a relative path starts from the working folder)
    monkeypatch.chdir(tmp_path)
    same = load_dataset("mine/my_ratings.csv", seed=3)
    assert same.ratings.equals(ds.ratings) and same.source == str(path)
    assert load_dataset(Path("mine/my_ratings.csv")).num_ratings == 5
    # positives (rating >= 3.5): user 3 has one (300) and is not evaluated; user 7's latest positive is 200 (t=2000)
    split = leave_last_one_out(same, num_negatives=0, threshold=3.5)
    assert split.test[["user_idx", "item_idx"]].values.tolist() == [[1, 1]] and split.num_skipped_users == 1


def test_movielens_names_bom_column_order_and_extra_columns(tmp_path):
    text = "\ufefftimestamp , movieId,userId,rating,comment\n5,10,1,4.0,nice\n6,11,1,3.0,\n"
    path = _write(tmp_path, "r.csv", text)
    with pytest.raises(ValueError) as err:
        load_ratings_csv(path)
    assert str(err.value) == (
        f"{path}: line 1 (the header): unknown column(s) ['comment']. Known columns are ['user_id', 'item_id', "
        "'rating', 'timestamp'] (also accepted: userId, movieId, itemId). Remove or rename them (a misspelt "
        "'timestamp' or 'rating' would otherwise be ignored), or pass extra_columns='ignore'."
    )
    ds = load_ratings_csv(path, extra_columns="ignore")
    assert ds.ratings[["user_id", "item_id", "rating", "timestamp"]].values.tolist() == [
        [1, 10, 4.0, 5],
        [1, 11, 3.0, 6],
    ]
    assert "comment" not in ds.ratings.columns


def test_implicit_file_without_rating_or_timestamp(tmp_path):
    path = _write(tmp_path, "clicks.csv", "user_id,item_id\n1,10\n1,11\n2,10\n1,12\n")
    ds = load_ratings_csv(path)
    assert ds.ratings["rating"].tolist() == [5.0] * 4  # IMPLICIT_RATING: a positive at every lesson's threshold
    assert not ds.has_timestamps and ds.stats()["first_rating"] is None
    # row order stands in for time: user 1's last line is item 12
    assert ds.ratings.loc[ds.ratings.user_id == 1, "item_id"].tolist() == [10, 11, 12]
    assert ds.ratings.loc[ds.ratings.user_id == 1, "timestamp"].tolist() == [0, 1, 3]
    text = ds.summary()
    assert "none  (no timestamp column: the order of the rows stands in for time)" in text
    assert "note: no rating column: every line is one interaction, stored as rating 5.0 so that" in text
    split = leave_last_one_out(ds, num_negatives=0, threshold=3.5)
    assert split.test[["user_idx", "item_idx"]].values.tolist() == [[0, 2]]


def test_items_file_titles_genres_and_unknown_items(tmp_path):
    items = _write(tmp_path, "items.csv", "item_id,title,genres\n100,Alpha,Drama|Comedy\n200,Beta,\n300,Gamma,Drama\n")
    ratings = _write(tmp_path, "r.csv", GOOD)
    ds = load_ratings_csv(ratings, items=items)
    assert ds.title([0, 1, 2]) == ["Alpha", "Beta", "Gamma"]
    assert ds.items["genres"].tolist() == [["Drama", "Comedy"], [], ["Drama"]]
    assert load_dataset(str(ratings), items=items).genres == ["Comedy", "Drama"]
    short = _write(tmp_path, "short.csv", "movieId,title\n100,Alpha\n300,Gamma\n")
    with pytest.raises(ValueError) as err:
        load_ratings_csv(ratings, items=short)
    assert str(err.value) == (
        f"{ratings}: line 5, column 'item_id': item 200 is not in {short} (1 rating(s) in all refer to 1 id(s) missing "
        f"there: 200). Every rated item must be listed in {short}: add the missing items there, delete those ratings, "
        "or use a ratings file and an items file from the same release."
    )
    twice = _write(tmp_path, "twice.csv", "movieId,title\n100,Alpha\n200,Beta\n\n100,Alpha again\n")
    with pytest.raises(ValueError) as err:
        load_ratings_csv(ratings, items=twice)
    assert str(err.value) == (
        f"{twice}: line 5, column 'movieId': item 100 appears again; it first appears on line 2. "
        "Each item must be listed once: delete one of the two."
    )


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        (
            "user_id,item_id,rating\n1,99999999999999999999999,4\n",
            {},
            f"line 2, column 'item_id': '99999999999999999999999' is too large. {IDS} {FIX}",
        ),
        (
            "user_id,item_id,rating\n1,10,4\n1,3.5,4\n",
            {},
            f"line 3, column 'item_id': '3.5' is not a whole number. {IDS} {FIX}",
        ),
        (
            "user_id,item_id,rating\n1,10,4\nu2,11,4\n",
            {},
            f"line 3, column 'user_id': 'u2' is not a whole number. {IDS} {FIX} Text IDs such as 'u2' must be mapped to "
            "numbers first, e.g. with pandas: df['item_id'] = pd.factorize(df['item'])[0].",
        ),
        ("user_id,item_id,rating\n1,10,4\n1,,4\n", {}, f"line 3, column 'item_id': the cell is empty. {IDS} {FIX}"),
        ("user_id,item_id,rating\n1,10,4\n-1,11,4\n", {}, f"line 3, column 'user_id': -1 is negative. {IDS} {FIX}"),
        (
            "userId,movieId,rating,timestamp\n1,10,4,5\n\n1,11,4,-6\n",
            {},  # line 3 is blank
            f"line 4, column 'timestamp': -6 is negative. {TIMES} {FIX}",
        ),
        (
            "user_id,item_id,rating\n1,10,4\n1,11,four\n",
            {},
            f"line 3, column 'rating': 'four' is not a number. Ratings must be numbers. {FIX}",
        ),
        (
            "user_id,item_id,rating\n1,10,4\n1,11,\n",
            {},
            f"line 3, column 'rating': the cell is empty. Ratings must be numbers. {FIX}",
        ),
        (
            "user_id,item_id,rating\n1,10,4\n1,11,nan\n",
            {},
            f"line 3, column 'rating': the cell is empty. Ratings must be numbers. {FIX}",
        ),
        (
            "user_id,item_id,rating\n1,10,4\n1,11,inf\n",
            {},
            f"line 3, column 'rating': inf is not a finite number. Ratings must be finite numbers. {FIX}",
        ),
        (
            "user_id,item_id,rating\n1,10,4\n1,11,9\n",
            {"rating_range": (1, 5)},
            f"line 3, column 'rating': 9.0 is outside [1, 5]. Ratings of this data set must lie in [1, 5]. {FIX}",
        ),
        (
            "user_id,item_id,rating\n1,10,4\n1,10,2\n",
            {},
            "line 3: the (user, item) pair (1, 10) appears again; it first appears on line 2. Each pair must appear once: "
            "delete one of them, or pass duplicates='last' to keep the most recent rating or duplicates='mean' to "
            "average them.",
        ),
        (
            "user_id,item_id,rating\n1,10,4\n1,11,4,5\n",
            {},
            "line 3 has 4 fields separated by ','; the header names 3. Fix that line (a stray separator or a missing value?).",
        ),
        (
            "user,item,rating\n1,10,4\n",
            {},
            "line 1 (the header): missing column(s) ['user_id', 'item_id']; found ['user', 'item', 'rating']. The file "
            "needs a header naming the columns ['user_id', 'item_id'] (optional: ['rating', 'timestamp']).",
        ),
        (
            "1,10,4\n1,11,4\n",
            {},
            "line 1 (the header): missing column(s) ['user_id', 'item_id']; found ['1', '10', '4']. The file needs a "
            "header naming the columns ['user_id', 'item_id'] (optional: ['rating', 'timestamp']).",
        ),
        (
            "user_id;item_id;rating\n1;10;4\n",
            {},
            "line 1 (the header): missing column(s) ['user_id', 'item_id']; found ['user_id;item_id;rating']. The file "
            "needs a header naming the columns ['user_id', 'item_id'] (optional: ['rating', 'timestamp']). The header "
            "looks separated by ';', not ','; pass sep=';'.",
        ),
        (
            "user_id,item_id,timestmp\n1,10,5\n",
            {},
            "line 1 (the header): unknown column(s) ['timestmp']. Known columns are ['user_id', 'item_id', 'rating', "
            "'timestamp'] (also accepted: userId, movieId, itemId). Remove or rename them (a misspelt 'timestamp' or "
            "'rating' would otherwise be ignored), or pass extra_columns='ignore'.",
        ),
        (
            "user_id,userId,item_id\n1,1,10\n",
            {},
            "line 1 (the header): columns 'user_id' and 'userId' both mean 'user_id'; keep one.",
        ),
        ("user_id,item_id,rating\n", {}, "the file has a header but no ratings. Check that it was copied completely."),
        ("", {}, "the file is empty. Copy or download it again."),
    ],
    ids=[
        "overflow",
        "fractional-id",
        "text-id",
        "empty-id",
        "negative-id",
        "negative-time-after-blank-line",
        "text-rating",
        "empty-rating",
        "nan-rating",
        "inf-rating",
        "out-of-range",
        "duplicate-pair",
        "ragged",
        "wrong-names",
        "no-header",
        "semicolons",
        "misspelt-optional-column",
        "same-column-twice",
        "header-only",
        "empty",
    ],
)
def test_bad_file_gives_one_exact_message(tmp_path, text, kwargs, message):
    path = _write(tmp_path / "in", "r.csv", text)
    before = _tree(tmp_path)
    with pytest.raises(ValueError) as err:
        load_ratings_csv(path, **kwargs)
    assert str(err.value) == f"{path}: {message}"
    assert _tree(tmp_path) == before  # nothing half-written


def test_semicolon_file_loads_with_sep_and_duplicates_policy(tmp_path):
    path = _write(tmp_path, "r.csv", "user_id;item_id;rating;timestamp\n1;10;4;5\n1;10;2;9\n2;10;3;1\n")
    last = load_ratings_csv(path, sep=";", duplicates="last")
    assert last.ratings.loc[last.ratings.user_id == 1, "rating"].tolist() == [2.0]  # t=9 is the latest
    mean = load_ratings_csv(path, sep=";", duplicates="mean")
    assert mean.ratings.loc[mean.ratings.user_id == 1, "rating"].tolist() == [3.0]  # (4 + 2) / 2


def test_missing_file_and_bad_options(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as err:
        load_dataset("nowhere/r.csv")
    assert str(err.value) == (
        f"{tmp_path / 'nowhere' / 'r.csv'}: no such ratings file (relative paths start from the "
        f"current folder, {tmp_path})."
    )
    path = _write(tmp_path, "r.csv", GOOD)
    with pytest.raises(FileNotFoundError, match=r"items\.csv: no such items file"):
        load_ratings_csv(path, items=tmp_path / "items.csv")
    with pytest.raises(ValueError, match="extra_columns='drop': use 'error' or 'ignore'"):
        load_ratings_csv(path, extra_columns="drop")
    with pytest.raises(ValueError, match="or give the path of your own ratings file ending in .csv"):
        load_dataset("my_ratings.txt")


def test_large_ids_are_exact(tmp_path):
    big = 2**62 + 1  # not representable as a float64: a float round trip would change it
    path = _write(tmp_path, "r.csv", f"user_id,item_id\n{big},1\n1,{big}\n1,1\n")
    ds = load_ratings_csv(path)
    assert ds.user_ids.tolist() == [1, big] and ds.item_ids.tolist() == [1, big]
    assert np.asarray(ds.item_ids).dtype == np.int64
