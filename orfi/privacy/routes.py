"""Pages of the privacy feature (access log for administrators)."""

from flask import Blueprint

bp = Blueprint("privacy", __name__)
