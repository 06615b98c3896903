"""The demo's facts: drawn with numpy, written in batches with SQLAlchemy Core.

Everything is drawn as whole arrays (résidence, category, day, hour, place, victim...),
then sorted by filing time so that ids and references grow with time, then written in
batches of :data:`BATCH_SIZE` rows in one transaction; a large load builds its indexes
once at the end (:mod:`orfi.demo.bulk`). A million facts take a minute or two on two
cores with SQLite, a few minutes with PostgreSQL.

The patterns are the ones people look for on the maps and statistics pages: more facts
per logement in QPV, a few hot résidences and short bursts (a point de deal that moves),
evenings and weekends, tapage at night and dépôts sauvages by day, rodéos and
regroupements in summer, fires around New Year and 14 July.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import h3.api.basic_int as h3
import numpy as np
import pandas as pd

from orfi.demo.world import DemoWorld
from orfi.extensions import db
from orfi.reports.models import (
    Intervention,
    Lieu,
    LocationSource,
    ReferenceCounter,
    Report,
    Status,
    Suite,
    Victime,
)
from orfi.timezone import PARIS

logger = logging.getLogger(__name__)

#: About 18 months of facts, ending now.
WINDOW_DAYS = 548
BATCH_SIZE = 10_000
#: Share of facts in short bursts on a few résidences.
BURST_SHARE = 0.03
BURST_DAYS = 21

# --------------------------------------------------------------------------------------
# Profiles: when, where and how each category happens.
# --------------------------------------------------------------------------------------

#: Relative frequency by local hour (0–23).
HOURS: dict[str, tuple[float, ...]] = {
    # tapage, halls: late evening and night
    "night": (6, 5, 4, 3, 2, 1, 0.5, 0.5, 0.5, 0.5, 0.7, 1, 1.5, 1.5, 1.5, 2, 2.5, 3.5,
              5, 7, 9, 11, 10, 8),
    # regroupements, rodéos, trafic: afternoon and evening
    "evening": (3, 2, 1.5, 1, 0.5, 0.3, 0.3, 0.5, 1, 1, 1.5, 2, 2, 2, 2.5, 3, 4, 5, 6,
                7, 7, 6, 5, 4),
    # found during the gardien's rounds: dépôts, tags, ascenseurs, vols de caves
    "day": (0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 2, 5, 8, 8, 7, 6, 4, 5, 6, 6, 5, 4, 3, 2, 1.5,
            1, 0.5, 0.3),
    # against staff: working hours, some evenings
    "staff": (0.5, 0.3, 0.2, 0.1, 0.1, 0.3, 1, 3, 6, 8, 8, 6, 4, 5, 7, 7, 6, 5, 4, 3.5,
              3, 2, 1.5, 1),
    "fire": (8, 7, 6, 5, 3, 2, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.7, 0.7, 0.8, 1, 1.5, 2, 3,
             5, 7, 9, 10, 9),
    "neighbours": (2, 1, 0.5, 0.3, 0.2, 0.2, 0.5, 1, 2, 3, 3, 3, 3, 3, 3, 3, 4, 5, 6, 6,
                   5, 4, 3, 2),
    "any": (2, 1.5, 1, 0.7, 0.5, 0.5, 1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4.5, 5, 5.5, 6, 6,
            5, 4, 3),
}  # fmt: skip

#: Relative frequency by weekday (Monday first).
WEEKDAYS: dict[str, tuple[float, ...]] = {
    "weekend": (0.8, 0.8, 0.85, 0.95, 1.25, 1.6, 1.45),
    "workdays": (1.15, 1.1, 1.1, 1.1, 1.05, 0.75, 0.55),
    # found on Monday after the weekend
    "monday": (1.25, 1.0, 1.0, 1.0, 1.0, 0.95, 0.85),
    "flat": (1.0, 1.0, 1.0, 1.0, 1.05, 1.15, 1.05),
}

Profile = dict[str, float]

LIEUX_STAFF: Profile = {
    "hall": 0.3, "abords": 0.25, "loge": 0.15, "escalier": 0.1, "agence": 0.08,
    "parking_aerien": 0.05, "logement": 0.07,
}  # fmt: skip
VICTIMES_STAFF: Profile = {
    "personnel_bailleur": 0.6, "personnel_prestataire": 0.15, "locataire": 0.2,
    "tiers": 0.05,
}  # fmt: skip
VICTIMES_PROPERTY: Profile = {"aucune": 0.95, "locataire": 0.05}
VICTIMES_PEACE: Profile = {"aucune": 0.8, "locataire": 0.17, "personnel_bailleur": 0.03}
SUITES_ASSAULT: Profile = {
    "plainte_bailleur": 0.3, "plainte_victime": 0.25, "main_courante": 0.2,
    "signalement_procureur": 0.05, "aucune": 0.2,
}  # fmt: skip
SUITES_SERIOUS: Profile = {
    "plainte_bailleur": 0.45, "plainte_victime": 0.3, "main_courante": 0.05,
    "signalement_procureur": 0.1, "aucune": 0.1,
}  # fmt: skip
SUITES_DAMAGE: Profile = {
    "plainte_bailleur": 0.25,
    "main_courante": 0.1,
    "aucune": 0.65,
}
SUITES_COMPLAINT: Profile = {
    "plainte_bailleur": 0.55, "plainte_victime": 0.05, "main_courante": 0.1,
    "aucune": 0.3,
}  # fmt: skip
SUITES_PEACE: Profile = {
    "aucune": 0.8, "main_courante": 0.12, "plainte_bailleur": 0.05,
    "proces_verbal": 0.03,
}  # fmt: skip
SUITES_TRAFFIC: Profile = {
    "signalement_procureur": 0.2, "main_courante": 0.2, "aucune": 0.55,
    "plainte_bailleur": 0.05,
}  # fmt: skip


@dataclass(frozen=True)
class CategoryProfile:
    """How a category of fact is drawn."""

    weight: float  # relative frequency outside QPV
    qpv: float  # multiplier of ``weight`` in QPV
    hours: str
    weekdays: str
    season: str
    lieux: Profile
    victimes: Profile
    suites: Profile
    intervention: float  # probability that a police force intervened
    gravity: int  # usual gravity (1–4)
    damage_eur: float | None  # median damage, None when no damage is recorded
    descriptions: tuple[str, ...]
    stoppage: float = 0.03  # probability of a work stoppage for a staff victim
    stoppage_days: tuple[int, int] = (1, 8)
    # A category « à préciser » (AU99): the form refuses its facts without one.
    description_required: bool = False


_p = CategoryProfile

#: The default nomenclature's categories (codes of DOMAIN.md). Codes a bailleur added
#: itself get no demo facts.
PROFILES: dict[str, CategoryProfile] = {
    "AP01": _p(5, 1.2, "staff", "workdays", "flat", LIEUX_STAFF, VICTIMES_STAFF,
               SUITES_ASSAULT, 0.2, 2, None, (
                   "Propos injurieux envers le gardien lors de sa tournée.",
                   "Insultes adressées à un agent d'entretien dans le hall.",
                   "Outrage envers le personnel à la loge.")),
    "AP02": _p(2.5, 1.3, "staff", "workdays", "flat", LIEUX_STAFF, VICTIMES_STAFF,
               SUITES_ASSAULT, 0.3, 3, None, (
                   "Menaces verbales envers le gardien après un rappel au règlement.",
                   "Menaces envers un prestataire intervenant dans l'escalier.")),
    "AP03": _p(1.2, 1.4, "staff", "flat", "flat", LIEUX_STAFF, VICTIMES_STAFF,
               SUITES_SERIOUS, 0.65, 3, None, (
                   "Agent bousculé et frappé lors d'une intervention.",
                   "Coup porté à un prestataire sur le parking."),
               stoppage=0.5, stoppage_days=(1, 16)),
    "AP04": _p(0.15, 1.8, "evening", "flat", "flat", LIEUX_STAFF, VICTIMES_STAFF,
               SUITES_SERIOUS, 0.85, 4, None, (
                   "Agent menacé puis blessé avec un objet, secours appelés.",),
               stoppage=0.85, stoppage_days=(3, 61)),
    "AP05": _p(1.0, 1.3, "staff", "workdays", "flat", LIEUX_STAFF, VICTIMES_STAFF,
               SUITES_ASSAULT, 0.15, 2, None, (
                   "Intimidations répétées envers le gardien à l'entrée du bâtiment.",
                   "Regroupement hostile empêchant le personnel de travailler.")),
    "AB01": _p(12, 1.1, "any", "weekend", "flat", {
                   "hall": 0.35, "escalier": 0.15, "local_poubelles": 0.1, "cave": 0.1,
                   "parking_souterrain": 0.1, "abords": 0.1, "local_velos": 0.05,
                   "ascenseur": 0.05}, VICTIMES_PROPERTY, SUITES_DAMAGE, 0.05, 2, 350, (
                   "Porte du hall forcée, ferme-porte arraché.",
                   "Vitre de la porte d'entrée brisée.",
                   "Boîtes aux lettres fracturées.",
                   "Éclairage du palier détruit.",
                   "Platine du contrôle d'accès arrachée.")),
    "AB02": _p(6, 1.0, "day", "monday", "flat", {
                   "hall": 0.35, "escalier": 0.25, "abords": 0.25,
                   "parking_souterrain": 0.1, "ascenseur": 0.05}, {"aucune": 1.0},
               {"aucune": 0.9, "plainte_bailleur": 0.1}, 0.01, 1, 150, (
                   "Tags sur les murs du hall.",
                   "Graffitis dans la cage d'escalier, nettoyage demandé.",
                   "Tags sur la façade côté parking.")),
    "AB03": _p(2.5, 1.8, "fire", "weekend", "fire", {
                   "local_poubelles": 0.4, "cave": 0.2, "parking_aerien": 0.15,
                   "parking_souterrain": 0.1, "abords": 0.1, "hall": 0.05},
               {"aucune": 0.9, "locataire": 0.1}, SUITES_COMPLAINT, 0.6, 3, 1500, (
                   "Feu de conteneurs dans le local poubelles, pompiers intervenus.",
                   "Départ de feu dans une cave.",
                   "Véhicule incendié sur le parking.")),
    "AB04": _p(4, 1.0, "day", "monday", "winter", {
                   "cave": 0.5, "local_velos": 0.15, "parking_souterrain": 0.15,
                   "abords": 0.1, "logement": 0.1},
               {"aucune": 0.75, "locataire": 0.25}, SUITES_COMPLAINT, 0.2, 2, 500, (
                   "Caves fracturées, plusieurs box visités.",
                   "Vol de matériel dans un local technique.",
                   "Vol de vélos dans le local vélos.")),
    "AB05": _p(3, 1.3, "day", "monday", "flat", {"ascenseur": 1.0}, VICTIMES_PROPERTY,
               SUITES_DAMAGE, 0.02, 2, 900, (
                   "Ascenseur bloqué après dégradation des portes palières.",
                   "Boutons de la cabine arrachés.",
                   "Cabine d'ascenseur dégradée.")),
    "AB06": _p(1.5, 1.2, "day", "monday", "flat", {
                   "cave": 0.3, "toiture": 0.2, "parking_souterrain": 0.2, "hall": 0.15,
                   "local_poubelles": 0.15}, VICTIMES_PROPERTY, SUITES_COMPLAINT, 0.05,
               2, 400, (
                   "Porte du local technique forcée.",
                   "Serrure de la chaufferie fracturée.",
                   "Accès à la toiture forcé.")),
    "TT01": _p(10, 1.6, "night", "weekend", "flat", {
                   "hall": 0.6, "escalier": 0.3, "cave": 0.1}, VICTIMES_PEACE,
               SUITES_PEACE, 0.08, 2, None, (
                   "Occupation du hall en soirée, locataires gênés pour passer.",
                   "Hall occupé, bruit et mégots.",
                   "Cage d'escalier occupée, passage difficile.")),
    "TT02": _p(8, 1.5, "evening", "weekend", "summer", {
                   "abords": 0.6, "hall": 0.2, "parking_aerien": 0.2}, VICTIMES_PEACE,
               SUITES_PEACE, 0.15, 2, None, (
                   "Regroupement aux abords de l'entrée jusque tard.",
                   "Attroupement devant le bâtiment, musique forte.")),
    "TT03": _p(9, 0.8, "night", "weekend", "mild_summer", {
                   "logement": 0.45, "escalier": 0.2, "hall": 0.15, "abords": 0.2},
               {"locataire": 0.85, "tiers": 0.05, "aucune": 0.1}, SUITES_PEACE, 0.1, 1,
               None, (
                   "Tapage nocturne signalé par plusieurs locataires.",
                   "Musique forte en soirée.",
                   "Bruit répété dans la cage d'escalier la nuit.")),
    "TT04": _p(11, 1.0, "day", "monday", "flat", {
                   "abords": 0.4, "local_poubelles": 0.35, "cave": 0.1,
                   "parking_aerien": 0.1, "hall": 0.05}, {"aucune": 1.0}, SUITES_PEACE,
               0.01, 1, 120, (
                   "Encombrants déposés devant le local poubelles.",
                   "Dépôt sauvage de gravats sur le parking.",
                   "Jets d'objets depuis les fenêtres.")),
    "TT05": _p(3, 1.2, "day", "monday", "flat", {
                   "hall": 0.35, "ascenseur": 0.25, "escalier": 0.25,
                   "parking_souterrain": 0.15}, {"aucune": 1.0}, SUITES_PEACE, 0.0, 1,
               None, (
                   "Urine dans l'ascenseur.",
                   "Salissures dans le hall, nettoyage effectué.")),
    "TT06": _p(4, 1.3, "evening", "weekend", "summer", {
                   "parking_aerien": 0.5, "abords": 0.4, "parking_souterrain": 0.1},
               VICTIMES_PEACE, SUITES_PEACE, 0.2, 2, None, (
                   "Rodéo de motos sur le parking.",
                   "Épave sur le parking, enlèvement demandé.",
                   "Stationnement bloquant l'accès des secours.")),
    "TT07": _p(4, 0.6, "neighbours", "weekend", "flat", {
                   "logement": 0.5, "escalier": 0.3, "hall": 0.1, "abords": 0.1},
               {"locataire": 0.9, "aucune": 0.1}, SUITES_PEACE, 0.08, 1, None, (
                   "Conflit entre voisins de palier, médiation proposée.",
                   "Différend de voisinage au sujet du bruit.")),
    "OC01": _p(0.8, 1.3, "day", "workdays", "winter", {"logement": 1.0},
               {"aucune": 1.0}, {
                   "plainte_bailleur": 0.6, "signalement_procureur": 0.15,
                   "main_courante": 0.1, "aucune": 0.15}, 0.3, 3, 800, (
                   "Logement vacant squatté, porte palière forcée.",
                   "Occupation sans droit ni titre d'un logement.")),
    "OC02": _p(2, 1.5, "night", "flat", "winter", {
                   "cave": 0.45, "parking_souterrain": 0.25, "hall": 0.15,
                   "toiture": 0.05, "local_velos": 0.1}, {"aucune": 1.0}, {
                   "aucune": 0.6, "main_courante": 0.2, "plainte_bailleur": 0.2}, 0.15,
               2, 200, (
                   "Cave squattée, matelas et détritus.",
                   "Parking souterrain occupé la nuit.")),
    "TR01": _p(3.5, 2.5, "evening", "weekend", "flat", {
                   "hall": 0.45, "abords": 0.3, "parking_souterrain": 0.1,
                   "escalier": 0.1, "cave": 0.05}, {"aucune": 0.9, "locataire": 0.1},
               SUITES_TRAFFIC, 0.3, 3, None, (
                   "Point de deal suspecté au pied de l'immeuble.",
                   "Va-et-vient important devant l'entrée, trafic suspecté.")),
    "TR02": _p(1.5, 2.5, "evening", "weekend", "mild_summer", {
                   "abords": 0.5, "hall": 0.4, "parking_aerien": 0.1},
               {"aucune": 0.8, "personnel_prestataire": 0.1, "locataire": 0.1},
               SUITES_TRAFFIC, 0.25, 3, None, (
                   "Présence de guetteurs à l'entrée de la résidence.",
                   "Contrôle des accès par des tiers, prestataire empêché d'entrer.")),
    "AU99": _p(1.5, 1.0, "any", "flat", "flat", {
                   "abords": 0.4, "hall": 0.3, "escalier": 0.1, "parking_aerien": 0.1,
                   "cave": 0.1}, {"aucune": 0.7, "locataire": 0.2, "tiers": 0.1},
               SUITES_PEACE, 0.05, 1, None, (
                   "Fait signalé, détails à préciser par le référent.",
                   "Objet suspect déposé dans le hall, signalé."),
               description_required=True),
}  # fmt: skip

#: What the bursts are made of: a point de deal settling on a résidence for a few weeks.
BURST_CATEGORIES: Profile = {
    "TR01": 0.35, "TR02": 0.2, "TT01": 0.25, "TT02": 0.1, "AB01": 0.1,
}  # fmt: skip

LIEU_CODES = tuple(member.value for member in Lieu)
VICTIME_CODES = tuple(member.value for member in Victime)
SUITE_CODES = tuple(member.value for member in Suite)
STATUS_CODES = tuple(member.value for member in Status)
INDOOR = frozenset(LIEU_CODES) - {"abords", "parking_aerien"}
SOURCE_CODES = (LocationSource.GPS.value, LocationSource.MAP.value,
                LocationSource.RESIDENCE.value)  # fmt: skip
INTERVENTION_CODES = (
    Intervention.AUCUNE.value,
    Intervention.POLICE_NATIONALE.value,
    Intervention.GENDARMERIE.value,
    Intervention.POLICE_MUNICIPALE.value,
)
STAFF_VICTIM_CODES = (
    Victime.PERSONNEL_BAILLEUR.value,
    Victime.PERSONNEL_PRESTATAIRE.value,
)
METRES_PER_DEGREE = 111_320.0


# --------------------------------------------------------------------------------------
# Drawing.
# --------------------------------------------------------------------------------------


@dataclass
class DrawnFacts:
    """The facts as columns (numpy arrays), sorted by filing time; -1 means NULL."""

    n: int
    residence: np.ndarray  # index into the world's résidences
    organisation: np.ndarray  # index into the world's organisations
    category_id: np.ndarray
    author_id: np.ndarray
    occurred_s: np.ndarray  # UTC epoch seconds
    created_s: np.ndarray
    occurred_month: np.ndarray
    occurred_weekday: np.ndarray
    occurred_hour: np.ndarray
    reference: list[str]
    latitude: np.ndarray
    longitude: np.ndarray
    accuracy_m: np.ndarray  # NaN when unknown
    source: np.ndarray  # index into SOURCE_CODES
    h3_r7: np.ndarray
    h3_r9: np.ndarray
    lieu: np.ndarray  # index into LIEU_CODES
    victime: np.ndarray  # index into VICTIME_CODES
    stoppage_days: np.ndarray
    service_public: np.ndarray  # bool
    suite: np.ndarray  # index into SUITE_CODES
    intervention: np.ndarray  # index into INTERVENTION_CODES
    damage_eur: np.ndarray
    gravity: np.ndarray
    description: list[str]
    status: np.ndarray  # index into STATUS_CODES
    uuid_bytes: bytes
    #: Last reference number per (organisation index, year).
    counters: dict[tuple[int, int], int]


def _choose(rng: np.random.Generator, profile: Profile, codes: tuple[str, ...], size):
    """Draw ``size`` indices into ``codes`` with the probabilities of ``profile``."""
    keys = list(profile)
    weights = np.array([profile[key] for key in keys], dtype=float)
    picks = rng.choice(len(keys), size=size, p=weights / weights.sum())
    lookup = np.array([codes.index(key) for key in keys])
    return lookup[picks]


def _season(kind: str, day_of_year: np.ndarray, month_day: np.ndarray) -> np.ndarray:
    """Relative frequency of a category on each day of the window."""
    angle = 2 * np.pi * day_of_year / 365.25
    if kind == "summer":
        return 1 + 0.55 * np.cos(angle - 2 * np.pi * 200 / 365.25)
    if kind == "mild_summer":
        return 1 + 0.25 * np.cos(angle - 2 * np.pi * 200 / 365.25)
    if kind == "winter":
        return 1 + 0.25 * np.cos(angle - 2 * np.pi * 15 / 365.25)
    if kind == "fire":
        weights = 1 + 0.15 * np.cos(angle - 2 * np.pi * 200 / 365.25)
        weights[np.isin(month_day, (1224, 1225, 1226, 1227, 1228, 1229, 1230))] *= 1.8
        weights[month_day == 1231] *= 10
        weights[month_day == 101] *= 6
        weights[np.isin(month_day, (713, 714))] *= 3
        return weights
    return np.ones_like(angle)


def _calendar(first_day: pd.Timestamp, days: int) -> dict[str, np.ndarray]:
    dates = pd.date_range(first_day, periods=days, freq="D")
    return {
        "weekday": dates.day_of_week.to_numpy(),
        "day_of_year": dates.day_of_year.to_numpy(),
        "month_day": (dates.month * 100 + dates.day).to_numpy(),
        "month": dates.month.to_numpy(),
    }


def _day_weights(
    profile: CategoryProfile, calendar: dict[str, np.ndarray]
) -> np.ndarray:
    days = len(calendar["weekday"])
    weights = _season(profile.season, calendar["day_of_year"], calendar["month_day"])
    weights = weights * np.array(WEEKDAYS[profile.weekdays])[calendar["weekday"]]
    # Gardiens on holiday in August file fewer facts; use of the tool grows over time.
    weights = weights * np.where(calendar["month"] == 8, 0.8, 1.0)
    weights = weights * np.linspace(0.75, 1.0, days)
    return weights / weights.sum()


def _hour_weights(kind: str) -> np.ndarray:
    weights = np.array(HOURS[kind], dtype=float)
    return weights / weights.sum()


def draw_facts(world: DemoWorld, n: int, *, seed: int, now: datetime) -> DrawnFacts:
    """Draw ``n`` facts on the world's résidences over the last :data:`WINDOW_DAYS`
    days before ``now`` (aware)."""
    rng = np.random.default_rng([seed, 1])
    codes = [code for code in PROFILES if code in world.category_ids]
    profiles = [PROFILES[code] for code in codes]
    hot, is_hot, weights, mix = _draw_heat(rng, world, codes, profiles)

    n_burst = min(n, int(n * BURST_SHARE)) if n >= 200 else 0
    counts = rng.multinomial(n - n_burst, weights / weights.sum())
    residence = np.repeat(np.arange(len(world.residence_ids)), counts)
    category = np.empty(len(residence), dtype=np.int64)
    start = 0
    for r, count in enumerate(counts):
        category[start : start + count] = rng.choice(len(codes), size=count, p=mix[r])
        start += count

    # When: local day and hour by category, then bursts.
    today = pd.Timestamp(now.astimezone(PARIS).date())
    first_day = today - pd.Timedelta(days=WINDOW_DAYS - 1)
    day, hour = _draw_days_and_hours(rng, profiles, category, first_day)
    if n_burst:
        burst = _draw_bursts(rng, n_burst, hot, codes)
        residence = np.concatenate([residence, burst["residence"]])
        category = np.concatenate([category, burst["category"]])
        day = np.concatenate([day, burst["day"]])
        hour = np.concatenate([hour, burst["hour"]])

    now_s = int(now.timestamp())
    occurred, created = _draw_instants(rng, n, first_day, day, hour, now_s)
    order = np.argsort(created, kind="stable")
    in_burst = (np.arange(n) >= n - n_burst)[order]
    residence, category = residence[order], category[order]
    occurred, created = occurred[order], created[order]
    organisation = world.residence_organisation[residence]
    occurred_local = _to_paris(occurred)
    reference, counters = _references(world, organisation, created)

    category_id, author_id = _draw_ids(rng, world, codes, category, residence)

    details = _draw_details(rng, world, profiles, residence, category, is_hot)
    # A point de deal holds one place: the hall (set after the draws, which stay
    # those of the rest of the demo).
    details["lieu"][in_burst] = LIEU_CODES.index(Lieu.HALL.value)
    position = _draw_positions(rng, world, residence, details["lieu"])
    age_days = (now_s - created) / 86_400

    return DrawnFacts(
        n=n,
        residence=residence,
        organisation=organisation,
        category_id=category_id,
        author_id=author_id,
        occurred_s=occurred,
        created_s=created,
        occurred_month=(occurred_local.year * 100 + occurred_local.month).to_numpy(),
        occurred_weekday=occurred_local.day_of_week.to_numpy(),
        occurred_hour=occurred_local.hour.to_numpy(),
        reference=reference,
        status=_draw_status(rng, age_days),
        uuid_bytes=rng.bytes(16 * n),
        counters=counters,
        **position,
        **details,
    )


def _draw_ids(
    rng: np.random.Generator,
    world: DemoWorld,
    codes: list[str],
    category: np.ndarray,
    residence: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Return each fact's category id (its bailleur's) and draw its author."""
    organisation = world.residence_organisation[residence]
    category_id = np.zeros(len(residence), dtype=np.int64)
    for c, code in enumerate(codes):
        where = category == c
        category_id[where] = world.category_ids[code][organisation[where]]
    # The résidence's gardien files most facts; the référent those without one.
    gardien = world.residence_gardien[residence]
    by_referent = (gardien == 0) | (rng.random(len(residence)) < 0.1)
    author_id = np.where(by_referent, world.referent_ids[organisation], gardien)
    return category_id, author_id


