"""Views of the api feature: the JSON API under /api/v1, and the token pages.

Views parse, call one service, render JSON: the domain rules are those of the pages
(``check_report_input``, ``create_report``, ``qualify_report``…). Authentication is a
personal token (``Authorization: Bearer``; no CSRF, a program holds no cookie) or the
browser session (the PWA), whose writes need the ``X-CSRFToken`` header.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from orfi import database
from orfi.api import models  # noqa: F401  (the metadata must know the tables)
from orfi.api.contract import (
    Duplicate,
    NearbyQuery,
    NewAddition,
    PhotoQuery,
    PhotoUpload,
    Qualification,
)
from orfi.api.forms import RevokeTokenForm, TokenForm
from orfi.api.openapi import build_openapi
from orfi.api.payloads import (
    json_object,
    nearby_json,
    nomenclature_json,
    page_json,
    parse,
    parse_filters,
    parse_pagination,
    parse_report_input,
    photo_json,
    report_json,
    residence_json,
    user_json,
)
from orfi.api.services import (
    TokenUse,
    authenticate_digest,
    authenticate_for_intake,
    create_token,
    get_own_token,
    list_tokens,
    record_token_use,
    revoke_token,
    token_digest,
    token_use_is_due,
)
from orfi.auth.access import FILERS, QUALIFIERS, READERS, role_required
from orfi.auth.models import Role, User
from orfi.auth.perimeter import visible_residences
from orfi.errors import NotFound, UnreadableBody, ValidationError
from orfi.extensions import csrf, db
from orfi.nomenclature.services import list_categories
from orfi.patrimoine.models import Residence
from orfi.photos.services import (
    add_photo,
    clean_image,
    discard_files,
    get_visible_photo,
    list_photos,
    photo_path,
    photos_by_report,
    read_upload,
)
from orfi.reports.additions import add_to_report, get_report_for_addition
from orfi.reports.creation import ReportConflict, create_report
from orfi.reports.models import Report
from orfi.reports.nearby import NEARBY_RADIUS_M, NEARBY_WINDOW, nearby_reports
from orfi.reports.qualification import mark_duplicate, qualify_report, unmark_duplicate
from orfi.reports.queries import filtered_reports, get_visible_report
from orfi.transaction import unit_of_work
from orfi.writers import writer_turn

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# The JSON API checks CSRF itself: only for session requests (see _authenticate).
csrf.exempt(bp)

#: The token pages are HTML pages of the account, outside /api/ (whose errors are JSON).
pages = Blueprint("api_tokens", __name__, url_prefix="/compte/jetons-api")
bp.record_once(lambda state: state.app.register_blueprint(pages))

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PUBLIC_ENDPOINTS = frozenset({"api.openapi"})
#: Endpoints that check a bearer token themselves, in their own first statement.
_INTAKE_ENDPOINTS = frozenset({"api.create"})


def _reading() -> contextlib.AbstractContextManager[None]:
    """Let the block's queries open a reader's transaction even in a write request.

    On SQLite a write request's transaction starts with BEGIN IMMEDIATE, which holds the
    database's single write lock until the commit; other writers wait for it in SQLite's
    busy handler, which sleeps (1, 2, 5… up to 100 ms) between tries. Authentication
    only reads: run it in a plain transaction, end it with
    :func:`_end_read_transaction`, and the write lock is held by the view's unit of
    work alone.
    """
    return database.read_intent()


def _end_read_transaction(*keep) -> None:
    """End the reader's transaction; ``keep`` stay loaded. Only SQLite needs it:
    PostgreSQL locks rows, not the database."""
    if db.session.get_bind().dialect.name != "sqlite":
        return
    with _kept(*keep):
        db.session.rollback()  # nothing was written: this only releases the snapshot


@contextlib.contextmanager
def _kept(*instances) -> Iterator[None]:
    """Keep ``instances`` loaded across the end of a transaction in the block.

    Ending a transaction expires what the session holds; the next use of an expired
    caller would reload it, opening a transaction before the view's own — on SQLite,
    a writer's one, taken outside the writers' queue (see create).
    """
    for instance in instances:
        db.session.expunge(instance)
    try:
        yield
    finally:
        for instance in instances:
            db.session.add(instance)


def _problem(status: int, error: str, description: str):
    response = jsonify(error=error, description=description)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="orfi"'
    return response


@bp.before_request
def _authenticate():
    """Find the caller: a bearer token, else the session (with CSRF on writes).

    Before anything else, so that a refused token answers 401 whatever the body.
    """
    if request.endpoint in _PUBLIC_ENDPOINTS:
        return None
    writing = request.method not in _SAFE_METHODS
    header = request.headers.get("Authorization")
    if header is not None:
        digest = _digest(header)
        if digest is None:
            return _bad_token()
        if request.endpoint in _INTAKE_ENDPOINTS and request.method == "POST":
            g.api_token_digest = digest  # checked with the intake's read: see create
            return None
        return _authenticate_token(digest, writing)
    with _reading():
        user = current_user._get_current_object()
        authenticated = user.is_authenticated
    if not authenticated:
        return _problem(
            401,
            "authentication",
            "Authentification requise : jeton d'API (Authorization: Bearer) ou "
            "session.",
        )
    if writing and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    # The PWA names the user whose queue it sends: if the session changed hands since
    # the page was loaded (logout, another login in another tab), it sends nothing.
    expected = request.headers.get("X-Orfi-User")
    if expected is not None and expected != str(user.id):
        return _problem(
            409,
            "other_user",
            "La session appartient à un autre utilisateur que celui de cette page.",
        )
    if writing:
        _end_read_transaction(user)
    g.api_caller, g.api_user, g.api_token = user, user, None
    return None


def _digest(header: str) -> str | None:
    """What the token of an ``Authorization`` header is looked up by, or None."""
    scheme, _, secret = header.strip().partition(" ")
    return token_digest(secret.strip()) if scheme.lower() == "bearer" else None


def _authenticate_token(digest: str, writing: bool):
    """Accept the request's bearer token, or answer 401."""
    with _reading():
        use = authenticate_digest(digest)
    if use is None:
        return _bad_token()
    user = use.caller
    due = token_use_is_due(use)
    if writing or due:
        _end_read_transaction(user)
    if due:
        # A short write of its own, at most hourly per token: a read request must
        # not turn its reader's transaction into a writer's.
        with _kept(user), unit_of_work():
            record_token_use(use)
    _accept(use)
    return None


