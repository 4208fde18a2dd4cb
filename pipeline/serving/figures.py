"""The figures of the HTML report (:mod:`pipeline.serving.report`), as inline base64 PNG.

Made to be read at a glance, on a screen or printed in black and white:

* survival curves: the recommended modality and the runner-up highlighted (thick, saturated),
  the other candidates muted, the modalities that are not candidates faint, forbidden ones grey
  and dotted; every modality has its own colour, line style and marker, so ten curves stay
  apart without colour; the legend sits outside the axes (it never covers a curve), and the
  time axis stops where every curve has fallen below 1%;
* response probabilities: one bar per modality with its value, and "n/a" instead of a bar when a
  response is not applicable (forbidden, no model, not assessed);
* the SHAP waterfall of the recommendation against the runner-up, with its values beside (not
  on) the bars.

Matplotlib's Agg backend; nothing is fetched from outside.
"""

from __future__ import annotations

import base64
import io as _io
import math

GREY = "#9e9e9e"
HIGHLIGHT = {"recommended": "#1b7a2a", "runner-up": "#1550a8"}
"""Green and blue: the recommendation and the runner-up, in the curves, bars and table alike."""
PALETTE = ("#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#000000")  # the other modalities: tab10 without its grey, green and blue
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)),
              (0, (5, 2, 1, 2)), (0, (8, 2)), (0, (2, 2)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
FONT = {"axes": 12, "ticks": 11, "legend": 10.5, "small": 10}
CUT_SURVIVAL = 0.02
"""The time axis stops where every curve that is not forbidden is below this survival
probability (at least 12 months)."""


def png(fig, alt: str = "figure") -> str:
    """The figure as an ``<img>`` tag with an inline base64 PNG (and closes it)."""
    import html

    import matplotlib.pyplot as plt

    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def role(m: dict, d: dict) -> str:
    """``recommended``, ``runner-up``, ``candidate``, ``forbidden`` or ``not a candidate``."""
    if m["modality"] == d.get("recommended"):
        return "recommended"
    if m["modality"] == d.get("runner_up"):
        return "runner-up"
    if m["eligibility"] == "forbidden":
        return "forbidden"
    return "candidate" if m.get("candidate", True) else "not a candidate"


def _why_not(m: dict) -> str:
    codes = [r["code"] for r in m.get("not_candidate_because") or ()]
    codes = codes or list(m.get("excluded_because") or ())
    return ", ".join(c.replace("_", " ") for c in codes if c != "forbidden")


_STYLE = {  # role -> (linewidth, alpha, zorder)
    "recommended": (3.4, 1.0, 5), "runner-up": (2.6, 1.0, 4), "candidate": (1.5, 0.6, 3),
    "not a candidate": (1.2, 0.4, 2), "forbidden": (1.2, 0.45, 1),
}


def _time_limit(curves: list[tuple[list, list]]) -> float:
    """Where every curve is below :data:`CUT_SURVIVAL`, rounded up to 6 months (12 to 60)."""
    last = 0.0
    for months, surv in curves:
        above = [t for t, s in zip(months, surv, strict=True) if s is not None
                 and s >= CUT_SURVIVAL]
        last = max(last, max(above, default=0.0))
    limit = 6 * math.ceil((last + 2.5) / 6)
    top = max((months[-1] for months, _ in curves if months), default=60.0)
    return float(min(max(limit, 12), top))


def survival_figure(d: dict) -> str:
    """Predicted survival curve of every modality with a model (see the module docstring)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.6, 5.0))
    drawn, shown, others = [], 0, 0
    for i, m in enumerate(d["modalities"]):
        curve = m["curve"]
        if not curve.get("months"):
            continue
        r = role(m, d)
        width, alpha, z = _STYLE[r]
        label = m["label"]
        if r in ("recommended", "runner-up", "forbidden"):
            label += f" ({r})"
        elif r == "not a candidate":
            label += f" (not a candidate: {_why_not(m)})"
        if r in HIGHLIGHT:
            colour, style = HIGHLIGHT[r], "-" if r == "recommended" else "--"
        elif r == "forbidden":
            colour, style = GREY, ":"
        else:
            colour, style = PALETTE[others % len(PALETTE)], LINESTYLES[i % len(LINESTYLES)]
            others += 1
        ax.plot(curve["months"], curve["survival"], label=label, color=colour, linestyle=style,
                marker=MARKERS[i % len(MARKERS)], markevery=2, markersize=5 if width > 2 else 3.5,
                linewidth=width, alpha=alpha, zorder=z)
        shown += 1
        if r != "forbidden":
            drawn.append((curve["months"], curve["survival"]))
    ax.set_xlim(0, _time_limit(drawn) if drawn else 60)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("months from treatment start", fontsize=FONT["axes"])
    ax.set_ylabel("predicted probability of survival", fontsize=FONT["axes"])
    ax.tick_params(labelsize=FONT["ticks"])
    ax.grid(alpha=0.3)
    if shown:
        handles, labels = ax.get_legend_handles_labels()
        order = sorted(range(len(labels)), key=lambda k: -handles[k].get_zorder())
        ax.legend([handles[k] for k in order], [labels[k] for k in order],
                  fontsize=FONT["legend"], loc="upper left", bbox_to_anchor=(1.02, 1.0),
                  frameon=False, handlelength=3.2)
    return png(fig, "predicted survival curves of every modality")


def response_figure(d: dict) -> str:
    """Predicted probability of objective response per modality; "n/a" where not applicable."""
    plt = pyplot()
    mods = d["modalities"]
    fig, ax = plt.subplots(figsize=(8.6, 0.42 * len(mods) + 1.3))
    for k, m in enumerate(mods):
        p = m["outcomes"].get("p_response")
        r = role(m, d)
        if p is None or r == "forbidden":
            why = "forbidden" if r == "forbidden" else (
                "no model" if "no_model" in (m.get("excluded_because") or ()) else
                "not applicable")
            ax.text(0.005, k, f"n/a ({why})", va="center", ha="left", fontsize=FONT["small"],
                    color="#616161", style="italic")
            continue
        colour = HIGHLIGHT.get(r, "#90a4ae")
        ax.barh(k, p, color=colour, alpha=1.0 if r != "not a candidate" else 0.55, height=0.7)
        rate = m["outcomes"].get("response_basis") == "rate"  # the same for every patient
        ax.text(p + 0.01, k, f"{p:.2f}" + (" (modality rate)" if rate else ""), va="center",
                ha="left", fontsize=FONT["small"])
    ax.set_yticks(range(len(mods)), [m["label"] + {"recommended": " (recommended)",
                                                   "runner-up": " (runner-up)"}.get(
                                                       role(m, d), "") for m in mods],
                  fontsize=FONT["ticks"])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.08)
    ax.tick_params(axis="x", labelsize=FONT["ticks"])
    ax.set_xlabel("predicted probability of objective response (mRECIST CR or PR)",
                  fontsize=FONT["axes"])
    ax.grid(axis="x", alpha=0.3)
    return png(fig, "predicted probability of objective response")


def value_text(value) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def waterfall_figure(contrast: dict) -> str:
    """Waterfall of the contrast of A against B: in months of RMST (from 0: the main effect,
    one bar per patient factor, the rest; ends at the RMST difference), or for a contrast
    serialised before months existed, SHAP on the margin (base, fields, the rest)."""
    plt = pyplot()
    factors = contrast["factors"]
    labels = [_short(f"{f['label']} = {value_text(f['value'])}") for f in factors]
    months = "main_effect" in contrast  # months of RMST: start at 0, the main effect first
    values = [f["months"] if months else f["shap"] for f in factors]
    if months:
        labels.insert(0, _short("main effect: the average difference for patients like this"))
        values.insert(0, contrast["main_effect"]["months"])
    rest = contrast.get("other_factors") or 0.0
    if abs(rest) > 0:
        labels.append("all other fields")
        values.append(rest)
    base = 0.0 if months else contrast.get("base_value") or 0.0
    fig, ax = plt.subplots(figsize=(8.6, 0.62 * len(values) + 1.8))
    hazard = "hazard" in contrast["unit"]  # hazard: negative favours A; survival time: positive
    start, ends = base, [base]
    for i, v in enumerate(values):
        favours_a = v < 0 if hazard else v > 0
        ax.barh(i, v, left=start, color=HIGHLIGHT["recommended"] if favours_a else "#c62828",
                height=0.65)
        end = start + v
        ax.text(max(start, end), i, f"  {v:+.3f}", va="center", ha="left",
                fontsize=FONT["small"])
        start = end
        ends.append(end)
    span = (max(ends) - min(ends)) or 1.0
    ax.set_xlim(min(ends) - 0.05 * span, max(ends) + 0.22 * span)  # room for the values
    ax.set_yticks(range(len(values)), labels, fontsize=FONT["ticks"])
    ax.invert_yaxis()
    ax.tick_params(axis="x", labelsize=FONT["ticks"])
    ax.axvline(base, color="#555", linewidth=1.2, linestyle=":")
    ax.axvline(start, color="#000", linewidth=1.4)
    ax.set_xlabel(f"{contrast['unit']}\ndotted: {'0' if months else 'base value'} "
                  f"{base:+.3f}; solid: this patient "
                  f"{start:+.3f}; green favours {contrast.get('a', 'A')}, red "
                  f"{contrast.get('b', 'B')}",
                  fontsize=FONT["axes"])
    ax.grid(axis="x", alpha=0.3)
    return png(fig, f"{'Months' if months else 'SHAP'} contrast of {contrast.get('a')} "
                    f"against {contrast.get('b')}")


def _short(text: str, width: int = 44) -> str:
    """At most two lines of ``width`` characters (the rest elided)."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width, max_lines=2, placeholder="..."))
