"""Perimeters: the résidences a user may read, by role, agence and sector.

These rules sit with the accounts they read (role, agence, sector) and above the
patrimoine they filter, so that the patrimoine never needs to know about users.
"""

from __future__ import annotations

import sqlalchemy as sa

from orfi.auth.models import Role, User, user_residence
from orfi.errors import NotFound
from orfi.extensions import db
from orfi.patrimoine.models import Residence


def visible_residences(user: User) -> sa.Select:
    """Return a query of the résidences ``user`` may read."""
    query = db.select(Residence)
    if user.organisation_id is None or user.role is Role.FEDERATION:
        return query.where(sa.false())
    query = query.where(Residence.organisation_id == user.organisation_id)
    if user.role is Role.GARDIEN:
        # A subquery: a sector of thousands is never loaded to be filtered on.
        link = user_residence.c
        sector_ids = sa.select(link.residence_id).where(link.user_id == user.id)
        return query.where(Residence.id.in_(sector_ids))
    if user.agence_id is not None:
        query = query.where(Residence.agence_id == user.agence_id)
    return query


def get_visible_residence(user: User, residence_id: int) -> Residence:
    """Return the résidence if ``user`` may read it, else raise NotFound."""
    residence = db.session.scalar(
        visible_residences(user).where(Residence.id == residence_id)
    )
    if residence is None:
        raise NotFound("Résidence introuvable.")
    return residence
