"""The « Recalculer » button: a form with only its CSRF token."""

from orfi.forms import BaseForm


class RecomputeForm(BaseForm):
    """Ask the worker to compute early warning again."""
