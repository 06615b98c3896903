"""Administration views: an administrator manages their own organisation only.

Every object is looked up within ``current_user.organisation_id``, so that an id of
another organisation answers 404 whatever the URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from orfi.admin.forms import (
    NO_AGENCE,
    CategoryAddForm,
    CategoryEditForm,
    PasswordResetForm,
    UserCreateForm,
    UserEditForm,
)
from orfi.admin.services import (
    list_agences,
    resolve_perimeter,
    search_sector_residences,
    sector_choices,
    sector_counts,
)
from orfi.auth.access import role_required
from orfi.auth.forms import EndSessionForm
from orfi.auth.models import Role, User
from orfi.auth.services import (
    create_user,
    get_user_in,
    list_users,
    set_user_password,
    update_user,
)
from orfi.errors import ValidationError
from orfi.forms import BaseForm, attach_errors
from orfi.nomenclature.services import (
    add_category,
    get_category_in,
    list_categories,
    list_families,
    update_category,
)
from orfi.patrimoine.models import Residence
from orfi.reports.residence_choices import search_text_problems
from orfi.security.sessions import list_open_sessions, revoke_user_sessions
from orfi.transaction import unit_of_work

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: The patrimoine import page, when that feature is installed.
IMPORT_ENDPOINT = "patrimoine.import_patrimoine"


@bp.before_request
@role_required(Role.ADMIN)
def _admins_only():
    """Every page of this blueprint is for administrators (403 for the others)."""


def _status() -> int:
    """200 for a page shown, 422 for a form sent back with errors."""
    return 422 if request.method == "POST" else 200


_Saved = TypeVar("_Saved")


def _save_or_show_errors(form: BaseForm, save: Callable[[], _Saved]) -> _Saved | None:
    """Run ``save`` (service calls) as the request's unit of work.

    Return what it saved, committed; on ValidationError (its work rolled back) put the
    messages next to the form's fields and return None, so that the view shows the
    form again.
    """
    try:
        with unit_of_work():
            return save()
    except ValidationError as error:
        attach_errors(form, error.errors)
        return None


@bp.route("/")
def index():
    """The administrator's landing page."""
    return render_template(
        "admin/index.html",
        import_available=IMPORT_ENDPOINT in current_app.view_functions,
        import_endpoint=IMPORT_ENDPOINT,
    )


# Users ----------------------------------------------------------------------------


def _sector_label(residence: Residence) -> str:
    if residence.commune_name:
        return f"{residence.label} · {residence.commune_name}"
    return residence.label


def _perimeter_choices(
    form: UserCreateForm | UserEditForm, sector: Iterable[int] = ()
) -> None:
    """Offer the agences and a capped list of the organisation's résidences.

    The résidences of ``sector`` and those the form sent are always offered, so that
    saving the form keeps a sector however large; the others are found by
    :func:`residence_search`.
    """
    organisation_id = current_user.organisation_id
    form.agence.choices = [NO_AGENCE] + [
        (a.id, a.name) for a in list_agences(organisation_id)
    ]
    selected = [*sector, *request.form.getlist("sector")]
    residences, form.sector_truncated = sector_choices(organisation_id, selected)
    form.sector.choices = [(r.id, _sector_label(r)) for r in residences]


def _submitted_account(form: UserCreateForm | UserEditForm) -> dict:
    """Return the name, role and perimeter the form asks for, as service arguments.

    Raises ValidationError when the agence or a résidence is not the organisation's.
    """
    agence, sector = resolve_perimeter(
        current_user.organisation_id, form.agence.data, form.sector.data or []
    )
    return {
        "name": form.name.data,
        "role": Role(form.role.data),
        "agence": agence,
        "sector": sector,
    }


@bp.route("/utilisateurs")
def users():
    """The organisation's users."""
    organisation_id = current_user.organisation_id
    return render_template(
        "admin/users.html",
        users=list_users(organisation_id),
        sector_counts=sector_counts(organisation_id),
    )


@bp.get("/residences")
def residence_search():
    """The organisation's résidences matching ``q``, to add to a sector (JSON)."""
    text = request.args.get("q", "").strip()
    if problems := search_text_problems(text):
        return jsonify({"error": "Recherche invalide.", "errors": {"q": problems}}), 400
    found, truncated = search_sector_residences(current_user.organisation_id, text)
    return jsonify(
        {
            "items": [{"id": r.id, "label": _sector_label(r)} for r in found],
            "truncated": truncated,
        }
    )


