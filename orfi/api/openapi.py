"""The OpenAPI 3.0 document of the API, built from the same enumerations as the code.

The document is the contract that schemathesis checks the API against
(tests/test_api_schema.py): every status an operation may answer is listed, every
response body is described.
"""

from __future__ import annotations

from typing import Any

from orfi.api.payloads import (
    DEFAULT_PER_PAGE,
    MAX_INT,
    MAX_PAGE,
    MAX_PER_PAGE,
    TEXT_MAX_LENGTH,
)
from orfi.choices import Choice
from orfi.photos.models import MAX_PHOTOS
from orfi.reports.models import (
    Intervention,
    Lieu,
    LocationSource,
    Status,
    Suite,
    Victime,
)

_ERROR_TEXT = {
    400: "Requête mal formée (JSON illisible, jeton CSRF absent ou périmé).",
    401: "Non authentifié : jeton absent, inconnu ou révoqué, ou session expirée.",
    403: "Authentifié, mais ce rôle ne permet pas cette opération.",
    404: "Introuvable, ou hors du périmètre de l'utilisateur.",
    409: "La session appartient à un autre utilisateur que celui nommé par "
    "l'en-tête X-Orfi-User (PWA).",
    413: "Corps de requête trop gros.",
    415: "Type de contenu non pris en charge.",
    422: "Données refusées : `fields` nomme chaque champ en cause, avec ses messages.",
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _enum(choice: type[Choice], *, nullable: bool = True) -> dict:
    schema: dict[str, Any] = {"type": "string", "enum": [m.value for m in choice]}
    if nullable:
        schema["nullable"] = True
        schema["enum"] = [*schema["enum"], None]
    return schema


def _id(nullable: bool = False, description: str | None = None) -> dict:
    schema: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_INT}
    if nullable:
        schema["nullable"] = True
    if description:
        schema["description"] = description
    return schema


def _json(schema: dict, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


def _errors(*codes: int) -> dict:
    return {
        str(code): _json(_ref("Error"), _ERROR_TEXT[code]) for code in sorted(codes)
    }


_AUTH_ERRORS = (400, 401, 403, 404)
_UUID_PATH = {
    "name": "report_uuid",
    "in": "path",
    "required": True,
    "description": "UUID du fait (celui fourni par le client à la création).",
    "schema": {"type": "string", "format": "uuid"},
}
_PAGINATION = [
    {
        "name": "page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
    },
    {
        "name": "per_page",
        "in": "query",
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_PER_PAGE,
            "default": DEFAULT_PER_PAGE,
        },
    },
]


def _page_of(item: str) -> dict:
    return {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "pages"],
        "properties": {
            "items": {"type": "array", "items": _ref(item)},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
            "pages": {"type": "integer"},
        },
    }


