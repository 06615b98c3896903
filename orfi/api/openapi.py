"""The OpenAPI 3.0 document of the API, generated from the contract's models.

The schemas are those of ``orfi.api.contract`` (which also parses the requests); this
module only lists the paths, what each operation takes and answers. The document is
the contract that schemathesis checks the API against (tests/test_api_schema.py):
every status an operation may answer is listed, every response body is described.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic.json_schema import models_json_schema

from orfi import limits
from orfi.api import contract as c
from orfi.api.contract import Contract

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
#: What every write on a fact may answer besides its success.
_WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)

_INFO = {
    "title": "orfi API",
    "version": "1",
    "description": (
        "API JSON d'orfi : nomenclature, résidences, faits et photos. Mêmes "
        "droits que les pages. Authentification : `Authorization: Bearer "
        "<jeton>` (jeton personnel, créé dans « Jetons d'API » ou par "
        "`orfi create-token`), ou la session du navigateur avec l'en-tête "
        "`X-CSRFToken` sur les écritures. Voir docs/api.md."
    ),
}
_SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "Jeton personnel `orfi_…`.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "Session du navigateur (écritures : en-tête X-CSRFToken).",
    },
}


@dataclass(frozen=True)
class Op:
    """An operation: its id, what it takes and what it answers."""

    id: str
    summary: str
    #: Status: (answer model, or None for an image; description).
    answers: dict[int, tuple[type | None, str]]
    errors: tuple[int, ...]
    body: type[Contract] | None = None
    query: type[Contract] | None = None


def _path_uuid(name: str, description: str | None = None) -> dict:
    parameter = {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }
    return (
        parameter if description is None else {**parameter, "description": description}
    )


_FACT = [
    _path_uuid(
        "report_uuid", "UUID du fait (celui fourni par le client à la création)."
    )
]
_REPORT_SAVED = {200: (c.Report, "Le fait.")}

#: Each path: its operations by method, and its path parameters.
_PATHS: dict[str, dict[str, Any]] = {
    "/me": {
        "get": Op(
            "getMe",
            "L'utilisateur authentifié (et le jeton CSRF de sa session).",
            {200: (c.Me, "L'utilisateur.")},
            (401,),
        )
    },
    "/nomenclature": {
        "get": Op(
            "getNomenclature",
            "Catégories du bailleur par famille, et listes du formulaire (lieux, "
            "victimes, suites…).",
            {200: (c.Nomenclature, "La nomenclature.")},
            (401, 403),
        )
    },
    "/residences": {
        "get": Op(
            "listResidences",
            "Les résidences de l'utilisateur (le secteur d'un gardien), avec leurs "
            "bâtiments.",
            {200: (c.ResidencePage, "Une page de résidences.")},
            (401, 403, 422),
            query=c.Pagination,
        )
    },
    "/reports": {
        "get": Op(
            "listReports",
            "Les faits visibles, avec les filtres des pages.",
            {200: (c.ReportPage, "Une page de faits.")},
            (401, 403, 422),
            query=c.ReportQuery,
        ),
        "post": Op(
            "createReport",
            "Signaler un fait (idempotent par UUID).",
            {
                201: (c.Report, "Fait enregistré."),
                200: (
                    c.Report,
                    "Ce UUID était déjà enregistré, avec le même contenu : le fait "
                    "stocké.",
                ),
                409: (
                    c.Error,
                    "`conflict` : ce UUID est déjà celui d'un fait enregistré avec un "
                    "autre contenu ; `fields` nomme chaque champ qui diffère, "
                    "`report` donne l'UUID et la référence du fait stocké, qui n'est "
                    "pas modifié. Ou `other_user` : " + _ERROR_TEXT[409],
                ),
            },
            (400, 401, 403, 413, 415, 422),
            body=c.NewReport,
        ),
    },
    "/reports/nearby": {
        "get": Op(
            "nearbyReports",
            "« Déjà signalé ? » : faits de la même catégorie à moins de 50 m, ces "
            "dernières 24 h.",
            {200: (c.NearbyList, "Faits proches.")},
            (401, 403, 422),
            query=c.NearbyQuery,
        )
    },
    "/reports/{report_uuid}": {
        "parameters": _FACT,
        "get": Op("getReport", "Un fait.", _REPORT_SAVED, (401, 404)),
        "patch": Op(
            "qualifyReport",
            "Qualifier un fait : statut, catégorie, gravité (référent sûreté). "
            "L'historique garde le changement.",
            {200: (c.Report, "Le fait, qualifié.")},
            _WRITE_ERRORS,
            body=c.Qualification,
        ),
    },
    "/reports/{report_uuid}/duplicate": {
        "parameters": _FACT,
        "put": Op(
            "markDuplicate",
            "Marquer le fait comme doublon d'un autre (ou non) ; un doublon sort des "
            "statistiques (référent sûreté).",
            _REPORT_SAVED,
            _WRITE_ERRORS,
            body=c.Duplicate,
        ),
    },
    "/reports/{report_uuid}/additions": {
        "parameters": _FACT,
        "post": Op(
            "addToReport",
            "Compléter un fait déjà signalé par un autre (idempotent par UUID).",
            {
                201: (c.Addition, "Complément enregistré."),
                200: (c.Addition, "Déjà enregistré."),
            },
            _WRITE_ERRORS,
            body=c.NewAddition,
        ),
    },
    "/reports/{report_uuid}/photos": {
        "parameters": _FACT,
        "get": Op(
            "listPhotos",
            "Les photos d'un fait.",
            {200: (c.PhotoList, "Les photos.")},
            (401, 404),
        ),
        "post": Op(
            "addPhoto",
            f"Ajouter une photo (JPEG, PNG ou WebP ; {limits.PHOTOS_MAX} par fait). "
            "Elle est ré-encodée, réduite et privée de toute métadonnée (EXIF, GPS, "
            "appareil). Idempotent par UUID.",
            {
                201: (c.Photo, "Photo enregistrée."),
                200: (c.Photo, "Déjà enregistrée."),
            },
            _WRITE_ERRORS,
            body=c.PhotoUpload,
        ),
    },
    "/photos/{photo_uuid}": {
        "parameters": [_path_uuid("photo_uuid")],
        "get": Op(
            "getPhoto",
            "L'image d'une photo (JPEG sans métadonnées).",
            {200: (None, "L'image.")},
            (401, 404, 422),
            query=c.PhotoQuery,
        ),
    },
}
#: Bodies sent as multipart/form-data (a file), not JSON.
_MULTIPART = frozenset({c.PhotoUpload})


def openapi_30(node: Any) -> Any:
    """Turn pydantic's JSON Schema (2020-12) into OpenAPI 3.0's dialect.

    ``X | None`` becomes ``nullable`` (null joins an enum's values), ``examples``
    becomes ``example``, and the generated titles go (the names are the schemas').
    """
    if isinstance(node, list):
        return [openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {
        key: value
        for key, value in node.items()
        if not (key == "title" and isinstance(value, str))
    }
    variants = node.get("anyOf")
    if variants and len(variants) == 2 and {"type": "null"} in variants:
        (other,) = [v for v in variants if v != {"type": "null"}]
        del node["anyOf"]
        # OpenAPI 3.0 ignores a $ref's siblings: nullable goes beside an allOf.
        node = {"allOf": [other], **node} if "$ref" in other else {**other, **node}
        node["nullable"] = True
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
    if "examples" in node and isinstance(node["examples"], list):
        node["example"] = node.pop("examples")[0]
    return {key: openapi_30(value) for key, value in node.items()}


def _ref(model: type) -> dict:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _content(model: type | None, media: str = "application/json") -> dict:
    schema = {"type": "string", "format": "binary"} if model is None else _ref(model)
    return {media: {"schema": schema}}


def _parameters(query: type[Contract]) -> list[dict]:
    schema = openapi_30(query.model_json_schema())
    required = set(schema.get("required", ()))
    parameters = []
    for name, field in schema["properties"].items():
        description = field.pop("description", None)
        if field.pop("nullable", False):  # a query string has no null: only absence
            field.pop("default", None)
            if "enum" in field:
                field["enum"] = [v for v in field["enum"] if v is not None]
        parameter = {"name": name, "in": "query", "schema": field}
        if name in required:
            parameter["required"] = True
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _operation(op: Op) -> dict:
    result: dict[str, Any] = {"operationId": op.id, "summary": op.summary}
    if op.query is not None:
        result["parameters"] = _parameters(op.query)
    if op.body is not None:
        media = "multipart/form-data" if op.body in _MULTIPART else "application/json"
        result["requestBody"] = {"required": True, "content": _content(op.body, media)}
    responses = {
        str(status): {
            "description": text,
            # No model: the answer is the image itself.
            "content": _content(
                model, "application/json" if model is not None else "image/jpeg"
            ),
        }
        for status, (model, text) in op.answers.items()
    }
    for status in sorted(op.errors):
        responses[str(status)] = {
            "description": _ERROR_TEXT[status],
            "content": _content(c.Error),
        }
    result["responses"] = responses
    return result


def _schemas(description_max: int) -> dict:
    """The components' schemas: every body and answer the paths name."""
    models: set[type] = {c.Error}
    for operations in _PATHS.values():
        for op in operations.values():
            if isinstance(op, Op):
                models.update(m for m, _ in op.answers.values() if m is not None)
                models.update([op.body] if op.body is not None else [])
    # The fact's description limit is a setting: the document says this server's.
    models.discard(c.NewReport)
    models.add(c.new_report_model(description_max))
    _, definitions = models_json_schema(
        [(model, "validation") for model in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    schemas = openapi_30(definitions["$defs"])
    for schema in schemas.values():
        schema.pop("description", None)  # the models' docstrings, in English
    return schemas


def build_openapi(*, description_max: int) -> dict:
    """Return the OpenAPI document of /api/v1."""
    paths = {
        path: {
            key: _operation(value) if isinstance(value, Op) else value
            for key, value in item.items()
        }
        for path, item in _PATHS.items()
    }
    return {
        "openapi": "3.0.3",
        "info": _INFO,
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}, {"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": _SECURITY_SCHEMES,
            "schemas": _schemas(description_max),
        },
    }
