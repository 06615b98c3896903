"""Exports of a bailleur's own facts (CSV, XLSX, GeoJSON)."""
