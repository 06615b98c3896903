"""The daily synthesis (page, printable view, command, e-mail) and the bilan."""

from __future__ import annotations

import asyncio
import email
import io
import re
import socket
from datetime import date, datetime, time, timedelta
from email import policy

import pytest
import sqlalchemy as sa
from markupsafe import escape
from openpyxl import load_workbook

from orfi.activity.models import Meeting, MeetingKind, PartnerIntervention
from orfi.auth.models import Role
from orfi.extensions import db
from orfi.followup.models import ActionKind, FollowupAction, Partner
from orfi.reports.models import Status, Victime
from orfi.stats.filters import default_period
from orfi.syntheses.bilan import of_name
from orfi.syntheses.models import Synthesis
from orfi.syntheses.services import (
    agence_perimeter,
    build_synthesis,
    default_day,
    federation_perimeter,
    organisation_perimeter,
    parse_extra_recipients,
)
from orfi.timezone import now_local
from tests.factories import (
    commit,
    make_action,
    make_agence,
    make_federation,
    make_intervention,
    make_organisation,
    make_report,
    make_residence,
    make_user,
)

DAY = default_day()


def at(day: date, hour: int = 10) -> datetime:
    """A naive Paris wall-clock time (what the factories expect)."""
    return datetime.combine(day, time(hour))


@pytest.fixture
def world(app):
    """TMH with two agences and facts around ``DAY``; ALT; the federation."""
    tmh = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    mirail = make_agence(tmh, name="Agence Mirail")
    nord = make_agence(tmh, name="Agence Nord")
    izards = make_residence(
        tmh, name="Les Izards", qpv_code="QP031011", agence_id=nord.id
    )
    reynerie = make_residence(
        tmh, name="Reynerie", qpv_code="QP031007", agence_id=mirail.id
    )
    minimes = make_residence(tmh, name="Les Minimes", agence_id=nord.id)
    referent = make_user(tmh, role=Role.REFERENT)
    federation = make_federation(code="USH-OCC", name="USH Occitanie")
    alt = make_organisation(code="ALT", name="Altéal")
    bagatelle = make_residence(alt, name="Bagatelle", qpv_code="QP031007")
    alt_referent = make_user(alt, role=Role.REFERENT)
    w = {
        "tmh": tmh,
        "alt": alt,
        "mirail": mirail,
        "nord": nord,
        "federation": federation,
        "referent": referent,
        "gardien": make_user(tmh, role=Role.GARDIEN, sector=[izards]),
        "direction": make_user(tmh, role=Role.DIRECTION, email="dg@tmh.fr"),
        "chef": make_user(
            tmh, role=Role.DIRECTION, agence_id=mirail.id, email="chef@tmh.fr"
        ),
        "chargee": make_user(
            None, role=Role.FEDERATION, federation=federation, email="cm@ush.fr"
        ),
        "alt_referent": alt_referent,
    }
    # The day's notable facts: gravity 3 (Izards), a staff victim (Reynerie), a fire
    # (Minimes); a minor fact; a duplicate; a notable fact the day after.
    w["grave"] = make_report(
        referent, izards, gravity=3, occurred_at=at(DAY, 9), description="Porte XK42"
    )
    w["staff"] = make_report(
        referent,
        reynerie,
        category_code="AP01",
        victime=Victime.PERSONNEL_BAILLEUR,
        gravity=1,
        occurred_at=at(DAY, 14),
    )
    w["fire"] = make_report(
        referent, minimes, category_code="AB03", gravity=2, occurred_at=at(DAY, 22)
    )
    w["minor"] = make_report(referent, izards, gravity=1, occurred_at=at(DAY, 11))
    duplicate = make_report(referent, izards, gravity=3, occurred_at=at(DAY, 9))
    duplicate.duplicate_of_id = w["grave"].id
    w["duplicate"] = duplicate
    w["alt_fire"] = make_report(
        alt_referent, bagatelle, category_code="AB03", occurred_at=at(DAY, 3)
    )
    # 14 notable facts over the 28 previous days: usual level 0.5 a day.
    for i in range(14):
        make_report(
            referent, izards, gravity=4, occurred_at=at(DAY - timedelta(days=1 + 2 * i))
        )
    commit()
    return w


