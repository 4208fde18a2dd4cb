"""Present a :class:`~pipeline.recommender.recommendation.Recommendation`: a text table for the terminal and
a self-contained HTML report (inline CSS, figures as base64 PNG from matplotlib's Agg backend, no
external fetch) with the survival curves of every modality, response probabilities, the SHAP
waterfall of the recommendation against the runner-up, why each option is not a candidate, the
indication of every modality, the required actions (co-treatments and prerequisites), the
rule hits with references (collapsed under a one-line count), and the caveat that this supports
and does not replace the multidisciplinary team. The figures are in
:mod:`pipeline.serving.figures`.
"""

from __future__ import annotations

import datetime as _dt
import html
from pathlib import Path
from string import Template

from pipeline.serving.figures import (
    response_figure,
    survival_figure,
    value_text,
    waterfall_figure,
)

__all__ = ["format_table", "render_html", "write_report", "survival_figure", "response_figure",
           "waterfall_figure"]

_TEMPLATE = Path(__file__).with_name("templates") / "report.html"


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


def _reasons(m: dict) -> list[dict]:
    """Why ``m`` is not a candidate: ``not_candidate_because``, or built from the codes of a
    dict without it (a recommendation serialised before that key existed)."""
    if "not_candidate_because" in m:
        return list(m["not_candidate_because"])
    codes = (["forbidden"] if m["eligibility"] == "forbidden" else []) + list(
        m.get("excluded_because") or ())
    return [{"code": c, "reason": c.replace("_", " ")} for c in codes]


_GRADE = {"indicated": "indicated", "acceptable": "accept.", "not_indicated": "NOT ind."}


def _actions(d: dict) -> list[dict]:
    """The required actions of the recommendation (empty for a dict serialised before 1.2)."""
    return list(d.get("required_actions") or ())


def _action_text(a: dict) -> str:
    if a.get("missing"):
        return f"check {', '.join(a['missing'])} ({a['message']})"
    return a["message"]


# --- terminal table -----------------------------------------------------------------------------

def format_table(rec) -> str:
    """Readable plain-text summary: one row per modality, then the recommendation and caveat."""
    d = rec.to_dict() if hasattr(rec, "to_dict") else rec
    g = d["guideline"]
    horizon = d["modalities"][0]["outcomes"].get("rmst_horizon_months")
    level = d["modalities"][0]["outcomes"].get("interval_level")
    lines = []
    head = (f"{'modality':<18} {'eligibility':<10} {'indication':<10} {'cost':<6} "
            f"{f'RMST{horizon:g} mo':>9} "
            f"{f'[{100 * level:.0f}% interval]' if level else '[interval]':>15} {'S12':>5} "
            f"{'median':>11} {'P(resp)':>7}  NOT a candidate because | rule hits")
    lines.append(head)
    lines.append("-" * len(head))
    aside, beyond = [], []
    for m in d["modalities"]:
        o = m["outcomes"]
        lo, hi = (o.get("rmst_interval_months") or [None, None])
        if o.get("extrapolated") and m["eligibility"] != "forbidden":
            aside_low = "low_data_support" in (m.get("excluded_because") or ())
            beyond += [f"  {m['modality']}: {why}" for why in o.get("extrapolated_because", ())
                       if not (aside_low and why.startswith("estimated propensity"))]
        interval = f"[{_fmt(lo)}, {_fmt(hi)}]"
        mark = ("*" if m["modality"] == d["recommended"] else
                "+" if m["modality"] == d["runner_up"] else " ")
        reasons = _reasons(m)
        note = _hit_ids(m)
        if reasons:
            note = f"NOT {'/'.join(r['code'] for r in reasons)} | {note}"
            aside += [f"  {m['modality']}: {r['reason']}" for r in reasons
                      if r["code"] != "forbidden"]
        rmst = _fmt(o.get("rmst_months")) + ("!" if o.get("extrapolated") else "")
        grade = _GRADE.get(m.get("indication"), "-")
        lines.append(
            f"{mark}{m['modality']:<17} {m['eligibility']:<10} {grade:<10} {m['cost_tier']:<6} "
            f"{rmst:>9} {interval:>15} "
            f"{_fmt(o.get('survival', {}).get('12'), '.2f'):>5} {_median_text(o):>11} "
            f"{_response_text(o):>7}  {note}")
    if aside:
        lines.append("Not candidates (forbidden ones: see their rule hits above):")
        lines += aside
    if beyond:
        lines.append("! = extrapolated: the patient is outside the training data of that "
                     "modality:")
        lines += beyond
    lines.append("")
    if d["recommended"]:
        lines.append(f"Recommended: {d['recommended_label']} ({d['recommended']})"
                     + (f"; runner-up: {d['runner_up_label']} ({d['runner_up']})"
                        if d["runner_up"] else ""))
    lines.append(d["message"])
    concord = ("no recommendation" if not d["recommended"] else "recommendation concordant"
               if g.get("concordant") else "recommendation NOT concordant")
    if "indicated" in g:
        lines.append(f"Guideline {g['ruleset']} {g['version']}: stage {g.get('stage')}; indicated "
                     f"{', '.join(g['indicated']) or '-'}; acceptable "
                     f"{', '.join(g['acceptable']) or '-'}; not indicated "
                     f"{', '.join(g['not_indicated']) or '-'}"
                     + ("" if not g.get("consider_not_indicated") else
                        " (considered at the request's asking)") + f"; {concord}.")
    else:
        lines.append(f"Guideline {g['ruleset']} {g['version']}: stage {g.get('stage')}; "
                     f"preferred {', '.join(g['preferred']) or '-'}; {concord}.")
    for a in _actions(d):
        lines.append(f"REQUIRED {a['rule_id']}: {_action_text(a)} ({a['reference']})")
    for f in d["flags"]:
        lines.append(f"FLAG [{f['effect']}] {f['rule_id']}: {f['message']} ({f['reference']})")
    lines += _contrast_lines(d)
    lines.append(f"Objective: {d['objective']['description']} ({d['objective']['name']}), "
                 "higher is better. * = recommended, + = runner-up.")
    lines.append(d["caveat"])
    return "\n".join(lines)