def _schemas(description_max: int) -> dict:
    nullable_string = {"type": "string", "nullable": True}
    code_label = {
        "type": "object",
        "required": ["code", "label"],
        "properties": {"code": {"type": "string"}, "label": {"type": "string"}},
    }
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string"},
                "description": {"type": "string"},
                "fields": {
                    "type": "object",
                    "description": "Messages en français, par champ.",
                    "additionalProperties": {
                        "type": "array",
                        "items": {"type": "string"},
                    },
                },
            },
        },
        "Me": {
            "type": "object",
            "required": ["id", "name", "email", "role", "organisation", "csrf_token"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "email": {"type": "string"},
                "role": {
                    "type": "string",
                    "enum": ["gardien", "referent", "direction", "admin", "federation"],
                },
                "organisation": {
                    "type": "object",
                    "nullable": True,
                    "required": ["code", "name"],
                    "properties": {
                        "code": {"type": "string"},
                        "name": {"type": "string"},
                    },
                },
                "csrf_token": {
                    **nullable_string,
                    "description": "Jeton CSRF de la session (null avec un jeton "
                    "d'API) : à renvoyer dans l'en-tête X-CSRFToken des écritures.",
                },
            },
        },
        "Nomenclature": {
            "type": "object",
            "required": ["families", "lists"],
            "properties": {
                "families": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["code", "label", "categories"],
                        "properties": {
                            "code": {"type": "string"},
                            "label": {"type": "string"},
                            "categories": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["id", "code", "label", "active"],
                                    "properties": {
                                        "id": {"type": "integer"},
                                        "code": {"type": "string"},
                                        "label": {"type": "string"},
                                        "active": {"type": "boolean"},
                                    },
                                },
                            },
                        },
                    },
                },
                "lists": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": code_label},
                },
            },
        },
        "Residence": {
            "type": "object",
            "required": [
                "id",
                "reference",
                "name",
                "address",
                "commune",
                "latitude",
                "longitude",
                "qpv_code",
                "batiments",
            ],
            "properties": {
                "id": {"type": "integer"},
                "reference": {"type": "string"},
                "name": {"type": "string"},
                "address": {"type": "string"},
                "commune": {"type": "string"},
                "latitude": {"type": "number"},
                "longitude": {"type": "number"},
                "qpv_code": nullable_string,
                "batiments": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "reference", "address"],
                        "properties": {
                            "id": {"type": "integer"},
                            "reference": {"type": "string"},
                            "address": {"type": "string"},
                        },
                    },
                },
            },
        },
        "ResidencePage": _page_of("Residence"),
        "Photo": {
            "type": "object",
            "required": ["uuid", "position", "width", "height", "url", "thumbnail_url"],
            "properties": {
                "uuid": {"type": "string", "format": "uuid"},
                "position": {"type": "integer", "minimum": 1, "maximum": MAX_PHOTOS},
                "width": {"type": "integer"},
                "height": {"type": "integer"},
                "url": {"type": "string"},
                "thumbnail_url": {"type": "string"},
            },
        },
        "PhotoList": {
            "type": "object",
            "required": ["items"],
            "properties": {"items": {"type": "array", "items": _ref("Photo")}},
        },
        "Report": {
            "type": "object",
            "required": [
                "uuid",
                "reference",
                "status",
                "category",
                "residence",
                "batiment",
                "occurred_at",
                "created_at",
                "latitude",
                "longitude",
                "gps_accuracy_m",
                "location_source",
                "lieu",
                "victime",
                "arret_travail_jours",
                "mission_service_public",
                "suite",
                "intervention",
                "damage_cost_eur",
                "gravity",
                "description",
                "duplicate_of",
                "author",
                "photos",
                "url",
            ],
            "properties": {
                "uuid": {"type": "string", "format": "uuid"},
                "reference": {"type": "string", "example": "TMH-2026-000123"},
                "status": _enum(Status, nullable=False),
                "category": {
                    "type": "object",
                    "required": ["id", "code", "label"],
                    "properties": {
                        "id": {"type": "integer"},
                        "code": {"type": "string"},
                        "label": {"type": "string"},
                    },
                },
                "residence": {
                    "type": "object",
                    "required": ["id", "reference", "name"],
                    "properties": {
                        "id": {"type": "integer"},
                        "reference": {"type": "string"},
                        "name": {"type": "string"},
                    },
                },
                "batiment": {
                    "type": "object",
                    "nullable": True,
                    "required": ["id", "reference"],
                    "properties": {
                        "id": {"type": "integer"},
                        "reference": {"type": "string"},
                    },
                },
                "occurred_at": {"type": "string", "format": "date-time"},
                "created_at": {"type": "string", "format": "date-time"},
                "latitude": {"type": "number"},
                "longitude": {"type": "number"},
                "gps_accuracy_m": {"type": "number", "nullable": True},
                "location_source": _enum(LocationSource, nullable=False),
                "lieu": _enum(Lieu),
                "victime": _enum(Victime),
                "arret_travail_jours": {"type": "integer", "nullable": True},
                "mission_service_public": {"type": "boolean"},
                "suite": _enum(Suite),
                "intervention": _enum(Intervention),
                "damage_cost_eur": {"type": "integer", "nullable": True},
                "gravity": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 4,
                    "nullable": True,
                },
                "description": {"type": "string"},
                "duplicate_of": {
                    "type": "string",
                    "format": "uuid",
                    "nullable": True,
                    "description": "UUID du fait dont celui-ci est le doublon.",
                },
                "author": {
                    "type": "object",
                    "required": ["id", "name"],
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                    },
                },
                "photos": {"type": "array", "items": _ref("Photo")},
                "url": {"type": "string", "description": "Page du fait."},
            },
        },
        "ReportPage": _page_of("Report"),
        "NewReport": {
            "type": "object",
            "additionalProperties": False,
            "required": ["category_id", "residence_id", "occurred_at"],
            "properties": {
                "uuid": {
                    "type": "string",
                    "format": "uuid",
                    "description": "Choisi par le client, une fois par fait : un "
                    "renvoi du même UUID rend le fait déjà enregistré (200) au lieu "
                    "d'en créer un second.",
                },
                "category_id": _id(description="Catégorie de la nomenclature."),
                "residence_id": _id(description="Résidence (de votre secteur)."),
                "batiment_id": _id(nullable=True),
                "occurred_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "Date et heure du fait ; sans décalage horaire : "
                    "heure de Paris.",
                },
                "latitude": {
                    "type": "number",
                    "minimum": -90,
                    "maximum": 90,
                    "nullable": True,
                },
                "longitude": {
                    "type": "number",
                    "minimum": -180,
                    "maximum": 180,
                    "nullable": True,
                },
                "gps_accuracy_m": {
                    "type": "number",
                    "minimum": 0,
                    "maximum": 999999,
                    "nullable": True,
                },
                "location_source": _enum(LocationSource),
                "confirm_position": {
                    "type": "boolean",
                    "description": "Confirme une position éloignée de la résidence.",
                },
                "lieu": _enum(Lieu),
                "victime": _enum(Victime),
                "arret_travail_jours": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": 1000,
                    "nullable": True,
                },
                "mission_service_public": {"type": "boolean"},
                "suite": _enum(Suite),
                "intervention": _enum(Intervention),
                "damage_cost_eur": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": 10_000_000,
                    "nullable": True,
                },
                "gravity": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 4,
                    "nullable": True,
                },
                "description": {"type": "string", "maxLength": description_max},
            },
        },
        "Qualification": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "status": _enum(Status, nullable=False),
                "category_id": _id(),
                "gravity": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 4,
                    "nullable": True,
                },
                "comment": {"type": "string", "maxLength": TEXT_MAX_LENGTH},
            },
        },
        "Duplicate": {
            "type": "object",
            "additionalProperties": False,
            "required": ["original"],
            "properties": {
                "original": {
                    "type": "string",
                    "format": "uuid",
                    "nullable": True,
                    "description": "UUID du fait d'origine ; null : ce n'est plus un "
                    "doublon.",
                },
                "comment": {"type": "string", "maxLength": TEXT_MAX_LENGTH},
            },
        },
        "NewAddition": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "uuid": {"type": "string", "format": "uuid"},
                "comment": {"type": "string", "maxLength": TEXT_MAX_LENGTH},
            },
        },
        "Addition": {
            "type": "object",
            "required": ["uuid", "report", "comment"],
            "properties": {
                "uuid": {"type": "string", "format": "uuid"},
                "comment": {"type": "string"},
                "report": {
                    "type": "object",
                    "required": ["uuid", "reference"],
                    "properties": {
                        "uuid": {"type": "string", "format": "uuid"},
                        "reference": {"type": "string"},
                    },
                },
            },
        },
        "NearbyList": {
            "type": "object",
            "required": ["items", "radius_m", "hours"],
            "properties": {
                "radius_m": {"type": "number"},
                "hours": {"type": "number"},
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": [
                            "uuid",
                            "reference",
                            "category",
                            "residence",
                            "lieu",
                            "lieu_label",
                            "occurred_at",
                            "distance_m",
                            "mine",
                        ],
                        "properties": {
                            "uuid": {"type": "string", "format": "uuid"},
                            "reference": {"type": "string"},
                            "category": {
                                "type": "object",
                                "required": ["id", "code"],
                                "properties": {
                                    "id": {"type": "integer"},
                                    "code": {"type": "string"},
                                },
                            },
                            "residence": {"type": "string"},
                            "lieu": _enum(Lieu),
                            "lieu_label": nullable_string,
                            "occurred_at": {"type": "string", "format": "date-time"},
                            "distance_m": {"type": "number"},
                            "mine": {"type": "boolean"},
                        },
                    },
                },
            },
        },
    }


