"""Early warning per résidence, run in the background and stored (issue 14, item 6)."""
