"""Hotspot maps."""
