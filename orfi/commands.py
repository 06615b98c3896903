"""The ``orfi`` command group and the error exit that every feature's commands share.

It sits below the features so that their ``commands`` modules can add to the group
without importing :mod:`orfi.cli`, the top that assembles them.
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from orfi.errors import OrfiError, ValidationError
from orfi.transaction import rollback

cli = AppGroup("orfi", help="Commandes d'administration d'orfi.")


def fail(error: OrfiError) -> None:
    """Print an error in French and stop with status 1."""
    # Called after a unit of work has rolled back, this is a no-op; it still ends the
    # read transaction (or stray writes) of a command that failed outside one.
    rollback()
    if isinstance(error, ValidationError):
        for name, messages in error.errors.items():
            click.echo(f"Erreur ({name}) : {' '.join(messages)}", err=True)
    else:
        click.echo(f"Erreur : {error}", err=True)
    sys.exit(1)
