"""Daily synthesis and bilan d'activité."""
