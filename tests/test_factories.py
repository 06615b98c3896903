"""The factories build what the test asks for: every override applies, none is lost."""

from __future__ import annotations

import pytest

from tests.factories import make_agence, make_organisation


def test_make_agence_applies_every_override(app):
    agence = make_agence(make_organisation(), id=4242, name="Agence Nord")
    assert (agence.id, agence.name) == (4242, "Agence Nord")


def test_make_agence_refuses_an_unknown_override(app):
    with pytest.raises(TypeError):
        make_agence(make_organisation(), nom="Agence Nord")
