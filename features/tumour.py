"""Tumour-burden criteria and HCC-specific prognostic scores.

Transplant criteria (Milan, UCSF, up-to-seven, Metroticket 2.0), tumour burden score, the AFP
model of Duvoux, CLIP, HAP, the Vp grade of portal-vein tumour thrombus and the two invasion
summaries used by staging. All functions are vectorised (numbers, arrays or pandas Series in; a
Series out when an input is a Series; inputs are combined by position) and return missing, never raise, on missing inputs.

Conventions shared by this package (documented once here):

* Optional *findings* (``hepatic_vein_invasion``, ``ivc_thrombus``, ``lymph_node_metastasis``)
  count as absent when missing: a finding not recorded is taken as not found, as in clinical
  staging. The required fields ``pvtt`` and ``extrahepatic_spread`` always decide the rest.
* Optional *measurements* (``tumor_sum_diameter_cm``, ``liver_involvement_pct``) are unknown
  when missing: a criterion that needs one is missing (pd.NA) unless the other inputs decide it.
* Size cut-offs are inclusive as published ("<= 5 cm"): a nodule of exactly 5.0 cm is within
  Milan, exactly 3.0 cm counts as "each <= 3 cm".
* Transplant criteria all require no macrovascular invasion and no extrahepatic disease (nodal
  or distant); clinical-facts §2.2 lists both as hard exclusions for transplantation.
"""

from __future__ import annotations

import numpy as np

from features._inputs import as_float, as_level, index_of, typed
from features._logic import flag, k_and, k_not, k_or, na_where

PVTT_GRADE = {"none": 0, "vp1": 1, "vp2": 2, "vp3": 3, "vp4": 4}
"""Ordinal Vp grade per ``pvtt`` category (clinical-facts §2.10, LCSGJ Vp classification [C])."""

HAP_CLASSES = ("A", "B", "C", "D")


# --- kernels: float arrays (NaN = missing / unknown) ---------------------------------------

def _macrovascular(pvtt_grade, hepatic_vein, ivc):
    hv = np.nan_to_num(hepatic_vein, nan=0.0)  # optional finding: missing = not found
    ivc = np.nan_to_num(ivc, nan=0.0)
    return k_or(flag(pvtt_grade > 0, pvtt_grade), hv, ivc)


def _extrahepatic(spread, nodes):
    return k_or(spread, np.nan_to_num(nodes, nan=0.0))


def _milan_burden(count, size):
    single = k_and(flag(count == 1, count), flag(size <= 5.0, size))
    few = k_and(flag((count >= 2) & (count <= 3), count), flag(size <= 3.0, size))
    return k_or(single, few)


def _within_milan(count, size, mvi, ehs):
    return k_and(_milan_burden(count, size), k_not(mvi), k_not(ehs))


def _within_ucsf(count, size, total, mvi, ehs):
    single = k_and(flag(count == 1, count), flag(size <= 6.5, size))
    # Each nodule is at most the largest, so count x largest <= 8 cm decides the total without it.
    surely_ok = np.where(count * size <= 8.0, 1.0, np.nan)
    total_ok = np.where(np.isnan(total), surely_ok, (total <= 8.0) * 1.0)
    few = k_and(flag((count >= 2) & (count <= 3), count), flag(size <= 4.5, size), total_ok)
    return k_and(k_or(single, few), k_not(mvi), k_not(ehs))


def _within_up_to_seven(count, size, mvi, ehs):
    return k_and(flag(size + count <= 7.0, size, count), k_not(mvi), k_not(ehs))


def _tumor_burden_score(count, size):
    return np.sqrt(size ** 2 + count ** 2)


def _afp_model_score(count, size, afp):
    size_pts = np.where(size <= 3.0, 0.0, np.where(size <= 6.0, 1.0, 4.0))
    count_pts = np.where(count <= 3, 0.0, 2.0)
    afp_pts = np.where(afp <= 100.0, 0.0, np.where(afp <= 1000.0, 2.0, 3.0))
    return na_where(size_pts + count_pts + afp_pts, count, size, afp)


