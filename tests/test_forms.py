"""orfi.forms: service errors shown next to the form's fields."""

from __future__ import annotations

from wtforms import StringField, SubmitField

from orfi.forms import BaseForm, attach_errors


class _Form(BaseForm):
    name = StringField("Nom")
    latitude = StringField("Position")
    submit = SubmitField("Envoyer")


def _form(app) -> _Form:
    with app.test_request_context():
        return _Form(meta={"csrf": False})


def test_errors_go_to_their_field_or_its_alias(app):
    form = _form(app)
    attach_errors(
        form,
        {"name": ["Trop long."], "longitude": ["Hors zone."]},
        aliases={"longitude": "latitude"},
    )
    assert form.name.errors == ["Trop long."]
    assert form.latitude.errors == ["Hors zone."]
    assert not form.submit.errors


def test_an_unknown_field_falls_back_and_messages_add_up(app):
    form = _form(app)
    attach_errors(form, {"ghost": ["Un."]})
    attach_errors(form, {"other": ["Deux."]}, fallback="submit")
    attach_errors(form, {"name": ["Trois."]}, fallback="absent")  # unused: no lookup
    assert form.name.errors == ["Un.", "Trois."]  # the first field by default
    assert form.submit.errors == ["Deux."]
