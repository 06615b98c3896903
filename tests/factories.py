"""Factories: each builds one valid object, with keyword overrides, and flushes it.

They run inside the app context the ``app`` fixture pushes; call ``db.session.commit()``
(or use :func:`commit`) before a request needs to see the objects.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta

from orfi.auth.models import Federation, Role, User
from orfi.database import utcnow
from orfi.extensions import db
from orfi.nomenclature.models import Category
from orfi.patrimoine.models import Agence, Organisation, OrganisationKind, Residence
from orfi.patrimoine.services import create_organisation
from orfi.reports.checks import ReportInput
from orfi.reports.creation import create_report, derived_fields
from orfi.reports.models import LocationSource, Report, Status
from orfi.timezone import from_local, to_local

DEFAULT_PASSWORD = "motdepasse-42"
_seq = itertools.count(1)

# Capitole, Toulouse: a real place for default positions.
TOULOUSE = (43.6045, 1.4440)


def make_organisation(**overrides) -> Organisation:
    """Create an organisation (a bailleur) through the real service."""
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
    """Add an agence of the organisation; any column can be overridden."""
    values = {"organisation": organisation, "name": f"Agence {next(_seq)}"}
    values.update(overrides)
    agence = Agence(**values)
    db.session.add(agence)
    db.session.flush()
    return agence


def make_residence(organisation: Organisation, **overrides) -> Residence:
    """Add a résidence of the organisation, in Toulouse unless overridden."""
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
    """Add a federation of bailleurs."""
    n = next(_seq)
    values = {"code": f"FED{n}", "name": f"Fédération {n}", "region": "Occitanie"}
    values.update(overrides)
    federation = Federation(**values)
    db.session.add(federation)
    db.session.flush()
    return federation


def make_user(organisation: Organisation | None = None, **overrides) -> User:
    """Add a user (a gardien unless ``role`` says otherwise) with a known password."""
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
    """Commit the test's objects, so that the next request sees them."""
    db.session.commit()


def count_reports() -> int:
    """Return how many facts the database holds (to check nothing was stored)."""
    return db.session.scalar(db.select(db.func.count()).select_from(Report))


def insert_fact(author, residence, local_time: datetime, code: str = "AB01", **fields):
    """Insert a fact directly (bulk-style), any date, with its derived columns."""
    occurred_at = from_local(local_time)
    latitude = fields.pop("latitude", residence.latitude)
    longitude = fields.pop("longitude", residence.longitude)
    report = Report(
        uuid=uuid.uuid4(),
        reference=f"T-{next(_seq):06d}",
        organisation_id=residence.organisation_id,
        residence_id=residence.id,
        category_id=category(residence.organisation, code).id,
        author_id=author.id,
        occurred_at=occurred_at,
        latitude=latitude,
        longitude=longitude,
        location_source=LocationSource.GPS,
        status=fields.pop("status", Status.NOUVEAU),
        **derived_fields(occurred_at, latitude, longitude),
        **fields,
    )
    db.session.add(report)
    db.session.flush()
    return report


def make_tmh_world() -> dict:
    """Build the usual small bailleur and return its objects by name.

    Toulouse Métropole Habitat (TMH) with two résidences: ``residence`` (Les Izards,
    in the ``gardien``'s sector) and ``other`` (Bagatelle, outside it); a ``referent``
    sees both. Flushed, not committed: the fixture adds what its tests need, then
    commits.
    """
    organisation = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    residence = make_residence(
        organisation, name="Les Izards", latitude=43.6409, longitude=1.4327
    )
    other = make_residence(
        organisation, name="Bagatelle", latitude=43.5800, longitude=1.4100
    )
    return {
        "organisation": organisation,
        "residence": residence,
        "other": other,
        "gardien": make_user(organisation, role=Role.GARDIEN, sector=[residence]),
        "referent": make_user(organisation, role=Role.REFERENT),
    }


# Factories of bâtiments, local categories, photos, follow-up, activity log and API
# tokens (first used by tests/test_isolation_walk.py). Their imports stay local so that
# this block needs no change above it.


def make_batiment(residence: Residence, **overrides):
    """Add a bâtiment (entrée) to ``residence``."""
    from orfi.patrimoine.models import Batiment

    values = {"reference": f"BAT{next(_seq):04d}", "address": ""}
    values.update(overrides)
    batiment = Batiment(residence=residence, **values)
    db.session.add(batiment)
    db.session.flush()
    return batiment


