"""The DVC views a data scientist opens, on a scratch repository with small report files.

`dvc metrics show` fits a terminal (the headline file is the only DVC metric); `dvc plots show`
and `dvc plots diff` render every plot dvc.yaml declares from the data evaluate writes, from
scripts inlined in the page (no CDN), and a comparison shows both revisions; `make exp`'s filter
keeps `dvc exp show` to the headline metrics, data.source and what differs. Where node is
installed, the page's own Vega renders every plot to SVG (a headless check of the specs).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline.evaluation import plots
from pipeline.stages.evaluate import COMPACT_KEYS, compact_headline

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DVC_YAML = yaml.safe_load((ROOT / "dvc.yaml").read_text())
PLOT_IDS = [next(iter(p)) for p in DVC_YAML["plots"]]
HEADLINE = {  # evaluate's headline dict, as on the synthetic cohort
    "uno_c_index": 0.806246235463734, "harrell_c_index": 0.8004131388386762,
    "integrated_brier_score": 0.1359098038469276, "calibration_slope_12m": 0.9626132410125675,
    "oracle_uno_c_index": 0.8106791717045853, "gain_captured": 0.7235003687207126,
    "regret_months": 0.5143091661319517, "guideline_gain_captured": 0.5720377702196038,
    "pehe_rmst24": 2.5509340805297467, "forbidden_recommendations": 0,
}


def _run(cmd, cwd, **extra):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", DVC_NO_ANALYTICS="1",
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.org", **extra)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
    return proc.stdout


def _write_reports(reports: Path, shift: float = 0.0) -> None:
    """Small plot data and the headline file, through the functions evaluate uses."""
    rng = np.random.default_rng(0)
    predicted = np.linspace(0.05, 0.95, 10)
    calibration = pd.DataFrame({"bin": range(10), "n": 50, "events": 30, "predicted": predicted,
                                "observed": np.clip(predicted + shift + rng.normal(0, .03, 10),
                                                    0, 1)})
    km = []
    for group, rate in (("low", 0.02), ("intermediate", 0.06), ("high", 0.15)):
        months = np.sort(rng.exponential(1 / rate, 40))
        km += [{"group": group, "months": float(m), "survival": float(np.exp(-rate * m) - shift)}
               for m in months]
    importance = pd.Series({"cnlc_stage": 0.45, "pvtt": 0.16 + shift, "ecog": 0.12,
                            "albi_score": 0.09})
    policy = {"oracle": 16.0, "model": 15.5 - shift, "observed": 14.1, "guideline": 15.2}
    plots.write_plot_data(reports / "plot_data", calibration=calibration, calibration_month=12,
                          km=km, auc={6.0: 0.88, 12.0: 0.87 - shift, 24.0: 0.87},
                          importance=importance, unit="log hazard ratio", policy_values=policy)
    headline = dict(HEADLINE, uno_c_index=HEADLINE["uno_c_index"] - shift)
    (reports / "headline.json").write_text(json.dumps(compact_headline(headline, 4200, 1800)))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """git + DVC scratch repository: the project's dvc.yaml, .dvc (config, plot templates, the
    offline page), params files and small reports, committed."""
    work = tmp_path_factory.mktemp("dvcviews")
    for name in ("dvc.yaml", "params.yaml", ".dvcignore", ".gitignore"):
        shutil.copy(ROOT / name, work / name)
    shutil.copytree(ROOT / ".dvc", work / ".dvc", ignore=shutil.ignore_patterns("tmp", "cache"))
    (work / "pipeline/simulation").mkdir(parents=True)
    shutil.copy(ROOT / "pipeline/simulation/calibration.yaml", work / "pipeline/simulation")
    _write_reports(work / "data/reports")
    _run(["git", "init", "-q"], work)
    _run(["git", "add", "-A"], work)
    _run(["git", "commit", "-qm", "baseline"], work)
    return work


def test_metrics_show_fits_a_terminal(repo):
    out = _run(["dvc", "metrics", "show"], repo)
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 2, out  # the header and the headline file
    assert max(map(len, lines)) < 150, out
    shown = json.loads(_run(["dvc", "metrics", "show", "--json"], repo))
    values = next(iter(shown.values()))["data"]["data/reports/headline.json"]["data"]
    assert set(values) == set(COMPACT_KEYS) | {"n_train", "n_test"}
    assert values["uno_c"] == 0.8062 and values["forbidden"] == 0 and values["n_test"] == 1800


def test_compact_headline_keeps_what_was_measured():
    """A user cohort has no counterfactual truth: no gain, regret or PEHE, never a zero."""
    factual = {k: v for k, v in HEADLINE.items()
               if k not in ("gain_captured", "regret_months", "pehe_rmst24")}
    out = compact_headline(factual, n_train=210, n_test=90)
    assert "gain" not in out and "regret" not in out and "pehe" not in out
    assert out["uno_c"] == 0.8062 and out["n_train"] == 210
    numpy_typed = dict(HEADLINE, uno_c_index=np.float64(0.71), forbidden_recommendations=np.int64(2),
                       calibration_slope_12m=float("nan"))
    out = compact_headline(numpy_typed, n_train=210, n_test=90)
    assert out["uno_c"] == 0.71 and out["forbidden"] == 2 and "cal_slope" not in out


def test_only_the_headline_file_is_a_dvc_metric():
    metrics = [next(iter(m)) if isinstance(m, dict) else m
               for stage in DVC_YAML["stages"].values() for m in stage.get("metrics", [])]
    assert metrics == ["data/reports/headline.json"]
    evaluate = DVC_YAML["stages"]["evaluate"]
    outs = {next(iter(o)): o[next(iter(o))] for o in evaluate["outs"] if isinstance(o, dict)}
    assert outs["data/reports/metrics.json"] == {"cache": False}  # a report file, same path
    assert "--headline data/reports/headline.json" in evaluate["cmd"]
    assert "plots" not in evaluate  # the PNGs are not DVC plots (images cannot be compared)


def test_declared_plots_read_the_files_evaluate_writes():
    files = {Path(next(iter(p[next(iter(p))]["y"]))).stem for p in DVC_YAML["plots"]}
    assert files == set(plots.PLOT_DATA_FILES)
    builtin = {"simple", "linear", "confusion", "confusion_normalized", "scatter",
               "scatter_jitter", "smooth", "bar_horizontal_sorted", "bar_horizontal"}
    for plot in DVC_YAML["plots"]:
        template = plot[next(iter(plot))]["template"]
        assert template in builtin or (ROOT / ".dvc/plots" / f"{template}.json").is_file()


def _external(page: str) -> list[str]:
    """URLs the page would fetch: script src, link href, img src, CSS @import (in the HTML,
    not in the text of the inlined scripts)."""
    html = re.sub(r"(<script\b[^>]*>).*?(</script>)", r"\1\2", page, flags=re.S | re.I)
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", html, flags=re.I)
    fetched = [m for t in tags for m in re.findall(r"(?:src|href)\s*=\s*[\"']?([^\"' >]+)", t)]
    fetched += re.findall(r"@import\s+(?:url\()?[\"']?([^\"')]+)", html)
    return [u for u in fetched if not u.startswith(("data:", "#"))]


def _specs(page: str) -> dict[str, dict]:
    return {pid: json.loads(spec) for pid, spec in re.findall(
        r'<div id = "([^"]+)">\s*<script type = "text/javascript">\s*var spec = (.*);', page)}


@pytest.fixture(scope="module")
def pages(repo):
    """The HTML of `dvc plots show` (committed data) and of `dvc plots diff HEAD` after the
    workspace's reports changed (as after `dvc exp run`)."""
    _run(["dvc", "plots", "show", "-o", "show"], repo)
    show = (repo / "show/index.html").read_text()
    _write_reports(repo / "data/reports", shift=0.05)
    _run(["dvc", "plots", "diff", "HEAD", "-o", "diff"], repo)
    diff = (repo / "diff/index.html").read_text()
    _run(["git", "checkout", "-q", "--", "data"], repo)  # back to the committed reports
    return {"show": show, "diff": diff}


