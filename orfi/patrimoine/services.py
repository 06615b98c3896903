"""Creating organisations and reading résidences within a user's perimeter."""

from __future__ import annotations

import re

import sqlalchemy as sa

from orfi.auth.models import Role, User
from orfi.errors import NotFound, ValidationError
from orfi.extensions import db
from orfi.nomenclature.services import copy_nomenclature_to
from orfi.patrimoine.models import Agence, Organisation, OrganisationKind, Residence

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


def visible_residences(user: User) -> sa.Select:
    """Return a query of the résidences ``user`` may read."""
    query = db.select(Residence)
    if user.organisation_id is None or user.role is Role.FEDERATION:
        return query.where(sa.false())
    query = query.where(Residence.organisation_id == user.organisation_id)
    if user.role is Role.GARDIEN:
        sector_ids = [r.id for r in user.sector]
        return query.where(Residence.id.in_(sector_ids))
    if user.agence_id is not None:
        query = query.where(Residence.agence_id == user.agence_id)
    return query


def list_residences(user: User) -> list[Residence]:
    """Return the résidences ``user`` may read, by name."""
    return list(db.session.scalars(visible_residences(user).order_by(Residence.name)))


def get_visible_residence(user: User, residence_id: int) -> Residence:
    """Return the résidence if ``user`` may read it, else raise NotFound."""
    residence = db.session.scalar(
        visible_residences(user).where(Residence.id == residence_id)
    )
    if residence is None:
        raise NotFound("Résidence introuvable.")
    return residence


def count_reports_by_residence(residence_ids: list[int]) -> dict[int, int]:
    """Return the number of facts per résidence id."""
    from orfi.reports.models import Report

    if not residence_ids:
        return {}
    rows = db.session.execute(
        db.select(Report.residence_id, sa.func.count())
        .where(Report.residence_id.in_(residence_ids))
        .group_by(Report.residence_id)
    )
    return {residence_id: count for residence_id, count in rows}
