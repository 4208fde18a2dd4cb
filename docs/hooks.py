"""MkDocs hooks: pages generated from the reports and the code, and tidier API pages.

Generated pages. A page holds placeholders such as ``<!-- results:headline -->``; at build time
each one (alone on its line) is replaced by Markdown built from the JSON reports of the last ``make run`` /
``make bench`` (``data/reports/*.json``, tables in ``docs/tables.py``) or from the code and data
that define them (the contract, the derived columns, the rule files), so no figure or reference
table on the site is pasted by hand. The known placeholders are the keys of :data:`GENERATORS`;
an unknown one is a build warning (an error under ``mkdocs build --strict``). A missing report
file is not an error: the page says which file is missing and which command writes it. The
plots of ``data/reports/plots/`` are added to the site as ``generated/plots/*.png``.

API pages. The docstrings use Sphinx roles (``:func:`recommend```); mkdocstrings renders the
role as text, so the role is dropped here, and a fully qualified name becomes an optional
cross-reference (a link when that object is documented on the site, plain code otherwise).
"""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.generated")

PLACEHOLDER = re.compile(r"^<!--\s*([a-z]+:[a-z_-]+)\s*-->[ \t]*$", re.MULTILINE)
"""A placeholder stands alone on its line (a mention inside a sentence is left alone)."""
ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj):<code>([^<]+)</code>")


