"""Forms of the activity log: a meeting, an intervention, the period filter."""

from __future__ import annotations

from wtforms import (
    DateField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from orfi.activity.models import MeetingKind
from orfi.activity.services import NOTES_MAX_LENGTH, SUBJECT_MAX_LENGTH
from orfi.followup.models import Partner
from orfi.forms import BaseForm


def _optional_int(value):
    return int(value) if value not in (None, "") else None


class CheckboxListField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _subject():
    return StringField(
        "Objet",
        validators=[
            Length(
                max=SUBJECT_MAX_LENGTH,
                message=f"L'objet est limité à {SUBJECT_MAX_LENGTH} caractères.",
            )
        ],
        render_kw={"maxlength": SUBJECT_MAX_LENGTH},
    )


def _notes():
    return TextAreaField(
        "Notes",
        validators=[
            Length(
                max=NOTES_MAX_LENGTH,
                message=f"Les notes sont limitées à {NOTES_MAX_LENGTH} caractères.",
            )
        ],
        render_kw={"maxlength": NOTES_MAX_LENGTH, "rows": 4},
    )


class MeetingForm(BaseForm):
    """A meeting with partners."""

    held_on = DateField(
        "Date", validators=[InputRequired("Indiquez la date de la réunion.")]
    )
    kind = SelectField(
        "Type de réunion",
        choices=[("", "— Choisir —"), *MeetingKind.choices()],
        validators=[InputRequired("Choisissez le type de réunion.")],
    )
    subject = _subject()
    partners = CheckboxListField("Partenaires présents", choices=Partner.choices())
    # Choices are set by the view: the federation's bailleurs, the résidences.
    bailleurs = CheckboxListField(
        "Bailleurs concernés", coerce=int, validate_choice=False
    )
    # A list of checkboxes, capped with a search (see the view), not a multi-select
    # that needs Ctrl-click.
    residences = CheckboxListField(
        "Résidences concernées", coerce=int, validate_choice=False
    )
    notes = _notes()
    submit = SubmitField("Enregistrer la réunion")


class InterventionForm(BaseForm):
    """An action made for a bailleur with the police, gendarmerie or préfecture."""

    done_on = DateField(
        "Date", validators=[InputRequired("Indiquez la date de l'intervention.")]
    )
    beneficiary = SelectField(
        "Au profit du bailleur", coerce=_optional_int, validate_choice=False
    )
    partner = SelectField(
        "Service contacté",
        choices=[("", "— Choisir —"), *Partner.choices()],
        validators=[InputRequired("Choisissez le service contacté.")],
    )
    subject = _subject()
    residence = SelectField("Résidence", coerce=_optional_int, validate_choice=False)
    reports = TextAreaField(
        "Faits liés (références)",
        render_kw={"rows": 2, "autocomplete": "off", "spellcheck": "false"},
    )
    notes = _notes()
    submit = SubmitField("Enregistrer l'intervention")


class PeriodForm(BaseForm):
    """A period (GET, no CSRF)."""

    class Meta:
        csrf = False

    date_from = DateField("Du", validators=[Optional()])
    date_to = DateField("Au", validators=[Optional()])
    submit = SubmitField("Afficher")

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("La date de fin précède la date de début.")
