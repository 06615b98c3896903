"""Open data shipped with orfi (see README.md here)."""
