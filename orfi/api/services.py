"""Personal API tokens: creating, listing, revoking and checking them."""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa

from orfi.api.models import ApiToken
from orfi.auth.models import Role, User
from orfi.database import prepared, utcnow, write_intent
from orfi.errors import NotFound, ValidationError
from orfi.extensions import db
from orfi.nomenclature.models import Category
from orfi.patrimoine.models import Batiment, Residence
from orfi.photos.models import Photo
from orfi.reports.models import Report
from orfi.reports.services import (
    IntakeRows,
    ReportInput,
    intake_rows,
    intake_select,
    intake_values,
    is_storable_text,
)

logger = logging.getLogger(__name__)

#: Every secret starts with this, so that a leaked one is easy to recognise (and grep).
TOKEN_PREFIX = "orfi_"
NAME_MAX_LENGTH = 100
#: Tokens a user may hold at once (revoked ones excluded).
MAX_ACTIVE_TOKENS = 20
#: ``last_used_at`` is written at most this often per token: one write an hour, not
#: one per request.
LAST_USED_PRECISION = timedelta(hours=1)
#: Roles that may hold a token: the bailleur's users (a federation reads aggregates).
TOKEN_ROLES = frozenset({Role.GARDIEN, Role.REFERENT, Role.DIRECTION, Role.ADMIN})


def hash_token(secret: str) -> str:
    """Return the stored form of a secret: its SHA-256, in hexadecimal."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return it and its secret (shown once, not kept)."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if user.role not in TOKEN_ROLES or user.organisation_id is None:
        errors["user"] = ["Ce compte ne peut pas utiliser l'API."]
    if not name:
        errors["name"] = ["Donnez un nom au jeton (ex. « application du bailleur »)."]
    elif len(name) > NAME_MAX_LENGTH or not is_storable_text(name):
        errors["name"] = [f"{NAME_MAX_LENGTH} caractères au plus."]
    elif len(list_tokens(user, active_only=True)) >= MAX_ACTIVE_TOKENS:
        errors["name"] = [
            f"Vous avez déjà {MAX_ACTIVE_TOKENS} jetons actifs : révoquez-en un."
        ]
    if errors:
        raise ValidationError(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
    )
    db.session.add(token)
    db.session.flush()
    logger.info("Jeton d'API %s créé pour %s", token.prefix, user.email)
    return token, secret


def list_tokens(user: User, *, active_only: bool = False) -> list[ApiToken]:
    """Return ``user``'s tokens, newest first."""
    query = db.select(ApiToken).where(ApiToken.user_id == user.id)
    if active_only:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(
        db.session.scalars(query.order_by(ApiToken.created_at.desc(), ApiToken.id))
    )


def get_own_token(user: User, token_id: int) -> ApiToken:
    """Return ``user``'s token with this id, else raise NotFound."""
    token = db.session.scalar(
        db.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
    if token is None:
        raise NotFound("Jeton introuvable.")
    return token


def revoke_token(token: ApiToken) -> bool:
    """Revoke a token at once; return False if it already was."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    db.session.flush()
    logger.info("Jeton d'API %s révoqué", token.prefix)
    return True


@dataclass(frozen=True)
class TokenUse:
    """A valid token as a request uses it: its owner, and when it was last used.

    ``caller`` is a row (or namespace) of the owner's columns (id, name, role,
    organisation_id, agence_id…), which is all that filing a fact needs; load the
    User when more is.
    """

    token_id: int
    caller: sa.Row | SimpleNamespace
    last_used_at: datetime | None


@functools.cache
def _token_by_hash() -> sa.Select:
    # Built once: every API request runs it.
    user, token = User.__table__.c, ApiToken.__table__.c
    return (
        sa.select(
            user.id,
            user.name,
            user.email,
            user.role,
            user.organisation_id,
            user.federation_id,
            user.agence_id,
            token.id.label("token_id"),
            token.last_used_at,
        )  # fmt: skip
        .join_from(User.__table__, ApiToken.__table__, token.user_id == user.id)
        .where(
            token.token_hash == sa.bindparam("digest"),
            token.revoked_at.is_(None),
            user.active.is_(True),
        )
    )


def token_digest(secret: str) -> str | None:
    """Return what a token is looked up by, or None if ``secret`` is no token.

    Its hash: the database never sees the secret, and a timing difference would only
    tell about the hash of a guess.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    return hash_token(secret)


def authenticate_digest(digest: str, cursor=None) -> TokenUse | None:
    """Return the use of the active token of an active user whose secret has this
    :func:`token_digest` (read with ``cursor``, a DBAPI cursor, if given; else on
    the session)."""
    if cursor is not None:
        statement = prepared(db.engine.dialect, _token_by_hash)
        row = statement.first(cursor, {"digest": digest})
    else:
        connection = db.session.connection()
        row = connection.execute(_token_by_hash(), {"digest": digest}).first()
    if row is None:
        return None
    return TokenUse(token_id=row.token_id, caller=row, last_used_at=row.last_used_at)


