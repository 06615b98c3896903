"""Commands of the api feature."""

from __future__ import annotations

import click

from orfi.api.services import create_token
from orfi.auth.models import User
from orfi.auth.services import normalise_email
from orfi.commands import cli, fail
from orfi.errors import OrfiError, ValidationError
from orfi.extensions import db
from orfi.transaction import unit_of_work


@cli.command("create-token")
@click.argument("email")
@click.option(
    "--name", default="Ligne de commande", show_default=True, help="Nom du jeton."
)
def create_token_command(email, name):
    """Create a personal API token for EMAIL and print it (shown once only)."""
    from orfi.api import models  # noqa: F401  (tables known even without the app)

    try:
        with unit_of_work():
            user = db.session.scalar(
                db.select(User).where(User.email == normalise_email(email))
            )
            if user is None:
                raise ValidationError({"email": ["Aucun compte avec cette adresse."]})
            token, secret = create_token(user, name)
            # Read before the commit expires them.
            token_name, user_email = token.name, user.email
    except OrfiError as error:
        fail(error)
    click.echo(f"Jeton « {token_name} » créé pour {user_email}.")
    click.echo("Copiez-le maintenant : il ne sera plus jamais affiché.")
    click.echo(secret)
