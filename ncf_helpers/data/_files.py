"""Reading delimited text files with errors that name the file and the line (lesson 01's data layer).

Shared by the MovieLens readers (``movielens.py``) and a learner's own ratings file (``ratings_csv.py``).
Imports only the standard library, numpy and pandas.
"""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

import pandas as pd


class LineMap:
    """``line_map(position) -> line``: the file's line number (1-based, as an editor shows it) of the data row
    at 0-based ``position``, counting rows as pandas does (blank and whitespace-only lines skipped, the first
    ``header_lines`` non-blank lines being the header). The file is only scanned when a message needs a line
    number, so the happy path costs nothing. Assumes one record per line (no quoted line breaks)."""

    def __init__(self, path: str | Path, *, encoding: str = "utf-8", header_lines: int = 1):
        self.path = Path(path)
        self.encoding = encoding
        self.header_lines = header_lines

    def __call__(self, position: int) -> int:
        seen = -self.header_lines - 1
        lineno = 0
        with open(self.path, encoding=self.encoding, errors="replace", newline=None) as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                seen += 1
                if seen == position:
                    return lineno
        return lineno + 1 + (position - seen - 1)  # past the end (should not happen): best guess

    def lines(self) -> list[int]:
        """Line numbers of every data row, in order (used by small files parsed by hand)."""
        out, seen = [], 0
        with open(self.path, encoding=self.encoding, errors="replace", newline=None) as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                seen += 1
                if seen > self.header_lines:
                    out.append(lineno)
        return out


def _first_line_with_fields(
    path: Path, *, sep: str, encoding: str, header_lines: int, expected: int, quoting: int
) -> tuple[int, int] | None:
    """``(line, number of fields)`` of the first data line whose field count is not ``expected``."""
    seen = 0
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=sep, quoting=quoting)
        for fields in reader:
            if not fields or all(not f.strip() for f in fields) and len(fields) <= 1:
                continue
            seen += 1
            if seen > header_lines and len(fields) != expected:
                return reader.line_num, len(fields)
    return None


def read_table(
    path: str | Path,
    *,
    int_columns=(),
    header_lines: int = 1,
    expected_fields: int | None = None,
    field_names: str = "",
    **kwargs,
) -> pd.DataFrame:
    """``pd.read_csv(path, **kwargs)`` with errors that name the file (and the line where it can).

    * ``int_columns``: integer columns (IDs, timestamps). pandas holds a column exactly when every value is a
      plain integer; when one is not (``3.5``, ``abc``, an empty cell, a number beyond int64), pandas would
      turn the column into floats (rounding large IDs) or text, so those columns are read again as text and
      left for :func:`~ncf_helpers.data.checks.check_integer_column` to parse exactly and to report.
    * More fields on a line than the header (or ``names``) has: ``ValueError`` naming the line, instead of
      pandas' silent use of the first column as the index (which shifts every column by one).
    * ``expected_fields`` (files without a header): every line must have that many fields.
    """
    path = Path(path)
    kwargs.setdefault("index_col", False)
    sep = kwargs.get("sep", ",")
    encoding = kwargs.get("encoding", "utf-8")
    quoting = kwargs.get("quoting", csv.QUOTE_MINIMAL)

    def fields_problem(expected: int) -> str | None:
        found = _first_line_with_fields(
            path, sep=sep, encoding=encoding, header_lines=header_lines, expected=expected, quoting=quoting
        )
        if found is None:
            return None
        line, n = found
        what = f"the header names {expected}" if header_lines else f"expected {expected}"
        names = f" ({field_names})" if field_names else ""
        return (
            f"{path}: line {line} has {n} fields separated by {sep!r}; {what}{names}. "
            "Fix that line (a stray separator or a missing value?)."
        )

    def header_width() -> int | None:
        """Fields the header (or ``names``) defines; None for a file without either."""
        if kwargs.get("names") is not None:
            return len(kwargs["names"])
        if not header_lines:
            return expected_fields
        with open(path, encoding=encoding, errors="replace", newline="") as fh:
            for fields in csv.reader(fh, delimiter=sep, quoting=quoting):
                if fields and any(f.strip() for f in fields):
                    return len(fields)
        return None

    def read(**extra):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                return pd.read_csv(path, **{**kwargs, **extra})
        except pd.errors.ParserWarning:
            expected = header_width() or expected_fields
            problem = fields_problem(expected) if expected else None
            raise ValueError(problem or f"{path}: some lines have more fields than the header.") from None
        except pd.errors.EmptyDataError:
            raise ValueError(f"{path}: the file is empty. Copy or download it again.") from None
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: no such file.") from None
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            m = re.search(r"Expected (\d+) fields", str(exc))
            problem = fields_problem(header_width() or int(m.group(1))) if m else None
            if problem:
                raise ValueError(problem) from None
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"{path}: cannot be parsed ({first}).") from exc

    df = read()
    if expected_fields is not None and df.shape[1] != expected_fields:
        raise ValueError(
            fields_problem(expected_fields)
            or f"{path}: expected {expected_fields} fields on every line, found {df.shape[1]}."
        )
    redo = [c for c in int_columns if c in df.columns and df[c].dtype.kind not in "iu"]
    if redo:  # read those columns again as text: empty cells stay NaN and are reported as empty
        dtype = dict(kwargs.get("dtype") or {})
        dtype.update({c: str for c in redo})
        df = read(dtype=dtype)
    return df
