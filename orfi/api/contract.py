"""The API contract, declared once: pydantic models of every body, query and answer.

The same models parse the requests (``orfi.api.payloads``) and make the OpenAPI
document (``orfi.api.openapi``); their bounds come from ``orfi.limits``. Parsing
trusts no type: ``true`` is not an integer, ``NaN`` is not a position, an unknown field
is an error (a typo would otherwise be silently ignored). Each type below checks its
value itself and fails with the French message the pages use, so that every error
names its field and says what is expected.
"""

import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, NoReturn
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from orfi import limits
from orfi.auth.models import Role
from orfi.characters import refusal
from orfi.choices import Choice
from orfi.reports.models import (
    Intervention,
    Lieu,
    LocationSource,
    Status,
    Suite,
    Victime,
)
from orfi.timezone import from_local

#: The error type of every message written here (pydantic's own are translated).
ORFI_ERROR = "orfi"
REQUIRED = "Champ obligatoire."
UNKNOWN = "Champ inconnu."


def fail(message: str) -> NoReturn:
    """Refuse the value being read, with ``message`` (French, shown to the caller)."""
    raise PydanticCustomError(ORFI_ERROR, message)


def _check(value: Any, read: Callable[[Any], Any]) -> Any:
    # Reached with None only by a field that may not be null (see Optional[...]).
    if value is None:
        fail(REQUIRED)
    return read(value)


def _typed(python_type: Any, read: Callable[[Any], Any], *metadata: Any) -> Any:
    """``python_type`` read by ``read`` (which fails in French), then ``metadata``."""
    return Annotated[
        python_type, *metadata, BeforeValidator(lambda value: _check(value, read))
    ]


# ---------------------------------------------------------------------- the types


def integer(
    minimum: int = 1, maximum: int = limits.ID_MAX, *, query: bool = False, **doc
) -> Any:
    """An integer between ``minimum`` and ``maximum`` (a query's digits too)."""

    def read(value: Any) -> int:
        if query and isinstance(value, str):
            text = value.strip()
            digits = text[1:] if text[:1] in "+-" else text
            if not digits.isascii() or not digits.isdigit() or len(digits) > 12:
                fail("Nombre entier attendu.")
            value = int(text)
        elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            fail("Nombre entier attendu.")
        if not minimum <= value <= maximum:
            fail(f"Nombre entre {minimum} et {maximum} attendu.")
        return value

    return _typed(int, read, Field(ge=minimum, le=maximum, strict=True, **doc))


def number(minimum: float, maximum: float, *, query: bool = False) -> Any:
    """A finite number between ``minimum`` and ``maximum``."""

    def read(value: Any) -> float:
        if query and isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                fail("Nombre attendu.")
        if isinstance(value, bool) or not isinstance(value, int | float):
            fail("Nombre attendu.")
        try:
            value = float(value)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            fail("Nombre fini attendu.")
        if not minimum <= value <= maximum:
            fail(f"Nombre entre {minimum:g} et {maximum:g} attendu.")
        return value

    return _typed(
        float, read, Field(ge=minimum, le=maximum, strict=True, allow_inf_nan=False)
    )


def _read_boolean(query: bool) -> Callable[[Any], bool]:
    def read(value: Any) -> bool:
        if query and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0"):
                return False
        if not isinstance(value, bool):
            fail("Vrai ou faux attendu (true ou false).")
        return value

    return read


def boolean(*, query: bool = False, **doc) -> Any:
    """``true`` or ``false`` (in a query string also 1/0); null is the default."""
    read = _read_boolean(query)
    return Annotated[
        bool,
        Field(strict=True, **doc),
        # Null reads as absent: every boolean of the API defaults to false.
        BeforeValidator(lambda value: False if value is None else read(value)),
    ]


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from a JSON "\ud800"
        return False
    return "\x00" not in text


