"""Forms of the reports feature: the field form, the list filters and qualification."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FloatField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SearchField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from orfi import limits
from orfi.forms import BaseForm, optional_id
from orfi.reports.models import (
    GRAVITY_LABELS,
    Intervention,
    Lieu,
    Status,
    Suite,
    Victime,
)
from orfi.reports.queries import SORTS, ReportFilters
from orfi.reports.search import QUERY_MAX_LENGTH

NOT_SPECIFIED = ("", "— Non précisé —")


def _int_message(label: str) -> str:
    return f"{label} : indiquez un nombre entier."


class FactPlaceForm(BaseForm):
    """What the field form and a correction ask alike: when, where, lieu and victime
    (one definition, so that their labels and messages never drift apart)."""

    # Choices are checked by the service, which says why in French (inactive, sector…).
    residence = SelectField(
        "Résidence",
        coerce=optional_id,
        validate_choice=False,
        validators=[InputRequired("Choisissez une résidence.")],
    )
    batiment = SelectField(
        "Bâtiment ou entrée", coerce=optional_id, validate_choice=False
    )
    occurred_at = DateTimeLocalField(
        "Date et heure du fait",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired("Indiquez la date et l'heure du fait.")],
    )
    confirm_position = BooleanField("Je confirme cette position")
    lieu = SelectField("Lieu", choices=[NOT_SPECIFIED, *Lieu.choices()], default="")
    victime = SelectField(
        "Victime", choices=[NOT_SPECIFIED, *Victime.choices()], default=""
    )
    arret_travail_jours = IntegerField(
        "Arrêt de travail (jours)",
        validators=[
            Optional(),
            NumberRange(
                0,
                limits.STOPPAGE_MAX_DAYS,
                f"Entre 0 et {limits.STOPPAGE_MAX_DAYS} jours.",
            ),
        ],
        render_kw={"inputmode": "numeric", "min": 0, "max": limits.STOPPAGE_MAX_DAYS},
    )


class ReportForm(FactPlaceForm):
    """The field form a gardien fills on a phone."""

    client_uuid = HiddenField()
    category = SelectField(
        "Catégorie",
        coerce=optional_id,
        validate_choice=False,
        validators=[InputRequired("Choisissez une catégorie.")],
    )
    latitude = FloatField(widget=HiddenInput(), validators=[Optional()])
    longitude = FloatField(widget=HiddenInput(), validators=[Optional()])
    gps_accuracy_m = FloatField(widget=HiddenInput(), validators=[Optional()])
    location_source = HiddenField()
    mission_service_public = BooleanField(
        "Agent chargé d'une mission de service public"
    )
    suite = SelectField(
        "Suites données", choices=[NOT_SPECIFIED, *Suite.choices()], default=""
    )
    intervention = SelectField(
        "Intervention des forces de l'ordre",
        choices=[NOT_SPECIFIED, *Intervention.choices()],
        default="",
    )
    damage_cost_eur = IntegerField(
        "Coût estimé des dégâts (€)",
        validators=[
            Optional(),
            NumberRange(
                0,
                limits.DAMAGE_MAX_EUR,
                f"Entre 0 et {limits.french(limits.DAMAGE_MAX_EUR)} €.",
            ),
        ],
        render_kw={"inputmode": "numeric", "min": 0},
    )
    gravity = RadioField(
        "Gravité",
        choices=[(str(k), v) for k, v in GRAVITY_LABELS.items()],
        validators=[Optional()],
    )
    description = TextAreaField("Description courte")
    # Read from request.files and checked by content in orfi.photos.services.
    photos = MultipleFileField(
        "Photos", render_kw={"accept": "image/jpeg,image/png,image/webp"}
    )
    submit = SubmitField("Envoyer le signalement")

    def validate_client_uuid(self, field):
        import uuid

        if field.data:
            try:
                uuid.UUID(field.data)
            except ValueError as exc:
                raise ValidationError("Identifiant de signalement invalide.") from exc


def sector_cell(text: str) -> int | None:
    """Return the H3 cell (int) of a map sector's id, or None if it is not one."""
    from orfi.geo.hexagons import finest_range

    try:
        cell = int(text.strip(), 16)
        finest_range(cell)
    except (ValueError, OverflowError):
        return None
    return cell