def _metroticket_limit(afp):
    limit = np.where(afp < 200.0, 7.0, np.where(afp < 400.0, 5.0,
                                                  np.where(afp <= 1000.0, 4.0, -np.inf)))
    return na_where(limit, afp)


def _within_metroticket(count, size, afp, mvi, ehs):
    limit = _metroticket_limit(afp)
    return k_and(flag(size + count <= limit, size, count, limit), k_not(mvi), k_not(ehs))


def _clip_score(cp_points, count, involvement, afp, pvtt_grade):
    cp = np.where(cp_points <= 6, 0.0, np.where(cp_points <= 9, 1.0, 2.0))
    morphology = np.where(involvement > 50.0, 2.0, np.where(count == 1, 0.0, 1.0))
    total = cp + morphology + (afp >= 400.0) + (pvtt_grade > 0)
    return na_where(total, cp_points, count, involvement, afp, pvtt_grade)


def _hap_score(albumin, afp, bilirubin, size):
    total = (albumin < 36.0) * 1.0 + (afp > 400.0) + (bilirubin > 17.0) + (size > 7.0)
    return na_where(total, albumin, afp, bilirubin, size)


def _hap_class(score):
    return np.minimum(score, 3.0)  # A=0, B=1, C=2, D>=3 (NaN stays NaN)


# --- public functions ---------------------------------------------------------------------

def pvtt_grade(pvtt):
    """Portal-vein tumour thrombus as the ordinal Vp grade 0-4 (none, vp1 ... vp4; higher = worse).

    clinical-facts §2.10 (Japanese LCSGJ Vp classification [C]). Vp4 = main trunk / bilateral.
    """
    return typed(as_level(pvtt, PVTT_GRADE, "pvtt"), "int", index_of(pvtt))


def macrovascular_invasion(pvtt, hepatic_vein_invasion=None, ivc_thrombus=None):
    """Macrovascular invasion: PVTT (any Vp) or hepatic-vein invasion or IVC tumour thrombus.

    clinical-facts §1.1 (BCLC 2022 "portal invasion (MVI)" [C]) and §1.2 (CNLC IIIa:
    "macrovascular tumour thrombus (portal/hepatic vein/IVC)" [S]). Missing optional findings
    (hepatic vein, IVC) count as absent; ``pvtt`` is required.

    Returns
    -------
    nullable boolean array or Series.
    """
    idx = index_of(pvtt, hepatic_vein_invasion, ivc_thrombus)
    hv = as_float(np.nan if hepatic_vein_invasion is None else hepatic_vein_invasion,
                  "hepatic_vein_invasion")
    ivc = as_float(np.nan if ivc_thrombus is None else ivc_thrombus, "ivc_thrombus")
    return typed(_macrovascular(as_level(pvtt, PVTT_GRADE, "pvtt"), hv, ivc), "bool", idx)


def extrahepatic_disease(extrahepatic_spread, lymph_node_metastasis=None):
    """Extrahepatic disease (EHS): distant metastasis or lymph-node metastasis.

    clinical-facts §1.1 (BCLC 2022 C: "EHS (N1/M1)" [C]) and §1.2 (CNLC IIIb [S]). A missing
    ``lymph_node_metastasis`` (optional) counts as absent.
    """
    idx = index_of(extrahepatic_spread, lymph_node_metastasis)
    nodes = as_float(np.nan if lymph_node_metastasis is None else lymph_node_metastasis,
                     "lymph_node_metastasis")
    return typed(_extrahepatic(as_float(extrahepatic_spread, "extrahepatic_spread"), nodes),
                 "bool", idx)


def within_milan(tumor_count, tumor_max_diameter_cm, macrovascular_invasion,
                 extrahepatic_disease):
    """Milan criteria (Mazzaferro 1996): single <= 5 cm or 2-3 nodules each <= 3 cm, no MVI/EHS.

    clinical-facts §2.2 [C]. Inclusive cut-offs: exactly 5.0 cm (single) and 3.0 cm (2-3
    nodules) are within. Returns nullable boolean (True = within = better prognosis).
    """
    idx = index_of(tumor_count, tumor_max_diameter_cm, macrovascular_invasion,
                   extrahepatic_disease)
    return typed(_within_milan(as_float(tumor_count, "tumor_count"),
                               as_float(tumor_max_diameter_cm, "tumor_max_diameter_cm"),
                               as_float(macrovascular_invasion, "macrovascular_invasion"),
                               as_float(extrahepatic_disease, "extrahepatic_disease")),
                 "bool", idx)


