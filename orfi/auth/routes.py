"""Login, logout and one's own password."""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, login_url

from orfi.auth.forms import LoginForm, PasswordChangeForm
from orfi.auth.services import authenticate, change_own_password, load_user
from orfi.extensions import login_manager
from orfi.security import client_address
from orfi.security.sessions import (
    close_session,
    keep_session_after_password_change,
    open_session,
    session_ended,
)
from orfi.transaction import unit_of_work

bp = Blueprint("auth", __name__)

#: The one answer to a refused login: wrong password, unknown account, inactive
#: account, or a lock of the account or the address.
LOGIN_REFUSED = "Adresse e-mail ou mot de passe incorrect."
SESSION_ENDED = "Votre session a pris fin : reconnectez-vous."

login_manager.login_view = "auth.login"
login_manager.login_message = "Connectez-vous pour accéder à cette page."
login_manager.login_message_category = "info"
login_manager.user_loader(load_user)


@login_manager.unauthorized_handler
def _unauthorized():
    """Send to the login form, saying why when the session has just ended."""
    flash(SESSION_ENDED if session_ended() else login_manager.login_message, "info")
    return redirect(login_url(login_manager.login_view, next_url=request.url))


def _safe_next(target: str | None) -> str:
    """Return ``target`` if it is a path on this site, else the home page."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("main.home")


@bp.route("/connexion", methods=["GET", "POST"])
def login():
    """Show the login form and open a session."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    refused = False
    if form.validate_on_submit():
        # A refusal is counted by the throttle: it is committed too.
        with unit_of_work():
            user = authenticate(
                form.email.data, form.password.data, address=client_address()
            )
        if user is not None:
            open_session(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        refused = True
        form.password.errors.append(LOGIN_REFUSED)
    return render_template(
        "auth/login.html", form=form, refused=refused, remember_hint=_remember_hint()
    )


def _remember_hint() -> str | None:
    """What "Rester connecté" means with the current settings (None: not offered)."""
    days = current_app.config["ORFI_SESSION_REMEMBER_DAYS"]
    if days <= 0:
        return None
    idle = current_app.config["ORFI_SESSION_IDLE_MINUTES"]
    return (
        f"Pendant {days} jour{'s' if days > 1 else ''}, sur un appareil qui n'est "
        f"qu'à vous. Sinon, la session se ferme après {idle} minutes sans activité."
    )


@bp.route("/deconnexion", methods=["POST"])
@login_required
def logout():
    """Close the session."""
    close_session()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/compte/mot-de-passe", methods=["GET", "POST"])
@login_required
def change_password():
    """Let the user change their own password (their other sessions end)."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        # A refused current password is counted by the throttle: committed too.
        with unit_of_work():
            errors = change_own_password(
                user,
                current=form.current.data,
                new=form.password.data,
                address=client_address(),
            )
        if not errors:
            keep_session_after_password_change(user)
            flash(
                "Mot de passe changé. Vos sessions sur d'autres appareils "
                "sont fermées.",
                "success",
            )
            return redirect(url_for("main.home"))
        for name, messages in errors.items():
            getattr(form, name).errors = [*getattr(form, name).errors, *messages]
    status = 422 if form.errors else 200
    return render_template("auth/password.html", form=form), status
