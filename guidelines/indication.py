"""Indication: what a rule set says is indicated, acceptable or not indicated at each stage.

Contraindications (``forbid``, ``review``) say what must not or may hardly be done; indication
says what the guideline recommends for the stage. A rule file states it per stage::

    indication:
      IIb:
        indicated: [tace]                                  # the guideline's first choices
        acceptable: [immunotherapy, targeted, resection]   # alternatives (MDT, selected)
        reference: "clinical-facts §1.2 (CNLC IIb: TACE +/- systemic; resection selected) [S]"
        evidence: S

Every other anticancer modality is **not indicated** at that stage; ``supportive_care`` is
acceptable unless listed as indicated (it is never "not indicated"). A rule with the effect
``not_indicated`` makes its modalities not indicated in a situation (a condition) on top of the
stage table. A rule file written before indication existed has ``preferred`` lists instead:
every modality is then acceptable (nothing is indicated or not indicated, so nothing changes
the ranking) and ``preferred`` keeps the file's lists, so bundles trained with such files keep
their behaviour.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from guidelines.vocabulary import modalities

SUPPORTIVE = "supportive_care"
GRADES = ("indicated", "acceptable", "not_indicated")
"""Indication grades, best first."""

_ENTRY_KEYS = ("indicated", "acceptable", "reference", "evidence")


@dataclass(frozen=True)
class StageIndication:
    """The indication table of one stage.

    Attributes
    ----------
    indicated : tuple of str
        The guideline's recommended modalities for the stage, in guideline order.
    acceptable : tuple of str
        Alternatives the guideline allows (selected patients, MDT), in guideline order;
        ``supportive_care`` is added when not indicated.
    reference : str
        Citation (clinical-facts section, source, evidence tag).
    evidence : str
        ``C``, ``S`` or ``U``.
    """

    indicated: tuple[str, ...]
    acceptable: tuple[str, ...]
    reference: str = ""
    evidence: str = ""
    legacy: tuple[str, ...] | None = None
    """The ``preferred`` list of a legacy rule file (then no modality is indicated)."""

    @property
    def not_indicated(self) -> tuple[str, ...]:
        """Every other modality of the vocabulary (never ``supportive_care``), contract order."""
        listed = set(self.indicated) | set(self.acceptable) | {SUPPORTIVE}
        return tuple(m for m in modalities() if m not in listed)

    @property
    def preferred(self) -> tuple[str, ...]:
        """Indicated, then acceptable modalities (the guideline-supported ones, in order)."""
        if self.legacy is not None:
            return self.legacy
        return self.indicated + tuple(m for m in self.acceptable if m not in self.indicated)


def from_preferred(preferred: Mapping[str, tuple[str, ...]]) -> Mapping[str, StageIndication]:
    """Indication of a legacy rule file: every modality acceptable, ``preferred`` as listed."""
    out = {}
    for stage, mods in preferred.items():
        out[stage] = StageIndication((), modalities(), "no indication (rule file before 1.2)",
                                     legacy=tuple(mods))
    return MappingProxyType(out)


def parse_indication(raw, stages: tuple[str, ...], stage_var: str, problems: list,
                     modality_list: Callable, evidence_tags: tuple[str, ...]
                     ) -> Mapping[str, StageIndication]:
    """Check the ``indication`` mapping of a rule file; problems are appended as ``("", msg)``."""
    if not isinstance(raw, Mapping):
        problems.append(("", f"indication: expected a mapping stage -> {{indicated, acceptable, "
                             f"reference, evidence}}, got {raw!r}"))
        return MappingProxyType({})
    out = {}
    for key, entry in raw.items():
        stage = str(key)  # YAML reads an unquoted 0 as an integer
        where = f"indication.{stage}"
        if stage not in stages:
            problems.append(("", f"indication: unknown stage {stage!r} of {stage_var}; expected "
                                 f"{', '.join(stages)}"))
            continue
        if not isinstance(entry, Mapping):
            problems.append(("", f"{where}: expected a mapping with {', '.join(_ENTRY_KEYS)}, "
                                 f"got {entry!r}"))
            continue
        extra = sorted(set(map(str, entry)) - set(_ENTRY_KEYS))
        missing = [k for k in _ENTRY_KEYS if k not in entry]
        if extra or missing:
            problems.append(("", f"{where}: expected the keys {', '.join(_ENTRY_KEYS)}"
                                 + (f"; unknown {extra}" if extra else "")
                                 + (f"; missing {missing}" if missing else "")))
            continue
        indicated = modality_list(entry["indicated"], f"{where}.indicated", problems, "")
        acceptable = () if not entry["acceptable"] else modality_list(
            entry["acceptable"], f"{where}.acceptable", problems, "")
        both = sorted(set(indicated) & set(acceptable))
        if both:
            problems.append(("", f"{where}: {', '.join(both)} listed both as indicated and as "
                                 "acceptable"))
        reference, evidence = entry["reference"], entry["evidence"]
        if not isinstance(reference, str) or "clinical-facts §" not in reference:
            problems.append(("", f"{where}.reference: expected a citation of clinical-facts § "
                                 f"with its evidence tag, got {reference!r}"))
            reference = str(reference)
        elif evidence not in evidence_tags or not any(
                re.search(rf"\b{evidence}\b", t) for t in re.findall(r"\[([^\]]*)\]", reference)):
            problems.append(("", f"{where}.evidence: expected one of {', '.join(evidence_tags)} "
                                 f"also cited as a tag in the reference, got {evidence!r}"))
        if SUPPORTIVE not in indicated and SUPPORTIVE not in acceptable:
            acceptable = acceptable + (SUPPORTIVE,)
        out[stage] = StageIndication(indicated, acceptable, reference.strip(), str(evidence))
    for stage in stages:
        if stage not in out and stage not in map(str, raw):
            problems.append(("", f"indication: stage {stage!r} of {stage_var} is missing"))
    return MappingProxyType(out)
