"""MovieLens from GroupLens: find a local copy or download and verify it, then parse it (lesson 01).

Where :func:`load_movielens` looks for ``<name>`` (e.g. ``"ml-latest-small"``), in this order:

1. the ``data_dir`` argument, if given (the folder holding the files, or its parent); nothing else is tried;
2. ``$NCF_DATA_DIR/<name>/`` when the environment variable ``NCF_DATA_DIR`` is set (relative paths are
   resolved against the current working directory);
3. the cache ``<repo>/data/<name>/`` (git-ignored), or ``$NCF_CACHE_DIR/<name>/`` when that variable is set;
4. otherwise the official zip is downloaded from GroupLens into the cache, checked (sha256 of every file where
   known, row counts) and only then moved into place. A failed download leaves the cache exactly as it was
   and raises :class:`DataUnavailableError`, which says what was tried and how to work offline.

A folder counts as present when it holds the files the parser needs (:attr:`MovieLensSpec.required`).
:func:`data_dir_candidates` lists the folders searched. The base URL can be overridden with
``base_url=`` or the environment variable ``NCF_MOVIELENS_URL`` (the tests use a local server).

Imports the standard library, numpy and pandas; a download uses pooch (and its requests and tqdm).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import os
import shutil
import socket
import ssl
import tempfile
import threading
import time
import urllib.parse
import warnings
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ._files import LineMap, read_table
from .dataset import Dataset, check_items, validate_ratings

__all__ = [
    "DATASETS",
    "DataUnavailableError",
    "MovieLensSpec",
    "ParsedFiles",
    "cache_dir",
    "data_dir_candidates",
    "load_movielens",
    "register_dataset",
]

BASE_URL = "https://files.grouplens.org/datasets/movielens"
ENV_DATA_DIR = "NCF_DATA_DIR"
ENV_CACHE_DIR = "NCF_CACHE_DIR"
ENV_URL = "NCF_MOVIELENS_URL"
_CHUNK = 1 << 16
_STALE_TEMP_SECONDS = 3600  # temp folders of a killed download older than this are removed on the next one


class DataUnavailableError(RuntimeError):
    """No local copy of a MovieLens data set was found and it could not be downloaded (lesson 01).

    The message names the URL tried, the reason in one line, the folders searched and the offline
    alternative. Attributes: ``name``, ``url`` (``None`` when no download was attempted), ``reason``,
    ``candidates`` (list of :class:`~pathlib.Path`).
    """

    def __init__(
        self,
        message: str,
        *,
        name: str = "",
        url: str | None = None,
        reason: str = "",
        candidates: list[Path] | None = None,
    ):
        super().__init__(message)
        self.name = name
        self.url = url
        self.reason = reason
        self.candidates = list(candidates or [])


class ParsedFiles(NamedTuple):
    """What a reader returns: raw ratings ``user_id, item_id, rating, timestamp`` (one row per data line of the
    ratings file, not yet validated), items ``item_id, title, genres`` (genres a list of str; ``item_id``
    already checked), the ratings file named in messages, the items file, ``ratings_lines`` (maps a 0-based
    ratings row to its line in the file, see :class:`~ncf_helpers.data._files.LineMap`) and ``ratings_labels``
    (how messages name each ratings column, e.g. ``{"item_id": "column 'movieId'"}``)."""

    ratings: pd.DataFrame
    items: pd.DataFrame
    ratings_source: str
    items_source: str
    ratings_lines: Callable[[int], int] | None = None
    ratings_labels: Mapping[str, str] | None = None


@dataclass(frozen=True)
class MovieLensSpec:
    """How to get, check and parse one MovieLens release (lesson 01).

    Attributes
    ----------
    url : the official zip, e.g. ``https://files.grouplens.org/datasets/movielens/ml-latest-small.zip``.
        With a base-URL override the zip's file name is appended to the new base.
    folder : the top folder inside the zip (``"ml-latest-small"``).
    files : files checked after a download (every one must be in the zip).
    required : files the reader needs; a local folder counts as present when it holds all of them.
    sha256 : expected sha256 (hex) per file; ``None`` (or a missing key) when unknown.
    row_counts : expected number of data rows (lines without the header) per file.
    reader : ``reader(folder, spec) -> ParsedFiles``.
    rating_range : inclusive range of valid ratings.
    rating_step : every rating is a multiple of it (0.5 for half stars, 1.0 for whole stars).
    """

    url: str
    folder: str
    files: tuple[str, ...]
    required: tuple[str, ...]
    sha256: Mapping[str, str | None]
    row_counts: Mapping[str, int]
    reader: Callable[[Path, MovieLensSpec], ParsedFiles]
    rating_range: tuple[float, float] = (0.5, 5.0)
    description: str = ""
    rating_step: float | None = None

    @property
    def zip_name(self) -> str:
        return urllib.parse.urlsplit(self.url).path.rsplit("/", 1)[-1]

    def replace(self, **changes) -> MovieLensSpec:
        """A copy with some fields changed (e.g. ``spec.replace(row_counts={})`` for a hand-made sample)."""
        return dataclasses.replace(self, **changes)


# ---------------------------------------------------------------------------------------------------- readers
def _check_columns(df: pd.DataFrame, path: Path, needed: list[str]) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; found {list(df.columns)}. Expected {needed}.")


def _split_genres(text: pd.Series) -> list[list[str]]:
    out = []
    for g in text.fillna("").astype(str):
        out.append([] if g in ("", "(no genres listed)") else g.split("|"))
    return out


def read_ml_latest(folder: Path, spec: MovieLensSpec) -> ParsedFiles:
    """``ratings.csv`` (``userId,movieId,rating,timestamp``) and ``movies.csv`` (``movieId,title,genres``,
    genres separated by ``|``; ``(no genres listed)`` becomes an empty list). UTF-8 with a header."""
    folder = Path(folder)
    rpath, mpath = folder / "ratings.csv", folder / "movies.csv"
    ratings = read_table(rpath, int_columns=("userId", "movieId", "timestamp"))
    _check_columns(ratings, rpath, ["userId", "movieId", "rating", "timestamp"])
    ratings = ratings.rename(columns={"userId": "user_id", "movieId": "item_id"})
    movies = read_table(mpath, int_columns=("movieId",), dtype={"title": str, "genres": str}, keep_default_na=False)
    _check_columns(movies, mpath, ["movieId", "title", "genres"])
    movies = check_items(
        movies.rename(columns={"movieId": "item_id"}), str(mpath), lines=LineMap(mpath), label="column 'movieId'"
    )
    items = pd.DataFrame(
        {
            "item_id": movies["item_id"].to_numpy(),
            "title": movies["title"].astype(str).to_numpy(),
            "genres": _split_genres(movies["genres"]),
        }
    )
    labels = {"user_id": "column 'userId'", "item_id": "column 'movieId'"}
    return ParsedFiles(ratings, items, str(rpath), str(mpath), LineMap(rpath), labels)


ML100K_FIELDS = "user id, item id, rating, timestamp"


def read_ml_100k(folder: Path, spec: MovieLensSpec) -> ParsedFiles:
    """``u.data`` (tab-separated ``user item rating timestamp``, no header), ``u.item`` (``|``-separated,
    latin-1: ``id|title|release date|video release date|IMDb URL|`` + 19 genre flags) and ``u.genre``
    (``name|index``, the flag columns' names). The genre ``unknown`` becomes an empty list."""
    folder = Path(folder)
    dpath, ipath, gpath = folder / "u.data", folder / "u.item", folder / "u.genre"
    ratings = read_table(
        dpath,
        sep="\t",
        header=None,
        int_columns=(0, 1, 3),
        header_lines=0,
        expected_fields=4,
        field_names=ML100K_FIELDS,
    )
    ratings.columns = ["user_id", "item_id", "rating", "timestamp"]
    genre_rows = [line.rsplit("|", 1) for line in gpath.read_text(encoding="latin-1").splitlines() if line.strip()]
    try:
        genre_names = [name for name, _ in sorted(genre_rows, key=lambda r: int(r[1]))]
    except (ValueError, IndexError):
        raise ValueError(f"{gpath}: every line must read 'name|index' (e.g. 'Action|1').") from None
    cols = ["item_id", "title", "release_date", "video_release_date", "imdb_url"] + genre_names
    movies = read_table(
        ipath,
        sep="|",
        header=None,
        names=cols,
        encoding="latin-1",
        quoting=csv.QUOTE_NONE,
        dtype={"title": str},
        keep_default_na=False,
        int_columns=("item_id",),
        header_lines=0,
        field_names="id|title|release date|video release date|IMDb URL| + one flag per genre",
    )
    lines = LineMap(ipath, encoding="latin-1", header_lines=0)
    movies = check_items(movies, str(ipath), lines=lines, label="field 1 (movie id)")
    flags = movies[genre_names].apply(pd.to_numeric, errors="coerce")
    bad = (flags.isna() | ~flags.isin([0, 1])).any(axis=1).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{ipath}: line {lines(i)} should end with {len(genre_names)} genre flags (0 or 1).")
    flag_arr = flags.to_numpy() > 0
    names = np.array(genre_names, dtype=object)
    genres = [[g for g in names[row] if g != "unknown"] for row in flag_arr]
    items = pd.DataFrame(
        {"item_id": movies["item_id"].to_numpy(), "title": movies["title"].astype(str).to_numpy(), "genres": genres}
    )
    labels = {
        "user_id": "field 1 (user id)",
        "item_id": "field 2 (item id)",
        "rating": "field 3 (rating)",
        "timestamp": "field 4 (timestamp)",
    }
    return ParsedFiles(ratings, items, str(dpath), str(ipath), LineMap(dpath, encoding="utf-8", header_lines=0), labels)


def _check_double_colons(path: Path, separators: int, fields: str) -> None:
    """Every non-blank line of ``path`` holds exactly ``separators`` ``'::'`` and no other ``':'``, so that reading
    fields 0, 2, 4, 6 of a ':'-split line hides nothing. Raises ``ValueError`` naming the first line that does
    not. Fast path: three byte counts over the whole file; only when they disagree are lines checked one by one
    (vectorised with numpy) to find the line."""
    raw = path.read_bytes()
    lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") or not raw else 1)
    if raw.count(b":") == 2 * separators * lines and raw.count(b"::") == separators * lines and b":::" not in raw:
        return
    data = np.frombuffer(raw, dtype=np.uint8)
    ends = np.flatnonzero(data == 10)
    if ends.size == 0 or ends[-1] != data.size - 1:
        ends = np.append(ends, data.size)  # a last line without a newline
    starts = np.concatenate(([0], ends[:-1] + 1))
    colon = np.flatnonzero(data == 58)
    per_line = np.searchsorted(colon, ends) - np.searchsorted(colon, starts)
    pair_start = colon[:-1][np.diff(colon) == 1] if colon.size > 1 else colon[:0]  # ':' followed by ':'
    pairs = np.searchsorted(pair_start, ends) - np.searchsorted(pair_start, starts)
    for k in np.flatnonzero((per_line != 2 * separators) | (pairs != separators)):
        if per_line[k] == 0 and not data[starts[k] : ends[k]].tobytes().strip():
            continue  # a blank line (pandas skips it too)
        raise ValueError(
            f"{path}: line {int(k) + 1} should read {fields} ({separators + 1} fields separated by '::'). "
            "Fix that line."
        )


def read_ml_1m(folder: Path, spec: MovieLensSpec) -> ParsedFiles:
    """``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``) and ``movies.dat``
    (``MovieID::Title::Genres``, latin-1, genres separated by ``|``). No headers."""
    folder = Path(folder)
    rpath, mpath = folder / "ratings.dat", folder / "movies.dat"
    # Splitting on ':' with the fast C parser: '1::1193::5::978300760' -> fields 0, 2, 4, 6 (1, 3, 5 empty);
    # _check_double_colons first makes sure no line has a stray or missing ':' that usecols would hide.
    fields = "UserID::MovieID::Rating::Timestamp"
    _check_double_colons(rpath, 3, fields)
    ratings = read_table(
        rpath,
        sep=":",
        header=None,
        usecols=[0, 2, 4, 6],
        engine="c",
        int_columns=(0, 2, 6),
        header_lines=0,
        field_names=fields,
    )
    lines = LineMap(rpath, encoding="latin-1", header_lines=0)
    ratings.columns = ["user_id", "item_id", "rating", "timestamp"]
    ids, titles, genres, numbers = [], [], [], []
    with open(mpath, encoding="latin-1", newline=None) as fh:
        for n, line in enumerate(fh, start=1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split("::")
            if len(parts) != 3:
                raise ValueError(f"{mpath}: line {n} should read 'MovieID::Title::Genres'; it has {line!r}.")
            ids.append(parts[0])
            titles.append(parts[1])
            genres.append(parts[2])
            numbers.append(n)
    if not ids:
        raise ValueError(f"{mpath}: the file is empty. Copy or download it again.")
    items = check_items(
        pd.DataFrame({"item_id": ids, "title": titles}), str(mpath), lines=numbers, label="field 1 (MovieID)"
    )
    items["genres"] = _split_genres(pd.Series(genres, dtype=object))
    labels = {
        "user_id": "field 1 (UserID)",
        "item_id": "field 2 (MovieID)",
        "rating": "field 3 (Rating)",
        "timestamp": "field 4 (Timestamp)",
    }
    return ParsedFiles(ratings, items, str(rpath), str(mpath), lines, labels)


# ---------------------------------------------------------------------------------------------------- registry
DATASETS: dict[str, MovieLensSpec] = {
    "ml-latest-small": MovieLensSpec(
        url=f"{BASE_URL}/ml-latest-small.zip",
        folder="ml-latest-small",
        files=("README.txt", "links.csv", "movies.csv", "ratings.csv", "tags.csv"),
        required=("ratings.csv", "movies.csv"),
        # The 2018-09-26 release; the same sums are in the course's shared datasets/SHA256SUMS.
        sha256={
            "README.txt": "63d22ac138e80fae37021797ed8e1b9424b5239dc576a137422adf783ae3f404",
            "links.csv": "97ad18e4e56a09363c65676b6cb3482ce3e2cea2372a24620c1599c843325f31",
            "movies.csv": "5a5f32dd9bb3797b8e728a1b98958789d2b13f294a69fdfbc5727f8a9611aa07",
            "ratings.csv": "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646",
            "tags.csv": "92a9f8bb7916dceef6151209845788c3643f794dfa79d1feaec7121b5960399d",
        },
        row_counts={"ratings.csv": 100_836, "movies.csv": 9_742},
        reader=read_ml_latest,
        rating_range=(0.5, 5.0),
        rating_step=0.5,
        description="100,836 ratings (0.5-5 stars) by 610 users on 9,742 movies, 1996-2018",
    ),
    # ml-100k and ml-1m: no published sha256 sums we could check, so downloads are verified by row counts only.
    "ml-100k": MovieLensSpec(
        url=f"{BASE_URL}/ml-100k.zip",
        folder="ml-100k",
        files=("u.data", "u.item", "u.genre"),
        required=("u.data", "u.item", "u.genre"),
        sha256={"u.data": None, "u.item": None, "u.genre": None},
        row_counts={"u.data": 100_000},
        reader=read_ml_100k,
        rating_range=(1.0, 5.0),
        rating_step=1.0,
        description="100,000 ratings (1-5 stars) by 943 users on 1,682 movies, 1997-1998",
    ),
    "ml-1m": MovieLensSpec(
        url=f"{BASE_URL}/ml-1m.zip",
        folder="ml-1m",
        files=("ratings.dat", "movies.dat"),
        required=("ratings.dat", "movies.dat"),
        sha256={"ratings.dat": None, "movies.dat": None},
        row_counts={"ratings.dat": 1_000_209},
        reader=read_ml_1m,
        rating_range=(1.0, 5.0),
        rating_step=1.0,
        description="1,000,209 ratings (1-5 stars) by 6,040 users on about 3,900 movies, 2000-2003",
    ),
}


def register_dataset(name: str, spec: MovieLensSpec) -> MovieLensSpec:
    """Add (or replace) ``DATASETS[name]`` so ``load_movielens(name)`` and ``load_dataset(name)`` know it.
    Used by the tests to serve a small fixture with its own sums and counts. Returns ``spec``."""
    if not isinstance(spec, MovieLensSpec):
        raise TypeError(f"spec must be a MovieLensSpec, got {type(spec).__name__}.")
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"{name!r} cannot be a data set name (it becomes a folder name).")
    DATASETS[name] = spec
    return spec


# ---------------------------------------------------------------------------------------------------- folders
def _repo_data_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "data"


def cache_dir() -> Path:
    """The folder downloads go to: ``$NCF_CACHE_DIR`` if set, else ``<repo>/data`` (git-ignored)."""
    env = os.environ.get(ENV_CACHE_DIR)
    return Path(os.path.abspath(os.path.expanduser(env))) if env else _repo_data_dir()


def data_dir_candidates(name: str = "ml-latest-small", data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders :func:`load_movielens` searches for ``name``, in order (absolute paths).

    With ``data_dir``: ``[data_dir, data_dir/<name>]`` only. Otherwise ``$NCF_DATA_DIR/<name>`` (if the variable
    is set; relative to the current working directory) and then the cache ``<repo>/data/<name>`` (or
    ``$NCF_CACHE_DIR/<name>``), where downloads go. Lesson 01 prints this list.
    """
    if data_dir is not None:
        base = Path(os.path.abspath(os.path.expanduser(os.fspath(data_dir))))
        return [base, base / name]
    out = []
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        out.append(Path(os.path.abspath(os.path.expanduser(env))) / name)
    out.append(cache_dir() / name)
    return out


def _missing_files(folder: Path, spec: MovieLensSpec) -> list[str]:
    if not folder.is_dir():
        return list(spec.required)
    return [f for f in spec.required if not (folder / f).is_file()]


def _describe(folder: Path, spec: MovieLensSpec) -> str:
    if not folder.exists():
        return f"{folder}  (does not exist)"
    missing = _missing_files(folder, spec)
    return f"{folder}  (lacks {', '.join(missing)})" if missing else f"{folder}  (complete)"


# ---------------------------------------------------------------------------------------------------- checking
_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def _sha256(path: Path, cached: bool = False) -> str:
    key = None
    if cached:
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if key in _SHA_CACHE:
            return _SHA_CACHE[key]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    if key is not None:
        _SHA_CACHE[key] = digest
    return digest


def _sha_problem(folder: Path, spec: MovieLensSpec, files, cached: bool) -> str | None:
    for f in files:
        expected = spec.sha256.get(f)
        if expected:
            got = _sha256(folder / f, cached=cached)
            if got != expected.lower():
                return f"sha256 mismatch for {f}: expected {expected.lower()} got {got}"
    return None


def _count_problem(parsed: ParsedFiles, spec: MovieLensSpec) -> str | None:
    """Compare the parsed ratings and items with ``spec.row_counts`` (files the reader does not parse are
    not counted)."""
    lengths = {Path(parsed.ratings_source).name: len(parsed.ratings), Path(parsed.items_source).name: len(parsed.items)}
    for f, n in spec.row_counts.items():
        if f in lengths and lengths[f] != n:
            return f"{f} has {lengths[f]:,} data rows, expected {n:,}"
    return None


def _parse_and_build(name: str, folder: Path, spec: MovieLensSpec, duplicates: str) -> Dataset:
    """Parse ``folder`` with ``spec.reader``, validate (ValueError naming file, line and column), check row
    counts. Every rated movie must be in the movies file."""
    parsed = spec.reader(folder, spec)
    clean = validate_ratings(
        parsed.ratings,
        parsed.ratings_source,
        rating_range=spec.rating_range,
        rating_step=spec.rating_step,
        duplicates=duplicates,
        lines=parsed.ratings_lines,
        labels=dict(parsed.ratings_labels or {}),
        item_ids=parsed.items["item_id"].to_numpy(),
        items_source=parsed.items_source,
    )
    problem = _count_problem(parsed, spec)
    if problem:
        raise ValueError(
            f"{folder}: {problem}. The copy of {name!r} looks incomplete or is another release. "
            "Delete the folder so it is downloaded again, or copy the unzipped files once more."
        )
    # Already validated above with the right line numbers; from_frames validates again (cheap on clean data).
    return Dataset.from_frames(
        name, clean, parsed.items, source=str(folder), rating_range=spec.rating_range, duplicates=duplicates
    )


# ---------------------------------------------------------------------------------------------------- download
class _Failure(Exception):
    """A download step failed; ``reason`` is the one-line explanation."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and the errors it wraps (requests and urllib3 keep them as cause, context, ``.reason`` or argument)."""
    out, todo = [], [exc]
    while todo:
        e = todo.pop(0)
        if isinstance(e, BaseException) and not any(e is o for o in out):
            out.append(e)
            todo += [e.__cause__, e.__context__, getattr(e, "reason", None), *e.args[:1]]
    return out


def _reason(exc: BaseException, host: str, timeout: tuple[float, float], state: dict) -> str:
    import requests

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason}".strip()
    if isinstance(exc, (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error)):
        return f"the downloaded file is not a valid zip (truncated or corrupt: {exc})"
    causes = _causes(exc)
    timed_out = any(isinstance(c, (TimeoutError, requests.Timeout)) for c in causes)
    if "total" in state:  # the headers arrived; the body failed
        # bytes saved, or read when more (urllib3's IncompleteRead counts the block it then drops)
        read = [c.partial for c in causes if isinstance(getattr(c, "partial", None), int)]
        received = max([state.get("received", 0), *read])
        total = state["total"]
        if timed_out:
            return f"download stalled: no data for {timeout[1]:g} s after {received:,} bytes"
        if total is not None and received < total:
            return f"download truncated: got {received:,} of {total:,} bytes"
        return f"download interrupted after {received:,} bytes ({type(exc).__name__})"
    if isinstance(exc, requests.ConnectTimeout):
        return f"timed out after {timeout[0]:g} s"
    if timed_out:
        return f"no response from {host} within {timeout[1]:g} s"
    for inner in causes:
        if isinstance(inner, ConnectionRefusedError):
            return "connection refused"
        if isinstance(inner, socket.gaierror):
            return f"cannot resolve host {host!r} (no internet connection or DNS?)"
        if isinstance(inner, ssl.SSLError):
            return f"TLS error: {inner}"
    inner = causes[-1]
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror[0].lower() + inner.strerror[1:]
    return f"{type(inner).__name__}: {inner}"


def _quiet(record) -> bool:  # pooch logs every download and suggests a known_hash; the bar is enough here
    return record.threadName != "movielens-download"


def _retrieve(url: str, tmp: Path, spec: MovieLensSpec, timeout: tuple[float, float], progress: bool) -> Path:
    """Download ``url`` into ``tmp`` with pooch and unzip the members under ``spec.folder/`` into
    ``tmp/unzipped``; return ``tmp/unzipped/<folder>``.

    requests bounds the connection by ``connect`` and each read (the response headers, then every block of the
    body) by ``read``. DNS lookups ignore both, and a server may accept the connection and never answer, so
    pooch runs in a daemon thread that is abandoned when no response headers came within ``connect + 0.5`` s."""
    import pooch
    import requests

    connect = timeout[0]
    host = urllib.parse.urlsplit(url).hostname or url
    headers, abandoned = threading.Event(), threading.Event()
    state: dict = {}

    def on_response(response, *args, **kwargs):  # requests calls it once the headers arrived
        if response.is_redirect:
            return  # the backstop keeps watching the next request
        if abandoned.is_set():
            raise _Failure("abandoned")  # too late: do not download the body into a removed folder
        length = response.headers.get("Content-Length", "")
        state["total"] = int(length) if length.isdigit() else None
        headers.set()

    http = pooch.HTTPDownloader(
        progressbar=progress,
        chunk_size=_CHUNK,
        timeout=timeout,
        headers={"User-Agent": "ncf-helpers (course data download)"},
        hooks={"response": on_response},
    )

    def download(url, output_file, pup):  # pooch's downloader, counting the bytes written (for the messages)
        try:
            http(url, output_file, pup)
        finally:
            state["received"] = os.path.getsize(output_file) if os.path.exists(output_file) else 0

    def work():
        try:  # known_hash=None: GroupLens publishes no sum of the zip; the unzipped files are checked instead
            pooch.retrieve(
                url,
                known_hash=None,
                fname=spec.zip_name,
                path=tmp,
                downloader=download,
                processor=pooch.Unzip(members=[spec.folder], extract_dir="unzipped"),
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            state["error"] = exc

    pooch.get_logger().addFilter(_quiet)  # added once (addFilter ignores a filter it already has)
    thread = threading.Thread(target=work, name="movielens-download", daemon=True)
    thread.start()
    thread.join(connect + 0.5)
    if thread.is_alive() and not headers.is_set():
        abandoned.set()
        raise _Failure(f"no answer from {host} within {connect:g} s (DNS lookup or connection timed out)")
    thread.join()
    exc = state.get("error")
    if isinstance(exc, (requests.RequestException, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error)):
        raise _Failure(_reason(exc, host, timeout, state)) from exc
    if exc is not None:
        raise exc  # e.g. disk full while writing the zip or extracting it
    folder = tmp / "unzipped" / spec.folder
    missing = [f"{spec.folder}/{f}" for f in spec.files if not (folder / f).is_file()]
    if missing:
        raise _Failure(f"the zip lacks {', '.join(missing)}")
    return folder


def _remove_stale_temps(root: Path, name: str) -> None:
    now = time.time()
    for p in root.glob(f".{name}.download-*"):
        try:
            if now - p.stat().st_mtime > _STALE_TEMP_SECONDS:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def _download(
    name: str, spec: MovieLensSpec, url: str, target: Path, timeout, progress: bool, duplicates: str
) -> Dataset:
    """Download ``url`` into a temp folder next to ``target``, extract, verify, parse, then rename into place.
    Any failure raises :class:`_Failure` and removes everything this call created."""
    root = target.parent
    created = []  # folders this call created, removed again on failure when still empty
    p = root
    while not p.exists():
        created.append(p)
        p = p.parent
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(root, name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.download-", dir=root))
    moved = False
    try:
        folder = _retrieve(url, tmp, spec, timeout, progress)
        problem = _sha_problem(folder, spec, spec.files, cached=False)
        if problem:
            raise _Failure(problem)
        try:
            ds = _parse_and_build(name, folder, spec, duplicates)
        except ValueError as exc:
            first = str(exc).splitlines()[0].replace(str(folder), f"{spec.zip_name}:{spec.folder}")
            raise _Failure(f"the downloaded files are invalid: {first}") from exc
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()  # an empty placeholder folder: replace it
        try:
            os.replace(folder, target)
        except OSError as exc:
            if _missing_files(target, spec):
                raise _Failure(f"cannot move the files into {target}: {exc}") from exc
            # another process finished the same download first: use its copy
        moved = True
        ds.source = str(target)
        return ds
    except OSError as exc:  # e.g. disk full while writing the zip or extracting it
        raise _Failure(f"cannot write to {root}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not moved:
            for d in created:  # innermost first
                try:
                    d.rmdir()
                except OSError:
                    break


# ---------------------------------------------------------------------------------------------------- public
def _unavailable_message(
    name: str, spec: MovieLensSpec, url: str | None, reason: str, candidates: list[Path], explicit: bool
) -> str:
    lines = []
    if url:
        lines.append(f"Could not download MovieLens {name!r} from {url}")
    else:
        lines.append(f"MovieLens {name!r} was not found and was not downloaded")
    lines.append(f"  reason: {reason}")
    lines.append(f"Looked for the unzipped files ({', '.join(spec.required)}) in:")
    lines += [f"  - {_describe(c, spec)}" for c in candidates]
    if explicit:
        lines.append(f"Put the unzipped files into {candidates[0]}/ or call load_movielens({name!r}) without data_dir.")
    else:
        cache = cache_dir() / name
        where = f"{cache}/" + (f" (data/{name}/ in the repo)" if cache.parent == _repo_data_dir() else "")
        lines.append(
            f"To work offline: download {spec.zip_name} ({spec.url}) on a machine with internet, unzip it and put "
            f"the folder at {where} or at $NCF_DATA_DIR/{name}/."
        )
    lines.append('Or use the offline synthetic data set: load_dataset("synthetic") / make_synthetic().')
    return "\n".join(lines)


def load_movielens(
    name: str = "ml-latest-small",
    *,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    timeout: float | tuple[float, float] = (5, 30),
    progress: bool = True,
    base_url: str | None = None,
    spec: MovieLensSpec | None = None,
    duplicates: str = "error",
    verify_checksums: bool = True,
) -> Dataset:
    """Load a MovieLens release as a :class:`~ncf_helpers.data.Dataset` (introduced in lesson 01).

    Parameters
    ----------
    name : ``"ml-latest-small"`` (100,836 ratings, 0.5-5 stars, 610 users, 9,742 movies), ``"ml-100k"``
        (100,000 ratings, 1-5) or ``"ml-1m"`` (1,000,209 ratings, 1-5), or a name added by :func:`register_dataset`.
    data_dir : a folder holding the unzipped files (or its parent); when given, nothing else is searched.
    download : download into the cache when no local copy is found.
    timeout : ``(connect, read)`` seconds, or one number for both. ``connect`` (plus 0.5 s) bounds everything up
        to the response headers (DNS, connection, TLS); ``read`` bounds each read of the body.
    progress : show a tqdm progress bar while downloading.
    base_url : replaces ``https://files.grouplens.org/datasets/movielens`` (also ``$NCF_MOVIELENS_URL``).
    spec : a :class:`MovieLensSpec` to use instead of ``DATASETS[name]`` (tests use their own sums/counts).
    duplicates : ``"error"``, ``"last"`` or ``"mean"`` for repeated (user, item) pairs (see ``validate_ratings``).
    verify_checksums : for a local copy, compare the sha256 of the parsed files with the known sums (once per
        process per file; a mismatch only warns, as line-ending conversion changes the sum but not the data).
        Downloads are always checked and rejected on a mismatch.

    Returns
    -------
    Dataset with ``ratings`` ``[num_ratings x 6]``: ``user_id, item_id, rating, timestamp, user_idx, item_idx``
    and ``items`` ``[num_items x 4]``: ``item_idx, item_id, title, genres`` (``genres`` a list of str; MovieLens'
    ``(no genres listed)`` is an empty list). ``ds.source`` is the folder the files came from.

    Raises
    ------
    DataUnavailableError : no local copy and the download failed or was not allowed. Raised within about
        ``connect`` seconds when offline; the message names the URL, the reason, the folders searched and the
        offline alternative ``load_dataset("synthetic")``. The cache is left exactly as it was.
    ValueError : a local copy is corrupt: names the file, the column and the first bad row, or the wrong
        row count.
    """
    if spec is None:
        if name not in DATASETS:
            raise ValueError(f"Unknown MovieLens data set {name!r}. Choose one of: {', '.join(DATASETS)}.")
        spec = DATASETS[name]
    if isinstance(timeout, (int, float)):
        timeout = (float(timeout), float(timeout))
    timeout = (float(timeout[0]), float(timeout[1]))
    explicit = data_dir is not None
    candidates = data_dir_candidates(name, data_dir)
    for folder in candidates:
        if not _missing_files(folder, spec):
            if verify_checksums:
                problem = _sha_problem(folder, spec, spec.required, cached=True)
                if problem:
                    warnings.warn(
                        f"{folder}: {problem}. The data may differ from the official {name!r} release "
                        "(or only its line endings changed). Row counts are checked next.",
                        stacklevel=2,
                    )
            return _parse_and_build(name, folder, spec, duplicates)

    if explicit:
        raise DataUnavailableError(
            _unavailable_message(
                name, spec, None, f"data_dir={os.fspath(data_dir)!r} does not hold the files", candidates, explicit=True
            ),
            name=name,
            url=None,
            reason="missing files",
            candidates=candidates,
        )
    base = base_url or os.environ.get(ENV_URL)
    url = f"{base.rstrip('/')}/{spec.zip_name}" if base else spec.url

    def unavailable(reason: str, tried: str | None = None) -> DataUnavailableError:
        """The error for every way past this point can fail; ``tried``: the URL, if a download was tried."""
        return DataUnavailableError(
            _unavailable_message(name, spec, tried, reason, candidates, explicit=False),
            name=name,
            url=url,
            reason=reason,
            candidates=candidates,
        )

    if not download:
        raise unavailable("no local copy, and download=False")
    target = candidates[-1]
    if target.is_dir() and any(target.iterdir()):
        raise unavailable(
            f"{target} exists but lacks {', '.join(_missing_files(target, spec))}; "
            "delete that folder (or complete it) and try again"
        )
    try:
        return _download(name, spec, url, target, timeout, progress, duplicates)
    except _Failure as exc:
        raise unavailable(exc.reason, url) from (exc.__cause__ or exc)
