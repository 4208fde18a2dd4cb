"""Rule sets: load a YAML rule file, check every rule, and keep it as an immutable object.

A rule file holds the rule set's identity (name, version, source citation), the indication table
per stage (indicated, acceptable and not indicated modalities, :mod:`guidelines.indication`), a
documented baseline patient for the worked cases, and the rules. Loading
checks everything a typo could break (unknown variable, operator, modality, effect or key; a value
of the wrong type; a duplicate id; a missing field) and raises one :class:`RuleSetError` that names
each offending rule and the problem. A rule-set name that is not shipped is a request error,
:class:`UnknownGuidelineError`. The file format is documented in ``docs/rules.md`` ("The
rule-file format").
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from features.contract.problems import Problem, RequestError, received_text
from guidelines.conditions import ConditionError, parse
from guidelines.indication import StageIndication, from_preferred, parse_indication
from guidelines.vocabulary import Variable, modalities, variables

RULES_DIR = Path(__file__).resolve().parent / "rules"
DEFAULT_RULESET = "cnlc-2024"
EFFECTS = ("forbid", "not_indicated", "review", "require", "warn")
"""forbid: hard contraindication (never recommended); not_indicated: the guideline does not
indicate the modality in this situation (recommended only when the request asks to consider
not-indicated options); review: relative contraindication or missing information (still
possible, flagged for the MDT); require: a co-treatment or prerequisite the MDT must arrange
(a required action, not a veto); warn: message only."""
NO_SUPPORTIVE = ("forbid", "not_indicated")
"""Effects that may not concern supportive_care (it is always an option)."""
EVIDENCE = ("C", "S", "U")
EXPECTATIONS = ("fires", "silent", "unknown")
SUPPORTIVE = "supportive_care"

_RULE_KEYS = ("id", "title", "effect", "modalities", "condition", "rationale", "reference",
              "evidence", "cases")
_TOP_REQUIRED = ("name", "version", "title", "source", "stage_variable", "case_baseline",
                 "rules")
_TOP_OPTIONAL = ("description", "indication", "preferred")
"""``indication`` (since 1.2) or, in older files, ``preferred``: exactly one of them."""
_CASE_KEYS = ("expect", "patient", "note")


class RuleSetError(ValueError):
    """A rule file is malformed. ``problems`` lists every problem as ``(rule_id, message)``."""

    def __init__(self, origin: str, problems):
        self.origin = origin
        self.problems = tuple(problems)
        lines = [f"  - rule {rid!r}: {msg}" if rid else f"  - {msg}" for rid, msg in self.problems]
        super().__init__(f"invalid rule set {origin}: {len(self.problems)} problem(s)\n"
                         + "\n".join(lines))


class UnknownGuidelineError(RequestError):
    """A guideline (rule-set) name that is not available; a :class:`RequestError`.

    ``name`` is the name asked for, ``available`` the names that exist; ``problems`` holds one
    :class:`~features.contract.problems.Problem` for the field ``guideline`` (reason
    ``unknown_guideline``) whose hint is ``hint``. ``paths=False`` for callers that accept names
    only (the expectation then does not offer a path to a YAML file).
    """

    error = "unknown_guideline"

    def __init__(self, name, available, hint: str = "", *, paths: bool = True):
        self.name = name
        self.available = tuple(available)
        expected = "one of " + ", ".join(self.available) + (" or a path to a YAML file"
                                                            if paths else "")
        shown = received_text(name)
        super().__init__([Problem("guideline", "unknown_guideline", expected, shown, hint)],
                         f"ruleset: unknown rule set {shown}; expected {expected}"
                         + (f"; hint: {hint}" if hint else ""))


@dataclass(frozen=True)
class Case:
    """A worked case: a partial patient record merged onto the rule set's baseline patient."""

    expect: str
    patient: Mapping[str, Any]
    note: str = ""


@dataclass(frozen=True, eq=False)
class Rule:
    """One guideline rule (see the module docstring of :mod:`guidelines.conditions`)."""

    id: str
    title: str
    effect: str
    modalities: tuple[str, ...]
    condition: Any
    rationale: str
    reference: str
    evidence: str
    cases: tuple[Case, ...]

    @property
    def variables(self) -> tuple[str, ...]:
        """Variables the condition compares (``is_missing`` tests excluded)."""
        return self.condition.variables()


