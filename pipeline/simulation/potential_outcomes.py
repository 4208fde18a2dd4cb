"""Potential outcomes of every patient under every modality: exact survival curves and response.

Survival under modality ``m`` is a three-part mixture with closed-form pieces::

    S(t) = d * exp(-t / e)  +  pi * exp(-mu * t)  +  (1 - d - pi) * exp(-r * t**k)

* ``d``: treatment-related early death (perioperative or post-procedure liver failure), mean
  ``e`` months;
* ``pi``: long-term survivors after curative treatment (resection, transplant, ablation, SBRT in
  small tumours), dying at a low background/late-recurrence hazard ``mu``;
* the rest: progressive disease, Weibull with cumulative hazard ``r * t**k``, where
  ``r = r_ref * exp(baseline log-hazard) * HR_m(patient) * region * era``.

The baseline log-hazard is the untreated prognosis (stage, liver function, PVTT grade, EHS,
ECOG, AFP, tumour burden) calibrated to the natural-history anchors of clinical-facts §3.6;
``HR_m(patient)`` carries each modality's trial effect (§3) with heterogeneity and harm in
contraindicated settings (§2, §6). RMST, survival at 12 months and the median are computed
exactly (incomplete-gamma closed form; bisection for the median of a mixture).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gamma as gamma_fn
from scipy.special import gammainc, ndtr

from pipeline.simulation.population import INDICATORS


class EffectParamsError(ValueError):
    """An effect parameter names an unknown indicator or is out of its domain."""


@dataclass(frozen=True)
class BaselineParams:
    """Untreated (natural-history) hazard (``synthetic.baseline`` in params.yaml).

    Attributes
    ----------
    reference_median_months : untreated median OS (months) of the reference patient (single 2 cm
        nodule, AFP <= 20, ALBI -2.8, no PVTT/EHS, ECOG 0, age 60) in a Chinese population.
    weibull_shape : shape ``k`` of the progressive-disease Weibull (1 = exponential, §5.3).
    region_hazard : region -> multiplier of the progressive-disease hazard ("china" = 1;
        clinical-facts §5.3 region effect: Asia-Pacific placebo 4.2 vs SHARP placebo 7.9 mo).
    cohort_region : the region (a key of ``region_hazard``) of the default cohort.
    era_hazard_per_decade : multiplier per decade after ``era_reference_year`` on treated arms
        (subsequent-line therapy, clinical-facts §3.1 second line: RESORCE, CELESTIAL, REACH-2,
        KEYNOTE-240).
    era_reference_year, era_year : the reference year (first effective systemic therapy,
        SHARP 2008) and the era of the default cohort.
    log_hazard : prognostic term -> log hazard ratio (terms listed in :data:`BASELINE_TERMS`).
    long_term_hazard_per_month : hazard of long-term survivors (background + late recurrence).
    long_term_liver_weight : weight of the liver/general log-hazard on that long-term hazard.
    early_death_mean_months : mean time to treatment-related early death.
    max_log_hazard : ceiling of the progressive-disease log hazard ratio against the reference
        patient (all prognostic terms, treatment effect and harm together), reached smoothly
        (:func:`soft_cap`). Without it the additive log hazard of a patient with every adverse
        factor gave untreated medians of 2-3 days (0.1 months), below anything observed even in
        BCLC D (about 3 months, clinical-facts §3.6); with it the shortest progressive-disease
        median is ``reference_median * exp(-max_log_hazard / weibull_shape)``.
    """

    reference_median_months: float
    weibull_shape: float
    region_hazard: dict[str, float]
    cohort_region: str
    era_hazard_per_decade: float
    era_reference_year: int
    era_year: int
    log_hazard: dict[str, float]
    long_term_hazard_per_month: float
    long_term_liver_weight: float
    early_death_mean_months: float
    max_log_hazard: float

    def __post_init__(self) -> None:
        if self.max_log_hazard <= 0:
            raise EffectParamsError(
                f"baseline.max_log_hazard: expected > 0, got {self.max_log_hazard}")
        if self.cohort_region not in self.region_hazard:
            raise EffectParamsError(
                f"baseline.cohort_region: expected one of {sorted(self.region_hazard)}, "
                f"got {self.cohort_region!r}")
        if self.weibull_shape <= 0 or self.reference_median_months <= 0:
            raise EffectParamsError(
                "baseline.weibull_shape / reference_median_months: expected > 0, got "
                f"{self.weibull_shape} / {self.reference_median_months}")


@dataclass(frozen=True)
class ModalityEffect:
    """Effect of one modality on survival and response (``synthetic.effects.<modality>``).

    Attributes
    ----------
    hazard_ratio : progressive-disease hazard ratio vs untreated for the reference patient
        (all indicators 0) in the reference era. It is a *patient-level* (conditional) ratio:
        the trial-level Cox hazard ratio of a heterogeneous population is closer to 1, so these
        values are calibrated until :mod:`pipeline.simulation.trials` reproduces the published ratios.
    hr_terms : indicator -> multiplier of the drug's own hazard ratio (effect heterogeneity that
        scales with efficacy, e.g. IMbrave150 aetiology subgroups).
    efficacy : indicator -> retention factor of log(HR) (1 = full effect, 0.5 = half the log
        effect, 0 = no effect, negative = reversed); factors multiply.
    harm : indicator -> hazard multiplier in contraindicated settings (> 1 = harm).
    early_death, early_death_terms : probability of treatment-related early death for the
        reference patient, and indicator -> additional probability (combined as 1 - prod(1-p)).
    cure_logit, cure_terms : log-odds of becoming a long-term survivor (``None`` = never) and
        indicator -> log-odds shift.
    liver_weight : weight of the liver-function part of the baseline hazard (transplant replaces
        the liver: < 1).
    era_applies : whether the era multiplier (subsequent-line therapy) applies.
    orr, orr_terms : probability of objective response (CR or PR, mRECIST) for the reference
        patient, and indicator -> log-odds shift. ``None``: response is not graded after this
        modality (resection, transplant remove the tumour: mRECIST does not apply); such a
        modality's response is never recorded and its true response probability is NaN.
    cr_share : share of responses that are complete.
    sd_share : share of non-responders with stable disease (rest progressive disease).
    assessed : probability that response is assessed at all.
    pfs_fraction : mean ratio PFS / OS for progressive disease.
    long_term_hazard_ratio : multiplier of the long-term survivors' hazard (background + late
        recurrence) after this modality; < 1 after transplant, which replaces the cirrhotic
        liver where de novo tumours and liver deaths arise.
    """

    hazard_ratio: float
    hr_terms: dict[str, float]
    efficacy: dict[str, float]
    harm: dict[str, float]
    early_death: float
    early_death_terms: dict[str, float]
    cure_logit: float | None
    cure_terms: dict[str, float]
    liver_weight: float
    era_applies: bool
    orr: float | None
    orr_terms: dict[str, float]
    cr_share: float
    sd_share: float
    assessed: float
    pfs_fraction: float
    long_term_hazard_ratio: float = 1.0

    def __post_init__(self) -> None:
        if self.long_term_hazard_ratio <= 0:
            raise EffectParamsError(
                f"effects.*.long_term_hazard_ratio: expected > 0, got "
                f"{self.long_term_hazard_ratio}")
        for attr in ("hr_terms", "efficacy", "harm", "early_death_terms", "cure_terms",
                     "orr_terms"):
            unknown = sorted(set(getattr(self, attr)) - set(INDICATORS))
            if unknown:
                raise EffectParamsError(
                    f"effects.*.{attr}: unknown indicator(s) {unknown}; expected names from "
                    f"pipeline.simulation.population.INDICATORS")
        for attr in ("early_death", "orr", "cr_share", "sd_share", "assessed", "pfs_fraction"):
            value = getattr(self, attr)
            if value is None and attr == "orr":
                if self.assessed > 0:
                    raise EffectParamsError(
                        f"effects.*.assessed: expected 0 for a modality without response "
                        f"(orr: null), got {self.assessed}")
                continue
            if not 0.0 <= value <= 1.0:
                raise EffectParamsError(
                    f"effects.*.{attr}: expected a probability in [0, 1], got {value}")
        if self.hazard_ratio <= 0:
            raise EffectParamsError(
                f"effects.*.hazard_ratio: expected > 0, got {self.hazard_ratio}")


BASELINE_TERMS = (
    "log2_size_over_2cm", "log2_count", "liver_gt50", "vp1", "vp2", "vp3", "vp4", "hv_invasion",
    "ehs", "ln_meta", "log10_afp_over_20", "bile_duct", "albi_per_unit", "ascites_mild",
    "ascites_moderate_severe", "encephalopathy", "inr_per_unit_over_1_2", "ecog1", "ecog2",
    "ecog3", "ecog4", "age_per_decade_over_60",
)
"""Prognostic terms of the untreated log hazard (``synthetic.baseline.log_hazard``)."""


@dataclass(frozen=True)
class Components:
    """Mixture parameters of one modality's survival curve for every patient (arrays)."""

    early: np.ndarray  # d
    cure: np.ndarray  # pi
    mu: np.ndarray  # long-term hazard (1/month)
    rate: np.ndarray  # r in r * t**k
    shape: float  # k
    early_mean: float  # e


