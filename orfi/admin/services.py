"""What the administration pages read: an organisation's agences and résidences."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from orfi.errors import ValidationError
from orfi.extensions import db
from orfi.patrimoine.models import Agence, Residence


def list_agences(organisation_id: int) -> Sequence[Agence]:
    """Return the organisation's agences by name."""
    return db.session.scalars(
        db.select(Agence)
        .where(Agence.organisation_id == organisation_id)
        .order_by(Agence.name)
    ).all()


def list_sector_residences(organisation_id: int) -> Sequence[Residence]:
    """Return every résidence of the organisation, by name, to choose a sector from."""
    return db.session.scalars(
        db.select(Residence)
        .where(Residence.organisation_id == organisation_id)
        .order_by(Residence.name, Residence.reference)
    ).all()


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
