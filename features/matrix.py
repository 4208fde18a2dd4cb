"""``ModelMatrix``: the one numeric design matrix every model sees.

A scikit-learn transformer from a contract frame (or one record) to a float64 DataFrame whose
columns are fixed by the contract, not by the data: the same patient gives the same row alone or
inside any cohort, and a category absent from a training cohort still has its column. Missing
values stay NaN (no imputation; tree models handle them). Identifiers, outcome fields and unknown
extra columns never enter the matrix.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from features import markers
from features._inputs import FeatureInputError, as_float, as_level
from features.derivation import DERIVED_COLUMNS, derive, derived_kind

ORDINAL_FIELDS = ("economic_status", "ascites", "encephalopathy", "varices", "pvtt")
"""Ordered contract categories, encoded as their position in the contract's category list."""

NOMINAL_FIELDS = ("sex", "etiology")
"""Unordered contract categories, one-hot over all contract categories."""

LOG10_FIELDS = {"afp_ng_ml": ("log10_afp", markers.AFP_FLOOR_NG_ML),
                "hbv_dna_iu_ml": ("log10_hbv_dna", markers.HBV_DNA_FLOOR_IU_ML)}
"""Skewed contract numbers entered as log10 (output column name, floor before the log)."""

MATRIX_DERIVED = (
    "child_pugh_points", "albi_score", "albi_grade", "malbi_grade", "meld", "meld_na",
    "macrovascular_invasion", "extrahepatic_disease", "bclc_stage", "cnlc_stage", "within_milan",
    "within_ucsf", "within_up_to_seven", "tumor_burden_score", "afp_model_score",
    "within_metroticket", "clip_score", "hap_score", "hbv_viremia",
)
"""Derived scores in the matrix. Left out as exact duplicates of other columns: unit
conversions, Child-Pugh / HAP class (= binned points), pvtt_grade (= the pvtt column), the
log10 markers (already the AFP / HBV DNA columns) and thresholded flags of included scores."""

_FIELD_LABELS = {
    "age_years": "Age (years)", "sex": "Sex", "economic_status": "Economic status",
    "etiology": "Aetiology of liver disease", "hbv_dna_iu_ml": "HBV DNA (log10 IU/mL)",
    "antiviral_therapy": "On antiviral therapy", "cirrhosis": "Cirrhosis",
    "ascites": "Ascites", "encephalopathy": "Hepatic encephalopathy",
    "varices": "Oesophageal varices", "prior_variceal_bleeding": "Prior variceal bleeding",
    "portal_hypertension": "Clinically significant portal hypertension",
    "icg_r15_pct": "ICG retention at 15 min (%)", "bilirubin_umol_l": "Bilirubin (umol/L)",
    "albumin_g_l": "Albumin (g/L)", "inr": "INR", "creatinine_umol_l": "Creatinine (umol/L)",
    "platelets_10e9_l": "Platelets (10^9/L)", "afp_ng_ml": "AFP (log10 ng/mL)",
    "sodium_mmol_l": "Sodium (mmol/L)", "neutrophils_10e9_l": "Neutrophils (10^9/L)",
    "hemoglobin_g_l": "Haemoglobin (g/L)", "ast_u_l": "AST (U/L)", "alt_u_l": "ALT (U/L)",
    "tumor_count": "Number of nodules", "tumor_max_diameter_cm": "Largest nodule (cm)",
    "tumor_sum_diameter_cm": "Sum of nodule diameters (cm)",
    "liver_involvement_pct": "Liver replaced by tumour (%)", "bilobar": "Bilobar disease",
    "near_major_vessel_or_duct": "Nodule near a major vessel or duct",
    "pvtt": "Portal-vein tumour thrombus (Vp grade)",
    "hepatic_vein_invasion": "Hepatic-vein invasion", "ivc_thrombus": "IVC tumour thrombus",
    "bile_duct_invasion": "Bile-duct invasion", "extrahepatic_spread": "Distant metastasis",
    "lymph_node_metastasis": "Lymph-node metastasis", "ecog": "ECOG performance status",
    "autoimmune_disease": "Autoimmune disease", "prior_liver_transplant": "Prior liver transplant",
    "recent_cardiovascular_event": "Recent MI or stroke",
    "on_anticoagulation": "On therapeutic anticoagulation",
}