def baseline_parts(pop: dict, state: dict, params: BaselineParams) -> dict[str, np.ndarray]:
    """Untreated log-hazard split into tumour, liver and general parts (numpy arrays)."""
    c = params.log_hazard
    missing = sorted(set(BASELINE_TERMS) - set(c))
    unknown = sorted(set(c) - set(BASELINE_TERMS))
    if missing or unknown:
        raise EffectParamsError(
            f"baseline.log_hazard: expected exactly the terms {BASELINE_TERMS}; "
            f"missing {missing}, unknown {unknown}")
    x = state["x"]
    dmax, count = pop["tumor_max_diameter_cm"], pop["tumor_count"]
    tumour = (c["log2_size_over_2cm"] * np.log2(np.maximum(dmax, 2.0) / 2.0)
              + c["log2_count"] * np.log2(np.minimum(count, 20))
              + c["liver_gt50"] * x["liver_gt50"]
              + sum(c[f"vp{g}"] * x[f"vp{g}"] for g in range(1, 5))
              + c["hv_invasion"] * x["hv_invasion"] + c["ehs"] * x["ehs"]
              + c["ln_meta"] * x["ln_meta"] + c["bile_duct"] * x["bile_duct"]
              + c["log10_afp_over_20"] * np.maximum(np.log10(np.maximum(pop["afp_ng_ml"], 1.0))
                                                    - np.log10(20.0), 0.0))
    liver = (c["albi_per_unit"] * (state["albi"] + 2.8)
             + c["ascites_mild"] * (pop["ascites"] == "mild")
             + c["ascites_moderate_severe"] * (pop["ascites"] == "moderate_severe")
             + c["encephalopathy"] * (pop["encephalopathy"] != "none")
             + c["inr_per_unit_over_1_2"] * np.maximum(pop["inr"] - 1.2, 0.0))
    ecog = pop["ecog"]
    general = (c["ecog1"] * (ecog == 1) + c["ecog2"] * (ecog == 2) + c["ecog3"] * (ecog == 3)
               + c["ecog4"] * (ecog == 4)
               + c["age_per_decade_over_60"] * (pop["age_years"] - 60.0) / 10.0)
    return {"tumour": tumour, "liver": liver, "general": general}


