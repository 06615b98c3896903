"""The demo world: Toulouse-area bailleurs, their agences, résidences and people.

Résidences are drawn in and around the real 2015 QPVs of the Toulouse area (the layer
shipped in ``orfi/data``); each one's QPV is then read back from that layer by a spatial
join, so that ``qpv_code`` always matches the polygon that contains the point. The demo
logins are listed once, in :data:`DEMO_LOGINS`, for the generator, ``orfi demo-logins``
and the README.
"""

from __future__ import annotations

import enum
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
import sqlalchemy as sa

from orfi.auth.models import Federation, Role, User
from orfi.auth.services import create_user
from orfi.demo.bulk import present_tables, tuned_sqlite
from orfi.extensions import db
from orfi.nomenclature.models import Category
from orfi.patrimoine.models import Agence, Organisation, OrganisationKind, Residence
from orfi.patrimoine.services import create_organisation

logger = logging.getLogger(__name__)

#: The demo is drawn on this layer whatever ``ORFI_QPV_FILE`` says (2015 QPV codes).
QPV_FILE = (
    Path(__file__).resolve().parent.parent / "data" / "qpv_occitanie_2015.geojson"
)
QPV_GENERATION = "2015"
REGION = "Occitanie"
#: Demo e-mail addresses end with this domain suffix (``gardien@tmh.demo``).
DEMO_DOMAIN = ".demo"

# --------------------------------------------------------------------------------------
# Logins: the single source of truth (generator, ``orfi demo-logins``, README).
# --------------------------------------------------------------------------------------

#: One documented password per role.
DEMO_PASSWORDS: dict[Role, str] = {
    Role.GARDIEN: "gardien-demo-2026",
    Role.REFERENT: "referent-demo-2026",
    Role.DIRECTION: "direction-demo-2026",
    Role.ADMIN: "admin-demo-2026",
    Role.FEDERATION: "federation-demo-2026",
}


@dataclass(frozen=True)
class DemoLogin:
    """One documented demo account."""

    email: str
    role: Role
    #: Bailleur code, or the federation code for the federation account.
    affiliation: str
    #: A chef d'agence's agence (a direction account limited to it).
    agence: str | None = None

    @property
    def password(self) -> str:
        """The demo password of this account's role."""
        return DEMO_PASSWORDS[self.role]

    @property
    def role_label(self) -> str:
        """The role as shown to people (a chef d'agence is a direction account).

        A direction account without an agence reads the whole bailleur: the role's
        label (« Direction / chef d'agence ») would hide which of the two it is.
        """
        if self.agence:
            return f"Chef d'agence ({self.agence})"
        if self.role is Role.DIRECTION:
            return "Direction (tout le bailleur)"
        return self.role.label


FEDERATION_CODE = "USH-OCC"
FEDERATION_NAME = "USH Occitanie"


def _full_set(code: str, agence: str) -> list[DemoLogin]:
    domain = f"{code.lower()}{DEMO_DOMAIN}"
    return [
        DemoLogin(f"gardien@{domain}", Role.GARDIEN, code),
        DemoLogin(f"referent@{domain}", Role.REFERENT, code),
        DemoLogin(f"direction@{domain}", Role.DIRECTION, code),
        DemoLogin(f"chef-agence@{domain}", Role.DIRECTION, code, agence=agence),
        DemoLogin(f"admin@{domain}", Role.ADMIN, code),
    ]


#: Every documented demo account. Each bailleur also gets more gardiens
#: (``gardien2@tmh.demo``...), with the gardien password.
DEMO_LOGINS: tuple[DemoLogin, ...] = (
    *_full_set("TMH", "Agence Mirail"),
    *_full_set("ALT", "Agence Toulouse Ouest"),
    *(
        DemoLogin(f"referent@{code.lower()}{DEMO_DOMAIN}", Role.REFERENT, code)
        for code in ("PAT", "CHA", "CJ", "CDC", "PRO", "ICF", "MES")
    ),
    DemoLogin(
        f"federation@ush-occitanie{DEMO_DOMAIN}", Role.FEDERATION, FEDERATION_CODE
    ),
)


def gardien_email(code: str, rank: int) -> str:
    """Return the e-mail of a bailleur's ``rank``-th gardien (1 is ``gardien@...``)."""
    suffix = "" if rank == 1 else str(rank)
    return f"gardien{suffix}@{code.lower()}{DEMO_DOMAIN}"


# --------------------------------------------------------------------------------------
# Places: QPV zones (sampled inside the polygon) and ordinary neighbourhoods.
# --------------------------------------------------------------------------------------

TOULOUSE = ("31555", "Toulouse")
#: Communes policed by the gendarmerie rather than the police nationale.
GENDARMERIE_COMMUNES = frozenset({"31395", "31113", "31506", "31433"})
#: Communes of Toulouse Métropole among the zones (the OPH's territory).
METROPOLE_COMMUNES = frozenset(
    {"31555", "31069", "31149", "31157", "31044", "31561", "31557", "31506"}
)


@dataclass(frozen=True)
class Zone:
    """Where résidences are drawn: inside a QPV (near ``centre`` if given) or a disc."""

    key: str
    label: str
    names: tuple[str, ...]
    streets: tuple[str, ...]
    commune: tuple[str, str] = TOULOUSE
    qpv: str | None = None
    centre: tuple[float, float] | None = None  # (lat, lon)
    radius_m: float = 500.0


