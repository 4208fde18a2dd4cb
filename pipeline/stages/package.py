"""DVC stage ``package``: log the recommender as an MLflow pyfunc model, register it, and move the
``champion`` alias to it only when the evaluation metrics pass the gate of params.yaml.

The model, its signature and example are defined in :mod:`pipeline.serving.packaging`
(models-from-code: :mod:`pipeline.serving.model` is the model code, the trained bundle its
artifact).

Metrics read from ``data/reports/metrics.json`` (written by the ``evaluate`` stage), defensively:
``headline.uno_c_index`` (>= ``package.gate.min_uno_c_index``), ``headline.gain_captured``
(>= ``min_gain_captured``) and ``headline.forbidden_recommendations``
(<= ``max_forbidden_recommendations``). A missing file, key or non-numeric value fails the gate
(the model is still logged and registered, the alias stays where it was). The decision and its
reasons go to ``data/reports/package.json``.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from pipeline import io
from pipeline.config import build
from pipeline.serving.packaging import log_model
from pipeline.stages import entry

log = logging.getLogger("pipeline.stages.package")


@dataclass(frozen=True)
class GateParams:
    """``package.gate``: every condition must hold for the alias to move.

    Discrimination, calibration and safety are measured on every cohort (held-out patients,
    factual outcomes); the share of achievable gain captured needs the counterfactual truth, so
    it is checked only on cohorts that have it (the synthetic one) and reported as not
    applicable on a user's cohort.
    """

    min_uno_c_index: float
    min_gain_captured: float
    max_forbidden_recommendations: float
    min_calibration_slope: float = -math.inf
    max_calibration_slope: float = math.inf
    max_calibration_ici: float = math.inf


@dataclass(frozen=True)
class PackageParams:
    """``package:`` section of params.yaml."""

    registered_model_name: str
    alias: str
    gate: GateParams


# --- gate ---------------------------------------------------------------------------------------

def gate_decision(metrics: dict | None, gate: GateParams) -> tuple[bool, list[str], dict]:
    """Check the evaluate metrics against the gate.

    Returns ``(passed, reasons, values)``: a reason per condition (passed or failed, with the
    numbers) and the values read (None when missing).
    """
    head = (metrics or {}).get("headline") if isinstance(metrics, dict) else None
    head = head if isinstance(head, dict) else {}
    has_truth = metrics.get("has_truth", True) if isinstance(metrics, dict) else True
    checks = [
        ("uno_c_index", ">=", gate.min_uno_c_index),
        ("calibration_slope_12m", ">=", gate.min_calibration_slope),
        ("calibration_slope_12m", "<=", gate.max_calibration_slope),
        ("calibration_ici_12m", "<=", gate.max_calibration_ici),
        ("forbidden_recommendations", "<=", gate.max_forbidden_recommendations),
    ]
    if has_truth:
        checks.insert(1, ("gain_captured", ">=", gate.min_gain_captured))
    checks = [c for c in checks if math.isfinite(c[2])]  # an infinite bound is no check
    passed, reasons, values = True, [], {}
    if not has_truth:
        reasons.append("headline.gain_captured not applicable: this cohort has no "
                       "counterfactual truth (a user's cohort)")
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


def package(bundle: str | Path, example: str | Path | None, metrics_path: str | Path | None,
            params: PackageParams) -> dict:
    """Log, register and (if the gate passes) alias the model; returns the package report.

    Must run inside an active MLflow run (the stage's, or a test's).
    """
    from mlflow.tracking import MlflowClient

    from pipeline.recommender.bundle import read_settings

    settings = read_settings(bundle)
    info = log_model(bundle, example, params.registered_model_name)
    version = str(info.registered_model_version)
    metrics = read_metrics(metrics_path)
    passed, reasons, values = gate_decision(metrics, params.gate)
    client = MlflowClient()
    name, alias = params.registered_model_name, params.alias
    describe_version(client, name, version, settings, metrics, passed, reasons)
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
        "model_id": settings.get("model_version"),
        "data_source": settings.get("data_source"),
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


REGISTRY_KEYS = ("version", "model_uri", "logged_model_uri", "champion_version", "champion_uri",
                 "tracking_uri")
"""Registry state of a run (version numbers, URIs): not results, so not in the tracked report."""


def describe_version(client, name: str, version: str, settings: dict, metrics: dict | None,
                     passed: bool, reasons: list[str]) -> None:
    """Description and tags of the registered model and of its new version: the bundle id, the
    training data (source file name and hash, never a patient identifier), the gate's result
    and the headline metrics, so the registry says what each version is."""
    client.update_registered_model(name, description=(
        "hcc-recommender: per-modality survival and response predictions for advanced HCC with "
        "a guideline rule layer (decision support for research use). Serve with `hcc serve`; "
        "versions are tagged with their training data, gate result and headline metrics."))
    n = settings.get("n_train")
    source = settings.get("data_source") or "unknown source"
    client.update_model_version(name, version, description=(
        f"{settings.get('model_version')}: trained on {n} patients ({source}, data sha256 "
        f"{str(settings.get('data_sha256'))[:12]}); gate {'passed' if passed else 'failed'}: "
        + "; ".join(reasons)))
    tags = {"model_id": settings.get("model_version"), "data_source": source,
            "data_sha256": settings.get("data_sha256"), "n_train": n,
            "gate": "passed" if passed else "failed"}
    head = (metrics or {}).get("headline") or {}
    tags.update({f"metric.{k}": f"{v:.4g}" for k, v in head.items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool)})
    for key, value in tags.items():
        if value is not None:
            client.set_model_version_tag(name, version, key, str(value))


def run(args, params: dict) -> dict:
    import mlflow

    pp = build(PackageParams, params["package"], "package")
    report = package(args.bundle, args.example, args.metrics, pp)
    from pipeline import tracking

    report["tracking_uri"] = tracking.redact_uri(tracking.tracking_uri())  # no password
    registry = {k: report.pop(k) for k in REGISTRY_KEYS if k in report}
    io.write_json(args.out, report)
    io.write_json(args.registry, registry)
    mlflow.set_tags({"hcc.model_version_registered": registry["version"],
                     "hcc.champion_moved": str(report["champion_moved"]).lower()})
    return {"champion_moved": float(report["champion_moved"])}


def _args(parser):
    parser.add_argument("--bundle", default="data/artifacts/recommender")
    parser.add_argument("--metrics", default="data/reports/metrics.json")
    parser.add_argument("--example", default=None,
                        help="JSON patient for the input example (default: DEFAULT_EXAMPLE, "
                        "the same patient as examples/patient_advanced.json)")
    parser.add_argument("--out", default="data/reports/package.json",
                        help="the gate's decision (tracked: the same metrics give the same file)")
    parser.add_argument("--registry", default="data/reports/registry.json",
                        help="registered version and URIs (untracked: the registry's state)")


if __name__ == "__main__":
    entry.main("package", _args, run, section="package", description=__doc__)
