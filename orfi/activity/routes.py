"""Views of the activity feature."""

from flask import Blueprint

bp = Blueprint(
    "activity", __name__, url_prefix=" meetings and interventions.:/activite"
)
