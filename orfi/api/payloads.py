"""JSON in and out of the API: strict parsing into service inputs, rendering of objects.

Parsing never trusts a type: ``true`` is not an integer, ``NaN`` is not a position, an
unknown field is an error (a typo would otherwise be silently ignored). Every problem is
reported under the name of its field, in French, as the pages do.
"""

from __future__ import annotations

import math
import uuid as uuid_module
from collections.abc import Mapping
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from flask import current_app, request, url_for

from orfi.auth.models import User
from orfi.choices import Choice
from orfi.errors import ValidationError
from orfi.extensions import db
from orfi.nomenclature.models import Category
from orfi.patrimoine.models import Batiment, Residence
from orfi.photos.models import Photo
from orfi.reports.models import (
    Intervention,
    Lieu,
    LocationSource,
    Report,
    Status,
    Suite,
    Victime,
)
from orfi.reports.services import NearbyFact, NewReport, ReportFilters, ReportInput
from orfi.timezone import from_local, to_local

#: Largest id or count accepted (a PostgreSQL ``integer``).
MAX_INT = 2**31 - 1
MAX_PAGE = 100_000
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 50
TEXT_MAX_LENGTH = 500


class Reader:
    """Read typed values from a JSON object or a query string, collecting errors."""

    def __init__(self, data: Mapping[str, Any], *, from_query: bool = False):
        self.data = data
        self.from_query = from_query
        self.errors: dict[str, list[str]] = {}

    def fail(self, name: str, message: str) -> None:
        """Record a problem with field ``name``."""
        self.errors.setdefault(name, []).append(message)

    def check(self) -> None:
        """Raise ValidationError if any field had a problem."""
        if self.errors:
            raise ValidationError(self.errors)

    def reject_unknown(self, known: set[str]) -> None:
        """Record every field that is not in ``known``."""
        for name in self.data:
            if name not in known:
                self.fail(str(name)[:100], "Champ inconnu.")

    def _raw(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if value is None and required:
            self.fail(name, "Champ obligatoire.")
        return value

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: int = 1,
        maximum: int = MAX_INT,
    ) -> int | None:
        """Read an integer between ``minimum`` and ``maximum``."""
        value = self._raw(name, required)
        if value is None:
            return None
        if self.from_query and isinstance(value, str):
            text = value.strip()
            digits = text[1:] if text[:1] in "+-" else text
            if not digits.isascii() or not digits.isdigit() or len(digits) > 12:
                self.fail(name, "Nombre entier attendu.")
                return None
            value = int(text)
        elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, "Nombre entier attendu.")
            return None
        if not minimum <= value <= maximum:
            self.fail(name, f"Nombre entre {minimum} et {maximum} attendu.")
            return None
        return value

    def number(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> float | None:
        """Read a finite number, optionally within bounds."""
        value = self._raw(name, required)
        if value is None:
            return None
        if self.from_query and isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                self.fail(name, "Nombre attendu.")
                return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(name, "Nombre attendu.")
            return None
        try:
            value = float(value)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            self.fail(name, "Nombre fini attendu.")
            return None
        if (minimum is not None and value < minimum) or (
            maximum is not None and value > maximum
        ):
            self.fail(name, f"Nombre entre {minimum:g} et {maximum:g} attendu.")
            return None
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        """Read a boolean (``true``/``false``; in a query string also 1/0)."""
        value = self._raw(name, False)
        if value is None:
            return default
        if self.from_query and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0"):
                return False
        if isinstance(value, bool):
            return value
        self.fail(name, "Vrai ou faux attendu (true ou false).")
        return default

    def text(self, name: str, *, max_length: int = TEXT_MAX_LENGTH) -> str:
        """Read a string of at most ``max_length`` characters ('' when absent)."""
        value = self._raw(name, False)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.fail(name, "Texte attendu.")
            return ""
        if len(value) > max_length:
            self.fail(name, f"{max_length} caractères au plus.")
            return ""
        if "\x00" in value or not _encodable(value):
            self.fail(name, "Le texte contient des caractères invalides.")
            return ""
        return value

    def choice(self, name: str, enum: type[Choice], *, required: bool = False):
        """Read the code of a member of ``enum``."""
        value = self._raw(name, required)
        if value is None:
            return None
        member = enum.parse(value)
        if member is None:
            codes = ", ".join(m.value for m in enum)
            self.fail(name, f"Valeur inconnue : choisissez parmi {codes}.")
        return member

    def uuid(self, name: str, *, required: bool = False) -> uuid_module.UUID | None:
        """Read a UUID in its canonical text form."""
        value = self._raw(name, required)
        if value is None:
            return None
        if isinstance(value, str) and len(value) <= 45:
            try:
                return uuid_module.UUID(value)
            except ValueError:
                pass
        self.fail(name, "UUID attendu (ex. 3f2b6c1e-8d5a-4f57-9a1e-2c4b7d9e0f13).")
        return None

    def moment(self, name: str, *, required: bool = False) -> datetime | None:
        """Read an ISO 8601 date and time; without an offset it is Paris time."""
        value = self._raw(name, required)
        if value is None:
            return None
        problem = (
            "Date et heure ISO 8601 attendues (ex. 2026-11-21T14:30:00+01:00 ; "
            "sans décalage : heure de Paris)."
        )
        if not isinstance(value, str) or not 16 <= len(value) <= 40:
            self.fail(name, problem)
            return None
        try:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                return from_local(parsed)
            return parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            self.fail(name, problem)
            return None

    def day(self, name: str) -> date | None:
        """Read an ISO 8601 date (``2026-11-21``)."""
        value = self._raw(name, False)
        if value is None:
            return None
        if isinstance(value, str) and len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(name, "Date attendue au format AAAA-MM-JJ.")
        return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_object(payload: Any) -> Mapping[str, Any]:
    """Return ``payload`` if it is a JSON object, else raise ValidationError."""
    if not isinstance(payload, dict):
        raise ValidationError({"body": ["Un objet JSON est attendu."]})
    return payload


#: Fields of a new fact, as the API names them.
REPORT_FIELDS = {
    "uuid",
    "category_id",
    "residence_id",
    "batiment_id",
    "occurred_at",
    "latitude",
    "longitude",
    "gps_accuracy_m",
    "location_source",
    "confirm_position",
    "lieu",
    "victime",
    "arret_travail_jours",
    "mission_service_public",
    "suite",
    "intervention",
    "damage_cost_eur",
    "gravity",
    "description",
}


def parse_report_input(payload: Any, *, description_max: int) -> ReportInput:
    """Turn the JSON of a new fact into a ReportInput, or raise ValidationError."""
    reader = Reader(json_object(payload))
    reader.reject_unknown(REPORT_FIELDS)
    data = ReportInput(
        uuid=reader.uuid("uuid"),
        category_id=reader.integer("category_id", required=True),
        residence_id=reader.integer("residence_id", required=True),
        batiment_id=reader.integer("batiment_id"),
        occurred_at=reader.moment("occurred_at", required=True),
        latitude=reader.number("latitude", minimum=-90, maximum=90),
        longitude=reader.number("longitude", minimum=-180, maximum=180),
        gps_accuracy_m=reader.number("gps_accuracy_m", minimum=0, maximum=999_999),
        location_source=reader.choice("location_source", LocationSource),
        confirm_position=reader.boolean("confirm_position"),
        lieu=reader.choice("lieu", Lieu),
        victime=reader.choice("victime", Victime),
        arret_travail_jours=reader.integer(
            "arret_travail_jours", minimum=0, maximum=1000
        ),
        mission_service_public=reader.boolean("mission_service_public"),
        suite=reader.choice("suite", Suite),
        intervention=reader.choice("intervention", Intervention),
        damage_cost_eur=reader.integer("damage_cost_eur", minimum=0, maximum=10**7),
        gravity=reader.integer("gravity", minimum=1, maximum=4),
        description=reader.text("description", max_length=description_max),
    )
    reader.check()
    return data


def parse_filters(args: Mapping[str, Any]) -> tuple[ReportFilters, bool, int]:
    """Read the list filters (those of the pages), ``mine`` and the page size."""
    reader = Reader(args, from_query=True)
    reader.reject_unknown(
        {
            "date_from",
            "date_to",
            "category_id",
            "residence_id",
            "status",
            "mine",
            "page",
            "per_page",
        }
    )
    filters = ReportFilters(
        date_from=reader.day("date_from"),
        date_to=reader.day("date_to"),
        category_id=reader.integer("category_id"),
        residence_id=reader.integer("residence_id"),
        status=reader.choice("status", Status),
    )
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        reader.fail("date_to", "La date de fin précède la date de début.")
    mine = reader.boolean("mine")
    filters.page, per_page = _pagination(reader)
    reader.check()
    return filters, mine, per_page


def parse_pagination(args: Mapping[str, Any]) -> tuple[int, int]:
    """Read ``page`` and ``per_page`` from a query string."""
    reader = Reader(args, from_query=True)
    reader.reject_unknown({"page", "per_page"})
    page, per_page = _pagination(reader)
    reader.check()
    return page, per_page


def _pagination(reader: Reader) -> tuple[int, int]:
    page = reader.integer("page", maximum=MAX_PAGE) or 1
    per_page = reader.integer("per_page", maximum=MAX_PER_PAGE) or DEFAULT_PER_PAGE
    return page, per_page


# ----------------------------------------------------------------------- rendering


def _moment(value: datetime | None) -> str | None:
    return None if value is None else to_local(value).isoformat()


def _code(member: Choice | None) -> str | None:
    return None if member is None else member.value


def user_json(user: User, csrf_token: str | None) -> dict:
    """Render the caller."""
    organisation = user.organisation
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role.value,
        "organisation": None
        if organisation is None
        else {"code": organisation.code, "name": organisation.name},
        "csrf_token": csrf_token,
    }


