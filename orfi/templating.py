"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app

from orfi import limits
from orfi.auth.access import FILERS, QUALIFIERS, READERS
from orfi.auth.models import Role
from orfi.reports.history import describe_changes
from orfi.reports.models import GRAVITY_LABELS
from orfi.timezone import to_local


def format_local(moment: datetime | None, pattern: str = "%d/%m/%Y %H:%M") -> str:
    """Format an instant in Europe/Paris time."""
    return "" if moment is None else to_local(moment).strftime(pattern)


#: The main menu: endpoint, label, roles that see it. An entry whose endpoint does not
#: exist (feature not installed) is left out.
MENU: tuple[tuple[str, str, frozenset[Role]], ...] = (
    ("reports.new", "Signaler", frozenset(FILERS)),
    ("reports.mine", "Mes signalements", frozenset(FILERS)),
    ("reports.index", "Faits", frozenset(READERS)),
    ("reports.todo", "Mes faits à traiter", frozenset(QUALIFIERS)),
    ("maps.index", "Carte", frozenset(READERS)),
    ("stats.index", "Statistiques", frozenset(READERS)),
    ("followup.overdue", "Suivi", frozenset(READERS)),
    ("syntheses.daily", "Synthèse", frozenset({*READERS, Role.FEDERATION})),
    ("activity.index", "Activité", frozenset({*QUALIFIERS, Role.FEDERATION})),
    ("federation.index", "Fédération", frozenset({Role.FEDERATION})),
    ("patrimoine.residences", "Résidences", frozenset(READERS)),
    # The roles the token pages accept (orfi.api.routes): a gardien files from the
    # app with their session and manages no token.
    ("api_tokens.tokens", "Jetons d'API", frozenset(READERS)),
    ("admin.index", "Administration", frozenset({Role.ADMIN})),
)


#: The account area, next to the logout button (in the "Menu" on phones), for every
#: logged-in role: the main menu is already long.
ACCOUNT_MENU: tuple[tuple[str, str], ...] = (
    ("auth.change_password", "Mon mot de passe"),
    ("auth.sessions", "Mes sessions"),
)


#: The entries a role uses most, put first: a phone shows the first two in its top bar
#: (the rest under "Menu"). A gardien files; a référent works the facts and the map;
#: the direction reads the indicators; a federation its consolidated statistics.
FIRST: dict[Role, tuple[str, ...]] = {
    **{role: ("reports.index", "maps.index") for role in READERS},
    # Direction and chefs d'agence land on the indicators (main.home).
    Role.DIRECTION: ("stats.index", "reports.index"),
    Role.FEDERATION: ("federation.index", "syntheses.daily"),
}


def menu_for(user) -> list[tuple[str, str]]:
    """Return the (endpoint, label) entries of the main menu that ``user`` may open,
    the role's most used first (see FIRST)."""
    if not getattr(user, "is_authenticated", False):
        return []
    views = current_app.view_functions
    entries = [
        (endpoint, label)
        for endpoint, label, roles in MENU
        if user.role in roles and endpoint in views
    ]
    first = FIRST.get(user.role, ())
    return sorted(
        entries,
        key=lambda entry: first.index(entry[0]) if entry[0] in first else len(first),
    )


def account_menu_for(user) -> list[tuple[str, str]]:
    """Return the (endpoint, label) entries of the account area of ``user``."""
    if not getattr(user, "is_authenticated", False):
        return []
    views = current_app.view_functions
    return [(endpoint, label) for endpoint, label in ACCOUNT_MENU if endpoint in views]


def register(app: Flask) -> None:
    """Install the filters and globals on ``app``."""
    app.add_template_filter(format_local, "local")
    app.add_template_filter(describe_changes, "describe_changes")
    app.add_template_global(GRAVITY_LABELS, "GRAVITY_LABELS")
    app.add_template_global(lambda: limits.public(current_app.config), "orfi_limits")
    app.add_template_global(menu_for, "menu_for")
    app.add_template_global(account_menu_for, "account_menu_for")
    app.add_template_global(lambda member: member.label if member else "—", "label_of")
