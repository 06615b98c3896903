"""Models of the alerts' channels kept here: the browsers that receive Web Push."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from orfi.database import utcnow
from orfi.extensions import db

#: Longest endpoint accepted (browsers' are 150–500 characters).
ENDPOINT_MAX_LENGTH = 1024
LABEL_MAX_LENGTH = 120


class PushDevice(db.Model):
    """A browser on which a user accepted to receive the alerts."""

    __tablename__ = "push_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(sa.String(ENDPOINT_MAX_LENGTH), unique=True)
    # The browser's P-256 public key (65 bytes) and auth secret (16 bytes), base64url.
    p256dh: Mapped[str] = mapped_column(sa.String(100))
    auth: Mapped[str] = mapped_column(sa.String(40))
    label: Mapped[str] = mapped_column(sa.String(LABEL_MAX_LENGTH), default="")
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    last_sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
