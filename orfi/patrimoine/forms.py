"""Forms of the patrimoine feature: the import upload and its column mapping."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectField, SubmitField

from orfi.forms import BaseForm
from orfi.geo.patrimoine_columns import missing_champs

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
    #: Show the columns and the first rows, and let the person choose, before importing.
    choose = SubmitField("Vérifier les colonnes")
    submit = SubmitField("Importer")


#: How the mapping step names each champ (keys: MAPPABLE_FIELDS of
#: orfi.geo.patrimoine_columns, in the same order).
CHAMP_LABELS = {
    "reference": "Référence de la résidence (obligatoire, unique)",
    "nom": "Nom de la résidence (obligatoire)",
    "adresse": "Adresse",
    "code_insee": "Code INSEE de la commune",
    "commune": "Commune",
    "logements": "Nombre de logements",
    "agence": "Agence",
    "latitude": "Latitude (WGS84)",
    "longitude": "Longitude (WGS84)",
    "x_l93": "X Lambert-93",
    "y_l93": "Y Lambert-93",
}
#: Why the mapping step refuses a required champ left without a column.
_REQUIRED = {
    "reference": "Choisissez la colonne qui donne la référence.",
    "nom": "Choisissez la colonne qui donne le nom.",
    "latitude": "Choisissez les colonnes de la position : latitude et longitude, "
    "ou X et Y en Lambert-93.",
}
#: How the upload page names the required champs it could not find.
MISSING_NAMES = {"reference": "référence", "nom": "nom", "latitude": "position"}
#: The option that reads a champ from no column.
NO_COLUMN = ("", "— aucune colonne —")


class ColumnMappingForm(BaseForm):
    """Choose the file's column for each champ, then import (second step)."""

    token = HiddenField()
    strict = BooleanField("Ne rien importer si une seule ligne est rejetée")
    dry_run = BooleanField("Vérifier seulement, sans rien enregistrer")
    submit = SubmitField("Importer avec ces colonnes")

    def offer(self, columns: Iterable[str], champs: Iterable[str]) -> None:
        """Offer the file's ``columns`` for each of ``champs``; drop the others
        (a vector file's geometry gives its positions)."""
        choices = [NO_COLUMN, *((c, c) for c in columns if c.strip())]
        champs = set(champs)
        for champ in CHAMP_LABELS:
            if champ in champs:
                self[champ].choices = choices
            else:
                del self[champ]

    def preselect(self, columns: Mapping[str, str]) -> None:
        """Select each champ's column (guessed or remembered) before the person
        chooses."""
        for champ in self.champs:
            self[champ].data = columns.get(champ, "")

    @property
    def champs(self) -> list[str]:
        """The champs this form offers, in the order of CHAMP_LABELS."""
        return [champ for champ in CHAMP_LABELS if champ in self]

    def chosen(self) -> dict[str, str]:
        """{champ: column} as chosen ("" for no column)."""
        return {champ: self[champ].data or "" for champ in self.champs}

    def validate(self, extra_validators=None) -> bool:
        """Check the choices: reference, nom and a whole position are required."""
        valid = super().validate(extra_validators)
        missing = missing_champs(self.chosen(), vector="latitude" not in self)
        for champ in missing:
            self[champ].errors.append(_REQUIRED[champ])
        return valid and not missing


for _champ, _label in CHAMP_LABELS.items():
    setattr(ColumnMappingForm, _champ, SelectField(_label, choices=[NO_COLUMN]))
