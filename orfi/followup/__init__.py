"""Follow-up of a fact with partners (actions, complaint details)."""
