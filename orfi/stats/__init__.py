"""Statistics pages and their CSV downloads."""
