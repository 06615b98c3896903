"""The patrimoine: organisations, agences, résidences, bâtiments and their import."""
