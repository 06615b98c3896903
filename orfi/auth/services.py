"""Account services: creating, reading and editing users, checking their credentials."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from orfi.auth.models import Federation, Role, User
from orfi.database import utcnow
from orfi.errors import NotFound, ValidationError
from orfi.extensions import db
from orfi.patrimoine.models import Agence, Organisation, Residence

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10


def normalise_email(email: str) -> str:
    """Return the canonical form of an e-mail address used as a login."""
    return email.strip().lower()


def check_password_rules(password: str) -> list[str]:
    """Return the French reasons why ``password`` is too weak (empty if acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Au moins {MIN_PASSWORD_LENGTH} caractères.")
    if password.isalpha() or password.isdigit():
        problems.append("Mélangez lettres et chiffres ou symboles.")
    return problems


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
    if problems := check_password_rules(password):
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


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = db.session.scalar(
        db.select(User).where(User.email == normalise_email(email))
    )
    if user is None:
        # Spend the same time as a real check so that timing does not reveal accounts.
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        check_password_hash(_dummy_hash(method), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def load_user(user_id: str) -> User | None:
    """Return the user behind a session id, or None."""
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


#: Roles an administrator gives within their organisation (federation accounts are not
#: the organisation's).
ORGANISATION_ROLES = (Role.GARDIEN, Role.REFERENT, Role.DIRECTION, Role.ADMIN)


def list_users(organisation_id: int) -> Sequence[User]:
    """Return the organisation's users by name, with their agence and sector loaded."""
    return db.session.scalars(
        db.select(User)
        .where(User.organisation_id == organisation_id)
        .options(sa.orm.joinedload(User.agence), sa.orm.selectinload(User.sector))
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
    db.session.flush()
    if changed:
        logger.info(
            "Compte %s modifié par %s : %s", user.email, actor.email, ", ".join(changed)
        )
    return user


def set_user_password(user: User, password: str) -> None:
    """Give ``user`` a new password after checking the password rules."""
    if problems := check_password_rules(password):
        raise ValidationError({"password": problems})
    user.set_password(password)
    db.session.flush()
    logger.info("Mot de passe réinitialisé : %s", user.email)


@functools.cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_hex(16), method=method)
