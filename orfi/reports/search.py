"""The work queue's search field: a reference, words of the texts, a résidence.

One text, three ways to match a fact (any one is enough):

- its reference, in any case, with or without the bailleur's prefix or the year, the
  number with or without its leading zeros (``TMH-2026-000500``, ``000500``,
  ``tmh-2026-500``); looked up as exact references on the unique index; a text that
  names an existing reference finds that fact only;
- every word in its description, the comments of its history or the notes of its
  follow-up, through the database's own full-text index (orfi.reports.search_index):
  FTS5 on SQLite (accents ignored, word prefixes), ``tsvector`` 'french' on PostgreSQL
  (accents as the configuration gives, stemming, word prefixes);
- every word in the name, reference, address or commune of its résidence.

The text never reaches a query language as written: only its words do, each quoted,
so that ``"``, ``*``, ``NEAR(`` or ``:`` are plain characters (never a syntax error).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from orfi.auth.models import User
from orfi.extensions import db
from orfi.patrimoine.models import Residence
from orfi.reports.models import ReferenceCounter, Report
from orfi.reports.residence_choices import matching
from orfi.reports.search_index import TABLE

#: The longest search text a form or the API accepts.
QUERY_MAX_LENGTH = 200
#: Words of a search text past this many are left out.
WORDS_MAX = 12
#: Past this many matches, a search is "dense": walking the perimeter's facts in the
#: list's order finds a page sooner than reading every match by id (SQLite).
DENSE_MATCHES = 2_000

_REFERENCE = re.compile(r"^(?:([A-Z][A-Z0-9]*)-)?(?:(\d{4})-)?(\d{1,9})$")
# Letters and digits only: an underscore is no word character for either index.
_WORD = re.compile(r"[^\W_]+")


def reference_candidates(user: User, text: str) -> list[str]:
    """Return the references of ``user``'s bailleur that ``text`` may name.

    The prefix, when given, must be the bailleur's; without a year, every year the
    bailleur has numbered facts in.
    """
    found = _REFERENCE.match("".join(text.split()).upper())
    organisation = user.organisation
    if found is None or organisation is None:
        return []
    prefix, year, number = found.groups()
    if prefix not in (None, organisation.code.upper()):
        return []
    if year is not None:
        years = [int(year)]
    else:
        years = db.session.scalars(
            sa.select(ReferenceCounter.year).where(
                ReferenceCounter.organisation_id == organisation.id
            )
        ).all()
    return [f"{organisation.code}-{y}-{int(number):06d}" for y in years]


def search_words(text: str) -> list[str]:
    """Return the words of a search text (letters and digits), at most WORDS_MAX."""
    return _WORD.findall(text)[:WORDS_MAX]


def text_matches(words: list[str], dialect: str) -> sa.ColumnElement[bool]:
    """Return the condition "the fact's texts hold every one of ``words``"."""
    return Report.id.in_(_text_ids(words, dialect))


def _text_ids(words: list[str], dialect: str) -> sa.Select:
    """The ids of the facts whose texts hold every one of ``words``."""
    index = sa.table(TABLE)
    if dialect == "postgresql":
        query = " & ".join(f"{word}:*" for word in words)
        return (
            sa.select(sa.column("report_id"))
            .select_from(index)
            .where(sa.column("document").op("@@")(sa.func.to_tsquery("french", query)))
        )
    query = " ".join(f'"{word}"*' for word in words)
    return (
        sa.select(sa.column("rowid"))
        .select_from(index)
        .where(sa.literal_column(TABLE).op("MATCH")(query))
    )


def _named_facts(user: User, text: str) -> list[int]:
    """The ids of the facts whose reference ``text`` names, if any."""
    references = reference_candidates(user, text)
    if not references:
        return []
    return list(
        db.session.scalars(sa.select(Report.id).where(Report.reference.in_(references)))
    )


@dataclass(frozen=True)
class Search:
    """What a search text finds: the condition of its facts, and whether they are few
    (``sparse``: a reference, or fewer than DENSE_MATCHES matches), in which case the
    list reads them by id rather than walking the perimeter in its order."""

    condition: sa.ColumnElement[bool]
    sparse: bool


def search(user: User, text: str) -> Search:
    """Return what ``text`` finds (see the module), in one read of the indexes.

    A text that names an existing fact's reference finds that fact (a référent called
    about a fact types its number); any other text, the facts whose texts or
    résidence hold its words. Each way is one indexed lookup, united into one list of
    ids: an OR of them would have the database read every fact of the perimeter.
    """
    text = text.strip()[:QUERY_MAX_LENGTH]
    named = _named_facts(user, text)
    if named:
        return Search(Report.id.in_(named), sparse=True)
    words = search_words(text)
    if not words:
        return Search(sa.false(), sparse=True)
    text_ids, residences = _text_ids(words, _dialect()), _residences(user, words)
    at_residences = (
        sa.select(Report.id)
        .where(
            Report.organisation_id == user.organisation_id,
            Report.residence_id.in_(residences),
        )
        .correlate(None)
    )
    # UNION ALL: the database stops at the limit (a UNION first hashed all 45,000
    # facts of a résidence to remove duplicates: 0.4 s on PostgreSQL); a fact found
    # both ways is named twice, which changes nothing.
    matches = sa.union_all(text_ids, at_residences) if residences else text_ids
    # Few matches are read here and named to the database: given a subquery instead,
    # PostgreSQL walked the perimeter in the list's order probing each fact against
    # the index (3.7 s at a million facts for a word held by 12). The ids are counted
    # over the indexes, other bailleurs' text matches included: an estimate.
    # Many: the list walks the perimeter in its order and tests each fact, on its
    # résidence first (a short list), then on the text matches (hashed once).
    condition = Report.id.in_(text_ids)
    if residences:
        condition = sa.or_(Report.residence_id.in_(residences), condition)
    return few_or_many(matches, DENSE_MATCHES, condition)


def few_or_many(ids: sa.Select, cap: int, many: sa.ColumnElement[bool]) -> Search:
    """Read up to ``cap`` of the fact ids ``ids`` selects: fewer are named by id (a
    sparse search); as many means the facts are ``many``, tested one by one as the
    list walks the perimeter in its order."""
    found = list(db.session.scalars(ids.limit(cap)))
    if len(found) < cap:
        return Search(Report.id.in_(found) if found else sa.false(), sparse=True)
    return Search(many, sparse=False)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _residences(user: User, words: list[str]) -> list[int]:
    """The ids of ``user``'s bailleur's résidences whose name, reference, address or
    commune hold every one of ``words``.

    Read before the facts' query, so that the database plans it knowing them: left in
    a subquery, PostgreSQL guessed thousands of facts at résidences that matched none
    and read the whole perimeter for a word held by a dozen facts.
    """
    return list(
        db.session.scalars(
            matching(
                sa.select(Residence.id)
                .where(Residence.organisation_id == user.organisation_id)
                .correlate(None),  # not the chef d'agence's joined résidence
                " ".join(words),
            )
        )
    )
