"""Robustness of the REST endpoint: malformed input gets HTTP 4xx, never 5xx, never a hang, and
the valid rows of a request keep their recommendations.

The session's ONE ``hcc serve`` server (MLflow's scoring server behind the request guard of
pipeline/serving/rest.py) of the tiny session bundle,
registered as the project's pyfunc in a temporary SQLite store, on a free loopback port
(``rest_server`` in tests/serving/conftest.py, shared with test_serving.py). Hypothesis
builds the records (tests/robustness_strategies.py, JSON-representable values only);
examples are bounded so the module takes well under a minute.
"""

from __future__ import annotations

import http.client
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robustness_strategies import malformed_records, valid_records

pytestmark = pytest.mark.slow
SECRET = "MRN-ROBUST-4242"
TIMEOUT_S = 60
FAST = {"explain": False, "intervals": False}
ROW_LEVEL = settings(max_examples=40, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def rest(rest_server):
    """The session's served pyfunc of the tiny bundle (``rest_server``, tests/serving/
    conftest.py): returns a ``post(body, content_type)`` function."""
    port = rest_server["port"]

    def post(body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
        try:  # a timeout raises: a hang fails the test instead of blocking it
            conn.request("POST", "/invocations", body=data,
                         headers={"Content-Type": content_type})
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
        finally:
            conn.close()
        try:
            return resp.status, json.loads(text)
        except json.JSONDecodeError:
            return resp.status, text

    return post


def _finite_json(record: dict) -> bool:
    """True when every number of the record fits a JSON/float64 value (no NaN, inf, 10**400)."""
    for v in record.values():
        if isinstance(v, float) and not math.isfinite(v):
            return False
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 1e300:
            return False
    return True


@ROW_LEVEL
@given(good=st.lists(valid_records(json_only=True), min_size=2, max_size=2),
       case=malformed_records(json_only=True))
def test_malformed_row_is_4xx_and_valid_rows_survive(rest, recommender, good, case):
    bad, kind, field = case
    status, body = rest({"dataframe_records": [good[0], bad, good[1]], "params": FAST})
    assert status < 500, (kind, body)
    if not _finite_json(bad):  # not a dataframe for MLflow's JSON parser: request-level 400
        assert 400 <= status < 500, (kind, body)
        return
    if kind in ("extra_field", "many_keys"):  # unknown columns are ignored in a cohort
        assert status == 200, (kind, body)
        assert all(p["ok"] for p in body["predictions"])
        return
    assert status == 400, (kind, body)
    preds = body["predictions"]
    assert [p["ok"] for p in preds] == [True, False, True], (kind, preds)
    if field is not None:
        assert field in {e["field"] for e in preds[1]["errors"]}, (kind, preds[1])
    for pred, record in ((preds[0], good[0]), (preds[2], good[1])):
        expected = recommender.recommend(record, **FAST)
        assert pred["recommendation"]["recommended"] == expected.recommended


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(body=st.one_of(
    st.binary(min_size=1, max_size=50).filter(lambda b: not b.strip().startswith(b"{")),
    _JSON.filter(lambda v: not isinstance(v, dict)).map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.text(max_size=10).filter(
        lambda k: k not in ("dataframe_records", "dataframe_split", "instances", "inputs")),
        _JSON, max_size=3),
    st.fixed_dictionaries({"dataframe_records": st.integers() | st.text(max_size=5)
                           | st.lists(st.integers() | st.none() | st.booleans(), min_size=1,
                                      max_size=3)}),
))
def test_malformed_request_is_4xx(rest, body):
    status, answer = rest(body)
    assert 400 <= status < 500, (body, answer)


@pytest.mark.parametrize("params", [
    {"guideline": "who-2030"}, {"objective": "longest"}, {"max_cost_tier": "free"},
    {"excluded_modalities": ["surgery"]},
])
def test_invalid_request_params_are_4xx(rest, examples, params):
    status, body = rest({"dataframe_records": [examples["early"]], "params": params})
    assert status == 400, body


def test_huge_requests(rest, examples):
    early = examples["early"]
    status, body = rest({"dataframe_records": [dict(early, sex="x" * 1_000_000)]})
    assert status == 400 and len(json.dumps(body)) < 100_000  # the value is truncated
    wide = dict(early, **{f"extra_{i}": i for i in range(5000)})
    status, body = rest({"dataframe_records": [wide], "params": FAST})
    assert status == 200 and body["predictions"][0]["ok"]  # unknown columns are ignored
    status, body = rest({"dataframe_records": [early] * 300, "params": FAST})
    assert status == 200 and len(body["predictions"]) == 300
    status, _ = rest({"dataframe_records": [dict(early, age_years=10 ** 400)]})
    assert status == 400
    status, _ = rest(b"age_years,sex\n1,2,3\n\x00", content_type="text/csv")
    assert 400 <= status < 500
    status, _ = rest(b"hello", content_type="text/plain")
    assert 400 <= status < 500


@pytest.mark.parametrize("depth", [1200, 20_000])
def test_deeply_nested_json_is_4xx(rest, depth):
    status, _ = rest(b"[" * depth + b"]" * depth)
    assert 400 <= status < 500


def test_invalid_errors_param_does_not_echo_the_patient(rest, examples):
    status, body = rest({"dataframe_records": [dict(examples["early"], patient_id=SECRET)],
                         "params": {"errors": "sometimes"}})
    assert status == 400 and SECRET not in json.dumps(body)


@pytest.mark.parametrize("params", [{"explain": "yes please"}, {"guideline": 5},
                                    {"excluded_modalities": "tace"}])
def test_param_type_errors_do_not_echo_the_patient(rest, examples, params):
    status, body = rest({"dataframe_records": [dict(examples["early"], patient_id=SECRET)],
                         "params": params})
    assert status == 400 and SECRET not in json.dumps(body)
    assert f"params.{next(iter(params))}: expected" in body["message"]  # names the param
