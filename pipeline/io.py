"""Atomic file outputs and cohort reading.

A stage killed midway must leave nothing that a later run takes for complete: every output is
written to a temporary sibling and moved into place with :func:`os.replace` only when whole.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
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


def read_cohort(path: str | Path) -> pd.DataFrame:
    """Read a cohort file (CSV or Parquet) with a clear error for a missing or unknown file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"cohort file {path} not found; data.source must be 'synthetic' or the path of a "
            "CSV/Parquet file in the patient contract"
        )
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path, keep_default_na=True)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise ValueError(f"cohort file {path}: expected a .csv or .parquet file, got '{suffix}'")
