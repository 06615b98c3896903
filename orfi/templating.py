"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from orfi.reports.models import GRAVITY_LABELS
from orfi.timezone import to_local


def format_local(moment: datetime | None, pattern: str = "%d/%m/%Y %H:%M") -> str:
    """Format an instant in Europe/Paris time."""
    return "" if moment is None else to_local(moment).strftime(pattern)


def register(app: Flask) -> None:
    """Install the filters and globals on ``app``."""
    app.add_template_filter(format_local, "local")
    app.add_template_global(GRAVITY_LABELS, "GRAVITY_LABELS")
    app.add_template_global(lambda member: member.label if member else "—", "label_of")
