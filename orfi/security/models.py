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