def make_category(
    organisation: Organisation,
    family_code: str = "AU",
    *,
    code: str | None = None,
    label: str | None = None,
) -> Category:
    """Add a local category to the organisation's nomenclature (like an admin)."""
    from orfi.nomenclature.models import Family
    from orfi.nomenclature.services import add_category

    family = db.session.scalar(db.select(Family).where(Family.code == family_code))
    return add_category(
        organisation.id,
        family_id=family.id,
        code=code or f"{family_code}{50 + next(_seq) % 40}",
        label=label or f"Catégorie locale {next(_seq)}",
    )


def jpeg_bytes(width: int = 32, height: int = 24) -> bytes:
    """A small valid JPEG (no metadata) to upload or store as a photo."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 60, 30)).save(out, "JPEG")
    return out.getvalue()


def make_photo(report: Report, user: User | None = None):
    """Store a photo of ``report`` (files under ``ORFI_PHOTO_DIR``)."""
    from orfi.photos.services import add_photo, clean_image

    photo, _created = add_photo(
        user or report.author, report, clean_image(jpeg_bytes(), "photo.jpg")
    )
    return photo


def make_action(report: Report, user: User, **overrides):
    """Record a follow-up action on ``report`` through the service."""
    from orfi.followup.models import ActionKind, Partner
    from orfi.followup.services import ActionInput, add_action
    from orfi.timezone import now_local

    values = {
        "done_on": now_local().date(),
        "kind": ActionKind.SIGNALEMENT,
        "partner": Partner.POLICE_NATIONALE,
        "note": "",
    }
    values.update(overrides)
    return add_action(user, report, ActionInput(**values))


def make_complaint(report: Report, user: User, **overrides):
    """Record the complaint details of ``report`` through the service."""
    from orfi.followup.models import ComplaintFiler, ComplaintKind
    from orfi.followup.services import ComplaintInput, save_complaint

    values = {"kind": ComplaintKind.PLAINTE, "filed_by": ComplaintFiler.BAILLEUR}
    values.update(overrides)
    return save_complaint(user, report, ComplaintInput(**values))


def make_meeting(user: User, **overrides):
    """Log a meeting in ``user``'s activity log (organisation's or federation's)."""
    from orfi.activity.models import MeetingKind
    from orfi.activity.services import MeetingInput, create_meeting
    from orfi.timezone import now_local

    values = {"held_on": now_local().date(), "kind": MeetingKind.CLSPD}
    values.update(overrides)
    return create_meeting(user, MeetingInput(**values))


def make_intervention(user: User, **overrides):
    """Log an intervention in ``user``'s activity log (for their own bailleur)."""
    from orfi.activity.services import InterventionInput, create_intervention
    from orfi.followup.models import Partner
    from orfi.timezone import now_local

    values = {
        "done_on": now_local().date(),
        "beneficiary_id": user.organisation_id,
        "partner": Partner.POLICE_NATIONALE,
    }
    values.update(overrides)
    return create_intervention(user, InterventionInput(**values))


def make_token(user: User, name: str | None = None):
    """Create an API token of ``user``; return it and its secret."""
    from orfi.api.services import create_token

    return create_token(user, name or f"Jeton {next(_seq)}")


#: The description of the valid facts below.
FACT_DESCRIPTION = "Porte du hall forcée."


def fact_body(world, **overrides) -> dict:
    """A valid API body filing a fact on ``world``'s résidence (overrides win)."""
    data = {
        "uuid": str(uuid.uuid4()),
        "category_id": category(world["organisation"], "AB01").id,
        "residence_id": world["residence"].id,
        "occurred_at": to_local(utcnow() - timedelta(minutes=10)).isoformat(),
        "latitude": 43.64095,
        "longitude": 1.43275,
        "gps_accuracy_m": 14,
        "location_source": "gps",
        "lieu": "hall",
        "gravity": 2,
        "description": FACT_DESCRIPTION,
    }
    data.update(overrides)
    return data


def fact_form(world, **overrides) -> dict:
    """A valid field form for ``world``'s résidence (overrides win; None drops a
    field)."""
    now = to_local(utcnow() - timedelta(minutes=10))
    data = {
        "category": str(category(world["organisation"], "AB01").id),
        "residence": str(world["residence"].id),
        "occurred_at": now.strftime("%Y-%m-%dT%H:%M"),
        "latitude": "43.64095",
        "longitude": "1.43275",
        "gps_accuracy_m": "14",
        "location_source": "gps",
        "lieu": "hall",
        "victime": "aucune",
        "suite": "aucune",
        "intervention": "aucune",
        "gravity": "2",
        "description": FACT_DESCRIPTION,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
