"""Who may do what: role checks for views (perimeters for queries: auth.perimeter)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from orfi.auth.models import Role


def role_required(*roles: Role) -> Callable:
    """Let the view run only for logged-in users with one of ``roles`` (else 403)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


#: Roles that file facts from the field form.
FILERS = (Role.GARDIEN, Role.REFERENT, Role.DIRECTION, Role.ADMIN)
#: Roles that read facts of their organisation (or agence) beyond their own.
READERS = (Role.REFERENT, Role.DIRECTION, Role.ADMIN)
#: Roles that qualify facts and change their status.
QUALIFIERS = (Role.REFERENT, Role.ADMIN)
