"""Web hardening: security headers, session lifetime, login throttling."""

from flask import Flask


def register(app: Flask) -> None:
    """Install the security hooks on ``app``."""