_CALLER = (
    "id",
    "name",
    "email",
    "role",
    "organisation_id",
    "federation_id",
    "agence_id",
)


@functools.cache
def _token_and_intake() -> sa.Select:
    # The owner of the token with the rows of the fact it files: one statement.
    user, token = User.__table__, ApiToken.__table__
    return intake_select(
        token.c.token_hash == sa.bindparam("digest"),
        token.c.revoked_at.is_(None),
        user.c.active.is_(True),
        columns=(
            *(user.c[name].label(f"caller_{name}") for name in _CALLER),
            token.c.id.label("token_id"),
            token.c.last_used_at.label("token_last_used_at"),
        ),
        users=user.join(token, token.c.user_id == user.c.id),
    )


def read_token_and_intake(
    digest: str, data: ReportInput, cursor
) -> tuple[TokenUse | None, IntakeRows | None]:
    """Authenticate a token and read the rows of the fact ``data`` it files, in one
    statement on ``cursor`` (a DBAPI cursor): filing a fact, the API's busiest
    request, reads the database once before it writes. (None, None) for no valid
    token; see :func:`orfi.reports.services.intake_rows` for the rows."""
    row = prepared(db.engine.dialect, _token_and_intake).first(
        cursor, {**intake_values(data), "digest": digest}
    )
    if row is None:
        return None, None
    caller = SimpleNamespace(
        **{name: getattr(row, f"caller_{name}") for name in _CALLER}
    )
    use = TokenUse(row.token_id, caller, row.token_last_used_at)
    return use, intake_rows(row)


def record_token_use(use: TokenUse, *, in_write_transaction: bool) -> None:
    """Note when a token was last used (at most once per hour per token).

    A write request updates the row in its own transaction. A read request must not
    turn its transaction into a write one (SQLite would refuse to upgrade it under
    concurrent writers), so it writes in a separate short transaction.
    """
    now = utcnow()
    last = use.last_used_at
    if last is not None and last.tzinfo is None:  # SQLite returns naive UTC
        last = last.replace(tzinfo=now.tzinfo)
    if last is not None and now - last < LAST_USED_PRECISION:
        return
    touch = (
        sa.update(ApiToken.__table__)
        .where(ApiToken.__table__.c.id == use.token_id)
        .values(last_used_at=now)
    )
    if in_write_transaction:
        db.session.execute(touch)
        return
    with write_intent(), db.engine.begin() as connection:
        connection.execute(touch)


# A fact sent again is answered with the stored fact: read it, its names and its
# photos in two statements on the intake's own connection (see orfi.database.Prepared)
# rather than through the ORM's lazy loads, one per relation.


def _stored_fact() -> sa.Select:
    report, category = Report.__table__, Category.__table__
    residence, batiment = Residence.__table__, Batiment.__table__
    author, original = User.__table__, Report.__table__.alias("original")
    return (
        sa.select(
            report,
            category.c.code.label("category_code"),
            category.c.label.label("category_label"),
            residence.c.reference.label("residence_reference"),
            residence.c.name.label("residence_name"),
            batiment.c.reference.label("batiment_reference"),
            author.c.name.label("author_name"),
            original.c.uuid.label("original_uuid"),
        )
        .join(category, report.c.category_id == category.c.id)
        .join(residence, report.c.residence_id == residence.c.id)
        .join(author, report.c.author_id == author.c.id)
        .outerjoin(batiment, report.c.batiment_id == batiment.c.id)
        .outerjoin(original, report.c.duplicate_of_id == original.c.id)
        .where(report.c.id == sa.bindparam("report_id"))
    )


def _stored_photos() -> sa.Select:
    photo = Photo.__table__
    return (
        sa.select(photo.c.uuid, photo.c.position, photo.c.width, photo.c.height)
        .where(photo.c.report_id == sa.bindparam("report_id"))
        .order_by(photo.c.position)
    )


def read_stored_fact(cursor, report_id: int) -> tuple[SimpleNamespace, list]:
    """Return a stored fact as the API renders it (see payloads.report_json), and its
    photos, read with ``cursor`` (a DBAPI cursor)."""
    dialect = db.engine.dialect
    row = prepared(dialect, _stored_fact).first(cursor, {"report_id": report_id})
    photos = prepared(dialect, _stored_photos).all(cursor, {"report_id": report_id})
    view = SimpleNamespace(
        **row._asdict(),
        category=SimpleNamespace(
            id=row.category_id, code=row.category_code, label=row.category_label
        ),
        residence=SimpleNamespace(
            id=row.residence_id,
            reference=row.residence_reference,
            name=row.residence_name,
        ),
        batiment=None
        if row.batiment_id is None
        else SimpleNamespace(id=row.batiment_id, reference=row.batiment_reference),
        duplicate_of=None
        if row.original_uuid is None
        else SimpleNamespace(uuid=row.original_uuid),
        author=SimpleNamespace(id=row.author_id, name=row.author_name),
    )
    return view, photos
