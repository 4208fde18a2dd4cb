"""The MLflow pyfunc model of the recommender (models-from-code: this file IS the model code).

:func:`pipeline.serving.packaging.log_model` logs it with ``python_model`` = this file and the trained bundle
directory as the artifact ``bundle`` (xgboost models, SHAP background, rule sets; no pickle).
MLflow executes this file when it loads the model; :func:`mlflow.models.set_model` below names
the model object. The project itself (``features``, ``models``, ``guidelines``, ``pipeline``) must
be importable where the model is served (``--env-manager local`` in the project's environment).

Input: a DataFrame of contract patient records (REST: ``dataframe_records``). Every column of
the signature is optional and typed ``Any``: the contract validation inside ``predict`` checks
types, ranges and required fields and reports every problem per row, where MLflow's own type
casting would fail the whole request (a text in a number column), silently turn a missing
boolean into ``false`` or truncate ``ecog`` 1.5 to 1.

Output: one result per input row, in row order::

    {"row": 0, "ok": true, "recommendation": {... Recommendation.to_dict() ...}}
    {"row": 1, "ok": false, "errors": [{"field": ..., "reason": ..., "expected": ...,
                                         "received": ..., "hint": ..., "row": 1}, ...],
     "message": "invalid patient record: 2 problem(s)"}

Invalid rows (design of the 4xx): with the default ``params={"errors": "raise"}`` a request
with at least one invalid row raises :class:`RecordsRejected`, an ``MlflowException`` with
``INVALID_PARAMETER_VALUE``, which the scoring server answers with HTTP 400 and a JSON body that
still carries every row's result under ``predictions`` (the valid rows' recommendations are not
lost) plus ``invalid_rows``. With ``params={"errors": "report"}`` the same results come with HTTP
200. A request with only valid rows always gets HTTP 200 ``{"predictions": [...]}``.

Request-level params (all optional): ``guideline`` (rule set name), ``excluded_modalities``
(list), ``max_cost_tier``, ``objective``, ``consider_not_indicated`` (default false: a modality
the rule set grades not indicated is never recommended), ``explain`` (SHAP, default true),
``intervals`` (bootstrap RMST interval, default true), ``errors``, ``output`` and ``threads``.

Columnar output (``params={"output": "table"}``, for batch engines such as Spark): a DataFrame,
one row per input row in row order, with typed columns instead of nested dicts: the wide table
of :func:`pipeline.recommender.bulk.recommend_table` (``ok``, ``errors``, ``recommended``,
``runner_up`` ... and ``<modality>__<measure>``). Invalid rows are rows with ``ok`` false and
their ``errors`` whatever ``errors`` says (a batch job never fails for a row). ``threads``
(default 0: the model's own setting) caps the xgboost threads of the call: 1 where the engine
already runs one task per core. The default ``output`` (``records``) is unchanged.
"""

from __future__ import annotations

import threading

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel

_ONE_AT_A_TIME = threading.Lock()
"""One prediction at a time per server process: concurrent requests queue here instead of
sharing the GIL (measured: 10% more requests per second under 8 concurrent clients)."""

_PARAM_KEYS = ("guideline", "excluded_modalities", "max_cost_tier", "objective")


class RecordsRejected(MlflowException):
    """HTTP 400 from the scoring server whose body keeps every row's result (``predictions``).

    Also raised for request-level problems (unknown guideline, invalid preferences, records
    without any contract field), then with ``problems`` and empty ``predictions``.

    The scoring server rewrites ``message`` to ``"Failed to predict data '<input frame>'..."``;
    that would echo the request (with any patient_id) back, so this class keeps its own message.
    """

    def __init__(self, message: str, **body):
        self._own_message = message
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE, **body)

    @property
    def message(self) -> str:
        return self._own_message

    @message.setter
    def message(self, value) -> None:  # ignore the server's rewrite (see the class docstring)
        pass


def _tcp_nodelay_for_shared_sockets() -> None:
    """TCP_NODELAY on every accepted TCP connection, also under ``--workers N``.

    uvicorn's multi-worker supervisor binds the listening socket with ``proto`` 0; accepted
    sockets inherit it and asyncio only sets TCP_NODELAY when ``proto == IPPROTO_TCP``, so each
    keep-alive response waits ~40 ms for the client's delayed ACK (Nagle's algorithm; uvicorn
    issue Kludex/uvicorn#3149). The model is loaded in each worker before it accepts
    connections: relax asyncio's check to the family and type. No effect with one worker.
    """
    import asyncio.base_events as base_events
    import socket

    if not hasattr(base_events, "_set_nodelay"):  # another Python: leave it alone
        return

    def set_nodelay(sock):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    base_events._set_nodelay = set_nodelay


def _request(params) -> tuple[dict, bool, str]:
    """(preferences/guideline kwargs, explain, errors mode) from the request params."""
    params = dict(params or {})
    prefs = {}
    excluded = params.get("excluded_modalities")
    if excluded is not None and len(excluded):
        prefs["excluded_modalities"] = [str(m) for m in excluded]
    for key in ("max_cost_tier", "objective"):
        if params.get(key):
            prefs[key] = params[key]
    if params.get("consider_not_indicated"):
        prefs["consider_not_indicated"] = params["consider_not_indicated"]
    guideline = params.get("guideline") or None
    explain = params.get("explain", True)
    intervals = params.get("intervals", True)
    errors = params.get("errors") or "raise"
    if errors not in ("raise", "report"):
        raise RecordsRejected(f"params.errors: expected 'raise' or 'report', got {errors!r}",
                              predictions=[])
    return ({"preferences": prefs or None, "guideline": guideline,
             "intervals": bool(intervals)}, bool(explain), errors)