def text(max_length: int, *, multiline: bool = True) -> Any:
    """A string of at most ``max_length`` characters; null reads as ''.

    The one text type of every model: no control character (a single line also
    refuses tabulations and line breaks) and no bidi control, as in the forms.
    """

    def read(value: Any) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            fail("Texte attendu.")
        if len(value) > max_length:
            fail(f"{max_length} caractères au plus.")
        if not _storable(value):
            fail("Le texte contient des caractères invalides.")
        problem = refusal(value, multiline=multiline)
        if problem is not None:
            fail(problem)
        return value

    return Annotated[
        str, Field(max_length=max_length, strict=True), BeforeValidator(read)
    ]


def _codes(enum: type[Choice]) -> list[str]:
    return [member.value for member in enum]


def code(enum: type[Choice]) -> Any:
    """The code of a member of ``enum``, as an answer shows it."""
    return Annotated[str, WithJsonSchema({"type": "string", "enum": _codes(enum)})]


def choice(enum: type[Choice]) -> Any:
    """The code of a member of ``enum``, read into the member."""

    def read(value: Any) -> Choice:
        member = enum.parse(value)
        if member is None:
            fail(f"Valeur inconnue : choisissez parmi {', '.join(_codes(enum))}.")
        return member

    return _typed(enum, read, WithJsonSchema({"type": "string", "enum": _codes(enum)}))


def _read_uuid(value: Any) -> UUID:
    if isinstance(value, str) and len(value) <= 45:
        try:
            parsed = UUID(value)
        except ValueError:
            pass
        else:
            # The nil UUID is what a client sends when it forgot to choose one: two
            # such clients would take each other's facts for resends.
            if parsed.int == 0:
                fail("UUID nul refusé : choisissez un UUID aléatoire (version 4).")
            return parsed
    fail("UUID attendu (ex. 3f2b6c1e-8d5a-4f57-9a1e-2c4b7d9e0f13).")


def _read_moment(value: Any) -> datetime:
    problem = (
        "Date et heure ISO 8601 attendues (ex. 2026-11-21T14:30:00+01:00 ; "
        "sans décalage : heure de Paris)."
    )
    if not isinstance(value, str) or not 16 <= len(value) <= 40:
        fail(problem)
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            return from_local(parsed)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        fail(problem)


def _read_day(value: Any) -> date:
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    fail("Date attendue au format AAAA-MM-JJ.")


Uuid = _typed(UUID, _read_uuid)
#: A UUID that may be absent (its default) but not null: null reads as no UUID.
OptionalUuid = Annotated[UUID, BeforeValidator(_read_uuid)]
#: An ISO 8601 date and time; without an offset it is Paris time.
Moment = _typed(datetime, _read_moment)
#: An ISO 8601 date (``2026-11-21``).
Day = _typed(date, _read_day)
Id = integer()
Comment = text(limits.COMMENT_MAX_LENGTH)
Gravity = integer(limits.GRAVITY_MIN, limits.GRAVITY_MAX)
Latitude = number(limits.LATITUDE_MIN, limits.LATITUDE_MAX)
Longitude = number(limits.LONGITUDE_MIN, limits.LONGITUDE_MAX)
#: A file of a multipart body.
Binary = Annotated[Any, WithJsonSchema({"type": "string", "format": "binary"})]


# ------------------------------------------------------------------ the requests


class Contract(BaseModel):
    """A request's body or query: strict, unknown fields refused, no NaN."""

    model_config = ConfigDict(
        extra="forbid", strict=True, allow_inf_nan=False, frozen=True
    )

    #: The message for a missing field, when it says more than "Champ obligatoire.".
    missing: ClassVar[dict[str, str]] = {}


#: What the API document says of a fact's description.
DESCRIPTION_DOC = (
    "Courte, objective, sans nom. Obligatoire pour une catégorie « à préciser » "
    "(description_required dans la nomenclature, ex. AU99)."
)


