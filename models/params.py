"""scikit-learn's parameter convention for the estimators of :mod:`models`, without importing
scikit-learn: ``__init__`` stores keyword parameters only; ``get_params``/``set_params`` read
and write them by name."""

from __future__ import annotations

from .errors import ModelInputError


class ParamsMixin:
    """``get_params``/``set_params`` from the keyword parameters of ``__init__``."""

    def get_params(self, deep: bool = True) -> dict:
        """Constructor parameters (scikit-learn convention)."""
        code = type(self).__init__.__code__
        names = code.co_varnames[1 : code.co_argcount + code.co_kwonlyargcount]
        return {k: getattr(self, k) for k in names}

    def set_params(self, **params):
        """Set constructor parameters by name; an unknown name is an error naming the choices."""
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise ModelInputError(
                    f"The '{key}' parameter of set_params is not a parameter of "
                    f"{type(self).__name__}. Expected one of {sorted(valid)}.")
            setattr(self, key, value)
        return self
