"""Characters no text of orfi may hold: control characters and bidi controls.

A NUL byte cannot be stored by PostgreSQL (the write fails) and is kept silently by
SQLite; the other C0 control characters have no business in a name or a note; the
Unicode bidirectional controls make a text show other than what it is (a name or a
reference read backwards: display spoofing). The forms (``orfi.forms``), the API
contract, the query strings (:func:`register`) and the imports refuse them with the
messages written here, so that every boundary says the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import Flask, request

from orfi.errors import ValidationError

#: C0 control characters a multi-line text may hold: tabulation and line breaks.
_LINE_BREAKS = "\t\n\r"
#: The other C0 control characters.
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f"
#: Bidi controls: embeddings and overrides, isolates, marks (LRM, RLM, ALM).
BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
_REFUSED_MULTILINE = re.compile(f"[{_CONTROLS}{BIDI_CONTROLS}]")
_REFUSED_SINGLE_LINE = re.compile(f"[{_LINE_BREAKS}{_CONTROLS}{BIDI_CONTROLS}]")
#: A bidi control; a C0 control character other than tabulation and line breaks
#: (to search a whole column at once: ``Series.str.contains``).
BIDI = re.compile(f"[{BIDI_CONTROLS}]")
CONTROLS = re.compile(f"[{_CONTROLS}]")


def refused_character(
    text: str, *, multiline: bool = False, bidi: bool = True
) -> str | None:
    """Return the first character of ``text`` that may not be stored, or None.

    A single-line text refuses tabulations and line breaks too; ``bidi=False`` lets
    bidi controls through (a text never shown, such as a password).
    """
    pattern = _REFUSED_MULTILINE if multiline else _REFUSED_SINGLE_LINE
    for found in pattern.finditer(text):
        if bidi or not BIDI.match(found.group()):
            return found.group()
    return None


def code_point(character: str) -> str:
    """Return how a message names ``character``: ``U+0000``."""
    return f"U+{ord(character):04X}"


def refusal(text: str, *, multiline: bool = False, bidi: bool = True) -> str | None:
    """Return why ``text`` may not be stored (French), or None when it may.

    See :func:`refused_character` for ``multiline`` and ``bidi``.
    """
    character = refused_character(text, multiline=multiline, bidi=bidi)
    if character is None:
        return None
    code = code_point(character)
    if BIDI.match(character):
        return (
            f"Caractère invisible de sens d'écriture ({code}) interdit : "
            "retirez-le du texte."
        )
    if character in _LINE_BREAKS:
        return f"Tabulation ou retour à la ligne ({code}) interdit dans ce champ."
    return f"Caractère de contrôle ({code}) interdit : retirez-le du texte."


def visible(text: str) -> str:
    """Return ``text`` with each refused character replaced by « ? », to show it."""
    return _REFUSED_SINGLE_LINE.sub("?", text)


def without_bidi(text: str) -> str:
    """Return ``text`` without its bidi controls."""
    return BIDI.sub("", text)


def query_refusals(items: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Return the refusals of a query string's names and values, by name."""
    errors: dict[str, list[str]] = {}
    for name, value in items:
        problem = refusal(name) or refusal(value)
        if problem is not None:
            # The name itself may be what is refused: show it without the culprit.
            shown = visible(name)[:100] or "?"
            # A page lists the messages alone: each names its parameter.
            errors.setdefault(shown, []).append(f"Paramètre « {shown} » : {problem}")
    return errors


def _check_query_string() -> None:
    errors = query_refusals(request.args.items(multi=True))
    if errors:
        raise ValidationError(errors)


def register(app: Flask) -> None:
    """Refuse, before any view, a request whose query string holds such characters.

    Views read some parameters directly (``next``, ``page``, a family…) and the
    access log records the filters: one check here covers them all.
    """
    app.before_request(_check_query_string)
