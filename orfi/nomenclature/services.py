"""Loading, copying, reading and administering the nomenclature."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import sqlalchemy as sa

from orfi.errors import NotFound, ValidationError
from orfi.extensions import db
from orfi.nomenclature.models import Category, Family, says_to_specify

logger = logging.getLogger(__name__)

#: DOMAIN.md's default nomenclature: (family code, family label, [(code, label), ...]).
DEFAULT_NOMENCLATURE: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("AP", "Atteintes aux personnes", (
        ("AP01", "Agression verbale, injures, outrage"),
        ("AP02", "Menaces (dont menaces de mort)"),
        ("AP03", "Agression physique sans arme"),
        ("AP04", "Agression physique avec arme"),
        ("AP05", "Harcèlement, intimidation"),
    )),
    ("AB", "Atteintes aux biens", (
        ("AB01", "Dégradation, vandalisme (portes, vitres, boîtes aux lettres, "
                 "contrôle d'accès, éclairage)"),
        ("AB02", "Tags, graffitis"),
        ("AB03", "Incendie volontaire (local poubelles, cave, véhicule)"),
        ("AB04", "Vol, cambriolage (caves, locaux, chantier)"),
        ("AB05", "Dégradation d'ascenseur"),
        ("AB06", "Effraction de local technique"),
    )),
    ("TT", "Troubles de la tranquillité", (
        ("TT01", "Occupation abusive de hall ou cage d'escalier"),
        ("TT02", "Regroupements, attroupements aux abords"),
        ("TT03", "Nuisances sonores, tapage"),
        ("TT04", "Dépôts sauvages, encombrants, jets d'objets"),
        ("TT05", "Épanchement d'urine, salissures"),
        ("TT06", "Rodéos, stationnement gênant, épaves"),
        ("TT07", "Conflit de voisinage"),
    )),
    ("OC", "Occupations illicites", (
        ("OC01", "Squat de logement"),
        ("OC02", "Squat de parties communes, caves, parkings"),
    )),
    ("TR", "Trafics", (
        ("TR01", "Point de deal, trafic de stupéfiants (constaté ou suspecté)"),
        ("TR02", "Guetteurs, contrôle des accès par des tiers"),
    )),
    ("AU", "Autres", (
        ("AU99", "Autre fait (à préciser)"),
    )),
)  # fmt: skip


def load_default_nomenclature() -> int:
    """Insert the missing default families and template categories; return how many."""
    added = 0
    families = {f.code: f for f in db.session.scalars(db.select(Family))}
    templates = set(
        db.session.scalars(
            db.select(Category.code).where(Category.organisation_id.is_(None))
        )
    )
    for f_position, (f_code, f_label, categories) in enumerate(DEFAULT_NOMENCLATURE):
        family = families.get(f_code)
        if family is None:
            family = Family(code=f_code, label=f_label, position=f_position)
            db.session.add(family)
            added += 1
        for c_position, (code, label) in enumerate(categories):
            if code not in templates:
                db.session.add(
                    Category(
                        code=code,
                        label=label,
                        family=family,
                        position=c_position,
                        description_required=says_to_specify(label),
                    )
                )
                added += 1
    db.session.flush()
    return added


def copy_nomenclature_to(organisation_id: int) -> int:
    """Give an organisation its own copy of the template categories it lacks."""
    load_default_nomenclature()
    own = set(
        db.session.scalars(
            db.select(Category.code).where(Category.organisation_id == organisation_id)
        )
    )
    templates = db.session.scalars(
        db.select(Category).where(Category.organisation_id.is_(None))
    ).all()
    copies = [
        Category(
            organisation_id=organisation_id,
            family_id=t.family_id,
            code=t.code,
            label=t.label,
            position=t.position,
            description_required=t.description_required,
        )
        for t in templates
        if t.code not in own
    ]
    db.session.add_all(copies)
    db.session.flush()
    return len(copies)


def list_categories(
    organisation_id: int, *, active_only: bool = True
) -> Sequence[Category]:
    """Return an organisation's categories, ordered by family then position."""
    query = (
        db.select(Category)
        .join(Family)
        .where(Category.organisation_id == organisation_id)
        .options(sa.orm.contains_eager(Category.family))
        .order_by(Family.position, Category.position, Category.code)
    )
    if active_only:
        query = query.where(Category.active.is_(True))
    return db.session.scalars(query).all()


