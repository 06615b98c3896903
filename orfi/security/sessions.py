"""Sessions that end: idle and absolute limits, remembered devices, revocation.

The session is Flask's signed cookie, backed by a row of the server
(:class:`~orfi.security.models.UserSession`). At login the cookie receives a random
key naming that row, the login time, the time last seen and whether the device is
remembered:

- not remembered: the session ends after ``ORFI_SESSION_IDLE_MINUTES`` without a
  request, and ``ORFI_SESSION_MAX_HOURS`` after the login in any case;
- remembered ("Rester connecté sur cet appareil"): the cookie outlives the browser and
  the session ends ``ORFI_SESSION_REMEMBER_DAYS`` after the login, active or not.
  Flask checks the cookie's signed date too (``PERMANENT_SESSION_LIFETIME``), so an
  old copy of the cookie is refused by the server, not only forgotten by the browser.
  Flask-Login's own remember cookie is never set: its value never expires on the
  server.
- logout revokes the session's row: the cookie, and any copy taken before, opens
  nothing any more; a new password (but the session that set it), a deactivated
  account or an administrator's « déconnecter partout » revoke every row of the
  account; a user may end any of their own sessions from « Mes sessions ».

An ended session is an anonymous one: pages send to the login form, the API answers
401, and the PWA keeps its unsent facts until the next login.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import login_user, logout_user

from orfi.database import utcnow
from orfi.extensions import db
from orfi.security.models import UserSession
from orfi.transaction import unit_of_work

logger = logging.getLogger(__name__)

LOGIN_AT = "orfi_login_at"
SEEN_AT = "orfi_seen_at"
REMEMBER = "orfi_remember"
#: The random key of the session's row (its SHA-256 is what the row stores).
SESSION_KEY = "orfi_session"
_OUR_KEYS = (LOGIN_AT, SEEN_AT, REMEMBER, SESSION_KEY)
_FLASK_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember_seconds")
#: The time last seen is rewritten at most this often (each rewrite sends a cookie).
SEEN_RESOLUTION_S = 60


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, which builds its signer only for a request that
    carries a session cookie: API calls with a token, the bulk of the traffic, carry
    none, and start from an empty session at no cost."""

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:
        """Return the request's session (an empty one if it sent no cookie)."""
        if app.secret_key and (
            "HTTP_COOKIE" not in request.environ  # (no need to parse it then)
            or self.get_cookie_name(app) not in request.cookies
        ):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        """Write the cookie; nothing to do (but ``Vary``) for an empty session."""
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def configure_sessions(app: Flask) -> None:
    """Set the cookie lifetimes and Flask-Login's session protection from settings."""
    app.session_interface = CookieSessionInterface()
    longest = longest_lifetime(app.config)
    app.config["PERMANENT_SESSION_LIFETIME"] = longest
    # Never set by orfi; bounded all the same should anything set it.
    app.config["REMEMBER_COOKIE_DURATION"] = longest
    # "basic", not "strong": a phone changes address between Wi-Fi and 4G many times
    # a day, and "strong" would end a gardien's session at each change. "basic" only
    # marks the session not fresh; the limits above end it.
    app.config.setdefault("SESSION_PROTECTION", "basic")
    app.before_request(check_session)
    _skip_remember_hook_for_empty_sessions(app)


def _skip_remember_hook_for_empty_sessions(app: Flask) -> None:
    """Run Flask-Login's after-request hook only for a session that holds something.

    The hook sets or clears Flask-Login's remember cookie as the session's
    ``_remember`` key says, and does nothing for a session without a user: an empty
    session (every API call with a token) has nothing for it to do, and skipping it
    saves a few session lookups on the busiest requests.
    """
    hooks = app.after_request_funcs.setdefault(None, [])
    update = app.login_manager._update_remember_cookie
    if update not in hooks:
        return

    def update_remember_cookie(response):
        return update(response) if session else response

    hooks[hooks.index(update)] = update_remember_cookie


def _now() -> float:
    return utcnow().timestamp()


def longest_lifetime(config: Mapping[str, Any]) -> timedelta:
    """Return the longest a session may last (remembered or not)."""
    return max(
        timedelta(days=config["ORFI_SESSION_REMEMBER_DAYS"]),
        timedelta(hours=config["ORFI_SESSION_MAX_HOURS"]),
    )


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def current_key_hash() -> str | None:
    """Return what the current session's row is looked up by (None: no key, or no
    request: a command)."""
    key = session.get(SESSION_KEY) if has_request_context() else None
    return _key_hash(key) if isinstance(key, str) and key else None