def category_json(category: Category) -> dict:
    """Render a category of the nomenclature."""
    return {
        "id": category.id,
        "code": category.code,
        "label": category.label,
        "active": category.active,
    }


def nomenclature_json(categories: list[Category]) -> dict:
    """Render the organisation's categories by family, and the lists of the form."""
    families: dict[str, dict] = {}
    for category in categories:
        family = families.setdefault(
            category.family.code,
            {
                "code": category.family.code,
                "label": category.family.label,
                "categories": [],
            },
        )
        family["categories"].append(category_json(category))
    return {
        "families": list(families.values()),
        "lists": {
            name: [{"code": m.value, "label": m.label} for m in enum]
            for name, enum in (
                ("lieu", Lieu),
                ("victime", Victime),
                ("suite", Suite),
                ("intervention", Intervention),
                ("status", Status),
                ("location_source", LocationSource),
            )
        },
    }


def residence_json(residence: Residence) -> dict:
    """Render a résidence with its bâtiments."""
    return {
        "id": residence.id,
        "reference": residence.reference,
        "name": residence.name,
        "address": residence.address,
        "commune": residence.commune_name,
        "latitude": residence.latitude,
        "longitude": residence.longitude,
        "qpv_code": residence.qpv_code,
        "batiments": [
            {"id": b.id, "reference": b.reference, "address": b.address}
            for b in residence.batiments
        ],
    }


