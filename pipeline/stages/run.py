"""``make run``: one ``dvc repro`` under one MLflow parent run, then where to look.

Extra arguments are passed to ``dvc repro`` (``python -m pipeline.stages.run --force``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

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
        return code
    uri = tracking.tracking_uri(root)
    print("\n" + "=" * 78)
    print(f"hcc-recommender pipeline finished in {elapsed:.0f} s (data.source: "
          f"{params.get('data', {}).get('source')})")
    print(*_headline(root), sep="\n")
    print("\nWhere the results are:")
    print("  data/reports/          metrics (JSON), plots (PNG/JSON), validation and trial tables")
    print("  data/artifacts/        the trained recommender bundle (no pickles)")
    print("\nHow to open them:")
    print("  dvc metrics show                     the headline metrics (all: data/reports/metrics.json)")
    print("  make exp                             experiments side by side (dvc exp show, filtered)")
    print("  dvc plots show                       plots as an HTML page (dvc_plots/index.html), offline")
    print(f"  mlflow ui --backend-store-uri {uri}")
    print(f"    then open {tracking.ui_url(exp_id)}")
    print("                                       runs, params, metrics, images, the model")
    print("  hcc recommend examples/patient_advanced.json   a recommendation for one patient")
    print("=" * 78)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