def test_synthesis_of_an_organisation(world):
    data = build_synthesis(organisation_perimeter(world["tmh"]), DAY)
    assert data.total == 3
    assert data.usual == pytest.approx(0.5)
    assert data.level == "au-dessus"
    references = [fact.report.reference for fact in data.facts]
    assert references == [
        world["grave"].reference,
        world["staff"].reference,
        world["fire"].reference,
    ]
    assert dict(data.reasons) == {
        "Gravité 3 ou 4": 1,
        "Personnel victime": 1,
        "Incendie": 1,
    }
    groups = {(g.agence, g.quartier): (g.count, g.usual) for g in data.groups}
    assert groups == {
        ("Agence Mirail", "Grand Mirail (QP031007)"): (1, 0),
        ("Agence Nord", "Hors QPV — Toulouse"): (1, 0),
        ("Agence Nord", "Les Izards - La Vache (QP031011)"): (1, 0.5),
    }
    assert [head for head, _ in data.sections] == ["Agence Mirail", "Agence Nord"]


def test_synthesis_of_an_agence_and_of_a_federation(world):
    data = build_synthesis(agence_perimeter(world["mirail"]), DAY)
    assert [f.report.reference for f in data.facts] == [world["staff"].reference]
    assert data.usual == 0

    data = build_synthesis(federation_perimeter(world["federation"]), DAY)
    assert data.total == 4  # TMH's three and ALT's fire
    assert data.facts == []
    assert {g.bailleur for g in data.groups} == {"Altéal", "Toulouse Métropole Habitat"}


def test_referent_reads_the_synthesis_page(client, auth, world):
    auth.login(world["referent"].email)
    page = client.get(f"/syntheses/?date={DAY.isoformat()}")
    assert page.status_code == 200
    assert "Synthèse quotidienne — Toulouse Métropole Habitat" in page.text
    assert world["grave"].reference in page.text
    assert f'href="/signalements/{world["grave"].uuid}"' in page.text
    assert world["minor"].reference not in page.text
    assert world["duplicate"].reference not in page.text
    assert world["alt_fire"].reference not in page.text
    assert "au-dessus du niveau habituel" in page.text
    assert "0,5 par jour" in page.text
    # Yesterday by default.
    assert world["grave"].reference in client.get("/syntheses/").text


def test_chef_d_agence_reads_the_agence_synthesis(client, auth, world):
    auth.login(world["chef"].email)
    page = client.get(f"/syntheses/?date={DAY.isoformat()}")
    assert "Toulouse Métropole Habitat — Agence Mirail" in page.text
    assert world["staff"].reference in page.text
    assert world["grave"].reference not in page.text


def test_federation_synthesis_holds_counts_only(client, auth, world):
    auth.login(world["chargee"].email)
    page = client.get(f"/syntheses/?date={DAY.isoformat()}")
    assert page.status_code == 200
    assert "Altéal" in page.text
    for report in ("grave", "staff", "fire", "alt_fire"):
        assert world[report].reference not in page.text
    assert "Porte XK42" not in page.text
    assert "/signalements/" not in page.text


def test_gardien_gets_no_synthesis(client, auth, world):
    auth.login(world["gardien"].email)
    assert client.get("/syntheses/").status_code == 403
    assert client.get("/syntheses/imprimer").status_code == 403
    assert client.get("/syntheses/bilan").status_code == 403


