"""The password rules, in one function called wherever a password is set.

The CNIL's recommendation on passwords (délibération 2022-100) accepts 8 characters of
three kinds when the login is throttled; orfi asks for more, because the accounts read
offence data: 12 characters at least, letters mixed with digits or symbols, not the
e-mail address, not one of the passwords everyone tries first.
"""

from __future__ import annotations

import re

MIN_LENGTH = 12
#: Long enough for any passphrase or password manager; bounds the hashing work.
MAX_LENGTH = 128
#: A password made of fewer different characters is a repetition ("aaaaaaaaaaa1").
MIN_DISTINCT = 5

#: Words that, followed by nothing but a count or a year, make the passwords tried
#: first (in French and English, and this application's own vocabulary).
_COMMON_WORDS = frozenset(
    {
        "abcdef", "abcdefgh", "admin", "administrateur", "administrator", "azerty",
        "azertyuiop", "bailleur", "bienvenue", "bonjour", "changeme", "chocolat",
        "doudou", "football", "gardien", "iloveyou", "jetaime", "letmein", "loulou",
        "marseille", "motdepasse", "monmotdepasse", "nicolas", "orfi", "paris",
        "passw0rd", "password", "princesse", "qwerty", "qwertyuiop", "referent",
        "secret", "soleil", "sunshine", "toulouse", "welcome",
    }
)  # fmt: skip
#: Whole passwords (separators removed) that are known to come first in leaked lists.
_COMMON_PASSWORDS = frozenset(
    {
        "1q2w3e4r5t6y", "1qaz2wsx3edc", "a1b2c3d4e5f6", "azertyuiopqsdfghjklm",
        "azertyuiopqsdf", "qwertyuiopasdf", "qwertyuiopasdfghjkl", "zaq12wsxcde3",
        "abcdefghijkl1", "abc123abc123", "azerty123azerty", "password1password",
    }
)  # fmt: skip
_SEPARATORS = re.compile(r"[\s\-_.,;:!?@#$%&*+=/\\|'\"()\[\]{}<>~^`]+")
_WORD_AND_COUNT = re.compile(r"([^\d]+)(\d*)")


def password_problems(password: str, *, email: str | None = None) -> list[str]:
    """Return the French reasons why ``password`` may not be used (empty if it may).

    ``email`` is the account's address, when known: the password may not repeat it.
    """
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Au moins {MIN_LENGTH} caractères.")
    elif len(password) > MAX_LENGTH:
        problems.append(f"Au plus {MAX_LENGTH} caractères.")
    if password.isalpha() or password.isdigit():
        problems.append("Mélangez lettres et chiffres ou symboles.")
    squeezed = _squeeze(password)
    if email and squeezed in _email_forms(email):
        problems.append("Le mot de passe ne doit pas reprendre l'adresse e-mail.")
    elif _is_common(squeezed):
        problems.append(
            "Ce mot de passe est parmi les plus courants : choisissez-en un autre."
        )
    elif len(set(password)) < MIN_DISTINCT and len(password) >= MIN_LENGTH:
        problems.append("Trop de caractères répétés.")
    return problems


def _squeeze(text: str) -> str:
    """Return ``text`` case-folded, without spaces or punctuation."""
    return _SEPARATORS.sub("", text.casefold())


def _email_forms(email: str) -> set[str]:
    """The whole address and its part before the @, squeezed."""
    address = email.strip()
    return {_squeeze(address), _squeeze(address.partition("@")[0])} - {""}


def _is_common(squeezed: str) -> bool:
    """Whether a squeezed password is a common one: listed, a word plus a count or a
    year, or a run of consecutive digits."""
    if squeezed in _COMMON_PASSWORDS or (
        len(squeezed) >= 6 and squeezed in "01234567890123456789"
    ):
        return True
    match = _WORD_AND_COUNT.fullmatch(squeezed)
    if match is None:
        return False
    word, digits = match.groups()
    if word not in _COMMON_WORDS:
        return False
    return (
        not digits
        or "1234567890".startswith(digits)
        or (len(digits) == 4 and 1950 <= int(digits) <= 2039)
    )