def _response_text(o: dict, none: str = "-") -> str:
    """P(response), or ``n/a`` when not applicable (forbidden, or not graded for it)."""
    if o.get("p_response") is not None:
        return f"{o['p_response']:.2f}"
    return "n/a" if o.get("response_note") else none


def _contrast_lines(d: dict) -> list[str]:
    """The contrast in months (main effect, the patient's factors, noise) and equivalence."""
    lines = []
    eq = d.get("equivalence")
    if eq and eq.get("equivalent"):
        sep = "; ".join(f"{s['reason']} (favours {s['favours']})"
                        for s in eq.get("separated_by", ())) or "nothing (MDT decides)"
        lines.append(f"EQUIVALENT: {eq['a']} and {eq['b']} ({'; '.join(eq['because'])}); "
                     f"separated by: {sep}")
    c = d.get("contrast")
    if not c:
        return lines
    if "main_effect" not in c:  # a contrast serialised before months existed
        lines.append(f"Why {c['a']} over {c['b']} ({c['unit']}):")
        lines += [f"  {f['label'][:44]:<44} = {value_text(f['value']):<14} {f['shap']:+.3f}"
                  for f in c.get("factors", ())]
        return lines
    lines.append(f"Why {c['a']} over {c['b']}: {c['difference']:+.1f} {c['unit']}")
    main = c["main_effect"]
    noise = " (within noise)" if main.get("within_noise") else ""
    lines.append(f"  {'main effect: ' + main['text']:<60} {main['months']:+.2f}{noise}")
    for f in c["factors"]:
        label = f["label"] if len(f["label"]) <= 44 else f["label"][:41] + "..."
        lines.append(f"  {label:<44} = {value_text(f['value']):<14} {f['months']:+.2f}")
    lines.append(f"  {'all other fields':<60} {c['other_factors']:+.2f}")
    if c.get("noise_factors"):
        lines.append("  within the bootstrap noise (not shown): " + ", ".join(c["noise_factors"]))
    return lines


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


def _required(d: dict) -> str:
    actions = _actions(d)
    if not actions:
        return ""
    items = "".join(f"<li><strong>{_e(a['rule_id'])}</strong>: {_e(_action_text(a))} "
                    f"<span class='small'>({_e(a['reference'])})</span></li>" for a in actions)
    return ('<div class="required"><strong>Required actions</strong> (co-treatments and '
            f"prerequisites of the recommendation, not vetoes):<ul>{items}</ul></div>")


