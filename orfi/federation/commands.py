"""Commands of the federation feature."""
