"""Forms of the syntheses: the day of a synthesis (GET, no CSRF)."""

from __future__ import annotations

from wtforms import DateField, SubmitField
from wtforms.validators import Optional, ValidationError

from orfi.forms import BaseForm
from orfi.timezone import now_local

FUTURE_DAY = "Pas de synthèse d'un jour à venir : choisissez aujourd'hui ou avant."


class DayForm(BaseForm):
    """The day of a synthesis: today (Paris) at the latest."""

    class Meta:
        csrf = False

    date = DateField("Jour", validators=[Optional()])
    submit = SubmitField("Afficher")

    def validate_date(self, field):
        if field.data and field.data > now_local().date():
            raise ValidationError(FUTURE_DAY)
