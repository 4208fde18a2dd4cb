"""Atomic file outputs and cohort reading.

A stage killed midway must leave nothing that a later run takes for complete: every output is
written to a temporary sibling and moved into place with :func:`os.replace` only when whole.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


def _default_mode(directory: bool) -> int:
    """The mode a normally created file or directory gets (mkstemp/mkdtemp use 0600/0700)."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def _clear_leftovers(path: Path) -> None:
    """Remove temporaries a killed earlier run left beside ``path`` (never taken as output)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it over ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _clear_leftovers(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, _default_mode(directory=False))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; swap it into place only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _clear_leftovers(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, _default_mode(directory=True))
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _clean(value):
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_json(path: str | Path, data) -> None:
    """Write JSON atomically (NaN and infinities become null)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_clean(data), indent=2, default=_json_default) + "\n")


def read_json(path: str | Path):
    return json.loads(Path(path).read_text())


def write_frame(path: str | Path, frame: pd.DataFrame) -> None:
    """Write a frame atomically as Parquet (or CSV when the suffix is .csv)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)


@dataclass(frozen=True)
class ValidateParams:
    """``validate:`` section of params.yaml: when a cohort file is accepted.

    Attributes
    ----------
    max_invalid_share : float
        Largest share of invalid rows (0-1) with which a cohort is still accepted (the invalid
        rows are reported and left out); above it the cohort is rejected.
    """

    max_invalid_share: float


_DELIMITERS = {",": "',' (comma)", ";": "';' (semicolon)", "\t": "tab", "|": "'|' (pipe)"}
_NUMBER_COMMA = re.compile(r"^\s*[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?\s*$")
_HAS_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d*,\d+([eE][+-]?\d+)?\s*$")
_HAS_DECIMAL_POINT = re.compile(r"^\s*[+-]?\d*\.\d+([eE][+-]?\d+)?\s*$")
_SAMPLE_LINES = 500
_OPTIONS = (
    "The reader takes the delimiter from the header line (',', ';', tab or '|') and, in a "
    "file delimited by ';', tab or '|', accepts ',' as the decimal separator (1,5); a "
    "comma-delimited file needs '.' decimals. Export the "
    "sheet as 'CSV UTF-8 (comma delimited)', or as ';'-delimited CSV where Excel writes "
    "decimal commas, or as Parquet"
)


def read_cohort(path: str | Path) -> pd.DataFrame:
    """Read a cohort file (CSV or Parquet) with a clear error for a missing or unknown file.

    A CSV file (``.csv``, ``.tsv``, ``.txt``) is read as spreadsheets export it (see
    :func:`read_csv_cohort`): UTF-8 with or without a byte-order mark (GB18030 as a fallback),
    the delimiter taken from the header line (``,``, ``;``, tab or ``|``), decimal commas in a
    file delimited by anything but a comma. Row ``i`` of the frame is line ``i + 2`` of the file
    (blank lines inside the data are kept as empty rows; trailing empty rows are dropped), so a
    problem's :attr:`~features.contract.Problem.line` is the line the user sees.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        An unknown suffix, or a CSV file that cannot be parsed; the message names the line,
        the delimiter and decimal separator used, and the options there are.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"cohort file {path} not found; data.source must be 'synthetic' or the path of a "
            "CSV/Parquet file in the patient contract"
        )
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return read_csv_cohort(path)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise ValueError(f"cohort file {path}: expected a .csv or .parquet file, got '{suffix}'")


def _decode(path: Path) -> tuple[str, str]:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        raise ValueError(
            f"cohort file {path}: not UTF-8 text (byte {utf8_error.start} is "
            f"{raw[utf8_error.start:utf8_error.start + 1]!r}) nor GB18030; save it as "
            "'CSV UTF-8'") from None
    log.warning("cohort file %s is not UTF-8; read as GB18030 (Chinese Excel's CSV)", path.name)
    return text, "gb18030"


def sniff_csv(text: str) -> tuple[str, str]:
    """``(delimiter, decimal)`` of a CSV text: the delimiter that splits the header line into
    the most fields (',' on a tie or a one-column file), and ',' as the decimal separator when
    the delimiter is not ',' and the numeric-looking cells of the first lines use decimal commas
    (more of them than decimal points)."""
    lines = text.splitlines()
    header = next((line for line in lines if line.strip()), "")
    counts = {d: len(next(csv.reader([header], delimiter=d))) for d in _DELIMITERS}
    delimiter = max(_DELIMITERS, key=lambda d: (counts[d], d == ","))
    if delimiter == "," or counts[delimiter] < 2:
        return ",", "."
    commas = points = 0
    for row in csv.reader(lines[1:_SAMPLE_LINES], delimiter=delimiter):
        for cell in row:
            commas += bool(_HAS_DECIMAL_COMMA.match(cell))
            points += bool(_HAS_DECIMAL_POINT.match(cell))
    return delimiter, ("," if commas > points else ".")


def _parser_detail(exc: Exception) -> str:
    text = str(exc).strip()
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if found:
        expected, line, saw = found.groups()
        return f"line {line} has {saw} fields, the header line {expected}"
    return text.splitlines()[-1] if text else type(exc).__name__


def _decimal_comma_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns whose every non-missing cell is a number, some with a decimal comma, as
    floats (a column mixing 1,5 and 1.5 that pandas left as text)."""
    for col in frame.columns:
        series = frame[col]
        if series.dtype != object:
            continue
        cells = series.dropna()
        if cells.empty or not all(isinstance(v, str) for v in cells):
            continue
        if cells.str.match(_NUMBER_COMMA).all() and cells.str.contains(",").any():
            frame[col] = pd.to_numeric(series.str.replace(",", ".", regex=False))
    return frame


def read_csv_cohort(path: str | Path) -> pd.DataFrame:
    """Read a CSV cohort file as spreadsheets write it (see :func:`read_cohort`)."""
    path = Path(path)
    text, encoding = _decode(path)
    if not text.strip():
        raise ValueError(f"cohort file {path} is empty; expected a header line with the "
                         "contract column names and one line per patient")
    delimiter, decimal = sniff_csv(text)
    def unreadable(detail: str) -> ValueError:
        return ValueError(
            f"cohort file {path}: cannot be read as CSV with delimiter "
            f"{_DELIMITERS[delimiter]} and decimal separator '{decimal}' (both detected): "
            f"{detail}. {_OPTIONS}.")

    try:
        frame = pd.read_csv(StringIO(text), sep=delimiter, decimal=decimal,
                            keep_default_na=True, skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise unreadable(_parser_detail(exc)) from None
    if not isinstance(frame.index, pd.RangeIndex):  # pandas took surplus fields as an index
        raise unreadable(f"every data line has more fields than the header line "
                         f"({len(frame.columns)})")
    empty = frame.isna().all(axis=1).to_numpy()
    trailing = len(frame) - (int(np.flatnonzero(~empty)[-1]) + 1 if (~empty).any() else 0)
    if trailing:
        frame = frame.iloc[: len(frame) - trailing]
    if delimiter != ",":
        frame = _decimal_comma_columns(frame)
    if delimiter != "," or decimal != "." or encoding != "utf-8":
        log.info("read %s: delimiter %s, decimal separator '%s', %s", path.name,
                 _DELIMITERS[delimiter], decimal, encoding)
    return frame
