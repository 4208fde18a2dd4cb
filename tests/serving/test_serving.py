"""The MLflow model: package stage (log, register, gated alias), pyfunc round trip, REST.

The session's temporary SQLite tracking store (``mlflow_store``, tests/serving/conftest.py),
pinned as this module's MLflow store while it runs; the session's ONE REST server
(``rest_server``: the ``hcc serve`` server of the champion on a free loopback port), shared with test_robustness_rest.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from serving_support import CHAMPION, FAILING, NAME, PASSING, pinned_tracking_uri

from pipeline.stages.package import GateParams, gate_decision

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SECRET = "MRN-SECRET-0099"


@pytest.fixture(scope="module")
def store(mlflow_store):
    """The tracking store with version 1 (gate passed: champion) and 2 (gate failed), pinned
    as MLflow's store (process-wide URI and MLFLOW_TRACKING_URI) for this module only."""
    with pinned_tracking_uri(mlflow_store["uri"]):
        yield mlflow_store


def test_tracking_uri_pin_is_scoped(tmp_path):
    """The store pin of a module (or of the session store's set-up) leaves nothing behind."""
    import mlflow
    from mlflow.tracking._tracking_service import utils

    before = (utils._tracking_uri, os.environ.get("MLFLOW_TRACKING_URI"))
    uri = f"sqlite:///{tmp_path / 'pin.db'}"
    with pinned_tracking_uri(uri):
        assert mlflow.get_tracking_uri() == uri == os.environ["MLFLOW_TRACKING_URI"]
    assert (utils._tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")) == before


def test_builtin_input_example_is_the_advanced_example():
    from pipeline.serving.packaging import DEFAULT_EXAMPLE, input_example

    assert DEFAULT_EXAMPLE == json.loads((ROOT / "examples/patient_advanced.json").read_text())
    assert "patient_id" not in input_example().columns


def test_gate_decision_reads_metrics_defensively():
    gate = GateParams(0.6, 0.3, 0)
    assert gate_decision(PASSING, gate)[0]
    assert not gate_decision(FAILING, gate)[0]
    passed, reasons, values = gate_decision({"headline": {"uno_c_index": "high"}}, gate)
    assert not passed and values["gain_captured"] is None
    assert any("missing" in r for r in reasons)
    assert not gate_decision(None, gate)[0] and not gate_decision([1, 2], gate)[0]
    bad = {"headline": dict(PASSING["headline"], forbidden_recommendations=1)}
    assert not gate_decision(bad, gate)[0]


def test_gate_on_a_user_cohort_checks_what_can_be_measured_there():
    """No counterfactual truth: gain captured is not applicable; discrimination, calibration
    and safety decide."""
    gate = GateParams(0.6, 0.3, 0, min_calibration_slope=0.7, max_calibration_slope=1.3,
                      max_calibration_ici=0.1)
    head = {"uno_c_index": 0.75, "calibration_slope_12m": 0.9, "calibration_ici_12m": 0.04,
            "forbidden_recommendations": 0}
    passed, reasons, _ = gate_decision({"has_truth": False, "headline": head}, gate)
    assert passed and any("not applicable" in r for r in reasons)
    for key, value in (("calibration_slope_12m", 0.5), ("calibration_slope_12m", 1.6),
                       ("calibration_ici_12m", 0.2), ("uno_c_index", 0.55)):
        worse = {"has_truth": False, "headline": dict(head, **{key: value})}
        passed, reasons, _ = gate_decision(worse, gate)
        assert not passed and any(key in r and "fails" in r for r in reasons), (key, value)
    # with the truth, gain captured is required
    passed, reasons, _ = gate_decision({"has_truth": True, "headline": head}, gate)
    assert not passed and any("gain_captured missing" in r for r in reasons)


def test_package_registers_and_moves_alias_only_when_gate_passes(store):
    first, second = store["reports"]
    assert first["version"] == "1" and first["champion_moved"]
    assert "gate passed" in first["reason"]
    assert second["version"] == "2" and not second["champion_moved"]
    assert "uno_c_index = 0.52 fails" in second["reason"]
    assert str(second["champion_version"]) == "1"
    assert second["model_uri"] == f"models:/{NAME}/2"
    assert first["model_id"] == second["model_id"]  # the same bundle, registered twice


def test_logged_model_has_signature_example_and_no_pickle(store):
    import mlflow

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", store["uri"])
        info = mlflow.models.get_model_info(CHAMPION)
        local = Path(mlflow.artifacts.download_artifacts(CHAMPION))
    inputs = info.signature.inputs
    assert "age_years" in inputs.input_names() and "varices" in inputs.input_names()
    assert not inputs.required_input_names()  # the contract check inside reports per row
    assert {p.name for p in info.signature.params.params} >= {"guideline", "errors", "explain"}
    example = json.loads((local / "serving_input_example.json").read_text())
    assert "patient_id" not in json.dumps(example)
    files = [p.name for p in local.rglob("*")]
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".joblib", ".cloudpickle"))]
    assert (local / "artifacts" / "bundle" / "settings.json").is_file() or any(
        p.name == "settings.json" for p in local.rglob("settings.json"))


