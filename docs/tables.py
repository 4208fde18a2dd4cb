"""Markdown tables built from the pipeline's reports (``data/reports/*.json``) for the docs.

Used by ``docs/hooks.py``: each public function returns the Markdown of one placeholder. A
missing report raises :class:`MissingReport`, which the page shows as a notice instead of failing
the build.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "data" / "reports"
PLOTS_URI = "generated/plots"

# --- small helpers ------------------------------------------------------------------------------


class MissingReport(Exception):
    """A report file is absent: the page says so instead of failing the build."""


def _load(name: str, made_by: str) -> dict:
    path = REPORTS / name
    if not path.is_file():
        raise MissingReport(f"`data/reports/{name}` is missing: run `{made_by}` to write it, "
                            "then rebuild the docs.")
    return json.loads(path.read_text())


def metrics() -> dict:
    return _load("metrics.json", "make run")


def table(header: list[str], rows: list[list], align: str | None = None) -> str:
    """A Markdown table; ``align`` is one letter per column (l, r), default left."""
    align = align or "l" * len(header)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join("" if c is None else str(c).replace("|", "\\|") for c in row)
              + " |" for row in rows]
    return "\n".join(lines)


def num(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:,.{digits}f}"


def interval(d: dict, digits: int = 4) -> str:
    return (f"{d['estimate']:+.{digits}f} [{d['lower']:+.{digits}f}, "
            f"{d['upper']:+.{digits}f}]")


def settings_of_run() -> dict:
    """The ``train``/``evaluate`` params the last ``evaluate`` ran with (dvc.lock), else params.yaml."""
    import yaml

    lock = ROOT / "dvc.lock"
    try:
        stage = yaml.safe_load(lock.read_text())["stages"]["evaluate"]
        return stage["params"]["params.yaml"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        try:
            return yaml.safe_load((ROOT / "params.yaml").read_text()) or {}
        except (OSError, yaml.YAMLError):
            return {}


def describe_model(overrides: dict, base: dict) -> str:
    s = {**base, **overrides}
    parts = [f"{s.get('base', 'xgboost')} {s.get('learner', '?')}-learner"]
    if s.get("base", "xgboost") == "xgboost" and s.get("learner") in ("s", "ipw-s"):
        parts.append(f"{s.get('baseline', 'pooled')} baseline")
    if s.get("n_bootstrap"):
        parts.append(f"{s['n_bootstrap']} bootstrap members")
    return ", ".join(parts)


def project_module(name: str):
    """Import a module of this checkout (tables that the code defines are read, never copied)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(name)


# --- results page (data/reports/metrics.json) ---------------------------------------------------


def results_source() -> str:
    m = metrics()
    truth = ("the synthetic cohort, so the counterfactual truth is known" if m.get("has_truth")
             else "a cohort without counterfactual truth: counterfactual metrics are skipped")
    return (f"Held-out set of **{m['n_test']:,} patients** from {truth}. Source: "
            "`data/reports/metrics.json`, written by the `evaluate` stage (the same figures are "
            "in MLflow and `dvc metrics show`).")


