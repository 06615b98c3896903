"""Views of the follow-up: actions and complaint of a fact, overdue facts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from orfi.auth.access import QUALIFIERS, READERS, role_required
from orfi.errors import ValidationError
from orfi.followup.forms import ActionForm, ComplaintForm, DeleteActionForm
from orfi.followup.models import (
    ActionKind,
    Complaint,
    ComplaintFiler,
    ComplaintKind,
    FollowupAction,
    Partner,
    tadpr_eligible,
)
from orfi.followup.services import (
    ActionInput,
    ComplaintInput,
    add_action,
    days_since,
    delete_action,
    edits_followup,
    find_action_report_uuid,
    get_action,
    get_complaint,
    list_actions,
    list_overdue_reports,
    may_change_action,
    reads_followup,
    save_complaint,
    update_action,
)
from orfi.forms import attach_errors, page_number
from orfi.reports.models import STAFF_VICTIMS, Report
from orfi.reports.queries import get_visible_report
from orfi.timezone import now_local
from orfi.transaction import unit_of_work

bp = Blueprint("followup", __name__, url_prefix="/suivi")


@dataclass
class Panel:
    """What the follow-up panel of a fact shows."""

    actions: list[FollowupAction]
    complaint: Complaint | None
    staff_victim: bool
    tadpr: bool
    action_form: ActionForm | None = None
    complaint_form: ComplaintForm | None = None
    report: Report | None = None

    def changeable(self, action: FollowupAction) -> bool:
        """Whether the current user may correct or delete ``action``."""
        return may_change_action(current_user, action, self.report)


def _action_form(formdata=None) -> ActionForm:
    form = ActionForm(formdata=formdata)
    if formdata is None:
        form.done_on.data = now_local().date()
    return form


def _complaint_form(report: Report, complaint: Complaint | None, formdata=None):
    form = ComplaintForm(formdata=formdata)
    if formdata is None:
        form.mission_service_public.data = report.mission_service_public
        if complaint is not None:
            form.kind.data = complaint.kind.value
            form.filed_by.data = complaint.filed_by.value
            form.filed_on.data = complaint.filed_on
            form.reference.data = complaint.reference
            form.sworn_agent_pv.data = complaint.sworn_agent_pv
    return form


def build_panel(report: Report, action_form=None, complaint_form=None) -> Panel | None:
    """Return the follow-up panel of ``report`` for the current user, or None."""
    if not current_user.is_authenticated or not reads_followup(current_user, report):
        return None
    complaint = get_complaint(report)
    panel = Panel(
        actions=list_actions(report),
        complaint=complaint,
        staff_victim=report.victime in STAFF_VICTIMS,
        tadpr=tadpr_eligible(report),
        report=report,
    )
    if edits_followup(current_user, report):
        panel.action_form = action_form or _action_form()
        panel.complaint_form = complaint_form or _complaint_form(report, complaint)
    return panel


@bp.app_context_processor
def _panel_builder():
    return {"followup_panel": build_panel}


@bp.app_template_filter("days_since")
def _days_since(moment):
    return days_since(moment)


def _detail(report: Report):
    return redirect(url_for("reports.detail", report_uuid=report.uuid) + "#suivi")


def _save_or_show_errors(report: Report, form, save, *, done: str, template: str):
    """Save a valid ``form`` in one transaction and go back to the fact, or show
    ``template`` again with the errors next to the fields (422, nothing stored).

    ``save`` is only called once the form is valid: it reads the parsed data.
    """
    if form.validate():
        try:
            with unit_of_work():
                save()
        except ValidationError as error:
            attach_errors(form, error.errors, fallback="submit")
        else:
            flash(done, "success")
            return _detail(report)
    # The panel shows this form again, with what the user typed and its errors.
    slot = "action_form" if isinstance(form, ActionForm) else "complaint_form"
    panel = build_panel(report, **{slot: form})
    return render_template(template, report=report, panel=panel, form=form), 422


@bp.route("/<uuid:report_uuid>/actions", methods=["POST"])
@role_required(*QUALIFIERS)
def add(report_uuid: uuid.UUID):
    """Add an action to a fact's follow-up (its status moves with it)."""
    report = get_visible_report(current_user, report_uuid)
    form = _action_form(request.form)
    return _save_or_show_errors(
        report,
        form,
        lambda: add_action(current_user, report, _action_input(form)),
        done="Action de suivi enregistrée.",
        template="followup/action.html",
    )


