"""The words of an alert and the channels that carry it: e-mail (the configured SMTP
server) and Web Push (orfi.alerts.push). The inbox needs no sending: its messages are
written with the event.

A message names the fact (reference, category, résidence, gravity, time) and links to
its page behind login; never its description, comments, victims or anyone's name.
"""

from __future__ import annotations

import base64
import hashlib
import smtplib
import ssl
from dataclasses import dataclass
from datetime import date, datetime
from email.header import Header
from email.utils import formatdate

from flask import current_app

from orfi.notifications.models import EventKind
from orfi.reports.models import GRAVITY_LABELS
from orfi.timezone import to_local

#: The title of a message by event kind.
TITLES = {
    EventKind.FILED: "Nouveau fait",
    EventKind.GRAVE: "Fait grave",
    EventKind.STATUS: "Statut changé",
    EventKind.ACTION: "Action de suivi",
    EventKind.COMPLAINT: "Plainte ou main courante",
    EventKind.OVERDUE: "Fait grave sans action",
    EventKind.EARLY_WARNING: "Alerte précoce",
    "test": "Message de test",
}

_STATUS_LABELS = {
    "nouveau": "nouveau",
    "qualifie": "qualifié",
    "transmis": "transmis",
    "clos": "clos",
}


class PermanentFailure(Exception):
    """The server refused the message for good (a 5xx answer): no retry."""


def title_of(summary: dict, grave: bool) -> str:
    """Return the short title of an event (« Fait grave », « Statut changé »...)."""
    kind = summary.get("kind", "")
    if kind == EventKind.FILED and grave:
        return TITLES[EventKind.GRAVE]
    return TITLES.get(kind, "Alerte")


def _when(value: str | None) -> str:
    if not value:
        return ""
    return f"{to_local(datetime.fromisoformat(value)):%d/%m/%Y %H:%M}"


def fact_url(summary: dict) -> str:
    """Return the link to the fact's page (behind login), or the résidence's for an
    event of no fact (an early-warning alarm); absolute when ORFI_BASE_URL is set."""
    adapter = current_app.url_map.bind("localhost")
    if summary.get("report_uuid"):
        path = adapter.build(
            "reports.detail",
            {"report_uuid": summary["report_uuid"]},
            force_external=False,
        )
    elif summary.get("residence_id"):
        path = adapter.build(
            "patrimoine.residence",
            {"residence_id": summary["residence_id"]},
            force_external=False,
        )
    else:
        return current_app.config["ORFI_BASE_URL"] + "/"
    return current_app.config["ORFI_BASE_URL"].rstrip("/") + path


def link_label(summary: dict) -> str:
    """What the link of a message opens: the fact, or the résidence."""
    return "Voir le fait" if summary.get("report_uuid") else "Voir la résidence"


def _week_of(value: str | None) -> str:
    return f"{date.fromisoformat(value):%d/%m/%Y}" if value else ""


def _alarm_lines(summary: dict) -> list[str]:
    """An early-warning alarm: the résidence, the week, the sentence in words."""
    return [
        f"Résidence : {summary.get('residence', '')}",
        f"Semaine du {_week_of(summary.get('week'))} : plus de faits que d'habitude",
        f"{summary.get('detail', '')}",
        "Calculé le " + _when(summary.get("at")),
    ]


def lines_of(summary: dict) -> list[str]:
    """Return the lines that describe an event: fact, category, place, gravity, time
    (an alarm on a résidence: the résidence, the week and its sentence)."""
    if summary.get("kind") == EventKind.EARLY_WARNING:
        return _alarm_lines(summary)
    gravity = summary.get("gravity")
    lines = [
        f"Fait {summary.get('reference', '')} · {summary.get('category', '')}",
        f"Résidence : {summary.get('residence', '')}",
        "Gravité : "
        + (GRAVITY_LABELS.get(gravity, str(gravity)) if gravity else "non précisée"),
        f"Date du fait : {_when(summary.get('occurred_at'))}",
    ]
    if summary.get("kind") == EventKind.STATUS:
        lines.append(f"Statut : {_STATUS_LABELS.get(summary.get('status'), '')}")
    if summary.get("detail"):
        lines.append(f"Suivi : {summary['detail']}")
    lines.append(f"Signalé ou modifié le {_when(summary.get('at'))}")
    return lines


