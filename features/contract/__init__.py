"""The patient record contract (v1), implemented once.

Every entry point (a cohort file, the synthetic generator, ``recommend()``, the CLI and the REST
endpoint) validates through this package. Its modules form a chain without a cycle:

* :mod:`~features.contract.schema`: the fields (:data:`FIELDS`), vocabularies (:data:`MODALITIES`,
  :data:`COST_TIERS` ...) and :func:`pandera_schema`; imports nothing of the project;
* :mod:`~features.contract.problems`: :class:`Problem`, :class:`RequestError` and
  :class:`InvalidPatientError`;
* :mod:`~features.contract.parsing`: the coercion rules (missing values, numbers, booleans,
  categories) every reader of patient values shares;
* :mod:`~features.contract.suggest`: :func:`suggest_field`, the contract field a misspelt record
  key or column name was meant to be (one implementation for both);
* :mod:`~features.contract.validation`: :func:`validate_record`, :func:`validate_cohort` and
  :func:`coerce_frame`, built on the four above.

``from features.contract import X`` is the one place to look for every public name.
"""

from features.contract.problems import InvalidPatientError, Problem, RequestError
from features.contract.schema import (
    COLUMN_UNIT_MIN_VALUES,
    COLUMN_UNIT_SHARE,
    CONTRACT_VERSION,
    COST_TIERS,
    FIELDS,
    MODALITIES,
    MODALITY_LABELS,
    OUTCOME_FIELDS,
    PATIENT_FIELDS,
    PREDICTOR_FIELDS,
    FieldSpec,
    UnitHint,
    pandera_schema,
)
from features.contract.suggest import suggest_field
from features.contract.validation import (
    CohortValidation,
    coerce_frame,
    validate_cohort,
    validate_record,
)

__all__ = [
    "COLUMN_UNIT_MIN_VALUES",
    "COLUMN_UNIT_SHARE",
    "COST_TIERS",
    "CONTRACT_VERSION",
    "FIELDS",
    "MODALITIES",
    "MODALITY_LABELS",
    "OUTCOME_FIELDS",
    "PATIENT_FIELDS",
    "PREDICTOR_FIELDS",
    "CohortValidation",
    "FieldSpec",
    "InvalidPatientError",
    "Problem",
    "RequestError",
    "UnitHint",
    "coerce_frame",
    "pandera_schema",
    "suggest_field",
    "validate_cohort",
    "validate_record",
]