SOFT_CAP_SHARPNESS = 2.0
"""Sharpness of :func:`soft_cap` (per log-hazard unit)."""


def soft_cap(x: np.ndarray, cap: float) -> np.ndarray:
    """A smooth ``min(x, cap)``: ``cap - softplus(s (cap - x)) / s`` with ``s`` =
    :data:`SOFT_CAP_SHARPNESS`. Below ``cap - 2`` it moves ``x`` by less than 0.01; it never
    exceeds ``cap``."""
    s = SOFT_CAP_SHARPNESS
    return cap - np.logaddexp(0.0, s * (cap - np.asarray(x, dtype=float))) / s


def _prod_terms(x: dict, terms: dict[str, float], log: bool) -> np.ndarray:
    n = len(next(iter(x.values())))
    acc = np.zeros(n)
    for name, value in terms.items():
        acc += x[name] * (np.log(value) if log else value)
    return acc


def components(parts: dict, state: dict, effect: ModalityEffect, base: BaselineParams,
               region_multiplier: np.ndarray | float = 1.0, era_year: int | None = None,
               hr_multiplier: float = 1.0) -> Components:
    """Mixture parameters of one modality for every patient.

    ``region_multiplier`` scales the progressive-disease hazard (per patient or scalar);
    ``era_year`` defaults to the cohort era; ``hr_multiplier`` scales the drug's hazard ratio
    (agent variants, e.g. lenvatinib vs sorafenib within "targeted").
    """
    x = state["x"]
    k = base.weibull_shape
    r_ref = np.log(2.0) / base.reference_median_months ** k
    log_hr_drug = np.log(effect.hazard_ratio * hr_multiplier) + _prod_terms(x, effect.hr_terms, True)
    retention = np.ones_like(log_hr_drug)
    for name, factor in effect.efficacy.items():
        retention = retention * np.where(x[name] > 0, factor, 1.0)
    log_hr = retention * log_hr_drug + _prod_terms(x, effect.harm, True)
    year = base.era_year if era_year is None else era_year
    era = 0.0
    if effect.era_applies:
        era = np.log(base.era_hazard_per_decade) * max(0.0, year - base.era_reference_year) / 10.0
    lp = parts["tumour"] + effect.liver_weight * parts["liver"] + parts["general"]
    rate = r_ref * np.exp(soft_cap(lp + log_hr + era, base.max_log_hazard)) * region_multiplier
    survive = np.ones_like(rate) * (1.0 - effect.early_death)
    for name, p in effect.early_death_terms.items():
        survive = survive * np.where(x[name] > 0, 1.0 - p, 1.0)
    early = 1.0 - survive
    if effect.cure_logit is None:
        cure = np.zeros_like(rate)
    else:
        eta = effect.cure_logit + _prod_terms(x, effect.cure_terms, False)
        cure = (1.0 - early) / (1.0 + np.exp(-eta))
    mu = base.long_term_hazard_per_month * effect.long_term_hazard_ratio * np.exp(
        base.long_term_liver_weight * (effect.liver_weight * parts["liver"] + parts["general"]))
    return Components(early, cure, mu, rate, k, base.early_death_mean_months)


