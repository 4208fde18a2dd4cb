"""Present a :class:`~pipeline.recommender.recommendation.Recommendation`: a text table for the terminal and
a self-contained HTML report (inline CSS, figures as base64 PNG from matplotlib's Agg backend, no
external fetch) with the survival curves of every modality, response probabilities, the SHAP
waterfall of the recommendation against the runner-up, the rule hits with references, and the
caveat that this supports and does not replace the multidisciplinary team.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io as _io
from pathlib import Path
from string import Template

_TEMPLATE = Path(__file__).with_name("templates") / "report.html"
_GREY = "#b0b0b0"
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#17becf", "#bcbd22", "#000000")  # tab10 without its grey (grey = forbidden)


def _fmt(value, spec: str = ".1f", none: str = "-") -> str:
    if value is None:
        return none
    return format(value, spec)


def _median_text(outcomes: dict) -> str:
    value = outcomes.get("median_os_months")
    return "not reached" if value is None else f"{value:.1f}"


def _hit_ids(m: dict, show: int = 2) -> str:
    """The rule hits that decide the eligibility (forbid hits of a forbidden modality, else
    review hits), the first ``show`` by id, then how many more (all of them: --json, report)."""
    effect = "forbid" if m["eligibility"] == "forbidden" else "review"
    ids = [h["rule_id"] for h in m["hits"] if h["effect"] == effect]
    others = len(m["hits"]) - len(ids)
    text = ", ".join(ids[:show])
    more = len(ids) - show
    if more > 0:
        text += f" +{more} {effect}"
    if others:
        text += f" (+{others} other)" if text else f"{others} other"
    return text or "-"


# --- terminal table -----------------------------------------------------------------------------

def format_table(rec) -> str:
    """Readable plain-text summary: one row per modality, then the recommendation and caveat."""
    d = rec.to_dict() if hasattr(rec, "to_dict") else rec
    g = d["guideline"]
    horizon = d["modalities"][0]["outcomes"].get("rmst_horizon_months")
    level = d["modalities"][0]["outcomes"].get("interval_level")
    lines = []
    head = (f"{'modality':<18} {'eligibility':<10} {'cost':<6} {f'RMST{horizon:g} mo':>9} "
            f"{f'[{100 * level:.0f}% interval]' if level else '[interval]':>15} {'S12':>5} "
            f"{'median':>11} {'P(resp)':>7}  rules / why not")
    lines.append(head)
    lines.append("-" * len(head))
    for m in d["modalities"]:
        o = m["outcomes"]
        lo, hi = (o.get("rmst_interval_months") or [None, None])
        interval = f"[{_fmt(lo)}, {_fmt(hi)}]"
        mark = "*" if m["modality"] == d["recommended"] else " "
        why = list(m["excluded_because"])
        rules = _hit_ids(m)
        note = rules if not why else f"{rules}; {'/'.join(why)}"
        lines.append(
            f"{mark}{m['modality']:<17} {m['eligibility']:<10} {m['cost_tier']:<6} "
            f"{_fmt(o.get('rmst_months')):>9} {interval:>15} "
            f"{_fmt(o.get('survival', {}).get('12'), '.2f'):>5} {_median_text(o):>11} "
            f"{_fmt(o.get('p_response'), '.2f'):>7}  {note}")
    lines.append("")
    if d["recommended"]:
        lines.append(f"Recommended: {d['recommended_label']} ({d['recommended']})"
                     + (f"; runner-up: {d['runner_up_label']} ({d['runner_up']})"
                        if d["runner_up"] else ""))
    lines.append(d["message"])
    concord = ("no recommendation" if not d["recommended"] else "recommendation concordant"
               if g.get("concordant") else "recommendation NOT concordant")
    lines.append(f"Guideline {g['ruleset']} {g['version']}: stage {g.get('stage')}; preferred "
                 f"{', '.join(g['preferred']) or '-'}; {concord}.")
    for f in d["flags"]:
        lines.append(f"FLAG [{f['effect']}] {f['rule_id']}: {f['message']} ({f['reference']})")
    contrast = d.get("contrast")
    if contrast and contrast.get("factors"):
        lines.append(f"Why {contrast['a']} over {contrast['b']} ({contrast['unit']}):")
        for f in contrast["factors"]:
            label = f["label"] if len(f["label"]) <= 44 else f["label"][:41] + "..."
            lines.append(f"  {label:<44} = {_value_text(f['value']):<14} {f['shap']:+.3f}")
    lines.append(f"Objective: {d['objective']['description']} ({d['objective']['name']}), "
                 "higher is better. * = recommended.")
    lines.append(d["caveat"])
    return "\n".join(lines)


def _value_text(value) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# --- figures ------------------------------------------------------------------------------------

def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def survival_figure(d: dict) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(11, 5))
    for i, m in enumerate(d["modalities"]):
        curve = m["curve"]
        if not curve.get("months"):
            continue
        forbidden = m["eligibility"] == "forbidden"
        label = m["label"]
        if forbidden:
            ids = ", ".join(h["rule_id"] for h in m["hits"] if h["effect"] == "forbid")
            label += f" (forbidden: {ids})"
        elif m["modality"] == d["recommended"]:
            label += " (recommended)"
        ax.plot(curve["months"], curve["survival"], label=label,
                color=_GREY if forbidden else _PALETTE[i % len(_PALETTE)],
                linestyle="--" if forbidden else "-",
                linewidth=3 if m["modality"] == d["recommended"] else 1.5,
                alpha=0.8 if forbidden else 1.0)
    ax.set_xlabel("months from treatment start")
    ax.set_ylabel("predicted probability of survival")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _png(fig)


def response_figure(d: dict) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.6))
    names = [m["label"] for m in d["modalities"]]
    values = [m["outcomes"].get("p_response") or 0.0 for m in d["modalities"]]
    colours = [_GREY if m["eligibility"] == "forbidden" else
               ("#2e7d32" if m["modality"] == d["recommended"] else "#4a78b5")
               for m in d["modalities"]]
    ax.barh(names[::-1], values[::-1], color=colours[::-1])
    ax.set_xlim(0, 1)
    ax.set_xlabel("predicted probability of objective response (mRECIST CR or PR); grey = "
                  "forbidden")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def waterfall_figure(contrast: dict) -> str:
    """SHAP waterfall of margin(A) - margin(B): base, one bar per contract field, the rest."""
    plt = _pyplot()
    factors = contrast["factors"]
    labels = [f"{f['label']} = {_value_text(f['value'])}" for f in factors]
    values = [f["shap"] for f in factors]
    rest = contrast.get("other_factors") or 0.0
    if abs(rest) > 0:
        labels.append("all other fields")
        values.append(rest)
    base = contrast.get("base_value") or 0.0
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(values) + 1.6))
    start = base
    for i, v in enumerate(values):
        ax.barh(i, v, left=start, color="#c62828" if v > 0 else "#2e7d32")
        ax.text(start + v, i, f" {v:+.3f}", va="center", fontsize=7)
        start += v
    ax.set_yticks(range(len(values)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(base, color="#555", linewidth=0.8, linestyle=":")
    ax.axvline(start, color="#000", linewidth=1)
    ax.set_xlabel(f"{contrast['unit']}\ndotted: base value {base:+.3f}; "
                  f"solid: this patient {start:+.3f}")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


# --- HTML ---------------------------------------------------------------------------------------

def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _answer(d: dict) -> str:
    if d["recommended"] is None:
        return f'<div class="refer"><strong>No recommendation.</strong> {_e(d["message"])}</div>'
    runner = (f" Runner-up: <strong>{_e(d['runner_up_label'])}</strong>."
              if d["runner_up"] else "")
    return (f'<div class="answer">Recommended: <strong>{_e(d["recommended_label"])}</strong> '
            f"({_e(d['recommended'])}).{runner}<br>{_e(d['message'])}</div>")


def _flags(d: dict) -> str:
    if not d["flags"]:
        return ""
    items = "".join(f"<li><strong>{_e(f['effect'])}</strong> {_e(f['rule_id'])}: "
                    f"{_e(f['message'])} <span class='small'>({_e(f['reference'])})</span></li>"
                    for f in d["flags"])
    return f'<div class="flags"><strong>For the MDT to review:</strong><ul>{items}</ul></div>'


def _guideline(d: dict) -> str:
    g = d["guideline"]
    preferred = ", ".join(g["preferred"]) or "none"
    if not d["recommended"]:
        verdict = "There is no recommendation to compare with the preferred list."
    else:
        concord = "concordant" if g.get("concordant") else "not concordant"
        verdict = (f"The recommendation is <strong>{concord}</strong> with the preferred "
                   "list.")
    return (f"<p>Rule set <strong>{_e(g['ruleset'])}</strong> version {_e(g['version'])}; "
            f"stage <strong>{_e(g.get('stage'))}</strong>. Preferred for this stage: "
            f"{_e(preferred)}. {verdict}</p>")


def _outcome_table(d: dict) -> str:
    o0 = d["modalities"][0]["outcomes"]
    times = list(o0.get("survival", {}))
    horizon = o0.get("rmst_horizon_months")
    level = o0.get("interval_level") or 0
    head = ("<tr><th>modality</th><th>eligibility</th><th>cost tier</th><th>not a candidate "
            f"because</th><th>RMST to {horizon:g} mo [{100 * level:.0f}% interval]</th>"
            + "".join(f"<th>S({_e(t)} mo)</th>" for t in times)
            + "<th>median OS (mo)</th><th>P(response)</th></tr>")
    rows = []
    for m in d["modalities"]:
        o = m["outcomes"]
        lo, hi = o.get("rmst_interval_months") or [None, None]
        cls = ("recommended" if m["modality"] == d["recommended"] else
               "forbidden" if m["eligibility"] == "forbidden" else "")
        rows.append(
            f'<tr class="{cls}"><td>{_e(m["label"])}<br><span class="small">'
            f'{_e(m["modality"])}</span></td>'
            f'<td class="eligibility-{m["eligibility"]}">{_e(m["eligibility"])}</td>'
            f"<td>{_e(m['cost_tier'])}</td><td>{_e(', '.join(m['excluded_because']) or '-')}"
            f"</td><td class='num'>{_fmt(o.get('rmst_months'))} [{_fmt(lo)}, {_fmt(hi)}]</td>"
            + "".join(f"<td class='num'>{_fmt(o['survival'].get(t), '.2f')}</td>" for t in times)
            + f"<td class='num'>{_median_text(o)}</td>"
            f"<td class='num'>{_fmt(o.get('p_response'), '.2f')}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _contrast(d: dict) -> str:
    c = d.get("contrast")
    if not c or not c.get("factors"):
        why = ("no runner-up to compare with" if d["recommended"] and not d["runner_up"] else
               "explanations were not computed (explain=False)" if d["recommended"] else
               "no recommendation")
        return f"<p>No SHAP contrast: {_e(why)}.</p>"
    rows = "".join(f"<tr><td>{_e(f['label'])}</td><td>{_e(_value_text(f['value']))}</td>"
                   f"<td class='num'>{f['shap']:+.4f}</td></tr>" for f in c["factors"])
    return (f"<p>SHAP values of the difference between the two modalities' survival model "
            f"margins, margin({_e(c['a'])}) - margin({_e(c['b'])}), in "
            f"<strong>{_e(c['unit'])}</strong>, summed per contract field. "
            f"{_e(c.get('direction', ''))}</p>{waterfall_figure(c)}"
            f"<table><tr><th>field</th><th>patient's value</th><th>SHAP ({_e(c['unit'])})</th>"
            f"</tr>{rows}</table>")


def _hits_table(d: dict) -> str:
    rows = []
    for m in d["modalities"]:
        for h in m["hits"]:
            missing = f" (missing: {', '.join(h['missing'])})" if h.get("missing") else ""
            rows.append(f"<tr><td>{_e(m['label'])}</td><td>{_e(h['effect'])}</td>"
                        f"<td>{_e(h['rule_id'])}</td><td>{_e(h['message'])}{_e(missing)}</td>"
                        f"<td>{_e(h['reference'])}</td><td>{_e(h['evidence'])}</td></tr>")
    if not rows:
        return "<p>No rule applies to this patient.</p>"
    return ("<table><tr><th>modality</th><th>effect</th><th>rule</th><th>message</th>"
            f"<th>reference</th><th>evidence</th></tr>{''.join(rows)}</table>")


def render_html(rec) -> str:
    """The whole report as one self-contained HTML string."""
    d = rec.to_dict() if hasattr(rec, "to_dict") else rec
    v = d["versions"]
    versions = "".join(f"<tr><th>{_e(k)}</th><td>{_e(val)}</td></tr>" for k, val in v.items())
    return Template(_TEMPLATE.read_text()).substitute(
        patient_ref=_e(d.get("patient_ref") or "not given"),
        generated=_e(_dt.datetime.now().strftime("%Y-%m-%d %H:%M")),
        model_version=_e(v.get("model")),
        ruleset=_e(f"{d['guideline']['ruleset']} {d['guideline']['version']}"),
        caveat=_e(d["caveat"]),
        answer=_answer(d),
        flags=_flags(d),
        guideline=_guideline(d),
        survival_plot=survival_figure(d),
        outcome_table=_outcome_table(d),
        response_plot=response_figure(d),
        recommended_label=_e(d["recommended_label"] or "the recommendation"),
        runner_up_label=_e(d["runner_up_label"] or "the runner-up"),
        contrast=_contrast(d),
        hits_table=_hits_table(d),
        versions=f"<table>{versions}</table>",
    )


def write_report(rec, path: str | Path) -> Path:
    """Write the HTML report atomically; returns the path."""
    from pipeline.io import atomic_path

    path = Path(path)
    text = render_html(rec)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
