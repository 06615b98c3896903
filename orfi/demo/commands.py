"""Commands of the demo feature."""
