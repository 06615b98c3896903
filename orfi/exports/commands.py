"""Commands of the exports feature."""
