"""MovieLens loading (lesson 01): local copies, downloads from a local HTTP server, parsers, bad input.

No test here touches the outside network: downloads come from a ThreadingHTTPServer on 127.0.0.1, the
"offline" cases use a refused local port, a local socket that never answers, or a patched DNS lookup.
Tests never write into the repo's data/ folder or $HOME: caches live in tmp_path (NCF_CACHE_DIR).
No test asserts a wall time (the CI machine is shared): the tests check which timeout cut a request off and
that the configured values were used; how long the offline error and a load take is measured by
benchmarks/responsiveness.py. pytest-timeout (pyproject.toml) fails a test that hangs.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import socket
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from ncf_helpers.data import DATASETS, DataUnavailableError, data_dir_candidates, load_dataset, load_movielens
from ncf_helpers.data import movielens as ml

# ---------------------------------------------------------------------------------------------------- fixtures
RATINGS_CSV = (
    "userId,movieId,rating,timestamp\r\n"
    "1,1,4.0,964982703\r\n"
    "1,3,4.5,964981247\r\n"
    "1,6,0.5,964982224\r\n"
    "2,1,3.0,1445714835\r\n"
    "2,5,5.0,1445714836\r\n"
    "3,3,2.5,1306463578\r\n"
    "3,6,1.0,1306463579\r\n"
    "3,1,3.5,1306463580\r\n"
)
MOVIES_CSV = (
    "movieId,title,genres\r\n"
    "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\r\n"
    "3,Grumpier Old Men (1995),Comedy|Romance\r\n"
    '5,"American President, The (1995)",Comedy|Drama|Romance\r\n'
    "6,Heat (1995),Action|Crime|Thriller\r\n"
    "7,La cravate (1957),(no genres listed)\r\n"
    "8,Amélie (2001),Comedy|Romance\r\n"
)
LATEST_FILES = {
    "README.txt": "A tiny MovieLens-latest-small-shaped fixture for the tests.\n",
    "links.csv": "movieId,imdbId,tmdbId\r\n1,0114709,862\r\n",
    "movies.csv": MOVIES_CSV,
    "ratings.csv": RATINGS_CSV,
    "tags.csv": "userId,movieId,tag,timestamp\r\n2,1,pixar,1445714994\r\n",
}
N_RATINGS, N_MOVIES, N_USERS, N_RATED = 8, 6, 3, 4
# the rule every ID / timestamp error states (ncf_helpers.data.checks.check_integer_column)
IDS = "IDs must be whole numbers from 0 to 9,223,372,036,854,775,807 (int64), written with digits only (e.g. 42)."
TIMES = (
    "Timestamps (seconds since 1970-01-01 UTC) must be whole numbers from 0 to 9,223,372,036,854,775,807 "
    "(int64), written with digits only (e.g. 964982703)."
)
FIX = "Correct or delete that line."


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_folder(folder: Path, files: dict[str, str], encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_bytes(text.encode(encoding))
    return folder


def _zip_bytes(folder_name: str, files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(folder_name + "/", "")
        for name, text in files.items():
            zf.writestr(f"{folder_name}/{name}", text.encode("utf-8"))
    return buf.getvalue()


def fixture_spec(**changes) -> ml.MovieLensSpec:
    """ml-latest-small's spec with the fixture's own sha256 sums and row counts."""
    base = DATASETS["ml-latest-small"].replace(
        sha256={name: _sha(text.encode("utf-8")) for name, text in LATEST_FILES.items()},
        row_counts={"ratings.csv": N_RATINGS, "movies.csv": N_MOVIES},
    )
    return base.replace(**changes) if changes else base


class _Server:
    """A local HTTP server; ``routes[path] = (status, body, declared_length)``; ``hits`` counts requests."""

    def __init__(self):
        self.routes: dict[str, tuple[int, bytes, int | None]] = {}
        self.stalls: dict[str, tuple[bytes, int]] = {}  # path -> (body, bytes sent before the server goes silent)
        self.release = threading.Event()
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.hits.append(self.path)
                if self.path in server.stalls:  # headers and the first bytes, then silence (a stalled download)
                    body, sent = server.stalls[self.path]
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[:sent])
                    self.wfile.flush()
                    server.release.wait(30)
                    self.close_connection = True
                    return
                status, body, declared = server.routes.get(self.path, (404, b"not found", None))
                self.send_response(status)
                self.send_header("Content-Type", "application/zip" if status == 200 else "text/plain")
                self.send_header("Content-Length", str(len(body) if declared is None else declared))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args):  # keep pytest output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server():
    srv = _Server()
    good = _zip_bytes("ml-latest-small", LATEST_FILES)
    srv.routes["/ok/ml-latest-small.zip"] = (200, good, None)
    srv.routes["/truncated/ml-latest-small.zip"] = (200, good[: len(good) // 2], None)  # a corrupt zip
    srv.routes["/short/ml-latest-small.zip"] = (200, good[: len(good) // 2], len(good))  # connection drops
    srv.routes["/ok/ml-fixture.zip"] = (200, _zip_bytes("ml-fixture", LATEST_FILES), None)
    srv.routes["/notazip/ml-latest-small.zip"] = (200, b"<html>maintenance</html>", None)
    srv.stalls["/stall/ml-latest-small.zip"] = (good, 1000)
    yield srv
    srv.close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder; NCF_DATA_DIR and NCF_MOVIELENS_URL unset."""
    root = tmp_path / "cache"
    root.mkdir()
    monkeypatch.setenv("NCF_CACHE_DIR", str(root))
    monkeypatch.delenv("NCF_DATA_DIR", raising=False)
    monkeypatch.delenv("NCF_MOVIELENS_URL", raising=False)
    return root


