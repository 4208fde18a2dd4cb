"""Shared plumbing of the DVC stage entry points: logging, params and the MLflow child run."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.config import read_yaml


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("alembic", "mlflow", "urllib3", "matplotlib", "git"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(name: str, add_arguments: Callable[[argparse.ArgumentParser], None],
         run: Callable[[argparse.Namespace, dict], dict | None], section: str | None = None,
         description: str = "") -> None:
    """Parse arguments, open the stage's MLflow run and call ``run(args, params)``.

    ``params`` is the whole params.yaml mapping; the stage's own section is logged to MLflow.
    ``run`` may return a flat dict of metrics to log.
    """
    from pipeline import tracking

    configure_logging()
    parser = argparse.ArgumentParser(prog=f"python -m pipeline.stages.{Path(sys.argv[0]).stem}", description=description)
    parser.add_argument("--params", default="params.yaml", help="params file (default params.yaml)")
    add_arguments(parser)
    args = parser.parse_args()
    params = read_yaml(args.params)
    log = logging.getLogger(f"pipeline.stages.{name}")
    started = time.perf_counter()
    own = {section: params.get(section, {})} if section else None
    with tracking.stage_run(name, own, all_params=params):
        import mlflow

        metrics = run(args, params) or {}
        elapsed = time.perf_counter() - started
        metrics = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
        metrics[f"{name}_seconds"] = elapsed
        mlflow.log_metrics(metrics)
    log.info("stage %s done in %.1f s", name, elapsed)
