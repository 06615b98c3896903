"""Forms of the follow-up: an action, the complaint details."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from orfi.followup.models import ActionKind, ComplaintFiler, ComplaintKind, Partner
from orfi.followup.services import NOTE_MAX_LENGTH, REFERENCE_MAX_LENGTH
from orfi.forms import BaseForm


class ActionForm(BaseForm):
    """One action of a fact's follow-up."""

    done_on = DateField(
        "Date de l'action",
        validators=[InputRequired("Indiquez la date de l'action.")],
    )
    kind = SelectField(
        "Type d'action",
        choices=[("", "— Choisir —"), *ActionKind.choices()],
        validators=[InputRequired("Choisissez le type d'action.")],
    )
    partner = SelectField(
        "Partenaire", choices=[("", "— Aucun —"), *Partner.choices()], default=""
    )
    note = TextAreaField(
        "Note (facultative)",
        validators=[
            Length(
                max=NOTE_MAX_LENGTH,
                message=f"La note est limitée à {NOTE_MAX_LENGTH} caractères.",
            )
        ],
        render_kw={"maxlength": NOTE_MAX_LENGTH, "rows": 3},
    )
    close = BooleanField("Clore le fait avec cette réponse")
    submit = SubmitField("Ajouter l'action")


class ComplaintForm(BaseForm):
    """Main courante or plainte: by whom, when, its reference."""

    kind = RadioField(
        "Démarche",
        choices=ComplaintKind.choices(),
        validators=[InputRequired("Choisissez main courante ou plainte.")],
    )
    filed_by = RadioField(
        "Déposée par",
        choices=ComplaintFiler.choices(),
        validators=[InputRequired("Indiquez qui a fait la démarche.")],
    )
    filed_on = DateField("Date du dépôt", validators=[Optional()])
    reference = StringField(
        "Référence (n° de procédure ou de récépissé)",
        validators=[
            Length(
                max=REFERENCE_MAX_LENGTH,
                message=f"Référence limitée à {REFERENCE_MAX_LENGTH} caractères.",
            )
        ],
        render_kw={"maxlength": REFERENCE_MAX_LENGTH, "autocomplete": "off"},
    )
    sworn_agent_pv = BooleanField(
        "Un agent assermenté du bailleur a dressé procès-verbal"
    )
    mission_service_public = BooleanField(
        "La victime est un agent chargé d'une mission de service public"
    )
    submit = SubmitField("Enregistrer le dépôt")


class DeleteActionForm(BaseForm):
    """Delete an action of a fact's follow-up (a button: CSRF only)."""

    submit = SubmitField("Supprimer l'action")
