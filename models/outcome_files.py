"""Saving and loading a fitted :class:`~models.counterfactual.ModalityOutcomeModel` without
pickle: boosters as UBJ + JSON, baselines, propensity model and overlap table as JSON metadata."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from .arms import ArmSet
from .propensity import PropensityModel


def save_outcome_model(model, directory) -> None:
    """Write the fitted model ``model`` to ``directory`` (see ``ModalityOutcomeModel.save``)."""
    from .persistence import ModelFileError, write_meta

    model._check()
    if model.base == "rsf":
        raise ModelFileError(
            "ModalityOutcomeModel: expected base 'xgboost' or 'coxph' to save without "
            "pickle, got 'rsf'. Hint: refit with another base or refit at load time."
        )
    root = Path(directory)
    write_meta(root, "ModalityOutcomeModel", {})
    for b, arms in enumerate([model.main_] + model.members_):
        for j, arm_model in enumerate(arms.models):
            arm_model.save(root / f"member{b}" / f"arm{j}")
    resp = None
    if model.response_model_ is not None:
        resp = model.response_model_.save(root / "response")
    write_meta(root, "ModalityOutcomeModel", {
        "params": model.get_params(), "modalities_": model.modalities_,
        "feature_names_in_": model.feature_names_in_, "arm_kind": model.main_.kind,
        "model_columns_": model.model_columns_,
        "n_members": len(model.members_), "n_arms": len(model.main_.models),
        "baselines": [None if a.baselines is None else [b.to_dict() for b in a.baselines]
                      for a in [model.main_] + model.members_],
        "propensity_model_": model.propensity_model_.to_dict(),
        "propensity_overlap_": model.propensity_overlap_.reset_index().to_dict("list"),
        "response": resp})


def load_outcome_model(cls, directory):
    """Read a model written by :func:`save_outcome_model` as an instance of ``cls``."""
    from .curves import BreslowBaseline
    from .peers import CoxPHPeer
    from .persistence import read_meta
    from .response_arms import ModalityResponse
    from .survival import SurvivalModel

    root = Path(directory)
    meta = read_meta(root, "ModalityOutcomeModel")
    params = dict(meta["params"])
    params.setdefault("baseline", "pooled")  # saved before stratified baselines existed
    model = cls(**params)
    model.modalities_ = list(meta["modalities_"])
    model.feature_names_in_ = list(meta["feature_names_in_"])
    base_cls = SurvivalModel if model.base == "xgboost" else CoxPHPeer
    M = len(model.modalities_)
    model.model_columns_ = list(meta["model_columns_"])
    p = len(model.model_columns_)
    stored = meta.get("baselines") or [None] * (meta["n_members"] + 1)
    sets = [ArmSet(meta["arm_kind"], [base_cls.load(root / f"member{b}" / f"arm{j}")
                                  for j in range(meta["n_arms"])], p, M,
                   None if stored[b] is None else [BreslowBaseline.from_dict(d)
                                                   for d in stored[b]])
            for b in range(meta["n_members"] + 1)]
    model.main_, model.members_ = sets[0], sets[1:]
    model.propensity_model_ = PropensityModel.from_dict(meta["propensity_model_"])
    model.propensity_overlap_ = pd.DataFrame(meta["propensity_overlap_"]).set_index(
        "modality")
    model.response_model_, model.response_members_ = None, []
    if "response" not in meta:
        # saved before per-modality response estimates: its pooled response model gave
        # implausible probabilities, so it is not used; survival predictions still load
        warnings.warn(f"model directory {root} predates per-modality response estimates: it "
                      "gives no response probabilities (retrain with dvc repro to get them)",
                      UserWarning, stacklevel=2)
    elif meta["response"] is not None:
        model.response_model_ = ModalityResponse.load(root / "response", meta["response"],
                                                      model.n_jobs)
        model.response_members_ = list(range(model.response_model_.n_members))
    return model