class RecommenderModel(PythonModel):
    """pyfunc wrapper: ``predict(frame)`` -> one result dict per row (see the module doc)."""

    def load_context(self, context) -> None:
        from pipeline.recommender.runtime import Recommender

        _tcp_nodelay_for_shared_sockets()
        self._recommender = Recommender.from_bundle(context.artifacts["bundle"])
        from pipeline.serving.packaging import DEFAULT_EXAMPLE

        self._recommender.recommend(DEFAULT_EXAMPLE)  # first-call costs before any request

    def predict(self, context, model_input, params=None):
        import pandas as pd


        if not isinstance(model_input, pd.DataFrame):
            model_input = pd.DataFrame(model_input)
        request, explain, errors = _request(params)
        output = (params or {}).get("output") or "records"
        if output == "table":
            return self._table(model_input, explain, request, int((params or {}).get(
                "threads") or 0))
        if output != "records":
            raise RecordsRejected(f"params.output: expected 'records' or 'table', got "
                                  f"{output!r}", predictions=[])
        with _ONE_AT_A_TIME:
            items = self._items(model_input, explain, request)
        return self._results(items, errors)

    def _items(self, model_input, explain, request):
        from features.contract import RequestError

        try:
            if len(model_input) == 1:  # one patient: the record path, without the frame checks
                items = [self._recommend_one(model_input, explain, request)]
            else:
                items = self._recommender.recommend_batch(model_input, explain=explain,
                                                          errors="report", progress=False,
                                                          **request)
        except RequestError as exc:
            # request-level: unknown guideline or preferences, or no contract field at all
            # (MLflow's schema enforcement drops the rows of records without any known field)
            raise RecordsRejected(str(exc), problems=[p.to_dict() for p in exc.problems],
                                  predictions=[]) from None
        return items

    def _table(self, frame, explain: bool, request: dict, threads: int):
        """The wide columnar table of ``frame`` (see the module docstring)."""
        import contextlib

        from features.contract import RequestError
        from pipeline.recommender.bulk import recommend_table

        predictor = self._recommender.predictor
        pinned = predictor.single_threaded() if threads == 1 else contextlib.nullcontext()
        try:
            with _ONE_AT_A_TIME, pinned:
                table = recommend_table(frame, request["preferences"], request["guideline"],
                                        recommender=self._recommender, explain=explain,
                                        intervals=request["intervals"])
        except RequestError as exc:
            raise RecordsRejected(str(exc), problems=[p.to_dict() for p in exc.problems],
                                  predictions=[]) from None
        return table.wide()

    @staticmethod
    def _results(items, errors):
        from features.contract import InvalidPatientError

        results, invalid = [], []
        for row, item in enumerate(items):
            if isinstance(item, InvalidPatientError):
                invalid.append(row)
                results.append({"row": row, "ok": False,
                                "message": str(item).splitlines()[0],
                                "errors": [dict(p.to_dict(), row=row) for p in item.problems]})
            else:
                results.append({"row": row, "ok": True, "recommendation": item.to_dict()})
        if invalid and errors == "raise":
            first = results[invalid[0]]
            detail = "; ".join(f"{e['field']}: expected {e['expected']}, got {e['received']}"
                               for e in first["errors"][:5])
            raise RecordsRejected(
                f"{len(invalid)} of {len(results)} patient record(s) invalid (row "
                f"{invalid[0]}: {detail}). Every row's result, valid rows included, is in "
                "'predictions'; send params {\"errors\": \"report\"} for HTTP 200.",
                invalid_rows=invalid, predictions=results)
        return results

    def _recommend_one(self, frame, explain: bool, request: dict):
        """``recommend()`` on the only row of ``frame``: a Recommendation, or the row's
        InvalidPatientError. Equal to ``recommend_batch`` on that row (tests/serving/
        test_serving.py), without the cohort checks, frame derivation and row dicts (profiled:
        a one-patient request took 40 ms in MLflow's handler, of which recommend() 18 ms).

        Unknown columns are ignored with a warning, as the cohort path does; request-level
        problems (guideline, preferences) still raise.
        """
        import logging

        from features.contract import FIELDS, InvalidPatientError
        from pipeline.recommender.request import Preferences

        # one row as python values (DataFrame.to_dict costs ~1 ms per row; this ~0.01 ms)
        row = dict(zip(frame.columns.tolist(), frame.to_numpy(dtype=object)[0].tolist(),
                       strict=True))
        unknown = [str(k) for k in row if k not in FIELDS]
        if unknown:
            logging.getLogger("pipeline.serving.model").warning("unknown columns ignored: %s",
                                                          ", ".join(unknown))
        record = {k: v for k, v in row.items() if k in FIELDS}
        rec = self._recommender
        prefs = Preferences.parse(request["preferences"])  # request-level problems raise
        rec.ruleset(request["guideline"])
        try:
            return rec.recommend(record, prefs, request["guideline"], explain=explain,
                                 intervals=request["intervals"])
        except InvalidPatientError as exc:  # the row's problems
            return exc


mlflow.models.set_model(RecommenderModel())