ZONES: tuple[Zone, ...] = (
    # Toulouse QPVs. Grand Mirail (QP031007) is split into its neighbourhoods.
    Zone("reynerie", "Reynerie", ("Reynerie", "Lac Reynerie", "Gluck", "Varèse",
         "Satie", "Messager"), ("allée Gluck", "place André Abbal",
         "chemin de la Reynerie", "allée Edgar Varèse"),
         qpv="QP031007", centre=(43.5717, 1.4020), radius_m=450),
    Zone("bellefontaine", "Bellefontaine", ("Bellefontaine", "Kiev", "Tintoret",
         "Lac Bellefontaine"), ("allée de Bellefontaine", "rue de Kiev",
         "allée du Tintoret"), qpv="QP031007", centre=(43.5650, 1.3950),
         radius_m=450),
    Zone("mirail", "Mirail-Université", ("Mirail", "Mirail-Université",
         "Les Pyrénées"), ("chemin du Mirail", "allée Antonio Machado"),
         qpv="QP031007", centre=(43.5780, 1.3985), radius_m=350),
    Zone("bagatelle", "Bagatelle", ("Bagatelle", "Tabar", "Vestrepain"),
         ("rue de Bagatelle", "rue Henri Desbals", "impasse Vestrepain"),
         qpv="QP031007", centre=(43.5800, 1.4125), radius_m=350),
    Zone("faourette", "La Faourette", ("La Faourette", "Papus"),
         ("rue de la Faourette", "chemin de Papus"), qpv="QP031007",
         centre=(43.5855, 1.4175), radius_m=300),
    Zone("bordelongue", "Bordelongue", ("Bordelongue", "Papus Sud"),
         ("chemin de Bordelongue", "rue de Papus"), qpv="QP031007",
         centre=(43.5665, 1.4215), radius_m=300),
    Zone("izards", "Les Izards", ("Les Izards", "La Vache", "Trois Cocus",
         "Micoulaud", "Les Chamois"), ("chemin des Izards", "rue des Chamois",
         "place Micoulaud", "chemin de la Vache"), qpv="QP031011"),
    Zone("arenes", "Arènes", ("Arènes", "Cartoucherie"),
         ("avenue de Grande-Bretagne", "rue des Arènes"), qpv="QP031008"),
    Zone("cepiere", "Cépière-Beauregard", ("Cépière", "Beauregard"),
         ("route de Saint-Simon", "rue de la Cépière", "chemin de Beauregard"),
         qpv="QP031012"),
    Zone("pradettes", "Pradettes", ("Les Pradettes", "Charles Géniaux",
         "Grands Pins"), ("rue Charles Géniaux", "avenue des Pradettes"),
         qpv="QP031006"),
    Zone("empalot", "Empalot", ("Empalot", "Daste", "La Poudrerie", "Garonne"),
         ("avenue Jean Moulin", "rue Daste", "place Commerson"), qpv="QP031010"),
    Zone("rangueil", "Rangueil", ("Rangueil", "Sauzelong", "Faculté"),
         ("avenue de Rangueil", "rue du Midi", "chemin de Sauzelong"),
         qpv="QP031015"),
    Zone("saint-exupery", "Saint-Exupéry", ("Saint-Exupéry", "Montaudran Nord"),
         ("avenue Saint-Exupéry", "chemin de Montaudran"), qpv="QP031013"),
    Zone("soupetard", "Soupetard", ("Soupetard", "Hérédia"),
         ("chemin de Soupetard", "rue Hérédia"), qpv="QP031014"),
    Zone("la-gloire", "La Gloire", ("La Gloire", "Jolimont Est"),
         ("chemin de la Gloire", "avenue Jean Chaubet"), qpv="QP031019"),
    Zone("bourbaki", "Bourbaki", ("Bourbaki", "Le Raisin"),
         ("avenue Bourbaki", "rue du Raisin"), qpv="QP031009"),
    Zone("negreneys", "Négreneys", ("Négreneys", "Barrière de Paris"),
         ("rue de Négreneys", "avenue des États-Unis"), qpv="QP031018"),
    # QPVs of nearby communes.
    Zone("barradels", "Barradels", ("Barradels", "Grand Noble"),
         ("rue des Barradels", "avenue du Parc"), ("31069", "Blagnac"),
         qpv="QP031004"),
    Zone("val-d-aran", "Val d'Aran", ("Val d'Aran", "Poitou", "Pyrénées"),
         ("allée du Val d'Aran", "allée du Poitou", "allée des Pyrénées"),
         ("31149", "Colomiers"), qpv="QP031005"),
    Zone("en-jacca", "En Jacca", ("En Jacca", "Le Lac En Jacca"),
         ("chemin d'En Jacca", "rue d'En Jacca"), ("31149", "Colomiers"),
         qpv="QP031016"),
    Zone("vivier-macon", "Vivier Maçon", ("Vivier Maçon", "Les Vignes"),
         ("rue du Vivier Maçon", "avenue de Toulouse"), ("31157", "Cugnaux"),
         qpv="QP031017"),
    Zone("muret-saint-jean", "Saint-Jean (Muret)", ("Saint-Jean", "Les Bonnets"),
         ("avenue Saint-Jean", "rue des Bonnets"), ("31395", "Muret"),
         qpv="QP031001"),
    # Toulouse outside the QPVs.
    Zone("saint-cyprien", "Saint-Cyprien", ("Saint-Cyprien", "Fontaine Lumineuse",
         "Patte d'Oie"), ("rue de la République", "allées Charles de Fitte",
         "rue des Teinturiers"), centre=(43.5985, 1.4330), radius_m=400),
    Zone("minimes", "Minimes", ("Les Minimes", "Canal du Midi"),
         ("avenue des Minimes", "rue de la Concorde"), centre=(43.6215, 1.4320),
         radius_m=450),
    Zone("croix-daurade", "Croix-Daurade", ("Croix-Daurade", "Paléficat"),
         ("route d'Albi", "chemin de Paléficat"), centre=(43.6345, 1.4680)),
    Zone("lardenne", "Lardenne", ("Lardenne", "Les Capelles"),
         ("avenue de Lardenne", "chemin des Capelles"), centre=(43.5960, 1.3880)),
    Zone("saint-agne", "Saint-Agne", ("Saint-Agne", "Busca"),
         ("avenue de l'URSS", "rue Saint-Agne"), centre=(43.5805, 1.4490),
         radius_m=400),
    Zone("cote-pavee", "Côte Pavée", ("Côte Pavée", "Château de l'Hers"),
         ("avenue Camille Pujol", "rue de la Côte Pavée"), centre=(43.5970, 1.4720)),
    Zone("borderouge", "Borderouge", ("Borderouge", "Maourine"),
         ("boulevard André Netwiller", "rue de la Maourine"),
         centre=(43.6440, 1.4560)),
    Zone("jolimont", "Jolimont", ("Jolimont", "Marengo"),
         ("avenue de Lyon", "rue de Jolimont"), centre=(43.6155, 1.4600),
         radius_m=400),
    Zone("purpan", "Purpan", ("Purpan", "Casselardit"),
         ("route de Bayonne", "avenue de Casselardit"), centre=(43.6070, 1.3980)),
    Zone("saint-simon", "Saint-Simon", ("Saint-Simon", "Basso Cambo"),
         ("route de Saint-Simon", "chemin de Basso Cambo"),
         centre=(43.5560, 1.3850)),
    Zone("lalande", "Lalande", ("Lalande", "Fondeyre"),
         ("avenue de Fronton", "chemin de Lalande"), centre=(43.6530, 1.4320)),
    Zone("sept-deniers", "Sept-Deniers", ("Sept-Deniers", "Ginestous"),
         ("route de Blagnac", "chemin des Sept-Deniers"), centre=(43.6290, 1.4170)),
    Zone("montaudran", "Montaudran", ("Montaudran", "Lespinet"),
         ("route de Revel", "chemin de Lespinet"), centre=(43.5710, 1.4950)),
    # Nearby communes outside the QPVs.
    Zone("blagnac", "Blagnac", ("Andromède", "Le Ritouret", "Odyssud"),
         ("avenue du Général de Gaulle", "chemin du Ritouret"), ("31069", "Blagnac"),
         centre=(43.6370, 1.3930), radius_m=700),
    Zone("colomiers", "Colomiers", ("Le Perget", "Seycheron", "Marquisat"),
         ("allée du Perget", "rue du Seycheron"), ("31149", "Colomiers"),
         centre=(43.6040, 1.3440), radius_m=600),
    Zone("tournefeuille", "Tournefeuille", ("Pahin", "La Ramée", "Quéfets"),
         ("chemin de Ramelet Moundi", "avenue du Marquisat"),
         ("31557", "Tournefeuille"), centre=(43.5850, 1.3450), radius_m=700),
    Zone("balma", "Balma", ("Vidailhan", "Lasbordes"),
         ("avenue de la Plaine", "chemin de Lasbordes"), ("31044", "Balma"),
         centre=(43.6110, 1.4990), radius_m=600),
    Zone("l-union", "L'Union", ("Les Bourdettes", "Saint-Caprais"),
         ("avenue des Pyrénées", "route de Bessières"), ("31561", "L'Union"),
         centre=(43.6580, 1.4830), radius_m=600),
    Zone("ramonville", "Ramonville", ("Port Sud", "Les Floralies"),
         ("avenue Tolosane", "rue des Floralies"),
         ("31446", "Ramonville-Saint-Agne"), centre=(43.5460, 1.4770),
         radius_m=600),
    Zone("cugnaux", "Cugnaux", ("La Gare", "Les Fontaines"),
         ("avenue de Toulouse", "rue des Fontaines"), ("31157", "Cugnaux"),
         centre=(43.5440, 1.3500), radius_m=500),
    Zone("muret", "Muret", ("Brioudes", "Les Pyrénées"),
         ("avenue Jacques Douzans", "chemin de Brioudes"), ("31395", "Muret"),
         centre=(43.4550, 1.3300), radius_m=600),
    Zone("castanet", "Castanet-Tolosan", ("Les Fontanelles", "Castanet Centre"),
         ("avenue de Toulouse", "rue des Fontanelles"),
         ("31113", "Castanet-Tolosan"), centre=(43.5160, 1.4990), radius_m=500),
    Zone("saint-orens", "Saint-Orens", ("Catala", "Lauzerville"),
         ("avenue de Gameville", "chemin de Catala"),
         ("31506", "Saint-Orens-de-Gameville"), centre=(43.5530, 1.5340),
         radius_m=500),
    Zone("portet", "Portet-sur-Garonne", ("Le Confluent", "Les Lacs"),
         ("route d'Espagne", "allée des Lacs"), ("31433", "Portet-sur-Garonne"),
         centre=(43.5230, 1.4060), radius_m=500),
)  # fmt: skip