@pytest.fixture
def refused_url():
    """A local URL whose port refuses connections (bound to find a free port, then closed)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def snapshot(root: Path) -> list[str]:
    """Every path under ``root`` (hidden ones included), to check that a failure left nothing behind."""
    if not root.exists():
        return ["<absent>"]
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _expect_unavailable(root: Path, **kwargs) -> DataUnavailableError:
    before = snapshot(root)
    with pytest.raises(DataUnavailableError) as info:
        load_movielens(kwargs.pop("name", "ml-latest-small"), progress=False, **kwargs)
    assert snapshot(root) == before, "a failed download changed the cache folder"
    return info.value


# ---------------------------------------------------------------------------------------------------- download
def test_download_success_then_cached(server, cache):
    spec = fixture_spec()
    ds = load_movielens(base_url=server.url + "/ok", spec=spec, progress=False)
    assert ds.num_ratings == N_RATINGS and ds.num_users == N_USERS and ds.num_items == N_MOVIES
    assert ds.ratings["item_id"].nunique() == N_RATED
    assert list(ds.ratings.columns) == ["user_id", "item_id", "rating", "timestamp", "user_idx", "item_idx"]
    assert ds.source == str(cache / "ml-latest-small")
    assert sorted(p.name for p in (cache / "ml-latest-small").iterdir()) == sorted(LATEST_FILES)
    assert snapshot(cache) == ["ml-latest-small"] + [f"ml-latest-small/{f}" for f in sorted(LATEST_FILES)]
    items = ds.items.set_index("item_id")
    assert items.loc[7, "genres"] == []  # "(no genres listed)"
    assert items.loc[1, "genres"] == ["Adventure", "Animation", "Children", "Comedy", "Fantasy"]
    assert items.loc[5, "title"] == "American President, The (1995)"
    assert items.loc[8, "title"] == "Amélie (2001)"
    hits = len(server.hits)
    again = load_movielens(base_url=server.url + "/ok", spec=spec, progress=False)
    assert len(server.hits) == hits, "the second call downloaded again"
    assert again.num_ratings == N_RATINGS


def test_download_with_progress_bar_and_env_url(server, cache, monkeypatch, capsys):
    monkeypatch.setenv("NCF_MOVIELENS_URL", server.url + "/ok/")
    ds = load_movielens(spec=fixture_spec(), progress=True)
    assert ds.num_ratings == N_RATINGS
    assert (cache / "ml-latest-small" / "ratings.csv").is_file()


def test_download_creates_missing_cache_root(server, tmp_path, monkeypatch):
    root = tmp_path / "a" / "b"
    monkeypatch.setenv("NCF_CACHE_DIR", str(root))
    monkeypatch.delenv("NCF_DATA_DIR", raising=False)
    ds = load_movielens(base_url=server.url + "/ok", spec=fixture_spec(), progress=False)
    assert ds.source == str(root / "ml-latest-small")


def test_registered_dataset_via_load_dataset(server, cache, monkeypatch):
    monkeypatch.setitem(DATASETS, "ml-fixture", DATASETS["ml-latest-small"])  # removed again after the test
    spec = ml.register_dataset(
        "ml-fixture", fixture_spec(url="https://example.invalid/x/ml-fixture.zip", folder="ml-fixture")
    )
    assert DATASETS["ml-fixture"] is spec
    ds = load_dataset("ml-fixture", base_url=server.url + "/ok", progress=False)
    assert ds.name == "ml-fixture" and ds.num_ratings == N_RATINGS
    assert (cache / "ml-fixture" / "movies.csv").is_file()
    with pytest.raises(ValueError, match="folder name"):
        ml.register_dataset("../evil", spec)


def test_checksum_mismatch_leaves_cache_clean(server, cache):
    wrong = "0" * 64
    spec = fixture_spec(sha256={**fixture_spec().sha256, "ratings.csv": wrong})
    err = _expect_unavailable(cache, base_url=server.url + "/ok", spec=spec)
    msg = str(err)
    url = server.url + "/ok/ml-latest-small.zip"
    assert url in msg and err.url == url
    assert "sha256 mismatch for ratings.csv" in msg
    assert wrong in msg and _sha(RATINGS_CSV.encode()) in msg
    assert snapshot(cache) == []


def test_wrong_row_count_in_download_is_rejected(server, cache):
    spec = fixture_spec(row_counts={"ratings.csv": 100_836, "movies.csv": N_MOVIES})
    err = _expect_unavailable(cache, base_url=server.url + "/ok", spec=spec)
    assert "ratings.csv has 8 data rows, expected 100,836" in str(err)


@pytest.mark.parametrize(
    "prefix, reason",
    [
        ("/truncated", "not a valid zip"),
        ("/short", "truncated"),
        ("/notazip", "not a valid zip"),
        ("/missing", "HTTP 404"),
    ],
)
def test_failed_download_leaves_cache_clean(server, cache, prefix, reason):
    err = _expect_unavailable(cache, base_url=server.url + prefix, spec=fixture_spec())
    msg = str(err)
    assert server.url + prefix + "/ml-latest-small.zip" in msg
    assert reason in msg
    assert str(cache / "ml-latest-small") in msg
    assert 'load_dataset("synthetic")' in msg


def test_failed_download_removes_cache_root_it_created(server, tmp_path, monkeypatch):
    root = tmp_path / "new" / "cache"
    monkeypatch.setenv("NCF_CACHE_DIR", str(root))
    monkeypatch.delenv("NCF_DATA_DIR", raising=False)
    _expect_unavailable(tmp_path, base_url=server.url + "/missing", spec=fixture_spec())
    assert not (tmp_path / "new").exists()


def test_refused_connection(cache, refused_url):
    err = _expect_unavailable(cache, base_url=refused_url, spec=fixture_spec())
    assert refused_url + "/ml-latest-small.zip" in str(err)
    assert "connection refused" in str(err)
    assert err.reason == "connection refused"
    assert isinstance(err, RuntimeError)
    assert err.__cause__ is not None  # the requests error is chained, not the only message


@pytest.fixture
def request_timeouts(monkeypatch):
    """The ``timeout=`` of every HTTP request the loader makes through pooch and requests (the real call still
    runs)."""
    seen = []
    real = requests.Session.request

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("timeout"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    return seen


def test_server_that_never_answers_times_out(cache, request_timeouts):
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # accepts connections (backlog), never replies
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        err = _expect_unavailable(cache, base_url=url, spec=fixture_spec(), timeout=(0.4, 7))
        # requests got (connect, read) = (0.4, 7); it would wait up to the read timeout (7 s) for the response
        # headers, so the loader's backstop cut the request off after connect + 0.5 s, long before
        assert request_timeouts == [(0.4, 7.0)]
        assert err.reason == "no answer from 127.0.0.1 within 0.4 s (DNS lookup or connection timed out)"
        assert url in str(err)
    finally:
        silent.close()


def test_hanging_dns_lookup_is_cut_off(cache, monkeypatch):
    release, entered = threading.Event(), threading.Event()

    def slow_getaddrinfo(*args, **kwargs):  # a resolver that hangs, as on a machine without network
        entered.set()
        release.wait(30)
        raise socket.gaierror(-2, "Name or service not known")

    joins = []

    class Thread(threading.Thread):  # records how long the loader waits for its request thread
        def join(self, timeout=None):
            joins.append(timeout)
            return super().join(timeout)

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    monkeypatch.setattr(ml.threading, "Thread", Thread)
    try:
        err = _expect_unavailable(
            cache, base_url="http://files.example.invalid/movielens", spec=fixture_spec(), timeout=(0.3, 7)
        )
        # the error came back while the lookup was still hanging: the loader gave up after connect + 0.5 s
        assert entered.is_set() and not release.is_set()
        assert joins == [pytest.approx(0.8)]
        assert err.reason == "no answer from files.example.invalid within 0.3 s (DNS lookup or connection timed out)"
        assert "http://files.example.invalid/movielens/ml-latest-small.zip" in str(err)
    finally:
        release.set()


def test_stalled_download_is_cut_off_by_the_read_timeout(server, cache, request_timeouts):
    err = _expect_unavailable(cache, base_url=server.url + "/stall", spec=fixture_spec(), timeout=(5, 0.3))
    assert request_timeouts == [(5.0, 0.3)]  # requests' (connect, read): the read timeout bounds each read
    # (the server sent 1,000 bytes, but a 64 KiB read() returns nothing until its block is full or the end comes)
    assert re.fullmatch(r"download stalled: no data for 0\.3 s after [\d,]+ bytes", err.reason), err.reason
    assert snapshot(cache) == []


def test_offline_without_data_folder(cache, refused_url, monkeypatch):
    """The learner's offline case: NCF_DATA_DIR unset, empty cache, GroupLens unreachable."""
    monkeypatch.setenv("NCF_MOVIELENS_URL", refused_url)
    err = _expect_unavailable(cache)  # the real ml-latest-small spec
    msg = str(err)
    assert refused_url + "/ml-latest-small.zip" in msg
    assert "connection refused" in msg
    assert str(cache / "ml-latest-small") in msg
    assert "$NCF_DATA_DIR/ml-latest-small/" in msg
    assert 'load_dataset("synthetic")' in msg and "make_synthetic()" in msg
    assert err.candidates == [cache / "ml-latest-small"]
    with pytest.raises(DataUnavailableError):  # also through the lessons' entry point
        load_dataset("ml-latest-small", progress=False)


