"""Web Push channel of the alerts (being written: the integrator's part of issue 11).

Contract used by the delivery worker: :func:`send_push` sends ``payload`` to every
device ``user_id`` registered and returns how many devices accepted it (0 when the user
registered none: the delivery is then recorded as skipped); it raises
:class:`PushTemporaryFailure` when every device failed for a reason that may pass (the
push service down), so the worker retries later. ``topic`` (at most 32 URL-safe
characters) lets the push service replace a copy it still holds, so a resend after a
crash does not show twice.
"""

from __future__ import annotations


class PushTemporaryFailure(Exception):
    """Every device failed for a reason that may pass: retry later."""


def send_push(user_id: int, payload: dict, *, topic: str) -> int:
    """Placeholder until the Web Push channel lands: no device is registered yet."""
    return 0
