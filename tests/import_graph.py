"""The project's import graph, read from the source with :mod:`ast` (nothing is imported).

Every ``import`` statement counts, function-level (lazy) imports included: they run when the
code path does. Used by the stage-deps test (every DVC stage depends on what its command
imports) and the layering tests (no import cycle between project modules).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("features", "models", "guidelines", "pipeline")


def module_file(name: str, root: Path = ROOT) -> Path | None:
    """The file of project module ``name`` (``a.b`` -> a/b.py or a/b/__init__.py), or None."""
    if name.split(".")[0] not in PACKAGES:
        return None
    base = root.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@cache
def lazy_exports(package: str, root: Path = ROOT) -> dict[str, str]:
    """``name -> module`` of a package's lazy export table (``_EXPORTS`` in its __init__.py)."""
    path = module_file(package, root)
    if path is None or path.name != "__init__.py":
        return {}
    for node in ast.parse(path.read_text()).body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
                and any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets)):
            table = {}
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(value, ast.Constant):
                    target = value.value
                    if not module_file(target, root):  # relative: a submodule's name
                        target = f"{package}.{target}"
                    table[key.value] = target
            return table
    return {}


def imported_modules(path: Path, root: Path = ROOT, top_level_only: bool = False) -> set[str]:
    """Project modules imported by the file at ``path`` (parent packages included).

    Besides ``import`` statements: ``importlib.import_module("a.b")`` with a literal name, and
    names taken from a package's lazy export table (``from models import X`` or ``models.X``).
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            lazy = lazy_exports(node.module, root)
            for alias in node.names:
                if module_file(f"{node.module}.{alias.name}", root):  # from pkg import submodule
                    names.append(f"{node.module}.{alias.name}")
                if alias.name in lazy:
                    names.append(lazy[alias.name])
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names = [node.args[0].value]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            lazy = lazy_exports(node.value.id, root) if node.value.id in PACKAGES else {}
            if node.attr in lazy:
                names = [lazy[node.attr]]
        for name in names:
            for candidate in (*_parents(name), name):
                if module_file(candidate, root):
                    found.add(candidate)
    return found


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.resolve().relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def closure(module: str, root: Path = ROOT) -> frozenset[Path]:
    """Every project file that running ``python -m module`` may execute."""
    seen: set[str] = set()
    todo = [*_parents(module), module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_file(name, root)
        if path is not None:
            todo.extend(imported_modules(path, root) - seen)
    return frozenset(p.relative_to(root) for name in seen
                     if (p := module_file(name, root)) is not None)


def project_modules(root: Path = ROOT) -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (root / pkg).rglob("*.py"))
