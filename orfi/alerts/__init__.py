"""Alerts (issue 11): subscriptions, the delivery worker, its channels (e-mail, Web
Push, in-app inbox) and their pages. Events and outbox rows are written below, in
``orfi.notifications``."""
