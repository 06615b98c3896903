"""Commands of the api feature."""
