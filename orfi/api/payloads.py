"""JSON in and out of the API: parsing into service inputs, rendering of objects.

Parsing is the contract's (``orfi.api.contract``): strict models whose errors are
reported here under the name of their field, in French, as the pages do.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

import pydantic
from flask import current_app, request, url_for

from orfi.api import contract
from orfi.api.contract import (
    ORFI_ERROR,
    REQUIRED,
    UNKNOWN,
    Contract,
    new_report_model,
)
from orfi.auth.models import User
from orfi.choices import Choice
from orfi.errors import ValidationError
from orfi.nomenclature.models import Category
from orfi.patrimoine.models import Residence
from orfi.photos.models import Photo
from orfi.reports.checks import ReportInput
from orfi.reports.models import (
    Intervention,
    Lieu,
    LocationSource,
    Report,
    Status,
    Suite,
    Victime,
)
from orfi.reports.nearby import NearbyFact
from orfi.reports.queries import ReportFilters
from orfi.timezone import to_local

M = TypeVar("M", bound=Contract)


def _messages(error: pydantic.ValidationError, model: type[Contract]) -> dict:
    """pydantic's errors as the API shows them: French messages by field name."""
    fields: dict[str, list[str]] = {}
    for problem in error.errors(include_url=False, include_input=False):
        name = str(problem["loc"][0])[:100] if problem["loc"] else "body"
        kind = problem["type"]
        if kind == ORFI_ERROR:
            message = problem["msg"]
        elif kind == "extra_forbidden":
            message = UNKNOWN
        elif kind == "missing":
            message = model.missing.get(name, REQUIRED)
        else:  # a check of pydantic's own, which the types above make unreachable
            message = "Valeur refusée."
        fields.setdefault(name, []).append(message)
    return fields


def parse(model: type[M], data: Mapping[str, Any]) -> M:
    """Read ``data`` (a JSON object, or a query string's first values) as ``model``,
    or raise ValidationError naming each field in question."""
    try:
        return model.model_validate(dict(data.items()))
    except pydantic.ValidationError as error:
        raise ValidationError(_messages(error, model)) from None


def json_object(payload: Any) -> Mapping[str, Any]:
    """Return ``payload`` if it is a JSON object, else raise ValidationError."""
    if not isinstance(payload, dict):
        raise ValidationError({"body": ["Un objet JSON est attendu."]})
    return payload


def parse_report_input(payload: Any, *, description_max: int) -> ReportInput:
    """Turn the JSON of a new fact into a ReportInput, or raise ValidationError."""
    fact = parse(new_report_model(description_max), json_object(payload))
    return ReportInput(**dict(fact))


def parse_filters(args: Mapping[str, Any]) -> tuple[ReportFilters, bool, int]:
    """Read the list filters (those of the pages), ``mine`` and the page size."""
    query = parse(contract.ReportQuery, args)
    fields = {name: value for name, value in query if name not in _NOT_FILTERS}
    return ReportFilters(**fields), query.mine, query.per_page


#: What the facts list reads besides the filters of the pages.
_NOT_FILTERS = frozenset({"mine", "per_page"})


def parse_pagination(args: Mapping[str, Any]) -> tuple[int, int]:
    """Read ``page`` and ``per_page`` from a query string."""
    query = parse(contract.Pagination, args)
    return query.page, query.per_page


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
        "description_required": category.description_required,
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
