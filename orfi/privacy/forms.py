"""Forms of the privacy feature: the access log's filters."""

from __future__ import annotations

from wtforms import DateField, SelectField, SubmitField
from wtforms.validators import Optional, ValidationError

from orfi.forms import BaseForm

#: The user filter's value for the lines ``orfi purge`` writes (no user).
PURGE_LINES = "orfi"


class AccessLogFilterForm(BaseForm):
    """Who and when (GET, no CSRF); the user choices are set by the view."""

    class Meta:
        csrf = False

    user = SelectField("Utilisateur", choices=[], validate_choice=False)
    date_from = DateField("Du", validators=[Optional()])
    date_to = DateField("Au", validators=[Optional()])
    submit = SubmitField("Filtrer")

    def validate_user(self, field):
        if field.data and field.data not in {value for value, _ in field.choices}:
            raise ValidationError("Choisissez un utilisateur de la liste.")

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("La date de fin précède la date de début.")
