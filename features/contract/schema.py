"""The patient record contract (v1): the fields and vocabularies, stated once.

:data:`FIELDS` is the single definition: names, types, units, plausible ranges, categories and
whether a field is required. Everything else in :mod:`features.contract` is driven by it:
validation (:mod:`features.contract.validation`), coercion rules
(:mod:`features.contract.parsing`) and :func:`pandera_schema`, the same contract as a pandera
``DataFrameSchema`` for users who want it.

This module imports nothing of the project (only the standard library; pandera lazily), so any
floor may depend on it.

Units are SI as Chinese and European laboratories report them (bilirubin umol/L, albumin g/L).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

MODALITIES: tuple[str, ...] = (
    "resection",
    "transplant",
    "ablation",
    "tace",
    "tace_radiotherapy",
    "radiotherapy",
    "targeted",
    "immunotherapy",
    "chemotherapy",
    "supportive_care",
)
"""The modality vocabulary of the contract, in a fixed order used for every per-modality array."""

MODALITY_LABELS = MappingProxyType(
    {
        "resection": "Partial hepatectomy",
        "transplant": "Liver transplantation",
        "ablation": "Local ablation (RFA/MWA)",
        "tace": "TACE",
        "tace_radiotherapy": "TACE + radiotherapy",
        "radiotherapy": "External-beam RT / SBRT",
        "targeted": "Sorafenib or lenvatinib",
        "immunotherapy": "Atezolizumab + bevacizumab",
        "chemotherapy": "FOLFOX4",
        "supportive_care": "Best supportive care",
    }
)

COST_TIERS: tuple[str, ...] = ("low", "middle", "high")


@dataclass(frozen=True)
class UnitHint:
    """A value range that is implausible in the contract unit but typical of another unit.

    ``low``/``high`` bound the values (``low <= v < high``) that get ``message`` as the hint of
    their per-value problem. ``column`` (``(low, high)`` or None) is the range checked on a whole
    cohort column: when at least :data:`COLUMN_UNIT_SHARE` of a column's values (and at least
    :data:`COLUMN_UNIT_MIN_VALUES` of them) lie in it, the column as a whole is taken to be in the
    other unit, including its values that pass the per-value range (bilirubin in mg/dL is valid
    in umol/L from 1.0 up). It reaches into the plausible contract range only where a cohort's
    share there would be implausible (a quarter of a cohort below 5 umol/L bilirubin).
    """

    low: float
    high: float
    message: str
    column: tuple[float, float] | None = None


COLUMN_UNIT_MIN_VALUES = 20
"""Non-missing values a column needs before its distribution is judged (never a single record)."""
COLUMN_UNIT_SHARE = 0.25
"""Share of a column's values in :attr:`UnitHint.column` that flags the whole column."""


@dataclass(frozen=True)
class FieldSpec:
    """One field of the patient contract.

    ``kind`` is one of ``number``, ``integer``, ``category``, ``boolean``, ``string``. ``low`` and
    ``high`` bound numbers (inclusive unless ``low_exclusive``). ``group`` is ``patient`` for
    fields describing the patient and ``outcome`` for treatment and outcome fields, which only
    training and evaluation rows carry.
    """

    name: str
    kind: str
    unit: str
    required: bool
    low: float | None = None
    high: float | None = None
    categories: tuple[str, ...] | None = None
    group: str = "patient"
    description: str = ""
    low_exclusive: bool = False
    hints: tuple[UnitHint, ...] = field(default_factory=tuple)

    @property
    def expectation(self) -> str:
        """Human-readable expectation: type, unit and range or allowed values."""
        if self.kind == "category":
            return "one of " + ", ".join(self.categories or ())
        if self.kind == "boolean":
            return "true or false"
        if self.kind == "string":
            return "a non-empty string"
        what = "an integer" if self.kind == "integer" else "a number"
        lo = "" if self.low is None else f"{'>' if self.low_exclusive else ''}{self.low:g}"
        rng = ""
        if self.low is not None and self.high is not None and not self.low_exclusive:
            rng = f" from {self.low:g} to {self.high:g}"
        elif self.low is not None and self.high is None:
            rng = f" {'>' if self.low_exclusive else '>='} {self.low:g}"
        elif self.low is not None:
            rng = f" in ({lo}, {self.high:g}]"
        unit = f" {self.unit}" if self.unit else ""
        return f"{what}{rng}{unit}".rstrip()


