"""Forms of the api feature: creating and revoking personal tokens."""

from wtforms import StringField, SubmitField
from wtforms.validators import InputRequired, Length

from orfi.forms import BaseForm


class TokenForm(BaseForm):
    """Name a new API token."""

    name = StringField(
        "Nom du jeton",
        validators=[
            InputRequired("Donnez un nom au jeton."),
            Length(max=100, message="100 caractères au plus."),
        ],
        render_kw={"autocomplete": "off", "maxlength": 100},
    )
    submit = SubmitField("Créer un jeton")


class RevokeTokenForm(BaseForm):
    """Revoke a token (a button: CSRF only)."""

    submit = SubmitField("Révoquer")
