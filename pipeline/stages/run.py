"""``make run``: one ``dvc repro`` under one MLflow parent run, then where to look.

Extra arguments are passed to ``dvc repro`` (``python -m pipeline.stages.run --force``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from pipeline import tracking
from pipeline.config import project_root, read_yaml
from pipeline.stages.entry import configure_logging


def _headline(root) -> list[str]:
    lines = []
    metrics = root / "data/reports/metrics.json"
    if metrics.is_file():
        data = json.loads(metrics.read_text())
        head = data.get("headline", {})
        for key, value in head.items():
            shown = f"{value:.3f}" if isinstance(value, float) else value
            lines.append(f"    {key:<42} {shown}")
    return lines


def _entry_points(root, client) -> list[str]:
    """Which model each entry point uses now, and whether ``@champion`` moved."""
    from pipeline.recommender.bundle import read_settings

    lines = []
    bundle_dir = root / "data/artifacts/recommender"
    try:
        settings = read_settings(bundle_dir)
    except (OSError, ValueError):
        return ["\nNo local bundle: recommend() and `hcc recommend` have no default model."]
    local = settings.get("model_version")
    for text in settings.get("warnings") or []:
        lines.append(f"  WARNING: {text}")
    lines.insert(0, "")
    lines.append("\nWhich model each entry point uses:")
    lines.append(f"  Python recommend(), hcc recommend     {local} (data/artifacts/recommender, "
                 f"{settings.get('n_train')} patients of {settings.get('data_source')})")
    report_path = root / "data/reports/package.json"
    registry_path = root / "data/reports/registry.json"
    if not (report_path.is_file() and registry_path.is_file()):
        return lines
    report = json.loads(report_path.read_text())
    registry = json.loads(registry_path.read_text())
    name, alias = report.get("registered_model_name"), report.get("alias")
    holder = registry.get("champion_version")
    champion_model = None
    if holder is not None:
        try:
            champion_model = client.get_model_version(name, str(holder)).tags.get("model_id")
        except Exception:  # noqa: BLE001 - an older registry without tags
            champion_model = None
    where = f"models:/{name}@{alias}"
    if holder is None:
        lines.append(f"  hcc serve, {where:<24} nothing: no version holds @{alias} (the gate "
                     f"failed); serve one explicitly: hcc serve --model models:/{name}/"
                     f"{registry.get('version')}")
        lines.append(f"  why: {report.get('reason')}")
    elif report.get("champion_moved"):
        lines.append(f"  hcc serve, {where:<24} {local} (version {holder}: @{alias} moved to "
                     f"this run's model)")
    else:
        same = "the same model" if champion_model == local else "NOT the local bundle"
        lines.append(f"  hcc serve, {where:<24} {champion_model or 'unknown'} (version "
                     f"{holder}; @{alias} NOT moved: {same})")
        lines.append(f"  why: {report.get('reason')}")
    return lines


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    argv = list(sys.argv[1:] if argv is None else argv)
    root = project_root()
    params = read_yaml(root / "params.yaml")
    from mlflow.tracking import MlflowClient

    exp_id = tracking.setup(root)
    client = MlflowClient()
    parent = tracking.start_parent(client, exp_id, None, params)
    env = dict(os.environ, **{tracking.PARENT_ENV: parent, "DVC_NO_ANALYTICS": "1"})
    started = time.perf_counter()
    code = subprocess.call(["dvc", "repro", *argv], cwd=root, env=env)
    elapsed = time.perf_counter() - started
    client.log_metric(parent, "repro_seconds", elapsed)
    client.set_terminated(parent, "FINISHED" if code == 0 else "FAILED")
    if code != 0:
        print(f"\ndvc repro failed (exit {code}); the stage log above says why.", file=sys.stderr)
        print(*_entry_points(root, client), sep="\n", file=sys.stderr)
        return code
    uri = tracking.tracking_uri(root)
    print("\n" + "=" * 78)
    print(f"hcc-recommender pipeline finished in {elapsed:.0f} s (data.source: "
          f"{params.get('data', {}).get('source')})")
    print(*_headline(root), sep="\n")
    print(*_entry_points(root, client), sep="\n")
    print("\nWhere the results are:")
    print("  data/reports/          metrics (JSON), plots (PNG/JSON), validation and trial tables")
    print("  data/artifacts/        the trained recommender bundle (no pickles)")
    venv = Path(sys.executable).parent
    print(f"\nHow to open them (activate the environment first: source {venv}/activate,")
    print(f"or prefix the commands with {venv}/):")
    print("  dvc metrics show                     the headline metrics (all: data/reports/metrics.json)")
    print("  make exp                             experiments side by side (dvc exp show, filtered)")
    print("  dvc plots show                       plots as an HTML page (dvc_plots/index.html), offline")
    if tracking.is_server(uri):  # a team server (hcc tracking-server): its own UI
        print(f"  open {tracking.ui_url(exp_id, base=uri.rstrip('/'))}")
    else:
        print(f"  mlflow ui --backend-store-uri {tracking.redact_uri(uri)}")
        print(f"    then open {tracking.ui_url(exp_id)}")
    print("                                       runs, params, metrics, images, the model")
    print("  hcc recommend examples/patient_advanced.json   a recommendation for one patient")
    print(f"  export MLFLOW_TRACKING_URI={tracking.redact_uri(uri)}")
    print("                                       plain mlflow (models:/...) from any directory")
    print("=" * 78)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
