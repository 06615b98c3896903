"""The ``orfi`` commands: init, create-organisation, create-federation, create-user,
and how every command meets an empty database or a mistake."""

import pytest
import sqlalchemy as sa

from orfi import create_app
from orfi.auth.models import Federation, Role, User
from orfi.cli import cli
from orfi.commands import NOT_INITIALISED
from orfi.extensions import db
from orfi.nomenclature.models import Category, Family
from orfi.patrimoine.models import Organisation
from tests.factories import commit, make_organisation


@pytest.fixture
def fresh_app(fresh_database_url, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": fresh_database_url,
        }
    )
    app.instance_path = str(tmp_path / "instance")
    yield app
    with app.app_context():
        db.engine.dispose()


def run(app, *args):
    result = app.test_cli_runner().invoke(args=["orfi", *args])
    return result


def test_init_builds_the_schema_and_loads_the_nomenclature_once(fresh_app):
    first = run(fresh_app, "init")
    assert first.exit_code == 0, first.output
    second = run(fresh_app, "init")
    assert second.exit_code == 0
    assert "0 élément" in second.output
    with fresh_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Family)) == 6
        templates = db.session.scalars(
            sa.select(Category.code).where(Category.organisation_id.is_(None))
        ).all()
        assert len(templates) == 23 and "AP04" in templates


def test_create_organisation_then_users(fresh_app):
    assert run(fresh_app, "init").exit_code == 0
    result = run(
        fresh_app,
        "create-organisation",
        "--code",
        "tmh",
        "--name",
        "Toulouse Métropole Habitat",
        "--kind",
        "oph",
        "--region",
        "Occitanie",
    )
    assert result.exit_code == 0, result.output
    duplicate = run(
        fresh_app, "create-organisation", "--code", "TMH", "--name", "Autre"
    )
    assert duplicate.exit_code == 1
    assert "déjà utilisé" in duplicate.output

    ok = run(
        fresh_app,
        "create-user",
        "ref@tmh.fr",
        "--name",
        "Référente",
        "--role",
        "referent",
        "--organisation",
        "TMH",
        "--password",
        "sûreté-tmh-2026",
    )
    assert ok.exit_code == 0, ok.output
    weak = run(
        fresh_app,
        "create-user",
        "g@tmh.fr",
        "--name",
        "G",
        "--role",
        "gardien",
        "--organisation",
        "TMH",
        "--password",
        "court",
    )
    assert weak.exit_code == 1 and "12 caractères" in weak.output
    unknown = run(
        fresh_app,
        "create-user",
        "x@y.fr",
        "--name",
        "X",
        "--role",
        "gardien",
        "--organisation",
        "NOPE",
        "--password",
        "motdepasse-42",
    )
    assert unknown.exit_code == 1 and "NOPE" in unknown.output

    assert (
        run(
            fresh_app,
            "create-federation",
            "--code",
            "USH-OCC",
            "--name",
            "USH Occitanie",
            "--region",
            "Occitanie",
        ).exit_code
        == 0
    )
    fed = run(
        fresh_app,
        "create-user",
        "fed@ush.fr",
        "--name",
        "Chargé de mission",
        "--role",
        "federation",
        "--federation",
        "USH-OCC",
        "--password",
        "federation-2026",
    )
    assert fed.exit_code == 0, fed.output

    with fresh_app.app_context():
        organisation = db.session.scalar(sa.select(Organisation))
        assert organisation.code == "TMH"
        own_categories = db.session.scalar(
            sa.select(sa.func.count()).where(
                Category.organisation_id == organisation.id
            )
        )
        assert own_categories == 23
        users = {u.email: u for u in db.session.scalars(sa.select(User))}
        assert set(users) == {"ref@tmh.fr", "fed@ush.fr"}
        assert users["ref@tmh.fr"].role is Role.REFERENT
        assert users["ref@tmh.fr"].check_password("sûreté-tmh-2026")
        assert users["fed@ush.fr"].organisation_id is None


# --- Mistakes: no command ends on a traceback (issue 12, point 9) ------------------
# Every registered command is run (the click group is walked: a new command must be
# added to MISTAKES) on an empty database, then with a typical mistake (a wrong code, a
# missing file, a bad date) on an initialised one: each ends on a French line starting
# with « Erreur », with a non-zero status, never on a traceback nor on click's English.

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
    "worker": [["--batch", "0"], ["--idle", "jamais"]],
    "early-warning": [["--organisation", "NOPE"], ["--week", "2026-13-45"]],
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


def test_every_command_on_an_empty_database_says_to_run_init(fresh_app):
    runner = fresh_app.test_cli_runner()
    for name in sorted(set(cli.commands) - WITHOUT_SCHEMA):
        for args in MISTAKES[name]:
            result = runner.invoke(args=["orfi", name, *args])
            assert_french_error(result, name)
            if result.exit_code == 1:  # 2: a usage error, found before the database
                assert "lancez `orfi init`" in result.output, (name, result.output)
    with fresh_app.app_context():
        assert sa.inspect(db.engine).get_table_names() == []


def test_the_demo_on_an_empty_database_says_to_run_init(fresh_app):
    result = fresh_app.test_cli_runner().invoke(args=["orfi", "demo"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Erreur : {NOT_INITIALISED}"
    assert "lancez `orfi init`" in NOT_INITIALISED


def test_an_old_schema_says_to_run_init(fresh_app):
    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["orfi", "init"]).exit_code == 0
    with fresh_app.app_context():
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


def test_an_unknown_command_is_said_in_french(fresh_app):
    result = fresh_app.test_cli_runner().invoke(args=["orfi", "imprt-patrimoine"])
    assert result.exit_code == 2
    assert result.output.startswith("Erreur : commande inconnue : imprt-patrimoine.")
