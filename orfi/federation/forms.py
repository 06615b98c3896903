"""Forms of the federation feature: period choice and file import."""

from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SelectField, SubmitField

from orfi.forms import BaseForm

FORMAT_CHOICES = [
    ("json", "JSON (import, format documenté)"),
    ("csv", "CSV « ; » (import, tableur)"),
    ("xlsx", "Excel (XLSX, lecture)"),
]


class PeriodForm(BaseForm):
    """The year a page shows (GET, no CSRF); choices are the years with data."""

    class Meta:
        csrf = False

    period = SelectField("Année", validate_choice=False)
    submit = SubmitField("Afficher")


class ImportForm(BaseForm):
    """Upload federation files sent by bailleurs that run their own instance."""

    file = FileField(
        "Fichier fédération (JSON ou CSV)",
        validators=[
            FileRequired("Choisissez un fichier."),
            FileAllowed(
                ("json", "csv", "txt"),
                "Formats acceptés : JSON ou CSV produits par orfi.",
            ),
        ],
        render_kw={"accept": ".json,.csv"},
    )
    submit = SubmitField("Importer")
