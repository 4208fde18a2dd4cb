"""``hcc serve`` access: loopback by default, a bearer token off loopback
(pipeline/serving/access.py), unit-tested on a fake app and end to end on a server started with
a token (on 127.0.0.1: a configured token is enforced on every address)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time

import pytest
import requests
from serving_support import CHAMPION, SERVER_START_S, free_port, pings

from pipeline.serving import access
from pipeline.serving.access import (
    BearerGuard,
    TokenError,
    configured_token,
    is_loopback,
    token_for_host,
)

TOKEN = "t0k3n-" + "x" * 40
SECRET = "MRN-ACCESS-0001"


def test_token_from_the_variable_or_the_file(tmp_path):
    assert configured_token({}) is None
    assert configured_token({"HCC_SERVE_TOKEN": f" {TOKEN}\n"}) == TOKEN.encode()
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    assert configured_token({"HCC_SERVE_TOKEN_FILE": str(path)}) == TOKEN.encode()


@pytest.mark.parametrize("env, expected", [
    ({"HCC_SERVE_TOKEN": TOKEN, "HCC_SERVE_TOKEN_FILE": "/x"}, "expected one of them, got both"),
    ({"HCC_SERVE_TOKEN": "short-secret"}, "HCC_SERVE_TOKEN: expected a token of at least 32 "
                                          "characters, got 12"),
    ({"HCC_SERVE_TOKEN": ""}, "got 0"),
    ({"HCC_SERVE_TOKEN": "a b" * 20}, "expected printable ASCII without spaces"),
    ({"HCC_SERVE_TOKEN_FILE": "/nonexistent/token"}, "HCC_SERVE_TOKEN_FILE (/nonexistent/token)"
                                                     ": expected a readable UTF-8 file"),
])
def test_unusable_token_settings_are_named_never_shown(env, expected):
    with pytest.raises(TokenError) as caught:
        configured_token(env)
    assert expected in str(caught.value)
    assert "short-secret" not in str(caught.value) and "a b" not in str(caught.value)


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("0.0.0.0", False), ("::", False), ("10.1.2.3", False),
    ("192.168.0.5", False), ("my-host.example.org", False),
])
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_a_non_loopback_address_requires_a_token():
    with pytest.raises(TokenError, match=r"--host 0.0.0.0: .* needs a bearer token, got none"):
        token_for_host("0.0.0.0", {})
    assert token_for_host("127.0.0.1", {}) is None  # this machine only: no token needed
    assert token_for_host("0.0.0.0", {"HCC_SERVE_TOKEN": TOKEN}) == TOKEN.encode()
    assert token_for_host("127.0.0.1", {"HCC_SERVE_TOKEN": TOKEN}) == TOKEN.encode()


def _call(app, path="/invocations", headers=(), body=b'{"x": 1}', kind="http"):
    """One request through ``app``: (status, headers, body bytes)."""
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": kind, "method": "POST", "path": path, "query_string": b"id=" + SECRET.encode(),
             "headers": [(b"content-type", b"application/json"), *headers]}
    asyncio.run(app(scope, receive, send))
    if kind != "http":
        return sent
    return sent[0]["status"], dict(sent[0]["headers"]), b"".join(m.get("body", b"")
                                                                 for m in sent[1:])


def _echo():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["path"])
        body = (await receive())["body"] if scope["type"] == "http" else b""
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app, seen


@pytest.mark.parametrize("headers", [
    [],
    [(b"authorization", b"Bearer wrong-" + b"x" * 40)],
    [(b"authorization", b"Bearer " + TOKEN.encode()[:-1])],
    [(b"authorization", b"Bearer " + TOKEN.encode() + b"x")],
    [(b"authorization", b"Basic " + TOKEN.encode())],
    [(b"authorization", TOKEN.encode())],
    [(b"authorization", b"Bearer " + TOKEN.encode()), (b"authorization", b"Bearer other")],
])
def test_requests_without_the_token_get_401_echoing_nothing(headers):
    app, seen = _echo()
    body = json.dumps({"dataframe_records": [{"patient_id": SECRET}]}).encode()
    status, head, answer = _call(BearerGuard(app, TOKEN.encode()), headers=headers, body=body)
    assert status == 401 and seen == []  # the scoring app never ran, the body was not read
    assert head[b"www-authenticate"].startswith(b"Bearer")
    # one fixed answer, whatever the request: nothing of it (body, query, header) comes back
    assert answer == access._UNAUTHORIZED and SECRET.encode() not in answer
    assert json.loads(answer)["error_code"] == "UNAUTHENTICATED"


def test_the_right_token_passes_compared_in_constant_time(monkeypatch):
    import hmac

    compared, real = [], hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(access.hmac, "compare_digest", spy)
    app, seen = _echo()
    for scheme in (b"Bearer ", b"bearer "):
        status, _, answer = _call(BearerGuard(app, TOKEN.encode()),
                                  headers=[(b"authorization", scheme + TOKEN.encode())])
        assert status == 200 and answer == b'{"x": 1}'
    assert compared == [(TOKEN.encode(), TOKEN.encode())] * 2 and len(seen) == 2


def test_liveness_probes_stay_open_everything_else_is_guarded():
    app, seen = _echo()
    guard = BearerGuard(app, TOKEN.encode())
    assert _call(guard, path="/ping")[0] == 200 and _call(guard, path="/health")[0] == 200
    assert _call(guard, path="/version")[0] == 401 and _call(guard, path="/metrics")[0] == 401
    assert _call(guard, kind="websocket", path="/ws") == [{"type": "websocket.close",
                                                            "code": 1008}]
    assert seen == ["/ping", "/health"]


def test_serve_refuses_a_non_loopback_address_without_a_token(monkeypatch, capsys):
    from pipeline.serving import rest
    from pipeline.serving.cli import main

    monkeypatch.delenv("HCC_SERVE_TOKEN", raising=False)
    monkeypatch.delenv("HCC_SERVE_TOKEN_FILE", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--model", "/nonexistent"]) == 2
    assert "needs a bearer token" in capsys.readouterr().err
    # the server module itself refuses too, before it downloads or binds anything
    assert rest.main(["--model", "/nonexistent", "--host", "10.0.0.1"]) == 2
    assert "--host 10.0.0.1" in capsys.readouterr().err


@pytest.fixture(scope="module")
def token_server(mlflow_store, tmp_path_factory):
    """``hcc serve``'s server of the session champion with a token (from a file) on loopback."""
    from pipeline.serving.cli import serve_command

    work = tmp_path_factory.mktemp("token-server")
    token_file = work / "token"
    token_file.write_text(TOKEN + "\n")
    port = free_port()
    env = dict(mlflow_store["env"], MLFLOW_TRACKING_URI=mlflow_store["uri"],
               HCC_SERVE_TOKEN_FILE=str(token_file))
    env.pop("HCC_SERVE_TOKEN", None)
    log = work / "server.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(serve_command(CHAMPION, port), env=env, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while not pings(port):  # /ping needs no token
            assert proc.poll() is None, f"server exited: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no /ping: {log.read_text()[-3000:]}"
            time.sleep(0.5)
        yield {"base": f"http://127.0.0.1:{port}", "log": log}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_token_server_end_to_end(token_server, examples):
    base = token_server["base"]
    record = dict(examples["advanced"], patient_id=SECRET)
    body = {"dataframe_records": [record], "params": {"explain": False, "intervals": False}}
    refused = [requests.post(f"{base}/invocations", json=body, headers=headers, timeout=30)
               for headers in ({}, {"Authorization": "Bearer " + "w" * 46},
                               {"Authorization": f"Basic {TOKEN}"})]
    for answer in refused:
        assert answer.status_code == 401, answer.text
        assert answer.content == access._UNAUTHORIZED and SECRET not in answer.text
    assert requests.get(f"{base}/version", timeout=10).status_code == 401
    assert requests.get(f"{base}/health", timeout=10).status_code == 200
    good = requests.post(f"{base}/invocations", json=body,
                         headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert good.status_code == 200, good.text[:500]
    assert good.json()["predictions"][0]["ok"] is True
    assert "bearer token required" in token_server["log"].read_text()
