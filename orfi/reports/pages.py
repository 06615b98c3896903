"""A fact's page and its form choices, shared by the views that render them.

The fact pages (:mod:`orfi.facts.routes`) and the photo upload
(:mod:`orfi.photos.routes`) both render a fact's page, the latter with its errors: the
page lives here, below both, so that neither view module imports the other.
"""

from __future__ import annotations

from flask import current_app, render_template
from flask_login import current_user

from orfi.auth.access import QUALIFIERS, READERS
from orfi.nomenclature.services import list_categories
from orfi.reports.assignment import list_assignees
from orfi.reports.corrections import may_correct
from orfi.reports.forms import (
    NOT_SPECIFIED,
    AssignForm,
    CorrectionForm,
    DuplicateForm,
    QualifyForm,
    UnmarkDuplicateForm,
)
from orfi.reports.qualification import duplicate_candidates, list_duplicates
from orfi.reports.queries import frequent_category_ids, is_late
from orfi.reports.residence_choices import (
    FORM_RESIDENCES_MAX,
    capped_residences,
    choice_batiments,
    filing_query,
    matching,
)
from orfi.timezone import to_local


def category_choices(with_frequent: bool) -> dict[str, list[tuple[int, str]]]:
    """Categories grouped by family; the user's most frequent ones first."""
    categories = list_categories(current_user.organisation_id)
    groups: dict[str, list[tuple[int, str]]] = {}
    if with_frequent:
        by_id = {c.id: c for c in categories}
        frequent = [by_id[i] for i in frequent_category_ids(current_user) if i in by_id]
        if frequent:
            groups["Vos catégories fréquentes"] = [(c.id, c.display) for c in frequent]
    for category in categories:
        groups.setdefault(category.family.label, []).append(
            (category.id, category.display)
        )
    return groups


def render_detail(
    report,
    *,
    status: int = 200,
    form: QualifyForm | None = None,
    duplicate_form: DuplicateForm | None = None,
    photo_form=None,
    assign_form: AssignForm | None = None,
):
    """Render a fact's page; forms given with errors are shown as they are."""
    qualifier = current_user.role in QUALIFIERS
    if qualifier and form is None:
        form = qualify_form(report)
    if qualifier and assign_form is None:
        assign_form = build_assign_form(report)
    context = {
        "report": report,
        "form": form,
        "photo_form": photo_form,
        "duplicates": list_duplicates(report),
        "duplicate_form": None,
        "unmark_form": None,
        "candidates": [],
        "can_correct": may_correct(current_user, report),
        "can_redact": qualifier
        and current_user.organisation_id == report.organisation_id,
        "assign_form": assign_form,
        "late": is_late(report),
        "fact_map": fact_map_config(report),
        # The résidence page is the readers' (référents, direction, administrateurs).
        "residence_page": current_user.role in READERS,
    }
    if qualifier:
        context["duplicate_form"] = duplicate_form or DuplicateForm(formdata=None)
        context["unmark_form"] = UnmarkDuplicateForm(formdata=None)
        if report.duplicate_of_id is None:
            context["candidates"] = duplicate_candidates(current_user, report)
    return render_template("reports/detail.html", **context), status


def fact_map_config(report) -> dict:
    """The fact page's small map: the fact's position and its résidence's, on the
    basemap the deployer chose for every map (none by default: nothing leaves)."""
    residence = report.residence
    return {
        "fact": [round(report.latitude, 6), round(report.longitude, 6)],
        "residence": [round(residence.latitude, 6), round(residence.longitude, 6)],
        "residenceName": residence.name,
        "reference": report.reference,
        "tileUrl": current_app.config["ORFI_TILE_URL"],
        "tileAttribution": current_app.config["ORFI_TILE_ATTRIBUTION"],
    }


def build_assign_form(report, formdata=None) -> AssignForm:
    """Return the « prise en charge » form, filled from ``report`` unless
    ``formdata``; the référents of the fact's bailleur are its choices."""
    form = AssignForm(formdata=formdata, prefix="assign")
    form.assignee.choices = [("", "— Personne —")] + [
        (user.id, user.name) for user in list_assignees(report.organisation_id)
    ]
    if formdata is None:
        form.assignee.data = report.assignee_id
        form.next_step_on.data = report.next_step_on
    return form


def qualify_form(report, formdata=None) -> QualifyForm:
    """Return the qualification form, filled from ``report`` unless ``formdata``."""
    form = QualifyForm(formdata=formdata)
    form.category.choices = category_choices(with_frequent=False)
    if formdata is None:
        form.category.data = report.category_id
        form.status.data = report.status.value
        form.gravity.data = str(report.gravity) if report.gravity else ""
    return form


def correction_form(report, formdata=None) -> CorrectionForm:
    """Return the correction form of ``report``, filled from it unless ``formdata``."""
    form = CorrectionForm(formdata=formdata)
    if formdata is None:
        form.description.data = report.description
        form.occurred_at.data = to_local(report.occurred_at).replace(
            tzinfo=None, second=0, microsecond=0
        )
        form.residence.data = report.residence_id
        form.batiment.data = report.batiment_id
        form.latitude.data = report.latitude
        form.longitude.data = report.longitude
        form.lieu.data = report.lieu.value if report.lieu else ""
        form.victime.data = report.victime.value if report.victime else ""
        form.arret_travail_jours.data = report.arret_travail_jours
    return form


def correction_choices(form: CorrectionForm, report, search: str = "") -> bool:
    """Fill the résidence and bâtiment choices of a correction form: a bounded list
    of the user's perimeter (``search`` narrows it), always with the fact's and the
    chosen résidence; the bâtiments of the chosen one. Return whether some of the
    perimeter were left out (the page then offers the search)."""
    chosen = form.residence.data or report.residence_id
    query = filing_query(current_user)
    if search:
        query = matching(query, search)
    residences, truncated = capped_residences(
        query, [report.residence_id, chosen], limit=FORM_RESIDENCES_MAX
    )
    if search:
        # The fact's and the chosen résidence stay offered, whatever the search.
        kept, _ = capped_residences(
            filing_query(current_user), [report.residence_id, chosen], limit=0
        )
        residences += [r for r in kept if r not in residences]
    form.residence.choices = [(r.id, r.label) for r in residences]
    selected = next((r for r in residences if r.id == chosen), report.residence)
    form.batiment.choices = [NOT_SPECIFIED] + [
        (b.id, f"{b.reference} {b.address}".strip())
        for b in choice_batiments([selected])
    ]
    return truncated
