"""``orfi backup`` and ``orfi restore``."""
