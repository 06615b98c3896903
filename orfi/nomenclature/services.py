"""Loading, copying and reading the nomenclature."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from orfi.extensions import db
from orfi.nomenclature.models import Category, Family

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
        ("AB01", "Dégradation, vandalisme (portes, vitres, boîtes aux lettres, contrôle "
                 "d'accès, éclairage)"),
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
    """Insert the default families and template categories that are missing; return how many."""
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
                    Category(code=code, label=label, family=family, position=c_position)
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
