"""Administration of one organisation: users, nomenclature, patrimoine import."""