@bp.route("/utilisateurs/nouveau", methods=["GET", "POST"])
def new_user():
    """Create a user of the organisation."""
    form = UserCreateForm()
    _perimeter_choices(form)
    if form.validate_on_submit():
        user = _save_or_show_errors(
            form,
            lambda: create_user(
                email=form.email.data,
                password=form.password.data,
                organisation=current_user.organisation,
                **_submitted_account(form),
            ),
        )
        if user is not None:
            flash(f"Compte créé pour {user.name} ({user.email}).", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_new.html", form=form), _status()


def _user_data(user: User) -> dict:
    return {
        "name": user.name,
        "role": user.role.value,
        "agence": user.agence_id,
        "sector": [r.id for r in user.sector],
        "active": user.active,
    }


@bp.route("/utilisateurs/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int):
    """Change a user's name, role, perimeter and active flag."""
    user = get_user_in(current_user.organisation_id, user_id)
    data = _user_data(user)
    form = UserEditForm(data=data)
    _perimeter_choices(form, data["sector"])
    if form.validate_on_submit():
        saved = _save_or_show_errors(
            form,
            lambda: update_user(
                user,
                actor=current_user,
                active=form.active.data,
                **_submitted_account(form),
            ),
        )
        if saved is not None:
            flash(f"Compte de {user.name} enregistré.", "success")
            return redirect(url_for("admin.users"))
    return (
        render_template(
            "admin/user_edit.html",
            form=form,
            user=user,
            open_sessions=len(list_open_sessions(user.id)),
            logout_form=EndSessionForm(),
        ),
        _status(),
    )


@bp.route("/utilisateurs/<int:user_id>/deconnecter-partout", methods=["POST"])
def logout_everywhere(user_id: int):
    """End every session of a user (a lost phone, a shared computer left open)."""
    user = get_user_in(current_user.organisation_id, user_id)
    if EndSessionForm().validate_on_submit():
        with unit_of_work():
            ended = revoke_user_sessions(user.id)
        plural = "s" if ended > 1 else ""
        flash(
            f"{user.name} est déconnecté de partout "
            f"({ended} session{plural} fermée{plural}).",
            "success",
        )
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/utilisateurs/<int:user_id>/mot-de-passe", methods=["GET", "POST"])
def reset_password(user_id: int):
    """Give a user a new password (to pass on to them by a safe channel)."""
    user = get_user_in(current_user.organisation_id, user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        # Not _save_or_show_errors: this service returns nothing, so None would not
        # tell a refused password from a saved one.
        try:
            with unit_of_work():
                set_user_password(user, form.password.data)
        except ValidationError as error:
            attach_errors(form, error.errors)
        else:
            flash(
                f"Mot de passe de {user.name} changé : transmettez-le-lui de vive voix "
                "ou par un canal sûr, jamais avec l'adresse e-mail.",
                "success",
            )
            return redirect(url_for("admin.edit_user", user_id=user.id))
    return (
        render_template("admin/user_password.html", form=form, user=user),
        _status(),
    )


# Nomenclature ---------------------------------------------------------------------


@bp.route("/nomenclature")
def nomenclature():
    """The organisation's categories, grouped by family."""
    categories = list_categories(current_user.organisation_id, active_only=False)
    by_family: dict[int, list] = {}
    for category in categories:
        by_family.setdefault(category.family_id, []).append(category)
    return render_template(
        "admin/nomenclature.html", families=list_families(), by_family=by_family
    )


@bp.route("/nomenclature/nouvelle", methods=["GET", "POST"])
def new_category():
    """Add a local category to a family."""
    families = list_families()
    form = CategoryAddForm()
    form.family.choices = [("", "— Choisissez une famille —")] + [
        (f.id, f"{f.code} · {f.label}") for f in families
    ]
    if request.method == "GET":
        wanted = request.args.get("famille", "")
        form.family.data = next((f.id for f in families if f.code == wanted), None)
    if form.validate_on_submit():
        category = _save_or_show_errors(
            form,
            lambda: add_category(
                current_user.organisation_id,
                family_id=form.family.data,
                code=form.code.data,
                label=form.label.data,
            ),
        )
        if category is not None:
            flash(f"Catégorie {category.display} ajoutée.", "success")
            return redirect(url_for("admin.nomenclature"))
    return render_template("admin/category_new.html", form=form), _status()


@bp.route("/nomenclature/<int:category_id>", methods=["GET", "POST"])
def edit_category(category_id: int):
    """Change a category's label and active flag (never its code)."""
    category = get_category_in(current_user.organisation_id, category_id)
    form = CategoryEditForm(
        data={
            "label": category.label,
            "active": category.active,
            "immediate_alert": category.immediate_alert,
        }
    )
    if form.validate_on_submit():
        saved = _save_or_show_errors(
            form,
            lambda: update_category(
                category,
                label=form.label.data,
                active=form.active.data,
                immediate_alert=form.immediate_alert.data,
            ),
        )
        if saved is not None:
            flash(f"Catégorie {category.code} enregistrée.", "success")
            return redirect(url_for("admin.nomenclature"))
    return (
        render_template("admin/category_edit.html", form=form, category=category),
        _status(),
    )
