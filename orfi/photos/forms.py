"""Forms of the photos feature."""

from wtforms import MultipleFileField, SubmitField

from orfi.forms import BaseForm

#: What the file pickers offer; the server checks the content whatever this says.
ACCEPT = "image/jpeg,image/png,image/webp"


class PhotoUploadForm(BaseForm):
    """Add photos to a fact."""

    photos = MultipleFileField("Photos", render_kw={"accept": ACCEPT})
    submit = SubmitField("Ajouter les photos")


class DeletePhotoForm(BaseForm):
    """Delete a photo (a button: CSRF only)."""

    submit = SubmitField("Supprimer")
