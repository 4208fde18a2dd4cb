"""The REST server of ``hcc serve``: MLflow's scoring server behind a request guard.

The endpoint is MLflow's own (``POST /invocations`` with ``dataframe_records`` /
``dataframe_split``, ``GET /ping``, ``/health``, ``/version``), so any MLflow client works. The
guard in front of it closes two gaps of the scoring server (MLflow 3.17) that the robustness
tests found (tests/serving/test_robustness_rest.py):

* request params of the wrong type (``"explain": "yes please"``) fail MLflow's signature check
  before the model code runs, and MLflow's error message starts with the input frame, patient_id
  included: the guard checks every param against the model's signature first and answers HTTP
  400 naming the param, the expected type and the received value (never a record);
* a JSON body nested deeper than Python's recursion limit raises ``RecursionError`` outside
  MLflow's error handling (HTTP 500): the guard answers HTTP 400;
* bodies over ``HCC_SERVE_MAX_BODY_MB`` (default 64 MB) get HTTP 413 before being read whole;
* last line of defence: an error response (4xx/5xx) that would contain a patient_id of the
  request is replaced by a generic error of the same status.

Access (:mod:`pipeline.serving.token`): the server binds to 127.0.0.1 by default. Bound to any
other address it needs a bearer token (``HCC_SERVE_TOKEN`` or the file in
``HCC_SERVE_TOKEN_FILE``) and refuses to start without one; a configured token is enforced on
every address. Every route but ``GET /ping`` and ``GET /health`` (liveness probes) then needs
``Authorization: Bearer <token>``; a request without it or with a wrong one gets HTTP 401 before
its body is read, and the answer echoes nothing of the request.

Run it with ``hcc serve`` or ``python -m pipeline.serving.rest --model URI [--host H] [--port P]
[--workers N]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys

from pipeline.serving.access import (
    OPEN_PATHS,
    BearerGuard,
    TokenError,
    configured_token,
    token_for_host,
)

MODEL_PATH_ENV = "HCC_SERVE_MODEL_PATH"
MAX_BODY_ENV = "HCC_SERVE_MAX_BODY_MB"
_DEFAULT_MAX_BODY_MB = 64.0
_JSON_TYPES = {"string": (str,), "boolean": (bool,), "long": (int,), "integer": (int,),
               "double": (int, float), "float": (int, float)}
_JSON_NAMES = {"string": "a string", "boolean": "true or false", "long": "an integer",
               "integer": "an integer", "double": "a number", "float": "a number"}


def _shown(value) -> str:
    """A request value for an error message: JSON, at most 60 characters."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def check_params(params, specs: dict) -> list[str]:
    """Problems of the request ``params`` against the signature ``specs`` (name -> spec).

    Each problem names the param, the expected JSON type and the received value. Unknown names
    are left to MLflow (it ignores them with a warning).
    """
    if params is None:
        return []
    if not isinstance(params, dict):
        return [f"params: expected a JSON object, got {_shown(params)}"]
    problems = []
    for name, value in params.items():
        spec = specs.get(name)
        if spec is None or value is None:
            continue
        dtype = str(getattr(spec.dtype, "name", spec.dtype))
        kinds, what = _JSON_TYPES.get(dtype), _JSON_NAMES.get(dtype, dtype)
        if kinds is None:
            continue

        def ok(v, kinds=kinds, dtype=dtype):
            return isinstance(v, kinds) and (dtype == "boolean" or not isinstance(v, bool))

        if spec.shape is None:
            if not ok(value):
                problems.append(f"params.{name}: expected {what}, got {_shown(value)}")
        elif not isinstance(value, list) or not all(ok(v) for v in value):
            problems.append(f"params.{name}: expected a list of {what.removeprefix('a ')}s, "
                            f"got {_shown(value)}")
    return problems


def _patient_ids(payload) -> list[str]:
    """The patient_id values of a scoring request (records or split format)."""
    ids = []
    if not isinstance(payload, dict):
        return ids
    records = payload.get("dataframe_records")
    if isinstance(records, list):
        ids += [r.get("patient_id") for r in records if isinstance(r, dict)]
    split = payload.get("dataframe_split")
    if isinstance(split, dict) and isinstance(split.get("columns"), list) \
            and "patient_id" in split["columns"] and isinstance(split.get("data"), list):
        k = split["columns"].index("patient_id")
        ids += [row[k] for row in split["data"] if isinstance(row, list) and len(row) > k]
    return [str(i) for i in ids if isinstance(i, (str, int)) and str(i)]