ZONES_BY_KEY = {zone.key: zone for zone in ZONES}


@dataclass(frozen=True)
class BailleurSpec:
    """A demo bailleur: its size, how much of it lies in QPV, where, and its agences."""

    code: str
    name: str
    kind: OrganisationKind
    residences: int
    qpv_share: float
    #: Zones where this bailleur is strong (drawn three times as often).
    strongholds: tuple[str, ...]
    #: Agences with an approximate centre (lat, lon); résidences go to the nearest.
    agences: tuple[tuple[str, float, float], ...]
    #: Whether the bailleur only builds in Toulouse Métropole (the OPH).
    metropole_only: bool = False


ESH = OrganisationKind.ESH

#: The bailleurs of the seed report, largest (the OPH) first.
BAILLEURS: tuple[BailleurSpec, ...] = (
    BailleurSpec("TMH", "Toulouse Métropole Habitat", OrganisationKind.OPH, 46, 0.75,
                 ("izards", "reynerie", "bellefontaine", "empalot", "bourbaki",
                  "negreneys", "soupetard", "la-gloire"),
                 (("Agence Toulouse Nord", 43.640, 1.440),
                  ("Agence Mirail", 43.574, 1.402),
                  ("Agence Toulouse Est", 43.610, 1.478),
                  ("Agence Toulouse Sud", 43.572, 1.452)), metropole_only=True),
    BailleurSpec("ALT", "Altéal", ESH, 26, 0.5,
                 ("bagatelle", "arenes", "cepiere", "val-d-aran", "tournefeuille"),
                 (("Agence Toulouse Ouest", 43.588, 1.395),
                  ("Agence Toulouse Est", 43.610, 1.478),
                  ("Agence Nord-Ouest toulousain", 43.625, 1.360))),
    BailleurSpec("PAT", "Patrimoine SA Languedocienne", ESH, 22, 0.55,
                 ("reynerie", "bellefontaine", "mirail", "empalot", "saint-exupery"),
                 (("Agence Toulouse Rive Gauche", 43.580, 1.405),
                  ("Agence Toulouse Rive Droite", 43.612, 1.462),
                  ("Agence Sud toulousain", 43.505, 1.400))),
    BailleurSpec("CHA", "Les Chalets", ESH, 14, 0.45,
                 ("rangueil", "empalot", "bordelongue", "saint-agne"),
                 (("Agence Toulouse Garonne Sud", 43.570, 1.440),
                  ("Agence Toulouse Nord", 43.638, 1.445),
                  ("Agence Colomiers", 43.608, 1.338))),
    BailleurSpec("CJ", "La Cité Jardins", ESH, 12, 0.35,
                 ("barradels", "pradettes", "borderouge", "blagnac"),
                 (("Agence Blagnac", 43.637, 1.390),
                  ("Agence Toulouse", 43.605, 1.440))),
    BailleurSpec("CDC", "CDC Habitat", ESH, 10, 0.4,
                 ("faourette", "soupetard", "montaudran", "balma"),
                 (("Agence Toulouse Métropole", 43.600, 1.440),
                  ("Agence Sud-Est toulousain", 43.550, 1.495))),
    BailleurSpec("PRO", "Promologis", ESH, 12, 0.3,
                 ("izards", "en-jacca", "colomiers", "tournefeuille", "cugnaux"),
                 (("Agence du Grand Toulouse", 43.615, 1.440),
                  ("Agence Ouest toulousain", 43.595, 1.345),
                  ("Agence Sud toulousain", 43.515, 1.420))),
    BailleurSpec("ICF", "ICF Atlantique", ESH, 6, 0.3,
                 ("jolimont", "bourbaki", "minimes", "saint-agne"),
                 (("Agence Toulouse Matabiau", 43.612, 1.455),
                  ("Agence Toulouse Sud", 43.572, 1.452))),
    BailleurSpec("MES", "Mésolia", ESH, 6, 0.2,
                 ("vivier-macon", "muret-saint-jean", "muret", "portet", "castanet"),
                 (("Agence Toulouse", 43.600, 1.440),
                  ("Agence Haute-Garonne Sud", 43.470, 1.340))),
)  # fmt: skip

