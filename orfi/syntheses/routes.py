"""Views of the syntheses feature."""

from flask import Blueprint

bp = Blueprint("syntheses", __name__, url_prefix="/syntheses")
