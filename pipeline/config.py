"""Read ``params.yaml`` into frozen dataclasses, failing loudly on unknown or missing keys.

Numbers live in ``params.yaml``; paths live in ``dvc.yaml``. Every stage reads its section through
:func:`build`, so a typo in a key is an error naming the key instead of a silently ignored value.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ParamsError(ValueError):
    """A key of ``params.yaml`` is unknown, missing or of the wrong type."""


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, where)
            except ParamsError as exc:
                errors.append(str(exc))
        raise ParamsError(f"{where}: expected {tp}, got {value!r}")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ParamsError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        inner = args[0] if args else Any
        return tuple(_convert(inner, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ParamsError(f"{where}: expected a mapping, got {value!r}")
        key_t, val_t = typing.get_args(tp) or (Any, Any)
        return types.MappingProxyType(
            {_convert(key_t, k, where): _convert(val_t, v, f"{where}.{k}") for k, v in value.items()}
        )
    if tp is Any:
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamsError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ParamsError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def build(cls: type[T], mapping: Any, where: str = "params") -> T:
    """Build the frozen dataclass ``cls`` from ``mapping``, checking every key.

    Raises
    ------
    ParamsError
        When a key is unknown, a field has no value, or a value has the wrong type; the message
        names the dotted key (``train.learning_rate``).
    """
    if not isinstance(mapping, Mapping):
        raise ParamsError(f"{where}: expected a mapping of keys, got {mapping!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise ParamsError(
            f"{where}: unknown key(s) {', '.join(unknown)}; expected only {', '.join(fields)}"
        )
    values = {}
    for name, field in fields.items():
        if name not in mapping:
            has_default = (
                field.default is not dataclasses.MISSING
                or field.default_factory is not dataclasses.MISSING
            )
            if has_default:
                continue
            raise ParamsError(f"{where}.{name}: missing key (no default); add it to params.yaml")
        values[name] = _convert(hints[name], mapping[name], f"{where}.{name}")
    return cls(**values)


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping (``params.yaml``) with a clear error when the file is missing."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file {path} not found; run from the repository root")
    with path.open() as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping at top level")
    return data


def section(cls: type[T], name: str, path: str | Path = "params.yaml") -> T:
    """Build the dataclass ``cls`` from section ``name`` of ``params.yaml``."""
    data = read_yaml(path)
    if name not in data:
        raise ParamsError(f"params.yaml: missing section '{name}'")
    return build(cls, data[name], name)


PROJECT_DIR_ENV = "HCC_PROJECT_DIR"


def project_root(start: Path | None = None) -> Path:
    """The project directory: the one place the runtime finds the checkout's state.

    The MLflow tracking store (``mlflow.db``), the bundle of the last local ``dvc repro``
    (``data/artifacts/recommender``) and the ``params.yaml`` the CLI reads by default all live
    here. In order:

    1. ``$HCC_PROJECT_DIR`` when set;
    2. the nearest directory holding ``dvc.yaml``, upwards from ``start`` (default: the cwd);
    3. the checkout this package was installed from (an editable install), when it holds
       ``dvc.yaml``;
    4. otherwise the cwd (or ``start``).
    """
    import os

    env = os.environ.get(PROJECT_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for path in (here, *here.parents):
        if (path / "dvc.yaml").is_file():
            return path
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "dvc.yaml").is_file():
        return checkout
    return here
