"""One transaction per request or command (orfi.transaction): services flush, the edge
commits, every error path rolls back — the 500 handler's included."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from orfi.auth.models import Federation, Role
from orfi.errors import ValidationError
from orfi.extensions import db
from orfi.nomenclature.models import Category
from orfi.patrimoine.models import Organisation
from orfi.transaction import unit_of_work
from tests.factories import category, make_organisation, make_user
from tests.helpers import field_errors

ORFI = Path(__file__).resolve().parent.parent / "orfi"


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_only_the_unit_of_work_commits():
    """Views, commands and services end their writes with unit_of_work, never with a
    commit of their own: orfi/transaction.py is the one module that commits."""
    committing = {
        path.relative_to(ORFI).as_posix()
        for path in ORFI.rglob("*.py")
        if "commit()" in path.read_text(encoding="utf-8")
    }
    assert committing == {"transaction.py"}


# --------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------


@pytest.fixture
def failing_views(app):
    """Test-only views that write then fail; the 500 page as in production."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def flush_then_raise():
        db.session.add(Federation(code="TXN-1", name="Écrite puis perdue"))
        db.session.flush()
        raise RuntimeError("panne après une écriture")

    def fail_in_unit_of_work():
        with unit_of_work():
            db.session.add(Federation(code="TXN-2", name="Écrite puis perdue"))
            db.session.flush()
            raise RuntimeError("panne dans l'unité de travail")

    def break_the_session():
        # A duplicate code: the flush itself fails and leaves the session needing a
        # rollback before it can run any other query (the 500 page's included).
        db.session.add(Federation(code="TXN-DUP", name="Doublon"))
        db.session.flush()

    def flush_and_forget():
        db.session.add(Federation(code="TXN-3", name="Jamais validée"))
        db.session.flush()
        return "ok"

    def write():
        with unit_of_work():
            db.session.add(Federation(code="TXN-OK", name="Enregistrée"))
        return "ok"

    def commit_by_hand():
        db.session.add(Federation(code="TXN-4", name="Validée à la main"))
        db.session.commit()
        return "ok"

    for view in (
        flush_then_raise,
        fail_in_unit_of_work,
        break_the_session,
        flush_and_forget,
        write,
        commit_by_hand,
    ):
        app.add_url_rule(f"/_test/{view.__name__}", view_func=view, methods=["POST"])
    return app


@pytest.fixture
def admin(app):
    organisation = make_organisation(code="TXN", name="Bailleur des transactions")
    user = make_user(organisation, role=Role.ADMIN, email="admin@txn.fr")
    db.session.commit()
    return user


@pytest.mark.parametrize("view", ["flush_then_raise", "fail_in_unit_of_work"])
def test_a_request_that_fails_after_a_flush_stores_nothing(
    failing_views, client, auth, admin, view
):
    auth.login(admin.email)
    response = client.post(f"/_test/{view}")
    assert response.status_code == 500
    assert "Rien n'a été enregistré" in response.text
    assert count(Federation) == 0
    # The next request works and writes as usual.
    assert client.post("/_test/write").status_code == 200
    assert db.session.scalars(sa.select(Federation.code)).all() == ["TXN-OK"]


def test_the_500_page_renders_after_a_database_error(
    failing_views, client, auth, admin
):
    db.session.add(Federation(code="TXN-DUP", name="Déjà là"))
    db.session.commit()
    auth.login(admin.email)
    response = client.post("/_test/break_the_session")
    assert response.status_code == 500
    # The page's menu needs the logged-in user, read from the database by then: only
    # a session rolled back by the 500 handler can still read.
    assert "Rien n'a été enregistré" in response.text
    assert "Administration" in response.text
    assert count(Federation) == 1
    assert client.get("/admin/").status_code == 200


def test_what_a_request_leaves_uncommitted_is_rolled_back(failing_views, client):
    assert client.post("/_test/flush_and_forget").text == "ok"
    assert count(Federation) == 0


def test_the_guard_refuses_a_commit_outside_a_unit_of_work(failing_views, client):
    failing_views.config["ORFI_TRANSACTION_GUARD"] = True
    assert client.post("/_test/commit_by_hand").status_code == 500
    assert count(Federation) == 0
    assert client.post("/_test/write").status_code == 200
    # Off (the default), a stray commit still works: the guard is for tests.
    failing_views.config["ORFI_TRANSACTION_GUARD"] = False
    assert client.post("/_test/commit_by_hand").text == "ok"
    assert count(Federation) == 2


def test_a_refused_form_after_a_flush_stores_nothing(client, auth, admin, monkeypatch):
    """A service that flushes, then refuses: the form comes back, nothing is kept."""
    from orfi.admin import routes

    real_add_category = routes.add_category

    def add_then_refuse(*args, **kwargs):
        real_add_category(*args, **kwargs)
        db.session.flush()
        raise ValidationError({"label": ["Refusé après l'écriture."]})

    monkeypatch.setattr(routes, "add_category", add_then_refuse)
    family = category(admin.organisation, "TT01").family
    before = count(Category)
    auth.login(admin.email)
    response = client.post(
        "/admin/nomenclature/nouvelle",
        data={"family": str(family.id), "code": "TT08", "label": "Feux de poubelles"},
    )
    assert response.status_code == 422
    assert field_errors(response.text, "label") == "Refusé après l'écriture."
    assert count(Category) == before
    assert category(admin.organisation, "TT08") is None


# --------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        ValidationError({"code": ["Refusé après l'écriture."]}),
        RuntimeError("panne en cours de commande"),
    ],
    ids=["refused", "crashed"],
)
def test_a_command_that_fails_midway_stores_nothing(app, runner, monkeypatch, error):
    from orfi import cli

    real_create_organisation = cli.create_organisation

    def create_then_fail(**kwargs):
        real_create_organisation(**kwargs)  # the bailleur and its nomenclature
        db.session.flush()
        raise error

    monkeypatch.setattr(cli, "create_organisation", create_then_fail)
    result = runner.invoke(
        args=["orfi", "create-organisation", "--code", "MID", "--name", "Milieu"]
    )
    assert result.exit_code == 1
    if isinstance(error, ValidationError):
        assert "Erreur (code) : Refusé après l'écriture." in result.output
    else:
        assert result.exception is error
    db.session.expire_all()
    assert count(Organisation) == 0
    assert count(Category) == 0
