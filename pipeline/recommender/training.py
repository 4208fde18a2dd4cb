"""Fitting a recommender bundle from a training frame in the patient contract.

The model matrix (:class:`features.ModelMatrix`) turns contract rows into features; the
counterfactual layer (:class:`models.ModalityOutcomeModel`) learns survival and response under
every modality from the observational training split. The bundle (see
:mod:`pipeline.recommender.bundle`) holds everything ``recommend()`` and the served model need,
without pickle. The ``train`` stage (:mod:`pipeline.stages.train`) and the evaluation's peers
call these functions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import io
from pipeline.config import ParamsError


@dataclass(frozen=True)
class TrainParams:
    """``train:`` section. ``outcome_model`` holds the keyword arguments of
    :class:`models.ModalityOutcomeModel` (learner, base model hyper-parameters, bagging)."""

    outcome_model: dict[str, Any]
    background_size: int
    seed: int


def targets(frame: pd.DataFrame):
    """(y, modality, response) from contract outcome columns.

    ``y`` is the structured (event, time) array; ``response`` is 1.0 for CR/PR (objective response
    by mRECIST), 0.0 for SD/PD and NaN when not assessed.
    """
    from sksurv.util import Surv

    y = Surv.from_arrays(event=frame["death"].astype(bool).to_numpy(),
                         time=frame["os_months"].astype(float).to_numpy())
    modality = frame["modality"].astype(str).to_numpy()
    resp = frame["response"].astype("object") if "response" in frame else pd.Series(
        [None] * len(frame))
    response = np.where(resp.isna(), np.nan, resp.isin(["cr", "pr"]).astype(float))
    return y, modality, response


def make_outcome_model(params: TrainParams, **overrides):
    from models import ModalityOutcomeModel

    kwargs = dict(params.outcome_model)
    kwargs.update(overrides)
    kwargs.setdefault("random_state", params.seed)
    try:
        return ModalityOutcomeModel(**kwargs)
    except TypeError as exc:
        raise ParamsError(f"train.outcome_model: {exc}") from exc


def fit_recommender(train: pd.DataFrame, params: TrainParams, **overrides):
    """Fit the model matrix and the outcome model on a training frame.

    Returns ``(matrix, model, X)`` where X is the training model matrix.
    """
    from features import ModelMatrix

    matrix = ModelMatrix().fit(train)
    X = matrix.transform(train)
    y, modality, response = targets(train)
    model = make_outcome_model(params, **overrides)
    model.fit(X, y, modality, response=response)
    return matrix, model, X


def guideline_rule_files() -> list[Path]:
    import guidelines

    return sorted((Path(guidelines.__file__).parent / "rules").glob("*.yaml"))


def train_bundle(train: pd.DataFrame, params: TrainParams, out: str | Path,
                 extra_settings: dict | None = None, **overrides) -> dict:
    """Fit and write a recommender bundle at ``out`` atomically; returns the settings written."""
    from pipeline.recommender.bundle import background_centroids, save_bundle
    from pipeline.tracking import git_commit

    started = time.perf_counter()
    matrix, model, X = fit_recommender(train, params, **overrides)
    fit_seconds = time.perf_counter() - started
    commit = git_commit()
    settings = {
        "model_version": f"{model.learner}-{commit[:10]}",
        "git_commit": commit,
        "learner": model.learner,
        "n_train": int(len(train)),
        "modalities": list(model.modalities_),
        "fit_seconds": round(fit_seconds, 2),
        "outcome_model": dict(params.outcome_model),
    }
    settings.update(extra_settings or {})
    background = background_centroids(X, k=params.background_size, seed=params.seed)
    with io.atomic_dir(out) as tmp:
        save_bundle(tmp, matrix, model, settings, background, guideline_rule_files())
    return settings
