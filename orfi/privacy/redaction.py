"""Redaction: remove a personal detail from a fact wherever its text was kept.

The form warns a filer that a description holds a name, a phone number or a plate;
the référent then removes that detail (a word or a passage). It is replaced by
« [retiré] » in the description *and* in every earlier value its history kept
(corrections record the description before and after), in the comments of its
history (qualification, additions of other filers), in the notes of its follow-up
actions and their history, in its complaint's reference, and in the bailleur's access
log. Exports and statistics are computed from these rows, so they follow. The history
gains one event saying who redacted and when, never what.

Matching ignores case and the spacing between words, and takes whole words only (a
detail « Ali » leaves « alimentation » alone); each further spelling is redacted on
its own.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import sqlalchemy as sa

from orfi.auth.access import QUALIFIERS
from orfi.auth.models import User
from orfi.errors import AccessDenied, ValidationError
from orfi.extensions import db
from orfi.followup.models import Complaint, FollowupAction
from orfi.privacy.heuristics import find_personal_data
from orfi.privacy.models import AccessLogEntry
from orfi.reports.checks import is_storable_text
from orfi.reports.models import Report, ReportEvent
from orfi.timezone import to_local

logger = logging.getLogger(__name__)

#: What replaces a redacted detail.
REDACTED = "[retiré]"
#: The ``ReportEvent.kind`` of a redaction (its changes and comment stay empty).
EVENT_KIND = "redaction"
MIN_LENGTH = 2
MAX_LENGTH = 200
_BATCH = 1000
#: History fields whose values are free text (corrections of the description, edits
#: of a follow-up action's note).
FREE_TEXT_FIELDS = frozenset({"description", "note"})
# « [retiré] » may be longer than the detail: the columns' limits still hold.
_COMMENT_MAX = ReportEvent.__table__.c.comment.type.length
_NOTE_MAX = FollowupAction.__table__.c.note.type.length
_REFERENCE_MAX = Complaint.__table__.c.reference.type.length
_DETAIL_MAX = AccessLogEntry.__table__.c.detail.type.length
_REF_MAX = AccessLogEntry.__table__.c.object_ref.type.length


@dataclass
class RedactionResult:
    """How many occurrences were replaced, and the history event recording it."""

    occurrences: int
    event: ReportEvent


def detail_pattern(text: str) -> re.Pattern[str]:
    """Return the pattern of a detail: its words in order, any spacing, any case,
    whole words at its ends."""
    words = text.split()
    body = r"\s+".join(re.escape(word) for word in words)
    start = r"(?<!\w)" if re.match(r"\w", words[0]) else ""
    end = r"(?!\w)" if re.search(r"\w$", words[-1]) else ""
    return re.compile(start + body + end, re.IGNORECASE)


def redact_value(value, pattern: re.Pattern[str]) -> tuple[object, int]:
    """Return ``value`` (a string, or JSON lists and dicts of them) with the detail
    replaced, and how many times it was."""
    if isinstance(value, str):
        return pattern.subn(REDACTED, value)
    if isinstance(value, list):
        parts = [redact_value(item, pattern) for item in value]
        return [part for part, _ in parts], sum(n for _, n in parts)
    if isinstance(value, dict):
        parts = {key: redact_value(item, pattern) for key, item in value.items()}
        return (
            {key: part for key, (part, _) in parts.items()},
            sum(n for _, n in parts.values()),
        )
    return value, 0


def check_detail(text: str) -> list[str]:
    """Return what is wrong with a detail to redact (empty: it may be searched)."""
    text = (text or "").strip()
    if not text:
        return ["Indiquez le mot ou le passage à retirer."]
    if len(text) < MIN_LENGTH:
        return [f"Au moins {MIN_LENGTH} caractères."]
    if len(text) > MAX_LENGTH:
        return [f"{MAX_LENGTH} caractères au plus."]
    if not is_storable_text(text):
        return ["Le texte contient des caractères invalides."]
    if detail_pattern(text).search(REDACTED):
        return ["Ce texte fait partie de la mention « [retiré] »."]
    return []


def may_redact(user: User, report: Report) -> bool:
    """Whether ``user`` may redact ``report`` (a référent of its bailleur)."""
    return user.role in QUALIFIERS and user.organisation_id == report.organisation_id


def redact_report(user: User, report: Report, text: str) -> RedactionResult:
    """Replace the detail ``text`` by « [retiré] » everywhere the fact's text is kept.

    Raise AccessDenied if ``user`` is no référent of the fact, ValidationError
    (``text``) if the detail is invalid or found nowhere; nothing is written then.
    """
    if not may_redact(user, report):
        raise AccessDenied("Seul un référent sûreté retire un détail d'un fait.")
    if problems := check_detail(text):
        raise ValidationError({"text": problems})
    pattern = detail_pattern(text.strip())
    count = 0

    report.description, n = redact_value(report.description, pattern)
    count += n
    for event in db.session.scalars(
        sa.select(ReportEvent).where(ReportEvent.report_id == report.id)
    ):
        # Only free text: the other values are codes and labels of lists.
        changes, n_changes = redact_value(
            {k: v for k, v in (event.changes or {}).items() if k in FREE_TEXT_FIELDS},
            pattern,
        )
        comment, n_comment = redact_value(event.comment or "", pattern)
        if n_changes:
            # A new object: the JSON column sees the change.
            event.changes = {**event.changes, **changes}
        event.comment = comment[:_COMMENT_MAX]
        count += n_changes + n_comment
    for action in db.session.scalars(
        sa.select(FollowupAction).where(FollowupAction.report_id == report.id)
    ):
        note, n = redact_value(action.note or "", pattern)
        action.note = note[:_NOTE_MAX]
        count += n
    complaint = db.session.get(Complaint, report.id)
    if complaint is not None:
        reference, n = redact_value(complaint.reference or "", pattern)
        complaint.reference = reference[:_REFERENCE_MAX]
        count += n
    count += _redact_access_log(report.organisation_id, pattern)
    if count == 0:
        raise ValidationError(
            {
                "text": [
                    "Ce texte n'apparaît ni dans la description, ni dans "
                    "l'historique, ni dans le suivi de ce fait."
                ]
            }
        )
    event = ReportEvent(
        report_id=report.id, user_id=user.id, kind=EVENT_KIND, changes={}
    )
    db.session.add(event)
    db.session.flush()
    # The log says who and where, never the detail.
    logger.info(
        "Détail retiré du fait %s par l'utilisateur %s (%d occurrence(s))",
        report.reference,
        user.id,
        count,
    )
    return RedactionResult(count, event)


def _redact_access_log(organisation_id: int, pattern: re.Pattern[str]) -> int:
    """Redact the detail in the bailleur's access log (its lines name facts by
    reference and exports by their filters: a detail typed in a filter lands there)."""
    entry = AccessLogEntry.__table__.c
    count = 0
    last_id = 0
    while True:
        rows = db.session.execute(
            sa.select(entry.id, entry.detail, entry.object_ref)
            .where(
                entry.organisation_id == organisation_id,
                entry.id > last_id,
                sa.or_(entry.detail != "", entry.object_ref != ""),
            )
            .order_by(entry.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return count
        last_id = rows[-1].id
        for row in rows:
            detail, n_detail = redact_value(row.detail or "", pattern)
            ref, n_ref = redact_value(row.object_ref or "", pattern)
            if n_detail or n_ref:
                db.session.execute(
                    sa.update(AccessLogEntry.__table__)
                    .where(entry.id == row.id)
                    .values(detail=detail[:_DETAIL_MAX], object_ref=ref[:_REF_MAX])
                )
                count += n_detail + n_ref


@dataclass(frozen=True)
class KeptText:
    """A free text kept about a fact, and where: what the redaction page shows."""

    where: str
    text: str


def redactable_texts(report: Report) -> list[KeptText]:
    """Return the free texts kept about ``report``: its description, the earlier
    values and comments of its history, the notes of its follow-up actions (each
    where it is, even when two are the same text)."""
    texts = [KeptText("Description actuelle", report.description or "")]
    for event in db.session.scalars(
        sa.select(ReportEvent)
        .where(ReportEvent.report_id == report.id)
        .order_by(ReportEvent.id)
    ):
        when = to_local(event.at).strftime("%d/%m/%Y %H:%M")
        # The earlier values: each later one is the next change's earlier value, or
        # the current text.
        for name, change in (event.changes or {}).items():
            earlier = change[0] if isinstance(change, list) and change else None
            if name in FREE_TEXT_FIELDS and isinstance(earlier, str) and earlier:
                texts.append(KeptText(f"Historique du {when}", earlier))
        if event.comment:
            texts.append(KeptText(f"Commentaire du {when}", event.comment))
    for action in db.session.scalars(
        sa.select(FollowupAction).where(
            FollowupAction.report_id == report.id, FollowupAction.note != ""
        )
    ):
        where = f"Note de suivi du {action.done_on:%d/%m/%Y}"
        texts.append(KeptText(where, action.note))
    return texts


def suggest_details(texts: list[KeptText]) -> list[str]:
    """Return what looks like a personal detail in ``texts`` (names, phone numbers,
    e-mail addresses, plates), once each whatever its case."""
    found: dict[str, str] = {}
    for kept in texts:
        for finding in find_personal_data(kept.text):
            if REDACTED not in finding.text:
                found.setdefault(finding.text.casefold(), finding.text.strip())
    return list(found.values())
