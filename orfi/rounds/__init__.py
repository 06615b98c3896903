"""Patrol priorities (« Priorités de rondes »): the printable weekly sheet."""