@bp.route("/<uuid:report_uuid>/plainte", methods=["POST"])
@role_required(*QUALIFIERS)
def complaint(report_uuid: uuid.UUID):
    """Record or correct the complaint details of a fact."""
    report = get_visible_report(current_user, report_uuid)
    form = _complaint_form(report, None, request.form)
    return _save_or_show_errors(
        report,
        form,
        lambda: save_complaint(
            current_user,
            report,
            ComplaintInput(
                kind=ComplaintKind.coerce(form.kind.data),
                filed_by=ComplaintFiler.coerce(form.filed_by.data),
                filed_on=form.filed_on.data,
                reference=form.reference.data or "",
                sworn_agent_pv=form.sworn_agent_pv.data,
                mission_service_public=form.mission_service_public.data,
            ),
        ),
        done="Dépôt enregistré.",
        template="followup/complaint.html",
    )


def _action_input(form: ActionForm) -> ActionInput:
    return ActionInput(
        done_on=form.done_on.data,
        kind=ActionKind.coerce(form.kind.data),
        partner=Partner.coerce(form.partner.data),
        note=form.note.data or "",
        close=form.close.data,
    )


def _changeable_action(action_id: int):
    """The action and its fact (404 outside the perimeter; 403 if the user may
    neither correct nor delete it)."""
    report = get_visible_report(current_user, find_action_report_uuid(action_id))
    action = get_action(report, action_id)
    if not may_change_action(current_user, action, report):
        abort(403)
    return report, action


@bp.route("/actions/<int:action_id>/corriger", methods=["GET", "POST"])
@role_required(*READERS)
def edit_action(action_id: int):
    """Correct an action of a fact's follow-up (its author or a référent)."""
    report, action = _changeable_action(action_id)
    posted = request.method == "POST"
    form = ActionForm(formdata=request.form if posted else None)
    if not posted:
        form.done_on.data = action.done_on
        form.kind.data = action.kind.value
        form.partner.data = action.partner.value if action.partner else ""
        form.note.data = action.note
    if posted and form.validate():
        try:
            data = _action_input(form)
            with unit_of_work():
                changed = update_action(current_user, report, action, data)
        except ValidationError as error:
            attach_errors(form, error.errors, fallback="submit")
        else:
            flash(
                "Action de suivi corrigée." if changed else "Aucun changement.",
                "success",
            )
            return _detail(report)
    return (
        render_template(
            "followup/action_edit.html",
            report=report,
            action=action,
            form=form,
            delete_form=DeleteActionForm(formdata=None),
        ),
        422 if posted else 200,
    )


@bp.post("/actions/<int:action_id>/supprimer")
@role_required(*READERS)
def remove_action(action_id: int):
    """Delete an action of a fact's follow-up; the fact's history keeps it."""
    report, action = _changeable_action(action_id)
    if not DeleteActionForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        delete_action(current_user, report, action)
    flash("Action de suivi supprimée (l'historique du fait la garde).", "success")
    return _detail(report)


@bp.route("/")
@role_required(*READERS)  # direction and chefs d'agence read it too (issue 11)
def overdue():
    """Facts of gravity 3 or 4 still without any action after N days."""
    days = current_app.config["ORFI_FOLLOWUP_OVERDUE_DAYS"]
    page = list_overdue_reports(
        current_user,
        days,
        page=page_number(request.args),
        per_page=current_app.config["ORFI_PAGE_SIZE"],
    )
    return render_template("followup/overdue.html", page=page, days=days)
