"""Sessions that end: idle and absolute limits, remembered devices, password changes.

The session is Flask's signed cookie. At login it receives the login time, the time
last seen, whether the device is remembered and a stamp of the password hash:

- not remembered: the session ends after ``ORFI_SESSION_IDLE_MINUTES`` without a
  request, and ``ORFI_SESSION_MAX_HOURS`` after the login in any case;
- remembered ("Rester connecté sur cet appareil"): the cookie outlives the browser and
  the session ends ``ORFI_SESSION_REMEMBER_DAYS`` after the login, active or not.
  Flask checks the cookie's signed date too (``PERMANENT_SESSION_LIFETIME``), so an
  old copy of the cookie is refused by the server, not only forgotten by the browser.
  Flask-Login's own remember cookie is never set: its value never expires on the
  server.
- a new password, or a deactivated account, ends every other session of the account.

An ended session is an anonymous one: pages send to the login form, the API answers
401, and the PWA keeps its unsent facts until the next login.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import login_user, logout_user

from orfi.database import utcnow

logger = logging.getLogger(__name__)

LOGIN_AT = "orfi_login_at"
SEEN_AT = "orfi_seen_at"
REMEMBER = "orfi_remember"
PASSWORD_STAMP = "orfi_password"
_OUR_KEYS = (LOGIN_AT, SEEN_AT, REMEMBER, PASSWORD_STAMP)
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
    remember = timedelta(days=app.config["ORFI_SESSION_REMEMBER_DAYS"])
    longest = max(remember, timedelta(hours=app.config["ORFI_SESSION_MAX_HOURS"]))
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


def password_stamp(password_hash: str) -> str:
    """Return a short keyed digest of a password hash (it changes with the password)."""
    secret = current_app.config["SECRET_KEY"]
    key = secret if isinstance(secret, bytes) else str(secret).encode()
    digest = hmac.new(key, f"password:{password_hash}".encode(), hashlib.sha256)
    return digest.hexdigest()[:20]


def open_session(user: Any, *, remember: bool) -> None:
    """Log ``user`` in with a fresh session (nothing kept from before the login)."""
    remember = remember and current_app.config["ORFI_SESSION_REMEMBER_DAYS"] > 0
    session.clear()
    session.permanent = remember
    login_user(user, remember=False)
    now = int(_now())
    session[LOGIN_AT] = now
    session[SEEN_AT] = now
    session[REMEMBER] = remember
    session[PASSWORD_STAMP] = password_stamp(user.password_hash)


def close_session() -> None:
    """Log the current user out and forget the session's times."""
    logout_user()
    for key in _OUR_KEYS:
        session.pop(key, None)
    session.permanent = False


def keep_session_after_password_change(user: Any) -> None:
    """Let the current session survive its own password change (the others end)."""
    session[PASSWORD_STAMP] = password_stamp(user.password_hash)


def session_matches_password(password_hash: str) -> bool:
    """Whether the session was opened with the account's current password."""
    return hmac.compare_digest(
        str(session.get(PASSWORD_STAMP, "")), password_stamp(password_hash)
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
