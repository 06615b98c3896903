"""Factories: each builds one valid object, with keyword overrides, and flushes it.

They run inside the app context the ``app`` fixture pushes; call ``db.session.commit()``
(or use :func:`commit`) before a request needs to see the objects.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from orfi.auth.models import Federation, Role, User
from orfi.database import utcnow
from orfi.extensions import db
from orfi.nomenclature.models import Category
from orfi.patrimoine.models import Agence, Organisation, OrganisationKind, Residence
from orfi.patrimoine.services import create_organisation
from orfi.reports.models import Report
from orfi.reports.services import ReportInput, create_report

DEFAULT_PASSWORD = "motdepasse-42"
_seq = itertools.count(1)

# Capitole, Toulouse: a real place for default positions.
TOULOUSE = (43.6045, 1.4440)


def make_organisation(**overrides) -> Organisation:
    n = next(_seq)
    values = {
        "code": f"B{n:03d}",
        "name": f"Bailleur {n}",
        "kind": OrganisationKind.ESH,
        "region": "Occitanie",
    }
    values.update(overrides)
    return create_organisation(**values)


def make_agence(organisation: Organisation, **overrides) -> Agence:
    agence = Agence(
        organisation=organisation, name=overrides.pop("name", f"Agence {next(_seq)}")
    )
    db.session.add(agence)
    db.session.flush()
    return agence


def make_residence(organisation: Organisation, **overrides) -> Residence:
    n = next(_seq)
    values = {
        "organisation": organisation,
        "reference": f"RES{n:04d}",
        "name": f"Résidence {n}",
        "address": f"{n} rue de la République",
        "commune_insee": "31555",
        "commune_name": "Toulouse",
        "logements": 120,
        "latitude": TOULOUSE[0],
        "longitude": TOULOUSE[1],
    }
    values.update(overrides)
    residence = Residence(**values)
    db.session.add(residence)
    db.session.flush()
    return residence


def make_federation(**overrides) -> Federation:
    n = next(_seq)
    values = {"code": f"FED{n}", "name": f"Fédération {n}", "region": "Occitanie"}
    values.update(overrides)
    federation = Federation(**values)
    db.session.add(federation)
    db.session.flush()
    return federation


def make_user(organisation: Organisation | None = None, **overrides) -> User:
    n = next(_seq)
    role = overrides.pop("role", Role.GARDIEN)
    password = overrides.pop("password", DEFAULT_PASSWORD)
    user = User(
        email=overrides.pop("email", f"user{n}@exemple.fr"),
        name=overrides.pop("name", f"Utilisateur {n}"),
        role=role,
        organisation=organisation,
        **overrides,
    )
    if role is Role.FEDERATION and user.federation is None:
        user.federation = make_federation()
        user.organisation = None
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def category(organisation: Organisation, code: str = "AB01") -> Category:
    """Return the organisation's category with this code."""
    return db.session.scalar(
        db.select(Category).where(
            Category.organisation_id == organisation.id, Category.code == code
        )
    )


def make_report(
    author: User, residence: Residence | None = None, **overrides
) -> Report:
    """File a fact through the real service (so derived fields are right)."""
    residence = residence or (author.sector[0] if author.sector else None)
    if residence is None:
        residence = make_residence(author.organisation)
        if author.role is Role.GARDIEN:
            author.sector.append(residence)
    code = overrides.pop("category_code", "AB01")
    values = {
        "category_id": category(author.organisation, code).id,
        "residence_id": residence.id,
        "occurred_at": utcnow() - timedelta(hours=1),
        "latitude": residence.latitude,
        "longitude": residence.longitude,
        "gps_accuracy_m": 12.0,
    }
    values.update(overrides)
    report, _ = create_report(author, ReportInput(**values))
    return report


def commit() -> None:
    db.session.commit()