@dataclass(frozen=True, eq=False)
class RuleSet:
    """A loaded, checked rule set. Build with :func:`load_ruleset` or :meth:`from_dict`."""

    name: str
    version: str
    title: str
    source: str
    description: str
    stage_variable: str
    preferred: Mapping[str, tuple[str, ...]]
    case_baseline: Mapping[str, Any]
    rules: tuple[Rule, ...]
    origin: str
    raw: Mapping[str, Any]
    indication: Mapping[str, StageIndication] = field(default_factory=dict)
    """Stage -> :class:`~guidelines.indication.StageIndication`; ``preferred`` is derived from
    it (indicated, then acceptable)."""

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (KeyError if absent)."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(f"rule_id: expected one of the ids of {self.name}, got {rule_id!r}")

    @property
    def needed(self) -> tuple[str, ...]:
        """Every variable the rule set reads (stage variable included)."""
        seen = dict.fromkeys([self.stage_variable])
        for r in self.rules:
            seen.update(dict.fromkeys(_all_vars(r.condition)))
        return tuple(seen)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "<dict>") -> RuleSet:
        """Check a parsed rule file (a mapping as in the YAML) and build the rule set."""
        return _build(data, origin)

    def __repr__(self) -> str:
        return f"RuleSet(name={self.name!r}, version={self.version!r}, rules={len(self.rules)})"


def _all_vars(node) -> tuple[str, ...]:
    if hasattr(node, "children"):
        out: dict[str, None] = {}
        for c in node.children:
            out.update(dict.fromkeys(_all_vars(c)))
        return tuple(out)
    return (node.var,)


# --- YAML loading -----------------------------------------------------------------------------

