"""The fact pages (blueprint ``reports``): field form, lists, detail, qualification.

They compose the facts of :mod:`orfi.reports` with their photos and the privacy hints,
so they sit above those features rather than inside :mod:`orfi.reports`.
"""
