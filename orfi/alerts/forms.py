"""Forms of the alerts: a rule of « Mes alertes », and the buttons of the pages."""

from __future__ import annotations

from wtforms import RadioField, SelectField, SelectMultipleField, StringField
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from orfi.alerts.services import CHOSEN_KINDS
from orfi.forms import BaseForm
from orfi.notifications.models import Channel, Rhythm


class _Checkboxes(SelectMultipleField):
    """A multiple choice shown as checkboxes (easier on a phone)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form) -> None:
        # Unknown codes are refused by the service, by field, in French.
        pass


def _optional_int(value):
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # refused by the service's check


class RuleForm(BaseForm):
    """One rule: what, where, how often, by which means."""

    kinds = _Checkboxes("Ce qui m'est signalé", choices=list(CHOSEN_KINDS))
    agence = SelectField("Agence", coerce=_optional_int, validate_choice=False)
    residences = StringField(
        "Résidences (références séparées par des virgules ; vide : toutes)",
        validators=[Length(max=2000, message="2 000 caractères au plus.")],
    )
    families = _Checkboxes("Familles de faits (aucune cochée : toutes)")
    min_gravity = SelectField(
        "Gravité minimale",
        choices=[("", "Toutes"), ("1", "1"), ("2", "2"), ("3", "3"), ("4", "4")],
        coerce=_optional_int,
        validate_choice=False,
    )
    rhythm = RadioField(
        "Rythme", choices=Rhythm.choices(), default="immediate", validate_choice=False
    )
    channels = _Checkboxes(
        "Recevoir par", choices=Channel.choices(), default=["email", "inbox"]
    )


class ButtonForm(BaseForm):
    """A form with only its CSRF token (mark read, delete, reset, test)."""