def _guideline(d: dict) -> str:
    g = d["guideline"]
    if not d["recommended"]:
        verdict = "There is no recommendation to compare with the guideline."
    else:
        concord = "concordant" if g.get("concordant") else "not concordant"
        grade = (g.get("indication") or "").replace("_", " ")
        verdict = (f"The recommendation is <strong>{grade or concord}</strong>"
                   + (f" ({concord})" if grade else "") + ".")
    head = (f"<p>Rule set <strong>{_e(g['ruleset'])}</strong> version {_e(g['version'])}; "
            f"stage <strong>{_e(g.get('stage'))}</strong>. ")
    def names(key):
        return _e(", ".join(g[key]) or "none")

    if "indicated" not in g:  # a recommendation serialised before 1.2
        return f"{head}Preferred for this stage: {names('preferred')}. {verdict}</p>"
    considered = ""
    if g["not_indicated"]:
        considered = _e(" They were considered at the request's asking (consider_not_indicated)."
                        if g.get("consider_not_indicated") else
                        " They are not recommended unless the request asks to consider them.")
    return (f"{head}Indicated: {names('indicated')}; acceptable alternatives: "
            f"{names('acceptable')}; not indicated: {names('not_indicated')}.{considered} "
            f"{verdict} <span class='small'>({_e(g.get('indication_reference'))})</span></p>")


