"""Fitting a recommender bundle from a training frame in the patient contract.

The model matrix (:class:`features.ModelMatrix`) turns contract rows into features; the
counterfactual layer (:class:`models.ModalityOutcomeModel`) learns survival and response under
every modality from the observational training split. The bundle (see
:mod:`pipeline.recommender.bundle`) holds everything ``recommend()`` and the served model need,
without pickle. The ``train`` stage (:mod:`pipeline.stages.train`) and the evaluation's peers
call these functions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import io
from pipeline.config import ParamsError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainParams:
    """``train:`` section of params.yaml.

    Attributes
    ----------
    outcome_model : dict
        Keyword arguments of :class:`models.ModalityOutcomeModel` (learner, base model
        hyper-parameters, bagging).
    background_size : int
        SHAP background: k-means centroids of the training matrix.
    seed : int
    min_train_patients : int
        Below this many training patients the ``train`` stage warns (in its log, the bundle's
        settings and the run summary) that the estimates are unreliable; it still trains.
    """

    outcome_model: dict[str, Any]
    background_size: int
    seed: int
    min_train_patients: int = 500


def frame_sha256(frame: pd.DataFrame) -> str:
    """Content hash of a frame (column names, dtypes and every value; row order matters)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(frame[c].dtype)] for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def settings_sha256(settings: dict) -> str:
    """Hash of a JSON-serialisable settings mapping (key order does not matter)."""
    text = json.dumps(settings, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def model_id(learner: str, data_sha256: str, params_sha256: str) -> str:
    """The bundle's identity: learner, training-data hash and settings hash.

    Two bundles share an id only when they were trained on the same rows with the same
    settings, so a model from another cohort can never pass for this one.
    """
    return f"{learner}-d{data_sha256[:8]}-p{params_sha256[:8]}"


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


def support_envelope(train: pd.DataFrame) -> dict:
    """The key features of the patients who received each modality
    (:func:`pipeline.recommender.envelope.fit_envelope`), from the derived training frame
    (derived here when ``train`` holds contract columns only)."""
    from pipeline.recommender.envelope import ORDINAL, fit_envelope

    if not set(ORDINAL) <= set(train.columns):
        from features import derive

        train = derive(train).assign(modality=train["modality"].to_numpy())
    return fit_envelope(train)


def training_warnings(train: pd.DataFrame, params: TrainParams) -> list[str]:
    """Plain-language warnings about the training data (size, rare modalities)."""
    out = []
    if len(train) < params.min_train_patients:
        out.append(f"only {len(train)} training patients (train.min_train_patients is "
                   f"{params.min_train_patients}): survival and response estimates per modality "
                   f"are unreliable; treat the recommendations as exploratory")
    counts = train["modality"].astype(str).value_counts()
    events = train.loc[train["death"].astype(bool), "modality"].astype(str).value_counts()
    rare = [f"{m} ({int(counts[m])} patients, {int(events.get(m, 0))} deaths)"
            for m in counts.index if counts[m] < 20]
    if rare:
        out.append("modalities with fewer than 20 training patients: " + ", ".join(rare)
                   + "; see recommend.min_treated_patients")
    return out


def train_bundle(train: pd.DataFrame, params: TrainParams, out: str | Path,
                 extra_settings: dict | None = None, **overrides) -> dict:
    """Fit and write a recommender bundle at ``out`` atomically.

    Returns the settings written (``settings.json``) plus ``fit_seconds``, which is not stored:
    the bundle holds only what its content depends on (the same rows and settings give the
    same bundle, byte for byte), so a rerun leaves the DVC lock file unchanged.
    """
    from pipeline.recommender.bundle import background_centroids, save_bundle

    started = time.perf_counter()
    matrix, model, X = fit_recommender(train, params, **overrides)
    fit_seconds = time.perf_counter() - started
    data_sha = frame_sha256(train)
    identity = {"outcome_model": dict(params.outcome_model), "overrides": overrides,
                "background_size": params.background_size, "seed": params.seed,
                **{k: v for k, v in (extra_settings or {}).items() if k != "data_source"}}
    params_sha = settings_sha256(identity)
    warnings = training_warnings(train, params)
    for text in warnings:
        log.warning("%s", text)
    settings = {
        "model_version": model_id(model.learner, data_sha, params_sha),
        "data_sha256": data_sha,
        "params_sha256": params_sha,
        "learner": model.learner,
        "n_train": int(len(train)),
        "n_train_by_modality": {str(k): int(v) for k, v in
                                train["modality"].astype(str).value_counts().sort_index().items()},
        "modalities": list(model.modalities_),
        "outcome_model": dict(params.outcome_model),
        "warnings": warnings,
    }
    settings.update(extra_settings or {})
    settings["support_envelope"] = support_envelope(train)
    background = background_centroids(X, k=params.background_size, seed=params.seed)
    with io.atomic_dir(out) as tmp:
        save_bundle(tmp, matrix, model, settings, background, guideline_rule_files())
    return dict(settings, fit_seconds=round(fit_seconds, 2))
