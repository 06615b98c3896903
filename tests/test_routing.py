"""URL ids: every ``<int:…>`` of the URL map is a row id of an integer column."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import IntegerConverter

from orfi.auth.models import Role
from tests.factories import commit, make_organisation, make_user

LARGEST = 2**31 - 1


def _id_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if any(isinstance(c, IntegerConverter) for c in rule._converters.values())
    ]


def test_every_integer_in_a_url_is_bounded_like_a_row_id(app):
    rules = _id_rules(app)
    assert len(rules) >= 10  # users, categories, meetings, résidences, tokens…
    adapter = app.url_map.bind("localhost")
    for rule in rules:
        method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        names = [
            n for n, c in rule._converters.items() if isinstance(c, IntegerConverter)
        ]
        for value, found in (
            (1, True),
            (LARGEST, True),
            (LARGEST + 1, False),
            (0, False),
        ):
            url = rule.build({name: value for name in names}, append_unknown=False)[1]
            if found:
                assert adapter.match(url, method=method)[0] == rule.endpoint
            else:
                with pytest.raises((NotFound, MethodNotAllowed)):
                    endpoint, _ = adapter.match(url, method=method)
                    assert endpoint != rule.endpoint  # another rule may take it


@pytest.mark.parametrize(
    "path",
    ["/activite/reunions/{}", "/patrimoine/residences/{}", "/admin/utilisateurs/{}"],
)
def test_an_id_beyond_the_column_is_a_404_not_a_server_error(app, client, auth, path):
    """PostgreSQL refuses to compare 99999999999 with an integer column."""
    adapter = app.url_map.bind("localhost")
    assert adapter.match(path.format(LARGEST))  # a page of the app, whose id is unknown
    user = make_user(make_organisation(), role=Role.ADMIN)
    commit()
    auth.login(user.email)
    assert client.get(path.format(99_999_999_999)).status_code == 404
    assert client.get(path.format(LARGEST)).status_code == 404