_BROWSERS = (
    ("Edg", "Edge"),
    ("SamsungBrowser", "Samsung Internet"),
    ("OPR", "Opera"),
    ("Firefox", "Firefox"),
    ("FxiOS", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chrome", "Chrome"),
    ("Safari", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device_summary(user_agent: str) -> str:
    """Return "browser · system" from a user agent, and nothing more of it."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    return " · ".join(part for part in (browser, system) if part) or "Inconnu"


def truncated_network(address: str | None) -> str:
    """Return the /24 (IPv4) or /48 (IPv6) network of ``address`` ("" if none)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return ""
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def open_session(user: Any, *, remember: bool) -> None:
    """Log ``user`` in with a fresh session (nothing kept from before the login),
    recorded in a new row (flushed, not committed)."""
    remember = remember and current_app.config["ORFI_SESSION_REMEMBER_DAYS"] > 0
    now = utcnow()
    _prune_sessions(now)
    key = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            key_hash=_key_hash(key),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            remember=remember,
            device=device_summary(request.user_agent.string or ""),
            network=truncated_network(request.remote_addr),
        )
    )
    db.session.flush()
    session.clear()
    session.permanent = remember
    login_user(user, remember=False)
    session[SESSION_KEY] = key
    session[LOGIN_AT] = session[SEEN_AT] = int(now.timestamp())
    session[REMEMBER] = remember


def _prune_sessions(now: datetime) -> None:
    """Delete the rows of sessions that are over whatever happened to them."""
    oldest = now - longest_lifetime(current_app.config)
    db.session.execute(sa.delete(UserSession).where(UserSession.created_at < oldest))


def close_session() -> None:
    """Log the current user out: revoke the session's row (flushed, not committed)
    and forget the session's keys."""
    key_hash = current_key_hash()
    if key_hash is not None:
        _revoke(UserSession.key_hash == key_hash)
    logout_user()
    for key in _OUR_KEYS:
        session.pop(key, None)
    session.permanent = False


def _revoke(*conditions) -> int:
    """Revoke the live rows matching ``conditions``; return how many."""
    result = db.session.execute(
        sa.update(UserSession)
        .where(*conditions, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount


def revoke_user_sessions(user_id: int, *, keep_current: bool = False) -> int:
    """End every session of the user (but the current one if ``keep_current``);
    return how many were live. Flushed, not committed."""
    conditions = [UserSession.user_id == user_id]
    key_hash = current_key_hash() if keep_current else None
    if key_hash is not None:
        conditions.append(UserSession.key_hash != key_hash)
    ended = _revoke(*conditions)
    logger.info("Sessions révoquées : compte %s, %d session(s)", user_id, ended)
    return ended


def find_user_session(user_id: int, session_id: int) -> UserSession | None:
    """Return the user's session row with this id (None: not theirs, or unknown)."""
    return db.session.scalar(
        sa.select(UserSession).where(
            UserSession.id == session_id, UserSession.user_id == user_id
        )
    )


def revoke_session(row: UserSession) -> bool:
    """End the session of ``row``; return False if it had already ended."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    db.session.flush()
    logger.info("Session %s révoquée par son titulaire %s", row.id, row.user_id)
    return True


def _aware(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def list_open_sessions(user_id: int) -> list[UserSession]:
    """Return the user's sessions still open, the latest seen first."""
    now = utcnow()
    rows = db.session.scalars(
        sa.select(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.created_at >= now - longest_lifetime(current_app.config),
        )
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ).all()
    return [row for row in rows if _row_end_reason(row, now.timestamp()) is None]


def _row_end_reason(row: UserSession, now: float) -> str | None:
    """Why the session of ``row`` is over by its limits (as its cookie would say)."""
    data = {
        LOGIN_AT: _aware(row.created_at).timestamp(),
        SEEN_AT: _aware(row.last_seen_at).timestamp(),
        REMEMBER: row.remember,
    }
    return session_end_reason(data, now, current_app.config)


def note_current_session(session_id: int) -> None:
    """Remember, for this request, the id of the row of the current session."""
    g.orfi_session_id = session_id


def current_session_id() -> int | None:
    """Return the id of the current session's row, once its user is loaded."""
    return g.get("orfi_session_id")


def _touch_session(key_hash: str, now: float) -> None:
    """Note ``now`` as the time the session's row was last seen, in a short write
    of its own (at most once a minute per session: a read stays a reader)."""
    with unit_of_work():
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.key_hash == key_hash, UserSession.revoked_at.is_(None))
            .values(last_seen_at=datetime.fromtimestamp(now, UTC))
        )


def end_session(reason: str) -> None:
    """Drop the login from the session (without loading the user); keep the rest."""
    logger.info("Session terminée (%s) : compte %s", reason, session.get("_user_id"))
    for key in (*_FLASK_LOGIN_KEYS, *_OUR_KEYS):
        session.pop(key, None)
    session.permanent = False
    _refuse_remember_cookie()
    g.orfi_session_ended = reason


def _refuse_remember_cookie() -> None:
    """Make Flask-Login ignore and delete a remember cookie that orfi did not set
    (from an older version, or forged with a leaked key): its value never expires."""
    name = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    if name in request.cookies:
        session["_remember"] = "clear"


def session_ended() -> bool:
    """Whether this request found its session over (for the login page's message)."""
    return bool(g.get("orfi_session_ended"))


def session_end_reason(
    data: Mapping[str, Any], now: float, config: Mapping[str, Any]
) -> str | None:
    """Return why the session in ``data`` is over at ``now`` ("idle", "lifetime",
    "unknown"), or None while it lasts."""
    login_at, seen_at = data.get(LOGIN_AT), data.get(SEEN_AT)
    if not isinstance(login_at, int | float) or not isinstance(seen_at, int | float):
        return "unknown"  # opened before these limits existed
    remember_days = config["ORFI_SESSION_REMEMBER_DAYS"]
    if data.get(REMEMBER) and remember_days > 0:
        return "lifetime" if now - login_at > remember_days * 86400 else None
    if now - seen_at > config["ORFI_SESSION_IDLE_MINUTES"] * 60:
        return "idle"
    if now - login_at > config["ORFI_SESSION_MAX_HOURS"] * 3600:
        return "lifetime"
    return None


def check_session() -> None:
    """End the session if it is over; else note that it was seen (before_request)."""
    if request.endpoint == "static" or "HTTP_COOKIE" not in request.environ:
        return  # no cookie, nothing to check (nor a remember cookie to refuse)
    if "_user_id" not in session:
        _refuse_remember_cookie()
        return
    now = _now()
    reason = session_end_reason(session, now, current_app.config)
    if reason is not None:
        end_session(reason)
    elif now - session[SEEN_AT] >= SEEN_RESOLUTION_S:
        session[SEEN_AT] = int(now)
        if (key_hash := current_key_hash()) is not None:
            _touch_session(key_hash, now)