def test_download_false_does_not_touch_network(cache, server):
    hits = len(server.hits)
    err = _expect_unavailable(cache, base_url=server.url + "/ok", spec=fixture_spec(), download=False)
    assert "download=False" in str(err)
    assert len(server.hits) == hits


def test_incomplete_cache_folder_is_not_overwritten(cache, server):
    _write_folder(cache / "ml-latest-small", {"ratings.csv": RATINGS_CSV})
    hits = len(server.hits)
    err = _expect_unavailable(cache, base_url=server.url + "/ok", spec=fixture_spec())
    assert "lacks movies.csv" in str(err)
    assert len(server.hits) == hits


def test_empty_cache_folder_is_replaced(cache, server):
    (cache / "ml-latest-small").mkdir()
    ds = load_movielens(base_url=server.url + "/ok", spec=fixture_spec(), progress=False)
    assert ds.num_ratings == N_RATINGS


# ---------------------------------------------------------------------------------------------------- folders
def test_candidates_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NCF_DATA_DIR", "shared")
    monkeypatch.setenv("NCF_CACHE_DIR", str(tmp_path / "cache"))
    assert data_dir_candidates("ml-1m") == [tmp_path / "shared" / "ml-1m", tmp_path / "cache" / "ml-1m"]
    assert data_dir_candidates("ml-1m", tmp_path / "x") == [tmp_path / "x", tmp_path / "x" / "ml-1m"]
    monkeypatch.delenv("NCF_DATA_DIR")
    monkeypatch.delenv("NCF_CACHE_DIR")
    repo_data = Path(ml.__file__).resolve().parents[2] / "data"
    assert data_dir_candidates() == [repo_data / "ml-latest-small"]