DEMO_CODES: tuple[str, ...] = tuple(spec.code for spec in BAILLEURS)

#: Résidences of at least this many logements (or in QPV) have a gardien when a sector
#: of 3 or more can be formed around them.
GARDIEN_MIN_LOGEMENTS = 50
SECTOR_RADIUS_M = 2500.0
METRES_PER_DEGREE = 111_320.0


# --------------------------------------------------------------------------------------
# What the facts generator needs to know about the world.
# --------------------------------------------------------------------------------------


@dataclass
class DemoWorld:
    """Ids and arrays describing the demo world, as the facts generator reads them."""

    organisation_ids: list[int]
    organisation_codes: list[str]
    #: Per organisation: the référent's user id (author of facts without a gardien).
    referent_ids: np.ndarray
    #: Per organisation and category code: the category id.
    category_ids: dict[str, np.ndarray]
    residence_ids: np.ndarray
    residence_organisation: np.ndarray  # index into organisation_ids
    residence_latitude: np.ndarray
    residence_longitude: np.ndarray
    residence_logements: np.ndarray
    residence_qpv: np.ndarray  # bool
    residence_gendarmerie: np.ndarray  # bool: gendarmerie rather than police zone
    residence_gardien: np.ndarray  # user id, 0 when the résidence has no gardien
    users: int = 0


