"""The request guard of the REST server (pipeline.serving.rest), on a fake scoring app (no server)."""

from __future__ import annotations

import asyncio
import json

import pytest

from pipeline.serving.rest import RequestGuard, check_params

SECRET = "MRN-GUARD-0001"


class Spec:
    def __init__(self, name, dtype, shape=None):
        self.name, self.dtype, self.shape = name, dtype, shape


SPECS = {s.name: s for s in (Spec("explain", "boolean"), Spec("guideline", "string"),
                             Spec("excluded_modalities", "string", (-1,)),
                             Spec("top", "long"), Spec("level", "double"))}


def test_check_params_names_param_expectation_and_value():
    assert check_params(None, SPECS) == []
    assert check_params({"explain": True, "guideline": "cnlc-2024", "top": 3, "level": 0.9,
                         "excluded_modalities": ["tace"], "unknown": object()}, SPECS) == []
    assert check_params({"level": 1, "guideline": None}, SPECS) == []  # int is a number
    problems = check_params({"explain": "yes please", "guideline": 5, "top": True,
                             "excluded_modalities": "tace", "level": "x" * 100}, SPECS)
    assert problems[0] == "params.explain: expected true or false, got \"yes please\""
    assert problems[1] == "params.guideline: expected a string, got 5"
    assert problems[2] == "params.top: expected an integer, got true"
    assert problems[3] == "params.excluded_modalities: expected a list of strings, got \"tace\""
    assert problems[4].startswith("params.level: expected a number") and len(problems[4]) < 110
    assert check_params([1], SPECS) == ["params: expected a JSON object, got [1]"]


def _call(guard, body: bytes, path="/invocations", chunk=None, content_type=b"application/json"):
    """Run one request through ``guard``: (status, parsed body, what the app received)."""
    chunks = [body] if chunk is None else [body[i:i + chunk] for i in range(0, len(body), chunk)]
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
                for i, c in enumerate(chunks)]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path,
             "headers": [(b"content-type", content_type)]}
    asyncio.run(guard(scope, receive, send))
    status = sent[0]["status"]
    data = b"".join(m.get("body", b"") for m in sent[1:])
    try:
        return status, json.loads(data), sent
    except ValueError:
        return status, data, sent


def _app(status=200, reply=None):
    """A fake scoring app: echoes the body it got (or ``reply``) with ``status``."""
    seen = {}

    async def app(scope, receive, send):
        body, more = b"", True
        while more:
            m = await receive()
            body += m.get("body", b"")
            more = m.get("more_body", False)
        seen["body"] = body
        out = reply if reply is not None else body
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(out)).encode())]})
        await send({"type": "http.response.body", "body": out})

    return app, seen


def test_valid_requests_pass_through_whole():
    app, seen = _app()
    body = json.dumps({"dataframe_records": [{"patient_id": SECRET, "age_years": 60}],
                       "params": {"explain": False}}).encode()
    status, out, _ = _call(RequestGuard(app, SPECS, 10_000), body, chunk=7)
    assert status == 200 and seen["body"] == body and out["params"] == {"explain": False}


def test_param_type_errors_answered_without_the_records():
    app, seen = _app()
    body = json.dumps({"dataframe_records": [{"patient_id": SECRET}],
                       "params": {"explain": "yes please"}}).encode()
    status, out, _ = _call(RequestGuard(app, SPECS, 10_000), body)
    assert status == 400 and out["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "params.explain" in out["message"] and SECRET not in json.dumps(out)
    assert "body" not in seen  # the scoring app never ran


@pytest.mark.parametrize("depth", [1200, 100_000])
def test_deep_json_is_400(depth):
    app, seen = _app()
    status, out, _ = _call(RequestGuard(app, SPECS, 10**7), b"[" * depth + b"]" * depth)
    assert status == 400 and "nested" in out["message"] and "body" not in seen


def test_oversized_body_is_413_before_reading_it_all():
    app, seen = _app()
    status, out, _ = _call(RequestGuard(app, SPECS, 100), b"x" * 1000, chunk=64)
    assert status == 413 and "at most 100 bytes" in out["message"] and "body" not in seen


def test_error_quoting_a_patient_id_is_withheld_other_errors_kept():
    leak = json.dumps({"error_code": "BAD_REQUEST",
                       "message": f"Failed to predict data '{SECRET}'"}).encode()
    body = json.dumps({"dataframe_split": {"columns": ["age_years", "patient_id"],
                                           "data": [[60, SECRET]]}}).encode()
    status, out, _ = _call(RequestGuard(_app(400, leak)[0], SPECS, 10_000), body)
    assert status == 400 and SECRET not in json.dumps(out) and "withheld" in out["message"]
    fine = json.dumps({"error_code": "BAD_REQUEST", "message": "ecog: expected 0-4"}).encode()
    status, out, sent = _call(RequestGuard(_app(400, fine)[0], SPECS, 10_000), body)
    assert status == 400 and out["message"] == "ecog: expected 0-4"
    assert dict(sent[0]["headers"])[b"content-length"] == str(len(fine)).encode()


def test_other_routes_and_non_json_untouched():
    app, seen = _app()
    status, _, _ = _call(RequestGuard(app, SPECS, 10), b"a,b\n1,2\n" * 3, path="/ping")
    assert status == 200 and seen["body"] == b"a,b\n1,2\n" * 3
    status, _, _ = _call(RequestGuard(app, SPECS, 1000), b"a,b\n1,2\n", content_type=b"text/csv")
    assert status == 200 and seen["body"] == b"a,b\n1,2\n"


def test_large_rejected_batch_is_scanned_in_linear_time():
    """A 20,000-row batch rejected with every row's result in the body: the patient_id scan
    reads the error message per id, not the whole body per id (which took minutes)."""
    import time

    ids = [f"MRN-{i:06d}" for i in range(20_000)]
    body = json.dumps({"dataframe_records": [{"patient_id": i, "age_years": 60} for i in ids]})
    reply = json.dumps({"error_code": "INVALID_PARAMETER_VALUE",
                        "message": "1 of 20000 patient record(s) invalid (row 7: ecog: ...)",
                        "predictions": [{"row": k, "ok": True, "recommendation": {
                            "patient_ref": f"ref{k}", "curve": list(range(25))}}
                            for k in range(20_000)]}).encode()
    started = time.perf_counter()
    status, out, _ = _call(RequestGuard(_app(400, reply)[0], SPECS, 10**9), body.encode())
    assert status == 400 and len(out["predictions"]) == 20_000  # kept: quotes no patient_id
    assert time.perf_counter() - started < 20