def survival(c: Components, t) -> np.ndarray:
    """S(t) for every patient; ``t`` scalar or array broadcastable against the patients."""
    t = np.asarray(t, dtype=float)
    prog = 1.0 - c.early - c.cure
    return (c.early * np.exp(-t / c.early_mean) + c.cure * np.exp(-c.mu * t)
            + prog * np.exp(-c.rate * t ** c.shape))


def rmst(c: Components, tau: float) -> np.ndarray:
    """Restricted mean survival time to ``tau`` months (exact)."""
    k = c.shape
    prog = 1.0 - c.early - c.cure
    weib = c.rate ** (-1.0 / k) * gamma_fn(1.0 + 1.0 / k) * gammainc(1.0 / k, c.rate * tau ** k)
    early = c.early_mean * (1.0 - np.exp(-tau / c.early_mean))
    long = (1.0 - np.exp(-c.mu * tau)) / c.mu
    return c.early * early + c.cure * long + prog * weib


def median(c: Components, horizon: float) -> np.ndarray:
    """Median survival in months, capped at ``horizon`` when S(horizon) >= 0.5."""
    k = c.shape
    out = (np.log(2.0) / c.rate) ** (1.0 / k)
    mixed = (c.early > 0) | (c.cure > 0)
    if mixed.any():
        sub = Components(c.early[mixed], c.cure[mixed], c.mu[mixed], c.rate[mixed], k,
                         c.early_mean)
        lo = np.zeros(mixed.sum())
        hi = np.full(mixed.sum(), horizon)
        for _ in range(42):
            mid = 0.5 * (lo + hi)
            above = survival(sub, mid) > 0.5
            lo = np.where(above, mid, lo)
            hi = np.where(above, hi, mid)
        out[mixed] = 0.5 * (lo + hi)
    return np.minimum(out, horizon)


def response_probability(state: dict, effect: ModalityEffect) -> np.ndarray:
    """Probability of objective response (CR or PR by mRECIST) for every patient; NaN for a
    modality whose response is not graded (``orr`` None)."""
    x = state["x"]
    if effect.orr is None:
        return np.full(len(next(iter(x.values()))), np.nan)
    eta = np.log(effect.orr / (1.0 - effect.orr)) + _prod_terms(x, effect.orr_terms, False)
    return 1.0 / (1.0 + np.exp(-eta))


def sample_outcomes(c: Components, p_resp: np.ndarray, effect_cr: np.ndarray,
                    effect_sd: np.ndarray, pfs_mean: np.ndarray, rho: float,
                    rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Sample latent OS, PFS and best response for one modality per patient (arrays).

    Response and progressive-disease survival are coupled through a Gaussian copula
    (correlation ``rho``): responders live longer, while each marginal stays exact.
    """
    n = len(c.rate)
    z_resp = rng.standard_normal(n)
    responder = ndtr(z_resp) < p_resp
    v = ndtr(rho * z_resp + np.sqrt(1.0 - rho ** 2) * rng.standard_normal(n))
    v = np.clip(v, 1e-12, 1.0 - 1e-12)
    u = rng.random(n)
    early = u < c.early
    cured = ~early & (u < c.early + c.cure)
    t_prog = (-np.log(v) / c.rate) ** (1.0 / c.shape)
    t = np.where(early, rng.exponential(c.early_mean, n),
                 np.where(cured, rng.exponential(1.0, n) / c.mu, t_prog))
    t = np.maximum(t, 1.0 / 30.0)
    complete = responder & (rng.random(n) < effect_cr)
    pd_ = ~responder & (v > effect_sd)
    resp = np.where(complete, "cr", np.where(responder, "pr", np.where(pd_, "pd", "sd")))
    mean = np.clip(pfs_mean + 0.15 * responder - 0.2 * pd_, 0.08, 0.9)
    frac = rng.beta(6.0 * mean, 6.0 * (1.0 - mean))
    pfs = np.where(early | cured, t, np.maximum(t * frac, np.minimum(t, 1.0 / 30.0)))
    return {"time": t, "pfs": pfs, "response": resp.astype(object), "early": early}