def test_ncf_data_dir_wins_over_cache(tmp_path, cache, monkeypatch):
    shared = tmp_path / "shared"
    _write_folder(shared / "ml-latest-small", LATEST_FILES)
    _write_folder(cache / "ml-latest-small", {"ratings.csv": "broken", "movies.csv": "broken"})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NCF_DATA_DIR", "shared")  # relative to the working directory
    ds = load_movielens(spec=fixture_spec(), progress=False)
    assert ds.source == str(shared / "ml-latest-small")


def test_data_dir_argument(tmp_path, cache, server):
    folder = _write_folder(tmp_path / "mine" / "ml-latest-small", LATEST_FILES)
    assert load_movielens(data_dir=folder, spec=fixture_spec()).num_ratings == N_RATINGS
    assert load_movielens(data_dir=folder.parent, spec=fixture_spec()).source == str(folder)
    hits = len(server.hits)
    err = _expect_unavailable(cache, data_dir=tmp_path / "nowhere", base_url=server.url + "/ok", spec=fixture_spec())
    assert str(tmp_path / "nowhere") in str(err)
    assert len(server.hits) == hits  # an explicit data_dir is never downloaded into


def test_local_copy_with_wrong_counts_and_sums(tmp_path):
    folder = _write_folder(tmp_path / "ml-latest-small", LATEST_FILES)
    with pytest.warns(UserWarning, match="sha256 mismatch for ratings.csv"):
        with pytest.raises(ValueError, match=r"ratings.csv has 8 data rows, expected 100,836"):
            load_movielens(data_dir=folder)  # the real spec: counts and sums of the official release
    with pytest.raises(ValueError, match="incomplete"):
        load_movielens(data_dir=folder, verify_checksums=False)


def test_unknown_name():
    with pytest.raises(ValueError, match="ml-latest-small"):
        load_movielens("ml-20x")


# ---------------------------------------------------------------------------------------------------- parsers
ML100K_GENRES = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]


def _flags(*names: str) -> str:
    return "|".join("1" if g in names else "0" for g in ML100K_GENRES)


