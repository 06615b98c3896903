"""Views of the alerts: the inbox (and the bell's count), « Mes alertes », and the
administrator's deliveries page with its test messages and users' choices."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from orfi.alerts.channels import title_of
from orfi.alerts.forms import ButtonForm, RuleForm
from orfi.alerts.services import (
    RuleInput,
    add_rule,
    delete_rule,
    delivery_counts,
    effective_rules,
    get_managed_user,
    list_deliveries,
    list_inbox,
    mark_read,
    reset_rules,
    rule_choices,
    rule_labels,
    send_test,
    unread_count,
)
from orfi.auth.access import role_required
from orfi.auth.models import Role
from orfi.errors import ValidationError
from orfi.forms import attach_errors, page_number
from orfi.notifications.models import Channel, DeliveryStatus
from orfi.transaction import unit_of_work

bp = Blueprint("alerts", __name__, url_prefix="/alertes")

#: Everyone of a bailleur has alerts; a federation has none (aggregates only).
_MEMBERS = (Role.GARDIEN, Role.REFERENT, Role.DIRECTION, Role.ADMIN)


@bp.app_context_processor
def _bell() -> dict:
    """The bell's unread count, read once per page when the template asks for it."""

    def alerts_unread() -> int | None:
        if not current_user.is_authenticated or current_user.organisation_id is None:
            return None
        return unread_count(current_user)

    return {"alerts_unread": alerts_unread}


@bp.app_template_global("alert_title")
def alert_title(event) -> str:
    """The short title of an alert event (« Fait grave », « Statut changé »...)."""
    return title_of(event.summary, event.grave)


@bp.get("/")
@role_required(*_MEMBERS)
def inbox():
    """The user's inbox, newest first."""
    page = list_inbox(current_user, page_number(request.args))
    return render_template("alerts/inbox.html", page=page, form=ButtonForm())


@bp.post("/<int:message_id>/lu")
@role_required(*_MEMBERS)
def read(message_id: int):
    """Mark one message read, then open its fact or its résidence (an alarm), or go
    back to the inbox."""
    form = ButtonForm()
    if not form.validate_on_submit():
        abort(400)
    with unit_of_work():
        mark_read(current_user, message_id)
    # Only a fact's or a résidence's page: never another site ("//host", "/\\host").
    target = request.form.get("next", "")
    if re.fullmatch(r"/signalements/[0-9a-f-]{36}|/patrimoine/residences/\d+", target):
        return redirect(target)
    return redirect(url_for("alerts.inbox"))


@bp.post("/tout-lu")
@role_required(*_MEMBERS)
def read_all():
    """Mark every message read."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        count = mark_read(current_user)
    flash(f"{count} message(s) marqué(s) comme lu(s).", "success")
    return redirect(url_for("alerts.inbox"))


def _rule_form(formdata=None) -> RuleForm:
    form = RuleForm(formdata=formdata)
    agences, families = rule_choices(current_user)
    form.agence.choices = [("", "Tout mon périmètre"), *agences]
    form.families.choices = families
    return form


def _rule_input(form: RuleForm) -> RuleInput:
    return RuleInput(
        kinds=form.kinds.data or [],
        agence_id=form.agence.data,
        residences=form.residences.data or "",
        families=form.families.data or [],
        min_gravity=form.min_gravity.data,
        rhythm=form.rhythm.data or "",
        channels=form.channels.data or [],
    )


@bp.route("/reglages", methods=["GET", "POST"])
@role_required(*_MEMBERS)
def settings():
    """« Mes alertes »: the rules in force, add one, delete one."""
    form = _rule_form(request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                with unit_of_work():
                    add_rule(current_user, _rule_input(form))
            except ValidationError as error:
                attach_errors(form, error.errors)
            else:
                flash("Règle ajoutée.", "success")
                return redirect(url_for("alerts.settings"))
        status = 422
    return render_template(
        "alerts/settings.html", form=form, button=ButtonForm(), **_rules(current_user)
    ), status


def _rules(user) -> dict:
    """The user's own rules in words, and whether they are their role's defaults."""
    rules, defaults = effective_rules(user)
    return {"rules": rule_labels(rules), "defaults": defaults}


@bp.post("/reglages/<int:rule_id>/supprimer")
@role_required(*_MEMBERS)
def delete(rule_id: int):
    """Delete one of the user's rules."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        delete_rule(current_user, rule_id)
    flash("Règle supprimée.", "success")
    return redirect(url_for("alerts.settings"))


@bp.get("/admin")
@role_required(Role.ADMIN)
def deliveries():
    """The bailleur's deliveries and failures, with test messages per channel."""
    status = DeliveryStatus.parse(request.args.get("statut"))
    page = list_deliveries(
        current_user.organisation_id, status, page_number(request.args)
    )
    return render_template(
        "alerts/deliveries.html",
        page=page,
        counts=delivery_counts(current_user.organisation_id),
        status=status,
        statuses=list(DeliveryStatus),
        channels=list(Channel),
        form=ButtonForm(),
    )


@bp.post("/admin/test/<channel>")
@role_required(Role.ADMIN)
def test_message(channel: str):
    """Send a test message to oneself on ``channel``."""
    chosen = Channel.parse(channel)
    if chosen is None:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        send_test(current_user, chosen)
    flash(
        f"Message de test ({chosen.label}) mis en envoi : suivez-le ci-dessous.",
        "success",
    )
    return redirect(url_for("alerts.deliveries"))


@bp.get("/admin/utilisateurs/<int:user_id>")
@role_required(Role.ADMIN)
def user_rules(user_id: int):
    """A user's alert choices, as the administrator sees them."""
    user = get_managed_user(current_user, user_id)
    return render_template(
        "alerts/user_rules.html", user=user, form=ButtonForm(), **_rules(user)
    )


@bp.post("/admin/utilisateurs/<int:user_id>/reinitialiser")
@role_required(Role.ADMIN)
def reset(user_id: int):
    """Put a user's alerts back to their role's defaults."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        user = reset_rules(current_user, user_id)
    flash(f"Alertes de {user.name} remises aux réglages par défaut.", "success")
    return redirect(url_for("alerts.user_rules", user_id=user_id))
