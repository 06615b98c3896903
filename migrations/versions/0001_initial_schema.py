"""Initial schema: patrimoine, people, nomenclature, facts and their history.

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Enumerations are stored as short strings (no native PostgreSQL enum types) so that adding a
value never needs a type migration; a Python enum validates them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('family',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=4), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family')),
    sa.UniqueConstraint('code', name=op.f('uq_family_code'))
    )
    op.create_table('federation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_federation')),
    sa.UniqueConstraint('code', name=op.f('uq_federation_code'))
    )
    op.create_table('organisation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('oph', 'esh', 'sem', 'cooperative', name='organisationkind', native_enum=False, length=32), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation')),
    sa.UniqueConstraint('code', name=op.f('uq_organisation_code'))
    )
    op.create_table('agence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_agence_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agence')),
    sa.UniqueConstraint('organisation_id', 'name', name=op.f('uq_agence_organisation_id_name'))
    )
    op.create_table('category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('family_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['family_id'], ['family.id'], name=op.f('fk_category_family_id_family')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_category_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_category')),
    sa.UniqueConstraint('organisation_id', 'code', name=op.f('uq_category_organisation_id_code'))
    )
    op.create_index(op.f('ix_category_organisation_id'), 'category', ['organisation_id'])
    op.create_table('reference_counter',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_reference_counter_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('organisation_id', 'year', name=op.f('pk_reference_counter'))
    )
    op.create_table('residence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('agence_id', sa.Integer(), nullable=True),
    sa.Column('reference', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('commune_insee', sa.String(length=5), nullable=False),
    sa.Column('commune_name', sa.String(length=100), nullable=False),
    sa.Column('logements', sa.Integer(), nullable=False),
    sa.Column('qpv_code', sa.String(length=12), nullable=True),
    sa.Column('qpv_generation', sa.String(length=4), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('outline_geojson', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agence_id'], ['agence.id'], name=op.f('fk_residence_agence_id_agence')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_residence_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_residence')),
    sa.UniqueConstraint('organisation_id', 'reference', name=op.f('uq_residence_organisation_id_reference'))
    )
    op.create_index(op.f('ix_residence_agence_id'), 'residence', ['agence_id'])
    op.create_index(op.f('ix_residence_organisation_id'), 'residence', ['organisation_id'])
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.Enum('gardien', 'referent', 'direction', 'admin', 'federation', name='role', native_enum=False, length=32), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('federation_id', sa.Integer(), nullable=True),
    sa.Column('agence_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(organisation_id IS NULL) <> (federation_id IS NULL)', name=op.f('ck_user_account_one_affiliation')),
    sa.ForeignKeyConstraint(['agence_id'], ['agence.id'], name=op.f('fk_user_account_agence_id_agence')),
    sa.ForeignKeyConstraint(['federation_id'], ['federation.id'], name=op.f('fk_user_account_federation_id_federation')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_user_account_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('email', name=op.f('uq_user_account_email'))
    )
    op.create_index(op.f('ix_user_account_organisation_id'), 'user_account', ['organisation_id'])
    op.create_table('batiment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('residence_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=50), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['residence_id'], ['residence.id'], name=op.f('fk_batiment_residence_id_residence')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batiment')),
    sa.UniqueConstraint('residence_id', 'reference', name=op.f('uq_batiment_residence_id_reference'))
    )
    op.create_table('user_residence',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('residence_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['residence_id'], ['residence.id'], name=op.f('fk_user_residence_residence_id_residence'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_residence_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'residence_id', name=op.f('pk_user_residence'))
    )
    op.create_table('report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('residence_id', sa.Integer(), nullable=False),
    sa.Column('batiment_id', sa.Integer(), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('occurred_month', sa.Integer(), nullable=False),
    sa.Column('occurred_weekday', sa.SmallInteger(), nullable=False),
    sa.Column('occurred_hour', sa.SmallInteger(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('gps_accuracy_m', sa.Float(), nullable=True),
    sa.Column('location_source', sa.Enum('gps', 'map', 'residence', name='locationsource', native_enum=False, length=32), nullable=False),
    sa.Column('h3_r7', sa.BigInteger(), nullable=False),
    sa.Column('h3_r9', sa.BigInteger(), nullable=False),
    sa.Column('lieu', sa.Enum('hall', 'escalier', 'ascenseur', 'cave', 'parking_souterrain', 'parking_aerien', 'local_poubelles', 'local_velos', 'toiture', 'abords', 'loge', 'agence', 'logement', name='lieu', native_enum=False, length=32), nullable=True),
    sa.Column('victime', sa.Enum('aucune', 'personnel_bailleur', 'personnel_prestataire', 'locataire', 'tiers', name='victime', native_enum=False, length=32), nullable=True),
    sa.Column('arret_travail_jours', sa.Integer(), nullable=True),
    sa.Column('mission_service_public', sa.Boolean(), nullable=False),
    sa.Column('suite', sa.Enum('aucune', 'main_courante', 'plainte_bailleur', 'plainte_victime', 'proces_verbal', 'signalement_procureur', name='suite', native_enum=False, length=32), nullable=True),
    sa.Column('intervention', sa.Enum('aucune', 'police_nationale', 'gendarmerie', 'police_municipale', name='intervention', native_enum=False, length=32), nullable=True),
    sa.Column('damage_cost_eur', sa.Integer(), nullable=True),
    sa.Column('gravity', sa.SmallInteger(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('nouveau', 'qualifie', 'transmis', 'clos', name='status', native_enum=False, length=32), nullable=False),
    sa.CheckConstraint('gravity BETWEEN 1 AND 4', name=op.f('ck_report_gravity_range')),
    sa.CheckConstraint('latitude BETWEEN -90 AND 90', name=op.f('ck_report_latitude_range')),
    sa.CheckConstraint('longitude BETWEEN -180 AND 180', name=op.f('ck_report_longitude_range')),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_report_author_id_user_account')),
    sa.ForeignKeyConstraint(['batiment_id'], ['batiment.id'], name=op.f('fk_report_batiment_id_batiment')),
    sa.ForeignKeyConstraint(['category_id'], ['category.id'], name=op.f('fk_report_category_id_category')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_report_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['residence_id'], ['residence.id'], name=op.f('fk_report_residence_id_residence')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report')),
    sa.UniqueConstraint('reference', name=op.f('uq_report_reference')),
    sa.UniqueConstraint('uuid', name=op.f('uq_report_uuid'))
    )
    op.create_index('ix_report_author_created', 'report', ['author_id', 'created_at'])
    op.create_index(op.f('ix_report_category_id'), 'report', ['category_id'])
    op.create_index('ix_report_org_occurred', 'report', ['organisation_id', 'occurred_at'])
    op.create_index(op.f('ix_report_residence_id'), 'report', ['residence_id'])
    op.create_table('report_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_report_event_report_id_report')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_report_event_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_event'))
    )
    op.create_index(op.f('ix_report_event_report_id'), 'report_event', ['report_id'])


def downgrade():
    op.drop_index(op.f('ix_report_event_report_id'), table_name='report_event')
    op.drop_table('report_event')
    op.drop_index(op.f('ix_report_residence_id'), table_name='report')
    op.drop_index('ix_report_org_occurred', table_name='report')
    op.drop_index(op.f('ix_report_category_id'), table_name='report')
    op.drop_index('ix_report_author_created', table_name='report')
    op.drop_table('report')
    op.drop_table('user_residence')
    op.drop_table('batiment')
    op.drop_index(op.f('ix_user_account_organisation_id'), table_name='user_account')
    op.drop_table('user_account')
    op.drop_index(op.f('ix_residence_organisation_id'), table_name='residence')
    op.drop_index(op.f('ix_residence_agence_id'), table_name='residence')
    op.drop_table('residence')
    op.drop_table('reference_counter')
    op.drop_index(op.f('ix_category_organisation_id'), table_name='category')
    op.drop_table('category')
    op.drop_table('agence')
    op.drop_table('organisation')
    op.drop_table('federation')
    op.drop_table('family')
