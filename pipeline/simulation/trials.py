"""Trial replication: does the generator reproduce the published trials it was built from?

:data:`TRIALS` holds the published figures (median OS per arm, OS hazard ratio, survival at fixed
times, objective response rate) of the randomised trials and series cited in the project's
clinical-facts reference, each with its source and a tolerance. :func:`replicate_trials` draws each
trial's population from the generator's population model (trial eligibility applied to draws,
the trial's aetiology mix, region and era), evaluates both arms on the same patients (potential
outcomes: the true population survival curve and response probability of every arm are exact),
and estimates the hazard ratio with a Cox model on sampled, censored times of a randomised split.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.simulation.cohort import SyntheticParams, modality_components, modality_response
from pipeline.simulation.population import clinical_state, draw_population
from pipeline.simulation.potential_outcomes import Components, baseline_parts, components, survival

# Doxorubicin (EACH comparator) is not a modality of the vocabulary: modelled as near-untreated.
# EACH doxorubicin median 4.97 mo vs Asia-Pacific placebo 4.2 mo (clinical-facts §3.1) suggests a
# small effect; hazard ratio vs untreated 0.90 [U]; EACH doxorubicin RR 2.67% (RECIST 1.0) [C].
DOXORUBICIN_HR_VS_UNTREATED = 0.90
DOXORUBICIN_ORR = 0.0267


@dataclass(frozen=True)
class Arm:
    """One trial arm: a modality, optionally a specific agent or the doxorubicin comparator."""

    label: str
    modality: str
    lenvatinib: float = 0.0  # share of lenvatinib within "targeted" (0 = sorafenib)
    doxorubicin: bool = False


@dataclass(frozen=True)
class Figure:
    """A published figure: ``kind`` in {median, hr, surv, orr}; ``at`` months for ``surv``.

    ``tolerance`` is absolute in the figure's unit (months, ratio, proportion).
    """

    kind: str
    arm: str
    published: float
    tolerance: float
    at: float | None = None
    note: str = ""
    bclc: str | None = None  # evaluate on this BCLC stage of the trial population only
    subgroup: str | None = None  # evaluate on this subgroup (a key of SUBGROUPS) only


@dataclass(frozen=True)
class Trial:
    """A trial: population (eligibility, aetiology, region, era), two arms and its figures."""

    name: str
    source: str
    eligible: Callable[[dict, dict], np.ndarray]
    region_china_share: float  # share of patients with the Asian (Chinese) baseline
    year: int  # mid-enrolment year (era of subsequent therapy)
    experimental: Arm
    control: Arm
    figures: tuple[Figure, ...]
    etiology_shares: dict[str, float] | None = None
    bclc_c_share: float | None = None  # resample to this share of MVI/EHS ("C") patients
    follow_up_months: tuple[float, float] = (24.0, 12.0)  # (accrual, minimum follow-up)


def _cp_a(p, s):
    return s["cp_class"] == "A"


def _advanced(p, s):
    """Advanced disease not amenable to locoregional therapy: MVI/EHS/nodes ("C"), or BCLC B
    beyond up-to-seven ("B", TACE-unsuitable, clinical-facts §2.4)."""
    x = s["x"]
    spread = (x["mvi"] + x["ehs"] + x["ln_meta"]) > 0
    return spread | ((s["bclc"] == "B") & (x["beyond_up_to_seven"] > 0))


def _spread(s):
    x = s["x"]
    return (x["mvi"] + x["ehs"] + x["ln_meta"]) > 0


def _no_ici_exclusion(p, s):
    x = s["x"]
    return (x["autoimmune"] + x["prior_lt"] + x["varices_risk"] + x["cv_event"] + x["anticoag"]) == 0


def _not_early(p, s):
    return (p["tumor_count"] >= 2) | (p["tumor_max_diameter_cm"] > 5)


SUBGROUPS: dict[str, Callable[[dict, dict], np.ndarray]] = {
    "Vp3": lambda p, s: s["pvtt_grade"] == 3,
}
"""Named subgroups a :class:`Figure` may be evaluated on (``Figure.subgroup``)."""


def _within_milan(p, s):
    return s["x"]["within_milan"] > 0


_WEST = {"hbv": 0.18, "hcv": 0.30, "hbv_hcv": 0.02, "alcohol": 0.27, "masld": 0.13, "other": 0.10}
_IMBRAVE = {"hbv": 0.47, "hcv": 0.21, "hbv_hcv": 0.01, "alcohol": 0.13, "masld": 0.10, "other": 0.08}
_MED, _HR, _ORR, _SURV = "median", "hr", "orr", "surv"


def _med(arm, value, note="", bclc=None, tol=None, subgroup=None):
    return Figure(_MED, arm, value, tol or max(2.0, 0.25 * value), note=note, bclc=bclc,
                  subgroup=subgroup)


TRIALS: tuple[Trial, ...] = (
    Trial("SHARP", "Llovet NEJM 2008; clinical-facts §3.1 [C]",
          lambda p, s: _cp_a(p, s) & (p["ecog"] <= 2) & _advanced(p, s), 0.0, 2006,
          Arm("sorafenib", "targeted"), Arm("placebo", "supportive_care"),
          (_med("placebo", 7.9), _med("sorafenib", 10.7),
           Figure(_HR, "sorafenib", 0.69, 0.12),
           Figure(_ORR, "placebo", 0.01, 0.03, note="PR; no treatment")),
          etiology_shares=_WEST, bclc_c_share=0.82),
    Trial("Asia-Pacific", "Cheng Lancet Oncol 2009; clinical-facts §3.1 [C]",
          lambda p, s: _cp_a(p, s) & (p["ecog"] <= 2) & _advanced(p, s), 1.0, 2006,
          Arm("sorafenib", "targeted"), Arm("placebo", "supportive_care"),
          (_med("placebo", 4.2), _med("sorafenib", 6.5), Figure(_HR, "sorafenib", 0.68, 0.12),
           Figure(_ORR, "placebo", 0.013, 0.03, note="PR; no treatment")),
          bclc_c_share=0.95),
    Trial("EACH", "Qin JCO 2013; clinical-facts §3.1, §2.8 [C]",
          lambda p, s: (s["cp_points"] <= 7) & (p["ecog"] <= 1) & _advanced(p, s)
          & (p["neutrophils_10e9_l"] >= 1.5) & (p["platelets_10e9_l"] >= 75)
          & (p["age_years"] <= 75), 1.0, 2009,
          Arm("FOLFOX4", "chemotherapy"), Arm("doxorubicin", "supportive_care", doxorubicin=True),
          (_med("doxorubicin", 4.97), _med("FOLFOX4", 6.40), Figure(_HR, "FOLFOX4", 0.80, 0.12),
           Figure(_ORR, "FOLFOX4", 0.0815, 0.08, note="RECIST 1.0"),
           Figure(_ORR, "doxorubicin", 0.0267, 0.08, note="RECIST 1.0")),
          bclc_c_share=0.8),
    Trial("REFLECT", "Kudo Lancet 2018; clinical-facts §3.1, §2.6 [C]",
          lambda p, s: _cp_a(p, s) & (p["ecog"] <= 1) & _advanced(p, s)
          & (s["pvtt_grade"] < 4) & ~p["bile_duct_invasion"] & (p["liver_involvement_pct"] < 50),
          0.67, 2015,
          Arm("lenvatinib", "targeted", lenvatinib=1.0), Arm("sorafenib", "targeted"),
          (_med("lenvatinib", 13.6), _med("sorafenib", 12.3),
           Figure(_HR, "lenvatinib", 0.92, 0.12),
           Figure(_ORR, "lenvatinib", 0.241, 0.08, note="mRECIST"),
           Figure(_ORR, "sorafenib", 0.092, 0.08, note="mRECIST")),
          etiology_shares=_IMBRAVE, bclc_c_share=0.79),
    Trial("IMbrave150", "Finn NEJM 2020; Cheng J Hepatol 2022 (update); clinical-facts §3.1 [C]",
          lambda p, s: _cp_a(p, s) & (p["ecog"] <= 1) & _advanced(p, s) & _no_ici_exclusion(p, s),
          0.4, 2019,
          Arm("atezolizumab+bevacizumab", "immunotherapy"), Arm("sorafenib", "targeted"),
          (Figure(_HR, "atezolizumab+bevacizumab", 0.58, 0.12, note="primary analysis"),
           Figure(_HR, "atezolizumab+bevacizumab", 0.66, 0.12, note="updated analysis"),
           Figure(_SURV, "atezolizumab+bevacizumab", 0.672, 0.08, at=12.0),
           Figure(_SURV, "sorafenib", 0.546, 0.08, at=12.0),
           _med("atezolizumab+bevacizumab", 19.2, note="updated analysis"),
           _med("sorafenib", 13.4, note="updated analysis"),
           Figure(_ORR, "atezolizumab+bevacizumab", 0.332, 0.08, note="mRECIST"),
           Figure(_ORR, "sorafenib", 0.133, 0.08, note="mRECIST")),
          etiology_shares=_IMBRAVE, bclc_c_share=0.82),
    Trial("START", "Yoon JAMA Oncol 2018; clinical-facts §3.3 [C]",
          lambda p, s: _cp_a(p, s) & (p["ecog"] <= 1) & ~p["extrahepatic_spread"]
          & ((s["pvtt_grade"] == 2) | (s["pvtt_grade"] == 3) | p["hepatic_vein_invasion"])
          & (s["pvtt_grade"] < 4) & (p["liver_involvement_pct"] < 50), 1.0, 2015,
          Arm("TACE+RT", "tace_radiotherapy"), Arm("sorafenib", "targeted"),
          (_med("TACE+RT", 55.0 / 4.345), _med("sorafenib", 43.0 / 4.345),
           Figure(_ORR, "TACE+RT", 0.333, 0.10, note="24-week ORR; RECIST"),
           # Vp3 (first-order branch) patients: START enrolled them with Vp2 and hepatic-vein
           # invasion and reports no subgroup median, so its overall median is the anchor [U]
           _med("TACE+RT", 55.0 / 4.345, note="START overall median", subgroup="Vp3")),
          follow_up_months=(36.0, 12.0)),
    Trial("Llovet 2002", "Llovet Lancet 2002; clinical-facts §3.2 [C]",
          # intermediate stage: BCLC B requires ECOG 0 (clinical-facts §1.1)
          lambda p, s: (s["cp_points"] <= 9) & (p["ecog"] == 0) & ~s["x"]["mvi"].astype(bool)
          & ~p["extrahepatic_spread"] & ~p["lymph_node_metastasis"] & _not_early(p, s)
          & (p["bilirubin_umol_l"] <= 51), 0.0, 1998,
          Arm("chemoembolisation", "tace"), Arm("conservative", "supportive_care"),
          (Figure(_SURV, "chemoembolisation", 0.82, 0.10, at=12.0),
           Figure(_SURV, "chemoembolisation", 0.63, 0.10, at=24.0),
           Figure(_SURV, "conservative", 0.63, 0.10, at=12.0),
           Figure(_SURV, "conservative", 0.27, 0.10, at=24.0),
           Figure(_HR, "chemoembolisation", 0.47, 0.12),
           Figure(_ORR, "chemoembolisation", 0.35, 0.10, note="sustained >= 6 months")),
          etiology_shares=_WEST, follow_up_months=(36.0, 12.0)),
    Trial("Lo 2002", "Lo Hepatology 2002; clinical-facts §3.2 [C]",
          lambda p, s: (s["cp_points"] <= 8) & (p["ecog"] <= 2) & (s["pvtt_grade"] <= 3)
          & ~p["extrahepatic_spread"] & _not_early(p, s) & (p["bilirubin_umol_l"] <= 51),
          1.0, 1997,
          Arm("TACE", "tace"), Arm("control", "supportive_care"),
          (Figure(_SURV, "TACE", 0.57, 0.10, at=12.0), Figure(_SURV, "TACE", 0.31, 0.10, at=24.0),
           Figure(_SURV, "TACE", 0.26, 0.10, at=36.0),
           Figure(_SURV, "control", 0.32, 0.10, at=12.0),
           Figure(_SURV, "control", 0.11, 0.10, at=24.0),
           Figure(_SURV, "control", 0.03, 0.10, at=36.0),
           Figure(_HR, "TACE", 0.49, 0.12)),
          follow_up_months=(36.0, 12.0)),
    Trial("Chen 2006", "Chen Ann Surg 2006 (solitary <= 5 cm); clinical-facts §3.5 [C]",
          lambda p, s: _cp_a(p, s) & (p["ecog"] <= 1) & (p["tumor_count"] == 1)
          & (p["tumor_max_diameter_cm"] <= 5) & ~s["x"]["mvi"].astype(bool)
          & ~p["extrahepatic_spread"] & ~p["lymph_node_metastasis"] & (p["age_years"] <= 75),
          1.0, 2002,
          Arm("ablation", "ablation"), Arm("resection", "resection"),
          (Figure(_SURV, "ablation", 0.958, 0.08, at=12.0),
           Figure(_SURV, "ablation", 0.821, 0.10, at=24.0),
           Figure(_SURV, "ablation", 0.679, 0.10, at=48.0),
           Figure(_SURV, "resection", 0.933, 0.08, at=12.0),
           Figure(_SURV, "resection", 0.823, 0.10, at=24.0),
           Figure(_SURV, "resection", 0.640, 0.10, at=48.0)),
          follow_up_months=(60.0, 24.0)),
    # Not randomised: the Milan transplant series (48 cirrhotic patients, Milan 1991-1994),
    # transplanted within the Milan criteria (the generator's within_milan: one nodule <= 5 cm
    # or 2-3 nodules <= 3 cm, no vascular invasion or spread). Cirrhosis and a transplant
    # candidate's condition (ECOG 0-1, age <= 65, no prior transplant) are assumptions [U].
    Trial("Mazzaferro 1996", "Mazzaferro NEJM 1996; clinical-facts §2.2, §3.4 [C]",
          lambda p, s: _within_milan(p, s) & (s["x"]["cirrhosis"] > 0) & (p["ecog"] <= 1)
          & (p["age_years"] <= 65) & (s["x"]["prior_lt"] == 0), 0.0, 1993,
          Arm("transplant", "transplant"), Arm("transplant", "transplant"),
          (Figure(_SURV, "transplant", 0.85, 0.10, at=48.0,
                  note="within Milan criteria"),),
          etiology_shares=_WEST, follow_up_months=(48.0, 12.0)),
    # Natural history (not a trial): untreated patients of all stages, Italy.
    Trial("ITA.LI.CA untreated", "Giannini Hepatology 2015; clinical-facts §3.6 [C]",
          lambda p, s: np.ones(len(p["ecog"]), dtype=bool), 0.0, 2010,
          Arm("untreated", "supportive_care"), Arm("untreated", "supportive_care"),
          (_med("untreated", 38.0, bclc="0", tol=0.3 * 38.0),
           _med("untreated", 25.0, bclc="A", tol=0.3 * 25.0),
           # Widened to 4 months: untreated intermediate patients of a real-world cohort are
           # selected for poor condition, while the trial-selected intermediate controls of
           # Llovet 2002 lived longer (1-yr 63%); the generator sits between the two anchors.
           _med("untreated", 10.0, bclc="B", tol=4.0, note="tolerance widened: selection"),
           _med("untreated", 7.0, bclc="C", tol=3.0),
           # BCLC D: the BCLC 2022 figure (~3 months, clinical-facts §3.6 [U]) rather than the
           # small untreated ITA.LI.CA D group (6 months).
           _med("untreated", 3.0, bclc="D", tol=2.0, note="BCLC 2022 figure ~3 mo [U]"),
           _med("untreated", 9.0, note="all stages", tol=3.0)),
          etiology_shares=_WEST),
)


def _population(trial: Trial, params: SyntheticParams, n: int, rng: np.random.Generator):
    pop_params = params.population
    if trial.etiology_shares is not None:
        pop_params = dataclasses.replace(pop_params, etiology_shares=trial.etiology_shares)
    pools, have = [], 0
    for _ in range(40):
        pop = draw_population(max(4 * n, 20000), rng, pop_params)
        state = clinical_state(pop)
        keep = np.flatnonzero(trial.eligible(pop, state))
        if trial.bclc_c_share is not None:
            is_c = _spread(state)[keep]
            c_idx, b_idx = keep[is_c], keep[~is_c]
            n_c = int(round(len(keep) * trial.bclc_c_share))
            n_c = min(n_c, len(c_idx))
            n_b = min(len(b_idx), int(round(n_c * (1 - trial.bclc_c_share) / trial.bclc_c_share)))
            keep = np.sort(np.concatenate([c_idx[:n_c], b_idx[:n_b]]))
        pools.append(_take(pop, keep))
        have += len(keep)
        if have >= n:
            break
    pop = {k: np.concatenate([p[k] for p in pools])[:n] for k in pools[0]}
    return pop, clinical_state(pop)


def _take(pop: dict, idx: np.ndarray) -> dict:
    return {k: v[idx] for k, v in pop.items()}


def _arm_outcomes(arm: Arm, trial: Trial, pop, state, params, region_mult):
    agents = {"lenvatinib": arm.lenvatinib}
    if arm.doxorubicin:
        effect = dataclasses.replace(params.effects.modalities["supportive_care"],
                                     hazard_ratio=DOXORUBICIN_HR_VS_UNTREATED, era_applies=True)
        comp = components(baseline_parts(pop, state, params.baseline), state, effect,
                          params.baseline, region_mult, trial.year)
        return comp, np.full(len(comp.rate), DOXORUBICIN_ORR)
    comps = modality_components(pop, state, params, region_mult, trial.year, agents)
    return comps[arm.modality], modality_response(state, params, agents)[arm.modality]


def _population_median(c: Components, horizon: float = 240.0) -> float:
    """Median of the population survival curve (mean of the patients' exact curves)."""
    if survival(c, horizon).mean() > 0.5:
        return horizon
    lo, hi = 0.0, horizon
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if survival(c, mid).mean() > 0.5 else (lo, mid)
    return 0.5 * (lo + hi)


def _sample_times(c: Components, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sub = Components(c.early[idx], c.cure[idx], c.mu[idx], c.rate[idx], c.shape, c.early_mean)
    u = rng.random(len(idx))
    early = u < sub.early
    cured = ~early & (u < sub.early + sub.cure)
    t_prog = (-np.log(rng.random(len(idx))) / sub.rate) ** (1.0 / sub.shape)
    return np.where(early, rng.exponential(sub.early_mean, len(idx)),
                    np.where(cured, rng.exponential(1.0, len(idx)) / sub.mu, t_prog))


def cox_hazard_ratio(t_exp, e_exp, t_ctl, e_ctl) -> float:
    """Cox partial-likelihood hazard ratio of arm "exp" vs "ctl" (one binary covariate).

    Newton-Raphson on the exact partial likelihood (continuous times: no ties); equals
    ``lifelines.CoxPHFitter`` on the same data, two orders of magnitude faster.
    """
    time = np.concatenate([t_exp, t_ctl])
    event = np.concatenate([e_exp, e_ctl]).astype(bool)
    arm = np.r_[np.ones(len(t_exp)), np.zeros(len(t_ctl))]
    order = np.argsort(-time, kind="stable")  # risk set of i = everyone with time >= t_i
    arm, event = arm[order], event[order]
    beta = 0.0
    for _ in range(50):
        w = np.exp(beta * arm)
        s0, s1 = np.cumsum(w), np.cumsum(w * arm)
        p = (s1 / s0)[event]
        score = float(np.sum(arm[event] - p))
        info = float(np.sum(p * (1.0 - p)))
        step = score / info
        beta += step
        if abs(step) < 1e-10:
            break
    return float(np.exp(beta))


def replicate_trial(trial: Trial, params: SyntheticParams, seed: int,
                    n_per_arm: int = 3000) -> list[dict]:
    """Rows (one per published figure) of one trial's replication."""
    rng = np.random.default_rng(seed)
    pop, state = _population(trial, params, 2 * n_per_arm, rng)
    n = len(pop["age_years"])
    region = params.baseline.region_hazard
    if not {"china", "west"} <= set(region):
        raise ValueError(
            f"synthetic.baseline.region_hazard: expected keys 'china' and 'west' for the trial "
            f"replication, got {sorted(region)}; hint: keep both regions in params.yaml")
    china = rng.random(n) < trial.region_china_share
    region_mult = np.where(china, region["china"], region["west"])
    arms = {trial.experimental.label: trial.experimental, trial.control.label: trial.control}
    out = {label: _arm_outcomes(arm, trial, pop, state, params, region_mult)
           for label, arm in arms.items()}
    # Randomised split for the hazard ratio: half the patients per arm, trial censoring.
    perm = rng.permutation(n)
    half = {trial.experimental.label: perm[: n // 2], trial.control.label: perm[n // 2:]}
    accrual, follow = trial.follow_up_months
    times = {}
    for label, idx in half.items():
        t = _sample_times(out[label][0], idx, rng)
        cens = follow + rng.uniform(0.0, accrual, len(idx))
        times[label] = (np.minimum(t, cens), t <= cens)
    rows = []
    for fig in trial.figures:
        comp, p_resp = out[fig.arm]
        if fig.bclc is not None or fig.subgroup is not None:
            keep = (state["bclc"] == fig.bclc if fig.bclc is not None
                    else SUBGROUPS[fig.subgroup](pop, state))
            comp = Components(comp.early[keep], comp.cure[keep], comp.mu[keep], comp.rate[keep],
                              comp.shape, comp.early_mean)
            p_resp = p_resp[keep]
        if fig.kind == _MED:
            sim, metric = _population_median(comp), f"median OS {fig.arm} (months)"
            if fig.bclc is not None:
                metric = f"median OS {fig.arm} BCLC {fig.bclc} (months)"
            elif fig.subgroup is not None:
                metric = f"median OS {fig.arm} {fig.subgroup} (months)"
        elif fig.kind == _SURV:
            sim = float(survival(comp, fig.at).mean())
            metric = f"OS at {fig.at:g} months {fig.arm}"
        elif fig.kind == _ORR:
            sim, metric = float(p_resp.mean()), f"ORR {fig.arm}"
        else:
            te, ee = times[trial.experimental.label]
            tc, ec = times[trial.control.label]
            sim = cox_hazard_ratio(te, ee, tc, ec)
            metric = f"OS HR {trial.experimental.label} vs {trial.control.label}"
        if fig.note:
            metric = f"{metric} [{fig.note}]"
        rows.append({"trial": trial.name, "metric": metric, "arm": fig.arm,
                     "published": fig.published, "simulated": round(sim, 4),
                     "tolerance": fig.tolerance,
                     "within": bool(abs(sim - fig.published) <= fig.tolerance),
                     "source": trial.source})
    return rows


def replicate_trials(params: SyntheticParams, seed: int, n_per_arm: int = 3000) -> pd.DataFrame:
    """Replicate every trial of :data:`TRIALS` with the generator.

    Parameters
    ----------
    params : the synthetic-cohort parameters under test.
    seed : seed of the replication (each trial uses ``seed + its index``).
    n_per_arm : patients per arm (the population evaluated under both arms has 2 x n_per_arm).

    Returns
    -------
    DataFrame with columns trial, metric, arm, published, simulated, tolerance (absolute, in the
    figure's unit: months, ratio or proportion), within (bool) and source. Medians, survival
    rates and response rates are exact population quantities of the simulated trial population;
    hazard ratios are Cox estimates on sampled, censored times of a randomised split.
    """
    rows = []
    for i, trial in enumerate(TRIALS):
        rows.extend(replicate_trial(trial, params, seed + i, n_per_arm))
    return pd.DataFrame(rows, columns=["trial", "metric", "arm", "published", "simulated",
                                       "tolerance", "within", "source"])
