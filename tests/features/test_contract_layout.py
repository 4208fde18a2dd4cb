"""The layout of the contract package: schema.py depends on nothing of the project, the
features package imports without a cycle, no function hides a module of its own package, and
every request error is a RequestError (a ValueError)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import features
import guidelines
import models
from features.contract import InvalidPatientError, Problem, RequestError
from guidelines import UnknownGuidelineError

ROOT = Path(features.__file__).resolve().parents[1]
FEATURES = ROOT / "features"
CONTRACT = FEATURES / "contract"
PROJECT = ("features", "models", "guidelines", "pipeline")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_of(path: Path) -> str:
    name = _module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _imports(path: Path, module_level_only: bool) -> list[tuple[str, tuple[str, ...]]]:
    """(imported module, imported names) of every import statement, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    if module_level_only:
        nodes = []
        stack = list(tree.body)
        while stack:  # top-level statements, including those inside if / try / with blocks
            node = stack.pop()
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            nodes.append(node)
            for field in ("body", "orelse", "finalbody", "handlers"):
                stack.extend(getattr(node, field, []) or [])
    else:
        nodes = list(ast.walk(tree))
    out = []
    for node in nodes:
        if isinstance(node, ast.Import):
            out.extend((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _package_of(path).split(".")
                package = package[: len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            out.append((base, tuple(alias.name for alias in node.names)))
    return out


def _features_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(FEATURES.rglob("*.py"))}


def _import_graph(module_level_only: bool = True) -> dict[str, set[str]]:
    modules = _features_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for target, names in _imports(path, module_level_only):
            if not names:  # `import a.b.c`
                if target in modules:
                    graph[name].add(target)
                continue
            for imported in names:  # `from a.b import c`: the module a.b.c if there is one
                sub = f"{target}.{imported}"
                if sub in modules:
                    graph[name].add(sub)
                elif target in modules:
                    graph[name].add(target)
        graph[name].discard(name)
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_contract_is_a_package_of_small_modules():
    names = sorted(p.name for p in CONTRACT.glob("*.py"))
    assert names == ["__init__.py", "parsing.py", "problems.py", "schema.py", "suggest.py",
                     "validation.py"]
    assert not (FEATURES / "contract.py").exists() and not (FEATURES / "checks.py").exists()
    assert not (FEATURES / "derive.py").exists()
    for path in CONTRACT.glob("*.py"):
        ast.parse(path.read_text(encoding="utf-8"))  # every module parses
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 500, path.name


def test_schema_imports_nothing_of_the_project():
    found = [module for module, _ in _imports(CONTRACT / "schema.py", module_level_only=False)
             if module.split(".")[0] in PROJECT or not module]
    assert found == []


def test_errors_and_parsing_import_nothing_of_the_project_but_the_contract():
    for name in ("problems.py", "parsing.py"):
        for module, _ in _imports(CONTRACT / name, module_level_only=False):
            top = module.split(".")[0]
            assert top not in PROJECT or module.startswith("features.contract."), (name, module)


def test_contract_modules_import_project_modules_at_the_top_only():
    for path in CONTRACT.glob("*.py"):
        top = set(_imports(path, module_level_only=True))
        lazy = [m for m in _imports(path, module_level_only=False)
                if m not in top and m[0].split(".")[0] in PROJECT]
        assert lazy == [], (path.name, lazy)


def test_features_module_level_import_graph_is_acyclic():
    graph = _import_graph()
    assert "features.contract.schema" in graph["features.contract.validation"]
    assert graph["features.contract.schema"] == set()
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_no_function_level_import_closes_a_cycle():
    """Lazy imports (for a light ``import features``) never stand in for a cycle."""
    cycle = _find_cycle(_import_graph(module_level_only=False))
    assert cycle is None, " -> ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_true_false_words_are_written_once():
    """Only features/contract/parsing.py spells the true/false vocabulary."""
    holders = []
    for package in ("features", "guidelines"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Set | ast.List | ast.Tuple):
                    words = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                    if {"yes", "y"} <= words or {"no", "n"} <= words:
                        holders.append(path.relative_to(ROOT).as_posix())
    assert sorted(set(holders)) == ["features/contract/parsing.py"]


@pytest.mark.parametrize("package", [features, features.contract, guidelines])
def test_no_function_hides_a_module_of_its_own_package(package):
    folder = Path(package.__file__).parent
    stems = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    stems |= {p.name for p in folder.iterdir() if (p / "__init__.py").is_file()}
    for stem in sorted(stems):
        if hasattr(package, stem):
            value = getattr(package, stem)
            expected = importlib.import_module(f"{package.__name__}.{stem}")
            assert value is expected, f"{package.__name__}.{stem} is not the module"


def test_no_lazy_model_export_hides_a_module():
    stems = {p.stem for p in Path(models.__file__).parent.glob("*.py")}
    assert not set(models.__all__) & stems


def test_derivation_module_and_derive_function():
    from features import derivation

    assert features.derive is derivation.derive
    assert features.DERIVED_COLUMNS is derivation.DERIVED_COLUMNS


# --- request errors ------------------------------------------------------------------------------

def test_request_error_hierarchy():
    for cls in (InvalidPatientError, UnknownGuidelineError):
        assert issubclass(cls, RequestError) and issubclass(cls, ValueError)
    assert not issubclass(UnknownGuidelineError, InvalidPatientError)
    assert features.contract.RequestError is features.contract.problems.RequestError
    assert guidelines.UnknownGuidelineError is guidelines.ruleset.UnknownGuidelineError


def test_invalid_patient_error_message_and_dict_unchanged():
    problems = [Problem("albumin_g_l", "out_of_range", "a number from 10 to 60 g/L", "3.9",
                        "looks like g/dL")] + [Problem("ecog", "missing_value", "an integer",
                                                       "missing", row=i) for i in range(55)]
    error = InvalidPatientError(problems, context="cohort")
    lines = str(error).splitlines()
    assert lines[0] == "invalid cohort: 56 problem(s)"
    assert lines[1] == ("  - albumin_g_l: expected a number from 10 to 60 g/L, got 3.9 "
                        "(looks like g/dL)")
    assert len(lines) == 52 and lines[-1] == "  ... and 6 more"
    assert error.problems == tuple(problems)
    assert error.to_dict() == {"error": "invalid_patient", "message": lines[0],
                               "problems": [p.to_dict() for p in problems]}
    assert str(InvalidPatientError([])) == "invalid patient record: 0 problem(s)\n"


def test_unknown_guideline_error_carries_one_problem():
    error = UnknownGuidelineError("who-2030", ("cnlc-2024", "bclc-2022"), paths=False)
    assert isinstance(error, ValueError)
    (problem,) = error.problems
    assert (problem.field, problem.reason, problem.received) == (
        "guideline", "unknown_guideline", "'who-2030'")
    assert problem.expected == "one of cnlc-2024, bclc-2022"
    assert str(error).splitlines()[0] == (
        "ruleset: unknown rule set 'who-2030'; expected one of cnlc-2024, bclc-2022")
