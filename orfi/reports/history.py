"""A fact's history in French: the fields and values of ``ReportEvent.changes``.

Events store stable codes (``{"suite": ["aucune", "main_courante"]}``) so that a
label edited later never rewrites the past; this module is the one place that turns
them into what the fact's page shows ("Suite donnée : Aucune → Main courante").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from orfi.choices import Choice
from orfi.reports.models import (
    GRAVITY_LABELS,
    Intervention,
    Lieu,
    LocationSource,
    Status,
    Suite,
    Victime,
)

logger = logging.getLogger(__name__)

#: French name of each field an event may record, as on the fact's page.
FIELD_LABELS: dict[str, str] = {
    "category": "Catégorie",
    "status": "Statut",
    "gravity": "Gravité",
    "duplicate_of": "Doublon de",
    "suite": "Suite donnée",
    "mission_service_public": "Agent chargé d'une mission de service public",
    "lieu": "Lieu",
    "victime": "Victime",
    "arret_travail_jours": "Arrêt de travail (jours)",
    "intervention": "Intervention",
    "damage_cost_eur": "Coût estimé (€)",
    "location_source": "Position",
    "description": "Description",
    # Corrections (orfi.reports.corrections).
    "occurred_at": "Date du fait",
    "residence": "Résidence",
    "batiment": "Bâtiment",
    "position": "Coordonnées",
    # A follow-up action corrected or deleted (orfi.followup.services).
    "action": "Action de suivi",
    "done_on": "Date de l'action",
    "kind": "Type d'action",
    "partner": "Partenaire",
    "note": "Note",
    # The work queue (orfi.reports.assignment).
    "assignee": "Pris en charge par",
    "next_step_on": "Prochaine étape",
}

#: Fields whose values are the codes of an enumeration with French labels.
CHOICE_FIELDS: dict[str, type[Choice]] = {
    "status": Status,
    "suite": Suite,
    "lieu": Lieu,
    "victime": Victime,
    "intervention": Intervention,
    "location_source": LocationSource,
}

EMPTY = "—"


@dataclass(frozen=True)
class ChangeLine:
    """One recorded change, in words: the field, its value before and after."""

    field: str
    before: str
    after: str


def label_field(name: str) -> str:
    """Return the French name of a recorded field (its code in words if unknown)."""
    return FIELD_LABELS.get(name) or name.replace("_", " ").capitalize()


def label_value(name: str, value: object) -> str:
    """Return a recorded value of field ``name`` as shown to users."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "oui" if value else "non"
    if name in CHOICE_FIELDS:
        member = CHOICE_FIELDS[name].parse(value)
        return member.label if member is not None else str(value)
    if name == "gravity":
        try:
            return GRAVITY_LABELS.get(int(value), str(value))
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def describe_changes(changes: Mapping[str, object] | None) -> list[ChangeLine]:
    """Return the changes of an event as French lines, in their recorded order."""
    lines = []
    for name, change in (changes or {}).items():
        if isinstance(change, list | tuple) and len(change) == 2:
            before, after = change
        else:
            # Not the [before, after] pair every writer records: shown, not hidden.
            logger.warning("history change %r is not a [before, after] pair", name)
            before, after = None, change
        lines.append(
            ChangeLine(
                label_field(name), label_value(name, before), label_value(name, after)
            )
        )
    return lines
