"""`dvc repro` end to end on a tiny synthetic cohort, in a scratch copy of the repository.

Checks the stages run offline, write what `dvc metrics show` and MLflow show, are deterministic,
leave no patient identifier in tracking, logs or reports, and that a killed stage leaves nothing
a later run takes for complete.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow

# a tiny, fast configuration: same code paths, smaller numbers
TINY = {
    "synthetic": {"n": 900},
    "evaluate": {"peers": {"coxph-s": {"learner": "s", "base": "coxph", "n_bootstrap": 0,
                                       "survival_params": {}}}},
    "train": {"outcome_model": {"n_bootstrap": 3}},
}


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(base[key], value) if isinstance(value, dict) and key in base and \
            key != "peers" else value
    return out


def _env(workdir: Path) -> dict:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", DVC_NO_ANALYTICS="1",
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.org")
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("HCC_MLFLOW_PARENT_RUN_ID", None)
    return env


def _run(cmd, workdir, env, timeout=600):
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=timeout)
    return proc


@pytest.fixture(scope="module")
def repro(tmp_path_factory):
    """A scratch repo (git + dvc) with tiny params, after one `python -m pipeline.stages.run`."""
    work = tmp_path_factory.mktemp("repo")
    for name in ("dvc.yaml", ".dvcignore", ".gitignore"):
        shutil.copy(ROOT / name, work / name)
    shutil.copytree(ROOT / ".dvc", work / ".dvc", ignore=shutil.ignore_patterns("tmp", "cache"))
    params = _merge(yaml.safe_load((ROOT / "params.yaml").read_text()), TINY)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # stage deps name code paths: copy the package sources (the code that runs is the installed
    # project, which is this repository)
    for pkg in ("features", "models", "guidelines", "pipeline"):
        shutil.copytree(ROOT / pkg, work / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    env = _env(work)
    _run(["git", "init", "-q"], work, env)
    _run(["git", "add", "-A"], work, env)
    _run(["git", "commit", "-qm", "scratch"], work, env)
    proc = _run([sys.executable, "-m", "pipeline.stages.run"], work, env)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    return work, env, log


def test_repro_writes_metrics_plots_and_bundle(repro):
    work, env, log = repro
    metrics = json.loads((work / "data/reports/metrics.json").read_text())
    head = metrics["headline"]
    assert 0.5 < head["uno_c_index"] <= 1 and 0.5 < head["oracle_uno_c_index"] <= 1
    assert head["forbidden_recommendations"] == 0
    assert {"ours", "coxph-s"} <= set(metrics["peers"])
    for png in ("calibration.png", "km_risk_groups.png", "shap_importance.png",
                "time_dependent_auc.png", "policy_values.png"):
        assert (work / "data/reports/plots" / png).stat().st_size > 1000
    assert (work / "data/artifacts/recommender/settings.json").is_file()
    trials = json.loads((work / "data/reports/trials.json").read_text())
    assert trials["n_figures"] > 20
    shown = _run(["dvc", "metrics", "show"], work, env)
    assert shown.returncode == 0 and "uno_c" in shown.stdout
    assert max(map(len, shown.stdout.splitlines())) < 150  # the headline file: fits a terminal
    headline = json.loads((work / "data/reports/headline.json").read_text())
    assert headline["uno_c"] == round(head["uno_c_index"], 4)
    page = _run(["dvc", "plots", "show", "-o", "plots_page"], work, env)
    assert page.returncode == 0, page.stderr[-2000:]
    html = (work / "plots_page/index.html").read_text()
    assert "cdn.jsdelivr" not in html and html.count("vegaEmbed('#") == 5
    assert '"values": []' not in html  # every plot has data (the synthetic cohort has truth)
    assert "mlflow ui --backend-store-uri" in log and "workflowType=machine_learning" in log


def test_mlflow_has_one_parent_with_a_child_per_stage(repro):
    work, env, _ = repro
    code = (
        "import mlflow,json;"
        f"mlflow.set_tracking_uri('sqlite:///{work}/mlflow.db');"
        "r=mlflow.search_runs(experiment_names=['hcc-recommender']);"
        "print(json.dumps({'names': r['tags.mlflow.runName'].tolist(),"
        "'parents': r['tags.mlflow.parentRunId'].dropna().unique().tolist()}))"
    )
    out = json.loads(_run([sys.executable, "-c", code], work, env).stdout)
    stages = {"generate", "replicate_trials", "validate", "featurize", "split", "train",
              "evaluate", "package"}
    sha = _run(["git", "rev-parse", "--short=7", "HEAD"], work, env).stdout.strip()
    parents = set(out["names"]) - stages
    assert stages <= set(out["names"]) and parents == {f"synthetic@{sha}"}, out["names"]
    assert len(out["parents"]) == 1


def test_no_patient_identifier_in_tracking_logs_or_reports(repro):
    work, _, log = repro
    import pandas as pd

    ids = pd.read_parquet(work / "data/raw/cohort.parquet")["patient_id"].astype(str)
    sample = set(ids.iloc[:: max(1, len(ids) // 50)])
    places = [work / "mlflow.db", *(p for p in (work / "mlartifacts").rglob("*") if p.is_file()),
              *(p for p in (work / "data/reports").rglob("*") if p.is_file()),
              *(p for p in (work / "data/artifacts").rglob("*") if p.is_file())]
    for path in places:
        blob = path.read_bytes()
        leaked = [i for i in sample if i.encode() in blob]
        assert not leaked, f"{path} contains patient identifiers {leaked[:3]}"
    assert not [i for i in sample if i in log]


def test_same_params_give_the_same_metrics(repro):
    work, env, _ = repro
    before = json.loads((work / "data/reports/metrics.json").read_text())
    proc = _run(["dvc", "repro", "--force", "--single-item", "train"], work, env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = _run(["dvc", "repro", "--force", "--single-item", "evaluate"], work, env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = json.loads((work / "data/reports/metrics.json").read_text())

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if not k.endswith("_seconds")}
        return node

    assert strip(before) == strip(after)


def test_killed_stage_leaves_nothing_taken_for_complete(repro):
    """Kill the train stage mid-fit: the previous complete bundle stays as it was, no partial
    bundle is ever at the output path, and the next run clears the leftovers."""
    work, env, _ = repro
    artifacts = work / "data/artifacts"
    bundle = artifacts / "recommender"
    before = {p.relative_to(bundle): p.read_bytes() for p in bundle.rglob("*") if p.is_file()}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.stages.train"], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    for line in proc.stderr:  # the stage logs "training ..." just before the fit starts
        if "training" in line:
            break
    time.sleep(0.5)  # fitting under way
    assert proc.poll() is None, "the stage finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    after = {p.relative_to(bundle): p.read_bytes() for p in bundle.rglob("*") if p.is_file()}
    assert after == before  # untouched: the half-written bundle never replaced it
    status = _run(["dvc", "status", "train"], work, env)
    assert status.returncode == 0 and "changed" not in status.stdout
    rerun = _run([sys.executable, "-m", "pipeline.stages.train"], work, env)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert not list(artifacts.glob(".recommender.*.tmp"))  # leftovers of the killed run cleared


def test_evaluate_without_truth_skips_the_counterfactual_part(repro):
    """A user cohort has no truth file content: evaluate still reports the factual metrics."""
    import pandas as pd

    from pipeline.simulation.cohort import TRUTH_COLUMNS

    work, env, _ = repro
    empty = work / "empty_truth.parquet"
    pd.DataFrame({c: pd.Series(dtype="float64") for c in TRUTH_COLUMNS}).to_parquet(empty)
    proc = _run([sys.executable, "-m", "pipeline.stages.evaluate", "--truth", str(empty),
                 "--metrics", "m_no_truth.json", "--headline", "h_no_truth.json",
                 "--plots", "p_no_truth", "--plot-data", "pd_no_truth"], work, env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "counterfactual metrics and policy values are skipped" in proc.stderr
    metrics = json.loads((work / "m_no_truth.json").read_text())
    assert metrics["has_truth"] is False and "counterfactual" not in metrics
    assert metrics["headline"]["uno_c_index"] > 0.5
    headline = json.loads((work / "h_no_truth.json").read_text())
    assert headline["uno_c"] > 0.5 and "gain" not in headline and "regret" not in headline
    assert json.loads((work / "pd_no_truth/policy_values.json").read_text()) == []
