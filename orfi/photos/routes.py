"""Views of the photos feature."""

from flask import Blueprint

bp = Blueprint("photos", __name__, url_prefix=" upload, re-encoding, serving.:/photos")