def test_pyfunc_equals_python_call(store, recommender, examples, same):
    import mlflow

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", store["uri"])
        model = mlflow.pyfunc.load_model(CHAMPION)
    frame = pd.DataFrame(list(examples.values()))
    out = model.predict(frame)
    assert [r["row"] for r in out] == list(range(len(examples)))
    for result, patient in zip(out, examples.values(), strict=True):
        assert result["ok"]
        same(result["recommendation"], recommender.recommend(patient).to_dict())
    prefs = model.predict(frame.iloc[:1], params={"guideline": "bclc-2022",
                                                  "excluded_modalities": ["resection"],
                                                  "explain": False})
    expected = recommender.recommend(examples["advanced"], {"excluded_modalities": ["resection"]},
                                     "bclc-2022", explain=False)
    same(prefs[0]["recommendation"], expected.to_dict())


def test_pyfunc_invalid_rows(store, examples):
    import mlflow
    from mlflow.exceptions import MlflowException

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", store["uri"])
        model = mlflow.pyfunc.load_model(CHAMPION)
    frame = pd.DataFrame([examples["early"], dict(examples["early"], ecog=9)])
    with pytest.raises(MlflowException) as info:  # RecordsRejected (class of the model code)
        model.predict(frame)
    assert type(info.value).__name__ == "RecordsRejected"
    assert info.value.get_http_status_code() == 400
    body = json.loads(info.value.serialize_as_json())
    assert body["invalid_rows"] == [1] and body["predictions"][0]["ok"]
    out = model.predict(frame, params={"errors": "report"})
    assert out[1]["errors"][0]["field"] == "ecog"


def test_pyfunc_one_row_path_equals_the_batch_path(store, patient_rows, same):
    """A one-row request takes the record path (latency): same results as the frame path."""
    import mlflow

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", store["uri"])
        model = mlflow.pyfunc.load_model(CHAMPION)
    frame = patient_rows.iloc[:6].copy()
    frame["ward"] = "7B"  # unknown column: ignored with a warning on both paths
    frame.loc[1, "albumin_g_l"] = np.nan  # a required field missing
    frame = frame.astype({"ecog": object, "age_years": object})
    frame.loc[2, "ecog"] = 9  # out of range
    frame.loc[3, "hbv_dna_iu_ml"] = np.nan  # an optional field missing: fine
    frame.loc[4, "age_years"] = "sixty"  # wrong type
    inner = model.unwrap_python_model()
    calls = []
    real_one = inner._recommend_one
    inner._recommend_one = lambda *a, **k: calls.append(1) or real_one(*a, **k)
    for params in ({"errors": "report"}, {"errors": "report", "explain": False,
                                          "intervals": False, "guideline": "bclc-2022",
                                          "objective": "surv12"}):
        batch = model.predict(frame, params=params)
        assert [r["ok"] for r in batch] == [True, False, False, True, False, True]
        for i in range(len(frame)):
            (one,) = model.predict(frame.iloc[[i]].reset_index(drop=True), params=params)
            if batch[i]["ok"]:
                assert one["ok"], one
                same(one["recommendation"], batch[i]["recommendation"])
            else:
                assert not one["ok"]
                key = [(e["field"], e["reason"]) for e in one["errors"]]
                assert key == [(e["field"], e["reason"]) for e in batch[i]["errors"]]
                assert {e["row"] for e in one["errors"]} == {0}
    assert len(calls) == 2 * len(frame)  # every one-row request took the record path


