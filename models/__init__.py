"""Dataset-agnostic survival, response and counterfactual outcome models.

Public API: :class:`SurvivalModel`, :class:`ResponseModel`,
:class:`ModalityOutcomeModel`, peers :class:`CoxPHPeer` / :class:`RSFPeer`, and the
submodules :mod:`models.metrics`, :mod:`models.explain`, :mod:`models.checks`.
Imports are lazy so that ``import models`` stays light (no xgboost/shap at import).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "SurvivalModel": "survival",
    "ResponseModel": "response",
    "ModalityOutcomeModel": "counterfactual",
    "CoxPHPeer": "peers",
    "RSFPeer": "peers",
    "check_survival_curves": "checks",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")
