"""Views of the federation feature."""

from flask import Blueprint

bp = Blueprint(
    "federation",
    __name__,
    url_prefix=" export, import and the consolidated view.:/federation",
)
