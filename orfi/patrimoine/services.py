"""Creating organisations and agences, and finding an organisation by its code.

What a user may read of the patrimoine is :mod:`orfi.auth.perimeter`'s job.
"""

from __future__ import annotations

import re

from orfi.errors import NotFound, ValidationError
from orfi.extensions import db
from orfi.nomenclature.services import copy_nomenclature_to
from orfi.patrimoine.models import (
    Agence,
    ImportColumnMapping,
    Organisation,
    OrganisationKind,
)

_CODE = re.compile(r"^[A-Z0-9]{2,12}$")


def create_organisation(
    *, code: str, name: str, kind: OrganisationKind, region: str = ""
) -> Organisation:
    """Create a bailleur with its own copy of the default nomenclature."""
    code = code.strip().upper()
    errors: dict[str, list[str]] = {}
    if not _CODE.match(code):
        errors["code"] = ["Code de 2 à 12 lettres majuscules ou chiffres (ex. TMH)."]
    elif db.session.scalar(db.select(Organisation.id).where(Organisation.code == code)):
        errors["code"] = ["Ce code est déjà utilisé."]
    if not name.strip():
        errors["name"] = ["Le nom est obligatoire."]
    if errors:
        raise ValidationError(errors)
    organisation = Organisation(
        code=code, name=name.strip(), kind=kind, region=region.strip()
    )
    db.session.add(organisation)
    db.session.flush()
    copy_nomenclature_to(organisation.id)
    return organisation


def get_organisation_by_code(code: str) -> Organisation:
    """Return the organisation with this code, or raise NotFound."""
    organisation = db.session.scalar(
        db.select(Organisation).where(Organisation.code == code.strip().upper())
    )
    if organisation is None:
        raise NotFound(f"Aucun bailleur avec le code {code!r}.")
    return organisation


def get_or_create_agence(organisation_id: int, name: str) -> Agence:
    """Return the organisation's agence with this name, creating it if needed."""
    agence = db.session.scalar(
        db.select(Agence).where(
            Agence.organisation_id == organisation_id, Agence.name == name
        )
    )
    if agence is None:
        agence = Agence(organisation_id=organisation_id, name=name)
        db.session.add(agence)
        db.session.flush()
    return agence


def get_column_mapping(organisation_id: int) -> dict[str, str]:
    """Return the {champ: column} an organisation chose at its last mapped import."""
    columns = db.session.scalar(
        db.select(ImportColumnMapping.columns).where(
            ImportColumnMapping.organisation_id == organisation_id
        )
    )
    return dict(columns or {})


def save_column_mapping(organisation_id: int, columns: dict[str, str]) -> None:
    """Remember the {champ: column} chosen for the organisation's next import."""
    row = db.session.scalar(
        db.select(ImportColumnMapping).where(
            ImportColumnMapping.organisation_id == organisation_id
        )
    )
    if row is None:
        db.session.add(
            ImportColumnMapping(organisation_id=organisation_id, columns=dict(columns))
        )
    else:
        row.columns = dict(columns)
    db.session.flush()
