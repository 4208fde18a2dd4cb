"""The trained recommender bundle: everything needed to score a patient, without pickle.

Layout of a bundle directory::

    model/              models.ModalityOutcomeModel.save() (xgboost UBJ/JSON + meta JSON)
    matrix.json         features.ModelMatrix parameters and its output columns
    settings.json       objective, times, horizon, cost tiers, versions, training summary
    background.parquet  SHAP background: k-means centroids of the training matrix (no patient row)
    rules/*.yaml        the guideline rule sets the recommender applies
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

BUNDLE_FORMAT = 1


class BundleError(ValueError):
    """A bundle directory is missing, incomplete or of another format."""


@dataclass(frozen=True)
class Bundle:
    """A loaded bundle: the feature matrix, the outcome model, settings and SHAP background."""

    matrix: object
    model: object
    settings: dict
    background: pd.DataFrame
    path: Path | None = None
    rules: tuple[Path, ...] = field(default_factory=tuple)


def background_centroids(matrix: pd.DataFrame, k: int = 50, seed: int = 0) -> pd.DataFrame:
    """Summarise the training matrix by ``k`` k-means centroids (missing values at the median).

    Centroids are averages of many patients, so no training patient's row leaves the pipeline.
    """
    from sklearn.cluster import KMeans

    filled = matrix.fillna(matrix.median(numeric_only=True)).fillna(0.0)
    k = int(min(k, max(1, len(filled) // 10)))
    km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(filled.to_numpy(float))
    return pd.DataFrame(km.cluster_centers_, columns=matrix.columns)


def save_bundle(path: str | Path, matrix, model, settings: dict, background: pd.DataFrame,
                rules: list[Path] | tuple[Path, ...] = ()) -> None:
    """Write a bundle directory at ``path`` (the caller makes it atomic, see pipeline.io)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model.save(path / "model")
    (path / "matrix.json").write_text(json.dumps(
        {"params": matrix.get_params(), "columns": list(matrix.get_feature_names_out())}, indent=2))
    meta = dict(settings, bundle_format=BUNDLE_FORMAT)
    (path / "settings.json").write_text(json.dumps(meta, indent=2, default=_default))
    background.to_parquet(path / "background.parquet", index=False)
    (path / "rules").mkdir(exist_ok=True)
    for rule_file in rules:
        shutil.copy(rule_file, path / "rules" / Path(rule_file).name)


def _default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(type(value).__name__)


def read_settings(path: str | Path) -> dict:
    """The ``settings.json`` of a complete bundle directory, without loading its models."""
    path = Path(path)
    needed = ("model", "matrix.json", "settings.json", "background.parquet")
    missing = [n for n in needed if not (path / n).exists()]
    if missing:
        raise BundleError(
            f"recommender bundle {path} is incomplete or missing ({', '.join(missing)} not "
            "found); run `dvc repro` (or `make run`) to train one"
        )
    settings = json.loads((path / "settings.json").read_text())
    if settings.get("bundle_format") != BUNDLE_FORMAT:
        raise BundleError(f"recommender bundle {path}: format {settings.get('bundle_format')} "
                          f"is not {BUNDLE_FORMAT}; retrain with this version")
    return settings


def load_bundle(path: str | Path) -> Bundle:
    """Load a bundle directory written by :func:`save_bundle`."""
    from features import ModelMatrix
    from models import ModalityOutcomeModel

    path = Path(path)
    settings = read_settings(path)
    spec = json.loads((path / "matrix.json").read_text())
    matrix = ModelMatrix(**spec["params"]).fit({})
    if list(matrix.get_feature_names_out()) != spec["columns"]:
        raise BundleError(f"recommender bundle {path}: its feature columns differ from this "
                          "version's ModelMatrix; retrain with this version")
    model = ModalityOutcomeModel.load(path / "model")
    background = pd.read_parquet(path / "background.parquet")
    rules = tuple(sorted((path / "rules").glob("*.yaml")))
    return Bundle(matrix, model, settings, background, path, rules)
