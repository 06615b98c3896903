"""Views of the activity log: meetings and interventions, thin over the services."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from orfi.activity.forms import InterventionForm, MeetingForm, PeriodForm
from orfi.activity.models import MeetingKind
from orfi.activity.services import (
    InterventionInput,
    MeetingInput,
    activity_bailleurs,
    activity_residence_query,
    create_intervention,
    create_meeting,
    delete_intervention,
    delete_meeting,
    get_intervention,
    get_meeting,
    list_interventions,
    list_meetings,
    parse_references,
    update_intervention,
    update_meeting,
)
from orfi.auth.access import QUALIFIERS, role_required
from orfi.auth.models import Role
from orfi.errors import ValidationError
from orfi.followup.models import Partner
from orfi.forms import attach_errors
from orfi.reports.residence_choices import (
    capped_residences,
    search_in,
    search_text_problems,
)
from orfi.timezone import now_local
from orfi.transaction import unit_of_work

bp = Blueprint("activity", __name__, url_prefix="/activite")

LOGGERS = (*QUALIFIERS, Role.FEDERATION)
#: Days shown by default in the log.
DEFAULT_DAYS = 60


def period_from(form: PeriodForm, default_days: int) -> tuple[date, date]:
    """Return the period of a validated filter form, else the last ``default_days``."""
    today = now_local().date()
    date_from, date_to = today - timedelta(days=default_days - 1), today
    if form.validate():
        date_to = form.date_to.data or date_to
        date_from = form.date_from.data or min(date_from, date_to)
    return date_from, date_to


def _residence_choices(
    with_empty: bool, selected: Iterable[int | None], name: str
) -> tuple[list | dict, bool]:
    """A capped list of the user's résidences by bailleur, the chosen ones kept.

    ``selected`` (the entry's résidences) and those the form sent are always offered;
    the others are found by :func:`residence_search`. Also return whether some were
    left out.
    """
    residences, truncated = capped_residences(
        activity_residence_query(current_user), [*selected, *request.form.getlist(name)]
    )
    groups: dict[str, list[tuple[int, str]]] = {}
    for residence in sorted(residences, key=lambda r: (r.organisation_id, r.name)):
        groups.setdefault(residence.organisation.name, []).append(
            (residence.id, residence.label)
        )
    if with_empty:
        return {"": [("", "— Aucune en particulier —")], **groups}, truncated
    return groups, truncated


def _offer_search(field, truncated: bool) -> None:
    """Point residence-select-search.js at the search when the list is cut short."""
    if truncated:
        field.render_kw = {
            **(field.render_kw or {}),
            "data-search-url": url_for("activity.residence_search"),
        }


@bp.get("/residences")
@role_required(*LOGGERS)
def residence_search():
    """Résidences of the user's bailleurs matching ``q``, to add to a form (JSON)."""
    text = request.args.get("q", "").strip()
    if problems := search_text_problems(text):
        return jsonify({"error": "Recherche invalide.", "errors": {"q": problems}}), 400
    found, truncated = search_in(activity_residence_query(current_user), text)
    return jsonify(
        {
            "items": [
                {"id": r.id, "label": r.label, "group": r.organisation.name}
                for r in found
            ],
            "truncated": truncated,
        }
    )


def _is_federation() -> bool:
    return current_user.role is Role.FEDERATION


@bp.route("/")
@role_required(*LOGGERS)
def index():
    """The log of meetings and interventions over a period."""
    form = PeriodForm(request.args)
    date_from, date_to = period_from(form, DEFAULT_DAYS)
    if not form.errors:
        form.date_from.data, form.date_to.data = date_from, date_to
    meetings = list_meetings(current_user, date_from, date_to)
    interventions = list_interventions(current_user, date_from, date_to)
    return render_template(
        "activity/index.html",
        form=form,
        date_from=date_from,
        date_to=date_to,
        meetings=meetings,
        interventions=interventions,
        federation=_is_federation(),
    )


# --------------------------------------------------------------------------------------
# Meetings
# --------------------------------------------------------------------------------------


def _meeting_form(meeting=None, formdata=None) -> MeetingForm:
    form = MeetingForm(formdata=formdata)
    form.bailleurs.choices = [(o.id, o.name) for o in activity_bailleurs(current_user)]
    form.residences.choices, form.residences_truncated = _residence_choices(
        False, [r.id for r in meeting.residences] if meeting else [], "residences"
    )
    if formdata is None:
        if meeting is None:
            form.held_on.data = now_local().date()
        else:
            form.held_on.data = meeting.held_on
            form.kind.data = meeting.kind.value
            form.subject.data = meeting.subject
            form.partners.data = list(meeting.partners)
            form.bailleurs.data = [o.id for o in meeting.bailleurs]
            form.residences.data = [r.id for r in meeting.residences]
            form.notes.data = meeting.notes
    return form


def _meeting_input(form: MeetingForm) -> MeetingInput:
    return MeetingInput(
        held_on=form.held_on.data,
        kind=MeetingKind.coerce(form.kind.data),
        subject=form.subject.data or "",
        partners=[Partner(code) for code in form.partners.data or []],
        bailleur_ids=list(form.bailleurs.data or []),
        residence_ids=list(form.residences.data or []),
        notes=form.notes.data or "",
    )


def _save_meeting(meeting=None):
    form = _meeting_form(meeting, request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        try:
            with unit_of_work():
                if meeting is None:
                    create_meeting(current_user, _meeting_input(form))
                else:
                    update_meeting(current_user, meeting, _meeting_input(form))
        except ValidationError as error:
            attach_errors(form, error.errors, fallback="submit")
        else:
            flash("Réunion enregistrée.", "success")
            return redirect(url_for("activity.index"))
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "activity/meeting_form.html",
            form=form,
            meeting=meeting,
            federation=_is_federation(),
        ),
        status,
    )


