"""No ``orfi`` command ends on a traceback for a user's mistake (issue 12, point 9).

Every registered command is run (the click group is walked, so a new command is
covered or this test fails) on an empty database, then with a typical mistake (a wrong
code, a missing file, a bad date) on an initialised one: each ends on French lines
starting with « Erreur », with a non-zero status, never on a traceback nor on click's
English usage text.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from orfi import create_app
from orfi.auth.models import Federation
from orfi.cli import cli
from orfi.commands import NOT_INITIALISED
from orfi.extensions import db
from tests.factories import commit, make_organisation

#: Commands that need no schema: what they say on an empty database is their own.
WITHOUT_SCHEMA = {"init", "backup", "restore"}

#: A typical mistake for each command, on an initialised database with bailleur TMH.
MISTAKES: dict[str, list[list[str]]] = {
    "create-token": [["personne@tmh.example"]],
    "backup": [["--output", "/nonexistent-folder/orfi.tar"]],
    "restore": [["/nonexistent-folder/orfi.tar"]],
    "demo": [["--reports", "-5"]],
    "demo-logins": [["--nonexistent-option"]],
    "export-federation": [
        ["--organisation", "NOPE", "--period", "2026"],
        ["--organisation", "TMH", "--period", "2026-13"],
    ],
    "import-federation": [["/nonexistent-folder/federation.json"]],
    "remove-federation-import": [
        ["--code", "NOPE", "--from", "2026-01", "--to", "2026-02"],
        ["--code", "TMH", "--from", "janvier", "--to", "2026-02"],
    ],
    "import-patrimoine": [
        ["/nonexistent-folder/p.csv", "--organisation", "TMH"],
        ["--organisation", "TMH"],
    ],
    "purge": [["--dry-run", "--date", "2026-02-30"]],
    "access-log": [["--organisation", "NOPE"], ["--since", "hier"]],
    "synthese": [["--date", "2026-13-45"], ["--organisation", "NOPE"]],
    "init": [["--nonexistent-option"]],
    "create-organisation": [["--code", "TMH", "--name", "Doublon"]],
    "create-federation": [
        ["--code", "", "--name", "Sans code"],
        ["--code", "USH-OCC", "--name", "Doublon"],
    ],
    "create-user": [
        [
            "a@tmh.example",
            "--name",
            "A",
            "--role",
            "gardien",
            "--organisation",
            "NOPE",
            "--password",
            "un mot de passe assez long",
        ],
        ["a@tmh.example", "--name", "A", "--role", "chef", "--password", "x"],
    ],
}


def assert_french_error(result, command: str) -> None:
    output = result.output
    assert result.exit_code not in (0, None), (command, output)
    assert "Traceback" not in output, (command, output)
    assert "Error:" not in output and "Usage:" not in output, (command, output)
    last = output.strip().splitlines()[-1]
    assert last.startswith("Erreur"), (command, output)


def test_every_command_is_covered():
    assert set(cli.commands) == set(MISTAKES)


@pytest.fixture
def empty_app(fresh_database_url, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": fresh_database_url,
            "ORFI_BACKUP_DIR": str(tmp_path / "backups"),
        }
    )
    app.instance_path = str(tmp_path / "instance")
    yield app
    with app.app_context():
        db.engine.dispose()


def test_every_command_on_an_empty_database_says_to_run_init(empty_app):
    runner = empty_app.test_cli_runner()
    for name in sorted(set(cli.commands) - WITHOUT_SCHEMA):
        for args in MISTAKES[name]:
            result = runner.invoke(args=["orfi", name, *args])
            assert_french_error(result, name)
            if result.exit_code == 1:  # 2: a usage error, found before the database
                assert "lancez `orfi init`" in result.output, (name, result.output)
    with empty_app.app_context():
        assert sa.inspect(db.engine).get_table_names() == []


def test_the_demo_on_an_empty_database_says_to_run_init(empty_app):
    result = empty_app.test_cli_runner().invoke(args=["orfi", "demo"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Erreur : {NOT_INITIALISED}"
    assert "lancez `orfi init`" in NOT_INITIALISED


def test_an_old_schema_says_to_run_init(empty_app):
    runner = empty_app.test_cli_runner()
    assert runner.invoke(args=["orfi", "init"]).exit_code == 0
    with empty_app.app_context():
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0010'"))
        db.session.commit()
    result = runner.invoke(args=["orfi", "demo-logins"])
    assert result.exit_code == 1
    assert "Base à mettre à jour (révision 0010) : lancez `orfi init`." in result.output


@pytest.mark.parametrize(
    "name, args",
    [(name, args) for name, cases in MISTAKES.items() for args in cases],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_mistake_ends_on_a_french_line(app, runner, name, args, tmp_path):
    app.config["ORFI_BACKUP_DIR"] = str(tmp_path / "backups")
    make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    db.session.add(Federation(code="USH-OCC", name="USH Occitanie"))
    commit()
    result = runner.invoke(args=["orfi", name, *args])
    assert_french_error(result, name)
