"""Early warning per unit (résidence, entrée): weekly counts, expected levels, alarms.

Pure computation (numpy, pandas, scipy): no Flask, no SQLAlchemy. Counts come in as
arrays, statuses go out as data frames; the pages and the alert pipeline read them.
Method, parameters and error rates: docs/early-warning.md.
"""
