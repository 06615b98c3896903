"""The base form every form derives from."""

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
