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
    for pkg in ("features", "models", "guidelines", "pipeline", "examples"):
        shutil.copytree(ROOT / pkg, work / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    for ignore in (ROOT / "data").rglob(".gitignore"):  # as committed: what a clone has
        (work / ignore.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ignore, work / ignore.relative_to(ROOT))
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
    band = metrics["counterfactual"]["rmst24_interval"]  # n_bootstrap 3: measured
    assert band["level"] == 0.9 and 0 <= band["coverage"] <= 1
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


def test_models_uri_resolves_from_another_directory(repro, tmp_path):
    """`hcc recommend --model models:/...@champion` from outside the checkout uses the
    project's tracking store (HCC_PROJECT_DIR) and leaves no stray mlflow.db behind; plain
    MLflow does the same with MLFLOW_TRACKING_URI."""
    work, env, _ = repro
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    patient = work / "examples/patient_advanced.json"
    proc = _run([str(BIN / "hcc"), "recommend", str(patient), "--no-explain", "--json",
                 "--model", "models:/hcc-recommender@champion"], elsewhere,
                dict(env, HCC_PROJECT_DIR=str(work)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["recommended"]
    assert "hcc: using model s-d" in proc.stderr  # the CLI says which model it uses
    code = ("import mlflow, pandas as pd, json;"
            "m = mlflow.pyfunc.load_model('models:/hcc-recommender@champion');"
            f"print(len(m.predict(pd.DataFrame([json.load(open({str(patient)!r}))]))))")
    proc = _run([sys.executable, "-c", code], elsewhere,
                dict(env, MLFLOW_TRACKING_URI=f"sqlite:///{work}/mlflow.db"))
    assert proc.returncode == 0 and proc.stdout.strip().endswith("1"), proc.stderr[-3000:]
    assert not list(elsewhere.iterdir()), "a stray file (mlflow.db?) was left behind"


def test_a_rerun_leaves_git_clean(repro):
    """Commit a run's results, run again from scratch: nothing tracked changes (timings and
    the registry's state are untracked; the bundle and reports depend only on data and
    params), so the next bundle is not built from a dirty tree."""
    work, env, _ = repro
    _run(["git", "add", "-A"], work, env)
    _run(["git", "commit", "-qm", "results"], work, env)
    proc = _run([sys.executable, "-m", "pipeline.stages.run", "--force"], work, env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    status = _run(["git", "status", "--porcelain"], work, env).stdout
    assert status == "", f"tracked files changed by a rerun:\n{status}"
    assert "Which model each entry point uses" in proc.stdout


def _rare_cohort(n: int = 300):
    """A hospital-sized cohort in which some modalities have a handful of patients."""
    from pipeline.simulation.cohort import SyntheticParams, simulate_cohort

    cohort, _ = simulate_cohort(4 * n, 12, SyntheticParams.default())
    quota = {"transplant": 3, "chemotherapy": 4, "radiotherapy": 8}
    parts = [g.head(quota[m]) if m in quota else g for m, g in cohort.groupby("modality")]
    rest = n - sum(quota.values())
    common = cohort[~cohort["modality"].isin(list(quota))].sample(rest, random_state=0)
    rare = [p for p in parts if p["modality"].iloc[0] in quota]
    import pandas as pd

    return pd.concat([common, *rare]).sample(frac=1, random_state=1).reset_index(drop=True)


def test_a_users_cohort_with_rare_modalities_runs_to_the_end(repro):
    """`dvc exp run -S data.source=<file>` on 300 patients with 3 transplants: warnings, not
    tracebacks; the rare modality is never recommended; the bundle names its data."""
    work, env, _ = repro
    before = json.loads((work / "data/artifacts/recommender/settings.json").read_text())
    _rare_cohort().to_csv(work / "hospital.csv", index=False)
    proc = _run(["dvc", "exp", "run", "-S", "data.source=hospital.csv",  # + a T-learner peer
                 "-S", "+evaluate.peers.xgb-t.learner=t", "-S", "+evaluate.peers.xgb-t.n_bootstrap=0"],
                work, env, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "Traceback" not in log
    assert "training patients (train.min_train_patients" in log
    assert "skipped: it cannot be fitted on this cohort" in log  # the T-learner peer
    settings = json.loads((work / "data/artifacts/recommender/settings.json").read_text())
    assert settings["data_source"] == "hospital.csv" and settings["warnings"]
    assert settings["model_version"] != before["model_version"]
    metrics = json.loads((work / "data/reports/metrics.json").read_text())
    assert metrics["has_truth"] is False and "gain_captured" not in metrics["headline"]
    package = json.loads((work / "data/reports/package.json").read_text())
    assert "not applicable" in package["reason"]
    from pipeline.recommender.runtime import Recommender

    rec = Recommender.from_bundle(work / "data/artifacts/recommender")
    assert "transplant" in rec.too_few_treated
    early = json.loads((work / "examples/patient_early.json").read_text())
    out = rec.recommend(early, explain=False)
    transplant = next(m for m in out.modalities if m.modality == "transplant")
    assert not transplant.candidate and "too_few_treated" in transplant.excluded_because
