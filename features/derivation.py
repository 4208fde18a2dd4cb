"""Derived clinical scores: :func:`derive` (exported as ``features.derive``) adds every one to a
contract frame or a single record.

One code path serves a cohort and a single patient (a dict is turned into length-1 arrays), so a
served prediction sees exactly the features a batch run sees. Inputs may be canonical (after
:func:`features.contract.coerce_frame`) or plain (python bools, 0/1 floats, category strings).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from features import liver, markers, staging, tumour
from features._inputs import FeatureInputError, as_float, as_level, scalar, typed

# Contract inputs of the derived scores: field -> category-level mapping (None = number/bool).
_INPUTS: dict[str, Mapping | None] = {
    "bilirubin_umol_l": None, "albumin_g_l": None, "inr": None, "creatinine_umol_l": None,
    "sodium_mmol_l": None, "afp_ng_ml": None, "hbv_dna_iu_ml": None, "antiviral_therapy": None,
    "ascites": liver.ASCITES_POINTS, "encephalopathy": liver.ENCEPHALOPATHY_POINTS,
    "tumor_count": None, "tumor_max_diameter_cm": None, "tumor_sum_diameter_cm": None,
    "liver_involvement_pct": None, "pvtt": tumour.PVTT_GRADE, "hepatic_vein_invasion": None,
    "ivc_thrombus": None, "extrahepatic_spread": None, "lymph_node_metastasis": None, "ecog": None,
    "on_anticoagulation": None,
}
_REQUIRED = (
    "bilirubin_umol_l", "albumin_g_l", "inr", "creatinine_umol_l", "afp_ng_ml", "ascites",
    "encephalopathy", "tumor_count", "tumor_max_diameter_cm", "pvtt", "extrahepatic_spread",
    "ecog",
)

_CF = "clinical-facts"
DERIVED_COLUMNS: dict[str, tuple[str, str]] = {
    "bilirubin_mg_dl": ("Total bilirubin in mg/dL (umol/L / 17.1)", f"{_CF} §4.3 [C]"),
    "creatinine_mg_dl": ("Creatinine in mg/dL (umol/L / 88.4)", f"{_CF} §4.3 [C]"),
    "inr_excluded": ("INR left out of the liver-function scores (Child-Pugh, MELD) because the "
                     "patient is on therapeutic anticoagulation: the INR then reflects the "
                     "anticoagulant; false when not on anticoagulation or when it is not recorded",
                     f"{_CF} §4.1, §4.3 (INR as a liver-function input), §2.12 [U]"),
    "child_pugh_points": ("Child-Pugh score, points 5-15 (higher = worse liver function); on "
                          "anticoagulation the INR scores 1 point (see inr_excluded)",
                          f"{_CF} §4.1, Pugh 1973 [C]; §2.12 [U]"),
    "child_pugh_class": ("Child-Pugh class A (5-6) / B (7-9) / C (10-15)",
                         f"{_CF} §4.1, Pugh 1973 [C]"),
    "albi_score": ("ALBI score, 0.66 log10 bilirubin - 0.085 albumin (higher = worse)",
                   f"{_CF} §4.2, Johnson 2015 [C]"),
    "albi_grade": ("ALBI grade 1 (<= -2.60) / 2 / 3 (> -1.39)", f"{_CF} §4.2, Johnson 2015 [C]"),
    "malbi_grade": ("Modified ALBI grade 1 / 2a / 2b / 3 (grade 2 split at -2.27)",
                    f"{_CF} §4.2 [C concept; -2.27 cut-off U]"),
    "meld": ("Original MELD score 6-40 (higher = worse), unrounded; on anticoagulation with "
             "INR set to 1 (see inr_excluded)", f"{_CF} §4.3, Kamath 2001 [C]; §2.12 [U]"),
    "meld_na": ("MELD-Na 6-40 (higher = worse); missing when sodium is missing",
                f"{_CF} §4.3, OPTN/UNOS 2016 [C concept; formula U]"),
    "pvtt_grade": ("Portal-vein tumour thrombus Vp grade 0 (none) - 4 (main trunk)",
                   f"{_CF} §2.10 [C]"),
    "macrovascular_invasion": ("PVTT, hepatic-vein invasion or IVC thrombus",
                               f"{_CF} §1.1 [C], §1.2 [S]"),
    "extrahepatic_disease": ("Distant or lymph-node metastasis", f"{_CF} §1.1 [C], §1.2 [S]"),
    "bclc_stage": ("BCLC 2022 stage 0 / A / B / C / D", f"{_CF} §1.1, Reig 2022 [C]"),
    "cnlc_stage": ("CNLC stage Ia / Ib / IIa / IIb / IIIa / IIIb / IV",
                   f"{_CF} §1.2, CNLC 2019-2024 [S]"),
    "within_milan": ("Within Milan criteria (single <= 5 cm or 2-3 <= 3 cm; no MVI/EHS)",
                     f"{_CF} §2.2, Mazzaferro 1996 [C]"),
    "within_ucsf": ("Within UCSF criteria (single <= 6.5 cm or <= 3, largest <= 4.5, total "
                    "<= 8 cm); missing when the total diameter is needed and missing",
                    f"{_CF} §2.2, Yao 2001 [C]"),
    "within_up_to_seven": ("Largest diameter (cm) + number <= 7, no MVI/EHS",
                           f"{_CF} §2.2, §4.4, Mazzaferro 2009 [C]"),
    "tumor_burden_score": ("sqrt(largest diameter cm^2 + number^2) (higher = worse)",
                           f"{_CF} §4.4 [C]"),
    "afp_model_score": ("AFP model of Duvoux, points 0-9 (higher = more recurrence)",
                        f"{_CF} §2.2, Duvoux 2012 [C]"),
    "afp_model_high_risk": ("AFP model score > 2", f"{_CF} §2.2, Duvoux 2012 [C]"),
    "within_metroticket": ("Within Metroticket 2.0 (AFP-adjusted size + number limit)",
                           f"{_CF} §2.2, Mazzaferro 2018 [C]"),
    "clip_score": ("CLIP score 0-6 (higher = worse); missing without liver_involvement_pct",
                   f"{_CF} §4.4 [C]"),
    "hap_score": ("HAP score 0-4 (higher = worse under TACE)",
                  f"{_CF} §4.4, Kadalayil 2013 [C]"),
    "hap_class": ("HAP class A (0) / B (1) / C (2) / D (>= 3)", f"{_CF} §4.4 [C]"),
    "log10_afp": ("log10 AFP (ng/mL), floor 1 ng/mL", f"{_CF} §2.2, §4.4 (AFP cut-offs)"),
    "log10_hbv_dna": ("log10 HBV DNA (IU/mL), floor 10 IU/mL; missing when not measured",
                      "contract field hbv_dna_iu_ml"),
    "hbv_viremia": ("HBV DNA > 2000 IU/mL; missing when not measured",
                    "EASL 2017 HBV guideline [U: not in clinical-facts]"),
    "hbv_viremia_untreated": ("HBV DNA > 2000 IU/mL and no antiviral therapy",
                              "EASL 2017 HBV guideline [U: not in clinical-facts]"),
}
"""Every derived column: name -> (meaning with unit / values, source citation)."""

_KINDS = {
    "bilirubin_mg_dl": "float", "creatinine_mg_dl": "float", "inr_excluded": "bool",
    "child_pugh_points": "int",
    "child_pugh_class": liver.CHILD_PUGH_CLASSES, "albi_score": "float", "albi_grade": "int",
    "malbi_grade": liver.MALBI_GRADES, "meld": "float", "meld_na": "float", "pvtt_grade": "int",
    "macrovascular_invasion": "bool", "extrahepatic_disease": "bool",
    "bclc_stage": staging.BCLC_STAGES, "cnlc_stage": staging.CNLC_STAGES, "within_milan": "bool",
    "within_ucsf": "bool", "within_up_to_seven": "bool", "tumor_burden_score": "float",
    "afp_model_score": "int", "afp_model_high_risk": "bool", "within_metroticket": "bool",
    "clip_score": "int", "hap_score": "int", "hap_class": tumour.HAP_CLASSES,
    "log10_afp": "float", "log10_hbv_dna": "float", "hbv_viremia": "bool",
    "hbv_viremia_untreated": "bool",
}


def derived_kind(name: str):
    """Output type of a derived column: "float", "int", "bool" or its ordered category levels."""
    return _KINDS[name]


def _compute(x: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """All derived values as float arrays (categories as codes, NaN = missing)."""
    bili, alb = x["bilirubin_umol_l"], x["albumin_g_l"]
    # on therapeutic anticoagulation the INR measures the anticoagulant, not the liver: it is
    # left out of Child-Pugh (1 point) and MELD (INR 1); not recorded = used as measured
    excluded = x["on_anticoagulation"] == 1.0
    inr = np.where(excluded, 1.0, x["inr"])
    count, size, afp = x["tumor_count"], x["tumor_max_diameter_cm"], x["afp_ng_ml"]
    ecog, pvtt = x["ecog"], x["pvtt"]
    cp = liver._child_pugh_points(bili, alb, inr, x["ascites"], x["encephalopathy"])
    albi = liver._albi_score(bili, alb)
    meld = liver._meld(bili, x["creatinine_umol_l"], inr)
    mvi = tumour._macrovascular(pvtt, x["hepatic_vein_invasion"], x["ivc_thrombus"])
    ehs = tumour._extrahepatic(x["extrahepatic_spread"], x["lymph_node_metastasis"])
    afp_model = tumour._afp_model_score(count, size, afp)
    hap = tumour._hap_score(alb, afp, bili, size)
    return {
        "bilirubin_mg_dl": bili / liver.BILIRUBIN_UMOL_PER_MG_DL,
        "creatinine_mg_dl": x["creatinine_umol_l"] / liver.CREATININE_UMOL_PER_MG_DL,
        "inr_excluded": excluded.astype(float),
        "child_pugh_points": cp,
        "child_pugh_class": liver._child_pugh_class(cp),
        "albi_score": albi,
        "albi_grade": liver._albi_grade(albi),
        "malbi_grade": liver._malbi_grade(albi),
        "meld": meld,
        "meld_na": liver._meld_na(meld, x["sodium_mmol_l"]),
        "pvtt_grade": pvtt,
        "macrovascular_invasion": mvi,
        "extrahepatic_disease": ehs,
        "bclc_stage": staging._bclc_code(ecog, cp, mvi, ehs, count, size),
        "cnlc_stage": staging._cnlc_code(ecog, cp, mvi, ehs, count, size),
        "within_milan": tumour._within_milan(count, size, mvi, ehs),
        "within_ucsf": tumour._within_ucsf(count, size, x["tumor_sum_diameter_cm"], mvi, ehs),
        "within_up_to_seven": tumour._within_up_to_seven(count, size, mvi, ehs),
        "tumor_burden_score": tumour._tumor_burden_score(count, size),
        "afp_model_score": afp_model,
        "afp_model_high_risk": np.where(np.isnan(afp_model), np.nan, afp_model > 2),
        "within_metroticket": tumour._within_metroticket(count, size, afp, mvi, ehs),
        "clip_score": tumour._clip_score(cp, count, x["liver_involvement_pct"], afp, pvtt),
        "hap_score": hap,
        "hap_class": tumour._hap_class(hap),
        "log10_afp": markers._log10_floor(afp, markers.AFP_FLOOR_NG_ML),
        "log10_hbv_dna": markers._log10_floor(x["hbv_dna_iu_ml"], markers.HBV_DNA_FLOOR_IU_ML),
        "hbv_viremia": markers._viremia(x["hbv_dna_iu_ml"]),
        "hbv_viremia_untreated": markers._viremia_untreated(x["hbv_dna_iu_ml"],
                                                            x["antiviral_therapy"]),
    }


def _missing_required(present) -> None:
    missing = [f for f in _REQUIRED if f not in present]
    if missing:
        raise FeatureInputError(
            f"{', '.join(missing)}: expected required contract field(s) for derived scores, got "
            "no such column/key; hint: validate with features.contract.validate_cohort")


def _parse(get, n: int) -> dict[str, np.ndarray]:
    x = {}
    for name, mapping in _INPUTS.items():
        values = get(name)
        if values is None:
            x[name] = np.full(n, np.nan)
        elif mapping is None:
            x[name] = as_float(values, name)
        else:
            x[name] = as_level(values, mapping, name)
    return x


def _derive_record(record: Mapping) -> dict:
    _missing_required(record)
    x = _parse(lambda k: record.get(k), 1)
    out = dict(record)
    for name, values in _compute(x).items():
        out[name] = scalar(values[0], _KINDS[name])
    return out


def _derive_frame(frame: pd.DataFrame) -> pd.DataFrame:
    _missing_required(frame.columns)
    x = _parse(lambda k: frame[k] if k in frame.columns else None, len(frame))
    derived = pd.DataFrame({name: typed(v, _KINDS[name]) for name, v in _compute(x).items()},
                           index=frame.index)
    base = frame.drop(columns=[c for c in DERIVED_COLUMNS if c in frame.columns])
    return pd.concat([base, derived], axis=1)


def derive(frame):
    """Return a copy of a contract frame (or record) with every derived score added.

    Parameters
    ----------
    frame : DataFrame or mapping
        Contract columns, canonical or plain dtypes; extra columns are kept untouched. A mapping
        is one patient record (field -> python value, None = missing).

    Returns
    -------
    DataFrame or dict
        A copy with the columns of :data:`DERIVED_COLUMNS` added (replaced if already present):
        floats as float64, integer scores as nullable ``Int64``, flags as nullable ``boolean``,
        classes and stages as ordered ``Categorical``. For a mapping: a new dict with python
        values (float, int, bool, str; None = missing).

    Raises
    ------
    FeatureInputError
        A required input field is absent, a category is unknown or a number is not numeric.

    Notes
    -----
    Missing optional findings (hepatic-vein invasion, IVC thrombus, lymph nodes) count as absent;
    missing optional measurements (sodium, total tumour diameter, liver involvement, HBV DNA)
    leave the scores needing them missing. See :mod:`features.tumour` and
    :mod:`features.staging`.

    Examples
    --------
    >>> from features import derive
    >>> patient = {"age_years": 56, "sex": "male", "etiology": "hbv", "cirrhosis": True,
    ...            "ascites": "none", "encephalopathy": "none", "bilirubin_umol_l": 14.0,
    ...            "albumin_g_l": 42.0, "inr": 1.05, "creatinine_umol_l": 72.0,
    ...            "afp_ng_ml": 35.0, "tumor_count": 1, "tumor_max_diameter_cm": 2.8,
    ...            "pvtt": "none", "extrahepatic_spread": False, "ecog": 0}
    >>> scores = derive(patient)
    >>> scores["child_pugh_points"], scores["child_pugh_class"], scores["albi_grade"]
    (5, 'A', 1)
    >>> scores["bclc_stage"], scores["cnlc_stage"], scores["within_milan"]
    ('A', 'Ia', True)
    >>> derive(patient | {"pvtt": "vp3"})["bclc_stage"]     # macrovascular invasion
    'C'
    """
    if isinstance(frame, pd.DataFrame):
        return _derive_frame(frame)
    if isinstance(frame, Mapping):
        return _derive_record(frame)
    raise TypeError(f"derive: expected a pandas DataFrame or a mapping (one record), got "
                    f"{type(frame).__name__}; hint: pass pd.DataFrame(records) for several")
