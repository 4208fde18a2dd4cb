"""DVC stage ``package``: log the recommender as an MLflow pyfunc model, register it, and move the
``champion`` alias to it only when the evaluation metrics pass the gate of params.yaml.

The model is models-from-code (``python_model="pipeline/serving.py"``, no pickled estimator); the
trained bundle directory (xgboost models as UBJ/JSON, SHAP background, rule sets) is its artifact
``bundle``. The signature lists every patient field of the contract as optional (``Any``: the
contract validation inside the model reports types, ranges and required fields per row, see
:mod:`pipeline.serving`) and the request params; the input example is a contract patient without
``patient_id``.

Metrics read from ``data/reports/metrics.json`` (written by the ``evaluate`` stage), defensively:
``headline.uno_c_index`` (>= ``package.gate.min_uno_c_index``), ``headline.gain_captured``
(>= ``min_gain_captured``) and ``headline.forbidden_recommendations``
(<= ``max_forbidden_recommendations``). A missing file, key or non-numeric value fails the gate
(the model is still logged and registered, the alias stays where it was). The decision and its
reasons go to ``data/reports/package.json``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from pipeline import io, stage
from pipeline.params import build

log = logging.getLogger("pipeline.package")

MODEL_NAME_IN_RUN = "recommender"
SERVING_CODE = Path(__file__).with_name("serving.py")
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


@dataclass(frozen=True)
class GateParams:
    """``package.gate``: every condition must hold for the alias to move."""

    min_uno_c_index: float
    min_gain_captured: float
    max_forbidden_recommendations: float


@dataclass(frozen=True)
class PackageParams:
    """``package:`` section of params.yaml."""

    registered_model_name: str
    alias: str
    gate: GateParams


# --- signature and example ----------------------------------------------------------------------

def input_schema():
    """Every patient field of the contract (patient_id included), optional, typed Any."""
    from mlflow.types.schema import AnyType, ColSpec, Schema

    from features.contract import PATIENT_FIELDS

    return Schema([ColSpec(AnyType(), name, required=False) for name in PATIENT_FIELDS])


def params_schema():
    """Request-level params of the served model (see :mod:`pipeline.serving`)."""
    from mlflow.types.schema import ParamSchema, ParamSpec

    return ParamSchema([
        ParamSpec("guideline", "string", ""),
        ParamSpec("excluded_modalities", "string", [], shape=(-1,)),
        ParamSpec("max_cost_tier", "string", ""),
        ParamSpec("objective", "string", ""),
        ParamSpec("explain", "boolean", True),
        ParamSpec("intervals", "boolean", True),
        ParamSpec("errors", "string", "raise"),
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


# --- gate ---------------------------------------------------------------------------------------

def gate_decision(metrics: dict | None, gate: GateParams) -> tuple[bool, list[str], dict]:
    """Check the evaluate metrics against the gate.

    Returns ``(passed, reasons, values)``: a reason per condition (passed or failed, with the
    numbers) and the values read (None when missing).
    """
    head = (metrics or {}).get("headline") if isinstance(metrics, dict) else None
    head = head if isinstance(head, dict) else {}
    checks = (
        ("uno_c_index", ">=", gate.min_uno_c_index),
        ("gain_captured", ">=", gate.min_gain_captured),
        ("forbidden_recommendations", "<=", gate.max_forbidden_recommendations),
    )
    passed, reasons, values = True, [], {}
    for key, op, limit in checks:
        raw = head.get(key)
        value = None
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw):
            value = float(raw)
        values[key] = value
        if value is None:
            passed = False
            reasons.append(f"headline.{key} missing or not a number in the metrics ({raw!r})")
            continue
        ok = value >= limit if op == ">=" else value <= limit
        passed &= ok
        reasons.append(f"headline.{key} = {value:g} {'passes' if ok else 'fails'} {op} {limit:g}")
    return passed, reasons, values


def read_metrics(path: str | Path | None) -> dict | None:
    if path is None or not Path(path).is_file():
        return None
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError:
        log.warning("metrics file %s is not valid JSON: the gate fails", path)
        return None


# --- logging and registration -------------------------------------------------------------------

@contextlib.contextmanager
def _quiet():
    """No artifact progress bars in the stage log; no type-hint advice (the signature is
    explicit on purpose: see pipeline/serving.py)."""
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

    from pipeline.bundle import load_bundle

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


def package(bundle: str | Path, example: str | Path | None, metrics_path: str | Path | None,
            params: PackageParams) -> dict:
    """Log, register and (if the gate passes) alias the model; returns the package report.

    Must run inside an active MLflow run (the stage's, or a test's).
    """
    from mlflow.tracking import MlflowClient

    info = log_model(bundle, example, params.registered_model_name)
    version = str(info.registered_model_version)
    passed, reasons, values = gate_decision(read_metrics(metrics_path), params.gate)
    client = MlflowClient()
    name, alias = params.registered_model_name, params.alias
    if passed:
        client.set_registered_model_alias(name, alias, version)
        why = f"gate passed: {'; '.join(reasons)}"
    else:
        why = f"gate failed, alias '{alias}' not moved: {'; '.join(reasons)}"
    try:
        holder = client.get_model_version_by_alias(name, alias).version
    except Exception:  # noqa: BLE001 - no version holds the alias yet
        holder = None
    log.info("registered %s version %s; %s", name, version, why)
    return {
        "registered_model_name": name,
        "version": version,
        "model_uri": f"models:/{name}/{version}",
        "logged_model_uri": info.model_uri,
        "alias": alias,
        "champion_moved": passed,
        "champion_version": holder,
        "champion_uri": f"models:/{name}@{alias}" if holder else None,
        "reason": why,
        "gate": {"passed": passed, "values": values, "checks": reasons,
                 "metrics_file": str(metrics_path) if metrics_path else None},
        "serve": f"hcc serve --model models:/{name}@{alias}",
    }


def run(args, params: dict) -> dict:
    import mlflow

    pp = build(PackageParams, params["package"], "package")
    report = package(args.bundle, args.example, args.metrics, pp)
    from pipeline import tracking

    report["tracking_uri"] = tracking.tracking_uri()
    io.write_json(args.out, report)
    mlflow.set_tags({"hcc.model_version_registered": report["version"],
                     "hcc.champion_moved": str(report["champion_moved"]).lower()})
    return {"champion_moved": float(report["champion_moved"])}


def _args(parser):
    parser.add_argument("--bundle", default="data/artifacts/recommender")
    parser.add_argument("--metrics", default="data/reports/metrics.json")
    parser.add_argument("--example", default=None,
                        help="JSON patient for the input example (default: DEFAULT_EXAMPLE, "
                        "the same patient as examples/patient_advanced.json)")
    parser.add_argument("--out", default="data/reports/package.json")


if __name__ == "__main__":
    stage.main("package", _args, run, section="package", description=__doc__)
