"""Bad input never answers 500: out-of-range integers and deeply nested JSON.

Issue 17, point 5. The attacks are not listed by hand: the integer query parameters
are those of the forms (IntegerField, and SelectFields whose coerce makes an int) and
the OpenAPI document's integer parameters; the routes are those of ``app.url_map``.
Every GET route gets every such parameter with 2^31, 2^63, -1 and 10^30 (beyond a
PostgreSQL ``integer``, beyond SQLite's 64 bits, a negative id, beyond everything):
it may refuse, show nothing or show everything, but never crash. Every JSON write
route under /api/ gets a body nested 1,000 levels deep: a 400 naming the body.
"""

from __future__ import annotations

import inspect
import json
import re

import pytest
from werkzeug.routing import Rule
from wtforms import Form, IntegerField, SelectFieldBase

import orfi
from orfi.auth.models import Role
from orfi.extensions import db
from orfi.stats.services import TABLE_SLUGS
from tests.factories import (
    make_intervention,
    make_meeting,
    make_photo,
    make_report,
    make_tmh_world,
    make_token,
    make_user,
)
from tests.helpers import field_errors

#: Beyond a PostgreSQL integer, beyond SQLite's (and bigint's) 64 bits, a negative
#: id, beyond any column.
BAD_INTEGERS = (str(2**31), str(2**63), "-1", str(10**30))
#: What a ``<fmt>`` or ``<slug>`` segment of a route may be.
#: (one each: the formats of a route read the same filters).
TEXT_SEGMENTS = {"fmt": ("csv",), "slug": TABLE_SLUGS[:1]}


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_subclasses(sub)]
    return found


def _import_every_module() -> None:
    """Import orfi's modules, so that every form class is defined."""
    import importlib
    import pkgutil

    for module in pkgutil.walk_packages(orfi.__path__, "orfi."):
        if ".demo" not in module.name:
            importlib.import_module(module.name)


def _makes_int(field) -> bool:
    if isinstance(field, IntegerField):
        return True
    if not isinstance(field, SelectFieldBase):
        return False
    try:
        return isinstance(field.coerce("7"), int)
    except (TypeError, ValueError):
        return False


def form_integer_names() -> set[str]:
    """Names of the form fields that read an integer, in every form of orfi."""
    _import_every_module()
    names = set()
    for form_class in _all_subclasses(Form):
        if not form_class.__module__.startswith("orfi.") or inspect.isabstract(
            form_class
        ):
            continue
        for name, unbound in vars(form_class).items():
            if not hasattr(unbound, "field_class"):
                continue
            field = unbound.bind(Form(), name)
            if _makes_int(field):
                names.add(name)
    return names


def openapi_integer_names(client) -> set[str]:
    """Names of the OpenAPI document's integer query parameters."""
    document = client.get("/api/v1/openapi.json").get_json()
    names = set()
    for operations in document["paths"].values():
        for operation in operations.values():
            if not isinstance(operation, dict):  # the path's own "parameters"
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                types = [schema, *schema.get("anyOf", [])]
                if parameter["in"] == "query" and any(
                    t.get("type") == "integer" for t in types
                ):
                    names.add(parameter["name"])
    return names


@pytest.fixture
def world(app):
    """A bailleur with a fact, a photo and activity; its administrator, a federation."""
    objects = make_tmh_world()
    organisation = objects["organisation"]
    admin = make_user(organisation, role=Role.ADMIN)
    fact = make_report(objects["gardien"])
    photo = make_photo(fact)
    federation_user = make_user(role=Role.FEDERATION)
    _token, secret = make_token(objects["referent"])
    ids = {
        "report_uuid": fact.uuid,
        "photo_uuid": photo.uuid,
        "residence_id": objects["residence"].id,
        "category_id": fact.category_id,
        "user_id": objects["gardien"].id,
        "meeting_id": make_meeting(objects["referent"]).id,
        "intervention_id": make_intervention(objects["referent"]).id,
    }
    db.session.commit()
    return {
        # An administrator opens every page of a bailleur, a federation the others.
        "emails": [admin.email, federation_user.email],
        "ids": ids,
        "bearer": {"Authorization": f"Bearer {secret}"},
        "reference": fact.reference,
    }


def _urls(rule: Rule, ids: dict) -> list[str]:
    """The URLs of ``rule`` with its arguments filled, or none if one is unknown."""
    values: list[dict] = [{}]
    for argument in rule.arguments:
        if argument in ids:
            choices = (ids[argument],)
        elif argument in TEXT_SEGMENTS:
            choices = TEXT_SEGMENTS[argument]
        else:
            return []
        values = [{**v, argument: c} for v in values for c in choices]
    return [_build(rule, v) for v in values]


def _build(rule: Rule, values: dict) -> str:
    return re.sub(
        r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(values[m.group(1)]), rule.rule
    )


def _get_routes(app) -> list[Rule]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint != "static"
    ]


def test_the_walk_finds_the_integer_parameters(client):
    """The walk reads the parameters the attack run used (the discovery works)."""
    names = form_integer_names() | openapi_integer_names(client)
    assert {"category", "residence", "page", "category_id", "per_page"} <= names