def _accept(use: TokenUse) -> None:
    """Make the token's owner the request's caller."""
    g.api_caller, g.api_user, g.api_token = use.caller, use.caller, use


def _bad_token():
    return _problem(401, "authentication", "Jeton d'API inconnu, révoqué ou mal formé.")


@bp.after_app_request
def _allow_header(response):
    """Keep the ``Allow`` header of a 405 under /api/ (the JSON error page drops it)."""
    error = request.routing_exception
    if (
        response.status_code == 405
        and request.path.startswith("/api/")
        and "Allow" not in response.headers
        and isinstance(error, MethodNotAllowed)
        and error.valid_methods
    ):
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return response


def _caller() -> User:
    """The caller, whether a token or the session authenticated them."""
    return g.api_user


def _check_role(*roles: Role) -> None:
    if g.api_caller.role not in roles:
        abort(403, description="Votre rôle ne permet pas cette opération.")


def _require(*roles: Role) -> User:
    _check_role(*roles)
    return _caller()


#: Deepest nesting of arrays and objects a JSON body may have: the API's bodies are
#: flat objects, and Python's parser overflows its stack near 1,000 levels.
JSON_DEPTH_MAX = 20
# A string (skipped whole: brackets inside it are text) or a bracket.
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[][{}]', re.DOTALL)


def _too_deep(data: bytes) -> bool:
    """Whether ``data`` nests arrays and objects deeper than ``JSON_DEPTH_MAX``.

    One pass that stops at the first level too many: a large body costs no list.
    """
    depth = 0
    for token in _JSON_TOKEN.finditer(data):
        bracket = token.group()
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > JSON_DEPTH_MAX:
                return True
        elif bracket in (b"]", b"}"):
            depth -= 1
    return False


