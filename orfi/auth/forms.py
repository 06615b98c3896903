"""Login form, the form to change one's own password, and the password fields every
password form builds from (the administration's too)."""

from wtforms import BooleanField, EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from orfi.forms import BaseForm
from orfi.security.passwords import MAX_LENGTH


def current_password_field(label: str, required: str) -> PasswordField:
    """A field for a password the user already has: the browser may fill it in."""
    return PasswordField(
        label,
        validators=[DataRequired(required)],
        render_kw={"autocomplete": "current-password"},
    )


def new_password_field(label: str, required: str, *checks) -> PasswordField:
    """A field for a password being chosen, checked by ``checks``: the browser may
    offer to generate one instead of filling in a saved one."""
    return PasswordField(
        label,
        validators=[DataRequired(required), *checks],
        render_kw={"autocomplete": "new-password"},
    )


def confirm_password_field(label: str, required: str) -> PasswordField:
    """A field repeating the form's ``password`` field, so that a typo is caught."""
    return PasswordField(
        label,
        validators=[
            DataRequired(required),
            EqualTo("password", "Les deux mots de passe sont différents."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class LoginForm(BaseForm):
    email = EmailField(
        "Adresse e-mail",
        validators=[DataRequired("Indiquez votre adresse e-mail."), Length(max=254)],
        render_kw={"autocomplete": "username", "inputmode": "email"},
    )
    password = current_password_field("Mot de passe", "Indiquez votre mot de passe.")
    remember = BooleanField("Rester connecté sur cet appareil")
    submit = SubmitField("Se connecter")


class PasswordChangeForm(BaseForm):
    current = current_password_field(
        "Mot de passe actuel", "Indiquez votre mot de passe actuel."
    )
    password = new_password_field(
        "Nouveau mot de passe",
        "Indiquez un nouveau mot de passe.",
        Length(max=MAX_LENGTH, message=f"Au plus {MAX_LENGTH} caractères."),
    )
    confirm = confirm_password_field(
        "Confirmez le nouveau mot de passe", "Confirmez le nouveau mot de passe."
    )
    submit = SubmitField("Changer le mot de passe")


class EndSessionForm(BaseForm):
    """A button that ends sessions (its CSRF token is all it carries)."""

    submit = SubmitField("Fermer")