def test_out_of_range_integers_never_answer_500(app, client, auth, world):
    """Every integer parameter, out of range, on every GET route: never a 500."""
    names = sorted(form_integer_names() | openapi_integer_names(client))
    urls = [url for rule in _get_routes(app) for url in _urls(rule, world["ids"])]
    failures = []
    for email in world["emails"]:
        auth.login(email)
        for url in urls:
            if client.get(url).status_code in CLOSED:
                continue  # not this user's page: the other walks it
            queries = [{name: value for name in names} for value in BAD_INTEGERS]
            # Each alone too, so that no refused parameter hides another's crash.
            queries += [{name: str(2**63)} for name in names]
            failures += _crashes(client, url, queries)
        auth.logout()
    assert not failures, "\n".join(sorted(set(failures)))


#: What a user gets from a page that is not theirs.
CLOSED = frozenset({302, 401, 403, 404})


def _crashes(client, url: str, queries: list[dict]) -> list[str]:
    """The requests of ``url`` with ``queries`` that crash or answer 500."""
    found = []
    for query in queries:
        try:
            status = client.get(url, query_string=query).status_code
        except Exception as error:  # noqa: BLE001 (the test reports them all)
            status = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
        if status == 500 or isinstance(status, str):
            asked = sorted(query) if len(query) == 1 else "all"
            found.append(f"{url} {asked}={next(iter(query.values()))}: {status}")
    return found


def _json_writes(app, client) -> list[tuple[str, str, bool]]:
    """(method, rule, takes JSON) of every write route under /api/.

    Whether it takes JSON is the OpenAPI document's word (the photos take multipart).
    """
    document = client.get("/api/v1/openapi.json").get_json()
    server, paths = document["servers"][0]["url"], document["paths"]
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = rule.rule.removeprefix(server)
        documented = paths.get(re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", path), {})
        for method in sorted(rule.methods & {"POST", "PATCH", "PUT"}):
            content = documented.get(method.lower(), {}).get("requestBody", {})
            found.append(
                (method, rule, "application/json" in content.get("content", {}))
            )
    return found


@pytest.mark.parametrize("opening", ["[", '{"comment": '])
def test_deeply_nested_json_is_a_400_naming_the_body(app, client, world, opening):
    """A body nested 1,000 levels deep: 400 naming ``body`` where JSON is read, never
    a 500 elsewhere, and nothing stored."""
    closing = "]" if opening == "[" else "}"
    body = opening * 1000 + "1" + closing * 1000
    headers = {**world["bearer"], "Content-Type": "application/json"}
    writes = _json_writes(app, client)
    assert sum(json_body for _m, _r, json_body in writes) >= 4
    before = _row_counts()
    for method, rule, json_body in writes:
        for url in _urls(rule, world["ids"]):
            response = client.open(url, method=method, data=body, headers=headers)
            if json_body:
                assert response.status_code == 400, (method, url, response.json)
                assert list(response.json["fields"]) == ["body"], response.json
            else:
                assert response.status_code < 500, (method, url)
    assert _row_counts() == before


def test_a_reasonable_nesting_is_read_as_usual(client, world):
    """Nesting within the limit reaches the contract, which names the field."""
    body = json.dumps({"comment": [[[["texte"]]]]})
    headers = {**world["bearer"], "Content-Type": "application/json"}
    url = f"/api/v1/reports/{world['ids']['report_uuid']}"
    response = client.patch(url, data=body, headers=headers)
    assert response.status_code == 422
    assert list(response.json["fields"]) == ["comment"]
    # Brackets inside a string are text, not nesting.
    body = json.dumps({"comment": "[{" * 100})
    response = client.patch(url, data=body, headers=headers)
    assert response.status_code == 200, response.json


def _row_counts() -> dict[str, int]:
    """Rows of every table (a refused write changes none)."""
    import sqlalchemy as sa

    return {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


# ------------------------------------------------ what people and programs are told


@pytest.mark.parametrize("value", [str(2**31), str(2**63), "-1", str(10**30)])
def test_an_id_out_of_range_is_explained_next_to_its_filter(client, auth, world, value):
    """The list shows a French message next to the filter, as for any non-id."""
    auth.login(world["emails"][0])
    response = client.get("/signalements/", query_string={"category": value})
    assert response.status_code == 200
    assert "Choix non valide" in field_errors(response.text, "category")
    response = client.get(
        "/exports/signalements.csv", query_string={"residence": value}
    )
    assert response.status_code == 400
    assert "Choix non valide" in response.text


@pytest.mark.parametrize("value", [str(2**63), str(10**30)])
def test_a_page_beyond_the_limit_is_an_empty_page(client, auth, world, value):
    """Like a page past the last one: an empty list, not the first page."""
    auth.login(world["emails"][0])
    response = client.get("/signalements/", query_string={"page": value})
    assert response.status_code == 200
    assert world["reference"] not in response.text
    assert world["reference"] in client.get("/signalements/").text


def test_the_api_names_the_parameter_out_of_range(client, world):
    """The API answers 422 naming the parameter, with the bounds in French."""
    for name, value in (("category_id", 2**31), ("page", 2**63), ("per_page", -1)):
        response = client.get(
            "/api/v1/reports", query_string={name: value}, headers=world["bearer"]
        )
        assert response.status_code == 422, response.json
        assert list(response.json["fields"]) == [name]


def test_statistics_explain_a_residence_out_of_range(client, auth, world):
    """The statistics page reads its filters with the same bounds."""
    auth.login(world["emails"][0])
    response = client.get("/statistiques/", query_string={"residence": str(2**63)})
    assert response.status_code == 200
    assert "Valeur invalide." in response.text
