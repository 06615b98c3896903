"""Alerts (issue 11): who an event reaches, the worker's sending and retries, and the
pages (inbox, « Mes alertes », the administrator's deliveries page)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from orfi.alerts import push
from orfi.alerts.worker import claim_due, deliver_batch, run_once, scan_overdue
from orfi.auth.models import Role
from orfi.database import utcnow
from orfi.extensions import db
from orfi.notifications.models import (
    AlertDelivery,
    AlertEvent,
    AlertSubscription,
    Channel,
    DeliveryStatus,
    InboxMessage,
    Rhythm,
)
from orfi.notifications.services import digest_due
from orfi.reports.models import Status, Victime
from orfi.reports.qualification import qualify_report
from orfi.timezone import to_local
from tests.factories import (
    category,
    commit,
    make_action,
    make_agence,
    make_organisation,
    make_report,
    make_residence,
    make_user,
)
from tests.helpers import field_errors
from tests.smtp_sink import Sink

SECRET = "Le voisin du 3e, M. Dupont, a frappé le gardien"


@pytest.fixture
def world(app):
    """Two bailleurs: A with a gardien, a référent, a direction user, a chef d'agence
    of another agence and an administrator; B with its own référent."""
    a = make_organisation(code="AAA")
    b = make_organisation(code="BBB")
    agence = make_agence(a, name="Nord")
    other_agence = make_agence(a, name="Sud")
    residence = make_residence(a, agence=agence, name="Les Izards")
    gardien = make_user(a, role=Role.GARDIEN, sector=[residence])
    world = {
        "a": a,
        "b": b,
        "agence": agence,
        "residence": residence,
        "gardien": gardien,
        "other_gardien": make_user(a, role=Role.GARDIEN, sector=[residence]),
        "referent": make_user(a, role=Role.REFERENT, email="ref@a.fr"),
        "direction": make_user(a, role=Role.DIRECTION, email="dir@a.fr"),
        "chef_sud": make_user(a, role=Role.DIRECTION, agence=other_agence),
        "admin": make_user(a, role=Role.ADMIN, email="admin@a.fr"),
        "referent_b": make_user(b, role=Role.REFERENT, email="ref@b.fr"),
    }
    commit()
    return world


@pytest.fixture
def sink(app):
    """A local SMTP sink the app sends to."""
    server = Sink().start()
    app.config.update(ORFI_SMTP_HOST="127.0.0.1", ORFI_SMTP_PORT=server.port)
    yield server
    server.stop()


def deliveries(user, channel=None) -> list[AlertDelivery]:
    query = sa.select(AlertDelivery).where(AlertDelivery.user_id == user.id)
    if channel is not None:
        query = query.where(AlertDelivery.channel == channel)
    return list(db.session.scalars(query))


def inbox(user) -> list[InboxMessage]:
    return list(
        db.session.scalars(
            sa.select(InboxMessage).where(InboxMessage.user_id == user.id)
        )
    )


def grave_fact(world, **overrides):
    values = {"gravity": 4, "description": SECRET, "category_code": "AP04"}
    values.update(overrides)
    report = make_report(world["gardien"], world["residence"], **values)
    commit()
    return report


# --- Who an event reaches ---------------------------------------------------------


def test_a_grave_fact_reaches_the_referent_of_its_bailleur_at_once(world):
    grave_fact(world)
    referent = world["referent"]
    assert {d.channel for d in deliveries(referent)} == {Channel.EMAIL, Channel.PUSH}
    assert all(d.rhythm is Rhythm.IMMEDIATE for d in deliveries(referent))
    assert len(inbox(referent)) == 1
    # Another bailleur's référent, the filer and a chef d'agence of another agence:
    # nothing.
    for name in ("referent_b", "gardien", "chef_sud", "other_gardien"):
        assert deliveries(world[name]) == [] and inbox(world[name]) == [], name


def test_direction_gets_the_grave_fact_in_its_daily_digest(world):
    grave_fact(world)
    (email,) = deliveries(world["direction"])
    assert email.channel is Channel.EMAIL and email.rhythm is Rhythm.DAILY
    assert email.due_at.replace(tzinfo=None) > utcnow().replace(tzinfo=None)
    assert len(inbox(world["direction"])) == 1


def test_a_back_dated_fact_alerts_at_its_filing(world):
    before = utcnow()
    report = grave_fact(world, occurred_at=utcnow() - timedelta(days=20))
    event = db.session.scalar(
        sa.select(AlertEvent).where(AlertEvent.report_id == report.id)
    )
    assert event.at.replace(tzinfo=None) >= before.replace(tzinfo=None)
    (email,) = deliveries(world["referent"], Channel.EMAIL)
    assert email.due_at.replace(tzinfo=None) <= utcnow().replace(tzinfo=None)


@pytest.mark.parametrize(
    "overrides",
    [
        {"gravity": 3},
        {"gravity": None, "victime": Victime.PERSONNEL_BAILLEUR},
        {"gravity": 1, "victime": Victime.PERSONNEL_PRESTATAIRE},
    ],
    ids=["gravity-3", "staff-victim", "contractor-victim"],
)
def test_what_makes_a_fact_grave(world, overrides):
    grave_fact(world, **overrides)
    assert len(inbox(world["referent"])) == 1


def test_a_minor_fact_reaches_no_referent_by_default(world):
    grave_fact(world, gravity=2, category_code="AB02")
    assert deliveries(world["referent"]) == [] and inbox(world["referent"]) == []


def test_a_category_marked_immediate_makes_every_fact_of_it_grave(world):
    category(world["a"], "TR01").immediate_alert = True
    grave_fact(world, gravity=1, category_code="TR01")
    assert len(inbox(world["referent"])) == 1


def test_the_gravity_threshold_is_a_setting(app, world):
    app.config["ORFI_ALERT_MIN_GRAVITY"] = 4
    grave_fact(world, gravity=3)
    assert inbox(world["referent"]) == []


def test_a_fact_becoming_grave_at_qualification_alerts_then(world):
    report = grave_fact(world, gravity=None, category_code="AB01")
    assert inbox(world["referent"]) == []
    qualify_report(
        world["admin"],
        report,
        category_id=report.category_id,
        status=report.status,
        gravity=4,
    )
    commit()
    (message,) = inbox(world["referent"])
    assert message.event.kind == "grave"
    # Raising an already grave fact does not alert twice.
    qualify_report(
        world["admin"], report, category_id=report.category_id, status=report.status,
        gravity=3,
    )  # fmt: skip
    assert len(inbox(world["referent"])) == 1


def test_the_gardien_hears_of_the_status_of_their_own_facts_only(world):
    report = grave_fact(world, gravity=1)
    qualify_report(
        world["referent"],
        report,
        category_id=report.category_id,
        status=Status.QUALIFIE,
        gravity=1,
    )
    commit()
    (message,) = inbox(world["gardien"])
    assert message.event.summary["status"] == "qualifie"
    assert {d.channel for d in deliveries(world["gardien"])} == {Channel.PUSH}
    assert inbox(world["other_gardien"]) == []
    # The référent who made the change is not told of it.
    assert [m.event.kind for m in inbox(world["referent"])] == []


def test_an_action_closing_the_fact_tells_the_gardien(world):
    report = grave_fact(world)
    make_action(report, world["referent"])
    commit()
    kinds = sorted(m.event.kind for m in inbox(world["gardien"]))
    assert kinds == ["status"]  # transmis; the action itself is not the gardien's
    assert inbox(world["gardien"])[0].event.summary["status"] == "transmis"


def test_a_chef_d_agence_hears_of_their_agence_only(world):
    chef_nord = make_user(world["a"], role=Role.DIRECTION, agence=world["agence"])
    commit()
    grave_fact(world)
    assert len(inbox(chef_nord)) == 1
    assert inbox(world["chef_sud"]) == []


def test_a_rule_filters_by_family_gravity_and_residence(world):
    referent = world["referent"]
    db.session.add(
        AlertSubscription(
            user_id=referent.id,
            kinds=["filed"],
            families=["TT"],
            min_gravity=2,
            residence_ids=[world["residence"].id],
            rhythm=Rhythm.IMMEDIATE,
            channels=["inbox"],
        )
    )
    commit()
    grave_fact(world, gravity=4, category_code="AP04")  # not TT: nothing
    grave_fact(world, gravity=1, category_code="TT01")  # below 2: nothing
    grave_fact(world, gravity=2, category_code="TT01")  # this one
    other = make_residence(world["a"])
    world["gardien"].sector.append(other)
    make_report(world["gardien"], other, gravity=2, category_code="TT01")
    commit()
    (message,) = inbox(referent)
    assert message.event.summary["category"].startswith("TT01")
    assert deliveries(referent) == []  # inbox only, as chosen


def test_rules_never_reach_past_the_perimeter(world):
    """A gardien subscribed to every fact still hears only of their own."""
    db.session.add(
        AlertSubscription(
            user_id=world["other_gardien"].id,
            kinds=["filed", "grave"],
            rhythm=Rhythm.IMMEDIATE,
            channels=["inbox"],
        )
    )
    commit()
    grave_fact(world)
    assert inbox(world["other_gardien"]) == []


def test_federation_users_get_nothing(world):
    federation_user = make_user(None, role=Role.FEDERATION)
    commit()
    grave_fact(world)
    assert inbox(federation_user) == [] and deliveries(federation_user) == []


def test_digests_are_due_at_seven_paris_time():
    now = utcnow()
    daily = to_local(digest_due(Rhythm.DAILY, now))
    weekly = to_local(digest_due(Rhythm.WEEKLY, now))
    assert (daily.hour, daily.minute) == (7, 0)
    assert timedelta(0) < daily - to_local(now) <= timedelta(days=1)
    assert weekly.weekday() == 0 and weekly.hour == 7
    assert digest_due(Rhythm.IMMEDIATE, now) == now


# --- The worker ---------------------------------------------------------------------


class Clock:
    """An injectable clock for the worker."""

    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


def test_the_worker_sends_one_email_naming_the_fact_never_its_description(world, sink):
    report = grave_fact(world)
    tally = run_once("w1")
    assert tally.delivered == 1 and tally.skipped == 1  # push: no device registered
    (mail,) = sink.to("ref@a.fr")
    body = mail.get_content()
    assert report.reference in mail["Subject"] and report.reference in body
    assert "AP04" in body and "Les Izards" in body and "4 · Rouge" in body
    assert f"/signalements/{report.uuid}" in body
    for word in ("Dupont", "voisin", "frappé"):
        assert word not in mail.as_string()
    # A second pass sends nothing more.
    assert run_once("w2").delivered == 0
    assert len(sink.messages) == 1
    (email,) = deliveries(world["referent"], Channel.EMAIL)
    assert email.status is DeliveryStatus.DELIVERED and email.attempts == 0


def test_the_message_id_is_the_same_for_every_send_of_one_delivery(world, sink):
    grave_fact(world)
    run_once("w1")
    first = sink.messages[0]["Message-ID"]
    db.session.execute(
        sa.update(AlertDelivery)
        .where(AlertDelivery.channel == Channel.EMAIL)
        .values(status=DeliveryStatus.PENDING)
    )
    commit()
    run_once("w2")
    assert sink.ids() == [first, first]


def test_smtp_down_ten_minutes_then_up_delivers_every_message_once(world, app):
    server = Sink()
    app.config.update(ORFI_SMTP_HOST="127.0.0.1", ORFI_SMTP_PORT=server.port)
    facts = [grave_fact(world) for _ in range(3)]
    clock = Clock()
    for _minute in range(10):  # down: every try fails, then waits longer
        deliver_batch("w", clock)
        clock.advance(minutes=1)
    rows = deliveries(world["referent"], Channel.EMAIL)
    assert all(r.status is DeliveryStatus.PENDING and r.attempts >= 3 for r in rows)
    assert all("Connection" in r.last_error or "Errno" in r.last_error for r in rows)
    server.start()
    try:
        clock.advance(minutes=30)  # past the longest backoff
        run_once("w", clock)
        assert sorted(m["Subject"].split()[3] for m in server.messages) == sorted(
            f.reference for f in facts
        )
        assert len(set(server.ids())) == len(server.ids()) == 3
        run_once("w", clock)
        assert len(server.messages) == 3
    finally:
        server.stop()


def test_backoff_doubles_from_thirty_seconds():
    from orfi.alerts.worker import backoff

    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(20) == timedelta(minutes=30)


def test_a_message_failing_past_the_retry_window_is_failed_and_listed(
    world, app, client, auth
):
    app.config.update(ORFI_SMTP_HOST="127.0.0.1", ORFI_SMTP_PORT=Sink().port)
    grave_fact(world)
    clock = Clock()
    deliver_batch("w", clock)
    clock.advance(hours=23)
    deliver_batch("w", clock)
    (email,) = deliveries(world["referent"], Channel.EMAIL)
    assert email.status is DeliveryStatus.PENDING
    clock.advance(hours=1, minutes=1)
    deliver_batch("w", clock)
    db.session.expire_all()
    (email,) = deliveries(world["referent"], Channel.EMAIL)
    assert email.status is DeliveryStatus.FAILED
    auth.login("admin@a.fr")
    page = client.get("/alertes/admin?statut=failed").get_data(as_text=True)
    assert "Échec définitif" in page and world["referent"].name in page


def test_an_expired_lease_is_claimed_again(world):
    grave_fact(world)
    now = utcnow()
    first = claim_due(now, "dead-worker")
    assert first
    assert claim_due(now, "other") == []  # leased
    later = now + timedelta(seconds=301)
    assert sorted(claim_due(later, "other")) == sorted(first)


def test_a_finished_send_of_a_lost_claim_is_not_recorded(world, sink):
    """A worker whose lease passed to another does not mark the row delivered."""
    grave_fact(world)
    now = utcnow()
    (email_id,) = [
        d.id for d in deliveries(world["referent"]) if d.channel is Channel.EMAIL
    ]
    claim_due(now, "slow")
    claim_due(now + timedelta(seconds=301), "fast")
    from orfi.alerts.worker import _finish

    assert _finish([email_id], "slow", status=DeliveryStatus.DELIVERED) == 0
    assert _finish([email_id], "fast", status=DeliveryStatus.DELIVERED) == 1


def test_push_with_no_device_is_skipped_and_a_push_failure_retried(
    world, sink, monkeypatch
):
    grave_fact(world)
    sent = []

    def failing(user_id, payload, *, topic):
        raise push.PushTemporaryFailure("service down")

    monkeypatch.setattr(push, "send_push", failing)
    clock = Clock()
    deliver_batch("w", clock)
    (row,) = deliveries(world["referent"], Channel.PUSH)
    assert row.status is DeliveryStatus.PENDING and row.attempts == 1

    def reaching(user_id, payload, *, topic):
        sent.append((user_id, payload, topic))
        return 1

    monkeypatch.setattr(push, "send_push", reaching)
    clock.advance(minutes=1)
    deliver_batch("w", clock)
    db.session.expire_all()
    (row,) = deliveries(world["referent"], Channel.PUSH)
    assert row.status is DeliveryStatus.DELIVERED
    ((user_id, payload, topic),) = sent
    assert user_id == world["referent"].id
    assert set(payload) == {"title", "body", "url", "tag"}
    assert SECRET not in str(payload)
    assert len(topic) <= 32 and topic.isalnum()
    assert payload["tag"] == topic  # a copy sent again replaces the one shown


def test_the_daily_digest_waits_for_its_hour_then_sends_one_email(world, sink):
    grave_fact(world)
    grave_fact(world)
    clock = Clock()
    run_once("w", clock)
    assert sink.to("dir@a.fr") == []
    clock.now = max(d.due_at for d in deliveries(world["direction"]))
    if clock.now.tzinfo is None:
        clock.now = clock.now.replace(tzinfo=utcnow().tzinfo)
    run_once("w", clock)
    (digest,) = sink.to("dir@a.fr")
    assert "Résumé : 2 alertes" in digest["Subject"]


def test_the_overdue_scan_records_one_event_per_fact(world, app):
    report = grave_fact(world, gravity=3)
    report.created_at = utcnow() - timedelta(days=5)
    commit()
    old = grave_fact(world, gravity=4)
    old.created_at = utcnow() - timedelta(days=60)  # overdue long before: not told
    commit()
    assert scan_overdue() == 1
    assert scan_overdue() == 0
    kinds = [m.event.kind for m in inbox(world["referent"])]
    assert kinds.count("overdue") == 1
    overdue = [m for m in inbox(world["referent"]) if m.event.kind == "overdue"]
    assert overdue[0].event.report_id == report.id


# --- Pages --------------------------------------------------------------------------


def test_the_bell_counts_unread_messages_and_the_inbox_marks_them_read(
    world, client, auth
):
    report = grave_fact(world)
    auth.login("ref@a.fr")
    home = client.get("/alertes/").get_data(as_text=True)
    assert 'aria-label="Mes alertes : 1 non lue"' in home
    assert report.reference in home and SECRET not in home
    (message,) = inbox(world["referent"])
    response = client.post(
        f"/alertes/{message.id}/lu", data={"next": f"/signalements/{report.uuid}"}
    )
    assert response.headers["Location"].endswith(f"/signalements/{report.uuid}")
    page = client.get("/alertes/").get_data(as_text=True)
    assert 'aria-label="Mes alertes : 0 non lue"' in page


def test_one_cannot_mark_another_users_message(world, client, auth):
    grave_fact(world)
    (message,) = inbox(world["referent"])
    auth.login(world["direction"].email)
    client.post(f"/alertes/{message.id}/lu")
    db.session.expire_all()
    assert inbox(world["referent"])[0].read_at is None


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"rhythm": "immediate", "channels": ["inbox"]}, "kinds", "au moins un type"),
        ({"kinds": ["grave"], "rhythm": "immediate"}, "channels", "moyen de réception"),
        ({"kinds": ["bogus"], "rhythm": "immediate", "channels": ["inbox"]}, "kinds",
         "au moins un type"),
        ({"kinds": ["grave"], "rhythm": "hourly", "channels": ["inbox"]}, "rhythm",
         "Choisissez le rythme"),
        ({"kinds": ["grave"], "rhythm": "daily", "channels": ["fax"]}, "channels",
         "moyen de réception"),
        ({"kinds": ["grave"], "rhythm": "daily", "channels": ["inbox"],
          "min_gravity": "9"}, "min_gravity", "de 1 à 4"),
        ({"kinds": ["grave"], "rhythm": "daily", "channels": ["inbox"],
          "residences": "NOPE-1"}, "residences", "hors de votre périmètre"),
        ({"kinds": ["grave"], "rhythm": "daily", "channels": ["inbox"],
          "families": ["ZZ"]}, "families", "Famille inconnue"),
        ({"kinds": ["grave"], "rhythm": "daily", "channels": ["inbox"],
          "agence": "abc"}, "agence", "agence de votre périmètre"),
    ],
)  # fmt: skip
def test_a_bad_rule_is_refused_by_its_field_and_nothing_stored(
    world, client, auth, form, field, message
):
    auth.login("ref@a.fr")
    response = client.post("/alertes/reglages", data=form)
    assert response.status_code == 422
    assert message in field_errors(response.get_data(as_text=True), field)
    assert db.session.scalar(sa.select(sa.func.count(AlertSubscription.id))) == 0


def test_another_bailleurs_agence_or_residence_is_refused(world, client, auth):
    foreign = make_residence(world["b"], reference="B-RES")
    foreign_agence = make_agence(world["b"])
    commit()
    auth.login("ref@a.fr")
    base = {"kinds": ["grave"], "rhythm": "daily", "channels": ["inbox"]}
    for extra, field in (
        ({"residences": foreign.reference}, "residences"),
        ({"agence": str(foreign_agence.id)}, "agence"),
    ):
        response = client.post("/alertes/reglages", data={**base, **extra})
        assert response.status_code == 422
        assert field_errors(response.get_data(as_text=True), field)
    assert db.session.scalar(sa.select(sa.func.count(AlertSubscription.id))) == 0


def test_a_rule_replaces_the_defaults_and_its_deletion_restores_them(
    world, client, auth
):
    auth.login("ref@a.fr")
    page = client.get("/alertes/reglages").get_data(as_text=True)
    assert "Réglages par défaut" in page and "Faits graves" in page
    response = client.post(
        "/alertes/reglages",
        data={
            "kinds": ["filed"],
            "rhythm": "weekly",
            "channels": ["email"],
            "residences": world["residence"].reference,
            "families": ["TT"],
        },
    )
    assert response.status_code == 302
    (rule,) = db.session.scalars(sa.select(AlertSubscription))
    assert rule.residence_ids == [world["residence"].id] and rule.families == ["TT"]
    grave_fact(world)  # AP, grave: the référent chose TT facts only
    assert inbox(world["referent"]) == []
    client.post(f"/alertes/reglages/{rule.id}/supprimer")
    assert db.session.scalar(sa.select(sa.func.count(AlertSubscription.id))) == 0


def test_the_admin_sees_and_resets_a_users_choices(world, client, auth):
    referent = world["referent"]
    db.session.add(
        AlertSubscription(
            user_id=referent.id, kinds=["filed"], rhythm=Rhythm.WEEKLY,
            channels=["email"],
        )
    )  # fmt: skip
    commit()
    auth.login("admin@a.fr")
    page = client.get(f"/alertes/admin/utilisateurs/{referent.id}")
    assert "Tout fait signalé" in page.get_data(as_text=True)
    client.post(f"/alertes/admin/utilisateurs/{referent.id}/reinitialiser")
    assert db.session.scalar(sa.select(sa.func.count(AlertSubscription.id))) == 0
    # Another bailleur's user is not the admin's to see.
    other = client.get(f"/alertes/admin/utilisateurs/{world['referent_b'].id}")
    assert other.status_code == 404


@pytest.mark.parametrize("channel", ["email", "push", "inbox"])
def test_the_admin_sends_a_test_message_per_channel(world, client, auth, sink, channel):
    auth.login("admin@a.fr")
    response = client.post(f"/alertes/admin/test/{channel}")
    assert response.status_code == 302
    run_once("w")
    admin = world["admin"]
    if channel == "inbox":
        assert len(inbox(admin)) == 1
    else:
        (row,) = deliveries(admin, Channel(channel))
        expected = DeliveryStatus.DELIVERED if channel == "email" else "skipped"
        assert row.status == expected
    if channel == "email":
        (mail,) = sink.to("admin@a.fr")
        assert "Message de test" in mail["Subject"]


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("referent", "/alertes/admin", 403),
        ("gardien", "/alertes/admin", 403),
        ("federation", "/alertes/", 403),
        ("federation", "/alertes/reglages", 403),
    ],
)
def test_pages_refuse_who_may_not_see_them(world, client, auth, who, path, status):
    user = make_user(None, role=Role.FEDERATION) if who == "federation" else world[who]
    commit()
    auth.login(user.email)
    assert client.get(path).status_code == status


def test_the_confirmation_of_a_grave_fact_gives_the_numbers_and_says_who_knows(
    world, client, auth
):
    report = grave_fact(world)
    auth.login(world["gardien"].email)
    page = client.get(f"/signalements/{report.uuid}/confirmation").get_data(
        as_text=True
    )
    for number in ("tel:17", "tel:112", "tel:15", "tel:18", "sms:114"):
        assert number in page
    assert "Le référent sûreté a été alerté" in page


def test_the_confirmation_never_claims_an_alert_that_was_not_sent(world, client, auth):
    world["referent"].active = False
    commit()
    report = grave_fact(world)
    auth.login(world["gardien"].email)
    page = client.get(f"/signalements/{report.uuid}/confirmation").get_data(
        as_text=True
    )
    assert "tel:17" in page
    assert "Le référent sûreté a été alerté" not in page
    assert "prévenez-le directement" in page


def test_a_minor_fact_confirmation_shows_no_emergency_block(world, client, auth):
    report = grave_fact(world, gravity=1, category_code="AB02")
    auth.login(world["gardien"].email)
    page = client.get(f"/signalements/{report.uuid}/confirmation").get_data(
        as_text=True
    )
    assert "tel:17" not in page


def test_the_admin_marks_a_category_for_immediate_alert(world, client, auth):
    chosen = category(world["a"], "TR01")
    auth.login("admin@a.fr")
    response = client.post(
        f"/admin/nomenclature/{chosen.id}",
        data={"label": chosen.label, "active": "y", "immediate_alert": "y"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert category(world["a"], "TR01").immediate_alert is True


def test_a_gardien_may_not_name_an_agence(world, client, auth):
    auth.login(world["gardien"].email)
    response = client.post(
        "/alertes/reglages",
        data={
            "kinds": ["status"],
            "rhythm": "immediate",
            "channels": ["inbox"],
            "agence": str(world["agence"].id),
        },
    )
    assert response.status_code == 422
    assert "propres faits" in field_errors(response.get_data(as_text=True), "agence")
    assert db.session.scalar(sa.select(sa.func.count(AlertSubscription.id))) == 0


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "/\\evil.example", "https://evil.example"]
)
def test_marking_read_never_redirects_off_site(world, client, auth, target):
    grave_fact(world)
    (message,) = inbox(world["referent"])
    auth.login("ref@a.fr")
    response = client.post(f"/alertes/{message.id}/lu", data={"next": target})
    assert response.headers["Location"].endswith("/alertes/")