@bp.route("/reunions/nouvelle", methods=["GET", "POST"])
@role_required(*LOGGERS)
def new_meeting():
    """Log a meeting."""
    return _save_meeting()


@bp.route("/reunions/<int:meeting_id>", methods=["GET", "POST"])
@role_required(*LOGGERS)
def edit_meeting(meeting_id: int):
    """Correct a meeting of the log."""
    return _save_meeting(get_meeting(current_user, meeting_id))


@bp.route("/reunions/<int:meeting_id>/supprimer", methods=["POST"])
@role_required(*LOGGERS)
def remove_meeting(meeting_id: int):
    """Delete a meeting of the log."""
    with unit_of_work():
        delete_meeting(current_user, get_meeting(current_user, meeting_id))
    flash("Réunion supprimée.", "success")
    return redirect(url_for("activity.index"))


# --------------------------------------------------------------------------------------
# Interventions
# --------------------------------------------------------------------------------------


def _intervention_form(intervention=None, formdata=None) -> InterventionForm:
    form = InterventionForm(formdata=formdata)
    form.beneficiary.choices = [("", "— Choisir —")] + [
        (o.id, o.name) for o in activity_bailleurs(current_user)
    ]
    form.residence.choices, form.residence_truncated = _residence_choices(
        True, [intervention.residence_id] if intervention else [], "residence"
    )
    _offer_search(form.residence, form.residence_truncated)
    if formdata is None:
        if intervention is None:
            form.done_on.data = now_local().date()
        else:
            form.done_on.data = intervention.done_on
            form.beneficiary.data = intervention.beneficiary_id
            form.partner.data = intervention.partner.value
            form.subject.data = intervention.subject
            form.residence.data = intervention.residence_id
            form.reports.data = ", ".join(r.reference for r in intervention.reports)
            form.notes.data = intervention.notes
    return form


def _intervention_input(form: InterventionForm) -> InterventionInput:
    return InterventionInput(
        done_on=form.done_on.data,
        beneficiary_id=form.beneficiary.data,
        partner=Partner.coerce(form.partner.data),
        subject=form.subject.data or "",
        notes=form.notes.data or "",
        residence_id=form.residence.data,
        report_references=parse_references(form.reports.data or ""),
    )


def _save_intervention(intervention=None):
    formdata = request.form if request.method == "POST" else None
    form = _intervention_form(intervention, formdata)
    if request.method == "POST" and form.validate():
        try:
            with unit_of_work():
                if intervention is None:
                    create_intervention(current_user, _intervention_input(form))
                else:
                    update_intervention(
                        current_user, intervention, _intervention_input(form)
                    )
        except ValidationError as error:
            attach_errors(form, error.errors, fallback="submit")
        else:
            flash("Intervention enregistrée.", "success")
            return redirect(url_for("activity.index"))
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "activity/intervention_form.html",
            form=form,
            intervention=intervention,
            federation=_is_federation(),
        ),
        status,
    )


@bp.route("/interventions/nouvelle", methods=["GET", "POST"])
@role_required(*LOGGERS)
def new_intervention():
    """Log an intervention made for a bailleur."""
    return _save_intervention()


@bp.route("/interventions/<int:intervention_id>", methods=["GET", "POST"])
@role_required(*LOGGERS)
def edit_intervention(intervention_id: int):
    """Correct an intervention of the log."""
    return _save_intervention(get_intervention(current_user, intervention_id))


@bp.route("/interventions/<int:intervention_id>/supprimer", methods=["POST"])
@role_required(*LOGGERS)
def remove_intervention(intervention_id: int):
    """Delete an intervention of the log."""
    with unit_of_work():
        delete_intervention(
            current_user, get_intervention(current_user, intervention_id)
        )
    flash("Intervention supprimée.", "success")
    return redirect(url_for("activity.index"))