def test_tcp_nodelay_also_on_sockets_without_proto():
    """uvicorn --workers N shares a socket made with proto 0: asyncio would skip TCP_NODELAY."""
    import asyncio.base_events as base_events
    import socket

    from pipeline.serving.model import _tcp_nodelay_for_shared_sockets

    _tcp_nodelay_for_shared_sockets()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0) as sock:
        base_events._set_nodelay(sock)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        base_events._set_nodelay(sock)  # not TCP: untouched, no error


def test_load_recommender_from_model_uri(store, examples, recommender, same):
    from pipeline.recommender.api import load_recommender

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", store["uri"])
        served = load_recommender(CHAMPION)
    same(served.recommend(examples["early"]).to_dict(),
         recommender.recommend(examples["early"]).to_dict())


def test_package_stage_entry_point(store, tiny_bundle, tmp_path):
    """`python -m pipeline.stages.package` (the DVC stage): no metrics file -> gate fails, logged."""
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    env = dict(os.environ, MLFLOW_TRACKING_URI=store["uri"], HCC_MLFLOW_EXPERIMENT="stage-test")
    env.pop("HCC_MLFLOW_PARENT_RUN_ID", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.stages.package", "--bundle", str(tiny_bundle),
         "--metrics", str(tmp_path / "missing.json"), "--out", str(tmp_path / "package.json"),
         "--registry", str(tmp_path / "registry.json")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "package.json").read_text())
    registry = json.loads((tmp_path / "registry.json").read_text())
    assert not report["champion_moved"] and "missing" in report["reason"]
    # the tracked report holds the decision only; the registry's state is in registry.json
    assert not {"version", "champion_version", "model_uri", "tracking_uri"} & set(report)
    assert registry["version"] == "3" and str(registry["champion_version"]) == "1"
    assert report["model_id"].startswith("s-d")


def test_model_versions_carry_description_and_tags(store):
    """Each registered version says what it is: model id, training data, gate and metrics."""
    from mlflow.tracking import MlflowClient

    with pinned_tracking_uri(store["uri"]):
        client = MlflowClient()
        first = client.get_model_version(NAME, "1")
        second = client.get_model_version(NAME, "2")
        registered = client.get_registered_model(NAME)
    assert "hcc-recommender" in registered.description
    assert first.tags["gate"] == "passed" and second.tags["gate"] == "failed"
    assert first.tags["model_id"].startswith("s-d") and len(first.tags["data_sha256"]) == 64
    assert first.tags["metric.uno_c_index"] and "gate passed" in first.description
    assert "patient_id" not in json.dumps(dict(first.tags)) + first.description


# --- REST -----------------------------------------------------------------------------------

def _post(url: str, body) -> tuple[int, dict | str]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        status, text = err.code, err.read().decode()
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


@pytest.fixture(scope="module")
def server(store, rest_server):
    """The session's REST server of the champion (tests/serving/conftest.py)."""
    return rest_server


def test_rest_valid_records(server, recommender, examples, same):
    records = list(examples.values()) + [dict(examples["early"], patient_id=SECRET)]
    status, body = _post(server["url"], {"dataframe_records": records})
    assert status == 200, body
    preds = body["predictions"]
    assert len(preds) == len(records) and all(p["ok"] for p in preds)
    for pred, patient in zip(preds, records, strict=True):
        same(pred["recommendation"], recommender.recommend(patient).to_dict())
    assert SECRET not in json.dumps(body)
    assert preds[-1]["recommendation"]["patient_ref"].startswith("sha256:")


