"""The nomenclature of facts: families and categories with stable codes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orfi.extensions import db


class Family(db.Model):
    """A family of categories (AP, AB, TT, OC, TR, AU), common to every bailleur."""

    __tablename__ = "family"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(4), unique=True)
    label: Mapped[str] = mapped_column(sa.String(100))
    position: Mapped[int] = mapped_column(default=0)


class Category(db.Model):
    """A category of fact.

    Rows without an organisation are the default nomenclature; each bailleur gets its
    own copy when it is created, which its administrator may edit (labels, active flag,
    new categories) without touching another bailleur's. Codes never change once used,
    so that exports and federation statistics stay comparable.
    """

    __tablename__ = "category"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id"), index=True
    )
    family_id: Mapped[int] = mapped_column(sa.ForeignKey("family.id"))
    code: Mapped[str] = mapped_column(sa.String(8))
    label: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
    # « À préciser » categories (AU99 · Autre fait) say nothing by themselves: a fact
    # of one needs a description (migration 0012 set it from the labels).
    description_required: Mapped[bool] = mapped_column(default=False)
    # « Alerte immédiate »: every fact of it is grave for the alerts (issue 11).
    immediate_alert: Mapped[bool] = mapped_column(default=False)

    family: Mapped[Family] = relationship()

    @property
    def display(self) -> str:
        """Code and label, as shown in lists."""
        return f"{self.code} · {self.label}"


def says_to_specify(label: str) -> bool:
    """Whether a category label says « à préciser » (its facts need a description)."""
    return "à préciser" in label.casefold()
