"""Module paths of the flat ``pipeline/`` layout (before the rooms), kept importable.

Models registered before the re-layout carry a copy of their model code that imports, for
example, ``pipeline.recommendation.Preferences`` and ``pipeline.package.DEFAULT_EXAMPLE``; users'
scripts may do the same. A meta-path finder answers those names with a module whose attributes
are looked up in the new homes (:data:`MOVED`), with a :class:`DeprecationWarning` naming the new
path. Nothing is imported until an old name is asked for.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings

MOVED: dict[str, tuple[str, ...]] = {
    "pipeline.recommendation": ("pipeline.recommender.request",
                                "pipeline.recommender.recommendation"),
    "pipeline.ranking": ("pipeline.recommender.ranking",),
    "pipeline.outcomes": ("pipeline.recommender.predictions",),
    "pipeline.bundle": ("pipeline.recommender.bundle",),
    "pipeline.package": ("pipeline.serving.packaging",),
    "pipeline.asgi": ("pipeline.serving.rest",),
    "pipeline.cli": ("pipeline.serving.cli",),
    "pipeline.report": ("pipeline.serving.report",),
    "pipeline.params": ("pipeline.config",),
    "pipeline.simulate": ("pipeline.simulation.cohort",),
    "pipeline.simulate_population": ("pipeline.simulation.population",),
    "pipeline.simulate_outcomes": ("pipeline.simulation.potential_outcomes",),
    "pipeline.trials": ("pipeline.simulation.trials",),
    "pipeline.plots": ("pipeline.evaluation.plots",),
}
"""Old module name -> the modules that now hold its public names, searched in order."""


class _MovedModule(types.ModuleType):
    def __init__(self, name: str, homes: tuple[str, ...]):
        super().__init__(name, f"Moved: see {', '.join(homes)}.")
        self.__homes = homes

    def __getattr__(self, attr: str):
        for home in self.__homes:
            module = importlib.import_module(home)
            if hasattr(module, attr):
                warnings.warn(f"{self.__name__}.{attr} moved to {home}.{attr}",
                              DeprecationWarning, stacklevel=2)
                return getattr(module, attr)
        raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r} (it moved to "
                             f"{', '.join(self.__homes)})")


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        return _MovedModule(spec.name, MOVED[spec.name])

    def exec_module(self, module):
        return None


class MovedFinder(importlib.abc.MetaPathFinder):
    """Finds the old module names of :data:`MOVED` (and nothing else)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED:
            return importlib.machinery.ModuleSpec(fullname, _Loader())
        return None


def install() -> None:
    """Add the finder once (idempotent); called by ``pipeline/__init__.py``."""
    if not any(isinstance(f, MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedFinder())
