"""Serum markers: AFP and HBV DNA on a log scale, and HBV viraemia flags.

AFP and HBV DNA span 7-10 orders of magnitude; their log10 is the model-friendly form. A floor
keeps zero (undetectable) values finite.
"""

from __future__ import annotations

import numpy as np

from features._inputs import as_float, index_of, typed
from features._logic import flag, k_and, k_not

AFP_FLOOR_NG_ML = 1.0
"""AFP below 1 ng/mL is set to 1 before log10 (so log10_afp >= 0); a numerical floor only."""

HBV_DNA_FLOOR_IU_ML = 10.0
"""HBV DNA below 10 IU/mL (a usual lower limit of quantification, [U]) is set to 10 before log10."""

HBV_VIREMIA_IU_ML = 2000.0
"""HBV DNA above 2000 IU/mL = active viraemia (EASL 2017 HBV guideline threshold; [U], the number
is not in the clinical-facts file)."""


def _log10_floor(values, floor):
    with np.errstate(invalid="ignore"):
        return np.log10(np.maximum(values, floor))  # NaN stays NaN


def log10_afp(afp_ng_ml):
    """log10 of AFP (ng/mL) with a floor of 1 ng/mL; 0 to 7, higher = worse prognosis.

    AFP cut-offs of 100, 200, 400 and 1000 ng/mL recur in clinical-facts §2.2 and §4.4 (log10:
    2, 2.3, 2.6, 3).
    """
    return typed(_log10_floor(as_float(afp_ng_ml, "afp_ng_ml"), AFP_FLOOR_NG_ML), "float",
                 index_of(afp_ng_ml))


def log10_hbv_dna(hbv_dna_iu_ml):
    """log10 of HBV DNA (IU/mL) with a floor of 10 IU/mL; 1 to 10; missing stays NaN.

    Viral replication activity of the background liver disease (contract field
    ``hbv_dna_iu_ml``; clinical-facts §5.1 for HBV prevalence).
    """
    return typed(_log10_floor(as_float(hbv_dna_iu_ml, "hbv_dna_iu_ml"), HBV_DNA_FLOOR_IU_ML),
                 "float", index_of(hbv_dna_iu_ml))


def _viremia(dna):
    return flag(dna > HBV_VIREMIA_IU_ML, dna)


def _viremia_untreated(dna, antiviral):
    return k_and(_viremia(dna), k_not(antiviral))


def hbv_viremia(hbv_dna_iu_ml):
    """HBV viraemia: HBV DNA > 2000 IU/mL (exactly 2000 is not viraemic); pd.NA when missing.

    Threshold from the EASL 2017 HBV guideline ([U]: not in the clinical-facts file).
    """
    return typed(_viremia(as_float(hbv_dna_iu_ml, "hbv_dna_iu_ml")), "bool",
                 index_of(hbv_dna_iu_ml))


def hbv_viremia_untreated(hbv_dna_iu_ml, antiviral_therapy):
    """Viraemia (HBV DNA > 2000 IU/mL) without antiviral therapy.

    Kleene logic: False when DNA <= 2000 or on antivirals; pd.NA when the deciding input is
    missing (DNA missing, or viraemic with antiviral status missing).
    """
    idx = index_of(hbv_dna_iu_ml, antiviral_therapy)
    return typed(_viremia_untreated(as_float(hbv_dna_iu_ml, "hbv_dna_iu_ml"),
                                    as_float(antiviral_therapy, "antiviral_therapy")), "bool", idx)
