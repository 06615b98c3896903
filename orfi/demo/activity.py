"""A year of security activity on top of the demo world, in the proportions of the
USH Occitanie mission's 2021 report.

The federation's chargé de mission gets the report's meetings (38 « politique de la
ville », 43 « sécurité », 18 cellules de veille, 7 GPO, 14 commissions de
vidéoprotection, 6 réunions squats and the one-off meetings), its 264 interventions
split by bailleur (86 for Toulouse Métropole Habitat, 60 for Altéal…) and 228 daily
syntheses. Each bailleur's référent gets a smaller log of their own, with interventions
linked to their facts; most facts of gravity 3 or 4 get follow-up actions (and the
status that goes with them) and, when a complaint was filed, its details.

Works on an existing demo world (``orfi demo``); bailleurs missing from the world are
skipped. Everything is flushed, not committed.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from orfi.activity.models import (
    Meeting,
    MeetingKind,
    PartnerIntervention,
    intervention_report,
    meeting_organisation,
    meeting_residence,
)
from orfi.auth.models import Federation, Role, User
from orfi.extensions import db
from orfi.followup.models import (
    ActionKind,
    Complaint,
    ComplaintFiler,
    ComplaintKind,
    FollowupAction,
    Partner,
)
from orfi.followup.services import EVENT_KIND
from orfi.nomenclature.models import Category
from orfi.patrimoine.models import Organisation, Residence
from orfi.reports.models import Report, ReportEvent, Status, Suite
from orfi.stats.filters import default_period
from orfi.syntheses.models import Synthesis
from orfi.syntheses.services import federation_perimeter, notable_condition
from orfi.timezone import from_local, now_local, to_local

logger = logging.getLogger(__name__)

#: The federation's meetings in a year, by kind (the seed report's counts).
MEETINGS: dict[MeetingKind, int] = {
    MeetingKind.POLITIQUE_VILLE: 38,
    MeetingKind.SECURITE: 43,
    MeetingKind.CLSPD: 18,
    MeetingKind.GPO: 7,
    MeetingKind.VIDEOPROTECTION: 14,
    MeetingKind.SQUATS: 6,
    MeetingKind.AUTRE: 17,
}
#: The federation's interventions in a year, by bailleur code (the seed's order).
INTERVENTIONS: dict[str, int] = {
    "TMH": 86, "ALT": 60, "PAT": 44, "CHA": 22, "CJ": 21,
    "CDC": 13, "PRO": 9, "ICF": 6, "MES": 3,
}  # fmt: skip
#: Daily syntheses the chargé de mission wrote in a year (working days only).
FEDERATION_SYNTHESES = 228
#: Share of the grave facts still nouveau or qualifié after a few days that got an
#: action anyway (the rest feed the overdue list).
LATE_ACTION_SHARE = 0.75

SUBJECTS: dict[MeetingKind, tuple[str, ...]] = {
    MeetingKind.POLITIQUE_VILLE: (
        "Climat dans les quartiers prioritaires et retours des délégués du préfet",
        "Point sur les quartiers avec la sous-préfète à la politique de la ville",
        "Copropriétés dégradées : plan d'aide de l'État",
    ),
    MeetingKind.SECURITE: (
        "Réunion sécurité départementale sous la présidence du préfet",
        "Faits marquants dans les quartiers sensibles du département",
        "Quartiers de reconquête républicaine : point avec le directeur de cabinet",
    ),
    MeetingKind.CLSPD: (
        "Cellule territoriale de veille {zone}",
        "Micro-CTPS {zone} : point par quartier",
    ),
    MeetingKind.GPO: ("GPO {zone} : trois semaines de pression sur un point de deal",),
    MeetingKind.VIDEOPROTECTION: (
        "Commission départementale de vidéoprotection : examen des dossiers",
    ),
    MeetingKind.SQUATS: (
        "Tableau de suivi partagé des squats de l'agglomération",
        "Priorités d'évacuation des occupants sans droit ni titre",
    ),
    MeetingKind.AUTRE: (
        "Rencontre des référents sûreté des bailleurs",
        "Présentation de la mission sécurité à une nouvelle direction d'agence",
        "Audit de sécurité avec le référent sûreté de la police nationale",
        "Assemblée générale de l'association régionale",
        "Présentation de l'outil de recueil des faits d'incivilité",
        "Commission consultative de sécurité et d'accessibilité",
    ),
}
PARTNERS: dict[MeetingKind, tuple[Partner, ...]] = {
    MeetingKind.POLITIQUE_VILLE: (Partner.PREFECTURE, Partner.MAIRIE),
    MeetingKind.SECURITE: (
        Partner.PREFECTURE,
        Partner.POLICE_NATIONALE,
        Partner.GENDARMERIE,
        Partner.PARQUET,
    ),
    MeetingKind.CLSPD: (
        Partner.MAIRIE,
        Partner.POLICE_MUNICIPALE,
        Partner.POLICE_NATIONALE,
    ),
    MeetingKind.GPO: (Partner.POLICE_NATIONALE, Partner.MAIRIE),
    MeetingKind.VIDEOPROTECTION: (Partner.PREFECTURE,),
    MeetingKind.SQUATS: (
        Partner.PREFECTURE,
        Partner.POLICE_NATIONALE,
        Partner.MAIRIE,
    ),
    MeetingKind.AUTRE: (
        Partner.AUTRE_BAILLEUR,
        Partner.POLICE_NATIONALE,
        Partner.PREFECTURE,
        Partner.MAIRIE,
    ),
}
_POLICE_NOTE = (
    "Constat présenté par la police ; les bailleurs ont fait part des difficultés "
    "rencontrées au quotidien."
)
NOTES: dict[MeetingKind, tuple[str, ...]] = {
    MeetingKind.SECURITE: (
        _POLICE_NOTE,
        "Décision de concentrer les efforts sur deux adresses très touchées par les "
        "trafics, puis de déplacer la pression sur deux autres sites.",
        "",
    ),
    MeetingKind.POLITIQUE_VILLE: (
        "Retours du tissu associatif par les délégués du préfet sur le climat des "
        "quartiers.",
        "",
    ),
    MeetingKind.CLSPD: (
        "Point par quartier ; solutions techniques proposées (contrôle d'accès, "
        "éclairage, condamnation de caves).",
        "",
    ),
    MeetingKind.GPO: (_POLICE_NOTE, ""),
    MeetingKind.SQUATS: (
        "Classement des lieux à évacuer par ordre de priorité selon les "
        "informations transmises.",
        "",
    ),
}
INTERVENTION_SUBJECTS = (
    "Demande de patrouilles aux abords d'un hall occupé",
    "Signalement d'un point de deal installé en pied d'immeuble",
    "Suivi d'une plainte pour agression d'un gardien",
    "Demande d'évacuation d'un logement squatté",
    "Rodéos motorisés : demande d'intervention",
    "Dégradations répétées du contrôle d'accès",
    "Incendies de véhicules sur le parking : suivi de l'enquête",
    "Occupation de cave : demande de passage",
    "Réponse apportée sur l'avancement d'une procédure",
    "Mise en relation avec le correspondant sécurité de la circonscription",
)
GENDARMERIE_COMMUNES = frozenset({"31395", "31113", "31506", "31433"})


def _working_days(first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _at(day: date, hour: int, rng: random.Random) -> datetime:
    return from_local(datetime.combine(day, time(hour, rng.randrange(60))))


def _pick_weighted(rng: random.Random, weights: dict, k: int) -> list:
    chosen: list = []
    pool = dict(weights)
    while pool and len(chosen) < k:
        item = rng.choices(list(pool), weights=list(pool.values()))[0]
        chosen.append(item)
        del pool[item]
    return chosen


class _Generator:
    """One generation run: the random draws and what was written."""

    def __init__(self, seed: int | None, today: date):
        self.rng = random.Random(seed)
        self.today = today
        # The statistics' and bilan's default period (twelve months to today): a
        # meeting a day earlier fell outside the bilan on some days of the year.
        self.first = default_period(today).start
        self.last = today - timedelta(days=1)
        self.days = _working_days(self.first, self.last)
        self.counts: Counter[str] = Counter()
        self.organisations = {
            o.code: o
            for o in db.session.scalars(
                db.select(Organisation).where(Organisation.code.in_(_demo_codes()))
            )
        }
        self.residences: dict[int, list[Residence]] = {}
        for residence in db.session.scalars(
            db.select(Residence).where(
                Residence.organisation_id.in_(
                    [o.id for o in self.organisations.values()]
                )
            )
        ):
            self.residences.setdefault(residence.organisation_id, []).append(residence)
        self.referents = {
            user.organisation_id: user
            for user in db.session.scalars(
                db.select(User)
                .where(User.role == Role.REFERENT, User.active.is_(True))
                .order_by(User.id.desc())
            )
        }

    # ----------------------------------------------------------------------------------

    def _zone_of(self, residence: Residence) -> str:
        return residence.name.removeprefix("Résidence ")

    def _meeting(
        self,
        *,
        kind: MeetingKind,
        day: date,
        author: User,
        organisation_id: int | None = None,
        federation_id: int | None = None,
        bailleurs: list[Organisation] = (),
        residences: list[Residence] = (),
    ) -> None:
        rng = self.rng
        zone = self._zone_of(residences[0]) if residences else "Toulouse"
        subject = rng.choice(SUBJECTS[kind]).format(zone=zone)
        partners = list(PARTNERS[kind])
        rng.shuffle(partners)
        meeting = Meeting(
            organisation_id=organisation_id,
            federation_id=federation_id,
            held_on=day,
            kind=kind,
            subject=subject,
            partners=[p.value for p in partners[: rng.randint(1, len(partners))]],
            notes=rng.choice(NOTES.get(kind, ("",))),
            created_by_id=author.id,
            created_at=_at(day, 18, rng),
        )
        db.session.add(meeting)
        db.session.flush()
        if bailleurs:
            db.session.execute(
                meeting_organisation.insert(),
                [
                    {"meeting_id": meeting.id, "organisation_id": o.id}
                    for o in {o.id: o for o in bailleurs}.values()
                ],
            )
        if residences:
            db.session.execute(
                meeting_residence.insert(),
                [
                    {"meeting_id": meeting.id, "residence_id": r.id}
                    for r in {r.id: r for r in residences}.values()
                ],
            )
        self.counts["meetings"] += 1

    def _qpv_residence(self, organisation: Organisation) -> Residence | None:
        candidates = self.residences.get(organisation.id, [])
        in_qpv = [r for r in candidates if r.qpv_code]
        pool = in_qpv or candidates
        return self.rng.choice(pool) if pool else None

    def federation_meetings(self, federation: Federation, author: User) -> None:
        """The chargé de mission's meetings, in the seed report's counts."""
        rng = self.rng
        weights = {
            code: INTERVENTIONS.get(code, 1)
            for code in self.organisations
            if code in INTERVENTIONS
        }
        for kind, count in MEETINGS.items():
            for _ in range(count):
                day = rng.choice(self.days)
                bailleurs: list[Organisation] = []
                residences: list[Residence] = []
                if kind in (MeetingKind.CLSPD, MeetingKind.GPO, MeetingKind.SQUATS):
                    codes = _pick_weighted(rng, weights, rng.randint(1, 3))
                    bailleurs = [self.organisations[c] for c in codes]
                    if kind is not MeetingKind.SQUATS:
                        residence = self._qpv_residence(bailleurs[0])
                        residences = [residence] if residence else []
                elif kind in (MeetingKind.SECURITE, MeetingKind.AUTRE) and (
                    rng.random() < 0.3
                ):
                    codes = [c for c in ("TMH", "PAT", "CHA") if c in weights]
                    bailleurs = [self.organisations[c] for c in codes]
                self._meeting(
                    kind=kind,
                    day=day,
                    author=author,
                    federation_id=federation.id,
                    bailleurs=bailleurs,
                    residences=residences,
                )

    def _partner_for(self, residence: Residence | None) -> Partner:
        roll = self.rng.random()
        if residence is not None and residence.commune_insee in GENDARMERIE_COMMUNES:
            return Partner.GENDARMERIE if roll < 0.8 else Partner.PREFECTURE
        if roll < 0.7:
            return Partner.POLICE_NATIONALE
        if roll < 0.88:
            return Partner.PREFECTURE
        return Partner.POLICE_MUNICIPALE

    def _intervention(
        self,
        *,
        beneficiary: Organisation,
        day: date,
        author: User,
        organisation_id: int | None = None,
        federation_id: int | None = None,
        report_ids: list[int] = (),
        residence: Residence | None = None,
    ) -> None:
        rng = self.rng
        if residence is None and rng.random() < 0.7:
            residence = rng.choice(self.residences.get(beneficiary.id, [None]))
        intervention = PartnerIntervention(
            organisation_id=organisation_id,
            federation_id=federation_id,
            beneficiary_id=beneficiary.id,
            done_on=day,
            partner=self._partner_for(residence),
            subject=rng.choice(INTERVENTION_SUBJECTS),
            notes="",
            residence_id=residence.id if residence else None,
            created_by_id=author.id,
            created_at=_at(day, 17, rng),
        )
        db.session.add(intervention)
        db.session.flush()
        if report_ids:
            db.session.execute(
                intervention_report.insert(),
                [
                    {"intervention_id": intervention.id, "report_id": rid}
                    for rid in dict.fromkeys(report_ids)
                ],
            )
        self.counts["interventions"] += 1

    def federation_interventions(self, federation: Federation, author: User) -> None:
        """The 264 interventions of the report, split by bailleur as in the seed."""
        for code, count in INTERVENTIONS.items():
            organisation = self.organisations.get(code)
            if organisation is None:
                continue
            for _ in range(count):
                self._intervention(
                    beneficiary=organisation,
                    day=self.rng.choice(self.days),
                    author=author,
                    federation_id=federation.id,
                )

    def _grave_query(self) -> sa.Select:
        return (
            db.select(
                Report.id,
                Report.organisation_id,
                Report.residence_id,
                Report.occurred_at,
                Report.created_at,
                Report.status,
                Report.suite,
                Residence.commune_insee,
            )
            .join(Residence, Report.residence_id == Residence.id)
            .where(
                Report.organisation_id.in_([o.id for o in self.organisations.values()]),
                Report.gravity >= 3,
                Report.duplicate_of_id.is_(None),
            )
        )

    def organisation_logs(self) -> None:
        """Each référent's smaller log: local meetings and interventions on facts."""
        rng = self.rng
        since = from_local(datetime.combine(self.first, time.min))
        for organisation in self.organisations.values():
            referent = self.referents.get(organisation.id)
            if referent is None:
                continue
            size = INTERVENTIONS.get(organisation.code, 5)
            for _ in range(max(3, size // 6)):
                kind = rng.choice(
                    (MeetingKind.CLSPD, MeetingKind.CLSPD, MeetingKind.GPO)
                    + (MeetingKind.AUTRE,)
                )
                residence = self._qpv_residence(organisation)
                self._meeting(
                    kind=kind,
                    day=rng.choice(self.days),
                    author=referent,
                    organisation_id=organisation.id,
                    bailleurs=[organisation],
                    residences=[residence] if residence else [],
                )
            facts = db.session.execute(
                self._grave_query()
                .where(
                    Report.organisation_id == organisation.id,
                    Report.occurred_at >= since,
                )
                .order_by(Report.id)
            ).all()
            residences = {r.id: r for r in self.residences.get(organisation.id, [])}
            for fact in rng.sample(facts, min(len(facts), max(2, size // 3))):
                occurred = to_local(fact.occurred_at).date()
                self._intervention(
                    beneficiary=organisation,
                    day=min(self.last, occurred + timedelta(rng.randint(0, 5))),
                    author=referent,
                    organisation_id=organisation.id,
                    report_ids=[fact.id],
                    residence=residences.get(fact.residence_id),
                )

    # ----------------------------------------------------------------------------------

    def follow_up(self, batch_size: int = 20_000) -> None:
        """Actions (and complaint details) on most grave facts, status in step.

        Facts are read and written in batches (keyset on the id), so that memory stays
        flat whatever the number of facts.
        """
        last_id = 0
        while True:
            rows = db.session.execute(
                self._grave_query()
                .where(Report.id > last_id)
                .order_by(Report.id)
                .limit(batch_size)
            ).all()
            if not rows:
                break
            last_id = rows[-1].id
            self._follow_up_batch(rows)

    def _follow_up_batch(self, rows: list) -> None:
        """Write the follow-up of a batch of grave facts, in a few bulk statements."""
        actions, events, complaints, moves = [], [], [], []
        for row in rows:
            referent = self.referents.get(row.organisation_id)
            if referent is None:
                continue
            created = to_local(row.created_at)
            age = (self.today - created.date()).days
            if row.status in (Status.NOUVEAU, Status.QUALIFIE) and (
                age < 3 or self.rng.random() > LATE_ACTION_SHARE
            ):
                continue
            current = self._actions(row, referent, created, actions, events)
            if current is not row.status:
                moves.append({"b_id": row.id, "b_status": current.value})
            complaint = self._complaint(row, referent, created)
            if complaint is not None:
                complaints.append(complaint)
        for table, values in (
            (FollowupAction.__table__, actions),
            (ReportEvent.__table__, events),
            (Complaint.__table__, complaints),
        ):
            if values:
                db.session.execute(table.insert(), values)
        if moves:
            report = Report.__table__
            db.session.execute(
                report.update()
                .where(report.c.id == sa.bindparam("b_id"))
                .values(status=sa.bindparam("b_status")),
                moves,
            )
        db.session.flush()
        self.counts["actions"] += len(actions)
        self.counts["complaints"] += len(complaints)

    def _steps(self, row, created: datetime) -> tuple[date, list]:
        """Return the day of a fact's first action and its (kind, partner) steps."""
        rng = self.rng
        police = (
            Partner.GENDARMERIE
            if row.commune_insee in GENDARMERIE_COMMUNES
            else Partner.POLICE_NATIONALE
        )
        day = min(self.today, created.date() + timedelta(rng.randint(0, 2)))
        first = rng.choice((ActionKind.SIGNALEMENT, ActionKind.DEMANDE_INTERVENTION))
        steps = [(first, police)]
        if row.suite in (Suite.PLAINTE_BAILLEUR, Suite.PLAINTE_VICTIME):
            steps.append((ActionKind.PLAINTE_ACCOMPAGNEE, police))
        if rng.random() < 0.1:
            steps.append((ActionKind.INSTANCE, Partner.MAIRIE))
        if row.status is Status.CLOS:
            answer = rng.choice((police, Partner.PARQUET))
            steps.append((ActionKind.REPONSE_RECUE, answer))
        return day, steps

    def _actions(
        self, row, referent: User, created: datetime, actions: list, events: list
    ) -> Status:
        """Add a fact's actions and their events; return the fact's status after."""
        rng = self.rng
        day, steps = self._steps(row, created)
        current = row.status
        for index, (kind, partner) in enumerate(steps):
            if index:
                day = min(self.today, day + timedelta(rng.randint(1, 20)))
            changes = {}
            if current in (Status.NOUVEAU, Status.QUALIFIE):
                changes = {"status": [current.value, Status.TRANSMIS.value]}
                current = Status.TRANSMIS
            at = max(_at(day, rng.randint(8, 18), rng), created + timedelta(minutes=10))
            actions.append(
                {
                    "report_id": row.id,
                    "done_on": day,
                    "kind": kind,
                    "partner": partner,
                    "note": "",
                    "author_id": referent.id,
                    "created_at": at,
                }
            )
            events.append(
                {
                    "report_id": row.id,
                    "user_id": referent.id,
                    "at": at,
                    "kind": EVENT_KIND,
                    "changes": changes,
                    "comment": f"Suivi : {kind.label} ({partner.label})",
                }
            )
        return current

    def _complaint(self, row, referent: User, created: datetime) -> dict | None:
        """Return the complaint details of a fact with a complaint, else None."""
        suite = row.suite
        if suite in (Suite.PLAINTE_BAILLEUR, Suite.PLAINTE_VICTIME):
            kind = ComplaintKind.PLAINTE
        elif suite is Suite.MAIN_COURANTE:
            kind = ComplaintKind.MAIN_COURANTE
        else:
            return None
        return {
            "report_id": row.id,
            "kind": kind,
            "filed_by": ComplaintFiler.VICTIME
            if suite is Suite.PLAINTE_VICTIME
            else ComplaintFiler.BAILLEUR,
            "filed_on": created.date(),
            "reference": f"{created.year}/{row.id:06d}",
            "sworn_agent_pv": self.rng.random() < 0.15,
            "updated_by_id": referent.id,
            "updated_at": datetime.now(UTC),
        }

    # ----------------------------------------------------------------------------------

    def syntheses(self, federation: Federation | None) -> None:
        """The federation's 228 syntheses and each direction's daily ones."""
        ids = [o.id for o in self.organisations.values()]
        by_org, by_agence = self._notable_counts(ids)
        records = []
        if federation is not None:
            records += self._federation_records(federation, by_org)
        directions = db.session.execute(
            db.select(User.organisation_id, User.agence_id, sa.func.count())
            .where(
                User.role == Role.DIRECTION,
                User.active.is_(True),
                User.organisation_id.in_(ids),
            )
            .group_by(User.organisation_id, User.agence_id)
        )
        for organisation_id, agence_id, recipients in directions:
            for day in self.days:
                if agence_id is None:
                    records.append(
                        self._record(
                            f"organisation:{organisation_id}",
                            day,
                            by_org[(organisation_id, day)],
                            recipients,
                            organisation_id=organisation_id,
                        )
                    )
                else:
                    records.append(
                        self._record(
                            f"agence:{agence_id}",
                            day,
                            by_agence[(agence_id, day)],
                            recipients,
                            organisation_id=organisation_id,
                            agence_id=agence_id,
                        )
                    )
        for start_row in range(0, len(records), 5000):
            db.session.execute(
                Synthesis.__table__.insert(), records[start_row : start_row + 5000]
            )
        db.session.flush()
        self.counts["syntheses"] += len(records)

    def _notable_counts(
        self, ids: list[int]
    ) -> tuple[Counter[tuple[int, date]], Counter[tuple[int, date]]]:
        """Return the notable facts per (organisation, day) and per (agence, day)."""
        start = from_local(datetime.combine(self.first, time.min))
        end = from_local(datetime.combine(self.today, time.min))
        rows = db.session.execute(
            db.select(Report.organisation_id, Residence.agence_id, Report.occurred_at)
            .execution_options(yield_per=50_000)
            .select_from(Report)
            .join(Residence, Report.residence_id == Residence.id)
            .join(Category, Report.category_id == Category.id)
            .where(
                Report.organisation_id.in_(ids),
                Report.duplicate_of_id.is_(None),
                Report.occurred_at >= start,
                Report.occurred_at < end,
                notable_condition(),
            )
        )
        by_org: Counter[tuple[int, date]] = Counter()
        by_agence: Counter[tuple[int, date]] = Counter()
        for organisation_id, agence_id, occurred in rows:
            day = to_local(occurred).date()
            by_org[(organisation_id, day)] += 1
            if agence_id is not None:
                by_agence[(agence_id, day)] += 1
        return by_org, by_agence

    def _federation_records(
        self, federation: Federation, by_org: Counter[tuple[int, date]]
    ) -> list[dict]:
        """Return the federation's syntheses, on days drawn among the demo's."""
        perimeter = federation_perimeter(federation)
        recipients = db.session.scalar(
            db.select(sa.func.count()).where(User.federation_id == federation.id)
        )
        days = sorted(
            self.rng.sample(self.days, min(FEDERATION_SYNTHESES, len(self.days)))
        )
        return [
            self._record(
                perimeter.key,
                day,
                sum(n for (_, d), n in by_org.items() if d == day),
                recipients,
                federation_id=federation.id,
            )
            for day in days
        ]

    def _record(self, key: str, day: date, total: int, recipients: int, **ids) -> dict:
        sent = _at(day + timedelta(days=1), 7, self.rng)
        return {
            "day": day,
            "perimeter_key": key,
            "organisation_id": ids.get("organisation_id"),
            "agence_id": ids.get("agence_id"),
            "federation_id": ids.get("federation_id"),
            "notable_count": total,
            "generated_at": sent,
            "sent_at": sent,
            "recipients_count": recipients,
        }


def _demo_codes() -> tuple[str, ...]:
    """Return the demo bailleur codes (late import: orfi.demo.world needs geopandas)."""
    from orfi.demo.world import DEMO_CODES

    return DEMO_CODES


def generate_activity(seed: int | None = None) -> dict:
    """Add a year of meetings, interventions, follow-up actions and syntheses to the
    demo world; return how many of each were written."""
    from orfi.demo.world import FEDERATION_CODE

    generator = _Generator(seed, now_local().date())
    federation = db.session.scalar(
        db.select(Federation).where(Federation.code == FEDERATION_CODE)
    )
    chargé = None
    if federation is not None:
        chargé = db.session.scalar(
            db.select(User)
            .where(User.federation_id == federation.id, User.active.is_(True))
            .order_by(User.id)
        )
    if federation is not None and chargé is not None:
        generator.federation_meetings(federation, chargé)
        generator.federation_interventions(federation, chargé)
    generator.organisation_logs()
    generator.follow_up()
    generator.syntheses(federation if chargé is not None else None)
    counts = {
        key: generator.counts[key]
        for key in ("meetings", "interventions", "actions", "complaints", "syntheses")
    }
    logger.info("Activité de démo : %s", counts)
    return counts
