"""Failed logins, the memory of the login throttle (shared by every worker)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from orfi.database import utcnow
from orfi.extensions import db


class LoginFailure(db.Model):
    """One refused login: who was tried and from where, as keyed digests, and when.

    The e-mail typed (normalised, whether an account exists or not) and the client
    address are stored as HMACs under the secret key: the throttle only compares them,
    and a typo or a password typed in the e-mail field is never kept in clear. Rows
    older than the longest throttle window are deleted as new failures come in.
    """

    __tablename__ = "login_failure"
    __table_args__ = (
        sa.Index("ix_login_failure_account_key_failed_at", "account_key", "failed_at"),
        sa.Index("ix_login_failure_address_key_failed_at", "address_key", "failed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_key: Mapped[str] = mapped_column(sa.String(64))
    address_key: Mapped[str] = mapped_column(sa.String(64))
    failed_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, index=True
    )


class UserSession(db.Model):
    """One login: the server's record of a session cookie, which it can end.

    The cookie carries a random key; only its SHA-256 is stored, so that a copy of the
    database (a backup) opens no session even with the secret key. The device is a
    summary of the browser's user agent ("Firefox · Android") and the network the
    client's address truncated to its /24 (IPv4) or /48 (IPv6): enough for a user to
    recognise their sessions, not to locate anyone. Rows older than the longest session
    lifetime are deleted as new sessions open.
    """

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, index=True
    )
    last_seen_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    remember: Mapped[bool] = mapped_column(default=False)
    device: Mapped[str] = mapped_column(sa.String(60), default="")
    network: Mapped[str] = mapped_column(sa.String(50), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
