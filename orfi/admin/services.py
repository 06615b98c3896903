"""What the administration pages read: an organisation's agences and résidences."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from orfi.auth.models import User, user_residence
from orfi.errors import ValidationError
from orfi.extensions import db
from orfi.patrimoine.models import Agence, Residence
from orfi.reports.residence_choices import capped_residences, search_in


def list_agences(organisation_id: int) -> Sequence[Agence]:
    """Return the organisation's agences by name."""
    return db.session.scalars(
        db.select(Agence)
        .where(Agence.organisation_id == organisation_id)
        .order_by(Agence.name)
    ).all()


def _organisation_residences(organisation_id: int) -> sa.Select:
    return db.select(Residence).where(Residence.organisation_id == organisation_id)


def sector_choices(
    organisation_id: int, selected: Iterable[int | str]
) -> tuple[list[Residence], bool]:
    """Return the résidences a sector is chosen from: a capped few and ``selected``.

    The ``selected`` ones of the organisation are always among them (a gardien's
    sector, however large, is kept when the form is saved); the boolean says whether
    others were left out, to be reached by :func:`search_sector_residences`.
    """
    return capped_residences(_organisation_residences(organisation_id), selected)


def search_sector_residences(
    organisation_id: int, text: str
) -> tuple[list[Residence], bool]:
    """Return the organisation's résidences matching ``text`` (a few, by name).

    The boolean says whether more matched.
    """
    return search_in(_organisation_residences(organisation_id), text)


def sector_counts(organisation_id: int) -> dict[int, int]:
    """Return the number of résidences in each sector of the organisation's users.

    Counted in SQL: the users' page never loads the sectors themselves.
    """
    link = user_residence.c
    rows = db.session.execute(
        sa.select(link.user_id, sa.func.count())
        .join(User, User.id == link.user_id)
        .where(User.organisation_id == organisation_id)
        .group_by(link.user_id)
    )
    return {user_id: count for user_id, count in rows}


def resolve_perimeter(
    organisation_id: int, agence_id: int | None, residence_ids: Iterable[int]
) -> tuple[Agence | None, list[Residence]]:
    """Turn submitted ids into the organisation's agence and résidences.

    Raises ValidationError when an id is unknown or belongs to another organisation.
    """
    errors: dict[str, list[str]] = {}
    agence = None
    if agence_id is not None:
        agence = db.session.scalar(
            db.select(Agence).where(
                Agence.id == agence_id, Agence.organisation_id == organisation_id
            )
        )
        if agence is None:
            errors["agence"] = ["Cette agence n'appartient pas au bailleur."]
    wanted = set(residence_ids)
    residences = []
    if wanted:
        residences = list(
            db.session.scalars(
                db.select(Residence).where(
                    Residence.id.in_(wanted),
                    Residence.organisation_id == organisation_id,
                )
            )
        )
        if len(residences) != len(wanted):
            errors["sector"] = [
                "Une résidence du secteur n'appartient pas au bailleur."
            ]
    if errors:
        raise ValidationError(errors)
    return agence, residences
