"""Views of the Web Push channel: « Mes téléphones », where a user lets this browser
receive their alerts, lists the browsers that do and removes one."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from orfi.alerts.push import (
    application_server_key,
    list_devices,
    push_enabled,
    register_device,
    remove_device,
)
from orfi.auth.access import FILERS, role_required
from orfi.auth.forms import EndSessionForm
from orfi.errors import ValidationError
from orfi.security.sessions import device_summary
from orfi.transaction import unit_of_work

bp = Blueprint("push", __name__, url_prefix="/alertes/telephones")


@bp.get("/")
@role_required(*FILERS)
def devices():
    """The browsers that receive the user's alerts, and the button for this one."""
    return render_template(
        "alerts/devices.html",
        devices=list_devices(current_user.id),
        enabled=push_enabled(),
        public_key=application_server_key(),
        form=EndSessionForm(),
    )


def _text(body: dict, *path: str) -> str:
    value = body
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({".".join(path): ["Texte attendu."]})
    return value


@bp.post("/")
@role_required(*FILERS)
def register():
    """Record this browser's subscription (JSON: what ``PushSubscription.toJSON()``
    gives); 201 with the device's id."""
    if not push_enabled():
        abort(404)
    label = device_summary(request.user_agent.string or "")[:120]
    try:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ValidationError({"endpoint": ["Corps JSON attendu."]})
        endpoint = _text(body, "endpoint")
        p256dh = _text(body, "keys", "p256dh")
        auth = _text(body, "keys", "auth")
        with unit_of_work():
            device = register_device(current_user.id, endpoint, p256dh, auth, label)
            device_id = device.id
    except ValidationError as error:
        # Called by the page's script: the API's error shape, naming the fields.
        return jsonify(error="validation", fields=error.errors), 400
    return {"id": device_id}, 201


@bp.post("/<int:device_id>/retirer")
@role_required(*FILERS)
def remove(device_id: int):
    """Stop sending the user's alerts to one of their browsers."""
    if not EndSessionForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        removed = remove_device(current_user.id, device_id)
    if not removed:
        abort(404)
    flash("Ce navigateur ne recevra plus vos alertes.", "success")
    return redirect(url_for("push.devices"))
