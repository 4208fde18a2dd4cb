"""``make bench``: latency, throughput, memory, scale, REST and ``dvc repro`` benchmarks.

Usage::

    python -m benchmarks.run                       # every section (about 20-30 min on 2 cores)
    python -m benchmarks.run --only latency,batch  # some sections
    python -m benchmarks.run --quick               # smaller sizes (a few minutes)

Sections: ``latency`` (``recommend()`` for one patient), ``batch`` (``recommend_batch``
throughput and peak memory at 1k / 10k / 100k patients), ``bulk`` (the columnar
``recommend_table`` at 100k patients without SHAP, with intervals, with SHAP, beside the xgboost
floor; Spark local[2] scoring of the pyfunc model at 100k and 1M patients), ``train`` (training + factual
evaluation time and peak memory at 5k / 20k / 100k patients), ``rest`` (the ``hcc serve`` server
under 8 concurrent clients for 20 s), ``repro`` (``dvc repro --force`` of the default pipeline in
a scratch copy). Heavy measurements run in fresh child processes.

Results go to ``data/reports/bench.json`` (``bench-quick.json`` with ``--quick``), written
atomically; sections not run keep their previous results (each section carries its own date,
machine and versions). The end of the output is a table of every figure and the targets, each
"met", "MISSED" or "n/a" (not measured at the target's size). A figure that could not be measured
is reported as an error or a labelled estimate, never as a number it is not.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.bench_common import ROOT, environment

SECTIONS = ("latency", "batch", "bulk", "train", "rest", "repro")
DEFAULT_BUNDLE = "data/artifacts/recommender"
TARGETS = (
    # (key, description, comparison, limit, unit)
    ("latency_shap_median", "recommend() with SHAP: median latency", "<=", 25.0, "ms"),
    ("batch_10k_no_shap", "recommend_batch 10k, no SHAP (intervals on: the default)", ">=",
     5000.0, "patients/s"),
    ("batch_10k_no_shap_no_intervals", "recommend_batch 10k, no SHAP, no intervals", ">=",
     5000.0, "patients/s"),
    ("batch_10k_shap", "recommend_batch 10k with SHAP", ">=", 500.0, "patients/s"),
    ("bulk_100k_plain", "recommend_table 100k, no SHAP, no intervals (2 cores)", ">=",
     20000.0, "patients/s"),
    ("bulk_100k_intervals", "recommend_table 100k with intervals", ">=", 5000.0, "patients/s"),
    ("bulk_100k_shap", "recommend_table 100k with SHAP", ">=", 1000.0, "patients/s"),
    ("spark_1m_vs_pandas", "Spark local[2] 1M / recommend_table 100k, per core", ">=", 0.5,
     "ratio"),
    ("rest_p99", "REST p99 latency, 8 concurrent clients", "<=", 250.0, "ms"),
    ("rest_errors", "REST errors, 8 concurrent clients", "<=", 0.0, "errors"),
    ("repro_wall", "dvc repro --force, default cohort", "<=", 300.0, "s"),
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default=",".join(SECTIONS),
                   help=f"comma-separated sections (default: all of {', '.join(SECTIONS)})")
    p.add_argument("--quick", action="store_true", help="smaller sizes (targets then n/a)")
    p.add_argument("--bundle", default=DEFAULT_BUNDLE,
                   help="trained bundle directory (default: the pipeline's)")
    p.add_argument("--out", default=None, help="results JSON (default data/reports/bench.json, "
                   "bench-quick.json with --quick)")
    p.add_argument("--seed", type=int, default=20261130, help="seed of the simulated patients")
    p.add_argument("--no-profile", action="store_true",
                   help="skip the cProfile runs of the latency and batch sections")
    p.add_argument("--batch-budget", type=float, default=300.0,
                   help="seconds allowed for the 100k recommend_batch run with SHAP (predicted "
                   "from the 10k run; skipped, with the reason, above it)")
    p.add_argument("--train-budget", type=float, default=300.0,
                   help="seconds allowed for training + evaluation at 100k patients (predicted "
                   "from the smaller sizes; above it a reduced setting is measured)")
    p.add_argument("--rest-clients", type=int, default=8)
    p.add_argument("--rest-seconds", type=float, default=20.0)
    p.add_argument("--table", action="store_true",
                   help="run nothing: print the table of the results file (with --markdown: "
                   "as a Markdown table, for the README)")
    p.add_argument("--markdown", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--rest-workers", type=int, default=None,
                   help="uvicorn workers (default: one per core, as `hcc serve`)")
    return p


# --- sections ---------------------------------------------------------------------------------

def run_section(name: str, args) -> dict:
    bundle = str((ROOT / args.bundle).resolve()) if not Path(args.bundle).is_absolute() \
        else args.bundle
    if name in ("latency", "batch", "bulk", "rest") and not (Path(bundle) / "settings.json").is_file():
        return {"error": f"no trained bundle at {bundle}: run `make run` (dvc repro) first"}
    if name == "latency":
        from benchmarks.bench_common import run_child

        cfg = {"bundle": bundle, "seed": args.seed, "profile": not args.no_profile,
               "warmup": 10 if args.quick else 30, "timed": 50 if args.quick else 200}
        out = run_child("benchmarks.bench_latency", cfg, timeout=1800)
        if "modes" in out:
            for mode, s in out["modes"].items():
                print(f"  latency {mode}: median {s['median_ms']} ms, p95 {s['p95_ms']} ms",
                      flush=True)
        return out
    if name == "batch":
        from benchmarks import bench_batch

        return bench_batch.run(bundle, args.quick, args.seed, args.batch_budget,
                               not args.no_profile)
    if name == "bulk":
        from benchmarks import bench_bulk

        return bench_bulk.run(bundle, args.quick, args.seed)
    if name == "train":
        from benchmarks import bench_train

        return bench_train.run(args.quick, args.seed, args.train_budget)
    if name == "rest":
        from benchmarks import bench_rest

        return bench_rest.run(bundle, args.quick, args.seed, args.rest_clients,
                              args.rest_seconds, args.rest_workers)
    from benchmarks import bench_repro

    return bench_repro.run(args.quick)


# --- targets and table ------------------------------------------------------------------------

def _batch(sections: dict, n: int, explain: bool, intervals: bool) -> dict | None:
    for r in (sections.get("batch") or {}).get("runs", []):
        if r.get("n") == n and r.get("explain") == explain and r.get("intervals") == intervals \
                and "error" not in r:
            return r
    return None


def target_values(sections: dict) -> dict:
    """Measured value of every target (None when not measured at the target's size)."""
    vals: dict = dict.fromkeys(t[0] for t in TARGETS)
    lat = (sections.get("latency") or {}).get("modes", {})
    if "shap" in lat:
        vals["latency_shap_median"] = lat["shap"]["median_ms"]
    for key, explain, intervals in (("batch_10k_no_shap", False, True),
                                    ("batch_10k_no_shap_no_intervals", False, False),
                                    ("batch_10k_shap", True, True)):
        r = _batch(sections, 10_000, explain, intervals)
        vals[key] = r["patients_per_second"] if r else None
    bulk = sections.get("bulk") or {}
    for key, explain, intervals in (("bulk_100k_plain", False, False),
                                    ("bulk_100k_intervals", False, True),
                                    ("bulk_100k_shap", True, False)):
        r = next((r for r in bulk.get("pandas", []) if r.get("n") == 100_000 and "error" not in r
                  and r.get("explain") == explain and r.get("intervals") == intervals), None)
        vals[key] = r["patients_per_second"] if r else None
    spark_1m = next((r for r in bulk.get("spark", []) if r.get("n") == 1_000_000
                     and "error" not in r), None)
    if spark_1m and vals["bulk_100k_plain"]:
        vals["spark_1m_vs_pandas"] = round(spark_1m["patients_per_second"]
                                           / vals["bulk_100k_plain"], 3)
    rest = (sections.get("rest") or {}).get("concurrent")
    if rest and rest.get("clients") == 8 and rest.get("n"):
        vals["rest_p99"] = rest["p99_ms"]
        vals["rest_errors"] = rest["errors"] + rest.get("hung_clients", 0)
    repro = sections.get("repro") or {}
    if "error" not in repro and repro.get("wall_seconds") and not repro.get("quick"):
        vals["repro_wall"] = repro["wall_seconds"]
    return vals


def targets(sections: dict) -> list[dict]:
    vals = target_values(sections)
    out = []
    for key, desc, op, limit, unit in TARGETS:
        v = vals[key]
        status = "n/a" if v is None else (
            "met" if (v <= limit if op == "<=" else v >= limit) else "MISSED")
        out.append({"key": key, "target": f"{desc} {op} {limit:g} {unit}", "value": v,
                    "unit": unit, "status": status})
    return out


def table_rows(sections: dict) -> list[tuple[str, str, str]]:
    """(section, measurement, figure) rows of every measured figure."""
    rows: list[tuple[str, str, str]] = []
    lat = sections.get("latency") or {}
    if "modes" in lat:
        rows.append(("latency", "bundle load (cold)", f"{lat['load_seconds']:.2f} s"))
        for mode, s in lat["modes"].items():
            rows.append(("latency", f"recommend() {mode} (n={s['n']})",
                         f"median {s['median_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms"))
    elif lat.get("error"):
        rows.append(("latency", "error", lat["error"][:80]))
    for r in (sections.get("batch") or {}).get("runs", []):
        what = (f"recommend_batch n={r['n']:,} " + ("SHAP" if r.get("explain") else "no SHAP")
                + ("" if r.get("intervals") else ", no intervals"))
        rows.append(("batch", what, f"ERROR {r['error'][:60]}" if "error" in r else
                     f"{r['patients_per_second']:,.0f} patients/s ({r['seconds']:.1f} s), "
                     f"peak RSS {r['peak_rss_mib']:,.0f} MiB (+{r['peak_increase_mib']:,.0f})"))
    for note in (sections.get("batch") or {}).get("notes", []):
        rows.append(("batch", "note", note))
    rows.extend(bulk_rows(sections.get("bulk") or {}))
    train = sections.get("train") or {}
    for r in train.get("runs", []):
        setting = "params.yaml" if not r.get("overrides") else "REDUCED " + ",".join(
            f"{k}={v}" for k, v in r["overrides"].items())
        if "error" in r:
            rows.append(("train", f"n={r['n']:,} ({setting})", f"ERROR {r['error'][:60]}"))
            continue
        ph = r["phases"]
        rows.append(("train", f"n={r['n']:,} train ({setting})",
                     f"{ph['train']['seconds']:.1f} s, peak RSS "
                     f"{ph['train']['peak_rss_mib']:,.0f} MiB"))
        rows.append(("train", f"n={r['n']:,} factual evaluation (30%)",
                     f"{ph['evaluate']['seconds']:.1f} s, peak RSS "
                     f"{ph['evaluate']['peak_rss_mib']:,.0f} MiB"))
    ext = train.get("extrapolated_full_setting")
    if ext and any(r.get("overrides") for r in train.get("runs", [])):
        rows.append(("train", f"n={ext['n']:,} params.yaml: EXTRAPOLATED",
                     f"~{ext['train_evaluate_seconds']:.0f} s train+evaluate (t ~ n^"
                     f"{ext['exponent']:.2f}, not measured)"))
    rest = sections.get("rest") or {}
    if rest.get("error"):
        rows.append(("rest", "error", rest["error"][:80]))
    for phase in ("sequential", "concurrent"):
        s = rest.get(phase)
        if s and s.get("n"):
            rows.append(("rest", f"{s['clients']} client(s), {s['seconds']:.0f} s",
                         f"median {s['median_ms']:.0f} ms, p99 {s['p99_ms']:.0f} ms, "
                         f"{s['ok_requests_per_second']:.1f} req/s, errors {s['errors']}"))
    repro = sections.get("repro") or {}
    if repro.get("wall_seconds"):
        label = "dvc repro --force" + (" (QUICK cohort)" if repro.get("quick") else "")
        rows.append(("repro", f"{label}, n={repro['cohort_n']:,}",
                     f"{repro['wall_seconds']:.0f} s" + ("" if repro.get("returncode") == 0
                                                        else " (FAILED)")))
    elif repro.get("error"):
        rows.append(("repro", "error", repro["error"][-80:]))
    return rows


def bulk_rows(bulk: dict) -> list[tuple[str, str, str]]:
    """Table rows of the ``bulk`` section (columnar tables and Spark)."""
    rows = []
    for r in bulk.get("pandas", []):
        what = (f"recommend_table n={r['n']:,} " + ("SHAP" if r.get("explain") else "no SHAP")
                + (", intervals" if r.get("intervals") else ", no intervals"))
        rows.append(("bulk", what, f"ERROR {r['error'][:60]}" if "error" in r else
                     f"{r['patients_per_second']:,.0f} patients/s ({r['seconds']:.1f} s), "
                     f"peak RSS {r['peak_rss_mib']:,.0f} MiB (+{r['peak_increase_mib']:,.0f})"))
        if "error" not in r:
            ph = r["phases_seconds"]
            rows.append(("bulk", f"  its phases on {r['phases_rows']:,} rows",
                         ", ".join(f"{k} {v:.2f} s" for k, v in ph.items())
                         + f"; xgboost floor {r['xgboost_floor_patients_per_second']:,.0f}"
                         " patients/s"))
    for r in bulk.get("spark", []):
        rows.append(("bulk", f"Spark local[2] n={r.get('n', 0):,}",
                     f"ERROR {r['error'][:60]}" if "error" in r else
                     f"{r['patients_per_second']:,.0f} patients/s ({r['seconds']:.1f} s, "
                     f"{r['partitions']} partitions), peak RSS of driver + JVM + workers "
                     f"{r['peak_tree_rss_mib']:,.0f} MiB"))
    sizes = [r["n"] for r in bulk.get("spark", []) if "error" not in r]
    if bulk.get("spark_scaling") is not None and len(sizes) == 2:
        rows.append(("bulk", f"Spark throughput at n={sizes[1]:,} / at n={sizes[0]:,}",
                     f"{bulk['spark_scaling']:.2f}"))
    return rows


def print_table(sections: dict, target_list: list[dict], env: dict) -> None:
    print("\n" + "=" * 100)
    print(f"hcc-recommender benchmarks  {env['date']}  {env['cpu_count']} cores "
          f"({env['cpu_model']}), {env['memory_total_mib'] / 1024:.1f} GiB RAM, python "
          f"{env['python']}, numpy {env['numpy']}, xgboost {env['xgboost']}")
    print("-" * 100)
    for section, what, figure in table_rows(sections):
        print(f"{section:<8} {what:<48} {figure}")
    print("-" * 100)
    for t in target_list:
        value = "-" if t["value"] is None else f"{t['value']:g}"
        print(f"{t['status']:<7} {t['target']:<78} {value}")
    print("=" * 100)


def print_profiles(sections: dict, target_list: list[dict], limit: int = 8) -> None:
    missed = {t["key"] for t in target_list if t["status"] == "MISSED"}
    profiles = []
    if "latency_shap_median" in missed:
        profiles.append(("recommend() with SHAP, 50 calls",
                         (sections.get("latency") or {}).get("profile_shap_50_calls")))
    batch_prof = (sections.get("batch") or {}).get("profile") or {}
    if missed & {"batch_10k_no_shap", "batch_10k_no_shap_no_intervals"}:
        profiles.append(("recommend_batch no SHAP", (batch_prof.get("no_shap") or {}).get(
            "profile")))
    if "batch_10k_shap" in missed:
        profiles.append(("recommend_batch SHAP", (batch_prof.get("shap") or {}).get("profile")))
    for title, prof in profiles:
        if not prof:
            continue
        print(f"\nprofile of a missed target: {title} ({prof['total_s']} s under cProfile), "
              "top functions by own time")
        for row in prof["by_own_time"][:limit]:
            print(f"  {row['own_s']:>8.3f} s  {100 * (row['own_share'] or 0):5.1f}%  "
                  f"{row['calls']:>8}  {row['function']}")


def markdown_table(sections: dict, target_list: list[dict]) -> str:
    """The results as Markdown (the README's "latest measured" table)."""
    lines = ["| section | measurement | figure | measured at (load average 1/5/15 min) |",
             "|---|---|---|---|"]
    for section, what, figure in table_rows(sections):
        env = (sections.get(section) or {}).get("env") or {}
        when = f"{env.get('date', '?')} ({', '.join(map(str, env.get('load_average_1_5_15', [])))})"
        lines.append(f"| {section} | {what} | {figure} | {when} |")
    lines += ["", "| target | measured | status |", "|---|---|---|"]
    for t in target_list:
        value = "-" if t["value"] is None else f"{t['value']:g} {t['unit']}"
        lines.append(f"| {t['target']} | {value} | {t['status']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from pipeline import io

    args = _parser().parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        print(f"--only: unknown section(s) {', '.join(unknown)}; expected some of "
              f"{', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    out_path = ROOT / (args.out or ("data/reports/bench-quick.json" if args.quick
                                    else "data/reports/bench.json"))
    previous = {}
    if out_path.is_file():
        try:
            previous = json.loads(out_path.read_text()).get("sections", {})
        except (json.JSONDecodeError, AttributeError):
            previous = {}
    sections = dict(previous)
    if args.table:
        if not sections:
            print(f"no results in {out_path}", file=sys.stderr)
            return 1
        target_list = targets(sections)
        if args.markdown:
            print(markdown_table(sections, target_list))
        else:
            print_table(sections, target_list, (sections[next(iter(sections))].get("env")
                                                 or environment()))
        return 0
    env = environment()
    print(f"benchmarks: {', '.join(chosen)}{' (quick)' if args.quick else ''}; "
          f"{env['cpu_count']} cores, load average {env['load_average_1_5_15']}", flush=True)
    for name in chosen:
        print(f"[{name}]", flush=True)
        t0 = time.perf_counter()
        result = run_section(name, args)
        result["section_seconds"] = round(time.perf_counter() - t0, 1)
        result.setdefault("env", environment())
        sections[name] = result
        # write after every section: a long run interrupted later keeps what it measured
        io.write_json(out_path, {"latest_run": {"env": env, "sections": chosen,
                                                "quick": args.quick},
                                 "sections": sections, "targets": targets(sections)})
    target_list = targets(sections)
    io.write_json(out_path, {"latest_run": {"env": env, "sections": chosen, "quick": args.quick},
                             "sections": sections, "targets": target_list})
    print_table(sections, target_list, env)
    print_profiles(sections, target_list)
    shown = out_path.relative_to(ROOT) if out_path.is_relative_to(ROOT) else out_path
    print(f"\nwritten: {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