def build_openapi(*, description_max: int) -> dict:
    """Return the OpenAPI document of /api/v1."""
    report_filters = [
        {
            "name": "date_from",
            "in": "query",
            "schema": {"type": "string", "format": "date"},
        },
        {
            "name": "date_to",
            "in": "query",
            "schema": {"type": "string", "format": "date"},
        },
        {"name": "category_id", "in": "query", "schema": _id()},
        {"name": "residence_id", "in": "query", "schema": _id()},
        {"name": "status", "in": "query", "schema": _enum(Status, nullable=False)},
        {
            "name": "mine",
            "in": "query",
            "description": "Seulement mes signalements.",
            "schema": {"type": "boolean"},
        },
        *_PAGINATION,
    ]
    report_body = {
        "required": True,
        "content": {"application/json": {"schema": _ref("NewReport")}},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "orfi API",
            "version": "1",
            "description": (
                "API JSON d'orfi : nomenclature, résidences, faits et photos. Mêmes "
                "droits que les pages. Authentification : `Authorization: Bearer "
                "<jeton>` (jeton personnel, créé dans « Jetons d'API » ou par "
                "`orfi create-token`), ou la session du navigateur avec l'en-tête "
                "`X-CSRFToken` sur les écritures. Voir docs/api.md."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}, {"session": []}],
        "paths": {
            "/me": {
                "get": {
                    "operationId": "getMe",
                    "summary": "L'utilisateur authentifié (et le jeton CSRF de sa "
                    "session).",
                    "responses": {
                        "200": _json(_ref("Me"), "L'utilisateur."),
                        **_errors(401),
                    },
                }
            },
            "/nomenclature": {
                "get": {
                    "operationId": "getNomenclature",
                    "summary": "Catégories du bailleur par famille, et listes du "
                    "formulaire (lieux, victimes, suites…).",
                    "responses": {
                        "200": _json(_ref("Nomenclature"), "La nomenclature."),
                        **_errors(401, 403),
                    },
                }
            },
            "/residences": {
                "get": {
                    "operationId": "listResidences",
                    "summary": "Les résidences de l'utilisateur (le secteur d'un "
                    "gardien), avec leurs bâtiments.",
                    "parameters": _PAGINATION,
                    "responses": {
                        "200": _json(_ref("ResidencePage"), "Une page de résidences."),
                        **_errors(401, 403, 422),
                    },
                }
            },
            "/reports": {
                "get": {
                    "operationId": "listReports",
                    "summary": "Les faits visibles, avec les filtres des pages.",
                    "parameters": report_filters,
                    "responses": {
                        "200": _json(_ref("ReportPage"), "Une page de faits."),
                        **_errors(401, 403, 422),
                    },
                },
                "post": {
                    "operationId": "createReport",
                    "summary": "Signaler un fait (idempotent par UUID).",
                    "requestBody": report_body,
                    "responses": {
                        "201": _json(_ref("Report"), "Fait enregistré."),
                        "200": _json(
                            _ref("Report"),
                            "Ce UUID était déjà enregistré : le fait stocké.",
                        ),
                        **_errors(400, 401, 403, 409, 413, 415, 422),
                    },
                },
            },
            "/reports/nearby": {
                "get": {
                    "operationId": "nearbyReports",
                    "summary": "« Déjà signalé ? » : faits de la même catégorie à "
                    "moins de 50 m, ces dernières 24 h.",
                    "parameters": [
                        {
                            "name": "category_id",
                            "in": "query",
                            "required": True,
                            "schema": _id(),
                        },
                        {
                            "name": "latitude",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "number", "minimum": -90, "maximum": 90},
                        },
                        {
                            "name": "longitude",
                            "in": "query",
                            "required": True,
                            "schema": {
                                "type": "number",
                                "minimum": -180,
                                "maximum": 180,
                            },
                        },
                    ],
                    "responses": {
                        "200": _json(_ref("NearbyList"), "Faits proches."),
                        **_errors(401, 403, 422),
                    },
                }
            },
            "/reports/{report_uuid}": {
                "parameters": [_UUID_PATH],
                "get": {
                    "operationId": "getReport",
                    "summary": "Un fait.",
                    "responses": {
                        "200": _json(_ref("Report"), "Le fait."),
                        **_errors(401, 404),
                    },
                },
                "patch": {
                    "operationId": "qualifyReport",
                    "summary": "Qualifier un fait : statut, catégorie, gravité "
                    "(référent sûreté). L'historique garde le changement.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": _ref("Qualification")}
                        },
                    },
                    "responses": {
                        "200": _json(_ref("Report"), "Le fait, qualifié."),
                        **_errors(*_AUTH_ERRORS, 409, 413, 415, 422),
                    },
                },
            },
            "/reports/{report_uuid}/duplicate": {
                "parameters": [_UUID_PATH],
                "put": {
                    "operationId": "markDuplicate",
                    "summary": "Marquer le fait comme doublon d'un autre (ou non) ; "
                    "un doublon sort des statistiques (référent sûreté).",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("Duplicate")}},
                    },
                    "responses": {
                        "200": _json(_ref("Report"), "Le fait."),
                        **_errors(*_AUTH_ERRORS, 409, 413, 415, 422),
                    },
                },
            },
            "/reports/{report_uuid}/additions": {
                "parameters": [_UUID_PATH],
                "post": {
                    "operationId": "addToReport",
                    "summary": "Compléter un fait déjà signalé par un autre "
                    "(idempotent par UUID).",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": _ref("NewAddition")}
                        },
                    },
                    "responses": {
                        "201": _json(_ref("Addition"), "Complément enregistré."),
                        "200": _json(_ref("Addition"), "Déjà enregistré."),
                        **_errors(*_AUTH_ERRORS, 409, 413, 415, 422),
                    },
                },
            },
            "/reports/{report_uuid}/photos": {
                "parameters": [_UUID_PATH],
                "get": {
                    "operationId": "listPhotos",
                    "summary": "Les photos d'un fait.",
                    "responses": {
                        "200": _json(_ref("PhotoList"), "Les photos."),
                        **_errors(401, 404),
                    },
                },
                "post": {
                    "operationId": "addPhoto",
                    "summary": f"Ajouter une photo (JPEG, PNG ou WebP ; {MAX_PHOTOS} "
                    "par fait). Elle est ré-encodée, réduite et privée de toute "
                    "métadonnée (EXIF, GPS, appareil). Idempotent par UUID.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["photo"],
                                    "properties": {
                                        "photo": {"type": "string", "format": "binary"},
                                        "uuid": {"type": "string", "format": "uuid"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": _json(_ref("Photo"), "Photo enregistrée."),
                        "200": _json(_ref("Photo"), "Déjà enregistrée."),
                        **_errors(*_AUTH_ERRORS, 409, 413, 415, 422),
                    },
                },
            },
            "/photos/{photo_uuid}": {
                "get": {
                    "operationId": "getPhoto",
                    "summary": "L'image d'une photo (JPEG sans métadonnées).",
                    "parameters": [
                        {
                            "name": "photo_uuid",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "format": "uuid"},
                        },
                        {
                            "name": "size",
                            "in": "query",
                            "schema": {
                                "type": "string",
                                "enum": ["full", "thumbnail"],
                                "default": "full",
                            },
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "L'image.",
                            "content": {
                                "image/jpeg": {
                                    "schema": {"type": "string", "format": "binary"}
                                }
                            },
                        },
                        **_errors(401, 404, 422),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Jeton personnel `orfi_…`.",
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "Session du navigateur (écritures : en-tête "
                    "X-CSRFToken).",
                },
            },
            "schemas": _schemas(description_max),
        },
    }