def _sibling(name: str):
    """Load ``docs/<name>.py`` (the docs folder is not a package and not on sys.path)."""
    spec = importlib.util.spec_from_file_location(f"hcc_docs_{name}",
                                                  Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


tables = _sibling("tables")
table, project_module, ROOT = tables.table, tables.project_module, tables.ROOT

# --- contract, features and rule-layer pages (from the code and the rule files) -----------------


def _range(spec) -> str:
    if spec.low is None and spec.high is None:
        return ""
    if spec.high is None:
        return f"{'>' if spec.low_exclusive else '>='} {spec.low:g}"
    return f"{spec.low:g} to {spec.high:g}"


def _required(spec) -> str:
    if spec.kind == "string":
        return "cohort files: yes; single record: no"
    answer = "yes" if spec.required else "no"
    return f"{answer} (training rows)" if spec.group == "outcome" else answer


def contract_fields() -> str:
    contract = project_module("features.contract")
    rows = []
    for spec in contract.FIELDS.values():
        values = ", ".join(spec.categories) if spec.kind == "category" else spec.unit
        if spec.description:
            values = f"{values}; {spec.description}" if values else spec.description
        hints = "; ".join(f"{h.low:g} to {h.high:g}: {h.message}" for h in spec.hints)
        rows.append([f"`{spec.name}`", spec.kind, values, _range(spec), _required(spec), hints])
    return table(["field", "type", "unit / values", "range", "required", "unit hint"], rows)


def contract_modalities() -> str:
    import yaml

    contract = project_module("features.contract")
    params = yaml.safe_load((ROOT / "params.yaml").read_text()) or {}
    tiers = (params.get("recommend") or {}).get("cost_tiers") or {}
    rows = [[f"`{m}`", contract.MODALITY_LABELS.get(m, ""), tiers.get(m, "-")]
            for m in contract.MODALITIES]
    return table(["modality", "label", "cost tier (params.yaml)"], rows)


def features_derived() -> str:
    derive = project_module("features.derivation")
    rows = []
    for name, (meaning, source) in derive.DERIVED_COLUMNS.items():
        kind = derive.derived_kind(name)
        values = ("ordered: " + ", ".join(kind)) if isinstance(kind, tuple) else kind
        rows.append([f"`{name}`", meaning, values, source])
    return table(["column", "meaning", "values", "source"], rows)


# --- rule-layer page (guidelines/rules/*.yaml) ---------------------------------------------------

EFFECTS = ("forbid", "not_indicated", "review", "require", "warn")


def _rule_files() -> list[dict]:
    import yaml

    files = sorted((ROOT / "guidelines" / "rules").glob("*.yaml"))
    default = project_module("guidelines.ruleset").DEFAULT_RULESET  # listed first
    data = [yaml.safe_load(f.read_text()) for f in files]
    return sorted(data, key=lambda d: (d.get("name") != default, d.get("name")))


def rules_sets() -> str:
    rows = []
    for d in _rule_files():
        rules = d.get("rules") or []
        effects = [sum(r.get("effect") == e for r in rules) for e in EFFECTS]
        evidence = [sum(r.get("evidence") == e for r in rules) for e in ("C", "S", "U")]
        cases = sum(len(r.get("cases") or []) for r in rules)
        rows.append([f"`{d['name']}` {d['version']}", " ".join(str(d["source"]).split()),
                     f"`{d['stage_variable']}`",
                     f"{len(rules)} ({' / '.join(map(str, effects))})",
                     " / ".join(map(str, evidence)), cases])
    return table(["rule set", "source", "stages by",
                  "rules (" + " / ".join(EFFECTS) + ")", "evidence C / S / U", "worked cases"],
                 rows, "lllrrr")


def rules_indication() -> str:
    vocab = project_module("features.contract").MODALITIES
    out = []
    for d in _rule_files():
        rows = []
        for stage, entry in (d.get("indication") or {}).items():
            listed = set(entry["indicated"]) | set(entry["acceptable"] or ()) | {
                "supportive_care"}
            rows.append([f"{d['stage_variable']} {stage}", ", ".join(entry["indicated"]),
                         ", ".join(entry["acceptable"] or ()) or "-",
                         ", ".join(m for m in vocab if m not in listed) or "-",
                         f"{entry['reference']}"])
        out.append(f"**`{d['name']}`**\n\n" + table(
            ["stage", "indicated", "acceptable", "not indicated", "source"], rows))
    return "\n\n".join(out)


GENERATORS: dict[str, Callable[[], str]] = {
    "results:source": tables.results_source,
    "results:headline": tables.results_headline,
    "results:policies": tables.results_policies,
    "results:peers": tables.results_peers,
    "results:versus": tables.results_versus,
    "results:factual": tables.results_factual,
    "results:shap": tables.results_shap,
    "results:trials": tables.results_trials,
    "results:package": tables.results_package,
    "results:plots": tables.results_plots,
    "contract:fields": contract_fields,
    "contract:modalities": contract_modalities,
    "features:derived": features_derived,
    "rules:sets": rules_sets,
    "rules:indication": rules_indication,
    "trials:table": tables.trials_table,
    "cohort:summary": tables.cohort_summary,
    "bench:environment": tables.bench_environment,
    "bench:figures": tables.bench_figures,
    "bench:targets": tables.bench_targets,
    "bench:repro": tables.bench_repro,
}
"""Placeholder name -> function returning its Markdown."""


def render(key: str, page: str) -> str:
    generator = GENERATORS.get(key)
    if generator is None:
        log.warning("%s: unknown placeholder <!-- %s -->; known: %s", page, key,
                    ", ".join(GENERATORS))
        return ""
    try:
        return "\n\n" + generator() + "\n\n"
    except tables.MissingReport as exc:
        log.info("%s: %s", page, exc)
        return f'\n\n!!! warning "Not generated"\n    {exc}\n\n'
    except (KeyError, TypeError, ValueError, AttributeError, ImportError) as exc:
        log.warning("%s: <!-- %s --> could not be built: %r", page, key, exc)
        return f'\n\n!!! failure "Not generated"\n    {key}: {exc!r}\n\n'


# --- MkDocs events ------------------------------------------------------------------------------


def on_files(files, config, **kwargs):
    """Add the evaluation plots (``data/reports/plots/*.png``) to the site."""
    from mkdocs.structure.files import File

    for png in sorted((tables.REPORTS / "plots").glob("*.png")):
        uri = f"{tables.PLOTS_URI}/{png.name}"
        files.append(File.generated(config, uri, abs_src_path=str(png)))
    return files


def on_page_markdown(markdown, page, **kwargs):
    """Replace every ``<!-- section:name -->`` placeholder with its generated Markdown."""
    return PLACEHOLDER.sub(lambda m: render(m.group(1), page.file.src_uri), markdown)


def _crossref(match: re.Match) -> str:
    name = match.group(1)
    short = name.startswith("~")  # Sphinx: ~a.b.C shows C
    name = name.lstrip("~")
    shown = name.rsplit(".", 1)[-1] if short else name
    if "." in name.strip(".") and " " not in name:
        return f'<autoref identifier="{name}" optional><code>{shown}</code></autoref>'
    return f"<code>{shown}</code>"


def on_page_content(html, page, **kwargs):
    """Sphinx roles in rendered docstrings: drop the role, link qualified names."""
    return ROLE.sub(_crossref, html)