class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (plain YAML keeps the last one silently)."""


def _mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file strictly (duplicate keys are errors)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_StrictLoader)  # noqa: S506 (SafeLoader subclass)
    except yaml.YAMLError as exc:
        raise RuleSetError(str(path), [("", f"not valid YAML: {exc}")]) from None


# --- checking -----------------------------------------------------------------------------------

def _suggest(word, options) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def _hint(word, options) -> str:
    suggestion = _suggest(word, options)
    return f"; hint: {suggestion}" if suggestion else ""


def _text(rule: Mapping, key: str, problems: list, rid: str) -> str:
    value = rule.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append((rid, f"{key}: expected a non-empty string, got {value!r}"))
        return ""
    return value.strip()


def _modality_list(value, where: str, problems: list, rid: str) -> tuple[str, ...]:
    vocab = modalities()
    if not isinstance(value, list) or not value:
        problems.append((rid, f"{where}: expected a non-empty list of modalities, got {value!r}"))
        return ()
    out = []
    for m in value:
        if m not in vocab:
            problems.append((rid, f"{where}: unknown modality {m!r}; expected one of "
                                  f"{', '.join(vocab)}" + _hint(m, vocab)))
        elif m in out:
            problems.append((rid, f"{where}: modality {m!r} listed twice"))
        else:
            out.append(m)
    return tuple(out)


def _patient_fragment(value, where: str, problems: list, rid: str) -> Mapping[str, Any]:
    fields = {n: v for n, v in variables().items() if not v.derived}
    if not isinstance(value, Mapping):
        problems.append((rid, f"{where}: expected a mapping of contract fields, got {value!r}"))
        return MappingProxyType({})
    for key in value:
        if key not in fields:
            problems.append((rid, f"{where}: unknown contract field {key!r} (cases give raw "
                                  f"contract fields; derived features are computed)"
                             + _hint(key, fields)))
    return MappingProxyType(dict(value))


def _cases(value, problems: list, rid: str) -> tuple[Case, ...]:
    if not isinstance(value, list) or not value:
        problems.append((rid, f"cases: expected a non-empty list, got {value!r}"))
        return ()
    out = []
    for i, case in enumerate(value):
        where = f"cases[{i}]"
        if not isinstance(case, Mapping):
            problems.append((rid, f"{where}: expected a mapping with expect/patient, got {case!r}"))
            continue
        extra = set(map(str, case)) - set(_CASE_KEYS)
        if extra:
            problems.append((rid, f"{where}: unknown key(s) {sorted(extra)}; expected "
                                  f"{', '.join(_CASE_KEYS)}"))
        expect = case.get("expect")
        if expect not in EXPECTATIONS:
            problems.append((rid, f"{where}.expect: expected one of {', '.join(EXPECTATIONS)}, "
                                  f"got {expect!r}"))
        patient = _patient_fragment(case.get("patient"), f"{where}.patient", problems, rid)
        out.append(Case(str(expect), patient, str(case.get("note") or "")))
    expects = {c.expect for c in out}
    for needed in ("fires", "silent"):
        if out and needed not in expects:
            problems.append((rid, f"cases: expected at least one '{needed}' case"))
    return tuple(out)


def _rule(raw, index: int, vocab: Mapping[str, Variable], problems: list) -> Rule | None:
    if not isinstance(raw, Mapping):
        problems.append((f"#{index}", f"expected a mapping, got {raw!r}"))
        return None
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid.strip():
        rid_label = f"#{index} (no id)"
        problems.append((rid_label, f"id: expected a non-empty string, got {rid!r}"))
        rid = rid_label
    before = len(problems)
    for key in _RULE_KEYS:
        if key not in raw:
            problems.append((rid, f"missing field '{key}'"))
    extra = set(map(str, raw)) - set(_RULE_KEYS)
    for key in sorted(extra):
        problems.append((rid, f"unknown field {key!r}; expected {', '.join(_RULE_KEYS)}"
                         + _hint(key, _RULE_KEYS)))
    if len(problems) > before:
        return None
    effect = raw["effect"]
    if effect not in EFFECTS:
        problems.append((rid, f"effect: expected one of {', '.join(EFFECTS)}, got {effect!r}"
                         + _hint(effect, EFFECTS)))
    mods = _modality_list(raw["modalities"], "modalities", problems, rid)
    if effect in NO_SUPPORTIVE and SUPPORTIVE in mods:
        word = {"forbid": "forbidden", "not_indicated": "not indicated"}[effect]
        problems.append((rid, f"modalities: supportive_care can never be {word} (it is "
                              "always an option); hint: use effect review, require or warn"))
    evidence = raw["evidence"]
    if evidence not in EVIDENCE:
        problems.append((rid, f"evidence: expected one of C, S, U (confirmed, secondary, "
                              f"unconfirmed), got {evidence!r}"))
    try:
        condition = parse(raw["condition"], vocab)
    except ConditionError as exc:
        problems.append((rid, str(exc)))
        condition = None
    texts = {k: _text(raw, k, problems, rid) for k in ("title", "rationale", "reference")}
    cases = _cases(raw["cases"], problems, rid)
    if len(problems) > before:
        return None
    return Rule(rid, texts["title"], effect, mods, condition, texts["rationale"],
                texts["reference"], evidence, cases)


def _preferred(data, stage_var, vocab, problems) -> Mapping[str, tuple[str, ...]]:
    var = vocab.get(stage_var)
    if var is None or var.kind != "category":
        problems.append(("", f"stage_variable: expected a derived stage (a category variable "
                             f"such as cnlc_stage or bclc_stage), got {stage_var!r}"))
        return MappingProxyType({})
    pref = data.get("preferred")
    if not isinstance(pref, Mapping):
        problems.append(("", f"preferred: expected a mapping stage -> list of modalities, "
                             f"got {pref!r}"))
        return MappingProxyType({})
    out = {}
    stages = var.categories or ()
    for key, mods in pref.items():
        stage = str(key)  # YAML reads an unquoted 0 as an integer
        if stage not in stages:
            problems.append(("", f"preferred: unknown stage {stage!r} of {stage_var}; expected "
                                 f"{', '.join(stages)}"))
            continue
        out[stage] = _modality_list(mods, f"preferred.{stage}", problems, "")
    for stage in stages:
        if stage not in out and stage not in map(str, pref):
            problems.append(("", f"preferred: stage {stage!r} of {stage_var} is missing"))
    return MappingProxyType(out)


def _build(data: Mapping[str, Any], origin: str) -> RuleSet:
    problems: list[tuple[str, str]] = []
    if not isinstance(data, Mapping):
        raise RuleSetError(origin, [("", f"expected a mapping at the top level, got "
                                         f"{type(data).__name__}")])
    for key in _TOP_REQUIRED:
        if key not in data:
            problems.append(("", f"missing top-level field '{key}'"))
    allowed = set(_TOP_REQUIRED) | set(_TOP_OPTIONAL)
    for key in sorted(set(map(str, data)) - allowed):
        problems.append(("", f"unknown top-level field {key!r}" + _hint(key, allowed)))
    if problems:
        raise RuleSetError(origin, problems)
    vocab = variables()
    head = {}
    for key in ("name", "version", "title", "source"):
        value = data[key]
        if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value):
            problems.append(("", f"{key}: expected a non-empty string, got {value!r}"))
        head[key] = str(value)
    indication = _indication(data, vocab, problems)
    preferred = MappingProxyType({s: e.preferred for s, e in indication.items()})
    baseline = _patient_fragment(data["case_baseline"], "case_baseline", problems, "")
    rules_raw = data["rules"]
    rules: list[Rule] = []
    if not isinstance(rules_raw, list) or not rules_raw:
        problems.append(("", f"rules: expected a non-empty list, got {rules_raw!r}"))
        rules_raw = []
    seen: set[str] = set()
    for i, raw in enumerate(rules_raw):
        rule = _rule(raw, i, vocab, problems)
        if rule is None:
            continue
        if rule.id in seen:
            problems.append((rule.id, "duplicate id (ids must be unique within a rule set)"))
            continue
        seen.add(rule.id)
        rules.append(rule)
    if problems:
        raise RuleSetError(origin, problems)
    return RuleSet(head["name"], head["version"], head["title"], head["source"],
                   str(data.get("description") or ""), data["stage_variable"], preferred,
                   baseline, tuple(rules), origin, MappingProxyType(dict(data)), indication)


def _indication(data, vocab, problems) -> Mapping[str, StageIndication]:
    """The indication table (``indication``, or a legacy file's ``preferred`` lists)."""
    stage_var = data["stage_variable"]
    has = [k for k in ("indication", "preferred") if k in data]
    if len(has) != 1:
        problems.append(("", "expected exactly one of 'indication' (rule files since 1.2) or "
                             f"'preferred' (older files), got {has or 'neither'}"))
        return MappingProxyType({})
    if has[0] == "preferred":
        return from_preferred(_preferred(data, stage_var, vocab, problems))
    var = vocab.get(stage_var)
    if var is None or var.kind != "category":
        problems.append(("", f"stage_variable: expected a derived stage (a category variable "
                             f"such as cnlc_stage or bclc_stage), got {stage_var!r}"))
        return MappingProxyType({})
    return parse_indication(data["indication"], tuple(var.categories or ()), stage_var, problems,
                            _modality_list, EVIDENCE)


# --- discovery and cached loading -------------------------------------------------------------

def available_rulesets() -> tuple[str, ...]:
    """Names of the shipped rule sets (the default first)."""
    names = sorted(p.stem for p in RULES_DIR.glob("*.yaml"))
    return tuple(sorted(names, key=lambda n: (n != DEFAULT_RULESET, n)))


_CACHE: dict[str, tuple[tuple[int, int], RuleSet]] = {}


def _resolve(name_or_path: str | os.PathLike) -> Path:
    text = os.fspath(name_or_path)
    shipped = RULES_DIR / f"{text}.yaml"
    if os.sep not in text and "/" not in text and not text.endswith((".yaml", ".yml")):
        if shipped.is_file():
            return shipped
        names = available_rulesets()
        raise UnknownGuidelineError(text, names, _suggest(text, names))
    path = Path(text).expanduser().resolve()
    if not path.is_file():
        raise RuleSetError(text, [("", f"ruleset: no such file {text!r}")])
    return path


def load_ruleset(name_or_path: str | os.PathLike | RuleSet | None = None) -> RuleSet:
    """Load and check a rule set (cached; reloaded when the file changes).

    Parameters
    ----------
    name_or_path : str, path, RuleSet or None
        A shipped rule-set name (see :func:`available_rulesets`; None = the default,
        ``cnlc-2024``), a path to a YAML rule file, or an already loaded :class:`RuleSet`.

    Raises
    ------
    UnknownGuidelineError
        When a name (not a path) is not a shipped rule set (a :class:`RequestError`).
    RuleSetError
        When the file is absent or malformed; the message names each rule and problem.
    """
    if isinstance(name_or_path, RuleSet):
        return name_or_path
    path = _resolve(DEFAULT_RULESET if name_or_path is None else name_or_path)
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _CACHE.get(str(path))
    if cached is None or cached[0] != stamp:
        cached = _CACHE[str(path)] = (stamp, _build(read_yaml(path), str(path)))
    return cached[1]
