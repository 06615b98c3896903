"""The résidence dossier (issue 13, item 4): its figures against a plain loop over the
facts the test planted, its follow-up and latest facts, who may open it; printed on
one or two A4 pages by Chromium."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from orfi.extensions import db
from orfi.followup.models import ActionKind, ComplaintKind
from orfi.reports.models import Suite
from orfi.stats.charts import WEEKDAY_NAMES
from orfi.stats.services import build_residence_figures
from orfi.timezone import now_local
from tests.factories import (
    commit,
    insert_fact,
    make_action,
    make_complaint,
    make_organisation,
    make_residence,
    make_tmh_world,
    make_user,
)

#: (days ago, hour, category, suite) of the planted facts of the dossier's résidence;
#: 800 days ago is outside the 24 months.
PLANTED = [
    (1, 21, "AB01", None),
    (3, 22, "AB01", Suite.PLAINTE_BAILLEUR),
    (3, 9, "AP01", None),
    (20, 21, "AB01", None),
    (45, 23, "AP01", Suite.PLAINTE_VICTIME),
    (120, 14, "AB01", Suite.MAIN_COURANTE),
    (400, 21, "AP01", None),
    (690, 18, "AB01", None),
    (800, 21, "AB01", None),
]


def first_month(today: date) -> date:
    """The first day of the month 23 months before ``today``'s (24 months in all)."""
    month = today.month - 23
    year = today.year
    while month < 1:
        month += 12
        year -= 1
    return date(year, month, 1)


@pytest.fixture
def world(app):
    world = make_tmh_world()
    now = now_local().replace(tzinfo=None, second=0, microsecond=0)
    residence = world["residence"]
    facts = []
    for days, hour, code, suite in PLANTED:
        moment = (now - timedelta(days=days)).replace(hour=hour, minute=15)
        facts.append(
            insert_fact(world["gardien"], residence, moment, code, suite=suite)
        )
    # A duplicate does not count (as on the statistics page); the other résidence's
    # facts stay on its own dossier.
    insert_fact(
        world["gardien"],
        residence,
        now - timedelta(days=2),
        duplicate_of_id=facts[0].id,
    )
    insert_fact(world["gardien"], world["other"], now - timedelta(days=2))
    referent = world["referent"]
    make_action(facts[1], referent)
    make_action(facts[4], referent, kind=ActionKind.INSTANCE)
    make_complaint(facts[1], referent)
    make_complaint(facts[4], referent, kind=ComplaintKind.MAIN_COURANTE)
    world["facts"] = facts
    other_org = make_organisation(code="OPH", name="Autre bailleur")
    world["foreign"] = make_residence(other_org, name="Ailleurs")
    world["foreign_referent"] = make_user(other_org, role=world["referent"].role)
    commit()
    return world


def counted(world):
    """(instant, category code, suite) of the planted facts the dossier counts, by a
    loop: this résidence, not a duplicate, on or after the first day of the 24 months
    (suites as the follow-up left them: a complaint's details set the suite)."""
    start = first_month(now_local().date())
    db.session.expire_all()
    return [
        (fact.occurred_at, fact.category.code, fact.suite)
        for fact in world["facts"]
        if fact.occurred_at.astimezone(now_local().tzinfo).date() >= start
    ]


def test_figures_equal_a_direct_count(world):
    facts = counted(world)
    assert len(facts) == len(PLANTED) - 1  # 800 days ago is out
    figures = build_residence_figures(world["referent"], world["residence"].id)
    assert figures.period.start == first_month(now_local().date())
    assert figures.total == len(facts)
    assert figures.complaints == sum(
        suite in (Suite.PLAINTE_BAILLEUR, Suite.PLAINTE_VICTIME)
        for _, _, suite in facts
    )
    by_month: dict[tuple[int, int], int] = {}
    for moment, _, _ in facts:
        local = moment.astimezone(now_local().tzinfo)
        by_month[(local.year, local.month)] = (
            by_month.get((local.year, local.month), 0) + 1
        )
    columns = figures.months.columns
    assert len(columns) == 24
    assert sum(c.value for c in columns) == len(facts)
    assert sorted(c.value for c in columns if c.value) == sorted(by_month.values())
    bars = {bar.label.split(" ")[0]: bar.value for bar in figures.categories.bars}
    for code in ("AB01", "AP01"):
        assert bars[code] == sum(c == code for _, c, _ in facts)


