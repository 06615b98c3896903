"""Login form, and the form to change one's own password."""

from wtforms import BooleanField, EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from orfi.forms import BaseForm
from orfi.security.passwords import MAX_LENGTH


class LoginForm(BaseForm):
    email = EmailField(
        "Adresse e-mail",
        validators=[DataRequired("Indiquez votre adresse e-mail."), Length(max=254)],
        render_kw={"autocomplete": "username", "inputmode": "email"},
    )
    password = PasswordField(
        "Mot de passe",
        validators=[DataRequired("Indiquez votre mot de passe.")],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Rester connecté sur cet appareil")
    submit = SubmitField("Se connecter")


class PasswordChangeForm(BaseForm):
    current = PasswordField(
        "Mot de passe actuel",
        validators=[DataRequired("Indiquez votre mot de passe actuel.")],
        render_kw={"autocomplete": "current-password"},
    )
    password = PasswordField(
        "Nouveau mot de passe",
        validators=[
            DataRequired("Indiquez un nouveau mot de passe."),
            Length(max=MAX_LENGTH, message=f"Au plus {MAX_LENGTH} caractères."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Confirmez le nouveau mot de passe",
        validators=[
            DataRequired("Confirmez le nouveau mot de passe."),
            EqualTo("password", "Les deux mots de passe sont différents."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Changer le mot de passe")
