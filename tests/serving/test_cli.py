"""The `hcc` command line: validate, recommend, report, recommend-batch, serve."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from features.contract import MODALITIES
from pipeline.serving.cli import main

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def cohort_csv(tmp_path_factory, tiny_cohort):
    path = tmp_path_factory.mktemp("cli") / "cohort.csv"
    tiny_cohort[0].iloc[:50].to_csv(path, index=False)
    return path


def test_validate_accepts_a_valid_cohort(cohort_csv, capsys):
    assert main(["validate", str(cohort_csv)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ACCEPTED: 50 of 50 rows valid")


def test_validate_rejects_and_lists_problems(cohort_csv, tmp_path, capsys):
    frame = pd.read_csv(cohort_csv)
    frame["albumin_g_l"] = frame["albumin_g_l"].astype(object)
    frame.loc[[2, 5, 7], "albumin_g_l"] = 3.8  # g/dL by mistake
    frame["note"] = "x"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    assert main(["validate", str(bad)]) == 1  # 6% > validate.max_invalid_share 5%
    out = capsys.readouterr().out
    assert "REJECTED" in out and "line 4: albumin_g_l" in out and "g/dL" in out  # row 2
    assert "note" in out and "SYN-" not in out  # rows by line, never by identifier
    assert main(["validate", str(bad), "--max-invalid-share", "0.1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_invalid"] == 3 and report["accepted"]
    assert [(p["row"], p["line"]) for p in report["problems"]] == [(2, 4), (5, 7), (7, 9)]


def test_validate_names_the_intended_columns_of_a_semicolon_file(cohort_csv, tmp_path, capsys):
    """A European/Chinese Excel export: ';' delimiter, decimal commas, British spelling, a
    capital L; and a bilirubin column in mg/dL, flagged as a whole."""
    frame = pd.read_csv(cohort_csv).rename(columns={
        "tumor_max_diameter_cm": "tumour_max_diameter_cm", "albumin_g_l": "albumin_g_L",
        "tumor_sum_diameter_cm": "tumour_sum_diameter_cm"})
    frame["bilirubin_umol_l"] = (frame["bilirubin_umol_l"] / 17.1).round(2)
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False, sep=";", decimal=",")
    assert main(["validate", str(path), "--show", "100"]) == 1
    out = capsys.readouterr().out
    assert ("tumour_max_diameter_cm: expected a contract column name, got a column not in the "
            "contract (did you mean 'tumor_max_diameter_cm'?)") in out
    assert "tumor_max_diameter_cm: expected a number" in out and "no such column" in out
    assert "albumin_g_L" in out and "did you mean 'albumin_g_l'?" in out
    assert "tumour_sum_diameter_cm (did you mean 'tumor_sum_diameter_cm'?)" in out
    assert "all rows: bilirubin_umol_l: expected a column in umol/L, got median" in out
    assert "mg/dL" in out and "multiply by 17.1" in out
    assert "Error tokenizing" not in out


def test_validate_explains_an_unreadable_csv(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("age_years,bilirubin_umol_l\n61,18.5\n70,30,2\n")
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cohort file") and "line 3 has 3 fields" in err
    assert "';'" in err and "Traceback" not in err


def test_validate_patients_only(cohort_csv, tmp_path, capsys):
    frame = pd.read_csv(cohort_csv).drop(columns=["patient_id", "modality", "os_months", "death"])
    path = tmp_path / "patients.parquet"
    frame.to_parquet(path)
    assert main(["validate", str(path)]) == 1
    capsys.readouterr()
    assert main(["validate", str(path), "--patients-only"]) == 0


def test_validate_missing_file(capsys):
    assert main(["validate", "no/such/file.csv"]) == 1
    assert "not found" in capsys.readouterr().err


def test_recommend_table(tiny_bundle, capsys):
    code = main(["recommend", "examples/patient_advanced.json", "--model", str(tiny_bundle)])
    assert code == 0
    out = capsys.readouterr().out
    for m in MODALITIES:
        assert m in out
    assert "Recommended:" in out and "does not replace" in out


def test_recommend_json_with_preferences(tiny_bundle, capsys):
    code = main(["recommend", "examples/patient_advanced.json", "--model", str(tiny_bundle),
                 "--decline", "immunotherapy", "targeted", "--max-cost", "middle",
                 "--guideline", "bclc-2022", "--objective", "surv12", "--json"])
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    assert d["recommended"] not in ("immunotherapy", "targeted", "transplant")
    assert d["guideline"]["ruleset"] == "bclc-2022" and d["objective"]["name"] == "surv12"
    assert d["preferences"]["excluded_modalities"] == ["targeted", "immunotherapy"]


def test_recommend_consider_not_indicated_flag(tiny_bundle, tmp_path, capsys):
    patient = json.loads(Path("examples/patient_early.json").read_text())
    path = tmp_path / "p.json"
    path.write_text(json.dumps(patient))
    args = ["recommend", str(path), "--model", str(tiny_bundle), "--json", "--no-explain",
            "--decline", "resection", "transplant", "ablation", "tace", "radiotherapy"]
    assert main(args) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["recommended"] == "supportive_care" and not d["preferences"][
        "consider_not_indicated"]
    assert "not_indicated" in d["modalities"][MODALITIES.index("targeted")]["excluded_because"]
    assert main([*args, "--consider-not-indicated"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["preferences"]["consider_not_indicated"] and d["guideline"]["consider_not_indicated"]
    assert not any("not_indicated" in m["excluded_because"] for m in d["modalities"])


def test_recommend_invalid_patient_exit_2(tiny_bundle, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    record = json.loads(Path("examples/patient_early.json").read_text())
    record.update(albumin_g_l=4.1, ecog=9)
    del record["sex"]
    bad.write_text(json.dumps(record))
    assert main(["recommend", str(bad), "--model", str(tiny_bundle)]) == 2
    err = capsys.readouterr().err
    assert "albumin_g_l: expected" in err and "ecog: expected" in err and "sex:" in err
    bad.write_text("{not json")
    assert main(["recommend", str(bad), "--model", str(tiny_bundle)]) == 2
    assert "invalid JSON" in capsys.readouterr().err
    assert main(["recommend", "examples/patient_early.json", "--model", str(tiny_bundle),
                 "--guideline", "nope"]) == 2


def test_recommend_missing_model_exit_1(tmp_path, capsys):
    code = main(["recommend", "examples/patient_early.json", "--model", str(tmp_path / "none")])
    assert code == 1 and "dvc repro" in capsys.readouterr().err


def test_recommend_request_file_with_preferences(tiny_bundle, tmp_path, capsys):
    record = json.loads(Path("examples/patient_terminal.json").read_text())
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"patient": record,
                                "preferences": {"excluded_modalities": ["supportive_care"]}}))
    assert main(["recommend", str(path), "--model", str(tiny_bundle), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["recommended"] is None and "multidisciplinary team" in d["message"]


def test_report_command(tiny_bundle, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", "examples/patient_intermediate.json", "-o", str(out),
                 "--model", str(tiny_bundle)]) == 0
    html = out.read_text()
    assert all(m in html for m in MODALITIES) and "data:image/png;base64," in html


def test_recommend_batch_command(tiny_bundle, cohort_csv, tmp_path, capsys):
    frame = pd.read_csv(cohort_csv).iloc[:6]
    frame["ecog"] = frame["ecog"].astype(object)
    frame.loc[4, "ecog"] = 8
    path = tmp_path / "six.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out.jsonl"
    code = main(["recommend-batch", str(path), "-o", str(out), "--model", str(tiny_bundle),
                 "--no-explain"])
    assert code == 2  # one invalid row
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["ok"] for line in lines] == [True, True, True, True, False, True]
    assert lines[4]["problems"][0]["field"] == "ecog"
    assert "SYN-" not in out.read_text()


def test_recommend_batch_parquet_writes_the_columnar_table(tiny_bundle, cohort_csv, tmp_path,
                                                           capsys):
    from pipeline import recommend_table

    frame = pd.read_csv(cohort_csv).iloc[:8]
    frame["ecog"] = frame["ecog"].astype(object)
    frame.loc[2, "ecog"] = 8
    path = tmp_path / "eight.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "recs.parquet"
    code = main(["recommend-batch", str(path), "-o", str(out), "--model", str(tiny_bundle),
                 "--no-explain", "--no-intervals"])
    assert code == 2 and "7 recommendations and 1 invalid rows" in capsys.readouterr().out
    table = pd.read_parquet(out)
    assert list(table["ok"]) == [True, True, False] + [True] * 5
    assert "ecog" in table.loc[2, "errors"]
    want = recommend_table(pd.read_csv(path), recommender=str(tiny_bundle)).wide()
    assert list(table.columns) == list(want.columns)
    assert list(table["recommended"].fillna("-")) == list(want["recommended"].fillna("-"))
    assert "tace__rank" in table and "SYN-" not in table.astype(str).to_string()
    bad = main(["recommend-batch", str(path), "-o", str(tmp_path / "x.jsonl"), "--engine",
                "spark"])
    assert bad == 2 and "--output" in capsys.readouterr().err


def test_serve_runs_the_guarded_scoring_server(monkeypatch):
    calls = {}

    def fake_run(cmd, env=None):
        calls["cmd"], calls["env"] = cmd, env
        return 0

    monkeypatch.setattr("pipeline.serving.supervise.run_server", fake_run)
    assert main(["serve", "--port", "5123", "--model", "models:/x@champion",
                 "--workers", "3"]) == 0
    cmd = calls["cmd"]
    assert cmd[:3] == [sys.executable, "-m", "pipeline.serving.rest"]
    assert cmd[cmd.index("--model") + 1] == "models:/x@champion"
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and cmd[cmd.index("--port") + 1] == "5123"
    assert cmd[cmd.index("--workers") + 1] == "3"
    assert calls["env"]["MLFLOW_TRACKING_URI"]


def test_console_script(tiny_bundle):
    script = BIN / "hcc"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "pipeline.serving.cli"]
    proc = subprocess.run([*cmd, "recommend", "examples/patient_terminal.json", "--model",
                           str(tiny_bundle), "--json", "--no-explain"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["recommended"] == "supportive_care"


def test_closed_pipe_exits_without_a_traceback(tmp_path):
    """`hcc validate cohort.csv | head -1`: the reader leaves early; no BrokenPipeError trace."""
    script = BIN / "hcc"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "pipeline.serving.cli"]
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,age_years\n" + "".join(f"p{i},{200 + i}\n" for i in range(5000)))
    proc = subprocess.run(f"{' '.join(cmd)} validate {bad} --show 5000 | head -1", shell=True,
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr
    assert proc.stdout.strip()