def _draw_heat(
    rng: np.random.Generator,
    world: DemoWorld,
    codes: list[str],
    profiles: list[CategoryProfile],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw where facts happen and what they are, per résidence.

    Returns the hot résidences (indices and mask), each résidence's weight and its
    category mix (one row of probabilities per résidence).
    """
    n_res = len(world.residence_ids)
    qpv = world.residence_qpv
    # Where: logements, QPV, a heavy-tailed "heat" and a few hot résidences.
    heat = rng.lognormal(0.0, 0.5, n_res)
    n_hot = max(1, round(0.06 * n_res))
    hot_p = np.where(qpv, 4.0, 1.0) * world.residence_logements
    hot = rng.choice(n_res, size=n_hot, replace=False, p=hot_p / hot_p.sum())
    heat[hot] *= rng.uniform(2.5, 5, n_hot)
    is_hot = np.zeros(n_res, dtype=bool)
    is_hot[hot] = True
    weights = world.residence_logements * np.where(qpv, 3.0, 1.0) * heat

    # What: category mix per résidence (QPV-dependent, varied, traffic where hot).
    base = np.array([p.weight for p in profiles])
    mix = np.where(qpv[:, None], base * np.array([p.qpv for p in profiles]), base)
    mix = mix * rng.gamma(3.0, 1 / 3.0, size=mix.shape)
    hot_codes = np.isin(codes, ("TR01", "TR02", "TT01", "TT02"))
    mix[np.ix_(is_hot, hot_codes)] *= 2.0
    mix /= mix.sum(axis=1, keepdims=True)
    return hot, is_hot, weights, mix


def _draw_days_and_hours(
    rng: np.random.Generator,
    profiles: list[CategoryProfile],
    category: np.ndarray,
    first_day: pd.Timestamp,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw each fact's day (from ``first_day``) and local hour, by category."""
    calendar = _calendar(first_day, WINDOW_DAYS)
    day = np.empty(len(category), dtype=np.int64)
    hour = np.empty(len(category), dtype=np.int64)
    for c, profile in enumerate(profiles):
        where = np.flatnonzero(category == c)
        day[where] = rng.choice(
            WINDOW_DAYS, size=len(where), p=_day_weights(profile, calendar)
        )
        hour[where] = rng.choice(24, size=len(where), p=_hour_weights(profile.hours))
    return day, hour


def _draw_instants(
    rng: np.random.Generator,
    n: int,
    first_day: pd.Timestamp,
    day: np.ndarray,
    hour: np.ndarray,
    now_s: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw when facts occurred and when they were filed (UTC epoch seconds)."""
    seconds = rng.integers(0, 3600, size=n)
    local = (
        np.datetime64(first_day.date(), "s")
        + day.astype("timedelta64[D]")
        + (hour * 3600 + seconds).astype("timedelta64[s]")
    )
    occurred = _local_to_utc_seconds(local)
    # Today's hours that have not come yet move back a day.
    while (late := occurred > now_s - 300).any():
        occurred[late] -= 86_400

    # Filed on the spot mostly, sometimes hours or days later.
    delay = np.select(
        [rng.random(n) < 0.55, rng.random(n) < 0.7],
        [
            rng.integers(120, 90 * 60, n),
            rng.lognormal(math.log(6 * 3600), 0.8, n).astype(np.int64),
        ],
        rng.integers(86_400, 10 * 86_400, n),
    )
    latest = now_s - rng.integers(1, 3600, n)
    created = np.maximum(np.minimum(occurred + delay, latest), occurred + 60)
    return occurred, created


def _references(
    world: DemoWorld, organisation: np.ndarray, created: np.ndarray
) -> tuple[list[str], dict[tuple[int, int], int]]:
    """Return the facts' references, numbered per bailleur and year of filing, and
    the last number of each (bailleur id, year)."""
    created_year = _to_paris(created).year.to_numpy()
    keys = organisation * 10_000 + created_year
    numbers = pd.Series(keys).groupby(keys).cumcount().to_numpy() + 1
    counters = {
        (int(key // 10_000), int(key % 10_000)): int(last)
        for key, last in pd.Series(numbers).groupby(keys).max().items()
    }
    org_codes = world.organisation_codes
    reference = [
        f"{org_codes[o]}-{y}-{k:06d}"
        for o, y, k in zip(
            organisation.tolist(), created_year.tolist(), numbers.tolist(), strict=True
        )
    ]
    return reference, counters


def _draw_bursts(
    rng: np.random.Generator, n_burst: int, hot: np.ndarray, codes: list[str]
) -> dict[str, np.ndarray]:
    """A point de deal settles on up to three hot résidences for three weeks each,
    in their hall, in the evening: the hot spots the map must find."""
    spots = rng.choice(hot, size=min(3, len(hot)), replace=False)
    residence = rng.choice(spots, size=n_burst)
    first = {spot: int(rng.integers(WINDOW_DAYS - 365, WINDOW_DAYS - BURST_DAYS))
             for spot in spots}  # fmt: skip
    day = np.array([first[r] for r in residence.tolist()]) + rng.integers(
        0, BURST_DAYS, n_burst
    )
    burst = {code: p for code, p in BURST_CATEGORIES.items() if code in codes}
    category = _choose(rng, burst, tuple(codes), n_burst)
    hour = rng.choice(24, size=n_burst, p=_hour_weights("evening"))
    return {"residence": residence, "category": category, "day": day, "hour": hour}


def _local_to_utc_seconds(local: np.ndarray) -> np.ndarray:
    """Turn Europe/Paris wall-clock times into UTC epoch seconds (DST-aware)."""
    index = pd.DatetimeIndex(local).tz_localize(
        "Europe/Paris",
        ambiguous=np.zeros(len(local), dtype=bool),
        nonexistent="shift_forward",
    )
    return index.tz_convert("UTC").as_unit("s").asi8.copy()


def _to_paris(seconds: np.ndarray) -> pd.DatetimeIndex:
    return (
        pd.DatetimeIndex(seconds.astype("datetime64[s]"))
        .tz_localize("UTC")
        .tz_convert("Europe/Paris")
    )


def _draw_details(
    rng: np.random.Generator,
    world: DemoWorld,
    profiles: list[CategoryProfile],
    residence: np.ndarray,
    category: np.ndarray,
    is_hot: np.ndarray,
) -> dict:
    """Draw place, victim, follow-up, police, gravity, damage and description."""
    n = len(residence)
    lieu = np.empty(n, dtype=np.int64)
    victime = np.empty(n, dtype=np.int64)
    suite = np.empty(n, dtype=np.int64)
    stoppage = np.full(n, -1, dtype=np.int64)
    damage = np.full(n, -1, dtype=np.int64)
    gravity = np.empty(n, dtype=np.int64)
    intervened = np.zeros(n, dtype=bool)
    description = np.empty(n, dtype=object)
    staff_codes = [VICTIME_CODES.index(code) for code in STAFF_VICTIM_CODES]
    for c, profile in enumerate(profiles):
        where = np.flatnonzero(category == c)
        size = len(where)
        if not size:
            continue
        lieu[where] = _choose(rng, profile.lieux, LIEU_CODES, size)
        victime[where] = _choose(rng, profile.victimes, VICTIME_CODES, size)
        suite[where] = _choose(rng, profile.suites, SUITE_CODES, size)
        staff = np.isin(victime[where], staff_codes)
        stopped = staff & (rng.random(size) < profile.stoppage)
        low, high = profile.stoppage_days
        stoppage[where[stopped]] = rng.integers(low, high, int(stopped.sum()))
        intervened[where] = rng.random(size) < profile.intervention
        gravity[where] = (
            profile.gravity
            + rng.choice((-1, 0, 0, 0, 1), size=size)
            + (is_hot[residence[where]] & (rng.random(size) < 0.3))
        )
        if profile.damage_eur is not None:
            cost = rng.lognormal(math.log(profile.damage_eur), 0.8, size)
            damage[where] = np.maximum(10, np.round(cost / 10) * 10).astype(np.int64)
        description[where] = np.array(profile.descriptions, dtype=object)[
            rng.integers(len(profile.descriptions), size=size)
        ]

    gravity = _leave_optional_blank(rng, lieu, suite, gravity, damage, description)
    for c, profile in enumerate(profiles):
        if profile.description_required:  # never blank (no draw: same demo otherwise)
            description[(category == c) & (description == "")] = profile.descriptions[0]

    service_public, intervention = _draw_public_service(
        rng, world, residence, victime, intervened, staff_codes
    )
    return {
        "lieu": lieu,
        "victime": victime,
        "suite": suite,
        "stoppage_days": stoppage,
        "service_public": service_public,
        "intervention": intervention,
        "gravity": gravity,
        "damage_eur": damage,
        "description": description.tolist(),
    }


def _leave_optional_blank(
    rng: np.random.Generator,
    lieu: np.ndarray,
    suite: np.ndarray,
    gravity: np.ndarray,
    damage: np.ndarray,
    description: np.ndarray,
) -> np.ndarray:
    """Blank optional fields in place, as users leave them; return the gravity
    clipped to 1–4 (-1: not given)."""
    n = len(lieu)
    lieu[rng.random(n) < 0.06] = -1
    suite[rng.random(n) < 0.05] = -1
    gravity = np.clip(gravity, 1, 4)
    gravity[rng.random(n) < 0.1] = -1
    damage[rng.random(n) < 0.25] = -1
    description[rng.random(n) < 0.25] = ""
    return gravity


def _draw_public_service(
    rng: np.random.Generator,
    world: DemoWorld,
    residence: np.ndarray,
    victime: np.ndarray,
    intervened: np.ndarray,
    staff_codes: list[int],
) -> tuple[np.ndarray, np.ndarray]:
    """Draw whether a staff victim was on public service, and which force came."""
    n = len(residence)
    service_public = np.isin(victime, staff_codes) & (
        rng.random(n)
        < np.where(victime == VICTIME_CODES.index("personnel_bailleur"), 0.9, 0.5)
    )
    # Police nationale or gendarmerie by commune, police municipale for a quarter.
    force = np.where(world.residence_gendarmerie[residence], 2, 1)
    force = np.where(rng.random(n) < 0.25, 3, force)
    intervention = np.where(intervened, force, np.where(rng.random(n) < 0.85, 0, -1))
    return service_public, intervention


def _draw_positions(
    rng: np.random.Generator,
    world: DemoWorld,
    residence: np.ndarray,
    lieu: np.ndarray,
) -> dict[str, np.ndarray]:
    """Place each fact near its résidence, as a phone, a map pin or the résidence."""
    n = len(residence)
    lat0 = world.residence_latitude[residence]
    lon0 = world.residence_longitude[residence]
    indoor_codes = [i for i, code in enumerate(LIEU_CODES) if code in INDOOR]
    indoor = np.isin(lieu, indoor_codes)
    reach = np.where(
        indoor, np.minimum(60, 10 + 0.1 * world.residence_logements[residence]), 80
    )
    distance = reach * np.sqrt(rng.random(n))
    distance = np.where(indoor, distance, np.maximum(distance, 10))
    bearing = rng.random(n) * 2 * np.pi
    dx, dy = distance * np.sin(bearing), distance * np.cos(bearing)

    source = rng.choice(3, size=n, p=(0.7, 0.15, 0.15))
    # GPS is coarse in halls, basements and car parks.
    accuracy = rng.lognormal(math.log(10), 0.6, n) * np.where(indoor, 2.5, 1.0)
    accuracy = np.clip(np.round(accuracy, 1), 3, 150)
    noise = np.where(source == 0, accuracy / 2, 5.0)
    dx = dx + rng.normal(0, 1, n) * noise
    dy = dy + rng.normal(0, 1, n) * noise
    at_residence = source == 2
    dx[at_residence] = 0
    dy[at_residence] = 0
    latitude = np.round(lat0 + dy / METRES_PER_DEGREE, 6)
    longitude = np.round(lon0 + dx / (METRES_PER_DEGREE * np.cos(np.radians(lat0))), 6)
    latitude[at_residence] = lat0[at_residence]
    longitude[at_residence] = lon0[at_residence]
    accuracy[source != 0] = np.nan

    r7 = np.empty(n, dtype=np.int64)
    r9 = np.empty(n, dtype=np.int64)
    for i, (lat, lon) in enumerate(
        zip(latitude.tolist(), longitude.tolist(), strict=True)
    ):
        # Not cell_to_parent: H3 children do not tile their parent exactly, and
        # derived_fields() indexes each resolution from the point.
        r7[i] = h3.latlng_to_cell(lat, lon, 7)
        r9[i] = h3.latlng_to_cell(lat, lon, 9)
    return {
        "latitude": latitude,
        "longitude": longitude,
        "accuracy_m": accuracy,
        "source": source,
        "h3_r7": r7,
        "h3_r9": r9,
    }


def _draw_status(rng: np.random.Generator, age_days: np.ndarray) -> np.ndarray:
    """New facts are mostly nouveau, old ones transmis or clos."""
    # Probabilities of nouveau, qualifié, transmis, clos by age.
    table = np.array(
        [
            (0.85, 0.15, 0.0, 0.0),
            (0.25, 0.35, 0.25, 0.15),
            (0.05, 0.15, 0.35, 0.45),
            (0.01, 0.04, 0.30, 0.65),
        ]
    )
    bucket = np.digitize(age_days, (2, 14, 60))
    cumulative = np.cumsum(table, axis=1)[bucket]
    status = (rng.random(len(age_days))[:, None] > cumulative).sum(axis=1)
    return np.minimum(status, 3)


# --------------------------------------------------------------------------------------
# Writing.
# --------------------------------------------------------------------------------------


def _nullable(values: np.ndarray) -> list:
    return [None if v < 0 else v for v in values.tolist()]


def _codes(indices: np.ndarray, codes: tuple[str, ...]) -> list:
    return [None if i < 0 else codes[i] for i in indices.tolist()]


def _moments(seconds: np.ndarray) -> list[datetime]:
    return [datetime.fromtimestamp(s, UTC) for s in seconds.tolist()]


def _rows(world: DemoWorld, facts: DrawnFacts, start: int, stop: int) -> list[dict]:
    s = slice(start, stop)
    raw = facts.uuid_bytes
    columns = {
        "uuid": [
            uuid.UUID(bytes=raw[16 * i : 16 * i + 16], version=4)
            for i in range(start, stop)
        ],
        "reference": facts.reference[s],
        "organisation_id": np.asarray(world.organisation_ids)[
            facts.organisation[s]
        ].tolist(),
        "residence_id": world.residence_ids[facts.residence[s]].tolist(),
        "category_id": facts.category_id[s].tolist(),
        "author_id": facts.author_id[s].tolist(),
        "occurred_at": _moments(facts.occurred_s[s]),
        "created_at": _moments(facts.created_s[s]),
        "occurred_month": facts.occurred_month[s].tolist(),
        "occurred_weekday": facts.occurred_weekday[s].tolist(),
        "occurred_hour": facts.occurred_hour[s].tolist(),
        "latitude": facts.latitude[s].tolist(),
        "longitude": facts.longitude[s].tolist(),
        "gps_accuracy_m": [None if v != v else v for v in facts.accuracy_m[s].tolist()],
        "location_source": _codes(facts.source[s], SOURCE_CODES),
        "h3_r7": facts.h3_r7[s].tolist(),
        "h3_r9": facts.h3_r9[s].tolist(),
        "lieu": _codes(facts.lieu[s], LIEU_CODES),
        "victime": _codes(facts.victime[s], VICTIME_CODES),
        "arret_travail_jours": _nullable(facts.stoppage_days[s]),
        "mission_service_public": facts.service_public[s].tolist(),
        "suite": _codes(facts.suite[s], SUITE_CODES),
        "intervention": _codes(facts.intervention[s], INTERVENTION_CODES),
        "damage_cost_eur": _nullable(facts.damage_eur[s]),
        "gravity": _nullable(facts.gravity[s]),
        "description": facts.description[s],
        "status": _codes(facts.status[s], STATUS_CODES),
    }
    keys = list(columns)
    return [
        dict(zip(keys, row, strict=True)) for row in zip(*columns.values(), strict=True)
    ]


def insert_facts(
    world: DemoWorld, facts: DrawnFacts, *, batch_size: int | None = None
) -> Iterator[int]:
    """Write the reference counters, then the facts in batches, in the caller's
    transaction; yield the size of each batch written.

    Wrap it in :func:`orfi.demo.bulk.bulk_insert` for large loads."""
    batch_size = batch_size or BATCH_SIZE
    counter_rows = [
        {"organisation_id": world.organisation_ids[org], "year": year, "last": last}
        for (org, year), last in sorted(facts.counters.items())
    ]
    if counter_rows:
        db.session.execute(ReferenceCounter.__table__.insert(), counter_rows)
    report = Report.__table__
    for start in range(0, facts.n, batch_size):
        stop = min(start + batch_size, facts.n)
        db.session.execute(report.insert(), _rows(world, facts, start, stop))
        yield stop - start
    logger.info("%d faits de démo écrits.", facts.n)