def within_ucsf(tumor_count, tumor_max_diameter_cm, tumor_sum_diameter_cm,
                macrovascular_invasion, extrahepatic_disease):
    """UCSF criteria (Yao 2001): single <= 6.5 cm, or <= 3 nodules, largest <= 4.5 cm, total <= 8 cm.

    clinical-facts §2.2 [C]; no gross vascular invasion, and no extrahepatic disease (§2.2 hard
    transplant exclusion). Inclusive cut-offs. For 2-3 nodules the total diameter is needed: when
    ``tumor_sum_diameter_cm`` is missing the result is decided without it if possible (largest
    > 4.5 cm -> outside; count x largest <= 8 cm -> total surely <= 8, within), else pd.NA.
    """
    idx = index_of(tumor_count, tumor_max_diameter_cm, tumor_sum_diameter_cm,
                   macrovascular_invasion, extrahepatic_disease)
    return typed(_within_ucsf(as_float(tumor_count, "tumor_count"),
                              as_float(tumor_max_diameter_cm, "tumor_max_diameter_cm"),
                              as_float(tumor_sum_diameter_cm, "tumor_sum_diameter_cm"),
                              as_float(macrovascular_invasion, "macrovascular_invasion"),
                              as_float(extrahepatic_disease, "extrahepatic_disease")),
                 "bool", idx)


def within_up_to_seven(tumor_count, tumor_max_diameter_cm, macrovascular_invasion,
                       extrahepatic_disease):
    """Up-to-seven (Mazzaferro 2009): largest diameter (cm) + number of nodules <= 7, no MVI/EHS.

    clinical-facts §2.2 and §4.4 [C]. Inclusive: a sum of exactly 7 is within.
    """
    idx = index_of(tumor_count, tumor_max_diameter_cm, macrovascular_invasion,
                   extrahepatic_disease)
    return typed(_within_up_to_seven(as_float(tumor_count, "tumor_count"),
                                     as_float(tumor_max_diameter_cm, "tumor_max_diameter_cm"),
                                     as_float(macrovascular_invasion, "macrovascular_invasion"),
                                     as_float(extrahepatic_disease, "extrahepatic_disease")),
                 "bool", idx)


def tumor_burden_score(tumor_count, tumor_max_diameter_cm):
    """Tumour burden score = sqrt(largest diameter (cm)^2 + number of nodules^2); higher = worse.

    clinical-facts §4.4 [C]; published strata <3.36 / 3.36-13.74 / >13.74.
    """
    idx = index_of(tumor_count, tumor_max_diameter_cm)
    return typed(_tumor_burden_score(as_float(tumor_count, "tumor_count"),
                                     as_float(tumor_max_diameter_cm, "tumor_max_diameter_cm")),
                 "float", idx)


def afp_model_score(tumor_count, tumor_max_diameter_cm, afp_ng_ml):
    """AFP model of Duvoux (2012), 0-9 points; higher = higher recurrence risk after transplant.

    clinical-facts §2.2 [C]: largest diameter <= 3 cm 0, 3-6 cm 1, > 6 cm 4; nodules 1-3 0,
    >= 4 2; AFP <= 100 0, 100-1000 2, > 1000 ng/mL 3. Boundary convention (as the "<=" of the
    published table): exactly 3 or 6 cm and exactly 100 or 1000 ng/mL go to the lower tier.
    """
    idx = index_of(tumor_count, tumor_max_diameter_cm, afp_ng_ml)
    return typed(_afp_model_score(as_float(tumor_count, "tumor_count"),
                                  as_float(tumor_max_diameter_cm, "tumor_max_diameter_cm"),
                                  as_float(afp_ng_ml, "afp_ng_ml")), "int", idx)