class FilterForm(BaseForm):
    """Search, filters and sort of the facts list (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = SearchField(
        "Rechercher",
        validators=[
            Length(
                max=QUERY_MAX_LENGTH,
                message=f"{QUERY_MAX_LENGTH} caractères au plus.",
            )
        ],
        render_kw={
            "placeholder": "Référence (TMH-2026-000500, 500), mot, résidence",
            "autocomplete": "off",
            "spellcheck": "false",
            "maxlength": QUERY_MAX_LENGTH,
        },
    )
    sort = SelectField(
        "Trier par", choices=list(SORTS.items()), default="date", validate_choice=True
    )
    order = SelectField(
        "Ordre",
        choices=[("desc", "Décroissant"), ("asc", "Croissant")],
        default="desc",
    )
    gravity = SelectField(
        "Gravité",
        choices=[("", "Toutes"), *((str(k), v) for k, v in GRAVITY_LABELS.items())],
        default="",
    )
    agence = SelectField("Agence", coerce=optional_id, validate_choice=False)
    author = SelectField("Signalé par", coerce=optional_id, validate_choice=False)
    unassigned = BooleanField("Non pris en charge")
    late = BooleanField("En retard")
    date_from = DateField("Du", validators=[Optional()])
    date_to = DateField("Au", validators=[Optional()])
    category = SelectField("Catégorie", coerce=optional_id, validate_choice=False)
    residence = SelectField("Résidence", coerce=optional_id, validate_choice=False)
    status = SelectField(
        "Statut", choices=[("", "Tous"), *Status.choices()], default=""
    )
    #: A sector of the map (an H3 cell id), from a density hexagon's popup.
    secteur = HiddenField("Secteur de la carte")
    submit = SubmitField("Filtrer")
    #: Whether the résidence choices leave some of the perimeter out (set by the view).
    residences_truncated = False

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("La date de fin précède la date de début.")

    def validate_secteur(self, field):
        if field.data:
            field.sector = sector_cell(field.data)
            if field.sector is None:
                raise ValidationError("Secteur de la carte invalide.")

    def filters(self, page: int = 1) -> ReportFilters:
        """Return the filters of this (validated) form, for page ``page``."""
        return ReportFilters(
            date_from=self.date_from.data,
            date_to=self.date_to.data,
            category_id=self.category.data,
            residence_id=self.residence.data,
            status=Status.coerce(self.status.data),
            sector=sector_cell(self.secteur.data) if self.secteur.data else None,
            page=page,
            q=self.q.data or "",
            gravity=int(self.gravity.data) if self.gravity.data else None,
            agence_id=self.agence.data,
            author_id=self.author.data,
            unassigned=bool(self.unassigned.data),
            late=bool(self.late.data),
            sort=self.sort.data or "date",
            descending=self.order.data != "asc",
        )


class QualifyForm(BaseForm):
    """The référent's qualification of a fact."""

    category = SelectField("Catégorie", coerce=optional_id)
    status = SelectField("Statut", choices=Status.choices())
    gravity = SelectField(
        "Gravité",
        choices=[NOT_SPECIFIED, *((str(k), v) for k, v in GRAVITY_LABELS.items())],
    )
    comment = TextAreaField("Commentaire (facultatif)")
    submit = SubmitField("Enregistrer")


class AssignForm(BaseForm):
    """Take a fact in hand: who, and the day of its next step."""

    assignee = SelectField(
        "Pris en charge par", coerce=optional_id, validate_choice=False
    )
    next_step_on = DateField("Prochaine étape le", validators=[Optional()])
    comment = TextAreaField("Commentaire (facultatif)")
    submit = SubmitField("Enregistrer la prise en charge")


class DuplicateForm(BaseForm):
    """The référent's "this fact is a duplicate of…" (a reference, or a candidate)."""

    original = StringField(
        "Référence du fait d'origine",
        render_kw={"placeholder": "ex. TMH-2026-000123", "autocomplete": "off"},
    )
    comment = TextAreaField("Commentaire (facultatif)")
    submit = SubmitField("Marquer comme doublon")


class UnmarkDuplicateForm(BaseForm):
    """Make a duplicate count again (a button: CSRF only)."""

    submit = SubmitField("Ce n'est pas un doublon")


class CorrectionForm(FactPlaceForm):
    """A fact's correction: description, date, place, lieu and victime."""

    description = TextAreaField("Description courte")
    latitude = FloatField(
        "Latitude",
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    longitude = FloatField(
        "Longitude",
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    residence_position = BooleanField("Prendre la position de la résidence")
    comment = TextAreaField("Motif de la correction (facultatif)")
    submit = SubmitField("Enregistrer la correction")


class RedactionForm(BaseForm):
    """A personal detail to remove from a fact's description and history."""

    text = StringField(
        "Détail à retirer",
        validators=[InputRequired("Indiquez le mot ou le passage à retirer.")],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    submit = SubmitField("Retirer partout")
