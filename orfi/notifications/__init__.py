"""What happened to the facts, recorded for the alerts (issue 11).

The low half of the alerts: events and their outbox rows, written by the services that
make the change (reports, follow-up) in that change's transaction. It sits below
``orfi.reports`` so those services can call it; the worker, the channels and the pages
live above, in ``orfi.alerts``.
"""
