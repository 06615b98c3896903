"""Forms of the api feature: creating and revoking personal tokens."""

from wtforms import StringField, SubmitField
from wtforms.validators import InputRequired, Length

from orfi import limits
from orfi.forms import BaseForm


class TokenForm(BaseForm):
    """Name a new API token."""

    name = StringField(
        "Nom du jeton",
        validators=[
            InputRequired("Donnez un nom au jeton."),
            Length(
                max=limits.TOKEN_NAME_MAX_LENGTH,
                message=f"{limits.TOKEN_NAME_MAX_LENGTH} caractères au plus.",
            ),
        ],
        render_kw={"autocomplete": "off", "maxlength": limits.TOKEN_NAME_MAX_LENGTH},
    )
    submit = SubmitField("Créer un jeton")


class RevokeTokenForm(BaseForm):
    """Revoke a token (a button: CSRF only)."""

    submit = SubmitField("Révoquer")
