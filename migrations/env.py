"""Alembic environment: the app's engine, and the metadata of every model.

Flask-Migrate's template (4.1) written for Flask-SQLAlchemy 3.1 only: ``db.engine``
instead of the deprecated ``db.get_engine()``, and the schema from
:mod:`orfi.models` rather than whatever models the app happened to import.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from orfi.models import metadata
from orfi.reports.search_index import include_name

config = context.config
# Migrations run inside the app's process (orfi init, restore, tests): keep the app's
# loggers, which fileConfig would otherwise disable for the rest of the process.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

migrate = current_app.extensions["migrate"]
engine = migrate.db.engine
# The URL goes through ConfigParser interpolation: a "%" (a quoted password) doubles.
url = engine.url.render_as_string(hide_password=False)
config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))


def run_migrations_offline() -> None:
    """Write the migrations as SQL to standard output (``flask db upgrade --sql``)."""
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the app's database."""

    def process_revision_directives(context, revision, directives):
        # An autogenerate that finds no change writes no empty revision file.
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = migrate.configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            include_name=include_name,  # the full-text index is no model's table
            **conf_args,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
