"""Privacy: access log, retention rules (``orfi purge``), free-text warnings."""