def afp_model_high_risk(score):
    """AFP-model high risk: score > 2 (clinical-facts §2.2, Duvoux 2012 [C]); 2 is low risk."""
    s = as_float(score, "afp_model_score")
    return typed(flag(s > 2, s), "bool", index_of(score))


def within_metroticket(tumor_count, tumor_max_diameter_cm, afp_ng_ml, macrovascular_invasion,
                       extrahepatic_disease):
    """Metroticket 2.0 (Mazzaferro 2018): AFP-adjusted "size + number" limit, no MVI/EHS.

    clinical-facts §2.2 [C]: AFP < 200 -> largest (cm) + number <= 7; AFP 200-400 -> <= 5;
    AFP 400-1000 -> <= 4; AFP > 1000 -> outside. Boundary convention: each AFP tier includes its
    lower bound (200 -> limit 5, 400 -> limit 4) and 1000 is still in the 400-1000 tier, because
    the source writes "< 200" and "> 1000" explicitly. Size-number limits are inclusive.
    """
    idx = index_of(tumor_count, tumor_max_diameter_cm, afp_ng_ml, macrovascular_invasion,
                   extrahepatic_disease)
    return typed(_within_metroticket(as_float(tumor_count, "tumor_count"),
                                     as_float(tumor_max_diameter_cm, "tumor_max_diameter_cm"),
                                     as_float(afp_ng_ml, "afp_ng_ml"),
                                     as_float(macrovascular_invasion, "macrovascular_invasion"),
                                     as_float(extrahepatic_disease, "extrahepatic_disease")),
                 "bool", idx)


def clip_score(child_pugh_points, tumor_count, liver_involvement_pct, afp_ng_ml, pvtt):
    """CLIP score 0-6 (Cancer of the Liver Italian Program); higher = worse prognosis.

    clinical-facts §4.4 [C]: Child-Pugh A 0 / B 1 / C 2; morphology uninodular and <= 50 % of the
    liver 0, multinodular and <= 50 % 1, massive or > 50 % 2 (morphology from ``tumor_count``
    and ``liver_involvement_pct``; "massive" is taken as > 50 %); AFP < 400 0 / >= 400 ng/mL 1;
    portal-vein thrombosis (any Vp) 1. Missing (pd.NA) when ``liver_involvement_pct`` or another
    input is missing. Exactly 50 % counts as <= 50 %, exactly 400 ng/mL scores 1.
    """
    idx = index_of(child_pugh_points, tumor_count, liver_involvement_pct, afp_ng_ml, pvtt)
    return typed(_clip_score(as_float(child_pugh_points, "child_pugh_points"),
                             as_float(tumor_count, "tumor_count"),
                             as_float(liver_involvement_pct, "liver_involvement_pct"),
                             as_float(afp_ng_ml, "afp_ng_ml"),
                             as_level(pvtt, PVTT_GRADE, "pvtt")), "int", idx)


def hap_score(albumin_g_l, afp_ng_ml, bilirubin_umol_l, tumor_max_diameter_cm):
    """HAP score 0-4 (Kadalayil 2013, prognosis under TACE); higher = worse.

    clinical-facts §4.4 [C]: 1 point each for albumin < 36 g/L, AFP > 400 ng/mL, bilirubin
    > 17 umol/L, largest tumour > 7 cm. Strict inequalities as published: exactly 36 g/L,
    400 ng/mL, 17 umol/L or 7 cm score 0.
    """
    idx = index_of(albumin_g_l, afp_ng_ml, bilirubin_umol_l, tumor_max_diameter_cm)
    return typed(_hap_score(as_float(albumin_g_l, "albumin_g_l"), as_float(afp_ng_ml, "afp_ng_ml"),
                            as_float(bilirubin_umol_l, "bilirubin_umol_l"),
                            as_float(tumor_max_diameter_cm, "tumor_max_diameter_cm")), "int", idx)


def hap_class(score):
    """HAP class A (0 points), B (1), C (2), D (>= 3); clinical-facts §4.4 [C]. D is worst."""
    return typed(_hap_class(as_float(score, "hap_score")), HAP_CLASSES, index_of(score))
