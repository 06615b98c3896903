"""Views of the followup feature."""

from flask import Blueprint

bp = Blueprint("followup", __name__, url_prefix="/suivi")
