"""Forms of the administration: users, passwords and the nomenclature."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    EmailField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from orfi.auth.forms import confirm_password_field, new_password_field
from orfi.auth.services import ORGANISATION_ROLES, check_password_rules
from orfi.forms import BaseForm
from orfi.nomenclature.services import LABEL_MAX_LENGTH

NO_AGENCE = ("", "— Aucune : tout le bailleur —")


def _optional_int(value):
    return int(value) if value not in (None, "") else None


def role_choices() -> list[tuple[str, str]]:
    """The roles an administrator may give (never fédération)."""
    return [(role.value, role.label) for role in ORGANISATION_ROLES]


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes (easier on a phone)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _check_new_password(form, field) -> None:
    if problems := check_password_rules(field.data or ""):
        raise ValidationError(" ".join(problems))


class _UserForm(BaseForm):
    """Name, role and perimeter fields shared by the creation and edit forms."""

    name = StringField(
        "Nom",
        validators=[DataRequired("Indiquez le nom."), Length(max=200)],
        render_kw={"autocomplete": "off"},
    )
    role = SelectField(
        "Rôle",
        choices=role_choices(),
        invalid_choice_message="Choisissez un rôle de la liste.",
    )
    agence = SelectField(
        "Agence",
        coerce=_optional_int,
        invalid_value_message="Choisissez une agence de la liste.",
        invalid_choice_message="Cette agence n'appartient pas au bailleur.",
    )
    sector = MultiCheckboxField(
        "Secteur",
        coerce=int,
        invalid_value_message="Choisissez des résidences de la liste.",
        invalid_choice_message="Une résidence du secteur n'appartient pas au bailleur.",
    )


class UserCreateForm(_UserForm):
    email = EmailField(
        "Adresse e-mail",
        validators=[DataRequired("Indiquez l'adresse e-mail."), Length(max=254)],
        render_kw={"autocomplete": "off", "inputmode": "email"},
    )
    password = new_password_field(
        "Mot de passe initial", "Indiquez un mot de passe.", _check_new_password
    )
    submit = SubmitField("Créer le compte")

    def validate_email(self, field) -> None:
        if "@" not in (field.data or ""):
            raise ValidationError("Adresse e-mail invalide.")


class UserEditForm(_UserForm):
    active = BooleanField("Compte actif")
    submit = SubmitField("Enregistrer")


class PasswordResetForm(BaseForm):
    password = new_password_field(
        "Nouveau mot de passe", "Indiquez un mot de passe.", _check_new_password
    )
    confirm = confirm_password_field(
        "Confirmez le mot de passe", "Confirmez le mot de passe."
    )
    submit = SubmitField("Changer le mot de passe")


def _category_label_field() -> StringField:
    """A category's label: the same rules when it is added and when it is edited."""
    return StringField(
        "Libellé",
        validators=[
            DataRequired("Indiquez le libellé."),
            Length(max=LABEL_MAX_LENGTH),
        ],
    )


class CategoryEditForm(BaseForm):
    label = _category_label_field()
    active = BooleanField("Catégorie utilisée")
    immediate_alert = BooleanField("Alerte immédiate")
    submit = SubmitField("Enregistrer")


class CategoryAddForm(BaseForm):
    family = SelectField(
        "Famille",
        coerce=_optional_int,
        invalid_value_message="Choisissez une famille de la liste.",
        invalid_choice_message="Choisissez une famille de la liste.",
    )
    code = StringField(
        "Code",
        validators=[DataRequired("Indiquez le code.")],
        filters=[lambda value: value.upper() if isinstance(value, str) else value],
        render_kw={
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
            "maxlength": 4,
        },
    )
    label = _category_label_field()
    submit = SubmitField("Ajouter la catégorie")
