"""Web Push channel of the alerts: the user's devices, the server's VAPID key, sending.

A device is what a browser's ``pushManager.subscribe()`` returns (an endpoint URL at
the browser's push service and two public keys); the user registers it from « Alertes
sur mes téléphones » (:mod:`orfi.alerts.push_routes`). The payload is encrypted for the
device (``aes128gcm``) and signed with the server's VAPID key, created by ``orfi init``
in ``instance/`` (:func:`ensure_vapid_key`); ``pywebpush`` does both.

Push reaches another host (the browser's push service, e.g. Google's or Mozilla's), so
it is opt-in per server: ``ORFI_PUSH_HOSTS`` lists the push services' host names (empty
by default: push is off, the other channels work), and only ``https`` endpoints on those
hosts are accepted, so a user cannot make the server post to the operator's network.

Contract used by the delivery worker: :func:`send_push` sends ``payload`` to every
device ``user_id`` registered and returns how many accepted it (0 when the user
registered none: the delivery is then recorded as skipped); it raises
:class:`PushTemporaryFailure` when no device accepted it and at least one failed (the
push service down or busy, or refusing the server's key), so the worker retries later
and, past its limit, shows the delivery as failed to the administrator. ``topic`` (at
most 32 URL-safe characters) lets the push service replace a copy it still holds, so a
resend after a crash does not show twice. Devices the push service says are gone (404,
410) are deleted (in a transaction of its own, like the note of the devices reached).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from orfi.alerts.models import ENDPOINT_MAX_LENGTH, LABEL_MAX_LENGTH, PushDevice
from orfi.database import utcnow
from orfi.errors import ValidationError
from orfi.extensions import db
from orfi.transaction import unit_of_work

logger = logging.getLogger(__name__)

#: Seconds the push service keeps a message for a phone that is off (one day).
TTL_SECONDS = 24 * 3600
#: Seconds to wait for the push service.
TIMEOUT_SECONDS = 10
VAPID_FILE = "vapid_private.pem"


class PushTemporaryFailure(Exception):
    """No device accepted the message and one failed for a reason that may pass."""


# --- The server's key ------------------------------------------------------------


def vapid_key_path() -> Path:
    """Where the server's VAPID private key lives (``ORFI_VAPID_PRIVATE_KEY`` or
    ``instance/vapid_private.pem``)."""
    configured = current_app.config["ORFI_VAPID_PRIVATE_KEY"]
    return Path(configured or Path(current_app.instance_path) / VAPID_FILE)


def ensure_vapid_key() -> bool:
    """Create the VAPID key pair, readable by its owner only, unless it exists; return
    whether it was created now. Called by ``orfi init``."""
    path = vapid_key_path()
    if path.exists():
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    vapid = Vapid()
    vapid.generate_keys()
    # Created 0600 at once: a write then a chmod would leave it readable meanwhile.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(vapid.private_pem())
    return True


def _vapid() -> Vapid | None:
    path = vapid_key_path()
    if not path.exists():
        return None
    return Vapid.from_file(str(path))


def application_server_key() -> str | None:
    """The public key browsers subscribe with (base64url, uncompressed point), or None
    when ``orfi init`` has not created it."""
    vapid = _vapid()
    if vapid is None:
        return None
    raw = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def push_hosts() -> tuple[str, ...]:
    """The push services' host names this server may post to (``ORFI_PUSH_HOSTS``)."""
    raw = current_app.config["ORFI_PUSH_HOSTS"]
    return tuple(h.strip().lower() for h in raw.split(",") if h.strip())


def push_enabled() -> bool:
    """Whether the server sends Web Push at all (a host allowed and a key)."""
    return bool(push_hosts()) and vapid_key_path().exists()


# --- Devices ---------------------------------------------------------------------


def _allowed_host(host: str, allowed: tuple[str, ...]) -> bool:
    return any(host == name or host.endswith("." + name) for name in allowed)


def _check_endpoint(endpoint: str) -> str | None:
    """Return why ``endpoint`` is refused, in French, or None."""
    if not endpoint or len(endpoint) > ENDPOINT_MAX_LENGTH:
        return "Adresse d'abonnement absente ou trop longue."
    parts = urlsplit(endpoint)
    secure = parts.scheme == "https" or (
        parts.scheme == "http" and current_app.config["ORFI_PUSH_ALLOW_HTTP"]
    )
    if not secure or not parts.hostname:
        return "L'adresse d'abonnement doit commencer par https://."
    if not _allowed_host(parts.hostname.lower(), push_hosts()):
        return (
            "Ce service de notification n'est pas autorisé sur ce serveur "
            "(ORFI_PUSH_HOSTS)."
        )
    return None