def get_category(organisation_id: int, category_id: int) -> Category | None:
    """Return the organisation's category with this id, or None."""
    category = db.session.get(Category, category_id)
    if category is None or category.organisation_id != organisation_id:
        return None
    return category


#: A category code: the family's two letters and two digits (e.g. TT08).
CATEGORY_CODE = re.compile(r"^[A-Z]{2}\d{2}$")
LABEL_MAX_LENGTH = 200


def list_families() -> Sequence[Family]:
    """Return the families in display order."""
    return db.session.scalars(db.select(Family).order_by(Family.position)).all()


def get_category_in(organisation_id: int, category_id: int) -> Category:
    """Return the organisation's category with this id, else raise NotFound."""
    category = get_category(organisation_id, category_id)
    if category is None:
        raise NotFound("Catégorie introuvable.")
    return category


def _label_errors(label: str) -> list[str]:
    if not label.strip():
        return ["Le libellé est obligatoire."]
    if len(label.strip()) > LABEL_MAX_LENGTH:
        return [f"{LABEL_MAX_LENGTH} caractères au plus."]
    return []


def update_category(
    category: Category, *, label: str, active: bool, immediate_alert: bool | None = None
) -> Category:
    """Change a category's label, active flag and « alerte immédiate » (every fact
    of it is grave for the alerts); its code never changes."""
    if problems := _label_errors(label):
        raise ValidationError({"label": problems})
    category.label = label.strip()
    category.description_required = says_to_specify(category.label)
    category.active = active
    if immediate_alert is not None:
        category.immediate_alert = immediate_alert
    db.session.flush()
    logger.info(
        "Catégorie %s du bailleur %s modifiée (active : %s)",
        category.code,
        category.organisation_id,
        active,
    )
    return category


def add_category(
    organisation_id: int, *, family_id: int | None, code: str, label: str
) -> Category:
    """Add a local category to a family of the organisation's nomenclature."""
    code = code.strip().upper()
    errors: dict[str, list[str]] = {}
    family = db.session.get(Family, family_id) if family_id else None
    if family is None:
        errors["family"] = ["Choisissez une famille."]
    if not CATEGORY_CODE.match(code):
        errors["code"] = ["Deux lettres puis deux chiffres, par exemple TT08."]
    elif family is not None and not code.startswith(family.code):
        errors["code"] = [
            f"Le code d'une catégorie de la famille {family.code} commence par "
            f"{family.code} (par exemple {family.code}08)."
        ]
    elif _code_taken(organisation_id, code):
        errors["code"] = ["Ce code existe déjà dans votre nomenclature."]
    if problems := _label_errors(label):
        errors["label"] = problems
    if errors:
        raise ValidationError(errors)
    last = db.session.scalar(
        db.select(sa.func.max(Category.position)).where(
            Category.organisation_id == organisation_id,
            Category.family_id == family.id,
        )
    )
    category = Category(
        organisation_id=organisation_id,
        family_id=family.id,
        code=code,
        label=label.strip(),
        position=(last or 0) + 1,
        description_required=says_to_specify(label),
    )
    try:
        # A concurrent request may have taken the code since the check above.
        with db.session.begin_nested():
            db.session.add(category)
    except sa.exc.IntegrityError:
        raise ValidationError(
            {"code": ["Ce code existe déjà dans votre nomenclature."]}
        ) from None
    logger.info("Catégorie %s ajoutée au bailleur %s", code, organisation_id)
    return category


def _code_taken(organisation_id: int, code: str) -> bool:
    return (
        db.session.scalar(
            db.select(Category.id).where(
                Category.organisation_id == organisation_id, Category.code == code
            )
        )
        is not None
    )