@pytest.mark.parametrize("kind", ["show", "diff"])
def test_plot_pages_fetch_nothing_and_show_every_plot(pages, kind):
    page = pages[kind]
    assert _external(page) == [], "the page loads files (a CDN offline): it must be self-contained"
    assert "cdn.jsdelivr" not in page
    for lib in ("vega", "vega-lite", "vega-embed"):
        assert f"/*! {lib} " in page  # the builds inlined by tools/vendor_vega.py
    specs = _specs(page)
    assert list(specs) == PLOT_IDS
    for pid, spec in specs.items():
        assert spec.get("data", {}).get("values"), f"plot {pid} has no data"


def test_plots_diff_overlays_both_revisions(pages):
    for pid, spec in _specs(pages["diff"]).items():
        revs = {row["rev"] for row in spec["data"]["values"]}
        assert revs == {"HEAD", "workspace"}, pid
    km = _specs(pages["diff"])["km_risk_groups"]
    starts = [r for r in km["data"]["values"] if r["months"] == 0]
    assert len(starts) == 6 and all(r["survival"] == 1.0 for r in starts)  # 3 groups x 2 revs


NODE_RENDER = r"""
const fs = require('fs'), vm = require('vm');
const html = fs.readFileSync(process.argv[2], 'utf8');
const libs = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(m => m[1]);
const ctx = {console, setTimeout, clearTimeout, setInterval, clearInterval, URL, TextEncoder,
             TextDecoder, structuredClone};
ctx.self = ctx.globalThis = ctx.window = ctx;
vm.createContext(ctx);
for (const src of libs) vm.runInContext(src, ctx);
const specs = [...html.matchAll(/<div id = "([^"]+)">[\s\S]*?var spec = ([^\n]*);/g)];
(async () => {
  const out = {};
  for (const [, id, json] of specs) {
    try {
      const vg = ctx.vegaLite.compile(JSON.parse(json)).spec;
      const svg = await new ctx.vega.View(ctx.vega.parse(vg), {renderer: 'none'}).toSVG();
      out[id] = {marks: (svg.match(/<path/g) || []).length};
    } catch (e) { out[id] = {error: String(e)}; }
  }
  console.log(JSON.stringify(out));
})();
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_inlined_vega_renders_every_plot(pages, tmp_path):
    script = tmp_path / "render.js"
    script.write_text(NODE_RENDER)
    page = tmp_path / "diff.html"
    page.write_text(pages["diff"])
    proc = subprocess.run(["node", str(script), str(page)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rendered = json.loads(proc.stdout.strip().splitlines()[-1])
    assert list(rendered) == PLOT_IDS
    for pid, result in rendered.items():
        assert "error" not in result and result["marks"] >= 5, (pid, result)


def _make_var(name: str) -> str:
    match = re.search(rf"^{name} \?= (.*)$", (ROOT / "Makefile").read_text(), flags=re.M)
    return match.group(1).replace("$$", "$")


def test_make_exp_shows_headline_metrics_and_what_differs(repo):
    cmd = ["dvc", "exp", "show", "--no-pager", "--only-changed", "--keep", _make_var("EXP_KEEP"),
           "--drop", _make_var("EXP_DROP")]
    header = _run([*cmd, "--csv"], repo).splitlines()[0].split(",")
    assert header == ["Experiment", "rev", "Created", "uno_c", "ibs", "cal_slope", "gain",
                      "regret", "forbidden", "n_train", "data.source"]
    params = repo / "params.yaml"
    original = params.read_text()
    try:  # a changed param (as `dvc exp run -S split.test_size=0.25`) gets its column
        params.write_text(original.replace("test_size: 0.3", "test_size: 0.25"))
        assert "split.test_size" in _run([*cmd, "--csv"], repo).splitlines()[0].split(",")
        table = _run(cmd, repo, COLUMNS="150")
    finally:
        params.write_text(original)
    assert "uno_c" in table and "split.test_size" in table and "…" not in table
    assert max(map(len, table.splitlines())) <= 150
