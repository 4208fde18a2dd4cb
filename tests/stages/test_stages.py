"""Stage entry points on small inputs: bring-your-own cohort, and a malformed cohort that the
validate stage rejects with a report naming every problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path):
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path}/mlflow.db",
               HCC_MLFLOW_EXPERIMENT="stage-tests")
    env.pop("HCC_MLFLOW_PARENT_RUN_ID", None)
    return env


def _params(tmp_path, **sections):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for name, values in sections.items():
        params[name].update(values)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def _stage(tmp_path, name, *args):
    return subprocess.run([sys.executable, "-m", f"pipeline.stages.{name}", *args], cwd=tmp_path,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=300)


def _cohort(n=60):
    from pipeline.simulation.cohort import SyntheticParams, simulate_cohort

    return simulate_cohort(n, 7, SyntheticParams.default())[0]


def test_user_cohort_file_is_read_and_has_no_truth(tmp_path):
    user = tmp_path / "my_cohort.csv"
    _cohort().to_csv(user, index=False)
    params = _params(tmp_path, data={"source": str(user)})
    proc = _stage(tmp_path, "generate", "--params", str(params), "--cohort", "raw/c.parquet",
                  "--truth", "raw/t.parquet", "--summary", "reports/s.json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(pd.read_parquet(tmp_path / "raw/c.parquet")) == 60
    assert pd.read_parquet(tmp_path / "raw/t.parquet").empty
    summary = json.loads((tmp_path / "reports/s.json").read_text())
    assert summary["source"] == "user file" and summary["has_truth"] is False
    assert "no counterfactual truth" in proc.stderr


def test_missing_user_file_fails_clearly(tmp_path):
    params = _params(tmp_path, data={"source": "nowhere/cohort.csv"})
    proc = _stage(tmp_path, "generate", "--params", str(params))
    assert proc.returncode != 0
    assert "cohort file nowhere/cohort.csv not found" in proc.stderr


def test_validate_stage_rejects_a_malformed_cohort_naming_every_problem(tmp_path):
    cohort = _cohort().astype({"afp_ng_ml": object, "sex": object})
    cohort.loc[0, "albumin_g_l"] = 3.8            # wrong unit (g/dL)
    cohort.loc[1, "ecog"] = 7                     # out of range
    cohort.loc[2, "sex"] = "M"                    # unknown category
    cohort.loc[3, "afp_ng_ml"] = "high"           # a text in a numeric column
    cohort.loc[4, "bilirubin_umol_l"] = None      # missing required value
    cohort = cohort.drop(columns=["pvtt"])        # missing required column
    cohort.to_csv(tmp_path / "bad.csv", index=False)
    pd.read_csv(tmp_path / "bad.csv").astype({"afp_ng_ml": str}).to_parquet(
        tmp_path / "bad.parquet")
    params = _params(tmp_path)
    proc = _stage(tmp_path, "validate", "--params", str(params), "--cohort", "bad.parquet",
                  "--valid", "valid.parquet", "--report", "report.json",
                  "--rejected", "rejected.csv")
    assert proc.returncode != 0
    assert "cohort rejected" in proc.stderr and "max_invalid_share" in proc.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    fields = report["problems_by_field"]
    assert fields["albumin_g_l"] == {"out_of_range": 1}
    assert fields["ecog"] == {"out_of_range": 1}
    assert fields["sex"] == {"unknown_category": 1}
    assert fields["afp_ng_ml"] == {"not_a_number": 1}
    assert fields["bilirubin_umol_l"] == {"missing_value": 1}
    assert fields["pvtt"] == {"missing_column": 60}
    assert not (tmp_path / "valid.parquet").exists()  # nothing goes on from a rejected cohort
    rejected = pd.read_csv(tmp_path / "rejected.csv")
    assert "g/dL" in rejected.loc[rejected.field == "albumin_g_l", "hint"].iloc[0]
    # row 0 is line 2 of the user's file (header = line 1), in the CSV and in the log
    assert rejected.loc[rejected.field == "albumin_g_l", ["row", "line"]].iloc[0].tolist() == [0, 2]
    assert "line 3: ecog: expected" in proc.stderr and "all rows: pvtt:" in proc.stderr
    assert not rejected.astype(str).apply(lambda c: c.str.contains("SYN-")).any().any()


def test_validate_stage_passes_a_cohort_under_the_threshold(tmp_path):
    cohort = _cohort(100)
    cohort.loc[5, "albumin_g_l"] = 3.8
    cohort.to_parquet(tmp_path / "c.parquet")
    params = _params(tmp_path)
    proc = _stage(tmp_path, "validate", "--params", str(params), "--cohort", "c.parquet",
                  "--valid", "valid.parquet", "--report", "report.json",
                  "--rejected", "rejected.csv")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(pd.read_parquet(tmp_path / "valid.parquet")) == 99
    assert json.loads((tmp_path / "report.json").read_text())["n_invalid"] == 1
