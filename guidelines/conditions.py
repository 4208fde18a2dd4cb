"""The rule condition language: parse, check and evaluate with three-valued logic.

A condition is a small tree written in YAML::

    {var: ecog, op: ge, value: 3}                     # comparison (a leaf)
    {var: pvtt, op: in, value: [vp3, vp4]}            # membership
    {var: icg_r15_pct, op: is_missing}                # missingness test (always known)
    {all: [<condition>, ...]}  {any: [...]}  {not: <condition>}

Operators: ``eq ne lt le gt ge`` (order comparisons on numbers and integers only), ``in not_in``
(a non-empty list), ``is_missing`` (no value). There is no arithmetic: a quantity computed from
several inputs belongs in :mod:`features` as a derived column.

Evaluation is vectorised and three-valued (Kleene): every node returns two boolean arrays,
``t`` (known to be true) and ``k`` (known at all). A comparison on a missing input is unknown;
``all`` is false as soon as one part is known false, ``any`` true as soon as one part is known
true; ``not`` keeps unknown unknown. So a rule is decided whenever the known inputs decide it.
:meth:`undecided` names, per patient, the missing inputs that leave a condition unknown (those of
the parts still undecided), so a review never asks for an input the rule no longer needs.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from guidelines.vocabulary import Variable

COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")
MEMBERSHIP = ("in", "not_in")
OPERATORS = (*COMPARISONS, *MEMBERSHIP, "is_missing")
COMBINATORS = ("all", "any", "not")
_SYMBOL = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
           "in": "in", "not_in": "not in"}


class ConditionError(ValueError):
    """A condition is malformed; ``path`` locates the offending node (e.g. ``any[1].var``)."""

    def __init__(self, path: str, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class Env:
    """Evaluation context: variable arrays (float64, NaN = missing) with memoised masks."""

    __slots__ = ("columns", "n", "_known", "_leaves")

    def __init__(self, columns: Mapping[str, np.ndarray], n: int):
        self.columns = columns
        self.n = n
        self._known: dict[str, np.ndarray] = {}
        self._leaves: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def known(self, var: str) -> np.ndarray:
        k = self._known.get(var)
        if k is None:
            k = self._known[var] = ~np.isnan(self.columns[var])
        return k


@dataclass(frozen=True)
class Leaf:
    """A comparison of one variable with a literal (``code`` is the value as evaluated)."""

    var: str
    op: str
    value: Any
    code: float | tuple[float, ...] | None

    def variables(self) -> tuple[str, ...]:
        return () if self.op == "is_missing" else (self.var,)

    def undecided(self, env: Env) -> dict[str, np.ndarray]:
        """Variable -> mask of the patients for whom its absence leaves this node unknown."""
        return {} if self.op == "is_missing" else {self.var: ~env.known(self.var)}

    def evaluate(self, env: Env) -> tuple[np.ndarray, np.ndarray]:
        key = (self.var, self.op, self.code)
        hit = env._leaves.get(key)
        if hit is not None:
            return hit
        known = env.known(self.var)
        if self.op == "is_missing":
            out = (~known, np.ones(env.n, bool))
        else:
            v = env.columns[self.var]
            c = self.code
            op = self.op
            if op == "eq":
                t = v == c
            elif op == "ne":
                t = (v != c) & known
            elif op == "lt":
                t = v < c
            elif op == "le":
                t = v <= c
            elif op == "gt":
                t = v > c
            elif op == "ge":
                t = v >= c
            else:
                t = v == c[0]
                for x in c[1:]:
                    t = t | (v == x)
                if op == "not_in":
                    t = ~t & known
            out = (t, known)
        env._leaves[key] = out
        return out

    def __str__(self) -> str:
        if self.op == "is_missing":
            return f"{self.var} is missing"
        value = self.value
        if isinstance(value, tuple):
            value = "[" + ", ".join(map(str, value)) + "]"
        return f"{self.var} {_SYMBOL[self.op]} {value}"


@dataclass(frozen=True)
class Combo:
    """``all`` / ``any`` over children, or ``not`` of a single child."""

    kind: str
    children: tuple

    def variables(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for child in self.children:
            seen.update(dict.fromkeys(child.variables()))
        return tuple(seen)

    def undecided(self, env: Env) -> dict[str, np.ndarray]:
        """Variable -> mask of the patients for whom its absence leaves this node unknown: the
        missing inputs of the children that are themselves unknown where this node is."""
        open_ = ~self.evaluate(env)[1]
        out: dict[str, np.ndarray] = {}
        for child in self.children:
            for var, mask in child.undecided(env).items():
                mask = mask & open_
                out[var] = out[var] | mask if var in out else mask
        return out

    def evaluate(self, env: Env) -> tuple[np.ndarray, np.ndarray]:
        if self.kind == "not":
            t, k = self.children[0].evaluate(env)
            return k & ~t, k
        parts = [c.evaluate(env) for c in self.children]
        if self.kind == "all":
            t = parts[0][0]
            false = parts[0][1] & ~parts[0][0]
            for ti, ki in parts[1:]:
                t = t & ti
                false = false | (ki & ~ti)
            return t, t | false
        t = parts[0][0]
        false = parts[0][1] & ~parts[0][0]
        for ti, ki in parts[1:]:
            t = t | ti
            false = false & (ki & ~ti)
        return t, t | false

    def __str__(self) -> str:
        if self.kind == "not":
            return f"not ({self.children[0]})"
        joiner = " and " if self.kind == "all" else " or "
        return "(" + joiner.join(str(c) for c in self.children) + ")"


# --- parsing and checking ---------------------------------------------------------------------

def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f"; hint: did you mean '{close[0]}'?" if close else ""


def _is_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and np.isfinite(x)


def _code(var: Variable, value, path: str) -> float:
    """Check one literal against the variable's kind and return its evaluation code."""
    if var.kind == "boolean":
        if not isinstance(value, bool):
            raise ConditionError(path, f"{var.name} is a boolean, expected true or false, "
                                       f"got {value!r}")
        return 1.0 if value else 0.0
    if var.kind == "category":
        key = value.lower() if isinstance(value, str) else None
        if key not in var.codes:
            raise ConditionError(
                path, f"{var.name} is a category, expected one of "
                      f"{', '.join(var.categories or ())}, got {value!r}"
                + _suggest(value, var.categories or ()))
        return float(var.codes[key])
    if var.kind == "integer" and not (isinstance(value, int) and not isinstance(value, bool)):
        raise ConditionError(path, f"{var.name} is an integer, expected an integer, "
                                   f"got {value!r}")
    if not _is_number(value):
        raise ConditionError(path, f"{var.name} is a number, expected a number, got {value!r}")
    if (var.low is not None and value < var.low) or (var.high is not None and value > var.high):
        rng = f"[{var.low if var.low is not None else '-inf'}, " \
              f"{var.high if var.high is not None else 'inf'}]"
        raise ConditionError(
            path, f"{var.name} threshold {value!r} is outside the plausible range {rng} "
                  f"{var.unit}; hint: check the unit (the unit is in the variable name)")
    return float(value)


