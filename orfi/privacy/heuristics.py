"""Spot personal data in a free text: names, phone numbers, e-mail addresses, plates.

French heuristics, to warn (never to refuse): orfi records facts, not people, and the
person a description names can read it (CNIL). The rules live in ``hints.json``, which
``static/js/description-hints.js`` reads too, so that the form warns as one types and
the server, without JavaScript, warns the same way. No Flask here.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

HINTS_PATH = Path(__file__).with_name("hints.json")
KINDS = ("name", "phone", "email", "plate")
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿŒœ'’\-]+")


@dataclass(frozen=True)
class Finding:
    """One piece of text that looks like personal data: its kind and where it is."""

    kind: str  # one of KINDS
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    name_group: int | None
    first_name_group: int | None
    skip_after_place: bool


@dataclass(frozen=True)
class _Hints:
    rules: tuple[_Rule, ...]
    clause_breaks: str
    place_words: frozenset[str]
    known_places: frozenset[str]
    not_names: frozenset[str]
    first_names: frozenset[str]
    labels: dict[str, str]
    pronouns: dict[str, str]
    message: dict[str, str]


@lru_cache(maxsize=1)
def load_hints() -> dict[str, Any]:
    """Return the rules as stored in ``hints.json`` (for the browser, as they are)."""
    return json.loads(HINTS_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _hints() -> _Hints:
    data = load_hints()
    rules = tuple(
        _Rule(
            kind=rule["kind"],
            pattern=re.compile(rule["pattern"]),
            name_group=rule.get("name_group"),
            first_name_group=rule.get("first_name_group"),
            skip_after_place=bool(rule.get("skip_after_place")),
        )
        for rule in data["rules"]
    )
    return _Hints(
        rules=rules,
        clause_breaks=data["clause_breaks"],
        place_words=frozenset(data["place_words"]),
        known_places=frozenset(data["known_places"]),
        not_names=frozenset(data["not_names"]),
        first_names=frozenset(data["first_names"]),
        labels=data["labels"],
        pronouns=data["pronouns"],
        message=data["message"],
    )


def _follows_place(text: str, start: int, hints: _Hints) -> bool:
    """Whether one of the three words before ``start``, in the same clause, names a
    place ("rue Victor Hugo", "école Jean Moulin")."""
    before = text[:start]
    cut = max(before.rfind(mark) for mark in hints.clause_breaks)
    words = _WORD.findall(before[cut + 1 :])[-3:]
    return any(word.lower() in hints.place_words for word in words)


def _accepted(match: re.Match[str], rule: _Rule, text: str, hints: _Hints) -> bool:
    if rule.name_group is not None:
        name = match.group(rule.name_group)
        if name.lower() in hints.not_names:
            return False
    if rule.first_name_group is not None:
        first = match.group(rule.first_name_group)
        if first.split("-")[0].lower() not in hints.first_names:
            return False
        if rule.name_group is not None:
            pair = f"{first} {match.group(rule.name_group)}".lower()
            if pair in hints.known_places:
                return False
    return not (rule.skip_after_place and _follows_place(text, match.start(), hints))


def find_personal_data(text: str) -> list[Finding]:
    """Return what in ``text`` looks like a name, a phone number, an e-mail address or
    a licence plate, in order; overlapping matches are reported once."""
    if not text:
        return []
    hints = _hints()
    candidates: list[Finding] = []
    for rule in hints.rules:
        for match in rule.pattern.finditer(text):
            if not _accepted(match, rule, text, hints):
                continue
            end = match.end()
            if rule.name_group is not None:
                end = max(end, match.end(rule.name_group))
            candidates.append(
                Finding(rule.kind, text[match.start() : end], match.start(), end)
            )
    candidates.sort(key=lambda f: (f.start, -f.end))
    findings: list[Finding] = []
    for candidate in candidates:
        if findings and candidate.start < findings[-1].end:
            continue
        findings.append(candidate)
    return findings


def name_findings(findings: list[Finding]) -> str:
    """Return what was found, in French: "un nom de personne et une adresse e-mail"."""
    hints = _hints()
    kinds = [kind for kind in KINDS if any(f.kind == kind for f in findings)]
    labels = [hints.labels[kind] for kind in kinds]
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + hints.message["and"] + labels[-1]


def describe_findings(findings: list[Finding]) -> str:
    """Return the French warning for these findings ("" when there are none)."""
    if not findings:
        return ""
    hints = _hints()
    pronoun = hints.pronouns["many" if len(findings) > 1 else findings[0].kind]
    return (
        hints.message["text"]
        .replace("{items}", name_findings(findings))
        .replace("{pronoun}", pronoun)
    )