def _body() -> dict:
    """The request's JSON object, or a 422 naming ``body`` (400: nested too deep)."""
    if not request.is_json:
        abort(415, description="Corps JSON attendu (Content-Type: application/json).")
    if _too_deep(request.get_data(cache=True)):
        raise UnreadableBody(
            {"body": [f"JSON trop imbriqué : {JSON_DEPTH_MAX} niveaux au plus."]}
        )
    return json_object(request.get_json(silent=True))


def _report_response(report: Report, status: int = 200, *, new: bool = False):
    photos = [] if new else list_photos(report.id)
    return jsonify(report_json(report, photos)), status


#: Names the services give to fields that the API calls differently.
_API_FIELD_NAMES = {
    "category": "category_id",
    "residence": "residence_id",
    "batiment": "batiment_id",
}


@contextlib.contextmanager
def _api_field_names() -> Iterator[None]:
    """Re-raise a service's ValidationError under the API's field names."""
    try:
        yield
    except ValidationError as error:
        raise ValidationError(
            {_API_FIELD_NAMES.get(k, k): v for k, v in error.errors.items()}
        ) from None


# ------------------------------------------------------------------------ documents


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI document of this API."""
    document = build_openapi(
        description_max=current_app.config["ORFI_DESCRIPTION_MAX_LENGTH"]
    )
    return jsonify(document)


@bp.get("/me")
def me():
    """The caller, and the session's CSRF token for the PWA's writes."""
    token = None if g.api_token is not None else generate_csrf()
    return jsonify(user_json(_caller(), token))


@bp.get("/nomenclature")
def nomenclature():
    """The organisation's categories by family, and the form's lists."""
    user = _require(*FILERS)
    categories = list_categories(user.organisation_id, active_only=False)
    return jsonify(nomenclature_json(list(categories)))


@bp.get("/residences")
def residences():
    """The caller's résidences (a gardien's sector), by page."""
    user = _require(*FILERS)
    page_number, per_page = parse_pagination(request.args)
    query = (
        visible_residences(user)
        .options(db.selectinload(Residence.batiments))
        .order_by(Residence.name, Residence.id)
    )
    page = db.paginate(query, page=page_number, per_page=per_page, error_out=False)
    return jsonify(page_json([residence_json(r) for r in page.items], page))


# --------------------------------------------------------------------------- facts


@bp.get("/reports")
def list_reports():
    """The facts the caller may read, with the filters of the pages, by page."""
    user = _require(*FILERS)
    filters, mine, per_page = parse_filters(request.args)
    query = filtered_reports(user, filters, mine=mine).options(
        db.joinedload(Report.category),
        db.joinedload(Report.residence),
        db.joinedload(Report.batiment),
        db.joinedload(Report.author),
        db.joinedload(Report.duplicate_of),
    )
    page = db.paginate(query, page=filters.page, per_page=per_page, error_out=False)
    photos = photos_by_report(r.id for r in page.items)
    items = [report_json(r, photos[r.id]) for r in page.items]
    return jsonify(page_json(items, page))


@bp.post("/reports")
def create():
    """File a fact; a UUID already stored answers 200 with the stored fact, or 409
    naming the fields that differ from it (nothing changed)."""
    if "api_token_digest" not in g and g.api_token is None:
        _check_role(*FILERS)  # a session's role first, as the pages check it
    try:
        data, refused = _new_report_input(), None
    except (ValidationError, HTTPException) as error:
        data, refused = None, error
    digest = g.pop("api_token_digest", None)
    if refused is not None:
        # A refused token answers 401 whatever the body: checked on its own first.
        if digest is not None and (problem := _authenticate_token(digest, True)):
            return problem
        raise refused
    try:
        return _file(data, digest)
    except ReportConflict as conflict:  # rolled back: nothing changed
        response = jsonify(
            error="conflict",
            description=str(conflict),
            fields=conflict.fields,
            report={"uuid": str(conflict.report_uuid), "reference": conflict.reference},
        )
        return response, conflict.status_code


def _new_report_input():
    """The request's new fact, or its ValidationError (or 4xx HTTPException)."""
    return parse_report_input(
        _body(), description_max=current_app.config["ORFI_DESCRIPTION_MAX_LENGTH"]
    )