class NewReport(Contract):
    """A fact to file (POST /reports)."""

    uuid: Uuid | None = Field(
        None,
        description="Choisi par le client, une fois par fait : un renvoi du même "
        "UUID rend le fait déjà enregistré (200) au lieu d'en créer un second.",
    )
    category_id: integer(description="Catégorie de la nomenclature.")
    residence_id: integer(description="Résidence (de votre secteur).")
    batiment_id: Id | None = None
    occurred_at: Moment = Field(
        description="Date et heure du fait ; sans décalage horaire : heure de Paris."
    )
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    gps_accuracy_m: number(0, limits.GPS_ACCURACY_MAX_M) | None = None
    location_source: choice(LocationSource) | None = None
    confirm_position: boolean(
        description="Confirme une position éloignée de la résidence."
    ) = False
    lieu: choice(Lieu) | None = None
    victime: choice(Victime) | None = None
    arret_travail_jours: integer(0, limits.STOPPAGE_MAX_DAYS) | None = None
    mission_service_public: boolean() = False
    suite: choice(Suite) | None = None
    intervention: choice(Intervention) | None = None
    damage_cost_eur: integer(0, limits.DAMAGE_MAX_EUR) | None = None
    gravity: Gravity | None = None
    description: text(limits.DESCRIPTION_MAX_LENGTH) = Field(
        "", description=DESCRIPTION_DOC
    )


_new_report_models: dict[int, type[NewReport]] = {
    limits.DESCRIPTION_MAX_LENGTH: NewReport
}


def new_report_model(description_max: int) -> type[NewReport]:
    """NewReport with the description limit of this installation (a setting)."""
    model = _new_report_models.get(description_max)
    if model is None:
        model = _new_report_models[description_max] = create_model(
            "NewReport",
            __base__=NewReport,
            __doc__=NewReport.__doc__,
            description=(
                text(description_max),
                Field("", description=DESCRIPTION_DOC),
            ),
        )
    return model


class Qualification(Contract):
    """A référent's qualification of a fact (PATCH /reports/{uuid}): what is absent
    stays; a null gravity clears it."""

    status: choice(Status) | None = None
    category_id: Id | None = None
    gravity: Gravity | None = None
    comment: Comment = ""


class Duplicate(Contract):
    """Mark a fact as the duplicate of ``original``, or not (null)."""

    missing = {"original": "Champ obligatoire (null pour retirer le doublon)."}

    original: Uuid | None = Field(
        description="UUID du fait d'origine ; null : ce n'est plus un doublon."
    )
    comment: Comment = ""


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class NewAddition(Contract):
    """A complement to a fact filed by someone else (idempotent by ``uuid``)."""

    # Optional but not nullable: absent, orfi chooses; null is refused (the default
    # is not validated, and is left out of the schema, which says "a UUID").
    uuid: OptionalUuid = Field(
        None,
        description="Choisi par le client : un renvoi du même UUID rend le "
        "complément déjà enregistré. Absent : orfi en choisit un.",
        json_schema_extra=_no_default,
    )
    comment: Comment = ""


class PhotoUpload(Contract):
    """A photo to add to a fact (multipart; idempotent by ``uuid``)."""

    missing = {"photo": "Joignez une photo (champ « photo »)."}

    photo: Binary
    uuid: Uuid | None = None


# ------------------------------------------------------------------ query strings

QueryId = integer(query=True)


class Pagination(Contract):
    """A page of a list."""

    page: integer(maximum=limits.PAGE_MAX, query=True) = Field(1)
    per_page: integer(maximum=limits.PER_PAGE_MAX, query=True) = Field(
        limits.PER_PAGE_DEFAULT
    )


class ReportQuery(Pagination):
    """The filters of the facts list (those of the pages), and ``mine``."""

    date_from: Day | None = None
    date_to: Day | None = None
    category_id: QueryId | None = None
    residence_id: QueryId | None = None
    status: choice(Status) | None = None
    mine: boolean(query=True, description="Seulement mes signalements.") = False

    @field_validator("date_to")
    @classmethod
    def _after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("date_from")
        if value is not None and start is not None and value < start:
            fail("La date de fin précède la date de début.")
        return value


class NearbyQuery(Contract):
    """A place and a category, for "Déjà signalé ?"."""

    category_id: QueryId
    latitude: number(limits.LATITUDE_MIN, limits.LATITUDE_MAX, query=True)
    longitude: number(limits.LONGITUDE_MIN, limits.LONGITUDE_MAX, query=True)


def _read_size(value: Any) -> str:
    if value not in ("full", "thumbnail"):
        fail("Valeur inconnue : full ou thumbnail.")
    return value


