"""The security activity log: meetings and interventions."""
