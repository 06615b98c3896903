"""``orfi purge``: apply the retention rules."""
