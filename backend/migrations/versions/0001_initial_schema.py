"""initial schema: estate, owners, staff, tickets, inbox and outbox

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Written by hand from the models (autogenerate output, regrouped). Timestamps are
DateTime(timezone=True): timestamptz on PostgreSQL; on SQLite the application's UTCDateTime
type stores UTC and reads it back as aware datetimes.
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), nullable=False)


def upgrade() -> None:
    # --- the estate: communities, buildings, houses, residents ---------------------------
    op.create_table(
        "communities",
        _id(),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("service_grade", sa.Integer(), nullable=False),
        sa.Column("hotline", sa.String(32), nullable=False),
        sa.Column("desk_hours", sa.String(32), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.CheckConstraint(
            "service_grade BETWEEN 1 AND 3", name=op.f("ck_communities_service_grade")
        ),
        sa.PrimaryKeyConstraint("id", name="pk_communities"),
        sa.UniqueConstraint("code", name="uq_communities_code"),
    )
    op.create_table(
        "buildings",
        _id(),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name="fk_buildings_community_id_communities"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_buildings"),
        sa.UniqueConstraint("community_id", "code", name="uq_buildings_community_id_code"),
    )
    op.create_table(
        "houses",
        _id(),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(8), nullable=True),
        sa.Column("room", sa.String(16), nullable=False),
        sa.Column("floor_area", sa.Numeric(10, 2), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name="fk_houses_building_id_buildings"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_houses"),
    )
    # unit is NULL in single-unit buildings; NULLs never collide in a UNIQUE constraint.
    op.create_index(
        "uq_houses_building_unit_room",
        "houses",
        ["building_id", sa.text("coalesce(unit, '')"), "room"],
        unique=True,
    )
    op.create_table(
        "residents",
        _id(),
        sa.Column("house_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["house_id"], ["houses.id"], name="fk_residents_house_id_houses"),
        sa.PrimaryKeyConstraint("id", name="pk_residents"),
    )
    op.create_index("ix_residents_house_id", "residents", ["house_id"])
    op.create_index("ix_residents_phone", "residents", ["phone"])

    # --- WeChat users and their bindings to houses -------------------------------------
    op.create_table(
        "wechat_users",
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column("first_seen_at", TIMESTAMP, nullable=False),
        sa.Column("last_inbound_at", TIMESTAMP, nullable=True),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("openid", name="pk_wechat_users"),
    )
    op.create_table(
        "wechat_bindings",
        _id(),
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column("house_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["house_id"], ["houses.id"], name="fk_wechat_bindings_house_id_houses"
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name="fk_wechat_bindings_resident_id_residents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_wechat_bindings"),
        sa.UniqueConstraint("openid", "house_id", name="uq_wechat_bindings_openid_house_id"),
    )
    op.create_index("ix_wechat_bindings_openid", "wechat_bindings", ["openid"])

    # --- staff -------------------------------------------------------------------------
    op.create_table(
        "staff",
        _id(),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("skills", sa.Text(), nullable=False),
        sa.Column("openid", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staff"),
        sa.UniqueConstraint("openid", name="uq_staff_openid"),
    )

    # --- tickets, their steps and photos, and the daily number counters -----------------
    op.create_table(
        "tickets",
        _id(),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("house_id", sa.Integer(), nullable=True),
        sa.Column("building_code", sa.String(16), nullable=True),
        sa.Column("unit", sa.String(8), nullable=True),
        sa.Column("room", sa.String(16), nullable=True),
        sa.Column("place", sa.String(32), nullable=True),
        sa.Column("location_label", sa.String(100), nullable=False),
        sa.Column("facility", sa.String(50), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("urgency_reason", sa.String(100), nullable=True),
        sa.Column("preferred_time_label", sa.String(100), nullable=True),
        sa.Column("due_at", TIMESTAMP, nullable=True),
        sa.Column("contact_phone", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source_key", sa.String(128), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name="fk_tickets_community_id_communities"
        ),
        sa.ForeignKeyConstraint(["house_id"], ["houses.id"], name="fk_tickets_house_id_houses"),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
        sa.UniqueConstraint("number", name="uq_tickets_number"),
        sa.UniqueConstraint("source_key", name="uq_tickets_source_key"),
    )
    op.create_index("ix_tickets_openid_created_at", "tickets", ["openid", "created_at"])
    op.create_index("ix_tickets_status", "tickets", ["status"])
    op.create_table(
        "ticket_steps",
        _id(),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_ticket_steps_ticket_id_tickets"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_steps"),
    )
    op.create_index("ix_ticket_steps_ticket_id", "ticket_steps", ["ticket_id"])
    op.create_table(
        "ticket_photos",
        _id(),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("media_id", sa.String(128), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_ticket_photos_ticket_id_tickets"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_photos"),
    )
    op.create_index("ix_ticket_photos_ticket_id", "ticket_photos", ["ticket_id"])
    op.create_table(
        "ticket_counters",
        sa.Column("prefix", sa.String(8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", "day", name="pk_ticket_counters"),
    )

    # --- messages in and out, and hand-offs to a human -----------------------------------
    op.create_table(
        "inbound_messages",
        _id(),
        sa.Column("dedupe_key", sa.String(128), nullable=False),
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column("msg_type", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", TIMESTAMP, nullable=True),
        sa.Column("answered_at", TIMESTAMP, nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_messages"),
        sa.UniqueConstraint("dedupe_key", name="uq_inbound_messages_dedupe_key"),
    )
    op.create_index(
        "ix_inbound_messages_status_received_at", "inbound_messages", ["status", "received_at"]
    )
    op.create_index(
        "ix_inbound_messages_openid_received_at", "inbound_messages", ["openid", "received_at"]
    )
    op.create_table(
        "outbound_messages",
        _id(),
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("inbound_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbound_messages.id"],
            name="fk_outbound_messages_inbound_id_inbound_messages",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbound_messages"),
    )
    op.create_index("ix_outbound_messages_openid", "outbound_messages", ["openid"])
    op.create_index("ix_outbound_messages_inbound_id", "outbound_messages", ["inbound_id"])
    op.create_table(
        "human_handoffs",
        _id(),
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_human_handoffs"),
    )
    op.create_index("ix_human_handoffs_openid", "human_handoffs", ["openid"])


def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes.
    for table in (
        "human_handoffs",
        "outbound_messages",
        "inbound_messages",
        "ticket_counters",
        "ticket_photos",
        "ticket_steps",
        "tickets",
        "staff",
        "wechat_bindings",
        "wechat_users",
        "residents",
        "houses",
        "buildings",
        "communities",
    ):
        op.drop_table(table)
