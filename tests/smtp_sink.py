"""A local SMTP sink (aiosmtpd) for the alerts' tests and benchmark: it keeps the
messages it accepts, can stall on DATA (to kill a worker mid-send), and refuses a
message whose sender went away while it stalled (nothing accepted, nothing kept)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser

from aiosmtpd.controller import Controller


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sink:
    """An SMTP server on 127.0.0.1 keeping what it accepts (``messages``, with their
    arrival time in ``arrivals``)."""

    def __init__(self, port: int | None = None, *, headers_only: bool = False):
        self.port = port or free_port()
        # Parse the headers only (compat32): the benchmark's sink keeps up.
        self.headers_only = headers_only
        self.messages: list[EmailMessage] = []
        self.arrivals: list[float] = []
        self.stall = threading.Event()
        # Seconds each message takes to accept (a slow server).
        self.delay = 0.0
        # Stall every message once this many were kept (None: never by itself).
        self.stall_after: int | None = None
        self.stalled = 0
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd)
        """Keep the message (after the stall, if the sender is still there)."""
        if self.stall_after is not None and len(self.messages) >= self.stall_after:
            self.stall.set()
            self.stall_after = None
        if self.stall.is_set():
            with self._lock:
                self.stalled += 1
            while self.stall.is_set():
                await asyncio.sleep(0.05)
            transport = getattr(server, "transport", None)
            if transport is None or transport.is_closing():
                return "421 sender gone"
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.headers_only:
            message = BytesHeaderParser(policy=policy.compat32).parsebytes(
                envelope.content
            )
        else:
            message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(message)
            self.arrivals.append(time.time())
        return "250 OK"

    def start(self) -> Sink:
        """Listen (again) on ``port``."""
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are then refused: « SMTP down »)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        """Return the messages sent to ``address``."""
        return [m for m in list(self.messages) if m["To"] == address]

    def ids(self) -> list[str]:
        """Return the Message-IDs received, in order (a copy shows twice)."""
        return [m["Message-ID"] for m in list(self.messages)]

    def wait_for(self, count: int, timeout: float = 30) -> bool:
        """Wait until ``count`` messages arrived; return whether they did."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(self.messages) >= count:
                return True
            time.sleep(0.05)
        return len(self.messages) >= count