def test_a_day_to_come_has_no_synthesis(client, auth, world, runner, tmp_path):
    auth.login(world["referent"].email)
    today = now_local().date()
    tomorrow = (today + timedelta(days=1)).isoformat()
    page = client.get(f"/syntheses/?date={tomorrow}")
    assert page.status_code == 200
    assert "Pas de synthèse d&#39;un jour à venir" in page.text
    assert 'aria-invalid="true"' in page.text
    # The default day is shown instead, with no link to a day to come.
    assert world["grave"].reference in page.text
    page = client.get(f"/syntheses/?date={today.isoformat()}")
    assert "Pas de synthèse" not in page.text
    assert 'rel="next"' not in page.text
    assert 'rel="next"' in client.get(f"/syntheses/?date={DAY.isoformat()}").text
    result = runner.invoke(
        args=["orfi", "synthese", "--date", tomorrow, "--output", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "jour à venir" in result.output
    assert not list(tmp_path.iterdir())


def test_bilan_and_statistics_share_their_default_period(client, auth, world):
    auth.login(world["referent"].email)
    bilan = client.get("/syntheses/bilan").text
    stats = client.get("/statistiques/").text
    dates = re.compile(
        r'name="date_from"[^>]*value="([0-9-]+)"|'
        r'value="([0-9-]+)"[^>]*name="date_from"'
    )
    period = default_period()
    for page in (bilan, stats):
        assert period.start.isoformat() in page
        assert period.end.isoformat() in page
    assert {m.group(1) or m.group(2) for m in dates.finditer(bilan)} == {
        period.start.isoformat()
    }
    assert {m.group(1) or m.group(2) for m in dates.finditer(stats)} == {
        period.start.isoformat()
    }


def test_printable_view(client, auth, world):
    auth.login(world["referent"].email)
    page = client.get(f"/syntheses/imprimer?date={DAY.isoformat()}")
    assert page.status_code == 200
    assert 'class="print-page"' in page.text
    assert world["grave"].reference in page.text
    assert "<script" not in page.text


def test_command_writes_and_records_the_syntheses(app, runner, world, tmp_path):
    result = runner.invoke(
        args=["orfi", "synthese", "--date", DAY.isoformat(), "--output", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in tmp_path.iterdir())
    day = DAY.isoformat()
    agence_file = f"synthese-{day}-tmh-agence-{world['mirail'].id}.html"
    assert files == sorted(
        [
            f"synthese-{day}-alt.html",
            f"synthese-{day}-tmh.html",
            agence_file,
            f"synthese-{day}-ush-occ.html",
        ]
    )
    document = (tmp_path / f"synthese-{day}-tmh.html").read_text()
    assert world["grave"].reference in document and "<style>" in document
    federation_html = (tmp_path / f"synthese-{day}-ush-occ.html").read_text()
    assert world["grave"].reference not in federation_html
    records = db.session.scalars(sa.select(Synthesis)).all()
    assert len(records) == 4
    assert all(r.sent_at is None for r in records)  # no SMTP settings
    tmh = next(
        r for r in records if r.perimeter_key == f"organisation:{world['tmh'].id}"
    )
    assert tmh.notable_count == 3

    # Running it again updates the records instead of counting twice.
    runner.invoke(args=["orfi", "synthese", "--date", day, "--output", str(tmp_path)])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Synthesis)) == 4


def test_command_refuses_an_unknown_bailleur(runner, world, tmp_path):
    result = runner.invoke(
        args=["orfi", "synthese", "--organisation", "NOPE", "--output", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "Bailleur inconnu : NOPE" in result.output


class _Sink:
    """An aiosmtpd handler that keeps the messages it receives."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd)
        self.envelopes.append(envelope)
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_sink(app):
    """A local SMTP server on a free port, never a real one."""
    from aiosmtpd.controller import Controller

    sink = _Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(ORFI_SMTP_HOST="127.0.0.1", ORFI_SMTP_PORT=port)
    yield sink
    controller.stop()
    asyncio.set_event_loop(None)


def test_command_sends_the_synthesis_by_email(app, runner, world, smtp_sink, tmp_path):
    app.config["ORFI_SYNTHESE_RECIPIENTS"] = "TMH:surete@tmh.fr;ALT:alt@alteal.fr"
    result = runner.invoke(
        args=[
            "orfi",
            "synthese",
            "--organisation",
            "TMH",
            "--date",
            DAY.isoformat(),
            "--output",
            str(tmp_path),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "envoyée à 2 destinataire(s)" in result.output
    by_recipients = {tuple(sorted(e.rcpt_tos)): e for e in smtp_sink.envelopes}
    # The organisation's synthesis to its direction and the extra address; the
    # agence's to its chef d'agence only.
    assert set(by_recipients) == {("dg@tmh.fr", "surete@tmh.fr"), ("chef@tmh.fr",)}
    message = email.message_from_bytes(
        by_recipients[("dg@tmh.fr", "surete@tmh.fr")].content, policy=policy.default
    )
    assert message["Subject"].startswith(f"Synthèse du {DAY.strftime('%d/%m/%Y')}")
    assert "3 faits marquants" in message["Subject"]
    body = message.get_body(("html",)).get_content()
    assert world["grave"].reference in body
    assert "Porte XK42" not in body  # descriptions never leave by e-mail
    text = message.get_body(("plain",)).get_content()
    assert "3 faits marquants" in text
    record = db.session.scalar(
        sa.select(Synthesis).where(
            Synthesis.perimeter_key == f"organisation:{world['tmh'].id}"
        )
    )
    assert record.sent_at is not None and record.recipients_count == 2


def test_command_reports_a_sending_failure(app, runner, world, tmp_path):
    app.config.update(ORFI_SMTP_HOST="127.0.0.1", ORFI_SMTP_PORT=_free_port())
    result = runner.invoke(
        args=["orfi", "synthese", "--organisation", "TMH", "--output", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "envoi impossible" in result.output
    assert all(r.sent_at is None for r in db.session.scalars(sa.select(Synthesis)))


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("", {}),
        ("TMH:a@x.fr, b@x.fr ; USH-OCC:c@y.fr", {"TMH": ["a@x.fr", "b@x.fr"],
                                                 "USH-OCC": ["c@y.fr"]}),
    ],
)  # fmt: skip
def test_parse_extra_recipients(setting, expected):
    assert parse_extra_recipients(setting) == expected


@pytest.mark.parametrize("setting", ["a@x.fr", "TMH:", "TMH:pas-une-adresse"])
def test_malformed_extra_recipients_are_refused(setting):
    with pytest.raises(ValueError, match="ORFI_SYNTHESE_RECIPIENTS"):
        parse_extra_recipients(setting)


# --------------------------------------------------------------------------------------
# Bilan
# --------------------------------------------------------------------------------------


def _log(world):
    """Meetings and interventions of TMH's référent and of the federation."""
    referent, chargee = world["referent"], world["chargee"]
    tmh_log = {"organisation_id": world["tmh"].id, "created_by_id": referent.id}
    federation_log = {
        "federation_id": world["federation"].id,
        "created_by_id": chargee.id,
    }
    for log, kind, n in (
        (tmh_log, MeetingKind.CLSPD, 2),
        (tmh_log, MeetingKind.GPO, 1),
        (federation_log, MeetingKind.SECURITE, 3),
        (federation_log, MeetingKind.POLITIQUE_VILLE, 2),
    ):
        db.session.add_all(Meeting(held_on=DAY, kind=kind, **log) for _ in range(n))
    for organisation, n in ((world["alt"], 2), (world["tmh"], 5)):
        for i in range(n):
            db.session.add(
                PartnerIntervention(
                    federation_id=world["federation"].id,
                    beneficiary_id=organisation.id,
                    done_on=DAY - timedelta(days=40 * i),
                    partner=Partner.POLICE_NATIONALE,
                    created_by_id=chargee.id,
                )
            )
    db.session.add(
        PartnerIntervention(
            organisation_id=world["tmh"].id,
            beneficiary_id=world["tmh"].id,
            done_on=DAY,
            partner=Partner.PREFECTURE,
            created_by_id=referent.id,
        )
    )
    db.session.add(Synthesis(day=DAY, perimeter_key=f"organisation:{world['tmh'].id}"))
    commit()


def test_bilan_of_a_referent(client, auth, world):
    _log(world)
    auth.login(world["referent"].email)
    page = client.get("/syntheses/bilan")
    assert page.status_code == 200
    text = page.text
    assert "Rédaction de <strong>1</strong> synthèse" in text
    assert "Participation à 2 réunions « CLSPD, cellule de veille »" in text
    assert "Participation à 1 réunion « Groupe de partenariat opérationnel (GPO) »" in (
        text
    )
    assert "Sécurité en préfecture »" not in text  # the federation's meetings
    assert "1 action menée au profit de Toulouse Métropole Habitat" in text
    # 3 notable + 1 minor on DAY, 14 before (the duplicate is left out).
    assert "<strong>18</strong> faits sur la période" in text
    assert "Les Izards - La Vache (QP031011)" in text
    assert "Porte XK42" not in text


def test_bilan_of_a_federation(client, auth, world):
    _log(world)
    auth.login(world["chargee"].email)
    page = client.get("/syntheses/bilan")
    text = page.text
    assert "Participation à 3 réunions « Sécurité en préfecture »" in text
    assert "Participation à 2 réunions « Politique de la ville »" in text
    first = text.index("5 actions menées au profit de Toulouse Métropole Habitat")
    assert first < text.index("2 actions menées au profit d&#39;Altéal")
    assert "<strong>7</strong> actions ou réponses" in text
    assert "<strong>19</strong> faits sur la période" in text  # ALT's fire too
    for report in ("grave", "staff", "alt_fire"):
        assert world[report].reference not in text
    assert "Porte XK42" not in text


def test_bilan_period(client, auth, world):
    _log(world)
    auth.login(world["chargee"].email)
    day = DAY.isoformat()
    page = client.get(f"/syntheses/bilan?date_from={day}&date_to={day}")
    assert "<strong>2</strong> actions ou réponses" in page.text
    assert "<strong>5</strong> faits sur la période" in page.text
    page = client.get(f"/syntheses/bilan?date_from={day}&date_to=2000-01-01")
    assert "La date de fin précède la date de début." in page.text


def _fact_actions(world):
    """Follow-up actions on TMH's facts, some also logged by hand under Activité."""
    referent = world["referent"]
    pn, pm = Partner.POLICE_NATIONALE, Partner.POLICE_MUNICIPALE
    # Logged by hand, linked to the fact, same partner and day: one contact.
    make_action(world["grave"], referent, done_on=DAY, partner=pn)
    make_intervention(
        referent, done_on=DAY, partner=pn, report_references=[world["grave"].reference]
    )
    # Same fact and day, another service: another contact.
    make_action(world["grave"], referent, done_on=DAY, partner=Partner.GENDARMERIE)
    # Logged by hand the day before: not the same contact.
    make_action(world["staff"], referent, done_on=DAY, partner=pn)
    make_intervention(
        referent,
        done_on=DAY - timedelta(days=1),
        partner=pn,
        report_references=[world["staff"].reference],
    )
    make_action(
        world["minor"],
        referent,
        done_on=DAY,
        kind=ActionKind.DEMANDE_INTERVENTION,
        partner=pm,
    )
    # Not interventions: a partner's answer, an action with no partner.
    make_action(world["fire"], referent, done_on=DAY, kind=ActionKind.REPONSE_RECUE)
    make_action(
        world["fire"], referent, done_on=DAY, kind=ActionKind.AUTRE, partner=None
    )
    # Another bailleur's action.
    make_action(world["alt_fire"], world["alt_referent"], done_on=DAY, partner=pn)
    commit()


def test_actions_on_facts_count_once_in_the_bilan(client, auth, world):
    _log(world)
    _fact_actions(world)
    auth.login(world["referent"].email)
    text = client.get("/syntheses/bilan").text
    # Logged: the préfecture (_log), grave and staff; on facts: staff, grave with the
    # gendarmerie, minor. grave with the police nationale is logged, counted once.
    assert "<strong>6</strong> actions ou réponses" in text
    assert "dont <strong>3</strong> enregistrées dans le suivi des faits" in text
    assert "6 actions menées au profit de Toulouse Métropole Habitat" in text
    workbook = load_workbook(
        io.BytesIO(client.get("/syntheses/bilan.xlsx").data), read_only=True
    )
    by_partner = {
        row[0]: row[2:] for row in list(workbook["Interventions par service"].values)
    }
    assert by_partner == {
        "Code": ("Actions menées", "dont suivi des faits"),
        "police_nationale": (3, 1),
        "gendarmerie": (1, 1),
        "police_municipale": (1, 1),
        "prefecture": (1, 0),
        None: (6, 3),  # the total row
    }
    summary = {row[0]: row[1] for row in workbook["Bilan"].values}
    assert summary["Interventions"] == 6
    assert summary["dont actions du suivi des faits"] == 3
    by_month = list(workbook["Interventions par mois"].values)
    assert by_month[1][0] == "Toulouse Métropole Habitat" and by_month[1][-1] == 6

    # The federation's bilan counts its chargé de mission's log only.
    auth.logout()
    auth.login(world["chargee"].email)
    assert (
        "<strong>7</strong> actions ou réponses" in client.get("/syntheses/bilan").text
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Altéal", "d'Altéal"),
        ("ICF Atlantique", "d'ICF Atlantique"),
        ("Les Chalets", "des Chalets"),
        ("La Cité Jardins", "de La Cité Jardins"),
        ("Toulouse Métropole Habitat", "de Toulouse Métropole Habitat"),
    ],
)
def test_bailleur_names_read_as_in_the_report(name, expected):
    assert of_name(name) == expected


def test_bilan_xlsx(client, auth, world):
    _log(world)
    auth.login(world["chargee"].email)
    response = client.get("/syntheses/bilan.xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert ".xlsx" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data), read_only=True)
    assert workbook.sheetnames == [
        "Bilan",
        "Réunions",
        "Interventions",
        "Interventions par service",
        "Interventions par mois",
        "Faits par famille",
        "Faits par mois",
        "Faits par QPV",
    ]
    rows = list(workbook["Interventions"].values)
    assert rows == [
        ("Bailleur", "Actions menées"),
        ("Toulouse Métropole Habitat", 5),
        ("Altéal", 2),
        ("Total", 7),
    ]
    meetings = {row[0]: row[2] for row in workbook["Réunions"].values}
    assert meetings["securite"] == 3 and meetings["politique_ville"] == 2
    by_month = list(workbook["Interventions par mois"].values)
    assert by_month[1][0] == "Toulouse Métropole Habitat" and by_month[1][-1] == 5
    summary = {row[0]: row[1] for row in workbook["Bilan"].values}
    assert summary["Faits (hors doublons)"] == 19


# --------------------------------------------------------------------------------------
# Demo activity
# --------------------------------------------------------------------------------------

DEMO_BAILLEURS = {
    "TMH": "Toulouse Métropole Habitat",
    "ALT": "Altéal",
    "PAT": "Patrimoine SA Languedocienne",
    "CHA": "Les Chalets",
    "CJ": "La Cité Jardins",
    "CDC": "CDC Habitat",
    "PRO": "Promologis",
    "ICF": "ICF Atlantique",
    "MES": "Mésolia",
}


@pytest.fixture
def small_demo(app):
    """The demo's bailleurs and federation, one résidence and a few facts each."""
    from orfi.demo.world import FEDERATION_CODE

    federation = make_federation(code=FEDERATION_CODE, name="USH Occitanie")
    chargee = make_user(
        None,
        role=Role.FEDERATION,
        federation=federation,
        email="federation@ush-occitanie.demo",
    )
    grave = []
    for code, name in DEMO_BAILLEURS.items():
        organisation = make_organisation(code=code, name=name)
        residence = make_residence(organisation, qpv_code="QP031007")
        referent = make_user(organisation, role=Role.REFERENT)
        if code == "TMH":
            make_user(organisation, role=Role.DIRECTION)
        for days in (1, 10, 40):
            grave.append(
                make_report(
                    referent,
                    residence,
                    gravity=3,
                    occurred_at=at(DAY - timedelta(days=days)),
                )
            )
        make_report(referent, residence, gravity=1)
    for report in grave:
        report.created_at = report.occurred_at
    commit()
    return {"federation": federation, "chargee": chargee, "grave": grave}


def test_demo_activity_gives_the_seed_report_shape(client, auth, small_demo):
    from orfi.demo.activity import generate_activity

    counts = generate_activity(seed=7)
    commit()
    assert counts["interventions"] >= 264
    auth.login(small_demo["chargee"].email)
    text = client.get("/syntheses/bilan").text

    # Meetings by kind, as in the report.
    for label, n in (
        ("Politique de la ville", 38),
        ("Sécurité en préfecture", 43),
        ("CLSPD, cellule de veille", 18),
        ("Groupe de partenariat opérationnel (GPO)", 7),
        ("Commission de vidéoprotection", 14),
        ("Squats", 6),
    ):
        assert f"Participation à {n} réunions « {label} »" in text
    # Interventions by bailleur, most first, as in the report.
    positions = [
        text.index(str(escape(f"{n} actions menées au profit {of_name(name)}")))
        for name, n in zip(
            DEMO_BAILLEURS.values(), (86, 60, 44, 22, 21, 13, 9, 6, 3), strict=True
        )
    ]
    assert positions == sorted(positions)
    assert "<strong>264</strong> actions ou réponses" in text
    assert "Rédaction de <strong>228</strong> synthèses" in text

    # The bilan's totals are the database's.
    federation_id = small_demo["federation"].id
    meetings = db.session.scalar(
        sa.select(sa.func.count()).where(Meeting.federation_id == federation_id)
    )
    interventions = db.session.scalar(
        sa.select(sa.func.count()).where(
            PartnerIntervention.federation_id == federation_id
        )
    )
    assert meetings == 143 and interventions == 264
    response = client.get("/syntheses/bilan.xlsx")
    summary = {
        row[0]: row[1]
        for row in load_workbook(io.BytesIO(response.data), read_only=True)[
            "Bilan"
        ].values
    }
    assert summary["Réunions"] == meetings
    assert summary["Interventions"] == interventions

    # Follow-up on most grave facts, with the status that goes with it.
    followed = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(FollowupAction.report_id)))
    )
    # Facts filed two days ago may still wait; older ones are mostly followed.
    assert len(small_demo["grave"]) * 2 / 3 >= followed >= len(small_demo["grave"]) / 3
    for report in small_demo["grave"]:
        db.session.refresh(report)
        if any(e.kind == "followup" for e in report.events):
            assert report.status in (Status.TRANSMIS, Status.CLOS)
