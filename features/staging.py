"""HCC staging: BCLC 2022 and China Liver Cancer staging (CNLC).

Both are total functions over valid contract records: every patient whose required fields are
present gets exactly one stage. Only required fields decide the stage (ECOG, Child-Pugh inputs,
tumour count and largest diameter, ``pvtt``, ``extrahepatic_spread``); the optional findings
``hepatic_vein_invasion``, ``ivc_thrombus`` and ``lymph_node_metastasis`` can only move a
patient to a more advanced stage and count as absent when missing (see :mod:`features.tumour`).
A stage is missing (pd.NA) only when a required input is itself missing.
"""

from __future__ import annotations

import numpy as np

from features._inputs import as_float, index_of, typed
from features._logic import na_where

BCLC_STAGES = ("0", "A", "B", "C", "D")
CNLC_STAGES = ("Ia", "Ib", "IIa", "IIb", "IIIa", "IIIb", "IV")


def _bclc_code(ecog, cp_points, mvi, ehs, count, size):
    terminal = (ecog >= 3) | (cp_points >= 10)
    advanced = (mvi == 1) | (ehs == 1) | (ecog >= 1)
    very_early = (count == 1) & (size <= 2.0)
    early = (count == 1) | ((count <= 3) & (size <= 3.0))
    code = np.select([terminal, advanced, very_early, early], [4.0, 3.0, 0.0, 1.0], 2.0)
    return na_where(code, ecog, cp_points, mvi, ehs, count, size)


def _cnlc_code(ecog, cp_points, mvi, ehs, count, size):
    few = (count >= 2) & (count <= 3)
    code = np.select(
        [(ecog >= 3) | (cp_points >= 10), ehs == 1, mvi == 1,
         (count == 1) & (size <= 5.0), (count == 1) | (few & (size <= 3.0)), few],
        [6.0, 5.0, 4.0, 0.0, 1.0, 2.0], 3.0)
    return na_where(code, ecog, cp_points, mvi, ehs, count, size)


def bclc_stage(ecog, child_pugh_points, macrovascular_invasion, extrahepatic_disease,
               tumor_count, tumor_max_diameter_cm):
    """BCLC 2022 stage "0", "A", "B", "C" or "D" (later letter = more advanced).

    clinical-facts §1.1 (Reig et al., J Hepatol 2022 [C]; decision pseudo-code), in order:

    1. D: ECOG >= 3 or Child-Pugh C (end-stage liver function);
    2. C: macrovascular invasion or extrahepatic disease or ECOG 1-2;
    3. 0: single nodule <= 2 cm;
    4. A: single nodule (any size) or <= 3 nodules each <= 3 cm;
    5. B: otherwise (multinodular beyond A).

    Encoding choices (the pseudo-code's, documented because BCLC 2022 is not explicit):
    "end-stage liver function" = Child-Pugh C (>= 10 points), so Child-Pugh B is staged by
    tumour; every ECOG 1-2 counts (the data cannot tell cancer-related PS); cut-offs are
    inclusive (exactly 2.0 cm single -> 0, exactly 3.0 cm with 2-3 nodules -> A).

    Returns
    -------
    ordered Categorical ("0" < "A" < "B" < "C" < "D") or Series of it.
    """
    idx = index_of(ecog, child_pugh_points, macrovascular_invasion, extrahepatic_disease,
                   tumor_count, tumor_max_diameter_cm)
    code = _bclc_code(as_float(ecog, "ecog"), as_float(child_pugh_points, "child_pugh_points"),
                      as_float(macrovascular_invasion, "macrovascular_invasion"),
                      as_float(extrahepatic_disease, "extrahepatic_disease"),
                      as_float(tumor_count, "tumor_count"),
                      as_float(tumor_max_diameter_cm, "tumor_max_diameter_cm"))
    return typed(code, BCLC_STAGES, idx)


def cnlc_stage(ecog, child_pugh_points, macrovascular_invasion, extrahepatic_disease,
               tumor_count, tumor_max_diameter_cm):
    """China Liver Cancer stage "Ia" ... "IV" (later = more advanced).

    clinical-facts §1.2 (CNLC 2019-2024 editions [S]), in order:

    1. IV: ECOG 3-4 or Child-Pugh C (the gate for I-III is ECOG 0-2 and Child-Pugh A/B);
    2. IIIb: extrahepatic metastasis (any vascular status);
    3. IIIa: macrovascular tumour thrombus (portal / hepatic vein / IVC);
    4. Ia: single nodule <= 5 cm;
    5. Ib: single nodule > 5 cm, or 2-3 nodules with the largest <= 3 cm;
    6. IIa: 2-3 nodules with the largest > 3 cm;
    7. IIb: >= 4 nodules (any size).

    Cut-offs are inclusive as published: exactly 5.0 cm single -> Ia, exactly 3.0 cm with 2-3
    nodules -> Ib. Extrahepatic disease includes lymph-node metastasis.

    Returns
    -------
    ordered Categorical ("Ia" < "Ib" < "IIa" < "IIb" < "IIIa" < "IIIb" < "IV") or Series of it.
    """
    idx = index_of(ecog, child_pugh_points, macrovascular_invasion, extrahepatic_disease,
                   tumor_count, tumor_max_diameter_cm)
    code = _cnlc_code(as_float(ecog, "ecog"), as_float(child_pugh_points, "child_pugh_points"),
                      as_float(macrovascular_invasion, "macrovascular_invasion"),
                      as_float(extrahepatic_disease, "extrahepatic_disease"),
                      as_float(tumor_count, "tumor_count"),
                      as_float(tumor_max_diameter_cm, "tumor_max_diameter_cm"))
    return typed(code, CNLC_STAGES, idx)
