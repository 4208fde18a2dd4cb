"""The MLflow pyfunc model of the recommender as it is logged: signature, input example, pinned
requirements, and :func:`log_model`.

The model is models-from-code: :mod:`pipeline.serving.model` IS the model code, and the trained
bundle directory is its artifact ``bundle``. The signature lists every patient field of the
contract as optional (``Any``: the contract validation inside the model reports types, ranges and
required fields per row) and the request params; the input example is a contract patient without
``patient_id``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import warnings
from pathlib import Path

MODEL_NAME_IN_RUN = "recommender"
SERVING_CODE = Path(__file__).with_name("model.py")
DEFAULT_EXAMPLE = {
    "age_years": 52, "sex": "male", "economic_status": "high", "etiology": "hbv",
    "hbv_dna_iu_ml": 25000, "antiviral_therapy": True, "cirrhosis": True, "ascites": "none",
    "encephalopathy": "none", "varices": "treated", "bilirubin_umol_l": 21.0, "albumin_g_l": 36.0,
    "inr": 1.15, "creatinine_umol_l": 78.0, "platelets_10e9_l": 132.0, "afp_ng_ml": 3800.0,
    "neutrophils_10e9_l": 3.4, "hemoglobin_g_l": 128.0, "tumor_count": 2,
    "tumor_max_diameter_cm": 8.5, "tumor_sum_diameter_cm": 11.0, "liver_involvement_pct": 35.0,
    "bilobar": False, "pvtt": "vp3", "hepatic_vein_invasion": False, "extrahepatic_spread": False,
    "lymph_node_metastasis": False, "ecog": 1, "autoimmune_disease": False,
}
"""Input example of the logged model: examples/patient_advanced.json (BCLC C, Vp3 PVTT), kept in
code so the stage runs where the examples folder is absent."""

_REQUIREMENTS = ("mlflow", "numpy", "pandas", "pyarrow", "scipy", "scikit-learn", "xgboost-cpu",
                 "shap", "pyyaml")


# --- signature and example ----------------------------------------------------------------------

def input_schema():
    """Every patient field of the contract (patient_id included), optional, typed Any."""
    from mlflow.types.schema import AnyType, ColSpec, Schema

    from features.contract import PATIENT_FIELDS

    return Schema([ColSpec(AnyType(), name, required=False) for name in PATIENT_FIELDS])


def params_schema():
    """Request-level params of the served model (see :mod:`pipeline.serving.model`)."""
    from mlflow.types.schema import ParamSchema, ParamSpec

    return ParamSchema([
        ParamSpec("guideline", "string", ""),
        ParamSpec("excluded_modalities", "string", [], shape=(-1,)),
        ParamSpec("max_cost_tier", "string", ""),
        ParamSpec("objective", "string", ""),
        ParamSpec("consider_not_indicated", "boolean", False),
        ParamSpec("explain", "boolean", True),
        ParamSpec("intervals", "boolean", True),
        ParamSpec("errors", "string", "raise"),
        ParamSpec("output", "string", "records"),
        ParamSpec("threads", "integer", 0),
    ])


def signature():
    from mlflow.models import ModelSignature

    return ModelSignature(inputs=input_schema(), params=params_schema())


def input_example(path: str | Path | None = None):
    """A one-row frame of the example patient (``path``, else :data:`DEFAULT_EXAMPLE`), without
    patient_id."""
    import pandas as pd

    from features.contract import validate_record

    record = dict(DEFAULT_EXAMPLE) if path is None else json.loads(Path(path).read_text())
    record.pop("patient_id", None)
    validate_record(record)  # an invalid example is a bug: fail loudly
    return pd.DataFrame([record])


def pip_requirements() -> list[str]:
    """Pinned versions of the serving dependencies in this environment.

    The project itself (hcc-recommender: features, models, guidelines, pipeline) is not on a
    package index: serve with ``--env-manager local`` in the project's environment.
    """
    out = []
    for dist in _REQUIREMENTS:
        try:
            out.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(dist)
    return out


# --- logging and registration -------------------------------------------------------------------

@contextlib.contextmanager
def _quiet():
    """No artifact progress bars in the stage log; no type-hint advice (the signature is
    explicit on purpose: see pipeline/serving/model.py)."""
    old = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Add type hints to the `predict` method")
            yield
    finally:
        if old is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = old


def log_model(bundle: str | Path, example: str | Path | None,
              registered_model_name: str | None):
    """Log the pyfunc model in the active MLflow run (and register it); returns ModelInfo."""
    import mlflow

    from pipeline.recommender.bundle import load_bundle

    settings = load_bundle(bundle).settings  # fails loudly on an incomplete bundle
    with _quiet():
        return mlflow.pyfunc.log_model(
            name=MODEL_NAME_IN_RUN,
            python_model=str(SERVING_CODE),
            artifacts={"bundle": str(Path(bundle).resolve())},
            signature=signature(),
            input_example=input_example(example),
            pip_requirements=pip_requirements(),
            registered_model_name=registered_model_name,
            metadata={"model_version": settings.get("model_version"),
                      "project": "hcc-recommender (serve with --env-manager local in its "
                                 "environment)"},
        )
