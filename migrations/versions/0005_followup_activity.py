"""Follow-up actions, complaint details, meetings and interventions (issue: follow-up and syntheses).

- followup_action: a fact's actions with partners (date, kind, partner, note).
- report_complaint: one row per fact: main courante or plainte, by whom, reference,
  date, procès-verbal of a sworn agent.
- meeting (+ meeting_organisation, meeting_residence) and partner_intervention
  (+ intervention_report): the activity log of an organisation or of a federation
  (exactly one owner, a check constraint).
- synthesis: one row per generated daily synthesis and perimeter (``perimeter_key``
  and day unique), counted by the bilan d'activité.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PARTNERS = (
    "police_nationale", "gendarmerie", "police_municipale", "prefecture", "parquet",
    "mairie", "autre_bailleur",
)  # fmt: skip


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade():
    op.create_table(
        "synthesis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("perimeter_key", sa.String(length=40), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("agence_id", sa.Integer(), nullable=True),
        sa.Column("federation_id", sa.Integer(), nullable=True),
        sa.Column("notable_count", sa.Integer(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recipients_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["agence_id"], ["agence.id"], name=op.f("fk_synthesis_agence_id_agence")),
        sa.ForeignKeyConstraint(["federation_id"], ["federation.id"], name=op.f("fk_synthesis_federation_id_federation")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"], name=op.f("fk_synthesis_organisation_id_organisation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_synthesis")),
        sa.UniqueConstraint("perimeter_key", "day", name=op.f("uq_synthesis_perimeter_key_day")),
    )
    op.create_index(op.f("ix_synthesis_federation_id"), "synthesis", ["federation_id"])
    op.create_index(op.f("ix_synthesis_organisation_id"), "synthesis", ["organisation_id"])

    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("federation_id", sa.Integer(), nullable=True),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column(
            "kind",
            _enum(
                "meetingkind", "politique_ville", "securite", "clspd", "gpo",
                "videoprotection", "squats", "autre",
            ),
            nullable=False,
        ),  # fmt: skip
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("partners", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(organisation_id IS NULL) <> (federation_id IS NULL)", name=op.f("ck_meeting_one_owner")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"], name=op.f("fk_meeting_created_by_id_user_account")),
        sa.ForeignKeyConstraint(["federation_id"], ["federation.id"], name=op.f("fk_meeting_federation_id_federation")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"], name=op.f("fk_meeting_organisation_id_organisation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting")),
    )
    op.create_index("ix_meeting_fed_held", "meeting", ["federation_id", "held_on"])
    op.create_index("ix_meeting_org_held", "meeting", ["organisation_id", "held_on"])

    op.create_table(
        "partner_intervention",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("federation_id", sa.Integer(), nullable=True),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("partner", _enum("partner", *PARTNERS), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("residence_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(organisation_id IS NULL) <> (federation_id IS NULL)", name=op.f("ck_partner_intervention_one_owner")),
        sa.ForeignKeyConstraint(["beneficiary_id"], ["organisation.id"], name=op.f("fk_partner_intervention_beneficiary_id_organisation")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"], name=op.f("fk_partner_intervention_created_by_id_user_account")),
        sa.ForeignKeyConstraint(["federation_id"], ["federation.id"], name=op.f("fk_partner_intervention_federation_id_federation")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"], name=op.f("fk_partner_intervention_organisation_id_organisation")),
        sa.ForeignKeyConstraint(["residence_id"], ["residence.id"], name=op.f("fk_partner_intervention_residence_id_residence")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_intervention")),
    )
    op.create_index(op.f("ix_partner_intervention_beneficiary_id"), "partner_intervention", ["beneficiary_id"])
    op.create_index("ix_partner_intervention_fed_done", "partner_intervention", ["federation_id", "done_on"])
    op.create_index("ix_partner_intervention_org_done", "partner_intervention", ["organisation_id", "done_on"])

    op.create_table(
        "meeting_organisation",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], name=op.f("fk_meeting_organisation_meeting_id_meeting"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"], name=op.f("fk_meeting_organisation_organisation_id_organisation"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("meeting_id", "organisation_id", name=op.f("pk_meeting_organisation")),
    )
    op.create_table(
        "meeting_residence",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("residence_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], name=op.f("fk_meeting_residence_meeting_id_meeting"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["residence_id"], ["residence.id"], name=op.f("fk_meeting_residence_residence_id_residence"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("meeting_id", "residence_id", name=op.f("pk_meeting_residence")),
    )

    op.create_table(
        "followup_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column(
            "kind",
            _enum(
                "actionkind", "signalement", "demande_intervention",
                "plainte_accompagnee", "reponse_recue", "instance", "autre",
            ),
            nullable=False,
        ),  # fmt: skip
        sa.Column("partner", _enum("partner", *PARTNERS), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["user_account.id"], name=op.f("fk_followup_action_author_id_user_account")),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"], name=op.f("fk_followup_action_report_id_report")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_action")),
    )
    op.create_index("ix_followup_action_report_done", "followup_action", ["report_id", "done_on"])

    op.create_table(
        "intervention_report",
        sa.Column("intervention_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["intervention_id"], ["partner_intervention.id"], name=op.f("fk_intervention_report_intervention_id_partner_intervention"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"], name=op.f("fk_intervention_report_report_id_report"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("intervention_id", "report_id", name=op.f("pk_intervention_report")),
    )
    op.create_index(
        op.f("ix_intervention_report_report_id"), "intervention_report", ["report_id"]
    )
    op.create_table(
        "report_complaint",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("complaintkind", "main_courante", "plainte"), nullable=False),
        sa.Column("filed_by", _enum("complaintfiler", "bailleur", "victime"), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("sworn_agent_pv", sa.Boolean(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"], name=op.f("fk_report_complaint_report_id_report")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["user_account.id"], name=op.f("fk_report_complaint_updated_by_id_user_account")),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_report_complaint")),
    )


def downgrade():
    op.drop_table("report_complaint")
    op.drop_table("intervention_report")
    op.drop_index("ix_followup_action_report_done", table_name="followup_action")
    op.drop_table("followup_action")
    op.drop_table("meeting_residence")
    op.drop_table("meeting_organisation")
    op.drop_index("ix_partner_intervention_org_done", table_name="partner_intervention")
    op.drop_index("ix_partner_intervention_fed_done", table_name="partner_intervention")
    op.drop_index(op.f("ix_partner_intervention_beneficiary_id"), table_name="partner_intervention")
    op.drop_table("partner_intervention")
    op.drop_index("ix_meeting_org_held", table_name="meeting")
    op.drop_index("ix_meeting_fed_held", table_name="meeting")
    op.drop_table("meeting")
    op.drop_index(op.f("ix_synthesis_organisation_id"), table_name="synthesis")
    op.drop_index(op.f("ix_synthesis_federation_id"), table_name="synthesis")
    op.drop_table("synthesis")
