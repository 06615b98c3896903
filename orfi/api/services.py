"""Personal API tokens: creating, listing, revoking and checking them."""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from orfi.api.models import ApiToken
from orfi.auth.models import Role, User
from orfi.auth.services import password_changed
from orfi.database import utcnow
from orfi.errors import NotFound, ValidationError
from orfi.extensions import db
from orfi.reports.checks import (
    InputRows,
    ReportInput,
    input_rows_of,
    input_rows_parameters,
    input_rows_statement,
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


@password_changed.connect
def revoke_tokens_of(user: User, **_) -> None:
    """Revoke ``user``'s tokens when their password changes (it may have leaked)."""
    for token in list_tokens(user, active_only=True):
        revoke_token(token)


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
    """A valid token as a request uses it: its owner, and when it was last used."""

    token_id: int
    caller: User
    last_used_at: datetime | None


@functools.cache
def _token_by_hash() -> sa.Select:
    # Built once: every API request runs it (SQLAlchemy caches its compiled form).
    return (
        sa.select(User, ApiToken.id, ApiToken.last_used_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == sa.bindparam("digest"),
            ApiToken.revoked_at.is_(None),
            User.active.is_(True),
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


def authenticate_digest(digest: str) -> TokenUse | None:
    """Return the use of the active token of an active user whose secret has this
    :func:`token_digest`, its owner loaded in the session; None if there is none."""
    row = db.session.execute(_token_by_hash(), {"digest": digest}).first()
    if row is None:
        return None
    user, token_id, last_used_at = row
    return TokenUse(token_id=token_id, caller=user, last_used_at=last_used_at)


@functools.cache
def _token_and_input_rows() -> sa.Select:
    # Built once, as _token_by_hash: the intake's own read, narrowed to the token's
    # owner, with the token's columns after the intake's.
    return (
        input_rows_statement()
        .add_columns(User, ApiToken.id, ApiToken.last_used_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == sa.bindparam("digest"),
            ApiToken.revoked_at.is_(None),
            User.active.is_(True),
        )
    )


def authenticate_for_intake(
    digest: str, data: ReportInput
) -> tuple[TokenUse, InputRows] | None:
    """Check the token of this :func:`token_digest` and read what filing ``data``
    reads (see orfi.reports.checks.read_input_rows), in one statement; return the
    token's use and those rows, or None if the token is not an active one of an
    active user.

    Filing a fact by the API then takes one SELECT and one transaction, not a
    reader's transaction for the token and a writer's for the fact.
    """
    parameters = {"digest": digest, **input_rows_parameters(data)}
    row = db.session.execute(_token_and_input_rows(), parameters).first()
    if row is None:
        return None
    user, token_id, last_used_at = row[4:]
    use = TokenUse(token_id=token_id, caller=user, last_used_at=last_used_at)
    return use, input_rows_of(row)


def token_use_is_due(use: TokenUse) -> bool:
    """Return whether this use must be noted (``last_used_at`` at most hourly)."""
    last = use.last_used_at
    if last is None:
        return True
    if last.tzinfo is None:  # SQLite returns naive UTC
        last = last.replace(tzinfo=UTC)
    return utcnow() - last >= LAST_USED_PRECISION


def record_token_use(use: TokenUse) -> None:
    """Note now as when the token was last used (flushed, not committed)."""
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.id == use.token_id)
        .values(last_used_at=utcnow())
    )