def _outcome_table(d: dict) -> str:
    o0 = d["modalities"][0]["outcomes"]
    times = list(o0.get("survival", {}))
    horizon = o0.get("rmst_horizon_months")
    level = o0.get("interval_level") or 0
    head = ("<tr><th>modality</th><th>eligibility</th><th>indication</th><th>cost tier</th>"
            "<th>not a candidate "
            f"because</th><th>RMST to {horizon:g} mo [{100 * level:.0f}% interval]</th>"
            + "".join(f"<th>S({_e(t)} mo)</th>" for t in times)
            + "<th>median OS (mo)</th><th>P(response)</th><th>data support</th></tr>")
    rows = []
    for m in d["modalities"]:
        o = m["outcomes"]
        lo, hi = o.get("rmst_interval_months") or [None, None]
        reasons = _reasons(m)
        cls = ("recommended" if m["modality"] == d["recommended"] else
               "runner-up" if m["modality"] == d["runner_up"] else
               "forbidden" if m["eligibility"] == "forbidden" else
               "not-candidate" if reasons else "")
        why = "<br>".join(f"<code>{_e(r['code'])}</code> {_e(r['reason'])}" for r in reasons)
        if m["modality"] in (d["recommended"], d["runner_up"]):
            why = (f"<strong>{'recommended' if m['modality'] == d['recommended'] else 'runner-up'}"
                   f"</strong>" + (f"<br>{why}" if why else ""))
        rows.append(
            f'<tr class="{cls}"><td>{_e(m["label"])}<br><span class="small">'
            f'{_e(m["modality"])}</span></td>'
            f'<td class="eligibility-{m["eligibility"]}">{_e(m["eligibility"])}</td>'
            f"<td>{_e((m.get('indication') or '-').replace('_', ' '))}</td>"
            f"<td>{_e(m['cost_tier'])}</td><td class='why'>{why or '-'}</td>"
            f"<td class='num'>{_fmt(o.get('rmst_months'))} [{_fmt(lo)}, {_fmt(hi)}]</td>"
            + "".join(f"<td class='num'>{_fmt(o['survival'].get(t), '.2f')}</td>" for t in times)
            + f"<td class='num'>{_median_text(o)}</td>"
            f"<td class='num' title='{_e(o.get('response_note') or '')}'>"
            f"{_response_text(o, 'n/a')}</td><td class='small'>{_support(o)}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _support(o: dict) -> str:
    """Within the training data's support, or extrapolated and why."""
    if o.get("extrapolated") is None:
        return "-"
    if not o["extrapolated"]:
        return "within training data"
    return ("<strong>extrapolated</strong>: "
            + "; ".join(_e(w) for w in o.get("extrapolated_because", ())))


def _equivalence(d: dict) -> str:
    eq = d.get("equivalence")
    if not eq or not eq.get("equivalent"):
        return ""
    sep = "".join(f"<li>{_e(s['reason'])} (favours <strong>{_e(s['favours'])}</strong>)</li>"
                  for s in eq.get("separated_by", ()))
    return (f"<div class='flags'><strong>{_e(eq['a'])} and {_e(eq['b'])} are equivalent for "
            f"this patient</strong> ({_e('; '.join(eq['because']))}). What separates them:"
            f"<ul>{sep or '<li>neither guideline preference nor cost: the MDT decides</li>'}"
            f"</ul><span class='small'>Toxicity: {_e(eq.get('toxicity'))}.</span></div>")


def _contrast(d: dict) -> str:
    c = d.get("contrast")
    if c and "main_effect" in c:
        return _equivalence(d) + _months_contrast(c)
    if not c or not c.get("factors"):
        why = ("no runner-up to compare with" if d["recommended"] and not d["runner_up"] else
               "explanations were not computed (explain=False)" if d["recommended"] else
               "no recommendation")
        return f"<p>No SHAP contrast: {_e(why)}.</p>"
    rows = "".join(f"<tr><td>{_e(f['label'])}</td><td>{_e(value_text(f['value']))}</td>"
                   f"<td class='num'>{f['shap']:+.4f}</td></tr>" for f in c["factors"])
    return (f"<p>SHAP values of the difference between the two modalities' survival model "
            f"margins, margin({_e(c['a'])}) - margin({_e(c['b'])}), in "
            f"<strong>{_e(c['unit'])}</strong>, summed per contract field. "
            f"{_e(c.get('direction', ''))}</p>{waterfall_figure(c)}"
            f"<table><tr><th>field</th><th>patient's value</th><th>SHAP ({_e(c['unit'])})</th>"
            f"</tr>{rows}</table>")


def _months_contrast(c: dict) -> str:
    main = c["main_effect"]
    rows = (f"<tr><td><strong>main effect</strong>: {_e(main['text'])}</td><td>-</td>"
            f"<td class='num'>{main['months']:+.2f}"
            f"{' (within noise)' if main.get('within_noise') else ''}</td></tr>")
    rows += "".join(f"<tr><td>{_e(f['label'])}</td><td>{_e(value_text(f['value']))}</td>"
                    f"<td class='num'>{f['months']:+.2f}</td></tr>" for f in c["factors"])
    rows += (f"<tr><td>all other fields</td><td>-</td>"
             f"<td class='num'>{c['other_factors']:+.2f}</td></tr>")
    noise = (f"<p class='small'>Within the bootstrap noise, not shown: "
             f"{_e(', '.join(c['noise_factors']))}.</p>" if c.get("noise_factors") else "")
    return (f"<p>Predicted difference {c['difference']:+.1f} {_e(c['unit'])}. "
            f"{_e(c.get('direction', ''))} Method: {_e(c.get('method', ''))}.</p>"
            f"{waterfall_figure(c)}<table><tr><th>field</th><th>patient's value</th>"
            f"<th>months</th></tr>{rows}</table>{noise}")


def hits_summary(d: dict) -> str:
    """One line: how many distinct rules hit, by effect (``3 forbid, 5 review, 1 warn``)."""
    by_effect: dict[str, set] = {"forbid": set(), "review": set(), "warn": set()}
    for m in d["modalities"]:
        for h in m["hits"]:
            by_effect.setdefault(h["effect"], set()).add(h["rule_id"])
    return ", ".join(f"{len(ids)} {effect}" for effect, ids in by_effect.items())


def _hits_table(d: dict) -> str:
    """The rule hits, one row per (modality, rule), collapsed under a one-line count."""
    rows = []
    for m in d["modalities"]:
        for h in m["hits"]:
            missing = f" (missing: {', '.join(h['missing'])})" if h.get("missing") else ""
            rows.append(f"<tr><td>{_e(m['label'])}</td><td>{_e(h['effect'])}</td>"
                        f"<td>{_e(h['rule_id'])}</td><td>{_e(h['message'])}{_e(missing)}</td>"
                        f"<td>{_e(h['reference'])}</td><td>{_e(h['evidence'])}</td></tr>")
    if not rows:
        return "<p>No rule applies to this patient.</p>"
    return (f"<details><summary>Rule hits: {_e(hits_summary(d))} "
            f"<span class='small'>({len(rows)} rows, one per modality and rule; click to "
            "show)</span></summary>"
            "<table><tr><th>modality</th><th>effect</th><th>rule</th><th>message</th>"
            f"<th>reference</th><th>evidence</th></tr>{''.join(rows)}</table></details>")


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
        required=_required(d),
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
