"""The API against its own OpenAPI document, with schemathesis (in process, over WSGI).

Every operation is called with generated data (valid and invalid by the schema) by an
authenticated référent (a token); no answer may be a server error, and every answer must
match the document: status listed, content type, body schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from orfi import create_app
from orfi.api.services import create_token
from orfi.auth.models import Role
from orfi.extensions import db
from tests.factories import (
    commit,
    make_organisation,
    make_report,
    make_residence,
    make_user,
)

#: Examples per operation: enough to find type and bound mistakes, small enough to keep
#: the whole module well under a minute.
EXAMPLES = 25


@pytest.fixture
def api_world(app, tmp_path):
    """A bailleur with facts, a photo folder and a référent's token."""
    app.config["ORFI_PHOTO_DIR"] = str(tmp_path / "photos")
    organisation = make_organisation(code="SCH")
    residence = make_residence(organisation)
    gardien = make_user(organisation, role=Role.GARDIEN, sector=[residence])
    referent = make_user(organisation, role=Role.REFERENT)
    make_report(gardien)
    make_report(gardien, category_code="TT01")
    _, secret = create_token(referent, "schemathesis")
    commit()
    return secret


class _Forward:
    """A WSGI app that forwards to the test's app (set by the ``api_app`` fixture).

    schemathesis reads the document when this module is imported, before any fixture
    exists; each test then points the forwarder at its own app and database.
    """

    def __init__(self):
        self.target = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "doc",
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
            }
        )

    def __call__(self, environ, start_response):
        return self.target(environ, start_response)


_forward = _Forward()
#: A request valid by the document may still break a domain rule the document cannot
#: express (an id that does not exist, a fact dated 2000): 404 and 422 are the expected
#: refusals there; anything else (400, 500) still fails.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2XX", "403", "404", "422"]
            }
        }
    }
)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _forward, config=CONFIG)


@pytest.fixture
def api_app(app):
    """Send schemathesis' requests to this test's app, each in its own app context."""

    def isolated(environ, start_response):
        # As in production: one context, one session, one transaction per request.
        db.session.commit()
        with app.app_context():
            return app.wsgi_app(environ, start_response)

    previous, _forward.target = _forward.target, isolated
    yield app
    _forward.target = previous


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_document(case, api_app, api_world):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_world}"})


def test_document_is_served_without_authentication(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.")
    assert (
        "/reports" in document["paths"]
        and "/reports/{report_uuid}" in document["paths"]
    )
    new_report = document["components"]["schemas"]["NewReport"]
    assert new_report["properties"]["lieu"]["enum"][0] == "hall"