def _ml100k_files(data: str | None = None) -> dict[str, str]:
    return {
        "u.data": data
        if data is not None
        else (
            "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n"
            "196\t377\t5\t881250950\n244\t51\t2\t880606923\n"
        ),
        "u.item": (
            f"51|Legends of the Fall (1994)|01-Jan-1994||http://us.imdb.com/M/title-exact?x|{_flags('Drama', 'Romance', 'War', 'Western')}\n"
            f"242|Kolya (1996)|24-Jan-1997||http://us.imdb.com/M/title-exact?Kolya%20(1996)|{_flags('Comedy')}\n"
            f"302|L.A. Confidential (1997)|01-Jan-1997||http://us.imdb.com/x|{_flags('Crime', 'Film-Noir', 'Mystery', 'Thriller')}\n"
            f"377|Café au lait (1993)|01-Jan-1993||http://us.imdb.com/x|{_flags('Comedy')}\n"
            f"267|unknown||||{_flags('unknown')}\n"
        ),
        "u.genre": "".join(f"{g}|{i}\n" for i, g in enumerate(ML100K_GENRES)) + "\n",
    }


def test_ml100k_parser(tmp_path):
    folder = _write_folder(tmp_path / "ml-100k", _ml100k_files(), encoding="latin-1")
    ds = load_movielens("ml-100k", data_dir=folder, spec=DATASETS["ml-100k"].replace(row_counts={}))
    assert ds.num_ratings == 5 and ds.num_users == 4 and ds.num_items == 5
    items = ds.items.set_index("item_id")
    assert items.loc[377, "title"] == "Café au lait (1993)"  # latin-1 survives
    assert items.loc[51, "genres"] == ["Drama", "Romance", "War", "Western"]
    assert items.loc[302, "genres"] == ["Crime", "Film-Noir", "Mystery", "Thriller"]
    assert items.loc[267, "genres"] == []  # "unknown" -> no genres
    assert ds.ratings["rating"].min() == 1.0
    with pytest.raises(ValueError, match=r"u.data has 5 data rows, expected 100,000"):
        load_movielens("ml-100k", data_dir=folder)  # the real spec checks the row count


@pytest.mark.parametrize(
    "data, message",
    [
        (
            "196\t242\t3\t881250949\n186\t302\t6\t891717742\n",
            "line 2, field 3 (rating): 6.0 is outside [1.0, 5.0]. Ratings of this data set must lie in [1.0, 5.0]. "
            "Correct or delete that line.",
        ),
        (
            "196\t242\t3\t881250949\n186\t302\t3.5\t891717742\n",
            "line 2, field 3 (rating): 3.5 is not a multiple of 1.0; this data set rates in steps of 1.0. "
            "Correct or delete that line.",
        ),
        (
            "196\t242\t3\t881250949\n\n186\t99999999999999999999999\t3\t891717742\n",  # line 2 is blank
            f"line 3, field 2 (item id): '99999999999999999999999' is too large. {IDS} Correct or delete that line.",
        ),
        (
            "196\t242\t3\t881250949\n186\t302\t3\n",
            f"line 2, field 4 (timestamp): the cell is empty. {TIMES} Correct or delete that line.",
        ),
        (
            "196\t242\t3\t881250949\t7\n186\t302\t3\t891717742\t7\n",  # 5 fields everywhere: not shifted by one
            "line 1 has 5 fields separated by '\\t'; expected 4 (user id, item id, rating, timestamp). Fix that line "
            "(a stray separator or a missing value?).",
        ),
        (
            "196\t242\t3\t881250949\n186\t302\t3\t891717742\t7\n",
            "line 2 has 5 fields separated by '\\t'; expected 4 (user id, item id, rating, timestamp). Fix that line "
            "(a stray separator or a missing value?).",
        ),
        (
            "196\t242\t3\t881250949\n186\t999\t3\t891717742\n",
            "line 2, field 2 (item id): item 999 is not in {folder}/u.item (1 rating(s) in all refer to 1 id(s) "
            "missing there: 999). Every rated item must be listed in {folder}/u.item: add the missing items there, "
            "delete those ratings, or use a ratings file and an items file from the same release.",
        ),
    ],
    ids=[
        "out-of-range",
        "half-star",
        "overflow-after-blank-line",
        "missing-field",
        "extra-field-everywhere",
        "extra-field",
        "unknown-item",
    ],
)
def test_ml100k_bad_row_is_named(tmp_path, data, message):
    folder = _write_folder(tmp_path / "ml-100k", _ml100k_files(data), encoding="latin-1")
    with pytest.raises(ValueError) as err:
        load_movielens("ml-100k", data_dir=folder, spec=DATASETS["ml-100k"].replace(row_counts={}))
    assert str(err.value) == f"{folder}/u.data: " + message.format(folder=folder)


