"""The nomenclature of facts (families, categories) and its administration."""
