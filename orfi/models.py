"""Every model, imported in one place for Alembic and the shell."""

from orfi.api.models import ApiToken
from orfi.auth.models import Federation, Role, User, user_residence
from orfi.nomenclature.models import Category, Family
from orfi.patrimoine.models import (
    Agence,
    Batiment,
    Organisation,
    OrganisationKind,
    Residence,
)
from orfi.photos.models import Photo
from orfi.reports.models import ReferenceCounter, Report, ReportEvent, Status

__all__ = [
    "Agence",
    "ApiToken",
    "Batiment",
    "Category",
    "Family",
    "Federation",
    "Organisation",
    "OrganisationKind",
    "Photo",
    "ReferenceCounter",
    "Report",
    "ReportEvent",
    "Residence",
    "Role",
    "Status",
    "User",
    "user_residence",
]
