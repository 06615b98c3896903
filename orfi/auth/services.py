"""Account services: creating, reading and editing users, checking their credentials."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from blinker import Namespace
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from orfi.auth.models import Federation, Role, User
from orfi.database import utcnow
from orfi.errors import NotFound, ValidationError
from orfi.extensions import db
from orfi.patrimoine.models import Agence, Organisation, Residence
from orfi.security.models import UserSession
from orfi.security.passwords import password_problems
from orfi.security.sessions import (
    current_key_hash,
    end_session,
    note_current_session,
    revoke_user_sessions,
)
from orfi.security.throttle import (
    clear_login_failures,
    login_locked_until,
    record_login_failure,
    serialise_login_attempts,
)

logger = logging.getLogger(__name__)

_signals = Namespace()
#: Sent with the user whose password changed (by themselves or an administrator),
#: inside the transaction that changes it: the API revokes the personal tokens then,
#: since a password is changed when the old one may be known to someone else.
password_changed = _signals.signal("password-changed")


def normalise_email(email: str) -> str:
    """Return the canonical form of an e-mail address used as a login."""
    return email.strip().lower()


def check_password_rules(password: str, email: str | None = None) -> list[str]:
    """Return the French reasons why ``password`` is too weak (empty if acceptable)."""
    return password_problems(password, email=email)


def create_user(
    *,
    email: str,
    name: str,
    password: str,
    role: Role,
    organisation: Organisation | None = None,
    federation: Federation | None = None,
    agence: Agence | None = None,
    sector: list[Residence] | None = None,
) -> User:
    """Create a user after checking affiliation, perimeter and password rules."""
    email = normalise_email(email)
    errors: dict[str, list[str]] = {}
    if "@" not in email or len(email) > 254:
        errors["email"] = ["Adresse e-mail invalide."]
    elif db.session.scalar(db.select(User.id).where(User.email == email)) is not None:
        errors["email"] = ["Un compte existe déjà avec cette adresse."]
    if not name.strip():
        errors["name"] = ["Le nom est obligatoire."]
    if problems := check_password_rules(password, email):
        errors["password"] = problems
    if role is Role.FEDERATION:
        if federation is None or organisation is not None:
            errors["role"] = ["Un compte fédération est rattaché à une fédération."]
    elif organisation is None or federation is not None:
        errors["role"] = ["Ce compte doit être rattaché à un bailleur."]
    if agence is not None and (
        organisation is None or agence.organisation_id != organisation.id
    ):
        errors["agence"] = ["Cette agence n'appartient pas au bailleur."]
    if sector and any(
        r.organisation_id != getattr(organisation, "id", None) for r in sector
    ):
        errors["sector"] = ["Une résidence du secteur n'appartient pas au bailleur."]
    if errors:
        raise ValidationError(errors)
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        organisation=organisation,
        federation=federation,
        agence=agence,
        sector=list(sector or []),
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    logger.info("Compte créé : %s (%s)", email, role.value)
    return user


def authenticate(email: str, password: str, *, address: str) -> User | None:
    """Return the active user with these credentials, or None.

    The work and the answer are the same whether the account exists or not: an unknown
    e-mail costs a password hash too, and the throttle counts the e-mail typed. While
    the e-mail or the client ``address`` is locked (see orfi.security.throttle), even
    the right password gets None, after the same work.
    """
    login = normalise_email(email)
    serialise_login_attempts(login)
    if login_locked_until(login, address) is not None:
        # The same time as a wrong password: a quick answer would reveal the lock.
        _check_dummy_password(password)
        return None
    user = db.session.scalar(db.select(User).where(User.email == login))
    if user is None:
        # Spend the same time as a real check so that timing does not reveal accounts.
        _check_dummy_password(password)
        accepted = False
    else:
        accepted = user.check_password(password) and user.active
    if not accepted:
        record_login_failure(login, address)
        return None
    clear_login_failures(login)
    user.last_login_at = utcnow()
    return user


def change_own_password(
    user: User, *, current: str, new: str, address: str
) -> dict[str, list[str]]:
    """Give ``user`` the password ``new`` if ``current`` is theirs; return the errors.

    A wrong current password counts as a failed login (the page must not become a way
    round the throttle); the caller commits in both cases. On success the user's other
    sessions end (this one goes on, as users expect) and their personal API tokens are
    revoked.
    """
    login = normalise_email(user.email)
    serialise_login_attempts(login)
    locked = login_locked_until(login, address) is not None
    if locked or not user.check_password(current):
        if not locked:
            record_login_failure(login, address)
        return {"current": ["Mot de passe actuel incorrect."]}
    if problems := check_password_rules(new, user.email):
        return {"password": problems}
    if user.check_password(new):
        return {"password": ["Choisissez un mot de passe différent de l'actuel."]}
    user.set_password(new)
    clear_login_failures(login)
    revoke_user_sessions(user.id, keep_current=True)
    password_changed.send(user)
    db.session.flush()
    logger.info("Mot de passe changé par son titulaire : %s", user.email)
    return {}


def load_user(user_id: str) -> User | None:
    """Return the user behind a session, or None if the session was revoked (logout,
    new password, « déconnecter partout »), is unknown to the server, or its account
    was deactivated: that ends the session."""
    key_hash = current_key_hash()
    if key_hash is None or not user_id.isdigit():
        end_session("session inconnue")
        return None
    row = db.session.execute(
        _session_user(), {"user_id": int(user_id), "key_hash": key_hash}
    ).first()
    if row is None:
        end_session("session inconnue")
        return None
    user, session_id, revoked_at = row
    if revoked_at is not None:
        end_session("session révoquée")
        return None
    if not user.active:
        end_session("compte désactivé")
        return None
    note_current_session(session_id)
    return user


@functools.cache
def _session_user() -> sa.Select:
    # Built once: every request of a logged-in user runs it.
    return (
        sa.select(User, UserSession.id, UserSession.revoked_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            User.id == sa.bindparam("user_id"),
            UserSession.key_hash == sa.bindparam("key_hash"),
        )
    )


#: Roles an administrator gives within their organisation (federation accounts are not
#: the organisation's).
ORGANISATION_ROLES = (Role.GARDIEN, Role.REFERENT, Role.DIRECTION, Role.ADMIN)


def list_users(organisation_id: int) -> Sequence[User]:
    """Return the organisation's users by name, with their agence loaded."""
    return db.session.scalars(
        db.select(User)
        .where(User.organisation_id == organisation_id)
        .options(sa.orm.joinedload(User.agence))
        .order_by(sa.func.lower(User.name), User.email)
    ).all()