def _f(name, kind, unit, required, low=None, high=None, categories=None, **kw) -> FieldSpec:
    return FieldSpec(name, kind, unit, required, low, high, categories, **kw)


_DL = "looks like {unit}; the contract wants {want} (multiply by {k})"
_UL = "looks like a count per uL; the contract wants 10^9/L (divide by 1000)"
# Column ranges (UnitHint.column): bilirubin below 5 umol/L (0.3 mg/dL), albumin below 10 g/L,
# creatinine below 20 umol/L (0.23 mg/dL) and haemoglobin below 30 g/L are each below the
# normal range; a quarter of a cohort there is a unit, not a cohort.
# ICG-R15 has none: a fraction (0-1) and a low percentage overlap.

_FIELD_LIST: tuple[FieldSpec, ...] = (
    # Demographics and social
    _f("patient_id", "string", "", False, description="pseudonymous identifier (never logged)"),
    _f("age_years", "number", "years", True, 18, 100),
    _f("sex", "category", "", True, categories=("male", "female")),
    _f("economic_status", "category", "", False, categories=COST_TIERS),
    # Liver background
    _f("etiology", "category", "", True,
       categories=("hbv", "hcv", "hbv_hcv", "alcohol", "masld", "other")),
    _f("hbv_dna_iu_ml", "number", "IU/mL", False, 0, 1e10),
    _f("antiviral_therapy", "boolean", "", False),
    _f("cirrhosis", "boolean", "", True),
    _f("ascites", "category", "", True, categories=("none", "mild", "moderate_severe")),
    _f("encephalopathy", "category", "", True, categories=("none", "grade_1_2", "grade_3_4")),
    _f("varices", "category", "", False,
       categories=("none", "small", "large_untreated", "treated")),
    _f("prior_variceal_bleeding", "boolean", "", False),
    _f("portal_hypertension", "boolean", "", False),
    _f("icg_r15_pct", "number", "%", False, 0, 100,
       hints=(UnitHint(0, 1, "looks like a fraction; the contract wants percent (multiply by 100)"),)),
    # Laboratory values
    _f("bilirubin_umol_l", "number", "umol/L", True, 1, 1000,
       hints=(UnitHint(0.05, 1, _DL.format(unit="mg/dL", want="umol/L", k=17.1), (0.05, 5)),)),
    _f("albumin_g_l", "number", "g/L", True, 10, 60,
       hints=(UnitHint(1, 7, _DL.format(unit="g/dL", want="g/L", k=10), (1, 10)),)),
    _f("inr", "number", "ratio", True, 0.7, 10,
       hints=(UnitHint(10, 200, "looks like a prothrombin time in seconds; the contract wants the INR",
                       (10, 200)),)),
    _f("creatinine_umol_l", "number", "umol/L", True, 10, 2000,
       hints=(UnitHint(0.1, 10, _DL.format(unit="mg/dL", want="umol/L", k=88.4), (0.1, 20)),)),
    _f("platelets_10e9_l", "number", "10^9/L", True, 1, 2000,
       hints=(UnitHint(2000, 2e6, _UL, (2000, 2e6)),)),
    _f("afp_ng_ml", "number", "ng/mL", True, 0, 1e7),
    _f("sodium_mmol_l", "number", "mmol/L", False, 100, 170),
    _f("neutrophils_10e9_l", "number", "10^9/L", False, 0, 100,
       hints=(UnitHint(100, 1e5, _UL, (100, 1e5)),)),
    _f("hemoglobin_g_l", "number", "g/L", False, 30, 250,
       hints=(UnitHint(3, 25, _DL.format(unit="g/dL", want="g/L", k=10), (3, 30)),)),
    _f("ast_u_l", "number", "U/L", False, 1, 20000),
    _f("alt_u_l", "number", "U/L", False, 1, 20000),
    # Tumour
    _f("tumor_count", "integer", "nodules", True, 1, 50),
    _f("tumor_max_diameter_cm", "number", "cm", True, 0.1, 30,
       hints=(UnitHint(30, 300, "looks like millimetres; the contract wants cm (divide by 10)",
                       (30, 300)),)),
    _f("tumor_sum_diameter_cm", "number", "cm", False, 0.1, 1500,
       description="sum over nodules, at least tumor_max_diameter_cm"),
    _f("liver_involvement_pct", "number", "%", False, 0, 100),
    _f("bilobar", "boolean", "", False),
    _f("near_major_vessel_or_duct", "boolean", "", False),
    _f("pvtt", "category", "", True, categories=("none", "vp1", "vp2", "vp3", "vp4")),
    _f("hepatic_vein_invasion", "boolean", "", False),
    _f("ivc_thrombus", "boolean", "", False),
    _f("bile_duct_invasion", "boolean", "", False),
    _f("extrahepatic_spread", "boolean", "", True),
    _f("lymph_node_metastasis", "boolean", "", False),
    # Performance status and comorbidity
    _f("ecog", "integer", "ECOG grade", True, 0, 4),
    _f("autoimmune_disease", "boolean", "", False),
    _f("prior_liver_transplant", "boolean", "", False),
    _f("recent_cardiovascular_event", "boolean", "", False),
    _f("on_anticoagulation", "boolean", "", False),
    # Treatment and outcomes (training and evaluation rows only)
    _f("modality", "category", "", True, categories=MODALITIES, group="outcome"),
    _f("os_months", "number", "months", True, 0, None, group="outcome", low_exclusive=True),
    _f("death", "boolean", "", True, group="outcome"),
    _f("response", "category", "", False, categories=("cr", "pr", "sd", "pd"), group="outcome"),
    _f("pfs_months", "number", "months", False, 0, None, group="outcome", low_exclusive=True,
       description="at most os_months"),
    _f("progression", "boolean", "", False, group="outcome"),
)

