"""Patient features: the contract (``features.contract``), derived clinical scores
(:func:`features.derive`, module ``features.derivation``) and the model matrix
(``features.ModelMatrix``).

Pure functions; nothing here reads files.
"""

from features._inputs import FeatureInputError as FeatureInputError
from features.derivation import DERIVED_COLUMNS as DERIVED_COLUMNS
from features.derivation import derive as derive


def __getattr__(name):
    # ModelMatrix pulls in scikit-learn: import it only when asked for (light `import features`).
    if name == "ModelMatrix":
        from features.matrix import ModelMatrix

        return ModelMatrix
    raise AttributeError(f"module 'features' has no attribute {name!r}")