def _file(data, digest: str | None):
    """File ``data`` in one transaction; with a bearer token's ``digest``, the token
    is checked by the same first statement as the fact's rows."""
    # SQLite's writers queue on a file lock rather than in its sleeping busy handler
    # (see orfi.writers); the checks read under the write lock, so that a resend
    # racing its first send finds it stored.
    with writer_turn(db.engine), unit_of_work(), _api_field_names():
        rows = None
        if digest is not None:
            found = authenticate_for_intake(digest, data)
            if found is None:
                return _bad_token()
            use, rows = found
            _accept(use)
            if token_use_is_due(use):
                record_token_use(use)  # in the fact's transaction: one commit
        user = _require(*FILERS)
        report, created = create_report(user, data, rows)
        # Rendered before the commit expires the fact: from the rows loaded.
        return _report_response(report, 201 if created else 200, new=created)


@bp.get("/reports/nearby")
def nearby():
    """ "Déjà signalé ?": facts of a category within 50 m in the last 24 hours."""
    user = _require(*FILERS)
    place = parse(NearbyQuery, request.args)
    facts = nearby_reports(
        user,
        category_id=place.category_id,
        latitude=place.latitude,
        longitude=place.longitude,
    )
    return jsonify(
        items=[nearby_json(fact, user) for fact in facts],
        radius_m=NEARBY_RADIUS_M,
        hours=NEARBY_WINDOW.total_seconds() / 3600,
    )


@bp.get("/reports/<uuid:report_uuid>")
def read(report_uuid: uuid.UUID):
    """One fact the caller may read."""
    return _report_response(get_visible_report(_caller(), report_uuid))


def _to_qualify(report_uuid: uuid.UUID) -> tuple[User, Report]:
    """The caller and the fact they qualify: 404 unless they see it, then 403 unless
    their role qualifies facts (the order both endpoints always checked in)."""
    user = _caller()
    report = get_visible_report(user, report_uuid)
    _require(*QUALIFIERS)
    return user, report


@bp.patch("/reports/<uuid:report_uuid>")
def qualify(report_uuid: uuid.UUID):
    """Change a fact's status (and category, gravity), as the détail page does."""
    user, report = _to_qualify(report_uuid)
    change = parse(Qualification, _body())
    status = change.status or report.status
    category_id = change.category_id or report.category_id
    gravity = change.gravity if "gravity" in change.model_fields_set else report.gravity
    comment = change.comment
    with unit_of_work(), _api_field_names():
        qualify_report(
            user,
            report,
            category_id=category_id,
            status=status,
            gravity=gravity,
            comment=comment.strip(),
        )
        return _report_response(report)  # before the commit expires the fact


@bp.put("/reports/<uuid:report_uuid>/duplicate")
def duplicate(report_uuid: uuid.UUID):
    """Mark a fact as the duplicate of another (``original``), or not (null)."""
    user, report = _to_qualify(report_uuid)
    mark = parse(Duplicate, _body())
    original_uuid, comment = mark.original, mark.comment
    with unit_of_work():
        if original_uuid is None:
            unmark_duplicate(user, report, comment=comment)
        else:
            original = _original(user, original_uuid)
            mark_duplicate(user, report, original, comment=comment)
        return _report_response(report)  # before the commit expires the fact


def _original(user: User, original_uuid: uuid.UUID) -> Report:
    """The fact a duplicate points to, or a 422 naming ``original``."""
    try:
        return get_visible_report(user, original_uuid)
    except NotFound:
        raise ValidationError({"original": ["Fait d'origine introuvable."]}) from None