class DemoState(enum.Enum):
    """Whether the database holds the demo."""

    ABSENT = "absent"
    LOADED = "loaded"
    #: A demo code (bailleur or federation) is used by data that is not the demo's.
    CONFLICT = "conflict"


def _is_demo_email(email: str) -> bool:
    return email.endswith(DEMO_DOMAIN)


def demo_state() -> tuple[DemoState, list[str]]:
    """Return whether the demo is loaded, and the demo codes already in use."""
    organisations = db.session.execute(
        sa.select(Organisation.id, Organisation.code).where(
            Organisation.code.in_(DEMO_CODES)
        )
    ).all()
    federation_id = db.session.scalar(
        sa.select(Federation.id).where(Federation.code == FEDERATION_CODE)
    )
    used = [row.code for row in organisations]
    if federation_id is not None:
        used.append(FEDERATION_CODE)
    if not used:
        return DemoState.ABSENT, []
    for org_id, _code in organisations:
        emails = db.session.scalars(
            sa.select(User.email).where(User.organisation_id == org_id)
        ).all()
        if not emails or not all(_is_demo_email(email) for email in emails):
            return DemoState.CONFLICT, used
    if federation_id is not None:
        emails = db.session.scalars(
            sa.select(User.email).where(User.federation_id == federation_id)
        ).all()
        if not all(_is_demo_email(email) for email in emails):
            return DemoState.CONFLICT, used
    return DemoState.LOADED, used


def delete_demo() -> None:
    """Delete the demo bailleurs and federation and every row that depends on them.

    Dependent rows are found through the foreign keys of the metadata, so tables added
    later (follow-up, attachments...) are emptied of demo rows too. Call only when
    :func:`demo_state` says the demo is loaded.
    """
    organisation, federation = Organisation.__table__, Federation.__table__
    roots = {
        organisation: organisation.c.code.in_(DEMO_CODES),
        federation: federation.c.code == FEDERATION_CODE,
    }
    # The primary keys of each table's demo rows, as a subquery. Each one is a single
    # IN (... UNION ...), never an OR of INs: PostgreSQL turns the former into a
    # semi-join but runs the latter once per row when a million facts do not fit in
    # work_mem.
    demo_keys: dict[sa.Table, sa.Select | sa.CompoundSelect] = {
        table: sa.select(table.c.id).where(where) for table, where in roots.items()
    }
    # Tables of a newer schema than the database's cannot hold demo rows.
    tables = present_tables()
    for table in tables:
        keys = list(table.primary_key.columns)
        if table in demo_keys or len(keys) != 1:
            continue
        parts = [
            sa.select(keys[0]).where(fk.parent.in_(_referenced(fk, demo_keys)))
            for fk in _demo_foreign_keys(table, demo_keys)
        ]
        if parts:
            demo_keys[table] = parts[0] if len(parts) == 1 else sa.union(*parts)
    with tuned_sqlite():
        for table in reversed(tables):
            for fk in _demo_foreign_keys(table, demo_keys):
                db.session.execute(
                    table.delete().where(fk.parent.in_(_referenced(fk, demo_keys)))
                )
        for table, where in roots.items():
            db.session.execute(table.delete().where(where))
    db.session.flush()
    logger.info("Démo supprimée.")


def _demo_foreign_keys(table: sa.Table, demo_keys: dict) -> list[sa.ForeignKey]:
    """The foreign keys of ``table`` that point at another table with demo rows."""
    return [
        fk
        for fk in sorted(table.foreign_keys, key=lambda fk: fk.parent.name)
        if fk.column.table is not table and fk.column.table in demo_keys
    ]


def _referenced(fk: sa.ForeignKey, demo_keys: dict):
    """A subquery of the values ``fk`` may hold for the parent's demo rows."""
    parent = fk.column.table
    keys = list(parent.primary_key.columns)
    if fk.column is keys[0]:
        return demo_keys[parent]
    return sa.select(fk.column).where(keys[0].in_(demo_keys[parent]))


# --------------------------------------------------------------------------------------
# Building the world.
# --------------------------------------------------------------------------------------


def load_qpv_layer() -> gpd.GeoDataFrame:
    """Return the shipped 2015 QPV layer (WGS84): ``code_qp`` and commune columns."""
    layer = gpd.read_file(QPV_FILE)
    if layer.crs is None:
        layer = layer.set_crs(4326)
    elif layer.crs.to_epsg() != 4326:
        layer = layer.to_crs(4326)
    return layer[["code_qp", "nom_qp", "code_commune", "nom_commune", "geometry"]]