def test_rest_malformed_records_get_400_and_valid_rows_survive(server, recommender, examples,
                                                              same):
    early = examples["early"]
    bad_unit = dict(early, albumin_g_l=3.8, patient_id=SECRET)
    bad_type = dict(early, ecog="two", age_years="abc", cirrhosis="maybe")
    missing = {k: v for k, v in early.items() if k != "sex"}
    records = [early, bad_unit, bad_type, examples["advanced"], missing]
    status, body = _post(server["url"], {"dataframe_records": records})
    assert status == 400, body
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert body["invalid_rows"] == [1, 2, 4]
    assert "albumin_g_l" in body["message"]
    preds = body["predictions"]
    assert [p["ok"] for p in preds] == [True, False, False, True, False]
    same(preds[0]["recommendation"], recommender.recommend(early).to_dict())
    same(preds[3]["recommendation"], recommender.recommend(examples["advanced"]).to_dict())
    fields = {p["row"]: {e["field"] for e in p["errors"]} for p in preds if not p["ok"]}
    assert fields == {1: {"albumin_g_l"}, 2: {"ecog", "age_years", "cirrhosis"}, 4: {"sex"}}
    assert "g/dL" in json.dumps(preds[1])
    assert SECRET not in json.dumps(body) and SECRET not in server["log"].read_text()
    status, body = _post(server["url"], {"dataframe_records": records,
                                         "params": {"errors": "report"}})
    assert status == 200 and [p["ok"] for p in body["predictions"]] == [True, False, False,
                                                                         True, False]


@pytest.mark.parametrize("records", [
    [{"age_years": [1, 2]}],                       # nested value
    [{"cirrhosis": None, "ecog": 1.5, "inr": {}}],  # None in a required bool, float ECOG
    [{"bilirubin_umol_l": True, "sex": 3}],
])
def test_rest_wrong_types_are_4xx_never_5xx(server, records):
    status, body = _post(server["url"], {"dataframe_records": records})
    assert 400 <= status < 500, body
    assert all(not p["ok"] for p in body["predictions"])


def test_rest_records_without_any_contract_field(server):
    status, body = _post(server["url"], {"dataframe_records": [{}, {"colour": "blue"}]})
    assert status == 400, body
    assert {p["field"] for p in body["problems"]} >= {"age_years", "ecog"}
    assert body["message"].startswith("invalid cohort")


def test_rest_missing_optional_columns_are_accepted(server, recommender, same):
    required = {"age_years": 66, "sex": "female", "etiology": "masld", "cirrhosis": False,
                "ascites": "none", "encephalopathy": "none", "bilirubin_umol_l": 12,
                "albumin_g_l": 41, "inr": 1.0, "creatinine_umol_l": 70,
                "platelets_10e9_l": 210, "afp_ng_ml": 8, "tumor_count": 1,
                "tumor_max_diameter_cm": 2.0, "pvtt": "none", "extrahepatic_spread": False,
                "ecog": 0}
    status, body = _post(server["url"], {"dataframe_records": [required]})
    assert status == 200, body
    same(body["predictions"][0]["recommendation"], recommender.recommend(required).to_dict())


def test_rest_request_level_errors(server, examples):
    assert _post(server["url"], b"{not json")[0] == 400
    assert _post(server["url"], {"dataframe_records": {"a": 1}})[0] == 400
    status, body = _post(server["url"], {"dataframe_records": [examples["early"]],
                                         "params": {"guideline": "who-2030"}})
    assert status == 400 and body["problems"][0]["field"] == "guideline"
    assert "Failed to predict data" not in body["message"]  # never echoes the request
    status, body = _post(server["url"], {"dataframe_records": [examples["early"]],
                                         "params": {"excluded_modalities": ["resection"],
                                                    "max_cost_tier": "low", "explain": False,
                                                    "intervals": False}})
    assert status == 200
    rec = body["predictions"][0]["recommendation"]
    assert rec["recommended"] != "resection" and rec["contrast"] is None
    assert rec["preferences"] == {"excluded_modalities": ["resection"], "max_cost_tier": "low",
                                  "objective": None, "consider_not_indicated": False}
    status, body = _post(server["url"], {"dataframe_records": [examples["early"]],
                                         "params": {"consider_not_indicated": True,
                                                    "explain": False, "intervals": False}})
    rec = body["predictions"][0]["recommendation"]
    assert status == 200 and rec["preferences"]["consider_not_indicated"] is True
    assert rec["guideline"]["consider_not_indicated"] is True
    assert not any("not_indicated" in m["excluded_because"] for m in rec["modalities"])
    assert all(m["outcomes"]["rmst_interval_months"] is None for m in rec["modalities"])
    assert _post(server["url"], {"dataframe_records": [examples["early"]],
                                 "params": {"explain": "yes please"}})[0] == 400
