"""Views of the syntheses: the daily synthesis (page, printable) and the bilan."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from orfi.activity.forms import PeriodForm
from orfi.activity.services import owner_of
from orfi.auth.access import READERS, role_required
from orfi.auth.models import Role
from orfi.stats.filters import default_period
from orfi.syntheses.bilan import (
    bilan_workbook,
    build_bilan,
    intervention_sentence,
    long_date,
    meeting_sentence,
    month_label,
    month_short,
)
from orfi.syntheses.forms import DayForm
from orfi.syntheses.services import (
    build_synthesis,
    default_day,
    perimeter_for_user,
)
from orfi.timezone import now_local

bp = Blueprint("syntheses", __name__, url_prefix="/syntheses")

VIEWERS = (*READERS, Role.FEDERATION)


@bp.app_template_filter("fr_decimal")
def _fr_decimal(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


@bp.app_template_filter("long_date")
def _long_date(value: date) -> str:
    return long_date(value)


@bp.app_template_filter("month_short")
def _month_short(value: int) -> str:
    return month_short(value)


@bp.app_template_filter("month_label")
def _month_label(value: int) -> str:
    return month_label(value)


def _day() -> tuple[DayForm, date]:
    """Read ``?date=``: a day up to today; the default day (yesterday) otherwise,
    with the form's error next to the field."""
    form = DayForm(request.args)
    day = default_day()
    if form.validate() and form.date.data:
        day = form.date.data
    elif not form.date.data:
        form.date.data = day
    return form, day


@bp.route("/")
@role_required(*VIEWERS)
def daily():
    """The notable facts of a day in the user's perimeter (default: yesterday)."""
    form, day = _day()
    data = build_synthesis(perimeter_for_user(current_user), day)
    return render_template(
        "syntheses/daily.html",
        form=form,
        data=data,
        previous=day - timedelta(days=1),
        # No link to a day to come: the synthesis of tomorrow has nothing to say.
        following=day + timedelta(days=1) if day < now_local().date() else None,
    )


@bp.route("/imprimer")
@role_required(*VIEWERS)
def printable():
    """The same synthesis laid out for printing."""
    _form, day = _day()
    data = build_synthesis(perimeter_for_user(current_user), day)
    return render_template("syntheses/print.html", data=data)


def _bilan():
    """Read the period: by default the statistics page's (the last twelve months up
    to today), so that both pages give the same figures without a filter."""
    form = PeriodForm(request.args)
    valid = form.validate()
    date_to = (form.date_to.data if valid else None) or default_period().end
    date_from = (form.date_from.data if valid else None) or (
        default_period(date_to).start
    )
    if valid:
        form.date_from.data, form.date_to.data = date_from, date_to
    bilan = build_bilan(
        perimeter_for_user(current_user), owner_of(current_user), date_from, date_to
    )
    return form, bilan


@bp.route("/bilan")
@role_required(*VIEWERS)
def bilan():
    """The bilan d'activité of a period (default: the last twelve months)."""
    form, bilan = _bilan()
    return render_template(
        "syntheses/bilan.html",
        form=form,
        bilan=bilan,
        meeting_sentence=meeting_sentence,
        intervention_sentence=intervention_sentence,
    )


@bp.route("/bilan.xlsx")
@role_required(*VIEWERS)
def bilan_xlsx():
    """The bilan as an XLSX workbook (same period parameters as the page)."""
    _form, bilan = _bilan()
    name = (
        f"bilan-{bilan.perimeter.slug}-{bilan.date_from.isoformat()}-"
        f"{bilan.date_to.isoformat()}.xlsx"
    )
    return Response(
        bilan_workbook(bilan),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
