"""Forms of the patrimoine feature: the import upload."""

from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SubmitField

from orfi.forms import BaseForm

#: File extensions the upload accepts (a shapefile comes zipped with its companions).
IMPORT_EXTENSIONS = ("csv", "txt", "geojson", "json", "gpkg", "zip")


class ImportPatrimoineForm(BaseForm):
    """Upload a patrimoine file to create or update the organisation's résidences."""

    file = FileField(
        "Fichier du patrimoine",
        validators=[
            FileRequired("Choisissez un fichier."),
            FileAllowed(
                IMPORT_EXTENSIONS,
                "Formats acceptés : CSV, GeoJSON, GeoPackage ou shapefile zippé.",
            ),
        ],
        render_kw={"accept": ",".join(f".{ext}" for ext in IMPORT_EXTENSIONS)},
    )
    strict = BooleanField("Ne rien importer si une seule ligne est rejetée")
    dry_run = BooleanField("Vérifier seulement, sans rien enregistrer")
    submit = SubmitField("Importer")
