"""Synthetic HCC population: every patient-contract field, with clinically coherent correlations.

Two latent factors drive the correlations: *tumour aggressiveness* (size, nodule count, AFP,
portal-vein tumour thrombus, extrahepatic spread, performance status) and *liver dysfunction
severity* (higher with cirrhosis; drives bilirubin, albumin, INR, ascites, encephalopathy,
platelets, varices, ICG-R15). The population mix (shares) is tunable through
:class:`PopulationParams`; the shapes of the conditional distributions are module constants, each
with the clinical-facts section it was calibrated to (the reference file is never read at run
time: numbers are copied here with their citation).

:func:`draw_population` returns *complete* arrays (the truth the outcome model uses);
:func:`contract_frame` turns them into contract columns and masks optional fields the way real
records miss them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ETIOLOGIES = ("hbv", "hcv", "hbv_hcv", "alcohol", "masld", "other")
ECONOMIC = ("low", "middle", "high")
PVTT_GRADES = ("none", "vp1", "vp2", "vp3", "vp4")
ASCITES = ("none", "mild", "moderate_severe")
ENCEPHALOPATHY = ("none", "grade_1_2", "grade_3_4")
VARICES = ("none", "small", "large_untreated", "treated")

# Optional contract fields that the generator may mask (missing at random given the share).
MASKABLE = (
    "economic_status", "hbv_dna_iu_ml", "antiviral_therapy", "varices", "prior_variceal_bleeding",
    "portal_hypertension", "icg_r15_pct", "sodium_mmol_l", "neutrophils_10e9_l", "hemoglobin_g_l",
    "ast_u_l", "alt_u_l", "tumor_sum_diameter_cm", "liver_involvement_pct", "bilobar",
    "near_major_vessel_or_duct", "hepatic_vein_invasion", "ivc_thrombus", "bile_duct_invasion",
    "lymph_node_metastasis", "autoimmune_disease", "prior_liver_transplant",
    "recent_cardiovascular_event", "on_anticoagulation",
)


class PopulationParamsError(ValueError):
    """A population-mix parameter is out of its domain."""


@dataclass(frozen=True)
class PopulationParams:
    """Population mix of the synthetic cohort (``synthetic.population`` in params.yaml).

    Shares are probabilities (0-1). Defaults mirror clinical-facts §5.1 (China, all stages).

    Attributes
    ----------
    male_share : share of men (§5.1 WJGO 2023: 82.3%).
    etiology_shares : etiology -> share, summing to 1 (§5.1: HBV 84.4%, HCV 3.2-6.1%,
        NAFLD 3.5%, alcohol 0.7%).
    economic_shares : low/middle/high -> share (assumption, no cited source [U]).
    age_mean_hbv_years, age_mean_other_years, age_sd_years : age distribution (§5.1: 70.8% older
        than 50 y; HBV-HCC onset ~12 y earlier than HCV-HCC).
    cirrhosis_by_etiology : etiology -> probability of cirrhosis (§5.1: 80-90% overall [S]).
    antiviral_share_hbv, antiviral_share_hcv : share on NA / DAA therapy [U].
    single_nodule_share, two_three_nodule_share : nodule-count mix (calibrated to the CNLC stage
        mix of §5.1: Ia 20.5, Ib 14.8, IIa 2.0, IIb 29.4, IIIa 18.3, IIIb 12.0, IV 3.1%).
    pvtt_logit_intercept : intercept of the PVTT model at a 5 cm tumour (§2.10: macroscopic PVT
        13.7% below 5 cm, 56.4% above 10 cm).
    ehs_logit_intercept : intercept of the extrahepatic-spread model.
    aggressiveness_shift : mean shift of the latent tumour aggressiveness (0 for the default
        cohort; trials use it to mimic their stage mix).
    liver_severity_shift : mean shift of the latent liver dysfunction severity.
    ecog_thresholds : 4 increasing cut points of the latent performance score (ECOG 0|1|2|3|4).
    missing_shares : optional field -> share of records where it is missing.
    """

    male_share: float
    etiology_shares: dict[str, float]
    economic_shares: dict[str, float]
    age_mean_hbv_years: float
    age_mean_other_years: float
    age_sd_years: float
    cirrhosis_by_etiology: dict[str, float]
    antiviral_share_hbv: float
    antiviral_share_hcv: float
    single_nodule_share: float
    two_three_nodule_share: float
    pvtt_logit_intercept: float
    ehs_logit_intercept: float
    aggressiveness_shift: float
    liver_severity_shift: float
    ecog_thresholds: tuple[float, ...]
    missing_shares: dict[str, float]

    def __post_init__(self) -> None:
        _check_shares("etiology_shares", self.etiology_shares, ETIOLOGIES)
        _check_shares("economic_shares", self.economic_shares, ECONOMIC)
        if set(self.cirrhosis_by_etiology) != set(ETIOLOGIES):
            raise PopulationParamsError(
                f"population.cirrhosis_by_etiology: expected keys {ETIOLOGIES}, "
                f"got {tuple(self.cirrhosis_by_etiology)}")
        if len(self.ecog_thresholds) != 4 or list(self.ecog_thresholds) != sorted(self.ecog_thresholds):
            raise PopulationParamsError(
                f"population.ecog_thresholds: expected 4 increasing cut points, "
                f"got {self.ecog_thresholds}")
        unknown = set(self.missing_shares) - set(MASKABLE)
        if unknown:
            raise PopulationParamsError(
                f"population.missing_shares: unknown field(s) {sorted(unknown)}, "
                f"expected optional contract fields {MASKABLE}")
        probs = {"male_share": self.male_share, "antiviral_share_hbv": self.antiviral_share_hbv,
                 "antiviral_share_hcv": self.antiviral_share_hcv,
                 "single_nodule_share": self.single_nodule_share,
                 "two_three_nodule_share": self.two_three_nodule_share,
                 **{f"missing_shares.{k}": v for k, v in self.missing_shares.items()},
                 **{f"cirrhosis_by_etiology.{k}": v for k, v in self.cirrhosis_by_etiology.items()}}
        for name, value in probs.items():
            if not 0.0 <= value <= 1.0:
                raise PopulationParamsError(
                    f"population.{name}: expected a probability in [0, 1], got {value}")
        if self.single_nodule_share + self.two_three_nodule_share > 1.0:
            raise PopulationParamsError(
                "population.single_nodule_share + two_three_nodule_share: expected <= 1, "
                f"got {self.single_nodule_share + self.two_three_nodule_share}")


def _check_shares(name: str, shares, keys) -> None:
    if set(shares) != set(keys):
        raise PopulationParamsError(f"population.{name}: expected keys {keys}, got {tuple(shares)}")
    total = float(sum(shares.values()))
    if abs(total - 1.0) > 1e-6 or min(shares.values()) < 0:
        raise PopulationParamsError(
            f"population.{name}: expected non-negative shares summing to 1, got sum {total:.4f}")


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _choice_index(rng, labels, shares: dict[str, float], n: int) -> np.ndarray:
    p = np.array([shares[k] for k in labels], dtype=float)
    return rng.choice(len(labels), size=n, p=p / p.sum())


def _ordinal(latent: np.ndarray, cuts) -> np.ndarray:
    return np.searchsorted(np.asarray(cuts, dtype=float), latent).astype(np.int64)


def draw_population(n: int, rng: np.random.Generator, params: PopulationParams) -> dict:
    """Draw ``n`` complete patients (no missing values) as a dict of numpy arrays.

    Keys are the patient-contract field names (categories as object arrays of labels, booleans
    as bool arrays) plus the latent factors ``_aggressiveness`` and ``_liver_severity``.
    """
    p = params
    out: dict[str, np.ndarray] = {}
    etio_idx = _choice_index(rng, ETIOLOGIES, p.etiology_shares, n)
    etiology = np.asarray(ETIOLOGIES, dtype=object)[etio_idx]
    hbv = np.isin(etiology, ("hbv", "hbv_hcv"))
    hcv = np.isin(etiology, ("hcv", "hbv_hcv"))
    out["etiology"] = etiology
    out["sex"] = np.where(rng.random(n) < p.male_share, "male", "female").astype(object)
    # §5.1: HBV-HCC presents ~12 years earlier than HCV-HCC; 70.8% older than 50 y.
    age_mean = np.where(hbv, p.age_mean_hbv_years, p.age_mean_other_years)
    out["age_years"] = np.clip(np.round(rng.normal(age_mean, p.age_sd_years), 0), 20, 92)
    age_c = (out["age_years"] - 60.0) / 10.0
    out["economic_status"] = np.asarray(ECONOMIC, dtype=object)[
        _choice_index(rng, ECONOMIC, p.economic_shares, n)]

    # Liver background: latent severity, higher with cirrhosis and alcohol.
    cirr_p = np.array([p.cirrhosis_by_etiology[e] for e in ETIOLOGIES])
    cirrhosis = rng.random(n) < cirr_p[etio_idx]
    out["cirrhosis"] = cirrhosis
    sev = (p.liver_severity_shift - 0.6 + 1.1 * cirrhosis + 0.4 * (etiology == "alcohol")
           + 0.1 * age_c + rng.normal(0.0, 0.9, n))
    agg = p.aggressiveness_shift + rng.normal(0.0, 1.0, n)

    # Tumour: nodule count, largest diameter (cm), AFP (ng/mL).
    u = _expit(_logit(rng.random(n)) + 0.6 * agg)  # more nodules with aggressive disease
    s1, s23 = p.single_nodule_share, p.two_three_nodule_share
    count = np.where(u < s1, 1, np.where(u < s1 + s23, 2 + (rng.random(n) < 0.35), 0))
    many = count == 0
    count[many] = 4 + np.minimum(rng.geometric(0.22, many.sum()) - 1, 40)
    out["tumor_count"] = count.astype(np.int64)
    mu_log_d = np.where(count == 1, np.log(4.6), np.where(count <= 3, np.log(2.4), np.log(4.4)))
    log_d = mu_log_d + 0.42 * agg + rng.normal(0.0, 0.50, n)
    dmax = np.clip(np.round(np.exp(log_d), 1), 0.5, 25.0)
    out["tumor_max_diameter_cm"] = dmax
    log_afp = 1.9 + 0.75 * agg + 0.55 * np.log(dmax / 4.0) + 0.25 * hbv + rng.normal(0.0, 1.0, n)
    out["afp_ng_ml"] = np.round(10 ** np.clip(log_afp, 0.0, 6.6), 1)
    log_afp = np.log10(np.maximum(out["afp_ng_ml"], 1.0))
    others = np.where(count > 1, dmax * (count - 1) * rng.uniform(0.25, 0.6, n), 0.0)
    out["tumor_sum_diameter_cm"] = np.round(dmax + others, 1)
    vol_ml = 0.5236 * (dmax ** 3 + np.where(count > 1, (count - 1) * (0.45 * dmax) ** 3, 0.0))
    out["liver_involvement_pct"] = np.round(
        np.clip(100.0 * vol_ml / 1500.0 * np.exp(rng.normal(0.0, 0.3, n)), 0.1, 95.0), 1)
    out["bilobar"] = rng.random(n) < np.where(count == 1, 0.02, np.minimum(0.2 + 0.07 * count, 0.9))

    # PVTT rises with size and AFP (clinical-facts §2.10: 13.7% below 5 cm, 56.4% above 10 cm).
    pv_lin = (p.pvtt_logit_intercept + 0.85 * np.log(dmax / 5.0) + 0.22 * (log_afp - 1.5)
              + 0.25 * agg + 0.1 * many)
    has_pvtt = rng.random(n) < _expit(pv_lin)
    grade = 1 + _ordinal(0.6 * np.log(dmax / 8.0) + 0.5 * agg + rng.normal(0, 1, n),
                         (-1.0, -0.2, 0.85))
    pvtt_idx = np.where(has_pvtt, grade, 0)
    out["pvtt"] = np.asarray(PVTT_GRADES, dtype=object)[pvtt_idx]
    major = pvtt_idx >= 3
    out["hepatic_vein_invasion"] = rng.random(n) < 0.03 + 0.12 * has_pvtt + 0.08 * (dmax > 10)
    out["ivc_thrombus"] = out["hepatic_vein_invasion"] & (rng.random(n) < 0.2)
    out["bile_duct_invasion"] = rng.random(n) < 0.02 + 0.06 * major
    out["near_major_vessel_or_duct"] = rng.random(n) < 0.15 + 0.5 * has_pvtt + 0.1 * (dmax > 5)
    ehs_lin = (p.ehs_logit_intercept + 0.55 * agg + 0.6 * has_pvtt + 0.35 * np.log(dmax / 5.0)
               + 0.15 * (log_afp - 1.5))
    out["extrahepatic_spread"] = rng.random(n) < _expit(ehs_lin)
    out["lymph_node_metastasis"] = rng.random(n) < np.where(out["extrahepatic_spread"], 0.45,
                                                             0.03 + 0.05 * has_pvtt)

    # Liver function (SI units; Child-Pugh cut-offs of clinical-facts §4.1).
    tumour_load = np.clip(out["liver_involvement_pct"] / 50.0, 0, 2)
    sev_pos = np.maximum(sev, 0.0)
    out["bilirubin_umol_l"] = np.round(np.clip(np.exp(
        np.log(13.5) + 0.36 * sev + 0.08 * sev_pos ** 2 + 0.25 * tumour_load + 0.35 * (pvtt_idx == 4)
        + 0.4 * out["bile_duct_invasion"] + rng.normal(0, 0.28, n)), 3.0, 700.0), 1)
    out["albumin_g_l"] = np.round(np.clip(
        41.0 - 3.6 * sev - 0.4 * sev_pos ** 2 - 1.8 * tumour_load - 0.6 * agg
        + rng.normal(0, 3.0, n), 15.0, 54.0), 1)
    out["inr"] = np.round(np.clip(np.exp(
        np.log(1.05) + 0.06 * sev + 0.05 * sev_pos ** 2 + rng.normal(0, 0.06, n)), 0.8, 5.0), 2)
    asc_lat = sev + 0.4 * tumour_load + 0.3 * (pvtt_idx == 4) + rng.normal(0, 0.7, n)
    out["ascites"] = np.asarray(ASCITES, dtype=object)[_ordinal(asc_lat, (1.45, 2.45))]
    enc_lat = sev + rng.normal(0, 0.6, n)
    out["encephalopathy"] = np.asarray(ENCEPHALOPATHY, dtype=object)[_ordinal(enc_lat, (2.35, 3.1))]
    out["platelets_10e9_l"] = np.round(np.clip(np.exp(
        np.log(205.0) - 0.45 * cirrhosis - 0.18 * sev + 0.1 * (dmax > 8) + rng.normal(0, 0.33, n)),
        8.0, 900.0), 0)
    low_plt = out["platelets_10e9_l"] < 100
    csph_p = np.where(cirrhosis, _expit(-1.2 + 0.9 * sev + 1.3 * low_plt), 0.03)
    csph = rng.random(n) < csph_p
    out["portal_hypertension"] = csph
    var_lat = np.where(csph, 0.5 + 0.6 * sev + rng.normal(0, 1, n), -5.0)
    var_idx = _ordinal(var_lat, (0.0, 1.0))  # none / small / large
    large = var_idx == 2
    treated = large & (rng.random(n) < 0.55)
    varices = np.where(treated, 3, var_idx)
    out["varices"] = np.asarray(VARICES, dtype=object)[varices]
    out["prior_variceal_bleeding"] = rng.random(n) < np.where(large, 0.28, 0.01)
    out["icg_r15_pct"] = np.round(np.clip(
        5.0 + 7.0 * cirrhosis + 6.0 * sev + 3.0 * sev_pos ** 2 + rng.normal(0, 4.0, n), 0.5, 90.0), 1)

    # Other laboratory values.
    male = out["sex"] == "male"
    out["creatinine_umol_l"] = np.round(np.clip(np.exp(
        np.log(68.0) + 0.18 * male + 0.05 * age_c + 0.12 * sev_pos + rng.normal(0, 0.2, n)),
        25.0, 900.0), 0)
    out["sodium_mmol_l"] = np.round(np.clip(
        139.5 - 1.6 * sev_pos - 1.2 * (out["ascites"] != "none") + rng.normal(0, 2.4, n),
        115.0, 152.0), 0)
    out["neutrophils_10e9_l"] = np.round(np.clip(np.exp(
        np.log(3.6) - 0.18 * cirrhosis + 0.1 * agg + rng.normal(0, 0.35, n)), 0.3, 30.0), 2)
    out["hemoglobin_g_l"] = np.round(np.clip(
        np.where(male, 140.0, 126.0) - 4.0 * sev - 2.0 * agg + rng.normal(0, 13.0, n),
        55.0, 190.0), 0)
    out["ast_u_l"] = np.round(np.clip(np.exp(
        np.log(42.0) + 0.22 * sev + 0.3 * agg + 0.2 * np.log(dmax / 4.0) + rng.normal(0, 0.45, n)),
        8.0, 3000.0), 0)
    on_av_p = np.where(hbv, p.antiviral_share_hbv, np.where(hcv, p.antiviral_share_hcv, 0.0))
    antiviral = rng.random(n) < on_av_p
    out["antiviral_therapy"] = antiviral
    # HBV DNA: suppressed on nucleos(t)ide analogues; 0 = undetectable (< 20 IU/mL) [U].
    log_dna = np.where(antiviral, rng.normal(1.0, 1.0, n), rng.normal(4.0, 1.6, n))
    detect = hbv & (log_dna > np.log10(20.0))
    out["hbv_dna_iu_ml"] = np.where(detect, np.round(10 ** np.clip(log_dna, 1.3, 9.0), 0), 0.0)
    active = np.clip(np.where(detect, log_dna - 3.0, 0.0), 0, 5)
    out["alt_u_l"] = np.round(np.clip(np.exp(
        np.log(36.0) + 0.12 * active + 0.1 * sev + rng.normal(0, 0.5, n)), 5.0, 3000.0), 0)

    # Performance status: tumour stage, liver dysfunction and age (ITA.LI.CA §1.1: PS drives
    # many BCLC-C assignments).
    ecog_lat = (0.4 * agg + 0.3 * pvtt_idx + 0.6 * out["extrahepatic_spread"] + 0.45 * sev_pos
                + 0.2 * np.log(dmax / 4.0) + 0.22 * age_c + rng.normal(0, 1, n))
    out["ecog"] = _ordinal(ecog_lat, p.ecog_thresholds)

    # Comorbidity flags (§2.7 exclusions; prevalence assumptions [U]).
    out["autoimmune_disease"] = rng.random(n) < 0.02
    out["prior_liver_transplant"] = rng.random(n) < 0.005
    out["recent_cardiovascular_event"] = rng.random(n) < 0.01 + 0.01 * (age_c > 0.5)
    out["on_anticoagulation"] = rng.random(n) < 0.02 + 0.02 * (age_c > 0.5)
    out["_aggressiveness"] = agg
    out["_liver_severity"] = sev
    return out


def _logit(u):
    u = np.clip(u, 1e-12, 1 - 1e-12)
    return np.log(u) - np.log1p(-u)


def contract_frame(pop: dict, rng: np.random.Generator, params: PopulationParams,
                   columns) -> pd.DataFrame:
    """Contract columns of the drawn population, with optional fields masked at random.

    Numbers are float64 (NaN = missing), ``tumor_count``/``ecog`` int64, booleans pandas
    ``boolean`` for optional fields (``pd.NA`` = missing) and ``bool`` for required ones,
    categories ``str`` (``None`` = missing).
    """
    n = len(pop["age_years"])
    frame = {"patient_id": np.array([f"SYN-{i + 1:06d}" for i in range(n)], dtype=object)}
    for name in columns:
        if name == "patient_id":
            continue
        frame[name] = pop[name]
    out = pd.DataFrame(frame, columns=list(columns))
    for col in ("tumor_count", "ecog"):
        out[col] = out[col].astype(np.int64)
    for col in columns:
        if col in ("patient_id", "tumor_count", "ecog"):
            continue
        if out[col].dtype == bool:
            share = params.missing_shares.get(col)
            if col in MASKABLE:
                out[col] = out[col].astype("boolean")
            if share:
                out.loc[rng.random(n) < share, col] = pd.NA
        elif out[col].dtype == object:
            share = params.missing_shares.get(col)
            if share:
                out.loc[rng.random(n) < share, col] = None
        else:
            out[col] = out[col].astype(np.float64)
            share = params.missing_shares.get(col)
            if col == "hbv_dna_iu_ml":
                # HBV DNA is rarely measured in non-HBV patients.
                nonhbv = ~np.isin(pop["etiology"], ("hbv", "hbv_hcv"))
                share_v = np.where(nonhbv, 0.6, share or 0.0)
                out.loc[rng.random(n) < share_v, col] = np.nan
            elif share:
                out.loc[rng.random(n) < share, col] = np.nan
    return out


def clinical_state(pop: dict) -> dict:
    """The generator's own clinical summary of each drawn patient (complete data, numpy arrays).

    Deliberately independent of :mod:`features` so the data-generating truth never moves when the
    feature code changes. Returns Child-Pugh points/class (clinical-facts §4.1, Pugh 1973), ALBI
    score and grade (§4.2, Johnson 2015), crude BCLC (§1.1 pseudo-code) and CNLC (§1.2) stages,
    Milan / UCSF / up-to-seven (§2.2) and the binary indicators named in the effect and policy
    parameters (see :data:`INDICATORS`).
    """
    bili, alb, inr = pop["bilirubin_umol_l"], pop["albumin_g_l"], pop["inr"]
    pts = (1 + (bili >= 34) + (bili > 50) + 1 + (alb <= 35) + (alb < 28) + 1 + (inr >= 1.7)
           + (inr > 2.3) + 1 + (pop["ascites"] == "mild") + 2 * (pop["ascites"] == "moderate_severe")
           + 1 + (pop["encephalopathy"] == "grade_1_2") + 2 * (pop["encephalopathy"] == "grade_3_4"))
    cp = np.where(pts <= 6, "A", np.where(pts <= 9, "B", "C")).astype(object)
    albi = 0.66 * np.log10(bili) - 0.085 * alb
    albi_grade = np.where(albi <= -2.60, 1, np.where(albi <= -1.39, 2, 3))
    count, dmax = pop["tumor_count"], pop["tumor_max_diameter_cm"]
    dsum = pop["tumor_sum_diameter_cm"]
    pv = _pvtt_index(pop["pvtt"])
    mvi = (pv >= 1) | pop["hepatic_vein_invasion"] | pop["ivc_thrombus"]
    ehs = pop["extrahepatic_spread"]
    ecog = pop["ecog"]
    spread = mvi | ehs | pop["lymph_node_metastasis"]
    within_milan = ~spread & (((count == 1) & (dmax <= 5)) | ((count <= 3) & (dmax <= 3)))
    within_ucsf = ~spread & (((count == 1) & (dmax <= 6.5))
                             | ((count <= 3) & (dmax <= 4.5) & (dsum <= 8)))
    up_to_seven = ~spread & (dmax + count <= 7)
    bclc = np.where((ecog >= 3) | (cp == "C"), "D", np.where(
        spread | (ecog >= 1), "C", np.where(
            (count == 1) & (dmax <= 2), "0", np.where(
                (count == 1) | ((count <= 3) & (dmax <= 3)), "A", "B")))).astype(object)
    macro = mvi
    cnlc = np.where((ecog >= 3) | (cp == "C"), "IV", np.where(
        ehs | pop["lymph_node_metastasis"], "IIIb", np.where(
            macro, "IIIa", np.where(
                count >= 4, "IIb", np.where(
                    (count == 1) & (dmax <= 5), "Ia", np.where(
                        (count == 1) | (dmax <= 3), "Ib", "IIa")))))).astype(object)
    state = {"cp_points": pts.astype(np.int64), "cp_class": cp, "albi": albi,
             "albi_grade": albi_grade.astype(np.int64), "pvtt_grade": pv, "bclc": bclc,
             "cnlc": cnlc, "within_milan": within_milan, "within_ucsf": within_ucsf,
             "up_to_seven": up_to_seven}
    state["x"] = _indicators(pop, state)
    return state


def _pvtt_index(pvtt: np.ndarray) -> np.ndarray:
    out = np.zeros(len(pvtt), dtype=np.int64)
    for i, g in enumerate(PVTT_GRADES[1:], start=1):
        out[pvtt == g] = i
    return out


INDICATORS = (
    "cp_b", "cp_b8", "cp_c", "albi1", "albi2", "albi3", "vp1", "vp2", "vp3", "vp4", "vp1_2",
    "vp2_3", "vp3_4", "mvi", "hv_invasion", "ehs", "ln_meta", "ecog1", "ecog2", "ecog3p", "ecog2p",
    "size_le2", "size_le3", "size_3_5", "size_gt3", "size_gt5", "size_gt10", "single",
    "count_2_3", "count_4p", "within_milan", "beyond_milan", "within_ucsf", "beyond_ucsf",
    "beyond_up_to_seven", "liver_gt50", "afp_gt400", "afp_gt1000", "csph", "bili_ge34",
    "bili_gt51", "creat_ge177", "icg_ge20", "icg_ge30", "plt_lt50", "plt_lt75", "inr_gt15",
    "anc_lt15", "varices_risk", "autoimmune", "prior_lt", "cv_event", "anticoag", "bile_duct",
    "age_ge70", "age_lt50", "econ_low", "econ_high", "cnlc_ia", "cnlc_ib", "cnlc_iia", "cnlc_iib",
    "cnlc_iiia", "cnlc_iiib", "cnlc_iv", "bclc_0", "bclc_a", "bclc_b", "bclc_c", "bclc_d",
    "ascites", "hbv", "hcv_only", "nonviral", "cirrhosis", "early_stage",
)
"""Names of the 0/1 patient indicators the effect and policy parameters may reference."""


def _indicators(pop: dict, s: dict) -> dict[str, np.ndarray]:
    pv, cp, pts = s["pvtt_grade"], s["cp_class"], s["cp_points"]
    dmax, count = pop["tumor_max_diameter_cm"], pop["tumor_count"]
    ecog, etio = pop["ecog"], pop["etiology"]
    x = {
        "cp_b": cp == "B", "cp_b8": pts >= 8, "cp_c": cp == "C",
        "albi1": s["albi_grade"] == 1, "albi2": s["albi_grade"] == 2, "albi3": s["albi_grade"] == 3,
        "vp1": pv == 1, "vp2": pv == 2, "vp3": pv == 3, "vp4": pv == 4, "vp1_2": (pv == 1) | (pv == 2),
        "vp2_3": (pv == 2) | (pv == 3), "vp3_4": pv >= 3,
        "mvi": (pv >= 1) | pop["hepatic_vein_invasion"] | pop["ivc_thrombus"],
        "hv_invasion": pop["hepatic_vein_invasion"] | pop["ivc_thrombus"],
        "ehs": pop["extrahepatic_spread"], "ln_meta": pop["lymph_node_metastasis"],
        "ecog1": ecog == 1, "ecog2": ecog == 2, "ecog3p": ecog >= 3, "ecog2p": ecog >= 2,
        "size_le2": dmax <= 2, "size_le3": dmax <= 3, "size_3_5": (dmax > 3) & (dmax <= 5),
        "size_gt3": dmax > 3, "size_gt5": dmax > 5, "size_gt10": dmax > 10, "single": count == 1,
        "count_2_3": (count >= 2) & (count <= 3), "count_4p": count >= 4,
        "within_milan": s["within_milan"], "beyond_milan": ~s["within_milan"],
        "within_ucsf": s["within_ucsf"], "beyond_ucsf": ~s["within_ucsf"],
        "beyond_up_to_seven": ~s["up_to_seven"],
        "liver_gt50": pop["liver_involvement_pct"] > 50,
        "afp_gt400": pop["afp_ng_ml"] > 400, "afp_gt1000": pop["afp_ng_ml"] > 1000,
        "csph": pop["portal_hypertension"],
        "bili_ge34": pop["bilirubin_umol_l"] >= 34, "bili_gt51": pop["bilirubin_umol_l"] > 51,
        "creat_ge177": pop["creatinine_umol_l"] >= 177,
        "icg_ge20": pop["icg_r15_pct"] >= 20, "icg_ge30": pop["icg_r15_pct"] >= 30,
        "plt_lt50": pop["platelets_10e9_l"] < 50, "plt_lt75": pop["platelets_10e9_l"] < 75,
        "inr_gt15": pop["inr"] > 1.5, "anc_lt15": pop["neutrophils_10e9_l"] < 1.5,
        "varices_risk": (pop["varices"] == "large_untreated") | pop["prior_variceal_bleeding"],
        "autoimmune": pop["autoimmune_disease"], "prior_lt": pop["prior_liver_transplant"],
        "cv_event": pop["recent_cardiovascular_event"], "anticoag": pop["on_anticoagulation"],
        "bile_duct": pop["bile_duct_invasion"],
        "age_ge70": pop["age_years"] >= 70, "age_lt50": pop["age_years"] < 50,
        "econ_low": pop["economic_status"] == "low", "econ_high": pop["economic_status"] == "high",
        "ascites": pop["ascites"] != "none",
        "hbv": np.isin(etio, ("hbv", "hbv_hcv")), "hcv_only": etio == "hcv",
        "nonviral": np.isin(etio, ("alcohol", "masld", "other")),
        "cirrhosis": pop["cirrhosis"],
    }
    for st in ("Ia", "Ib", "IIa", "IIb", "IIIa", "IIIb", "IV"):
        x[f"cnlc_{st.lower()}"] = s["cnlc"] == st
    for st in ("0", "A", "B", "C", "D"):
        x[f"bclc_{st.lower()}"] = s["bclc"] == st
    x["early_stage"] = x["cnlc_ia"] | x["cnlc_ib"]
    return {k: np.asarray(v, dtype=bool).astype(np.float64) for k, v in x.items()}