def test_ml100k_items_file_errors(tmp_path):
    files = _ml100k_files()
    files["u.item"] += f"242|Kolya again|24-Jan-1997||http://x|{_flags('Comedy')}\n"
    folder = _write_folder(tmp_path / "ml-100k", files, encoding="latin-1")
    spec = DATASETS["ml-100k"].replace(row_counts={})
    with pytest.raises(ValueError) as err:
        load_movielens("ml-100k", data_dir=folder, spec=spec)
    assert str(err.value) == (
        f"{folder}/u.item: line 6, field 1 (movie id): item 242 appears again; it first "
        "appears on line 2. Each item must be listed once: delete one of the two."
    )
    files["u.item"] = _ml100k_files()["u.item"].replace(_flags("Comedy"), _flags("Comedy").replace("1", "2"), 1)
    folder = _write_folder(tmp_path / "b" / "ml-100k", files, encoding="latin-1")
    with pytest.raises(ValueError, match=r"u\.item: line 2 should end with 19 genre flags \(0 or 1\)\.$"):
        load_movielens("ml-100k", data_dir=folder, spec=spec)


ML1M_MOVIES = (
    "1::Toy Story (1995)::Animation|Children's|Comedy\n"
    "260::Star Wars: Episode IV - A New Hope (1977)::Action|Adventure|Fantasy|Sci-Fi\n"
    "73::Misérables, Les (1995)::Drama|Musical\n"
)


def test_ml1m_parser(tmp_path):
    folder = _write_folder(
        tmp_path / "ml-1m",
        {
            "ratings.dat": "1::1193::5::978300760\n1::260::4::978300761\n2::73::3::978298413\n2::1::1::978299000\n",
            "movies.dat": ML1M_MOVIES + "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n",
        },
        encoding="latin-1",
    )
    ds = load_movielens("ml-1m", data_dir=folder, spec=DATASETS["ml-1m"].replace(row_counts={}))
    assert ds.num_ratings == 4 and ds.num_users == 2 and ds.num_items == 4
    items = ds.items.set_index("item_id")
    assert items.loc[260, "title"] == "Star Wars: Episode IV - A New Hope (1977)"  # ':' inside a title
    assert items.loc[260, "genres"] == ["Action", "Adventure", "Fantasy", "Sci-Fi"]
    assert items.loc[73, "title"] == "Misérables, Les (1995)"
    assert ds.ratings.set_index("item_id").loc[1193, "rating"] == 5.0


@pytest.mark.parametrize(
    "ratings, message",
    [
        (
            "1::1::5::978300760\n1::x7::4::978300761\n",
            f"line 2, field 2 (MovieID): 'x7' is not a whole number. {IDS} Correct or delete that line.",
        ),
        (
            "1::1::5::978300760\n-1::1::4::978300761\n",
            f"line 2, field 1 (UserID): -1 is negative. {IDS} Correct or delete that line.",
        ),
        (
            "1::1::5::978300760::9\n1::1::4::978300761\n",  # an extra '::9' must not be ignored
            "line 1 should read UserID::MovieID::Rating::Timestamp (4 fields separated by '::'). Fix that line.",
        ),
        (
            "1::1::5::978300760\n2::260:4::978300761\n",
            "line 2 should read UserID::MovieID::Rating::Timestamp (4 fields separated by '::'). Fix that line.",
        ),
        (
            "1::1::5::978300760\n\n2::260::4::978300761::\n",  # a blank line 2 is fine; line 3 ends with a stray '::'
            "line 3 should read UserID::MovieID::Rating::Timestamp (4 fields separated by '::'). Fix that line.",
        ),
        (
            "1::1::5::978300760\n2::1::1::978300761\n2::1::3::978300762\n",
            "line 3: the (user, item) pair (2, 1) appears again; it first appears on line 2. Each pair must appear once: "
            "delete one of them, or pass duplicates='last' to keep the most recent rating or duplicates='mean' to "
            "average them.",
        ),
    ],
    ids=["text-id", "negative-id", "extra-field", "single-colon", "trailing-separator", "duplicate-pair"],
)
def test_ml1m_bad_row_is_named(tmp_path, ratings, message):
    folder = _write_folder(tmp_path / "ml-1m", {"ratings.dat": ratings, "movies.dat": ML1M_MOVIES}, encoding="latin-1")
    with pytest.raises(ValueError) as err:
        load_movielens("ml-1m", data_dir=folder, spec=DATASETS["ml-1m"].replace(row_counts={}))
    assert str(err.value) == f"{folder}/ratings.dat: " + message


def test_ml1m_movies_file_errors(tmp_path):
    folder = _write_folder(
        tmp_path / "ml-1m", {"ratings.dat": "1::1::5::978300760\n", "movies.dat": ML1M_MOVIES}, encoding="latin-1"
    )
    spec = DATASETS["ml-1m"].replace(row_counts={})
    (folder / "movies.dat").write_bytes(b"1::Toy Story (1995)\n")
    with pytest.raises(ValueError) as err:
        load_movielens("ml-1m", data_dir=folder, spec=spec)
    assert (
        str(err.value)
        == f"{folder}/movies.dat: line 1 should read 'MovieID::Title::Genres'; it has '1::Toy Story (1995)'."
    )
    (folder / "movies.dat").write_bytes((ML1M_MOVIES + "\n260::Star Wars (again)::Action\n").encode("latin-1"))
    with pytest.raises(ValueError) as err:
        load_movielens("ml-1m", data_dir=folder, spec=spec)
    assert str(err.value) == (
        f"{folder}/movies.dat: line 5, field 1 (MovieID): item 260 appears again; it first "
        "appears on line 2. Each item must be listed once: delete one of the two."
    )


