"""Account services: creating users and checking their credentials."""

from __future__ import annotations

import functools
import logging
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from orfi.auth.models import Federation, Role, User
from orfi.database import utcnow
from orfi.errors import ValidationError
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
    """Return the active user with these credentials, or None (same answer for both faults)."""
    user = db.session.scalar(
        db.select(User).where(User.email == normalise_email(email))
    )
    if user is None:
        # Spend the same time as a real check so that timing does not reveal accounts.
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def load_user(user_id: str) -> User | None:
    """Return the user behind a session id, or None."""
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))
