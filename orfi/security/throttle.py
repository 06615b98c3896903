"""Login throttling per account and per client address, kept in the database.

Every refused login is a :class:`~orfi.security.models.LoginFailure` row, so the
counters are shared by every gunicorn worker. The account is the normalised e-mail
*as typed*, never a user id: an address without an account is counted and locked
exactly like an existing one, so the answers reveal nothing about who has an account.

- An account (e-mail) with ``ORFI_LOGIN_ACCOUNT_LIMIT`` failures in the last 24 hours
  is locked one minute after its last failure; each further failure doubles the lock,
  up to ``ORFI_LOGIN_LOCK_MAX_MINUTES``. A successful login clears its failures.
- An address with ``ORFI_LOGIN_ADDRESS_LIMIT`` failures in the last hour (any accounts)
  is locked the same way: it stops one machine from trying a few passwords on many
  accounts, while a day's typos in an agency behind one address do not add up.
- While locked, a login is refused without checking the password, with the answer of
  a wrong password; a refused attempt is not counted (the lock ends when announced).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from orfi.database import utcnow
from orfi.extensions import db
from orfi.security.models import LoginFailure

logger = logging.getLogger(__name__)

#: How long an account's failures count (a successful login clears them sooner).
ACCOUNT_WINDOW = timedelta(hours=24)
#: How long an address's failures count.
ADDRESS_WINDOW = timedelta(hours=1)
#: The first lock; it doubles with each failure beyond the limit.
FIRST_LOCK = timedelta(minutes=1)


def _digest(kind: str, value: str) -> str:
    """Return the HMAC under the secret key of ``value`` (hex, 64 characters)."""
    secret = current_app.config["SECRET_KEY"]
    key = secret if isinstance(secret, bytes) else str(secret).encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def account_key(login: str) -> str:
    """Return the throttle key of a normalised e-mail."""
    return _digest("account", login)


def address_key(address: str) -> str:
    """Return the throttle key of a client address."""
    return _digest("address", address)


def lock_delay(failures: int, limit: int, longest: timedelta) -> timedelta | None:
    """Return how long ``failures`` recent failures lock a key (None: not locked).

    A limit of 0 turns this counter off.
    """
    if limit <= 0 or failures < limit:
        return None
    return min(FIRST_LOCK * 2 ** min(failures - limit, 20), longest)


def _aware(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def login_locked_until(login: str, address: str) -> datetime | None:
    """Return when logins for ``login`` from ``address`` are allowed again, or None
    if they are allowed now."""
    now = utcnow()
    config = current_app.config
    longest = timedelta(minutes=config["ORFI_LOGIN_LOCK_MAX_MINUTES"])
    ends = []
    for column, key, window, limit in (
        (
            LoginFailure.account_key,
            account_key(login),
            ACCOUNT_WINDOW,
            config["ORFI_LOGIN_ACCOUNT_LIMIT"],
        ),
        (
            LoginFailure.address_key,
            address_key(address),
            ADDRESS_WINDOW,
            config["ORFI_LOGIN_ADDRESS_LIMIT"],
        ),
    ):
        failures, last = db.session.execute(
            sa.select(sa.func.count(), sa.func.max(LoginFailure.failed_at)).where(
                column == key, LoginFailure.failed_at > now - window
            )
        ).one()
        delay = lock_delay(failures, limit, longest)
        if delay is not None and _aware(last) + delay > now:
            ends.append(_aware(last) + delay)
    return max(ends, default=None)


def record_login_failure(login: str, address: str) -> None:
    """Count a refused login for ``login`` from ``address``; forget expired ones."""
    now = utcnow()
    db.session.execute(
        sa.delete(LoginFailure).where(
            LoginFailure.failed_at <= now - max(ACCOUNT_WINDOW, ADDRESS_WINDOW)
        )
    )
    db.session.add(
        LoginFailure(
            account_key=account_key(login),
            address_key=address_key(address),
            failed_at=now,
        )
    )
    db.session.flush()
    # The address helps an administrator follow an attack; the e-mail typed stays out
    # of the logs (it may be a password typed in the wrong field).
    logger.info("Connexion refusée depuis %s", address)


def clear_login_failures(login: str) -> None:
    """Forget the failures of ``login`` (after a successful login or a new password)."""
    db.session.execute(
        sa.delete(LoginFailure).where(LoginFailure.account_key == account_key(login))
    )


def serialise_login_attempts(login: str) -> None:
    """Make concurrent attempts on ``login`` wait for each other until the commit.

    Without it, parallel requests on PostgreSQL would each read the counter before the
    others' failures are committed, and try more passwords than the limit. SQLite
    needs nothing: a login request's transaction holds its only write lock.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    lock_id = int.from_bytes(bytes.fromhex(account_key(login))[:8], "big", signed=True)
    db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_id)))