# ---------------------------------------------------------------------------------------------------- bad input
HEADER = "userId,movieId,rating,timestamp\n"
GOOD = "1,1,4.0,964982703\n"


@pytest.mark.parametrize(
    "ratings_text, message",
    [
        (
            "userId,movieId,timestamp\n1,1,964982703\n",
            "missing column(s) ['rating']; found ['userId', 'movieId', 'timestamp']. Expected ['userId', 'movieId', "
            "'rating', 'timestamp'].",
        ),
        (
            HEADER + GOOD + "1,99999999999999999999999,4.0,964982703\n",  # would wrap to -9223372036854775808
            f"line 3, column 'movieId': '99999999999999999999999' is too large. {IDS} {FIX}",
        ),
        (
            HEADER + GOOD + "9223372036854775808,3,4.0,964982703\n",  # 2**63: one beyond int64 (pandas: uint64)
            f"line 3, column 'userId': 9223372036854775808 is too large. {IDS} {FIX}",
        ),
        (
            HEADER + GOOD + "1,abc,4.0,964982703\n",
            f"line 3, column 'movieId': 'abc' is not a whole number. {IDS} {FIX}",
        ),
        (
            HEADER + GOOD + "1,3.5,4.0,964982703\n",
            f"line 3, column 'movieId': '3.5' is not a whole number. {IDS} {FIX}",
        ),
        (HEADER + GOOD + "1,,4.0,964982703\n", f"line 3, column 'movieId': the cell is empty. {IDS} {FIX}"),
        (HEADER + GOOD + "-4,3,4.0,964982703\n", f"line 3, column 'userId': -4 is negative. {IDS} {FIX}"),
        (HEADER + GOOD + "2.5,3,4.0,964982703\n", f"line 3, column 'userId': '2.5' is not a whole number. {IDS} {FIX}"),
        (
            HEADER + GOOD + "1,3,4.0,9.6e8\n",
            f"line 3, column 'timestamp': '9.6e8' is not a whole number. {TIMES} {FIX}",
        ),
        (
            HEADER + GOOD + "1,3,4.0,964982703\n2,3,,964982703\n",
            f"line 4, column 'rating': the cell is empty. Ratings must be numbers. {FIX}",
        ),
        (
            HEADER + GOOD + "1,3,inf,964982703\n",
            f"line 3, column 'rating': inf is not a finite number. Ratings must be finite numbers. {FIX}",
        ),
        (
            HEADER + GOOD + "1,3,7.5,964982703\n",
            f"line 3, column 'rating': 7.5 is outside [0.5, 5.0]. Ratings of this data set must lie in [0.5, 5.0]. {FIX}",
        ),
        (
            HEADER + GOOD + "1,3,3.7,964982703\n",
            f"line 3, column 'rating': 3.7 is not a multiple of 0.5; this data set rates in steps of 0.5. {FIX}",
        ),
        ("", "the file is empty. Copy or download it again."),
        (HEADER, "the file has a header but no ratings. Check that it was copied completely."),
        (
            HEADER + GOOD + "1,3,4.0,964982703\n\n1,1,2.0,964982709\n",  # line 4 is blank: still counted
            "line 5: the (user, item) pair (1, 1) appears again; it first appears on line 2. Each pair must appear once: "
            "delete one of them, or pass duplicates='last' to keep the most recent rating or duplicates='mean' to "
            "average them.",
        ),
        (
            HEADER + GOOD + "1,3,4.0,964982703,extra\n",
            "line 3 has 5 fields separated by ','; the header names 4. Fix that line (a stray separator or a missing value?).",
        ),
        (
            HEADER + "0,1,1,4.0,964982703\n1,1,3,4.0,964982703\n",  # pandas would silently shift every column by one
            "line 2 has 5 fields separated by ','; the header names 4. Fix that line (a stray separator or a missing value?).",
        ),
        (
            HEADER + GOOD + "2,4,3.5,964982703\n2,99,3.5,964982703\n",  # movies 4 and 99 are not in movies.csv
            "line 3, column 'movieId': item 4 is not in {folder}/movies.csv (2 rating(s) in all refer to 2 id(s) missing "
            "there: 4, 99). Every rated item must be listed in {folder}/movies.csv: add the missing items there, delete "
            "those ratings, or use a ratings file and an items file from the same release.",
        ),
    ],
    ids=[
        "missing-column",
        "overflow",
        "int64-plus-one",
        "text-item",
        "fractional-item",
        "empty-item",
        "negative-user",
        "fractional-user",
        "float-timestamp",
        "nan-rating",
        "inf-rating",
        "out-of-range",
        "not-a-half-star",
        "empty",
        "header-only",
        "duplicate-pair-after-blank-line",
        "ragged",
        "extra-field-everywhere",
        "unknown-movie",
    ],
)
def test_bad_ratings_file(tmp_path, ratings_text, message):
    folder = _write_folder(tmp_path / "ml-latest-small", {"ratings.csv": ratings_text, "movies.csv": MOVIES_CSV})
    with pytest.raises(ValueError) as info:
        load_movielens(data_dir=folder, spec=fixture_spec(row_counts={}, sha256={}), progress=False)
    assert str(info.value) == f"{folder / 'ratings.csv'}: " + message.format(folder=folder)