def results_headline() -> str:
    m = metrics()
    h, peers = m["headline"], m.get("peers", {})
    others = {k: v for k, v in peers.items() if k != "ours"}
    if "oracle_uno_c_index" in h:
        rows = [["Uno's C-index (oracle: true risk)",
                 f"{num(h['uno_c_index'])} ({num(h['oracle_uno_c_index'])})",
                 "within 0.01 of the oracle",
                 _status(h["oracle_uno_c_index"] - h["uno_c_index"] <= 0.01)]]
    else:
        rows = [["Uno's C-index", num(h["uno_c_index"]), "", ""]]
    rows.append(["Harrell's C-index", num(h["harrell_c_index"]), "", ""])
    best_ibs = min(others.items(), key=lambda kv: kv[1]["ibs"]) if others else None
    ibs_status = ""
    if best_ibs:
        ibs_status = (_status(h["integrated_brier_score"] <= best_ibs[1]["ibs"])
                      + f" (best peer {best_ibs[0]}: {num(best_ibs[1]['ibs'], 4)}")
        diff = (m.get("versus_peers") or {}).get(best_ibs[0], {}).get("ibs_diff")
        if diff:
            ibs_status += f"; ours - peer {interval(diff)}"
        ibs_status += ")"
    rows.append(["integrated Brier score", num(h["integrated_brier_score"], 4),
                 "no worse than any peer", ibs_status])
    rows.append(["calibration slope at 12 months", num(h["calibration_slope_12m"], 2),
                 "1 = perfect", ""])
    resp = m.get("factual", {}).get("response")
    if resp:
        rows.append(["response AUROC / Brier", f"{num(resp['auroc'])} / {num(resp['brier'])}",
                     "", ""])
    if m.get("has_truth"):
        best_gain = max(others.items(), key=lambda kv: kv[1]["gain_captured"]) if others else None
        rows.append(["PEHE of RMST24 contrasts (months)", num(h["pehe_rmst24"], 2), "", ""])
        rows.append(["share of achievable gain captured (observed 0, oracle 1)",
                     num(h["gain_captured"]), "at least 0.70 and ahead of every peer",
                     _status(h["gain_captured"] >= 0.70 and (
                         best_gain is None or h["gain_captured"] > best_gain[1]["gain_captured"]))
                     + (f" (best peer {best_gain[0]}: {num(best_gain[1]['gain_captured'])})"
                        if best_gain else "")])
        rows.append(["guideline policy's gain captured", num(h["guideline_gain_captured"]), "",
                     ""])
        rows.append(["regret vs oracle (months of RMST24)", num(h["regret_months"], 2), "", ""])
        rows.append(["forbidden modalities recommended", h["forbidden_recommendations"], "0",
                     _status(h["forbidden_recommendations"] == 0)])
    trials = REPORTS / "trials.json"
    if trials.is_file():
        t = json.loads(trials.read_text())
        rows.append(["trial figures replicated within tolerance",
                     f"{t['n_within_tolerance']} / {t['n_figures']}", "all",
                     _status(t["n_within_tolerance"] == t["n_figures"])])
    return table(["measure (held-out set)", "value", "target", "status"], rows)