_ZERO_UUID = str(uuid_module.UUID(int=0))


def uuid_url(endpoint: str, argument: str, value: uuid_module.UUID, **fixed) -> str:
    """``url_for(endpoint, argument=value, **fixed)`` for a UUID ``value``.

    The URL is url_for's own, built once per application, script root and endpoint
    with a stand-in UUID, then completed: it answers every fact filed and every item
    of a list, where building it with the URL map each time costs more than
    rendering the rest of the fact.
    """
    templates = current_app.extensions.setdefault("orfi.uuid_urls", {})
    key = (endpoint, argument, request.script_root, *sorted(fixed.items()))
    parts = templates.get(key)
    if parts is None:
        url = url_for(endpoint, **{argument: uuid_module.UUID(int=0)}, **fixed)
        parts = templates[key] = url.split(_ZERO_UUID)
    return str(value).join(parts)


def photo_json(photo: Photo) -> dict:
    """Render a photo's description and the URLs of its image and thumbnail."""
    return {
        "uuid": str(photo.uuid),
        "position": photo.position,
        "width": photo.width,
        "height": photo.height,
        "url": uuid_url("api.photo_image", "photo_uuid", photo.uuid),
        "thumbnail_url": uuid_url(
            "api.photo_image", "photo_uuid", photo.uuid, size="thumbnail"
        ),
    }