def test_duplicates_policy_passes_through(tmp_path):
    text = HEADER + "1,1,4.0,964982703\n1,3,4.0,964982703\n1,1,2.0,964982709\n"
    folder = _write_folder(tmp_path / "ml-latest-small", {"ratings.csv": text, "movies.csv": MOVIES_CSV})
    ds = load_movielens(data_dir=folder, spec=fixture_spec(row_counts={}, sha256={}), duplicates="last")
    assert ds.num_ratings == 2
    assert ds.ratings.set_index("item_id").loc[1, "rating"] == 2.0


@pytest.mark.parametrize(
    "movies_text, message",
    [
        (
            "movieId,title\n1,Toy Story (1995)\n",
            "missing column(s) ['genres']; found ['movieId', 'title']. Expected ['movieId', 'title', 'genres'].",
        ),
        (
            "movieId,title,genres\n1,Toy Story (1995),Comedy\nx3,Heat (1995),Action\n",
            f"line 3, column 'movieId': 'x3' is not a whole number. {IDS} {FIX}",
        ),
        (
            MOVIES_CSV + "3,Grumpier Old Men (1995),Comedy\r\n",
            "line 8, column 'movieId': item 3 appears again; it first appears on line 3. Each item must be listed once: "
            "delete one of the two.",
        ),
        (
            MOVIES_CSV + "99999999999999999999999,Too Big (2000),Drama\r\n",
            f"line 8, column 'movieId': '99999999999999999999999' is too large. {IDS} {FIX}",
        ),
    ],
    ids=["missing-column", "text-id", "duplicate-id", "overflow"],
)
def test_bad_movies_file(tmp_path, movies_text, message):
    folder = _write_folder(tmp_path / "ml-latest-small", {"ratings.csv": RATINGS_CSV, "movies.csv": movies_text})
    with pytest.raises(ValueError) as info:
        load_movielens(data_dir=folder, spec=fixture_spec(row_counts={}, sha256={}))
    assert str(info.value) == f"{folder / 'movies.csv'}: " + message


# ---------------------------------------------------------------------------------------------------- real data
def test_real_ml_latest_small(tmp_path, monkeypatch, refused_url):
    env = os.environ.get("NCF_DATA_DIR")
    folder = Path(os.path.abspath(env)) / "ml-latest-small" if env else None
    if folder is None or not (folder / "ratings.csv").is_file():
        pytest.skip(
            "the real MovieLens copy is absent: set NCF_DATA_DIR to a folder holding ml-latest-small/ "
            "(e.g. NCF_DATA_DIR=../shared/datasets from the repo root)"
        )
    monkeypatch.setenv("NCF_CACHE_DIR", str(tmp_path / "cache"))  # never write into the repo's data/
    monkeypatch.setenv("NCF_MOVIELENS_URL", refused_url)  # and never download
    ds = load_movielens("ml-latest-small", progress=False)  # its load time: benchmarks/responsiveness.py
    assert ds.source == str(folder)
    assert ds.num_ratings == 100_836
    assert ds.num_users == 610
    assert ds.ratings.item_id.nunique() == 9_724
    assert ds.num_items == 9_742
    assert ds.ratings["rating"].min() == 0.5 and ds.ratings["rating"].max() == 5.0
    text = ds.summary()
    for number in ("100,836", "610", "9,724", "9,742"):
        assert number in text
    assert not (tmp_path / "cache").exists()
    # every rated movie is in movies.csv (a rating of an unlisted movie is rejected), checked independently
    import pandas as pd

    rated = pd.read_csv(folder / "ratings.csv", usecols=["movieId"])["movieId"]
    listed = pd.read_csv(folder / "movies.csv", usecols=["movieId"])["movieId"]
    assert rated.isin(listed).all() and not listed.duplicated().any()
    assert set(ds.ratings["item_id"]) <= set(ds.item_ids) and len(ds.item_ids) == listed.nunique()
    assert ds.items.set_index("item_id").loc[1, "title"] == "Toy Story (1995)"  # no placeholder titles
    assert not ds.items["title"].str.fullmatch(r"item \d+").any()
