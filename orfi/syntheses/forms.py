"""Forms of the syntheses: the day of a synthesis (GET, no CSRF)."""

from __future__ import annotations

from wtforms import DateField, SubmitField
from wtforms.validators import Optional

from orfi.forms import BaseForm


class DayForm(BaseForm):
    """The day of a synthesis."""

    class Meta:
        csrf = False

    date = DateField("Jour", validators=[Optional()])
    submit = SubmitField("Afficher")