class PhotoQuery(Contract):
    """Which image of a photo."""

    size: _typed(
        str,
        _read_size,
        WithJsonSchema({"type": "string", "enum": ["full", "thumbnail"]}),
    ) = "full"


# ------------------------------------------------------------------- the answers


class Answer(BaseModel):
    """The shape of an answer (documentation: the renderers build plain dicts)."""


class Error(Answer):
    """An error: a code, a French description, and the messages of each field."""

    error: str
    description: str = ""
    fields: dict[str, list[str]] = Field(
        default_factory=dict, description="Messages en français, par champ."
    )


class Organisation(Answer):
    code: str
    name: str


class Me(Answer):
    """The authenticated user."""

    id: int
    name: str
    email: str
    role: code(Role)
    organisation: Organisation | None
    csrf_token: str | None = Field(
        description="Jeton CSRF de la session (null avec un jeton d'API) : à "
        "renvoyer dans l'en-tête X-CSRFToken des écritures."
    )


class CategoryItem(Answer):
    id: int
    code: str
    label: str
    active: bool
    description_required: bool = Field(
        description="Catégorie « à préciser » : un fait n'est accepté qu'avec une "
        "description."
    )


class Family(Answer):
    code: str
    label: str
    categories: list[CategoryItem]


class CodeLabel(Answer):
    code: str
    label: str


class Nomenclature(Answer):
    """The organisation's categories by family, and the form's lists."""

    families: list[Family]
    lists: dict[str, list[CodeLabel]]


class BatimentItem(Answer):
    id: int
    reference: str
    address: str


class Residence(Answer):
    """A résidence with its bâtiments."""

    id: int
    reference: str
    name: str
    address: str
    commune: str
    latitude: float
    longitude: float
    qpv_code: str | None
    batiments: list[BatimentItem]


class Photo(Answer):
    """A photo's description and the URLs of its image and thumbnail."""

    uuid: UUID
    position: int = Field(ge=1, le=limits.PHOTOS_MAX)
    width: int
    height: int
    url: str
    thumbnail_url: str


class PhotoList(Answer):
    items: list[Photo]


class CategoryRef(Answer):
    id: int
    code: str
    label: str


class ResidenceRef(Answer):
    id: int
    reference: str
    name: str


class BatimentRef(Answer):
    id: int
    reference: str


class Author(Answer):
    id: int
    name: str


class Report(Answer):
    """A fact, as the API shows it."""

    uuid: UUID
    reference: str = Field(examples=["TMH-2026-000123"])
    status: code(Status)
    category: CategoryRef
    residence: ResidenceRef
    batiment: BatimentRef | None
    occurred_at: datetime
    created_at: datetime
    latitude: float
    longitude: float
    gps_accuracy_m: float | None
    location_source: code(LocationSource)
    lieu: code(Lieu) | None
    victime: code(Victime) | None
    arret_travail_jours: int | None
    mission_service_public: bool
    suite: code(Suite) | None
    intervention: code(Intervention) | None
    damage_cost_eur: int | None
    gravity: int | None = Field(ge=limits.GRAVITY_MIN, le=limits.GRAVITY_MAX)
    description: str
    duplicate_of: UUID | None = Field(
        description="UUID du fait dont celui-ci est le doublon."
    )
    author: Author
    photos: list[Photo]
    url: str = Field(description="Page du fait.")


class ReportRef(Answer):
    uuid: UUID
    reference: str


class Addition(Answer):
    """A complement to a fact."""

    uuid: UUID
    comment: str
    report: ReportRef


class NearbyCategory(Answer):
    id: int
    code: str


class NearbyFact(Answer):
    """A nearby fact: what a filer needs to recognise it, and no more."""

    uuid: UUID
    reference: str
    category: NearbyCategory
    residence: str
    lieu: code(Lieu) | None
    lieu_label: str | None
    occurred_at: datetime
    distance_m: float
    mine: bool


class NearbyList(Answer):
    items: list[NearbyFact]
    radius_m: float
    hours: float


class Page(Answer):
    """A page of a list."""

    page: int
    per_page: int
    total: int
    pages: int


class ResidencePage(Page):
    items: list[Residence]


class ReportPage(Page):
    items: list[Report]
