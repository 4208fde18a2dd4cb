"""Patient features: the contract (``features.contract``), derived clinical scores
(``features.derive``) and the model matrix (``features.ModelMatrix``).

Pure functions; nothing here reads files.
"""

from features._inputs import FeatureInputError as FeatureInputError
from features.derive import DERIVED_COLUMNS as DERIVED_COLUMNS
from features.derive import derive as derive


def __getattr__(name):
    # ModelMatrix pulls in scikit-learn: import it only when asked for (light `import features`).
    if name == "ModelMatrix":
        from features.matrix import ModelMatrix

        return ModelMatrix
    raise AttributeError(f"module 'features' has no attribute {name!r}")