def locate_qpv(
    latitudes: np.ndarray, longitudes: np.ndarray, layer: gpd.GeoDataFrame
) -> list[tuple[str, str, str] | None]:
    """Return, for each point, the (code, INSEE, commune) of the QPV containing it.

    Parameters
    ----------
    latitudes, longitudes : numpy.ndarray
        WGS84 degrees.
    layer : geopandas.GeoDataFrame
        QPV polygons in EPSG:4326, as :func:`load_qpv_layer` returns them.

    Returns
    -------
    list
        ``None`` for a point outside every QPV.
    """
    points = gpd.GeoDataFrame(
        {"i": np.arange(len(latitudes))},
        geometry=gpd.points_from_xy(longitudes, latitudes),
        crs=4326,
    )
    joined = gpd.sjoin(points, layer, how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")].sort_values("i")
    result: list[tuple[str, str, str] | None] = []
    for code, insee, commune in zip(
        joined["code_qp"], joined["code_commune"], joined["nom_commune"], strict=True
    ):
        result.append((code, insee, commune) if isinstance(code, str) else None)
    return result


def _disc_point(
    rng: np.random.Generator, centre: tuple[float, float], radius_m: float
) -> tuple[float, float]:
    distance = radius_m * math.sqrt(rng.random())
    bearing = rng.random() * 2 * math.pi
    lat = centre[0] + distance * math.cos(bearing) / METRES_PER_DEGREE
    lon = centre[1] + distance * math.sin(bearing) / (
        METRES_PER_DEGREE * math.cos(math.radians(centre[0]))
    )
    return lat, lon


def _sample_point(
    rng: np.random.Generator, zone: Zone, layer: gpd.GeoDataFrame
) -> tuple[float, float]:
    """Draw a (lat, lon) in the zone: inside its QPV polygon, near its centre if any."""
    if zone.qpv is None:
        return _disc_point(rng, zone.centre, zone.radius_m)
    polygon = layer.loc[layer["code_qp"] == zone.qpv, "geometry"].iloc[0]
    minx, miny, maxx, maxy = polygon.bounds
    for attempt in range(2000):
        if zone.centre is not None and attempt < 1000:
            lat, lon = _disc_point(rng, zone.centre, zone.radius_m)
        else:
            lat = miny + rng.random() * (maxy - miny)
            lon = minx + rng.random() * (maxx - minx)
        if shapely.contains_xy(polygon, lon, lat):
            return lat, lon
    point = polygon.representative_point()
    return point.y, point.x


def _draw_zones(rng: np.random.Generator, spec: BailleurSpec) -> list[Zone]:
    """Draw a zone per résidence: QPV zones for ``qpv_share`` of them, others else."""
    n_qpv = round(spec.residences * spec.qpv_share)
    zones = []
    for in_qpv, count in ((True, n_qpv), (False, spec.residences - n_qpv)):
        pool = [
            zone
            for zone in ZONES
            if (zone.qpv is not None) == in_qpv
            and (not spec.metropole_only or zone.commune[0] in METROPOLE_COMMUNES)
        ]
        weights = np.array(
            [3.0 if zone.key in spec.strongholds else 1.0 for zone in pool]
        )
        picks = rng.choice(len(pool), size=count, p=weights / weights.sum())
        zones.extend(pool[i] for i in picks)
    return zones


def _logements(rng: np.random.Generator, in_qpv: bool, oph: bool) -> int:
    """Draw a skewed number of logements (20–600): large estates in QPV."""
    median = (200 if oph else 150) if in_qpv else 60
    value = rng.lognormal(math.log(median), 0.6 if in_qpv else 0.7)
    return int(min(600, max(20, round(value))))


def _distance_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Equirectangular distance in metres (enough at the scale of a city)."""
    dy = (np.asarray(lat2) - lat1) * METRES_PER_DEGREE
    dx = (
        (np.asarray(lon2) - lon1)
        * METRES_PER_DEGREE
        * np.cos(np.radians((np.asarray(lat2) + lat1) / 2))
    )
    return np.hypot(dx, dy)


@dataclass
class _DraftResidence:
    zone: Zone
    latitude: float
    longitude: float
    logements: int
    residence: Residence | None = None


def _create_residences(
    rng: np.random.Generator,
    spec: BailleurSpec,
    organisation: Organisation,
    agences: list[Agence],
    layer: gpd.GeoDataFrame,
) -> list[_DraftResidence]:
    drafts = []
    for zone in _draw_zones(rng, spec):
        lat, lon = _sample_point(rng, zone, layer)
        # Rounded before the spatial join, so that the stored point is the one tested.
        drafts.append(_DraftResidence(zone, round(lat, 6), round(lon, 6), 0))
    qpvs = locate_qpv(
        np.array([d.latitude for d in drafts]),
        np.array([d.longitude for d in drafts]),
        layer,
    )
    numbers = np.sort(rng.choice(np.arange(1, 2000), size=len(drafts), replace=False))
    centres = np.array([(lat, lon) for _, lat, lon in spec.agences])
    names: set[str] = set()
    for draft, qpv, number in zip(drafts, qpvs, numbers, strict=True):
        zone = draft.zone
        draft.logements = _logements(
            rng, qpv is not None, spec.kind is OrganisationKind.OPH
        )
        toponym = zone.names[rng.integers(len(zone.names))]
        name = f"Résidence {toponym}" if rng.random() < 0.55 else toponym
        base, rank = name, 1
        while name in names:
            rank += 1
            name = f"{base} {_roman(rank)}"
        names.add(name)
        insee, commune = (qpv[1], qpv[2]) if qpv else zone.commune
        nearest = int(
            np.argmin(
                _distance_m(
                    draft.latitude, draft.longitude, centres[:, 0], centres[:, 1]
                )
            )
        )
        street = zone.streets[rng.integers(len(zone.streets))]
        draft.residence = Residence(
            organisation_id=organisation.id,
            agence_id=agences[nearest].id,
            reference=f"{spec.code}-R{number:04d}",
            name=name,
            address=f"{rng.integers(1, 121)} {street}",
            commune_insee=insee,
            commune_name=commune,
            logements=draft.logements,
            qpv_code=qpv[0] if qpv else None,
            qpv_generation=QPV_GENERATION if qpv else None,
            latitude=draft.latitude,
            longitude=draft.longitude,
        )
        db.session.add(draft.residence)
    db.session.flush()
    return drafts


def _roman(rank: int) -> str:
    return {2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI"}.get(rank, str(rank))


def _sectors(
    rng: np.random.Generator, drafts: list[_DraftResidence]
) -> list[list[_DraftResidence]]:
    """Group résidences into gardien sectors of 3–8 nearby résidences of one agence.

    Small résidences outside QPV have no gardien, nor do isolated ones; their facts are
    filed by the référent.
    """
    sectors = []
    eligible = [
        d
        for d in drafts
        if d.residence.qpv_code or d.logements >= GARDIEN_MIN_LOGEMENTS
    ]
    by_agence: dict[int, list[_DraftResidence]] = {}
    for draft in eligible:
        by_agence.setdefault(draft.residence.agence_id, []).append(draft)
    for members in by_agence.values():
        free = sorted(members, key=lambda d: -d.logements)
        while free:
            seed = free[0]
            gaps = _distance_m(
                seed.latitude,
                seed.longitude,
                [d.latitude for d in free],
                [d.longitude for d in free],
            )
            order = [
                i for i in np.argsort(gaps, kind="stable") if gaps[i] <= SECTOR_RADIUS_M
            ]
            size = int(rng.integers(3, 9))
            chosen = [free[i] for i in order[:size]]
            if len(chosen) < 3:
                free.remove(seed)
                continue
            sectors.append(chosen)
            free = [d for d in free if all(d is not c for c in chosen)]
    # The first gardien of a bailleur (the documented login) gets the busiest sector.
    sectors.sort(
        key=lambda s: -sum(d.logements for d in s if d.residence.qpv_code is not None)
    )
    return sectors


def _fallback_sector(drafts: list[_DraftResidence]) -> list[_DraftResidence]:
    """The largest résidence and its two nearest neighbours (a documented gardien's)."""
    seed = max(drafts, key=lambda d: d.logements)
    gaps = _distance_m(
        seed.latitude,
        seed.longitude,
        [d.latitude for d in drafts],
        [d.longitude for d in drafts],
    )
    return [drafts[i] for i in np.argsort(gaps, kind="stable")[:3]]


def _create_people(
    rng: np.random.Generator,
    spec: BailleurSpec,
    organisation: Organisation,
    agences: dict[str, Agence],
    drafts: list[_DraftResidence],
) -> tuple[User, dict[int, int], int]:
    """Create the bailleur's accounts; return its référent, the gardien of each
    résidence id and the number of accounts."""
    logins = [login for login in DEMO_LOGINS if login.affiliation == spec.code]
    sectors = _sectors(rng, drafts)
    if not sectors and any(login.role is Role.GARDIEN for login in logins):
        sectors = [_fallback_sector(drafts)]
    referent = None
    count = 0
    for login in logins:
        if login.role is Role.GARDIEN:
            continue  # created below with their sector
        agence = agences[login.agence] if login.agence else None
        names = {
            Role.REFERENT: f"Référent sûreté {spec.code}",
            Role.DIRECTION: f"Direction {spec.code}",
            Role.ADMIN: f"Administrateur {spec.code}",
        }
        user = create_user(
            email=login.email,
            name=(
                f"Chef d'agence {agence.name.removeprefix('Agence ')} ({spec.code})"
                if agence
                else names[login.role]
            ),
            password=login.password,
            role=login.role,
            organisation=organisation,
            agence=agence,
        )
        count += 1
        if login.role is Role.REFERENT:
            referent = user
    if referent is None:  # every demo bailleur has a documented référent
        raise RuntimeError(f"Pas de référent de démo pour {spec.code}.")
    gardien_of: dict[int, int] = {}
    for rank, sector in enumerate(sectors, start=1):
        gardien = create_user(
            email=gardien_email(spec.code, rank),
            name=f"Gardien {spec.code} secteur {sector[0].zone.label}",
            password=DEMO_PASSWORDS[Role.GARDIEN],
            role=Role.GARDIEN,
            organisation=organisation,
            sector=[d.residence for d in sector],
        )
        count += 1
        for draft in sector:
            gardien_of[draft.residence.id] = gardien.id
    return referent, gardien_of, count


def build_world(seed: int) -> DemoWorld:
    """Create the demo bailleurs, agences, résidences, federation and accounts (flushed,
    not committed); return what the facts generator needs."""
    rng = np.random.default_rng([seed, 0])
    layer = load_qpv_layer()
    org_ids, org_codes, referent_ids = [], [], []
    columns: dict[str, list] = {
        key: []
        for key in (
            "id",
            "org",
            "lat",
            "lon",
            "logements",
            "qpv",
            "gendarmerie",
            "gardien",
        )
    }
    users = 0
    for index, spec in enumerate(BAILLEURS):
        organisation = create_organisation(
            code=spec.code, name=spec.name, kind=spec.kind, region=REGION
        )
        agences = _create_agences(spec, organisation)
        drafts = _create_residences(
            rng, spec, organisation, [agences[a[0]] for a in spec.agences], layer
        )
        referent, gardien_of, count = _create_people(
            rng, spec, organisation, agences, drafts
        )
        users += count
        org_ids.append(organisation.id)
        org_codes.append(organisation.code)
        referent_ids.append(referent.id)
        for draft in drafts:
            _add_residence(columns, draft.residence, index, gardien_of)
    users += _create_federation()

    world = DemoWorld(
        organisation_ids=org_ids,
        organisation_codes=org_codes,
        referent_ids=np.array(referent_ids, dtype=np.int64),
        category_ids=_category_ids(org_ids),
        residence_ids=np.array(columns["id"], dtype=np.int64),
        residence_organisation=np.array(columns["org"], dtype=np.int64),
        residence_latitude=np.array(columns["lat"], dtype=float),
        residence_longitude=np.array(columns["lon"], dtype=float),
        residence_logements=np.array(columns["logements"], dtype=np.int64),
        residence_qpv=np.array(columns["qpv"], dtype=bool),
        residence_gendarmerie=np.array(columns["gendarmerie"], dtype=bool),
        residence_gardien=np.array(columns["gardien"], dtype=np.int64),
        users=users,
    )
    logger.info(
        "Monde de démo : %d bailleurs, %d résidences, %d comptes.",
        len(org_ids),
        len(world.residence_ids),
        users,
    )
    return world


def _create_agences(
    spec: BailleurSpec, organisation: Organisation
) -> dict[str, Agence]:
    """Create a demo bailleur's agences (flushed); return them by name."""
    agences = {}
    for name, _lat, _lon in spec.agences:
        agence = Agence(organisation_id=organisation.id, name=name)
        db.session.add(agence)
        agences[name] = agence
    db.session.flush()
    return agences


def _add_residence(
    columns: dict[str, list], residence: Residence, index: int, gardien_of: dict
) -> None:
    """Append a résidence to the world's columns (``index``: its bailleur's rank)."""
    columns["id"].append(residence.id)
    columns["org"].append(index)
    columns["lat"].append(residence.latitude)
    columns["lon"].append(residence.longitude)
    columns["logements"].append(residence.logements)
    columns["qpv"].append(residence.qpv_code is not None)
    columns["gendarmerie"].append(residence.commune_insee in GENDARMERIE_COMMUNES)
    columns["gardien"].append(gardien_of.get(residence.id, 0))


def _create_federation() -> int:
    """Create the demo federation and its accounts (flushed); return their number."""
    federation = Federation(code=FEDERATION_CODE, name=FEDERATION_NAME, region=REGION)
    db.session.add(federation)
    db.session.flush()
    users = 0
    for login in DEMO_LOGINS:
        if login.role is Role.FEDERATION:
            create_user(
                email=login.email,
                name=f"Chargé de mission sécurité {FEDERATION_NAME}",
                password=login.password,
                role=Role.FEDERATION,
                federation=federation,
            )
            users += 1
    return users


def _category_ids(org_ids: list[int]) -> dict[str, np.ndarray]:
    """Return, per category code, each organisation's category id (0 if missing)."""
    rows = db.session.execute(
        sa.select(Category.organisation_id, Category.code, Category.id).where(
            Category.organisation_id.in_(org_ids), Category.active.is_(True)
        )
    ).all()
    position = {org_id: i for i, org_id in enumerate(org_ids)}
    result: dict[str, np.ndarray] = {}
    for org_id, code, category_id in rows:
        ids = result.setdefault(code, np.zeros(len(org_ids), dtype=np.int64))
        ids[position[org_id]] = category_id
    return result


def list_demo_accounts() -> list[tuple[DemoLogin, User]]:
    """Return the documented demo logins that exist in the database, with their user."""
    users = {
        user.email: user
        for user in db.session.scalars(
            sa.select(User).where(
                User.email.in_([login.email for login in DEMO_LOGINS])
            )
        )
    }
    return [
        (login, users[login.email]) for login in DEMO_LOGINS if login.email in users
    ]


def list_other_gardiens() -> list[str]:
    """Return the e-mails of the demo gardiens beyond the documented ones."""
    documented = [login.email for login in DEMO_LOGINS]
    return list(
        db.session.scalars(
            sa.select(User.email)
            .where(
                User.role == Role.GARDIEN,
                User.email.like(f"%{DEMO_DOMAIN}"),
                User.email.not_in(documented),
            )
            .order_by(User.id)
        )
    )
