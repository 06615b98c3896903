"""The résidences the field form offers: a bounded few, and a search for the rest.

A bailleur may hold tens of thousands of résidences: the form carries at most
:data:`FORM_RESIDENCES_MAX` of them (the nearest to a known position, else the user's
sector first), so that its weight and time do not grow with the patrimoine; the search
(:func:`search_residences`) finds any other one of the user's filing perimeter
(:func:`filing_query`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from orfi import limits
from orfi.auth.models import Role, User, user_residence
from orfi.auth.perimeter import visible_residences
from orfi.extensions import db
from orfi.patrimoine.models import Batiment, Residence

#: Résidences written into the field form (and cached with it for offline use).
FORM_RESIDENCES_MAX = 50
#: Matches a search returns.
SEARCH_RESULTS_MAX = 20
#: Shortest and longest search text.
SEARCH_MIN_LENGTH = 2
SEARCH_MAX_LENGTH = 100
#: Résidences offered by the lists' filter (a résidence's page links to its facts).
FILTER_RESIDENCES_MAX = 100
#: Bâtiments of one résidence carried in the form or a search result.
BATIMENTS_MAX = 200


@dataclass
class ResidenceChoices:
    """Résidences offered by the form, their bâtiments, and whether some were left."""

    residences: list[Residence]
    batiments: list[Batiment]
    truncated: bool


def filing_query(user: User) -> sa.Select:
    """Return a query of the résidences ``user`` may file for.

    The résidences a user files for are those they read: a gardien's sector, else the
    organisation's (an agence's for a chef d'agence).
    """
    return visible_residences(user)


def _sector_ids(user: User) -> sa.Select:
    link = user_residence.c
    return sa.select(link.residence_id).where(link.user_id == user.id)


def _distance_order(latitude: float, longitude: float) -> sa.ColumnElement:
    """An order by distance to a point, in plain arithmetic (SQLite and PostgreSQL).

    Equirectangular: exact enough to rank résidences a few kilometres around a phone.
    """
    scale = math.cos(math.radians(latitude))
    d_lat = Residence.latitude - latitude
    d_lon = (Residence.longitude - longitude) * scale
    return d_lat * d_lat + d_lon * d_lon


def form_choices(
    user: User,
    *,
    position: tuple[float, float] | None = None,
    chosen_id: int | None = None,
    limit: int = FORM_RESIDENCES_MAX,
) -> ResidenceChoices:
    """Return the résidences the field form offers ``user`` (at most ``limit``).

    The nearest to ``position`` when it is known, else those of the user's sector
    first, then by name; the résidence ``chosen_id`` (a form sent back with errors)
    is always among them when ``user`` may file for it.
    """
    query = filing_query(user)
    if position is not None:
        found = list(
            db.session.scalars(
                query.order_by(_distance_order(*position), Residence.id).limit(
                    limit + 1
                )
            )
        )
    else:
        found = _sector_first(user, query, limit + 1)
    truncated = len(found) > limit
    residences = found[:limit]
    if chosen_id is not None and all(r.id != chosen_id for r in residences):
        residences += find_residences(user, [chosen_id])
    residences.sort(key=lambda r: (r.name, r.id))
    rank = {r.id: index for index, r in enumerate(residences)}
    batiments = sorted(
        choice_batiments(residences), key=lambda b: (rank[b.residence_id], b.reference)
    )
    return ResidenceChoices(residences, batiments, truncated)


def _sector_first(user: User, query: sa.Select, count: int) -> list[Residence]:
    """The first ``count`` résidences of ``query``: the user's sector, then the rest.

    By reference, which the (organisation, reference) unique index keeps in order: the
    database reads ``count`` rows rather than sorting the whole patrimoine.
    """
    link = user_residence.c
    # A join from the user's links: an empty sector costs nothing.
    sector = query.join(user_residence, link.residence_id == Residence.id).where(
        link.user_id == user.id
    )
    found = list(db.session.scalars(sector.order_by(Residence.reference).limit(count)))
    in_sector = Residence.id.in_(_sector_ids(user))
    if len(found) < count and user.role is not Role.GARDIEN:
        found += db.session.scalars(
            query.where(~in_sector)
            .order_by(Residence.reference)
            .limit(count - len(found))
        )
    return found


def choice_batiments(residences: list[Residence]) -> list[Batiment]:
    """The bâtiments of ``residences`` (at most BATIMENTS_MAX each), in one query."""
    if not residences:
        return []
    rank = (
        sa.func.row_number()
        .over(partition_by=Batiment.residence_id, order_by=Batiment.reference)
        .label("rank")
    )
    ranked = (
        sa.select(Batiment.id, rank)
        .where(Batiment.residence_id.in_([r.id for r in residences]))
        .subquery()
    )
    return list(
        db.session.scalars(
            db.select(Batiment)
            .join(ranked, ranked.c.id == Batiment.id)
            .where(ranked.c.rank <= BATIMENTS_MAX)
            .order_by(Batiment.residence_id, Batiment.reference)
        )
    )


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matching(query: sa.Select, text: str) -> sa.Select:
    """Narrow a query of résidences to those matching every word of ``text``.

    Each word is looked for in the name, reference, address and commune, its LIKE
    wildcards taken literally.
    """
    for word in text.split():
        pattern = _like(word)
        query = query.where(
            sa.or_(
                *(
                    column.ilike(pattern, escape="\\")
                    for column in (
                        Residence.name,
                        Residence.reference,
                        Residence.address,
                        Residence.commune_name,
                    )
                )
            )
        )
    return query


def search_text_problems(text: str) -> list[str]:
    """Return what is wrong with a search text (too short, too long), in French."""
    if len(text) < SEARCH_MIN_LENGTH:
        return [f"Tapez au moins {SEARCH_MIN_LENGTH} caractères."]
    if len(text) > SEARCH_MAX_LENGTH:
        return [f"{SEARCH_MAX_LENGTH} caractères au plus."]
    return []


def search_in(
    query: sa.Select, text: str, *, limit: int = SEARCH_RESULTS_MAX
) -> tuple[list[Residence], bool]:
    """Return the résidences of ``query`` matching ``text``, by name (a few).

    ``query`` selects a perimeter's résidences; at most ``limit``, and whether more
    matched.
    """
    found = list(
        db.session.scalars(
            matching(query, text)
            .order_by(Residence.name, Residence.id)
            .limit(limit + 1)
        )
    )
    return found[:limit], len(found) > limit


def search_residences(
    user: User,
    text: str = "",
    *,
    position: tuple[float, float] | None = None,
    limit: int = SEARCH_RESULTS_MAX,
    offset: int = 0,
) -> tuple[list[Residence], bool]:
    """Return the résidences of ``user``'s filing perimeter matching ``text``.

    ``text`` is looked for in the name, reference, address and commune; the nearest
    to ``position`` come first when it is known, else by name. At most ``limit``
    after the first ``offset``; the boolean says whether more matched.
    """
    query = matching(filing_query(user), text)
    if position is not None:
        query = query.order_by(_distance_order(*position), Residence.id)
    else:
        query = query.order_by(Residence.name, Residence.id)
    found = list(db.session.scalars(query.offset(offset).limit(limit + 1)))
    return found[:limit], len(found) > limit


def _ids(values: Iterable[int | str | None]) -> set[int]:
    """The values that are possible ids (ints, or digits as a form sends them)."""
    ids = set()
    for value in values:
        try:
            number = int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if 0 < number <= limits.ID_MAX:
            ids.add(number)
    return ids


def capped_residences(
    query: sa.Select,
    selected: Iterable[int | str | None] = (),
    *,
    limit: int = FILTER_RESIDENCES_MAX,
) -> tuple[list[Residence], bool]:
    """Return the first ``limit`` résidences of ``query`` by name, plus ``selected``.

    ``query`` selects the résidences of a perimeter; the ``selected`` ones it holds are
    always returned (a filter's or a sector's choice, even beyond the cap), others are
    ignored, and so are values that are no id (as a form sent them). The boolean says
    whether some of the perimeter were left out, so that the page can say how to reach
    them. Every list of résidences a page writes out goes through here, so that no
    page grows with the patrimoine.
    """
    found = list(
        db.session.scalars(
            query.order_by(Residence.name, Residence.id).limit(limit + 1)
        )
    )
    truncated = len(found) > limit
    found = found[:limit]
    shown = {r.id for r in found}
    missing = {i for i in _ids(selected) if i not in shown}
    if missing:
        found += db.session.scalars(
            query.where(Residence.id.in_(missing)).order_by(
                Residence.name, Residence.id
            )
        )
    return found, truncated


def find_residences(user: User, ids: list[int]) -> list[Residence]:
    """Return the résidences of ``ids`` that ``user`` may file for (others ignored)."""
    ids = [i for i in ids if 0 < i <= limits.ID_MAX]
    if not ids:
        return []
    return list(db.session.scalars(filing_query(user).where(Residence.id.in_(ids))))


def residence_item(residence: Residence, batiments: list[Batiment]) -> dict:
    """A résidence as the form's JavaScript reads it (config, search results)."""
    return {
        "id": residence.id,
        "name": residence.name,
        "label": residence.label,
        "address": residence.address,
        "lat": residence.latitude,
        "lon": residence.longitude,
        "batiments": [
            {"id": b.id, "label": f"{b.reference} {b.address}".strip()}
            for b in batiments
        ],
    }