FIELDS = MappingProxyType({f.name: f for f in _FIELD_LIST})
"""Every contract field by name, in contract order."""

PATIENT_FIELDS: tuple[str, ...] = tuple(f.name for f in _FIELD_LIST if f.group == "patient")
OUTCOME_FIELDS: tuple[str, ...] = tuple(f.name for f in _FIELD_LIST if f.group == "outcome")
PREDICTOR_FIELDS: tuple[str, ...] = tuple(n for n in PATIENT_FIELDS if n != "patient_id")
"""Patient fields that may inform a model (everything but the identifier)."""

CONTRACT_VERSION = "1"


def pandera_schema(outcomes: bool = False):
    """The contract as a pandera ``DataFrameSchema`` (for users who validate with pandera).

    Built from :data:`FIELDS`, so it states the same names, types, ranges and categories as
    :func:`features.contract.validate_cohort`. It checks a frame in canonical dtypes (see
    :func:`features.contract.coerce_frame`); row-level reporting with unit hints is
    :func:`~features.contract.validate_cohort`'s job.
    """
    import pandera.pandas as pa

    columns = {}
    for spec in FIELDS.values():
        if spec.group == "outcome" and not outcomes:
            continue
        checks = []
        if spec.kind in ("number", "integer"):
            if spec.low is not None:
                checks.append(pa.Check.gt(spec.low) if spec.low_exclusive else pa.Check.ge(spec.low))
            if spec.high is not None:
                checks.append(pa.Check.le(spec.high))
        elif spec.kind == "category":
            checks.append(pa.Check.isin(list(spec.categories)))
        elif spec.kind == "string":
            checks.append(pa.Check.str_length(min_value=1))
        nullable = not spec.required or spec.name == "patient_id"
        columns[spec.name] = pa.Column(checks=checks, nullable=nullable, required=spec.required)
    return pa.DataFrameSchema(columns, strict=False, coerce=False, name="hcc-patient-contract-v1")
