"""The house rules of the layout (issue 11), checked on the source with ``ast``.

* no import cycle between project modules (function-level imports included; importing one's
  own parent package is not a cycle);
* no module over 500 lines;
* no function or class of a package's ``__init__`` shares a name with a module of that package
  (``features.derive`` the function once hid the module ``features/derive.py``);
* the runtime (``pipeline.recommender``, ``pipeline.serving``) never imports a DVC stage;
* every module path of the earlier flat layout still imports (registered models and scripts);
* no two modules share a name, and the tests mirror the rooms.
"""

from __future__ import annotations

import ast
import importlib
import warnings

import pytest
from import_graph import PACKAGES, ROOT, closure, imported_modules, module_name, project_modules

MAX_LINES = 500


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in project_modules():
        name = module_name(path)
        graph[name] = {d for d in imported_modules(path)
                       if d != name and not name.startswith(d + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_between_project_modules():
    assert find_cycle(_graph()) is None


@pytest.mark.parametrize("path", project_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_over_500_lines(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines: split it by concept"


@pytest.mark.parametrize("init", [p for p in project_modules() if p.name == "__init__.py"],
                         ids=lambda p: str(p.parent.relative_to(ROOT)))
def test_no_package_name_hides_a_module(init):
    package = init.parent
    modules = {p.stem for p in package.glob("*.py")} | {p.name for p in package.iterdir()
                                                         if (p / "__init__.py").is_file()}
    tree = ast.parse(init.read_text())
    exported = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node in tree.body:
            exported.add(node.name)
        elif isinstance(node, ast.ImportFrom) and node in tree.body:
            exported |= {a.asname or a.name for a in node.names}
        elif (isinstance(node, ast.Assign) and node in tree.body
              and any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets)
              and isinstance(node.value, ast.Dict)):
            exported |= {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    # a module imported by name (``from pkg import submodule``) is the module itself: fine
    clash = sorted(n for n in exported & modules
                   if not importlib.util.find_spec(f"{module_name(init)}.{n}") or _is_function(
                       module_name(init), n))
    assert not clash, f"{module_name(init)}: names that hide a module of the package: {clash}"


def _is_function(package: str, name: str) -> bool:
    value = getattr(importlib.import_module(package), name)
    return not isinstance(value, type(importlib))


@pytest.mark.parametrize("runtime", ["pipeline.recommender", "pipeline.serving.model",
                                     "pipeline.serving.cli", "pipeline.serving.rest",
                                     "pipeline.serving.report"])
def test_the_runtime_never_imports_a_stage(runtime):
    stages = sorted(str(p) for p in closure(runtime) if p.parts[:2] == ("pipeline", "stages"))
    assert not stages, f"{runtime} imports stage scripts: {stages}"


OLD_NAMES = [
    # what a model registered before the re-layout imports from its copy of the model code
    ("pipeline.recommendation", "Preferences"),
    ("pipeline.package", "DEFAULT_EXAMPLE"),
    ("pipeline.recommender", "Recommender"),
    ("features.contract", "InvalidPatientError"),
    ("features.contract", "FIELDS"),
    # names users' scripts and the earlier README used
    ("pipeline.recommender", "recommend"),
    ("pipeline.recommender", "recommend_batch"),
    ("pipeline.recommender", "load_recommender"),
    ("pipeline.recommendation", "Recommendation"),
    ("pipeline.simulate", "simulate_cohort"),
    ("pipeline.trials", "replicate_trials"),
    ("pipeline.report", "write_report"),
    ("pipeline.bundle", "load_bundle"),
]


@pytest.mark.parametrize(("module", "name"), OLD_NAMES)
def test_old_module_paths_still_import(module, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert getattr(importlib.import_module(module), name) is not None


def test_an_old_path_warns_with_the_new_one():
    import pipeline.moved as moved

    with pytest.warns(DeprecationWarning, match="pipeline.recommender.request.Preferences"):
        importlib.import_module("pipeline.recommendation").Preferences  # noqa: B018
    with pytest.raises(AttributeError, match="moved to"):
        importlib.import_module("pipeline.recommendation").no_such_name  # noqa: B018
    assert set(moved.MOVED) and all(m.startswith("pipeline.") for m in moved.MOVED)


@pytest.mark.parametrize("package", PACKAGES)
def test_public_api_names(package):
    module = importlib.import_module(package)
    expected = {"features": ["derive", "ModelMatrix"], "guidelines": ["assess"],
                "models": ["SurvivalModel", "ModalityOutcomeModel"],
                "pipeline": ["recommend", "recommend_batch", "load_recommender"]}[package]
    for name in expected:
        assert callable(getattr(module, name)), f"{package}.{name}"


def test_no_two_modules_share_a_name():
    """One name, one job: no ``checks.py`` in two packages meaning two different things."""
    seen: dict[str, list[str]] = {}
    for path in project_modules():
        if path.name != "__init__.py":
            seen.setdefault(path.stem, []).append(str(path.relative_to(ROOT)))
    assert {k: v for k, v in seen.items() if len(v) > 1} == {}


def test_tests_mirror_the_packages():
    """Every room of the code has its folder of tests."""
    rooms = ["features", "models", "guidelines", "stages", "simulation", "recommender", "serving"]
    missing = [r for r in rooms if not any((ROOT / "tests" / r).glob("test_*.py"))]
    assert not missing, f"no tests/<room>/ for: {missing}"
