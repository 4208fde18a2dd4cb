"""The ``hcc`` command line: validate a cohort, recommend for a patient, write a report, serve.

::

    hcc validate cohort.csv [--patients-only] [--json]
    hcc recommend patient.json [--guideline NAME] [--decline MODALITY ...] [--max-cost TIER]
                               [--objective NAME] [--consider-not-indicated] [--model SOURCE]
                               [--no-explain] [--json]
    hcc recommend-batch cohort.csv -o out.jsonl [--model SOURCE] [--no-explain]
                                   [--consider-not-indicated]
    hcc recommend-batch cohort.parquet -o recs.parquet [--engine spark [--master URL]]
    hcc report patient.json -o report.html [same options as recommend]
    hcc serve [--host 127.0.0.1] [--port 5000] [--model models:/hcc-recommender@champion]
    hcc tracking-server [--host 127.0.0.1] [--port 5000] [--no-auth] ...  (a team MLflow server)

Exit codes: 0 success; 1 the cohort is rejected (more invalid rows than
``validate.max_invalid_share``) or a runtime failure (no trained model ...); 2 invalid input (the
patient record, the preferences or the command line), with every problem listed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
DEFAULT_SERVE_MODEL = "models:/hcc-recommender@champion"


# --- shared helpers ---------------------------------------------------------------------------

def _print_invalid(exc, stream=None) -> None:
    """Print an InvalidPatientError as a clear list: one line per problem."""
    stream = stream or sys.stderr
    problems = getattr(exc, "problems", ())
    print(f"error: {str(exc).splitlines()[0]}", file=stream)
    for p in problems:
        where = f"line {p.line}: " if getattr(p, "row", None) is not None else ""
        print(f"  - {where}{p.message}", file=stream)


def _read_patient(path: str) -> tuple[dict, dict]:
    """Read a patient JSON file (``-`` = stdin).

    The file is either a contract record, or ``{"patient": {...}, "preferences": {...},
    "guideline": "..."}``. Returns ``(record, request)`` where request holds the optional
    preferences and guideline found in the file.
    """
    from features.contract import InvalidPatientError, Problem

    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidPatientError([Problem("<file>", "not_json", "a JSON object (one patient)",
                                           f"invalid JSON ({exc.msg} at line {exc.lineno})",
                                           f"check {path}")]) from None
    if isinstance(data, dict) and isinstance(data.get("patient"), dict):
        request = {k: data[k] for k in ("preferences", "guideline") if k in data}
        return data["patient"], request
    return data, {}


def _preferences(args, request: dict) -> dict | None:
    prefs = dict(request.get("preferences") or {})
    if args.decline:
        prefs["excluded_modalities"] = list(prefs.get("excluded_modalities", [])) + args.decline
    if args.max_cost:
        prefs["max_cost_tier"] = args.max_cost
    if args.objective:
        prefs["objective"] = args.objective
    if getattr(args, "consider_not_indicated", False):
        prefs["consider_not_indicated"] = True
    return prefs or None


def _add_request_options(p: argparse.ArgumentParser) -> None:
    from features.contract import COST_TIERS, MODALITIES

    p.add_argument("patient", help="patient record as JSON (a contract record; '-' = stdin)")
    p.add_argument("--guideline", help="rule set of the safety layer, e.g. cnlc-2024, bclc-2022")
    p.add_argument("--decline", nargs="+", metavar="MODALITY", default=[],
                   help=f"modalities the patient declines ({', '.join(MODALITIES)})")
    p.add_argument("--max-cost", choices=COST_TIERS, help="highest cost tier the patient accepts")
    p.add_argument("--objective", help="rmst24 (default from params.yaml), surv12, surv24, "
                   "median_os")
    _add_consider(p)
    p.add_argument("--model", help="bundle directory or MLflow model URI (default: the bundle "
                   "of the last local `dvc repro`, data/artifacts/recommender)")


def _add_consider(p: argparse.ArgumentParser) -> None:
    p.add_argument("--consider-not-indicated", action="store_true",
                   help="also consider modalities the guideline does not indicate for the "
                   "patient (default: never recommended; forbidden ones never are)")


def _load(model):
    """The recommender of ``--model``, saying on stderr which one (stdout stays the output)."""
    from pipeline.recommender.api import describe_loaded, load_recommender

    recommender = load_recommender(model)
    print(f"hcc: using {describe_loaded(model)}", file=sys.stderr)
    return recommender


def _recommend_one(args):

    record, request = _read_patient(args.patient)
    recommender = _load(args.model)
    return recommender.recommend(record, preferences=_preferences(args, request),
                                 guideline=args.guideline or request.get("guideline"),
                                 explain=not getattr(args, "no_explain", False))


# --- commands ---------------------------------------------------------------------------------

def cmd_validate(args) -> int:
    from features.contract import validate_cohort
    from pipeline.io import read_cohort

    share = args.max_invalid_share
    if share is None:
        share = _max_invalid_share(args.params)
    frame = read_cohort(args.cohort)
    outcomes = not args.patients_only
    result = validate_cohort(frame, require_outcomes=outcomes, require_id=outcomes)
    report = dict(result.report, max_invalid_share=share)
    rejected = report["n_rows"] == 0 or result.invalid_share > share
    report["accepted"] = not rejected
    if args.json:
        report["problems"] = [dict(p.to_dict(), line=p.line) for p in result.problems[: args.show]]
        print(json.dumps(report, indent=2))
    else:
        print(format_validation(report, result.problems, args.show))
    return EXIT_FAILED if rejected else EXIT_OK


def _max_invalid_share(params_path: str | None) -> float:
    """``validate.max_invalid_share`` from params.yaml (the project directory's by default, see
    :func:`pipeline.config.project_root`)."""
    from pipeline.config import build, project_root, read_yaml
    from pipeline.io import ValidateParams

    path = Path(params_path) if params_path else project_root() / "params.yaml"
    return build(ValidateParams, read_yaml(path)["validate"], "validate").max_invalid_share


def format_validation(report: dict, problems, show: int = 20) -> str:
    """Human-readable validation report: rows by the line the user sees in the file or a
    spreadsheet (header = line 1, first patient = line 2); never an identifier."""
    verdict = "ACCEPTED" if report["accepted"] else "REJECTED"
    lines = [
        f"{verdict}: {report['n_valid']} of {report['n_rows']} rows valid, "
        f"{report['n_invalid']} invalid ({100 * report['invalid_share']:.1f}%; limit "
        f"{100 * report['max_invalid_share']:.1f}%)",
    ]
    if report["problems_by_field"]:
        lines.append("problems by field:")
        for field, reasons in report["problems_by_field"].items():
            text = ", ".join(f"{r} x{c}" for r, c in reasons.items())
            lines.append(f"  {field:<28} {text}")
    if report["extra_columns"]:
        meant = report.get("column_suggestions", {})
        lines.append("unknown columns (kept aside, not used): " + ", ".join(
            f"{c} (did you mean '{meant[c]}'?)" if c in meant else c
            for c in report["extra_columns"]))
    if problems:
        lines.append(f"first {min(show, len(problems))} of {len(problems)} problems "
                     "(line = the line in the file; the header is line 1):")
        for p in list(problems)[:show]:
            where = "all rows" if p.row is None else f"line {p.line}"
            lines.append(f"  - {where}: {p.message}")
    return "\n".join(lines)


def cmd_recommend(args) -> int:
    rec = _recommend_one(args)
    if args.json:
        print(json.dumps(rec.to_dict(), indent=2))
    else:
        from pipeline.serving.report import format_table

        print(format_table(rec))
    return EXIT_OK


def cmd_report(args) -> int:
    from pipeline.serving.report import write_report

    rec = _recommend_one(args)
    write_report(rec, args.output)
    print(f"report written to {args.output}")
    return EXIT_OK


def cmd_recommend_batch(args) -> int:
    if args.engine == "spark" or str(args.output).endswith(".parquet"):
        return _recommend_table(args)
    from pipeline.io import read_cohort

    frame = read_cohort(args.cohort)
    prefs = _preferences(args, {})
    results = _load(args.model).recommend_batch(
        frame, preferences=prefs, guideline=args.guideline, explain=not args.no_explain,
        intervals=not args.no_intervals, errors="report", progress=True)
    n_bad = 0
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as fh:
        for row, item in enumerate(results):
            if isinstance(item, Exception):
                n_bad += 1
                line = {"row": row, "line": row + 2, "ok": False, **item.to_dict()}
            else:
                line = {"row": row, "line": row + 2, "ok": True,
                        "recommendation": item.to_dict()}
            fh.write(json.dumps(line) + "\n")
    print(f"{len(results) - n_bad} recommendations and {n_bad} invalid rows written to {out}")
    return EXIT_OK if n_bad == 0 else EXIT_INVALID


def _recommend_table(args) -> int:
    """``recommend-batch ... -o out.parquet``: the columnar table (one row per input row,
    ``<modality>__<measure>`` columns), by pandas or by Spark (``--engine spark``)."""
    from features.contract import InvalidPatientError, Problem

    if not str(args.output).endswith(".parquet"):
        raise InvalidPatientError([Problem("--output", "invalid_option", "a .parquet path with "
                                           "--engine spark", repr(args.output))],
                                  context="command line")
    prefs = _preferences(args, {})
    options = {"explain": not args.no_explain, "intervals": not args.no_intervals}
    if args.engine == "spark":
        from pipeline.serving.spark import recommend_files

        model = args.model or DEFAULT_SERVE_MODEL
        print(f"hcc: scoring {args.cohort} with Spark ({args.master or 'local[2]'}), model "
              f"{model}", file=sys.stderr)
        counts = recommend_files(args.cohort, args.output, model, args.master, args.guideline,
                                 prefs, **options)
        n_ok, n_bad = counts["valid"], counts["invalid"]
    else:
        from pipeline.io import read_cohort, write_frame
        from pipeline.recommender.bulk import recommend_table

        table = recommend_table(read_cohort(args.cohort), prefs, args.guideline,
                                recommender=_load(args.model), **options)
        write_frame(args.output, table.wide())
        n_bad = int((~table.patients["ok"]).sum())
        n_ok = len(table.patients) - n_bad
    print(f"{n_ok} recommendations and {n_bad} invalid rows (ok = false, with their errors) "
          f"written to {args.output}")
    return EXIT_OK if n_bad == 0 else EXIT_INVALID


def serve_command(model: str, port: int, host: str = "127.0.0.1", workers: int = 1) -> list[str]:
    """The command line of the REST server for ``model`` (:mod:`pipeline.serving.rest`: MLflow's
    scoring server behind the request guard, in this interpreter's environment).

    ``workers`` uvicorn processes answer requests in parallel (one model copy each).
    """
    return [sys.executable, "-m", "pipeline.serving.rest", "--model", str(model), "--host", host,
            "--port", str(int(port)), "--workers", str(int(workers))]


def cmd_serve(args) -> int:
    """Serve the model on ``--host`` (127.0.0.1 by default; any other address needs a bearer
    token: :mod:`pipeline.serving.access`); Ctrl-C, SIGTERM or SIGHUP stop the server and every
    worker (:mod:`pipeline.serving.supervise`)."""
    from pipeline import tracking
    from pipeline.serving.access import TokenError, token_for_host
    from pipeline.serving.supervise import run_server

    try:
        token = token_for_host(args.host)
    except TokenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    env = dict(os.environ)
    # models:/ URIs resolve against the project's tracking store unless one is configured
    env.setdefault("MLFLOW_TRACKING_URI", tracking.tracking_uri())
    cmd = serve_command(args.model, args.port, host=args.host, workers=args.workers)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"serving {args.model} on http://{shown}:{args.port}/invocations "
          f"({'bearer token required' if token else 'no token: this machine only'}; tracking "
          f"store {tracking.redact_uri(env['MLFLOW_TRACKING_URI'])})", file=sys.stderr)
    return run_server(cmd, env)


# --- parser -----------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hcc", description="Individualised treatment recommendation for hepatocellular "
        "carcinoma. Decision support for the multidisciplinary team; it does not replace it.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check a cohort file against the patient contract")
    p.add_argument("cohort", help="CSV or Parquet file, one row per patient")
    p.add_argument("--patients-only", action="store_true",
                   help="patient fields only (no outcomes, patient_id optional): a cohort to "
                   "recommend for rather than to train on")
    p.add_argument("--max-invalid-share", type=float, default=None,
                   help="reject above this share of invalid rows (default: params.yaml "
                   "validate.max_invalid_share)")
    p.add_argument("--params", help="params file (default: params.yaml at the repository root)")
    p.add_argument("--show", type=int, default=20, help="problems to list (default 20)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("recommend", help="recommend a treatment for one patient")
    _add_request_options(p)
    p.add_argument("--no-explain", action="store_true", help="skip the SHAP explanations")
    p.add_argument("--json", action="store_true", help="print the full recommendation as JSON")
    p.set_defaults(func=cmd_recommend)

    p = sub.add_parser("report", help="write a self-contained HTML report for one patient")
    _add_request_options(p)
    p.add_argument("-o", "--output", required=True, help="HTML file to write")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("recommend-batch", help="recommend for every row of a cohort file")
    p.add_argument("cohort", help="CSV or Parquet file of contract patient rows")
    p.add_argument("-o", "--output", required=True,
                   help="JSON-lines file, one line per row; a .parquet path writes the columnar "
                   "table (one row per input row, typed <modality>__<measure> columns)")
    p.add_argument("--guideline", help="rule set name")
    p.add_argument("--decline", nargs="+", metavar="MODALITY", default=[])
    p.add_argument("--max-cost", choices=("low", "middle", "high"))
    p.add_argument("--objective")
    _add_consider(p)
    p.add_argument("--model", help="bundle directory or MLflow model URI")
    p.add_argument("--no-explain", action="store_true", help="skip SHAP (much faster)")
    p.add_argument("--no-intervals", action="store_true",
                   help="skip the bootstrap RMST intervals (faster)")
    p.add_argument("--engine", choices=("pandas", "spark"), default="pandas",
                   help="spark: score the registered model on a Spark session (output: a "
                   "Parquet directory written by the executors; --model default "
                   f"{DEFAULT_SERVE_MODEL})")
    p.add_argument("--master", help="Spark master URL (default local[2]: this machine)")
    p.set_defaults(func=cmd_recommend_batch)

    p = sub.add_parser("serve", help="serve the REST endpoint on 127.0.0.1 (MLflow's scoring "
                       "server behind a request guard)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only); any other "
                   "address needs a bearer token in HCC_SERVE_TOKEN or HCC_SERVE_TOKEN_FILE")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="uvicorn worker processes (default: one per core)")
    p.add_argument("--model", default=DEFAULT_SERVE_MODEL,
                   help=f"MLflow model URI (default {DEFAULT_SERVE_MODEL})")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("tracking-server", help="the team's MLflow tracking server: PostgreSQL "
                       "backend, served artifacts, users and permissions (make server)")
    from pipeline.serving import tracking_server

    tracking_server.add_arguments(p)
    p.set_defaults(func=tracking_server.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hcc`` console script; returns the exit code."""
    from features.contract import RequestError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RequestError as exc:  # an invalid patient, guideline name or preference
        _print_invalid(exc)
        return EXIT_INVALID
    except (FileNotFoundError, IsADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ValueError as exc:  # BundleError, ParamsError, RuleSetError: messages carry the fix
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # `hcc ... | head`: the reader left; no traceback, quiet exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's final flush must not fail again
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