def _key_error(value: str, size: int) -> str | None:
    """Return why ``value`` is not ``size`` bytes in base64url, in French, or None."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return "Clé illisible (base64url attendu)."
    if len(raw) != size:
        return f"Clé de {size} octets attendue."
    return None


def register_device(
    user_id: int, endpoint: str, p256dh: str, auth: str, label: str = ""
) -> PushDevice:
    """Record the browser's subscription for ``user_id`` (in the caller's transaction).

    The endpoint names one browser: registering it again moves it to the user now
    logged in there, so a shared phone alerts only its current user.
    """
    errors: dict[str, list[str]] = {}
    if problem := _check_endpoint(endpoint):
        errors["endpoint"] = [problem]
    if problem := _key_error(p256dh, 65):
        errors["keys.p256dh"] = [problem]
    if problem := _key_error(auth, 16):
        errors["keys.auth"] = [problem]
    if len(label) > LABEL_MAX_LENGTH:
        errors["label"] = [f"{LABEL_MAX_LENGTH} caractères au plus."]
    if errors:
        raise ValidationError(errors)
    device = db.session.scalar(
        sa.select(PushDevice).where(PushDevice.endpoint == endpoint)
    )
    if device is None:
        device = PushDevice(endpoint=endpoint)
        db.session.add(device)
    device.user_id = user_id
    device.p256dh = p256dh
    device.auth = auth
    device.label = label
    device.created_at = utcnow()
    db.session.flush()
    return device


def list_devices(user_id: int) -> list[PushDevice]:
    """The user's devices, most recent first."""
    return list(
        db.session.scalars(
            sa.select(PushDevice)
            .where(PushDevice.user_id == user_id)
            .order_by(PushDevice.created_at.desc(), PushDevice.id.desc())
        )
    )


def remove_device(user_id: int, device_id: int) -> bool:
    """Delete the user's device ``device_id``; return whether there was one."""
    removed = db.session.execute(
        sa.delete(PushDevice).where(
            PushDevice.id == device_id, PushDevice.user_id == user_id
        )
    )
    return removed.rowcount > 0


# --- Sending ---------------------------------------------------------------------


def _subject() -> str:
    configured = current_app.config["ORFI_VAPID_SUBJECT"]
    return configured or "mailto:" + current_app.config["ORFI_SMTP_FROM"]


def _post(device: _Target, data: str, vapid: Vapid, topic: str) -> None:
    webpush(
        {
            "endpoint": device.endpoint,
            "keys": {"p256dh": device.p256dh, "auth": device.auth},
        },
        data=data,
        vapid_private_key=vapid,
        # A new dict each time: pywebpush adds the endpoint's audience to it.
        vapid_claims={"sub": _subject()},
        ttl=TTL_SECONDS,
        timeout=TIMEOUT_SECONDS,
        headers={"Topic": topic, "Urgency": "high"},
    )


@dataclass(frozen=True)
class _Target:
    """What posting to a device needs, read before any post (no row held meanwhile)."""

    id: int
    endpoint: str
    p256dh: str
    auth: str


def _targets(user_id: int) -> list[_Target]:
    with unit_of_work():
        return [
            _Target(d.id, d.endpoint, d.p256dh, d.auth) for d in list_devices(user_id)
        ]


def _record(reached: list[int], gone: list[int]) -> None:
    """Note the devices reached and remove those gone, in a transaction of its own."""
    if not (reached or gone):
        return
    with unit_of_work():
        if gone:
            db.session.execute(sa.delete(PushDevice).where(PushDevice.id.in_(gone)))
        if reached:
            db.session.execute(
                sa.update(PushDevice)
                .where(PushDevice.id.in_(reached))
                .values(last_sent_at=utcnow())
            )


def send_push(user_id: int, payload: dict, *, topic: str) -> int:
    """Send ``payload`` (JSON) to every device of ``user_id``; see the module's doc.

    The devices are read in one short transaction and the outcome written in another:
    nothing is held open while the push services answer (up to 10 s each), so another
    worker's writes never wait on them (on SQLite, a read left open would even make the
    next write fail at once with « database is locked »).
    """
    if not push_hosts():
        return 0
    vapid = _vapid()
    if vapid is None:
        return 0
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    reached: list[int] = []
    gone: list[int] = []
    failures: list[str] = []
    for device in _targets(user_id):
        if _check_endpoint(device.endpoint) is not None:
            continue  # a host removed from ORFI_PUSH_HOSTS since: not posted to
        try:
            _post(device, data, vapid, topic)
        except (WebPushException, requests.RequestException) as error:
            status = getattr(getattr(error, "response", None), "status_code", None)
            if status in (404, 410):
                logger.info("Push device %s gone (%s): removed", device.id, status)
                gone.append(device.id)
            else:
                # 429/5xx/network may pass; 400/401/403 (a key changed, a bad
                # request) may need the administrator: either way it is retried,
                # then shown failed.
                logger.warning(
                    "Push to device %s failed: %s", device.id, status or error
                )
                failures.append(
                    f"appareil {device.id} : {status or type(error).__name__}"
                )
            continue
        reached.append(device.id)
    _record(reached, gone)
    if not reached and failures:
        raise PushTemporaryFailure("; ".join(failures))
    return len(reached)
