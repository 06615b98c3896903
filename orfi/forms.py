"""The base form every form derives from, and how service errors reach its fields."""

from collections.abc import Mapping

from flask_wtf import FlaskForm
from wtforms.i18n import get_translations


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class BaseForm(FlaskForm):
    """A CSRF-protected form, in French, whose text inputs are stripped."""

    class Meta:
        locales = ("fr_FR", "fr")

        def get_translations(self, form):
            # WTForms ships French messages; Flask-WTF would look for Flask-Babel.
            return get_translations(self.locales)

        def bind_field(self, form, unbound_field, options):
            filters = unbound_field.kwargs.get("filters", ())
            bound_filters = [_strip, *filters]
            return unbound_field.bind(form=form, filters=bound_filters, **options)


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
