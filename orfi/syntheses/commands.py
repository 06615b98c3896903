"""Commands of the syntheses feature."""
