"""Pickle-free persistence helpers: xgboost boosters in UBJ + one JSON of metadata."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
META_FILE = "meta.json"


class ModelFileError(ValueError):
    """A saved model directory is missing, incomplete or of another class/version."""


def _default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_meta(directory, kind: str, meta: dict) -> Path:
    """Write ``meta`` (JSON-able) with the model kind and format version."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    reserved = {"kind", "format_version"} & set(meta)
    if reserved:
        raise ValueError(f"write_meta: expected no reserved keys in meta, got {sorted(reserved)}.")
    payload = {"kind": kind, "format_version": FORMAT_VERSION, **meta}
    (path / META_FILE).write_text(json.dumps(payload, default=_default, indent=1))
    return path


def read_meta(directory, kind: str) -> dict:
    """Read the metadata JSON, checking the model kind and format version."""
    path = Path(directory) / META_FILE
    if not path.is_file():
        raise ModelFileError(
            f"model directory: expected {path} to exist, got no such file. "
            "Hint: pass the directory given to save()."
        )
    meta = json.loads(path.read_text())
    if meta.get("kind") != kind or meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"model directory: expected kind={kind!r} format_version={FORMAT_VERSION}, got "
            f"kind={meta.get('kind')!r} format_version={meta.get('format_version')!r}."
        )
    return meta


def save_booster(booster, directory, name: str) -> str:
    """Save an xgboost booster in native UBJ format; return the file name."""
    fname = f"{name}.ubj"
    booster.save_model(str(Path(directory) / fname))
    return fname


def load_booster(directory, fname: str, nthread: int = 1):
    """Load a booster saved by :func:`save_booster`."""
    import xgboost as xgb

    booster = xgb.Booster(params={"nthread": nthread})
    booster.load_model(str(Path(directory) / fname))
    return booster