def _status(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


POLICIES = {
    "oracle": "oracle: best allowed modality by the truth",
    "model": "**recommend()**: this model, served path (rules and data-support guard)",
    "guideline": "guideline: first allowed preferred modality of the stage",
    "best_single_modality": "best single modality for everyone",
    "observed": "observed physicians' choices",
}


def results_policies() -> str:
    m = metrics()
    cf = m.get("counterfactual")
    if not cf:
        return _no_truth()
    rows = []
    for key in sorted(cf["policy_value_months"], key=lambda k: -cf["policy_value_months"][k]):
        label = POLICIES.get(key, key)
        if key == "best_single_modality":
            label += f" ({cf.get('best_single_modality', '?')})"
        rows.append([label, num(cf["policy_value_months"][key], 2),
                     num(cf["regret_months"][key], 2), num(cf["gain_captured"][key])])
    out = table(["policy", "true mean RMST24 (months)", "regret (months)", "gain captured"],
                rows, "lrrr")
    mix = cf.get("model_choice_mix") or {}
    if mix:
        total = sum(mix.values())
        out += ("\n\nWhat `recommend()` chose on the test patients (share optimal by the truth: "
                f"{num(cf.get('share_optimal'))}; forbidden modalities recommended: "
                f"{cf.get('forbidden_recommendations')}):\n\n")
        out += table(["modality", "patients", "share"],
                     [[k, v, f"{100 * v / total:.1f}%"] for k, v in
                      sorted(mix.items(), key=lambda kv: -kv[1])], "lrr")
    return out


def _no_truth() -> str:
    return ('!!! note "No counterfactual truth"\n    The last run used a cohort without '
            "counterfactual truth, so policy values and PEHE were not computed.")


def results_peers() -> str:
    m = metrics()
    peers = m.get("peers")
    if not peers:
        return "No peers in `data/reports/metrics.json` (`evaluate.peers` is empty)."
    params = settings_of_run()
    base = (params.get("train") or {}).get("outcome_model") or {}
    specs = (params.get("evaluate") or {}).get("peers") or {}
    rows = []
    for name, p in sorted(peers.items(), key=lambda kv: kv[0] != "ours"):
        model = ("ours (default): " + describe_model({}, base)) if name == "ours" else (
            f"{name}: " + describe_model(specs.get(name, {}), base))
        if "skipped" in p:
            rows.append([model, f"skipped: {p['skipped']}", "", "", "", "", "", ""])
            continue
        rows.append([model, num(p["harrell_c"]), num(p["uno_c"]),
                     num(p["ibs"], 4), num(p["mean_auc"]), num(p.get("pehe_rmst24"), 2),
                     num(p.get("policy_value"), 2), num(p.get("gain_captured"))])
    return table(["model", "Harrell C", "Uno C", "IBS", "mean AUC", "PEHE",
                  "policy RMST24", "gain captured"], rows, "lrrrrrrr")


def results_versus() -> str:
    m = metrics()
    vs = m.get("versus_peers")
    if not vs:
        return "No paired comparisons in `data/reports/metrics.json`."
    rows, any_d = [], next(iter(vs.values()))
    for name, d in vs.items():
        row = [name, interval(d["ibs_diff"]) if "ibs_diff" in d else "-"]
        row.append(interval(d["gain_diff"], 3) if "gain_diff" in d else "-")
        rows.append(row)
    first = any_d.get("ibs_diff") or any_d.get("gain_diff") or {}
    return (f"Ours minus each peer on the same test patients, with a paired "
            f"{100 * first.get('level', 0.95):.0f}% bootstrap interval "
            f"({first.get('n_boot', '?')} resamples). A negative IBS difference and a positive "
            "gain difference favour ours; an interval that excludes 0 is a clear difference.\n\n"
            + table(["peer", "IBS, ours - peer [interval]",
                     "gain captured, ours - peer [interval]"], rows, "lrr"))


def results_factual() -> str:
    m = metrics()
    f = m["factual"]
    o = f["overall"]
    times = sorted(o.get("auc", {}), key=float)
    out = table(["time (months)", "time-dependent AUC", "Brier score"],
                [[f"{float(t):g}", num(o["auc"][t]), num(o["brier"].get(t), 4)] for t in times],
                "lrr")
    cal = f.get("calibration")
    if cal:
        out += (f"\n\nCalibration at {cal['t']:g} months (predicted vs Kaplan-Meier by risk "
                f"decile): slope {num(cal['slope'], 2)}, intercept {num(cal['intercept'], 3)}, "
                f"integrated calibration index {num(cal['ici'], 3)}.")
    rmse = (m.get("counterfactual") or {}).get("rmse_rmst24", {})
    rows = [[k, v["n"], num(v["harrell_c"]), num(v["uno_c"]), num(v["ibs"], 4),
             num(rmse.get(k), 2) if rmse else "-"]
            for k, v in sorted(f["per_modality"].items(), key=lambda kv: -kv[1]["n"])]
    out += "\n\nPer received modality:\n\n" + table(
        ["modality", "test patients", "Harrell C", "Uno C", "IBS", "RMSE of RMST24 (months)"],
        rows, "lrrrrr")
    return out


def results_shap() -> str:
    s = metrics().get("shap_importance")
    if not s:
        return "No SHAP importance in `data/reports/metrics.json`."
    top = sorted(s["mean_abs"].items(), key=lambda kv: -kv[1])[:12]
    return (f"Mean absolute SHAP value per contract field or score ({s['unit']}), top "
            f"{len(top)}:\n\n" + table(["field", "mean abs SHAP"],
                                       [[f"`{k}`", num(v, 4)] for k, v in top], "lr"))


def results_trials() -> str:
    t = _load("trials.json", "make run")
    outside = [k for k, v in t["figures"].items() if not v.get("within")]
    text = (f"**{t['n_within_tolerance']} of {t['n_figures']}** published trial figures are "
            "reproduced by the simulator within their tolerances (`data/reports/trials.json`, "
            "stage `replicate_trials`; the full table is on the "
            "[synthetic cohort](simulator.md#trial-replication) page).")
    if outside:
        text += "\n\nOutside tolerance: " + "; ".join(f"`{k}`" for k in outside) + "."
    return text


def results_package() -> str:
    p = _load("package.json", "make run")
    checks = "\n".join(f"- `{c}`" for c in (p.get("gate") or {}).get("checks", []))
    moved = "moved to this version" if p.get("champion_moved") else "not moved"
    return (f"The `package` stage registered model `{p.get('model_id')}` (trained on "
            f"`{p.get('data_source')}`) as `{p.get('registered_model_name')}`; the alias "
            f"`@{p.get('alias')}` was **{moved}** (gate in `params.yaml`, section `package`):"
            f"\n\n{checks}")


def results_plots() -> str:
    names = sorted(p.name for p in (REPORTS / "plots").glob("*.png"))
    if not names:
        raise MissingReport("`data/reports/plots/` holds no plots: run `make run`.")
    return "\n\n".join(f"![{Path(n).stem.replace('_', ' ')}]({PLOTS_URI}/{n})" for n in names)


# --- simulator page (trials.json, cohort_summary.json) -------------------------------------------


def trials_table() -> str:
    t = _load("trials.json", "make run")
    rows = []
    for name, f in t["figures"].items():
        rows.append([name, f"{f['published']:.4g}", f"{f['simulated']:.3g}",
                     f"±{f['tolerance']:.3g}", "yes" if f.get("within") else "**no**",
                     f.get("source", "")])
    return (f"{t['n_within_tolerance']} of {t['n_figures']} figures within tolerance.\n\n"
            + table(["figure", "published", "simulated", "tolerance", "within", "source"],
                    rows, "lrrrll"))


def cohort_summary() -> str:
    c = _load("cohort_summary.json", "make run")
    out = (f"{c['n_patients']:,} patients (source: {c.get('source')}); deaths "
           f"{100 * c['death_share']:.1f}%, censored {100 * c['censored_share']:.1f}%, median "
           f"follow-up {c['median_followup_months']:.1f} months.\n\n")
    shares = [("received modality", "modality_share"), ("aetiology", "etiology_share"),
              ("PVTT", "pvtt_share"), ("economic status", "economic_status_share")]
    rows = []
    for label, key in shares:
        items = sorted((c.get(key) or {}).items(), key=lambda kv: -kv[1])
        rows.append([label, ", ".join(f"{'missing' if k == 'None' else k} {100 * v:.1f}%"
                                      for k, v in items)])
    return out + table(["variable", "shares"], rows)


# --- benchmarks page (data/reports/bench.json) -------------------------------------------------


def _bench() -> tuple[dict, object]:
    data = _load("bench.json", "make bench")
    return data, project_module("benchmarks.run")  # the tables of `benchmarks.run --table`


def bench_environment() -> str:
    data, _ = _bench()
    env = (data.get("latest_run") or {}).get("env") or {}
    if not env:
        return "No environment recorded in `data/reports/bench.json`."
    libs = ", ".join(f"{k} {env[k]}" for k in ("python", "numpy", "pandas", "xgboost", "shap",
                                               "scikit-learn", "mlflow", "dvc") if k in env)
    return (f"Latest run {env.get('date', '?')}: {env.get('cpu_count')} cores "
            f"({env.get('cpu_model')}), {env.get('memory_total_mib', 0) / 1024:.1f} GiB RAM; "
            f"{libs}. Each section keeps its own date and load average (below), because "
            "`python -m benchmarks.run --only ...` reruns sections separately.")


def bench_figures() -> str:
    data, run = _bench()
    sections = data.get("sections") or {}
    rows = []
    for section, what, figure in run.table_rows(sections):
        env = (sections.get(section) or {}).get("env") or {}
        load = ", ".join(map(str, env.get("load_average_1_5_15", [])))
        rows.append([section, what, figure, f"{env.get('date', '?')} ({load})"])
    return table(["section", "measurement", "figure", "measured at (load 1/5/15 min)"], rows)


def bench_targets() -> str:
    data, run = _bench()
    rows = []
    for t in run.targets(data.get("sections") or {}):
        value = "-" if t["value"] is None else f"{t['value']:g} {t['unit']}"
        status = t["status"] if t["status"] != "MISSED" else "**MISSED**"
        rows.append([t["target"], value, status])
    return table(["target", "measured", "status"], rows, "lrl")


def bench_repro() -> str:
    data, _ = _bench()
    r = (data.get("sections") or {}).get("repro") or {}
    stages = r.get("stage_seconds")
    if not stages:
        return "No `dvc repro` timing in `data/reports/bench.json` (`make bench` section repro)."
    rows = [[k, num(v, 1)] for k, v in stages.items()]
    return (f"`{r.get('command')}` on the default cohort (n={r.get('cohort_n', 0):,}): "
            f"{num(r.get('wall_seconds'), 0)} s wall, largest process peak RSS "
            f"{num(r.get('peak_rss_mib_largest_process'), 0)} MiB. Per stage:\n\n"
            + table(["stage", "seconds"], rows, "lr"))