def parse(node, variables: Mapping[str, Variable], path: str = "condition"):
    """Parse and check a condition tree; raise :class:`ConditionError` naming the node."""
    if not isinstance(node, Mapping):
        raise ConditionError(path, f"expected a mapping (a comparison or all/any/not), "
                                   f"got {node!r}")
    combos = [key for key in node if key in COMBINATORS]
    if combos:
        if len(node) != 1:
            raise ConditionError(path, f"a combinator node has exactly one key, got "
                                       f"{sorted(map(str, node))}")
        kind = combos[0]
        body = node[kind]
        if kind == "not":
            return Combo("not", (parse(body, variables, f"{path}.not"),))
        if not isinstance(body, list) or not body:
            raise ConditionError(f"{path}.{kind}", f"expected a non-empty list of conditions, "
                                                   f"got {body!r}")
        return Combo(kind, tuple(parse(c, variables, f"{path}.{kind}[{i}]")
                                 for i, c in enumerate(body)))
    extra = set(map(str, node)) - {"var", "op", "value"}
    if extra:
        raise ConditionError(path, f"unknown key(s) {sorted(extra)}; expected var/op/value or "
                                   f"one of {', '.join(COMBINATORS)}"
                             + _suggest(sorted(extra)[0], ("var", "op", "value", *COMBINATORS)))
    for key in ("var", "op"):
        if key not in node:
            raise ConditionError(path, f"missing key '{key}'")
    name, op = node["var"], node["op"]
    if name not in variables:
        raise ConditionError(f"{path}.var", f"unknown variable {name!r}; expected a contract "
                                            f"patient field or a derived feature"
                             + _suggest(name, variables))
    if op not in OPERATORS:
        raise ConditionError(f"{path}.op", f"unknown operator {op!r}; expected one of "
                                           f"{', '.join(OPERATORS)}" + _suggest(op, OPERATORS))
    var = variables[name]
    if op == "is_missing":
        if "value" in node:
            raise ConditionError(f"{path}.value", "is_missing takes no value")
        return Leaf(name, op, None, None)
    if "value" not in node:
        raise ConditionError(path, f"missing key 'value' for operator {op}")
    value = node["value"]
    vpath = f"{path}.value"
    if op in MEMBERSHIP:
        if not isinstance(value, list) or not value:
            raise ConditionError(vpath, f"{op} expects a non-empty list, got {value!r}")
        codes = tuple(_code(var, v, f"{vpath}[{i}]") for i, v in enumerate(value))
        return Leaf(name, op, tuple(value), codes)
    if op in ("lt", "le", "gt", "ge") and var.kind not in ("number", "integer"):
        raise ConditionError(f"{path}.op", f"{op} needs a number or integer variable; {name} "
                                           f"is a {var.kind} (use eq, ne, in or not_in)")
    return Leaf(name, op, value, _code(var, value, vpath))
