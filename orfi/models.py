"""Every model module, imported in one place: the whole schema on ``db.metadata``.

A request only imports the models its blueprints need; Alembic (``migrations/env.py``)
and the schema drift test must see every table, or autogenerate would propose to
drop the ones nothing imported. ``tests/test_migrations.py`` checks that each
``orfi/<feature>/models.py`` is listed here.
"""

from sqlalchemy import MetaData

from orfi.activity import models as activity
from orfi.alerts import models as alerts
from orfi.api import models as api
from orfi.auth import models as auth
from orfi.extensions import db
from orfi.federation import models as federation
from orfi.followup import models as followup
from orfi.nomenclature import models as nomenclature
from orfi.notifications import models as notifications
from orfi.patrimoine import models as patrimoine
from orfi.photos import models as photos
from orfi.privacy import models as privacy
from orfi.reports import models as reports
from orfi.security import models as security
from orfi.surveillance import models as surveillance
from orfi.syntheses import models as syntheses

MODULES = (
    activity, alerts, api, auth, federation, followup, nomenclature,
    notifications, patrimoine, photos, privacy, reports, security, surveillance,
    syntheses,
)  # fmt: skip

#: The metadata of every table of the app, with the naming convention.
metadata: MetaData = db.metadata