def message_id(key: str) -> str:
    """Return the Message-ID of an alert e-mail: the same for every send of one
    (event, recipient), so a resend after a crash is recognisable as a copy."""
    domain = current_app.config["ORFI_SMTP_FROM"].rpartition("@")[2] or "orfi"
    return f"<orfi-alert-{key}@{domain}>"


@dataclass(frozen=True)
class OutgoingEmail:
    """An e-mail ready for SMTP: envelope and the message's bytes (CRLF lines)."""

    sender: str
    to: str
    data: bytes


def build_email(
    to: str, subject: str, blocks: list[tuple[list[str], str, str]], key: str
) -> OutgoingEmail:
    """Return an alert e-mail: each block's lines, its link and the link's label
    (text only, UTF-8).

    Written by hand, not through ``email``'s generator: folding and encoding its
    headers cost most of a send when the worker is busy
    (benchmarks/alerts_delivery.py). Every header but the subject is ASCII.
    """
    parts = [
        "\n".join([*lines, f"{label} (connexion requise) : {url}"])
        for lines, url, label in blocks
    ]
    footer = (
        "\n\n--\norfi : alerte envoyée selon vos réglages « Mes alertes ». "
        "Par confidentialité, ce message ne contient ni la description ni les "
        "commentaires du fait."
    )
    body = base64.encodebytes(("\n\n".join(parts) + footer).encode("utf-8"))
    sender = current_app.config["ORFI_SMTP_FROM"]
    headers = (
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {Header(subject, 'utf-8').encode()}",
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: {message_id(key)}",
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: base64",
    )
    data = "\r\n".join(headers).encode("ascii") + b"\r\n\r\n"
    return OutgoingEmail(sender, to, data + body.replace(b"\n", b"\r\n"))


class Mailer:
    """One SMTP connection for a batch of messages (opened at the first send)."""

    def __init__(self) -> None:
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        config = current_app.config
        smtp = smtplib.SMTP(
            config["ORFI_SMTP_HOST"], int(config["ORFI_SMTP_PORT"]), timeout=30
        )
        if int(config["ORFI_SMTP_STARTTLS"]):
            smtp.starttls(context=ssl.create_default_context())
        if config["ORFI_SMTP_USER"]:
            smtp.login(config["ORFI_SMTP_USER"], config["ORFI_SMTP_PASSWORD"])
        return smtp

    def send(self, message: OutgoingEmail) -> None:
        """Send ``message``; raise PermanentFailure on a 5xx refusal, OSError or
        SMTPException when it may pass (the connection is then dropped)."""
        if not current_app.config["ORFI_SMTP_HOST"]:
            raise OSError("aucun serveur SMTP configuré (ORFI_SMTP_HOST)")
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.sendmail(message.sender, [message.to], message.data)
        except smtplib.SMTPRecipientsRefused as error:
            raise PermanentFailure(f"destinataire refusé : {error}") from error
        except smtplib.SMTPResponseException as error:
            self.close()
            if error.smtp_code >= 500:
                raise PermanentFailure(f"refus du serveur : {error}") from error
            raise
        except (smtplib.SMTPException, OSError):
            self.close()
            raise

    def close(self) -> None:
        """Close the connection, if open (errors on closing are ignored)."""
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (smtplib.SMTPException, OSError):
            self._smtp.close()
        self._smtp = None


def push_payload(title: str, body_lines: list[str], url: str, tag: str) -> dict:
    """Return a minimal push payload: title, body, link, and the tag under which the
    phone shows it (a copy sent again replaces the one shown, never a second one)."""
    return {"title": title, "body": " · ".join(body_lines), "url": url, "tag": tag}


def push_topic(key: str) -> str:
    """Return a push Topic (≤ 32 URL-safe characters) for one (event, recipient)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]