def test_page_shows_the_dossier(world, client, auth):
    facts = counted(world)
    auth.login(world["referent"].email)
    page = client.get(f"/patrimoine/residences/{world['residence'].id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for heading in (
        "Évolution sur 24 mois",
        "Catégories et horaires",
        "Suites données",
        "Derniers faits",
        "Alerte précoce",
    ):
        assert f">{heading}</h2>" in html
    assert f'id="dossier-total">{len(facts)}<' in html
    complaints = sum(
        s in (Suite.PLAINTE_BAILLEUR, Suite.PLAINTE_VICTIME) for _, _, s in facts
    )
    assert f'id="dossier-complaints">{complaints}<' in html
    # The hour × weekday grid: each slot's count in its tooltip.
    slots: dict[tuple[int, int], int] = {}
    for moment, _, _ in facts:
        local = moment.astimezone(now_local().tzinfo)
        key = (local.weekday(), local.hour)
        slots[key] = slots.get(key, 0) + 1
    for (day, hour), n in slots.items():
        plural = "s" if n > 1 else ""
        assert (
            f"{WEEKDAY_NAMES[day]}, {hour} h – {hour + 1} h : {n} fait{plural}" in html
        )
    # Follow-up: one action of each kind, one complaint and one main courante.
    actions = re.search(r'id="dossier-actions">(.*?)</ul>', html, re.S).group(1)
    assert "Signalement aux forces de l&#39;ordre : <strong>1</strong>" in actions
    assert "Passage en GPO, CLSPD ou cellule de veille : <strong>1</strong>" in actions
    filed = re.search(r'id="dossier-filed">(.*?)</ul>', html, re.S).group(1)
    assert "Plainte : <strong>1</strong>" in filed
    assert "Main courante : <strong>1</strong>" in filed
    # The latest facts, newest first, each a link to its page (the duplicate too:
    # it is a fact of the résidence, only not counted twice).
    latest = re.search(r'id="dossier-latest">(.*?)</ol>', html, re.S).group(1)
    links = re.findall(r'href="/signalements/([0-9a-f-]+)"', latest)
    assert len(links) == 10
    assert links[0] == str(world["facts"][0].uuid)
    assert 'id="print-dossier"' in html and "Imprimer le dossier" in html
    assert 'id="fact-map-config"' in html and "/static/js/fact-map.js" in html


def test_another_bailleurs_residence_is_not_found(world, client, auth):
    auth.login(world["referent"].email)
    assert (
        client.get(f"/patrimoine/residences/{world['foreign'].id}").status_code == 404
    )
    auth.logout()
    auth.login(world["gardien"].email)
    assert (
        client.get(f"/patrimoine/residences/{world['residence'].id}").status_code == 403
    )


def test_empty_residence_says_so(world, client, auth):
    auth.login(world["foreign_referent"].email)
    html = client.get(f"/patrimoine/residences/{world['foreign'].id}").get_data(
        as_text=True
    )
    assert 'id="dossier-total">0<' in html
    assert "Aucun fait enregistré." in html and "Aucune action sur la période." in html


def test_small_categories_are_pooled_in_one_bar():
    from orfi.stats.charts import bar_chart
    from orfi.stats.services import DOSSIER_CATEGORIES, _pool_small_categories

    rows = [(f"C{i:02d}", f"C{i:02d} · catégorie", 20 - i) for i in range(12)]
    pooled = _pool_small_categories(bar_chart("Faits par catégorie", rows))
    assert len(pooled.bars) == DOSSIER_CATEGORIES
    assert [b.value for b in pooled.bars[:-1]] == [20 - i for i in range(7)]
    others = sum(20 - i for i in range(7, 12))
    assert pooled.bars[-1].value == others and pooled.total == sum(r[2] for r in rows)
    assert pooled.bars[-1].label == "Autres catégories (5)"
    few = bar_chart("Faits par catégorie", rows[:DOSSIER_CATEGORIES])
    assert _pool_small_categories(few) is few


@pytest.mark.browser
@pytest.mark.slow  # the default demo (3,000 facts), then Chromium
def test_busiest_demo_residence_prints_on_one_or_two_a4_pages(
    chromium, tmp_path_factory
):
    import sqlalchemy as sa

    from orfi.demo.world import DEMO_LOGINS
    from orfi.reports.models import Report
    from tests.browser import ARTIFACTS, BrowserSession, World, migrated_app, served

    referent = "referent@tmh.demo"
    password = {login.email: login.password for login in DEMO_LOGINS}[referent]
    database = tmp_path_factory.mktemp("dossier") / "demo.sqlite3"
    app = migrated_app(
        database, SECRET_KEY="e2e-dossier", PASSWORD_HASH_METHOD="pbkdf2:sha256:1000"
    )
    result = app.test_cli_runner().invoke(args=["orfi", "demo", "--no-activity"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        busiest, facts = db.session.execute(
            sa.select(Report.residence_id, sa.func.count())
            .group_by(Report.residence_id)
            .order_by(sa.func.count().desc())
            .limit(1)
        ).one()
        db.session.remove()
    assert facts > 50
    with served(app, World("TMH", (), "", referent, password, 0, "")) as server:
        session = BrowserSession(chromium, server)
        try:
            page = session.new_page()
            session.login(page, referent, password)
            page.goto(f"/patrimoine/residences/{busiest}")
            page.wait_for_selector("#fact-map[data-ready=true]")
            assert page.locator("#dossier-latest li").count() == 10
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
            session.screenshot(page, "residence-dossier-360")
            page.set_viewport_size({"width": 1366, "height": 900})
            session.screenshot(page, "residence-dossier-1366")
            page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
            page.emulate_media(media="print")
            assert not page.locator("#print-dossier").is_visible()
            assert page.locator("#fact-map").is_visible()
            session.screenshot(page, "residence-dossier-print")
            pdf = page.pdf(
                format="A4", print_background=True, prefer_css_page_size=True
            )
            (ARTIFACTS / "residence-dossier.pdf").write_bytes(pdf)
            assert pdf.startswith(b"%PDF")
            # Page objects of the PDF (« /Type /Page », not the « /Pages » tree).
            pages = len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf))
            assert 1 <= pages <= 2, pages
            session.assert_clean()
        finally:
            session.close()
