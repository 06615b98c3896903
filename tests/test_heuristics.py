"""French heuristics that spot personal data in a description (orfi/privacy/heuristics).

Realistic descriptions a gardien or a référent could type: each lists what a careful
reader would flag, as (kind, a piece of the flagged text). ``CASES`` are matched
exactly; ``HARD`` are known limits (missed names, numbers taken for phones), kept to
measure precision and recall honestly. The browser's copy of the rules
(static/js/description-hints.js, run by node) must give the same findings.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from orfi.auth.models import Role
from orfi.database import utcnow
from orfi.extensions import db
from orfi.privacy.heuristics import (
    HINTS_PATH,
    Finding,
    describe_findings,
    find_personal_data,
    load_hints,
)
from orfi.reports.models import Report
from orfi.timezone import to_local
from tests.factories import (
    category,
    commit,
    make_organisation,
    make_residence,
    make_user,
)
from tests.helpers import parse
from tests.payloads import PAYLOADS

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "static" / "js" / "description-hints.js"

Expected = tuple[tuple[str, str], ...]

CASES: tuple[tuple[str, Expected], ...] = (
    # Names.
    ("Appeler M. Dupont au 06 12 34 56 78",
     (("name", "M. Dupont"), ("phone", "06 12 34 56 78"))),
    ("Mme Martin (3e étage) se plaint du bruit dans la cage d'escalier.",
     (("name", "Mme Martin"),)),
    ("Monsieur Benali a été insulté par un groupe de jeunes devant le hall.",
     (("name", "Monsieur Benali"),)),
    ("Le fils Durand a encore tagué la porte du local vélos.",
     (("name", "fils Durand"),)),
    ("Un jeune nommé Kevin squatte la cave n°12.", (("name", "Kevin"),)),
    ("Kevin Martin, locataire du 2e, a cassé la vitre.", (("name", "Kevin Martin"),)),
    ("Dégradation par Jean-Pierre Lopez, connu des services.",
     (("name", "Jean-Pierre Lopez"),)),
    ("Mlle Nguyen a retrouvé sa boîte aux lettres forcée.", (("name", "Nguyen"),)),
    ("Le petit Yanis jette des objets par la fenêtre.", (("name", "Yanis"),)),
    ("La famille Traoré a signalé une odeur de brûlé.", (("name", "Traoré"),)),
    ("Me Lefebvre, avocat du bailleur, demande le procès-verbal.",
     (("name", "Lefebvre"),)),
    ("Intervention demandée par Mme DIALLO.", (("name", "DIALLO"),)),
    ("Échange avec Monsieur X du 5e étage.", (("name", "Monsieur X"),)),
    ("Un individu qui se fait appeler Momo deale au pied du bâtiment B.",
     (("name", "Momo"),)),
    ("Le dénommé Bouzid a menacé l'agent d'entretien.", (("name", "Bouzid"),)),
    ("Madame Petit a été bousculée dans l'ascenseur.", (("name", "Madame Petit"),)),
    ("Nadia Haddad (bât. C) signale des tags.", (("name", "Nadia Haddad"),)),
    ("Thomas Girard, agent de la régie, a été menacé.",
     (("name", "Thomas Girard"),)),
    ("Les frères Cissé ont mis le feu au local poubelles.", (("name", "Cissé"),)),
    ("Le SAMU a été appelé par Mme Garcia vers 23 h.", (("name", "Garcia"),)),
    ("Hier, Sandrine Lopez a vu deux jeunes forcer la porte.",
     (("name", "Sandrine Lopez"),)),
    # Plates.
    ("Sa voiture immatriculée AB-123-CD bloque l'accès des pompiers.",
     (("plate", "AB-123-CD"),)),
    ("Véhicule épave 4567 TX 31 sur le parking aérien depuis 3 semaines.",
     (("plate", "4567 TX 31"),)),
    ("Scooter sans plaque, puis une Clio GH 456 JK stationnée sur l'herbe.",
     (("plate", "GH 456 JK"),)),
    ("Rodéo : moto EF123GH vue plusieurs fois.", (("plate", "EF123GH"),)),
    # Phones and e-mails.
    ("Contact du plaignant : 07.81.22.33.44", (("phone", "07.81.22.33.44"),)),
    ("Le locataire a laissé son numéro +33 6 45 67 89 01 pour être rappelé.",
     (("phone", "+33 6 45 67 89 01"),)),
    ("Tél. 0561234567 (agence)", (("phone", "0561234567"),)),
    ("Joindre la victime au 0033 7 12 34 56 78.", (("phone", "0033 7 12 34 56 78"),)),
    ("Numéro laissé : 06-11-22-33-44, rappeler après 18 h.",
     (("phone", "06-11-22-33-44"),)),
    ("Photos envoyées à jean.dupont@orange.fr par le gardien.",
     (("email", "jean.dupont@orange.fr"),)),
    ("Écrire à gardien.izards@tmh-habitat.fr pour le rapport.",
     (("email", "gardien.izards@tmh-habitat.fr"),)),
    ("M. Roux a donné le 06 98 76 54 32 et l'adresse roux.p@free.fr.",
     (("name", "M. Roux"), ("phone", "06 98 76 54 32"), ("email", "roux.p@free.fr"))),
    # Nothing personal.
    ("Porte du hall d'entrée forcée, serrure arrachée.", ()),
    ("Tags sur la façade côté rue Victor Hugo.", ()),
    ("Regroupement de 8 jeunes devant l'école Jean Moulin vers 22 h.", ()),
    ("Dépôt d'encombrants devant le local poubelles, allées Jean Jaurès.", ()),
    ("Incendie volontaire d'un véhicule sur le parking de la résidence Les Izards.",
     ()),
    ("Le gardien a appelé la police à 23 h 15.", ()),
    ("Appelé Police secours, intervention à 01 h 10.", ()),
    ("Boîtes aux lettres dégradées au 12 B RUE DES IZARDS.", ()),
    ("Ascenseur en panne suite à dégradation, bâtiment A, entrée 2.", ()),
    ("Fait signalé sous la référence TMH-2026-000123, catégorie AB01.", ()),
    ("M. le Maire informé lors de la cellule de veille du 12/03/2026.", ()),
    ("Plainte déposée au commissariat central, récépissé n° 2026/001234.", ()),
    ("Squat de la cave n°14 depuis le 3 mars, porte fracturée.", ()),
    ("Coût estimé des réparations : 1 250 €, devis n° 4521.", ()),
    ("Point de deal suspecté au pied de la tour Bagatelle, guetteurs au 3e.", ()),
    ("Station de métro Jean Jaurès : rodéos urbains signalés.", ()),
    ("Réunion GPO avec la DDSP le 15/04 à 14 h, place Saint-Pierre.", ()),
    ("Hall du bâtiment C : épanchement d'urine, nettoyage demandé à l'entreprise.",
     ()),
    ("Vol de câbles dans le local technique, 35 m arrachés.", ()),
    ("Jets d'objets depuis le 7e étage, côté boulevard Pierre et Marie Curie.", ()),
    ("Rodéos de motos sur l'avenue de Fronton entre 18 h et 20 h.", ()),
    ("Intervention de la Police municipale, main courante n° MC-2026-45.", ()),
    ("Conflit de voisinage entre deux locataires du 3e, sans violence.", ()),
    ("Grille du parking souterrain forcée, 3 véhicules visités.", ()),
    ("Tapage nocturne signalé par plusieurs locataires de l'entrée 4.", ()),
    ("Feu de poubelles rue Paul Bert à 2 h du matin.", ()),
    ("Vitre de la loge du gardien brisée, agent choqué, arrêt de 3 jours.", ()),
    ("Agression verbale de l'agent d'entretien par un groupe de 5 jeunes.", ()),
    ("Le collège Émile Zola signale des intrusions dans le parking.", ()),
    ("Dégradation d'ascenseur, code porte 1234 diffusé sur les réseaux.", ()),
    ("Signalement transmis à la Gendarmerie de Saint-Jory.", ()),
    ("Hier soir vers 21 h 30, odeur de cannabis dans la cage d'escalier B.", ()),
    ("Affiche « Toulouse Métropole Habitat » arrachée dans le hall.", ()),
    ("Véhicule calciné, modèle Renault Clio, sans plaque.", ()),
    ("Arrêt de bus Marcel Langer : abribus brisé.", ()),
    ("Le 06/12 à 12 h 34, 56 personnes évacuées du bâtiment.", ()),
    ("Fuite d'eau au 3e, avenue Jean Chaubet, plombier prévenu.", ()),
    ("Tags en AP01 et TT03, voir aussi QP031007.", ()),
)  # fmt: skip

#: Known limits: what a reader would flag, and what the heuristics say differently.
HARD: tuple[tuple[str, Expected], ...] = (
    # Missed: a first name alone, a lower-case plate, a spelt-out address, a title.
    ("Les jeunes appelés Rayan et Sofiane occupent le hall tous les soirs.",
     (("name", "Rayan"), ("name", "Sofiane"))),
    ("Kevin a encore cassé la porte du local vélos.", (("name", "Kevin"),)),
    ("Rodéo avec une moto immatriculée ab-123-cd.", (("plate", "ab-123-cd"),)),
    ("Contact : jean point dupont arobase gmail point com.",
     (("email", "jean point dupont"),)),
    ("Rencontre avec le commissaire Martin au sujet du point de deal.",
     (("name", "Martin"),)),
    # Taken for personal data: a meter number, a statue.
    ("Compteur d'eau n° 0123456789 relevé par l'entreprise.", ()),
    ("Graffitis sur la statue Pierre Paul Riquet.", ()),
)  # fmt: skip


def _pairs(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in findings]


def _matches(finding: Finding, expected: tuple[str, str]) -> bool:
    kind, piece = expected
    return finding.kind == kind and (piece in finding.text or finding.text in piece)


@pytest.mark.parametrize(
    ("text", "expected"), CASES, ids=[f"case{i}" for i in range(len(CASES))]
)
def test_findings_on_realistic_descriptions(text, expected):
    findings = find_personal_data(text)
    assert len(findings) == len(expected), _pairs(findings)
    for finding, wanted in zip(findings, expected, strict=True):
        assert _matches(finding, wanted), (_pairs(findings), expected)
        assert text[finding.start : finding.end] == finding.text


def measure(cases) -> tuple[float, float, int, int, int]:
    """Precision and recall over ``cases``, and the counts behind them."""
    flagged = correct = wanted = found = 0
    for text, expected in cases:
        findings = find_personal_data(text)
        flagged += len(findings)
        correct += sum(any(_matches(f, e) for e in expected) for f in findings)
        wanted += len(expected)
        found += sum(any(_matches(f, e) for f in findings) for e in expected)
    return correct / flagged, found / wanted, flagged, correct, wanted


def test_precision_and_recall_including_the_known_limits():
    precision, recall, flagged, correct, wanted = measure(CASES + HARD)
    # 39 flags, 37 right (95 %); 42 pieces of personal data, 37 found (88 %).
    assert (flagged, correct, wanted) == (39, 37, 42)
    assert precision >= 0.9 and recall >= 0.85


def test_the_hard_cases_are_still_hard():
    """If a rule improves, move its case to CASES (and update the figures)."""
    for text, expected in HARD:
        findings = find_personal_data(text)
        exact = len(findings) == len(expected) and all(
            _matches(f, e) for f, e in zip(findings, expected, strict=True)
        )
        assert not exact, text


def test_the_warning_names_what_was_found_in_french():
    assert describe_findings([]) == ""
    one = describe_findings(find_personal_data("écrire à a.b@exemple.fr"))
    assert one == (
        "Ce texte semble contenir une adresse e-mail. orfi enregistre des faits, "
        "pas des personnes : retirez-la si possible."
    )
    both = describe_findings(find_personal_data("Appeler M. Dupont au 06 12 34 56 78"))
    assert both.startswith(
        "Ce texte semble contenir un nom de personne et un numéro de téléphone."
    )
    assert both.endswith("retirez-les si possible.")


def test_hostile_payloads_are_not_taken_for_personal_data():
    # The escaping tests compare pages with and without them: no warning may differ.
    for payload in PAYLOADS:
        assert find_personal_data(payload.text) == [], payload.id


def test_the_rules_use_only_what_python_and_javascript_read_alike():
    for rule in load_hints()["rules"]:
        for token in ("\\b", "\\w", "\\d", "\\s", "(?i", "(?P<"):
            assert token not in rule["pattern"], (rule["kind"], token)


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not installed")
    return path


def run_in_node(node: str, texts: list[str]) -> list[dict]:
    """Run the browser's rules on ``texts`` with node; return findings and message."""
    program = f"""
        const api = require({json.dumps(str(SCRIPT))});
        const hints = require({json.dumps(str(HINTS_PATH))});
        let input = "";
        process.stdin.on("data", (chunk) => (input += chunk));
        process.stdin.on("end", () => {{
            const out = JSON.parse(input).map((text) => {{
                const findings = api.findPersonalData(text, hints);
                return {{
                    findings: findings.map((f) => [f.kind, f.text]),
                    message: api.describeFindings(findings, hints),
                }};
            }});
            process.stdout.write(JSON.stringify(out));
        }});
    """
    result = subprocess.run(
        [node, "-e", program],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def test_the_browser_rules_give_the_same_findings(node):
    texts = [text for text, _ in CASES + HARD]
    texts += [payload.text for payload in PAYLOADS]
    texts += ["", "M. Dupont", "06 12 34 56 78 😀 M. Émile Zoé", "rue Jean Moulin"]
    in_browser = run_in_node(node, texts)
    for text, browser in zip(texts, in_browser, strict=True):
        findings = find_personal_data(text)
        assert browser["findings"] == [list(p) for p in _pairs(findings)], text
        assert browser["message"] == describe_findings(findings), text


# ------------------------------------------------------------ in the application


@pytest.fixture
def filer(app):
    """A gardien with one résidence in sector, logged in through ``client``."""
    organisation = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    residence = make_residence(organisation, latitude=43.6409, longitude=1.4327)
    gardien = make_user(organisation, role=Role.GARDIEN, sector=[residence])
    commit()
    return {"organisation": organisation, "residence": residence, "gardien": gardien}


def _file(client, filer, description: str):
    now = to_local(utcnow() - timedelta(minutes=10))
    return client.post(
        "/signalements/nouveau",
        data={
            "category": str(category(filer["organisation"], "AB01").id),
            "residence": str(filer["residence"].id),
            "occurred_at": now.strftime("%Y-%m-%dT%H:%M"),
            "description": description,
        },
    )


def test_the_form_carries_the_rules_and_a_live_region(client, auth, filer):
    auth.login(filer["gardien"].email)
    page = client.get("/signalements/nouveau").text
    document = parse(page)
    data = document.find("script", id="description-hints")
    assert data["type"] == "application/json"
    assert json.loads(data.string) == load_hints()
    assert document.find(attrs={"data-personal-data-hints": "description-privacy"})
    assert document.find(id="description-privacy")["aria-live"] == "polite"
    assert "js/description-hints.js" in page
    # The offline form keeps the script too.
    assert "/static/js/description-hints.js" in client.get("/sw.js").text


def test_a_fact_with_personal_data_is_saved_and_the_confirmation_warns(
    client, auth, filer
):
    auth.login(filer["gardien"].email)
    text = "Appeler M. Dupont au 06 12 34 56 78"
    response = _file(client, filer, text)
    assert response.status_code == 302  # the warning never blocks
    report = db.session.scalar(db.select(Report))
    assert report.description == text
    page = client.get(response.headers["Location"]).text
    warning = parse(page).find("section", id="privacy-warning")
    assert warning, "no warning on the confirmation page"
    text = warning.get_text(" ", strip=True)
    assert (
        "Elle semble contenir un nom de personne et un numéro de téléphone : "
        "« M. Dupont », « 06 12 34 56 78 »."
    ) in " ".join(text.split())
    assert "enregistré tel quel" in text


def test_a_neutral_fact_gets_no_warning(client, auth, filer):
    auth.login(filer["gardien"].email)
    response = _file(client, filer, "Porte du hall forcée, serrure arrachée.")
    page = client.get(response.headers["Location"]).text
    assert "Signalement enregistré" in page
    assert "semble contenir" not in page
    assert 'id="privacy-warning"' not in page


# ------------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def hints_filer(live_server) -> str:
    """A bailleur of its own on the live server, with a gardien: its e-mail."""
    with live_server.app.app_context():
        organisation = make_organisation(
            code="HINTS", name="Bailleur des avertissements", region="Tests"
        )
        residence = make_residence(organisation, latitude=43.5900, longitude=1.4000)
        gardien = make_user(
            organisation,
            role=Role.GARDIEN,
            email="gardien@hints.exemple.fr",
            sector=[residence],
        )
        email = gardien.email
        db.session.commit()
        db.session.remove()
    return email


def _type(page, text: str) -> None:
    field = page.locator("#description")
    field.fill("")
    field.press_sequentially(text, delay=5)


@pytest.mark.browser
def test_the_form_warns_as_one_types(browser_session, hints_filer):
    page = browser_session.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    browser_session.login(page, hints_filer)
    page.goto("/signalements/nouveau")
    region = page.locator("#description-privacy")
    assert region.get_attribute("aria-live") == "polite"

    _type(page, "Appeler M. Dupont au 06 12 34 56 78")
    warning = region.locator(".privacy-warning")
    warning.wait_for()
    text = warning.inner_text()
    assert "un nom de personne et un numéro de téléphone" in text
    assert "orfi enregistre des faits, pas des personnes" in text
    assert "« M. Dupont », « 06 12 34 56 78 »" in text
    page.locator("#description").scroll_into_view_if_needed()
    browser_session.screenshot(page, "description-hints-warning", full_page=False)

    _type(page, "Porte du hall forcée, serrure arrachée.")
    page.wait_for_timeout(800)  # past the debounce
    assert region.inner_text().strip() == ""
    assert warning.count() == 0

    # A warning never blocks: the fact is sent, and the confirmation says it again.
    _type(page, "Plaque AB-123-CD vue sur le parking.")
    warning.wait_for()
    page.select_option("#category", index=1)
    page.get_by_role("button", name="Envoyer le signalement").click()
    page.wait_for_url(re.compile(r"/confirmation$"))
    assert (
        "une plaque d'immatriculation" in page.locator("#privacy-warning").inner_text()
    )
    browser_session.screenshot(page, "description-hints-confirmation")
    assert not dialogs
    browser_session.assert_clean()


@pytest.mark.browser
def test_the_page_finds_what_the_server_finds(browser_session, hints_filer):
    page = browser_session.new_page()
    browser_session.login(page, hints_filer)
    page.goto("/signalements/nouveau")
    texts = [text for text, _ in CASES + HARD] + [p.text for p in PAYLOADS]
    in_page = page.evaluate(
        """(texts) => {
            const hints = JSON.parse(
                document.getElementById("description-hints").textContent);
            const api = window.orfiDescriptionHints;
            return texts.map((text) => {
                const findings = api.findPersonalData(text, hints);
                return [findings.map((f) => [f.kind, f.text]),
                        api.describeFindings(findings, hints)];
            });
        }""",
        texts,
    )
    for text, (findings, message) in zip(texts, in_page, strict=True):
        expected = find_personal_data(text)
        assert findings == [list(p) for p in _pairs(expected)], text
        assert message == describe_findings(expected), text
    browser_session.assert_clean()
