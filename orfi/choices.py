"""Enumerations with a stable code (stored, exported) and a French label (shown)."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa


class Choice(StrEnum):
    """A string enum whose members carry a French label: ``M = ("code", "Libellé")``."""

    label: str

    def __new__(cls, value: str, label: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """Return ``(code, label)`` pairs for a select field."""
        return [(member.value, member.label) for member in cls]

    @classmethod
    def parse(cls, value):
        """Return the member with this code, or None for an empty or unknown code."""
        return cls._value2member_map_.get(value) if isinstance(value, str) else None

    @classmethod
    def coerce(cls, value):
        """Turn a submitted code into a member; '' and None become None."""
        if value in (None, "") or isinstance(value, cls):
            return value or None
        return cls(value)


def enum_type(enum_cls: type[Choice]) -> sa.Enum:
    """Return a portable column type storing the enum's codes as short strings."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