def get_user_in(organisation_id: int, user_id: int) -> User:
    """Return the organisation's user with this id, else raise NotFound."""
    user = db.session.scalar(
        db.select(User).where(
            User.id == user_id, User.organisation_id == organisation_id
        )
    )
    if user is None:
        raise NotFound("Utilisateur introuvable.")
    return user


def update_user(
    user: User,
    *,
    actor: User,
    name: str,
    role: Role,
    agence: Agence | None,
    sector: list[Residence],
    active: bool,
) -> User:
    """Change a user's name, role, perimeter and active flag, as ``actor`` asks.

    An administrator may neither demote nor deactivate themselves, so that an
    organisation always keeps the administrator who is acting.
    """
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["Le nom est obligatoire."]
    if user.organisation_id is None or role not in ORGANISATION_ROLES:
        errors["role"] = ["Rôle impossible pour un compte de bailleur."]
    elif user.id == actor.id and role is not Role.ADMIN:
        errors["role"] = [
            "Vous ne pouvez pas retirer votre propre rôle d'administrateur : "
            "demandez-le à un autre administrateur."
        ]
    if user.id == actor.id and not active:
        errors["active"] = ["Vous ne pouvez pas désactiver votre propre compte."]
    if agence is not None and agence.organisation_id != user.organisation_id:
        errors["agence"] = ["Cette agence n'appartient pas au bailleur."]
    if any(r.organisation_id != user.organisation_id for r in sector):
        errors["sector"] = ["Une résidence du secteur n'appartient pas au bailleur."]
    if errors:
        raise ValidationError(errors)
    changed = sorted(
        key
        for key, old, new in (
            ("name", user.name, name.strip()),
            ("role", user.role, role),
            ("agence", user.agence_id, agence.id if agence else None),
            ("sector", {r.id for r in user.sector}, {r.id for r in sector}),
            ("active", user.active, active),
        )
        if old != new
    )
    user.name = name.strip()
    user.role = role
    user.agence = agence
    user.sector = list(sector)
    user.active = active
    if "active" in changed and not active:
        revoke_user_sessions(user.id)
    db.session.flush()
    if changed:
        logger.info(
            "Compte %s modifié par %s : %s", user.email, actor.email, ", ".join(changed)
        )
    return user


def set_user_password(user: User, password: str) -> None:
    """Give ``user`` a new password after checking the password rules.

    The account's sessions end (all of them: an administrator sets it for someone
    else), its personal API tokens are revoked, and its login lock (if any) lifted.
    """
    if problems := check_password_rules(password, user.email):
        raise ValidationError({"password": problems})
    user.set_password(password)
    clear_login_failures(normalise_email(user.email))
    revoke_user_sessions(user.id)
    password_changed.send(user)
    db.session.flush()
    logger.info("Mot de passe réinitialisé : %s", user.email)


def _check_dummy_password(password: str) -> None:
    """Spend the time of a password check, on a hash that matches nothing."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    check_password_hash(_dummy_hash(method), password)


@functools.cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_hex(16), method=method)


def create_federation(*, code: str, name: str, region: str = "") -> Federation:
    """Create a federation (USH or a regional association); flushes only."""
    code, name = code.strip(), name.strip()
    errors: dict[str, list[str]] = {}
    if not code or len(code) > 20:
        errors["code"] = ["Code de 1 à 20 caractères (ex. USH-OCC)."]
    elif db.session.scalar(sa.select(Federation.id).where(Federation.code == code)):
        errors["code"] = ["Ce code est déjà utilisé."]
    if not name:
        errors["name"] = ["Le nom est obligatoire."]
    if errors:
        raise ValidationError(errors)
    federation = Federation(code=code, name=name, region=region.strip())
    db.session.add(federation)
    db.session.flush()
    return federation