def _plan(exclude, include_derived):
    """(column, group, encoding, argument) for every output column, in output order."""
    from features.contract import FIELDS

    plan = []
    for spec in FIELDS.values():
        if spec.group != "patient" or spec.kind == "string" or spec.name in exclude:
            continue
        name = spec.name
        if name in LOG10_FIELDS:
            column, floor = LOG10_FIELDS[name]
            plan.append((column, name, "log10", floor))
        elif spec.kind in ("number", "integer", "boolean"):
            plan.append((name, name, spec.kind, None))
        elif spec.kind == "category" and name in ORDINAL_FIELDS:
            plan.append((name, name, "ordinal", {c: i for i, c in enumerate(spec.categories)}))
        elif spec.kind == "category":  # nominal (NOMINAL_FIELDS and any later contract category)
            levels = {c: i for i, c in enumerate(spec.categories)}
            for category in spec.categories:
                plan.append((f"{name}_{category}", name, "onehot", (levels, category)))
    if include_derived:
        for name in MATRIX_DERIVED:
            if name not in exclude:
                kind = derived_kind(name)
                levels = None if isinstance(kind, str) else {c: i for i, c in enumerate(kind)}
                plan.append((name, name, "derived", levels))
    return plan


def _encoding_text(encoding, arg) -> str:
    if encoding == "log10":
        return f"log10, floor {arg:g}"
    if encoding in ("ordinal", "derived") and arg:
        return "ordinal code " + ", ".join(f"{c}={i}" for c, i in arg.items())
    if encoding == "onehot":
        return f"1 if {arg[1]}, else 0"
    if encoding == "boolean":
        return "1 = yes, 0 = no"
    return "as is"