class RequestGuard:
    """ASGI middleware in front of MLflow's scoring app (see the module docstring)."""

    def __init__(self, app, param_specs: dict, max_body_bytes: int):
        self.app, self.specs, self.max_body = app, param_specs, max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" \
                or scope.get("path") != "/invocations":
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body:
                return await _error(send, 413, "REQUEST_LIMIT_EXCEEDED",
                                    f"request body: expected at most {self.max_body} bytes "
                                    f"(HCC_SERVE_MAX_BODY_MB), got more")
        secrets: list[str] = []
        content_type = dict(scope.get("headers") or ()).get(b"content-type", b"")
        if content_type.split(b";")[0].strip().lower() == b"application/json":
            try:
                payload = json.loads(body)
            except RecursionError:
                return await _error(send, 400, "MALFORMED_REQUEST", "request body: expected "
                                    "JSON nested at most a few hundred levels, got deeper")
            except ValueError:
                payload = None  # not JSON: MLflow answers with its own 400
            problems = check_params(payload.get("params"), self.specs) \
                if isinstance(payload, dict) else []
            if problems:
                return await _error(send, 400, "INVALID_PARAMETER_VALUE", "; ".join(problems))
            secrets = _patient_ids(payload)
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, _Scrubber(send, secrets) if secrets else send)


class _Scrubber:
    """``send`` wrapper: an error response that contains a request's patient_id is replaced."""

    def __init__(self, send, secrets: list[str]):
        self.send, self.secrets = send, [s.encode() for s in secrets]
        self.start, self.chunks = None, []

    async def __call__(self, message):
        if message["type"] == "http.response.start":
            if message["status"] < 400:
                self.secrets = []
                return await self.send(message)
            self.start = message
            return None
        if self.start is None:
            return await self.send(message)
        self.chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return None
        body = b"".join(self.chunks)
        status = self.start["status"]
        if _quotes(body, self.secrets):
            return await _error(self.send, status, "INTERNAL_ERROR" if status >= 500 else
                                "BAD_REQUEST", "the request was rejected; its error message "
                                "quoted patient data and was withheld (see the request "
                                "params and the model signature)")
        headers = [(k, v) for k, v in self.start.get("headers", []) if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.send(dict(self.start, headers=headers))
        await self.send({"type": "http.response.body", "body": body, "more_body": False})


def _quotes(body: bytes, secrets: list[bytes]) -> bool:
    """Does an error body quote one of ``secrets``?

    MLflow's errors quote the input in ``message`` (and ``stack_trace``); only those are
    searched in a JSON body, so a rejected batch whose body carries every row's result costs
    one pass over a short text per patient, not over the whole body. A body that is not a JSON
    object is searched whole.
    """
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        texts = [str(doc[k]).encode() for k in ("message", "stack_trace") if k in doc]
    else:
        texts = [body]
    return any(s in text for text in texts for s in secrets)


async def _error(send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error_code": code, "message": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def create_app():
    """The guarded scoring app of the local model directory in ``HCC_SERVE_MODEL_PATH``
    (uvicorn factory: each worker loads its own copy)."""
    from mlflow.pyfunc import scoring_server

    path = os.environ.get(MODEL_PATH_ENV)
    if not path:
        raise RuntimeError(f"{MODEL_PATH_ENV}: expected the local directory of the model to "
                           "serve, got nothing. Hint: start the server with `hcc serve`.")
    model = scoring_server.load_model_with_mlflow_config(path)
    params = model.metadata.get_params_schema()
    specs = {p.name: p for p in params.params} if params is not None else {}
    max_mb = float(os.environ.get(MAX_BODY_ENV) or _DEFAULT_MAX_BODY_MB)
    app = RequestGuard(scoring_server.init(model), specs, int(max_mb * 1024 * 1024))
    token = configured_token()  # main() checked it; a worker reads the same variables
    if token is not None:
        app = BearerGuard(app, token)
    # The model, MLflow and the web stack live as long as the process: move them out of the
    # cyclic collector's generations, whose full passes re-traversed them all during requests
    # (measured, 8 clients: p99 290-310 ms with, 170-200 ms without those pauses).
    gc.collect()
    gc.freeze()
    return app


def main(argv=None) -> int:
    """Download the model once (a ``models:/`` URI resolves against MLFLOW_TRACKING_URI), then
    run uvicorn with ``workers`` processes of :func:`create_app`."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.serving.rest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model URI or local model directory")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; any other needs a token)")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        token = token_for_host(args.host)
    except TokenError as exc:  # before any download or bind
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import mlflow
    import uvicorn

    local = args.model if os.path.isdir(args.model) else \
        mlflow.artifacts.download_artifacts(artifact_uri=args.model)
    os.environ[MODEL_PATH_ENV] = str(local)
    if token is not None:
        print(f"bearer token required on every route but {', '.join(sorted(OPEN_PATHS))}",
              file=sys.stderr)
    uvicorn.run("pipeline.serving.rest:create_app", factory=True, host=args.host, port=args.port,
                workers=max(1, int(args.workers)), log_level="info")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C (forwarded by `hcc serve`) before uvicorn took over
        sys.exit(130)