def report_json(report: Report, photos: list[Photo]) -> dict:
    """Render a fact as the API shows it."""
    return {
        "uuid": str(report.uuid),
        "reference": report.reference,
        "status": report.status.value,
        "category": {
            "id": report.category.id,
            "code": report.category.code,
            "label": report.category.label,
        },
        "residence": {
            "id": report.residence.id,
            "reference": report.residence.reference,
            "name": report.residence.name,
        },
        "batiment": None
        if report.batiment is None
        else {"id": report.batiment.id, "reference": report.batiment.reference},
        "occurred_at": _moment(report.occurred_at),
        "created_at": _moment(report.created_at),
        "latitude": report.latitude,
        "longitude": report.longitude,
        "gps_accuracy_m": report.gps_accuracy_m,
        "location_source": report.location_source.value,
        "lieu": _code(report.lieu),
        "victime": _code(report.victime),
        "arret_travail_jours": report.arret_travail_jours,
        "mission_service_public": report.mission_service_public,
        "suite": _code(report.suite),
        "intervention": _code(report.intervention),
        "damage_cost_eur": report.damage_cost_eur,
        "gravity": report.gravity,
        "description": report.description,
        "duplicate_of": None
        if report.duplicate_of is None
        else str(report.duplicate_of.uuid),
        "author": {"id": report.author.id, "name": report.author.name},
        "photos": [photo_json(p) for p in photos],
        "url": uuid_url("reports.detail", "report_uuid", report.uuid),
    }


def new_report_json(new: NewReport, author) -> dict:
    """Render a fact just stored from its values, as :func:`report_json` renders it
    from the database (no query: this answers every fact filed)."""
    values = new.values
    batiment_id = values["batiment_id"]
    view = SimpleNamespace(
        **values,
        category=new.category,
        residence=new.residence,
        batiment=None if batiment_id is None else db.session.get(Batiment, batiment_id),
        duplicate_of=None,
        author=SimpleNamespace(id=author.id, name=author.name),
    )
    return report_json(view, [])


def nearby_json(fact: NearbyFact, user: User) -> dict:
    """Render a nearby fact with what a filer needs to recognise it, and no more.

    Neither the description nor the author's name: a gardien may see facts filed by
    colleagues on their sector here, not their words.
    """
    report = fact.report
    return {
        "uuid": str(report.uuid),
        "reference": report.reference,
        "category": {"id": report.category.id, "code": report.category.code},
        "residence": report.residence.name,
        "lieu": _code(report.lieu),
        "lieu_label": report.lieu.label if report.lieu else None,
        "occurred_at": _moment(report.occurred_at),
        "distance_m": round(fact.distance_m, 1),
        "mine": report.author_id == user.id,
    }


def page_json(items: list, page) -> dict:
    """Render a page of a Flask-SQLAlchemy pagination with its items."""
    return {
        "items": items,
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
    }