class ModelMatrix(TransformerMixin, BaseEstimator):
    """Contract frame -> fixed-column float64 design matrix (NaN = missing, no imputation).

    Columns, in this order: the contract's patient fields in contract order (numbers as is,
    AFP and HBV DNA as log10 with a floor, booleans 0/1, ordered categories as ordinal codes,
    ``sex`` and ``etiology`` one-hot over every contract category), then the derived scores of
    :data:`MATRIX_DERIVED` (flags 0/1, grades and stages as ordinal codes). Never included:
    ``patient_id``, outcome fields, unknown extra columns. ``transform`` always returns a pandas
    DataFrame (index kept); ``set_output(transform="pandas")`` is supported as well.

    Parameters
    ----------
    include_derived : bool, default True
        Append the derived clinical scores (computed by :func:`features.derive` when absent).
    exclude : tuple of str, default ()
        Contract fields or derived-score names to leave out (for example ``("economic_status",)``).

    Attributes
    ----------
    feature_names_out_ : ndarray of str
        Output columns, in order.
    feature_groups_ : dict
        Output column -> contract field or derived-score name it comes from (sum SHAP values of a
        group, for example the one-hot ``etiology_*`` columns, to explain the field).
    group_labels_ : dict
        Group -> human-readable label for reports.
    n_features_out_ : int
    """

    def __init__(self, include_derived=True, exclude=()):
        self.include_derived = include_derived
        self.exclude = exclude

    def fit(self, frame, y=None):
        """Record the output columns (fixed by the contract; ``frame`` is only type-checked)."""
        from features.contract import FIELDS, PREDICTOR_FIELDS

        _check_input(frame)
        exclude = (self.exclude,) if isinstance(self.exclude, str) else tuple(self.exclude)
        unknown = [e for e in exclude if e not in PREDICTOR_FIELDS and e not in MATRIX_DERIVED]
        if unknown:
            raise ValueError(
                f"The 'exclude' parameter of ModelMatrix must name contract patient fields or "
                f"derived scores of MATRIX_DERIVED. Got {unknown!r} instead.")
        plan = _plan(set(exclude), bool(self.include_derived))
        self._plan_ = plan
        self.feature_names_out_ = np.array([p[0] for p in plan], dtype=object)
        self.feature_groups_ = {p[0]: p[1] for p in plan}
        self.group_labels_ = {}
        for _, group, _, _ in plan:
            if group in DERIVED_COLUMNS and group not in FIELDS:
                self.group_labels_[group] = DERIVED_COLUMNS[group][0]
            else:
                self.group_labels_[group] = _FIELD_LABELS.get(group, group)
        self.n_features_out_ = len(plan)
        return self

    def transform(self, frame) -> pd.DataFrame:
        """Encode ``frame`` (DataFrame, or one record as a mapping) as a float64 DataFrame.

        The index of ``frame`` is kept (a record gets index ``[0]``).
        """
        check_is_fitted(self, "feature_names_out_")
        _check_input(frame)
        if self.include_derived and not all(c in frame for c in MATRIX_DERIVED):
            frame = derive(frame)
        if isinstance(frame, pd.DataFrame):
            n, index = len(frame), frame.index
        else:  # one record: python scalars, no intermediate frame (the serving path)
            n, index = 1, pd.RangeIndex(1)
        out = np.empty((n, len(self._plan_)))
        codes_of: dict[str, np.ndarray] = {}  # one lookup per one-hot field, not per column
        for j, (_, group, encoding, arg) in enumerate(self._plan_):
            values = frame[group] if group in frame else None
            if values is None:
                out[:, j] = np.nan
            elif encoding == "log10":
                out[:, j] = markers._log10_floor(as_float(values, group), arg)
            elif encoding == "onehot":
                levels, category = arg
                if group not in codes_of:
                    codes_of[group] = as_level(values, levels, group)
                codes = codes_of[group]
                out[:, j] = np.where(np.isnan(codes), np.nan, codes == levels[category])
            elif arg is None:  # numbers, integers, booleans, numeric derived scores
                out[:, j] = as_float(values, group)
            else:  # ordinal contract categories, derived grades and stages
                out[:, j] = as_level(values, arg, group)
        return pd.DataFrame(out, columns=list(self.feature_names_out_), index=index)

    def get_feature_names_out(self, input_features=None):
        """Output column names (``input_features`` is ignored: the columns are fixed)."""
        check_is_fitted(self, "feature_names_out_")
        return np.asarray(self.feature_names_out_, dtype=object)

    def describe(self) -> pd.DataFrame:
        """One row per output column: column, group, group label, encoding."""
        check_is_fitted(self, "feature_names_out_")
        return pd.DataFrame(
            [(c, g, self.group_labels_[g], _encoding_text(e, a)) for c, g, e, a in self._plan_],
            columns=["column", "group", "label", "encoding"])

    def sum_by_group(self, values) -> pd.DataFrame:
        """Sum per-column values (for example SHAP values, n x n_features_out) within groups.

        Returns a DataFrame with one column per group, in output order.
        """
        check_is_fitted(self, "feature_names_out_")
        index = values.index if isinstance(values, pd.DataFrame) else None
        frame = pd.DataFrame(np.asarray(values, dtype=float),
                             columns=list(self.feature_names_out_), index=index)
        groups = [self.feature_groups_[c] for c in frame.columns]
        return frame.T.groupby(groups, sort=False).sum().T


def _check_input(frame) -> None:
    if not isinstance(frame, pd.DataFrame | Mapping):
        raise FeatureInputError(
            f"frame: expected a pandas DataFrame or a mapping (one record), got "
            f"{type(frame).__name__}; hint: pd.DataFrame(records)")
