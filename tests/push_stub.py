"""A local stand-in for a browser's push service, for the Web Push tests (never the
internet).

It listens on 127.0.0.1, answers each POST with the status set for its path (201 by
default) and keeps what it received. :meth:`PushStub.device` plays the browser's part:
it makes a P-256 key pair and an auth secret, and returns the subscription a browser's
``pushManager.subscribe()`` would give; :meth:`Received.payload` decrypts a message with
them (``aes128gcm``, RFC 8291) and :meth:`Received.vapid_claims` checks the server's
VAPID signature (RFC 8292) with the public key it announced.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Device:
    """What a browser keeps of its subscription: its private key and auth secret."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    def subscription(self) -> dict:
        """What ``PushSubscription.toJSON()`` gives in a browser."""
        public = self.private_key.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": b64url(public), "auth": b64url(self.auth_secret)},
        }


@dataclass
class Received:
    path: str
    #: Names in lower case (HTTP header names are case-insensitive).
    headers: dict[str, str]
    body: bytes
    device: Device | None = field(default=None, repr=False)

    def payload(self) -> dict:
        """The message decrypted with the device's keys, as JSON."""
        plain = http_ece.decrypt(
            self.body,
            private_key=self.device.private_key,
            auth_secret=self.device.auth_secret,
            version="aes128gcm",
        )
        return json.loads(plain)

    def vapid_claims(self, server_public_key: str) -> dict:
        """Check the VAPID JWT against ``server_public_key`` (base64url); return its
        claims. Raises ``cryptography.exceptions.InvalidSignature`` if forged."""
        scheme, _, params = self.headers["authorization"].partition(" ")
        assert scheme == "vapid"
        values = dict(part.strip().split("=", 1) for part in params.split(","))
        assert values["k"] == server_public_key
        head, claims, signature = values["t"].split(".")
        raw = unb64url(signature)
        der = encode_dss_signature(
            int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        )
        key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), unb64url(server_public_key)
        )
        key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        return json.loads(unb64url(claims))


class PushStub:
    """A push service on 127.0.0.1 (start with ``with PushStub() as stub``)."""

    def __init__(self):
        self.received: list[Received] = []
        self.statuses: dict[str, int] = {}
        self.devices: dict[str, Device] = {}
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with stub._lock:
                    stub.received.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            stub.devices.get(self.path),
                        )
                    )
                    status = stub.statuses.get(self.path, 201)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"

    def device(self, name: str | None = None) -> Device:
        """A new browser subscription whose endpoint is on this stub."""
        path = f"/push/{name or os.urandom(6).hex()}"
        device = Device(
            self.origin + path, ec.generate_private_key(ec.SECP256R1()), os.urandom(16)
        )
        self.devices[path] = device
        return device

    def to(self, device: Device) -> list[Received]:
        """What the stub received for ``device``."""
        path = device.endpoint.removeprefix(self.origin)
        with self._lock:
            return [item for item in self.received if item.path == path]

    def __enter__(self) -> PushStub:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