@bp.post("/reports/<uuid:report_uuid>/additions")
def additions(report_uuid: uuid.UUID):
    """Add a complement to a fact already filed by someone else ("Déjà signalé ?")."""
    user = _require(*FILERS)
    report = get_report_for_addition(user, report_uuid)
    addition = parse(NewAddition, _body())
    client_uuid, comment = addition.uuid, addition.comment
    with unit_of_work():
        event, created = add_to_report(
            user, report, comment=comment, client_uuid=client_uuid
        )
        body = {
            "uuid": str(event.client_uuid),
            "comment": event.comment,
            "report": {"uuid": str(report.uuid), "reference": report.reference},
        }
    return jsonify(body), 201 if created else 200


# -------------------------------------------------------------------------- photos


@bp.get("/reports/<uuid:report_uuid>/photos")
def photos(report_uuid: uuid.UUID):
    """The photos of a fact the caller may read."""
    report = get_visible_report(_caller(), report_uuid)
    return jsonify(items=[photo_json(p) for p in list_photos(report.id)])


@bp.post("/reports/<uuid:report_uuid>/photos")
def upload_photo(report_uuid: uuid.UUID):
    """Add a photo to a fact (multipart field ``photo``); idempotent by ``uuid``."""
    with _reading():
        user = _require(*FILERS)
        report = get_report_for_addition(user, report_uuid)
    _end_read_transaction(user, report)  # decoding a photo takes no lock
    if not request.mimetype.startswith("multipart/form-data"):
        abort(415, description="Envoi multipart/form-data attendu (champ photo).")
    fields = {k: v for k, v in request.form.items() if k != "photo"}
    if "photo" in request.files:
        fields["photo"] = request.files["photo"]
    sent = parse(PhotoUpload, fields)
    photo_uuid, upload = sent.uuid, sent.photo
    image = clean_image(read_upload(upload.stream, upload.filename), upload.filename)
    organisation_id, created = report.organisation_id, False
    try:
        with unit_of_work():
            photo, created = add_photo(user, report, image, photo_uuid=photo_uuid)
            body = photo_json(photo)
    except Exception:
        if created:  # the commit failed: the files written for nothing go too
            discard_files(organisation_id, [photo.uuid])
        raise
    return jsonify(body), 201 if created else 200


@bp.get("/photos/<uuid:photo_uuid>")
def photo_image(photo_uuid: uuid.UUID):
    """The image of a photo whose fact the caller may read."""
    size = parse(PhotoQuery, request.args).size
    photo = get_visible_photo(_caller(), photo_uuid)
    path = photo_path(photo, thumbnail=size == "thumbnail")
    if not path.exists():
        raise NotFound("Fichier de la photo introuvable.")
    response = send_file(path, mimetype="image/jpeg", max_age=0)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


# ------------------------------------------------------------------- token pages


# The bailleur's référents, direction and administrators, who script and integrate; a
# gardien files from the app with their session (a field application's token for a
# gardien is created by an administrator: orfi create-token). The menu shows the entry
# to these roles only (orfi.templating.MENU).
@pages.route("/", methods=["GET", "POST"])
@role_required(*READERS)
def tokens():
    """List the user's API tokens; create one (its secret is shown once)."""
    form = TokenForm()
    created = secret = None
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work():
                created, secret = create_token(current_user, form.name.data)
        except ValidationError as error:
            for messages in error.errors.values():
                form.name.errors = [*form.name.errors, *messages]
            status = 422
        else:
            form = TokenForm(formdata=None)
    elif request.method == "POST":
        status = 422
    page = render_template(
        "api/tokens.html",
        form=form,
        tokens=list_tokens(current_user),
        secret=secret,
        created=created,
        revoke_form=RevokeTokenForm(),
    )
    # The secret is in this page only: no cache may keep it (no redirect either, so
    # that it never goes through the session cookie).
    return page, status, {"Cache-Control": "no-store"}


@pages.post("/<int:token_id>/revoquer")
@role_required(*READERS)
def revoke(token_id: int):
    """Revoke one of the user's tokens at once."""
    form = RevokeTokenForm()
    if not form.validate_on_submit():
        abort(400)
    with unit_of_work():
        token = get_own_token(current_user, token_id)
        name, revoked = token.name, revoke_token(token)
    if revoked:
        flash(f"Jeton « {name} » révoqué : il n'ouvre plus l'API.", "success")
    return redirect(url_for("api_tokens.tokens"))
