"""owners' own data: contacts, fee standards, bills, payments, disclosures, notices, paid
services, binding requests

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Written by hand from the models (issue 4 block at the end of backend/models.py). Money is
Numeric with two decimals (unit prices four); scopes "whole community" are building_code "".
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), nullable=False)


def _community(table: str) -> list:
    return [
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=f"fk_{table}_community_id_communities"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "contacts",
        _id(),
        *_community("contacts"),
        sa.Column("building_code", sa.String(16), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("hours", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contacts"),
        sa.UniqueConstraint(
            "community_id", "building_code", "role",
            name="uq_contacts_community_id_building_code_role",
        ),
    )
    op.create_table(
        "fee_standards",
        _id(),
        *_community("fee_standards"),
        sa.Column("item", sa.String(32), nullable=False),
        sa.Column("building_code", sa.String(16), nullable=False),
        sa.Column("unit_price", sa.Numeric(12, 4), nullable=False),
        sa.Column("per_area", sa.Boolean(), nullable=False),
        sa.Column("pay_methods", sa.Text(), nullable=False),
        sa.Column("late_fee_rule", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_fee_standards"),
        sa.UniqueConstraint(
            "community_id", "item", "building_code",
            name="uq_fee_standards_community_id_item_building_code",
        ),
    )
    op.create_table(
        "fee_bills",
        _id(),
        sa.Column("house_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(32), nullable=False),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["house_id"], ["houses.id"], name="fk_fee_bills_house_id_houses"),
        sa.PrimaryKeyConstraint("id", name="pk_fee_bills"),
        sa.UniqueConstraint("house_id", "item", "period", name="uq_fee_bills_house_id_item_period"),
    )
    op.create_table(
        "fee_payments",
        _id(),
        *_community("fee_payments"),
        sa.Column("receipt_no", sa.String(64), nullable=False),
        sa.Column("bill_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["fee_bills.id"], name="fk_fee_payments_bill_id_fee_bills"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_fee_payments"),
        sa.UniqueConstraint(
            "community_id", "receipt_no", name="uq_fee_payments_community_id_receipt_no"
        ),
    )
    op.create_index("ix_fee_payments_bill_id", "fee_payments", ["bill_id"])
    op.create_table(
        "fee_disclosures",
        _id(),
        *_community("fee_disclosures"),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fee_disclosures"),
        sa.UniqueConstraint(
            "community_id", "period", name="uq_fee_disclosures_community_id_period"
        ),
    )
    op.create_table(
        "notices",
        _id(),
        *_community("notices"),
        sa.Column("building_code", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
        sa.UniqueConstraint(
            "community_id", "published_on", "title",
            name="uq_notices_community_id_published_on_title",
        ),
    )
    op.create_index(
        "ix_notices_community_id_published_on", "notices", ["community_id", "published_on"]
    )
    op.create_table(
        "paid_services",
        _id(),
        *_community("paid_services"),
        sa.Column("item", sa.String(50), nullable=False),
        sa.Column("price", sa.Numeric(12, 2), nullable=True),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_paid_services"),
        sa.UniqueConstraint("community_id", "item", name="uq_paid_services_community_id_item"),
    )
    op.create_table(
        "binding_requests",
        _id(),
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column("house_id", sa.Integer(), nullable=True),
        sa.Column("address_text", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["house_id"], ["houses.id"], name="fk_binding_requests_house_id_houses"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_binding_requests"),
    )
    op.create_index(
        "ix_binding_requests_openid_created_at", "binding_requests", ["openid", "created_at"]
    )


def downgrade() -> None:
    for table in (
        "binding_requests",
        "paid_services",
        "notices",
        "fee_disclosures",
        "fee_payments",
        "fee_bills",
        "fee_standards",
        "contacts",
    ):
        op.drop_table(table)
