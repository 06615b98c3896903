"""Commands of the patrimoine feature (import)."""
