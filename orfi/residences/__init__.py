"""Résidences: list and detail for readers, patrimoine import for administrators."""
