"""The ``orfi`` command group and the error exit that every feature's commands share.

It sits below the features so that their ``commands`` modules can add to the group
without importing :mod:`orfi.cli`, the top that assembles them.

Every command of the group first checks the database (issue 12, point 9): on an empty
or out-of-date schema it stops on one French line saying what to run, never on an SQL
traceback. ``@cli.command(..., schema=False)`` marks the few that work without one
(``init`` builds it, ``restore`` fills an empty database, ``backup`` copies any).
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import Callable

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from orfi.errors import OrfiError, ValidationError
from orfi.extensions import db
from orfi.transaction import rollback

logger = logging.getLogger(__name__)

#: What a command says on a database without orfi's tables.
NOT_INITIALISED = "Base non initialisée : lancez `orfi init`."
#: A table every schema of orfi has had since its first migration.
_FIRST_TABLE = "organisation"


class FrenchUsage(click.Group):
    """A group whose usage errors (missing option, bad value, unknown option) end on
    one French line and status 2, not on click's English « Usage… Error: … »."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            command = error.ctx.command_path if error.ctx else ctx.command_path
            click.echo(
                f"Erreur : {french_usage(error)} (aide : {command} --help)", err=True
            )
            ctx.exit(2)


def french_usage(error: click.UsageError) -> str:
    """Say a click usage error in French."""
    hint = _param_hint(error)
    if isinstance(error, click.MissingParameter):
        return f"{hint} manquant(e)."
    if isinstance(error, click.NoSuchOption):
        return f"option inconnue : {error.option_name}."
    if isinstance(error, click.BadParameter):
        return f"valeur refusée pour {hint} : {_french_reason(error)}"
    unknown = re.match(r"No such command '(.*)'", error.message)
    if unknown:
        return f"commande inconnue : {unknown.group(1)}."
    return f"usage incorrect ({error.message})."


def _param_hint(error: click.UsageError) -> str:
    param = getattr(error, "param", None)
    if param is None:
        return "un paramètre"
    if param.param_type_name == "argument":
        return (param.human_readable_name or "argument").upper()
    return " / ".join(param.opts)


def _french_reason(error: click.BadParameter) -> str:
    """The reason of a bad value, in French for the types orfi's commands use."""
    kind = error.param.type if error.param is not None else None
    if isinstance(kind, click.DateTime):
        return "date attendue au format AAAA-MM-JJ (ex. 2026-12-07)."
    if isinstance(kind, click.IntRange):
        low, high = kind.min, kind.max
        bounds = f"entre {low} et {high}" if high is not None else f"au moins {low}"
        return f"nombre entier {bounds} attendu."
    if isinstance(kind, click.Choice):
        return "choisissez parmi " + ", ".join(map(str, kind.choices)) + "."
    if isinstance(kind, click.types.IntParamType):
        return "nombre entier attendu."
    if isinstance(kind, click.Path):
        return f"chemin refusé ({error.message})."
    return error.message


class OrfiGroup(FrenchUsage, AppGroup):
    """An app group whose commands check the database schema before they run, and
    whose usage errors are said in French."""

    def command(self, *args, **kwargs):
        """Like :meth:`AppGroup.command`; ``schema=False`` skips the schema check."""
        schema = kwargs.pop("schema", True)
        parent = super().command(*args, **kwargs)

        def decorator(f: Callable) -> click.Command:
            return parent(_with_schema(f) if schema else f)

        return decorator


cli = OrfiGroup("orfi", help="Commandes d'administration d'orfi.")


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


def schema_problem() -> str | None:
    """Return, in French, why the database cannot serve a command (None: it can).

    No orfi table: not initialised. An Alembic revision other than the code's head:
    to upgrade. A database built without Alembic (the tests' ``create_all``) passes.
    """
    try:
        with db.engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
            current = _current_revisions(connection) if tables else set()
    except sa.exc.OperationalError as error:
        logger.info("Database unreachable: %s", error)
        return (
            "Base de données inaccessible : vérifiez ORFI_DATABASE_URL et que le "
            "serveur tourne."
        )
    if _FIRST_TABLE not in tables:
        return NOT_INITIALISED
    if current and current != _head_revisions():
        return (
            f"Base à mettre à jour (révision {', '.join(sorted(current))}) : "
            "lancez `orfi init`."
        )
    return None


def _current_revisions(connection) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    return set(MigrationContext.configure(connection).get_current_heads())


def _head_revisions() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option(
        "script_location", current_app.extensions["migrate"].directory
    )
    return set(ScriptDirectory.from_config(config).get_heads())


def _with_schema(f: Callable) -> Callable:
    """Wrap a command's function: check the schema first, and turn a missing table
    met anyway (the schema dropped meanwhile) into the same French line."""

    @functools.wraps(f)
    def run(*args, **kwargs):
        problem = schema_problem()
        if problem is not None:
            fail(OrfiError(problem))
        try:
            return f(*args, **kwargs)
        except (sa.exc.OperationalError, sa.exc.ProgrammingError) as error:
            if not _missing_table(error):
                raise
            logger.info("Table missing: %s", error)
            fail(OrfiError(NOT_INITIALISED))

    return run


def _missing_table(error: sa.exc.DBAPIError) -> bool:
    """Whether an SQL error says a table (or column) does not exist."""
    text = str(error.orig).lower()
    return any(
        words in text for words in ("no such table", "no such column", "does not exist")
    )
