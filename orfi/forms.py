"""The base form every form derives from, and how service errors reach its fields."""

from collections.abc import Mapping

from flask_wtf import FlaskForm
from wtforms import PasswordField, TextAreaField
from wtforms.i18n import get_translations
from wtforms.validators import StopValidation

from orfi import limits
from orfi.characters import refusal


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def refuse_characters(form, field) -> None:
    """Refuse control characters and bidi controls in what was posted to ``field``.

    Only a text area may hold tabulations and line breaks. A password is never
    shown: bidi controls in it spoof nothing, and refusing them could lock out a
    password chosen before this check.
    """
    multiline = isinstance(field, TextAreaField)
    shown = not isinstance(field, PasswordField)
    for value in field.raw_data or ():
        if isinstance(value, str):
            problem = refusal(value, multiline=multiline, bidi=shown)
            if problem is not None:
                # Stop: the field's other checks would only add noise about it.
                raise StopValidation(problem)


class BaseForm(FlaskForm):
    """A CSRF-protected form, in French, whose text inputs are stripped and refuse
    control and bidi characters (every field, before its own checks)."""

    class Meta:
        locales = ("fr_FR", "fr")

        def get_translations(self, form):
            # WTForms ships French messages; Flask-WTF would look for Flask-Babel.
            return get_translations(self.locales)

        def bind_field(self, form, unbound_field, options):
            filters = unbound_field.kwargs.get("filters", ())
            bound_filters = [_strip, *filters]
            field = unbound_field.bind(form=form, filters=bound_filters, **options)
            # First in the chain: a NUL byte must never reach a query or a write.
            field.validators = [refuse_characters, *field.validators]
            return field


def attach_errors(
    form,
    errors: Mapping[str, list[str]],
    *,
    fallback: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> None:
    """Put a service's errors (by field name) next to the form's fields.

    ``aliases`` name the form field of a service field called differently; an error
    of a field the form does not have goes to ``fallback`` (default: the first field).
    """
    aliases = aliases or {}
    for name, messages in errors.items():
        target = getattr(form, aliases.get(name, name), None)
        if target is None:
            target = getattr(form, fallback) if fallback else next(iter(form))
        target.errors = [*target.errors, *messages]


# ------------------------------------------------------------- integers of a query
# A number beyond its column's range (2^31 for an id on PostgreSQL, 2^63 on SQLite)
# makes the database refuse the query: it is refused here, at the boundary, once.

#: The message of a number that is not one, or out of its range.
NOT_AN_ID = "Valeur invalide."


def bounded_int(
    value: object, *, minimum: int = 1, maximum: int = limits.ID_MAX
) -> int | None:
    """``value`` (a query's text, or an int) between the bounds; None if empty.

    Raise ValueError (with a French message) if it is no integer or out of range.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(NOT_AN_ID)
    if not isinstance(value, int):
        text = str(value).strip()
        digits = text[1:] if text[:1] in "+-" else text
        # ASCII digits only, and few: int() would take "１", "1_0" and 4,000 digits.
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 20):
            raise ValueError(NOT_AN_ID)
        value = int(text)
    if not minimum <= value <= maximum:
        raise ValueError(NOT_AN_ID)
    return value


def optional_id(value: object) -> int | None:
    """The ``coerce`` of a SelectField naming a row: '' is None, a non-id refused."""
    return bounded_int(value)


def page_number(args: Mapping[str, str]) -> int:
    """The ``page`` of a list's query string, from 1 to ``limits.PAGE_MAX``.

    Like a page past the last one, a page beyond the limit shows an empty list; what
    is no page number shows the first page.
    """
    text = (args.get("page") or "").strip().removeprefix("+")
    if not (text.isascii() and text.isdigit()):
        return 1
    if len(text.lstrip("0")) > len(str(limits.PAGE_MAX)):
        return limits.PAGE_MAX
    return min(max(int(text), 1), limits.PAGE_MAX)
