"""front desk: how a ticket came in (channel), the community's desk hours and 24-hour line,
fee items beyond the monthly property fee (their unit and a note), the time the utility told
us of an outage

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # wechat | phone | walk_in | patrol (巡查发现); every ticket so far came through WeChat.
    op.add_column("tickets", sa.Column("channel", sa.String(16), nullable=False, server_default="wechat"))
    # Desk staffed hours a day (24/12/8 by grade); the 24-hour line is 0009's hotline_24h / duty_phone.
    op.add_column("communities", sa.Column("desk_hours_per_day", sa.Integer(), nullable=True))
    # 月 (monthly, the old meaning), 小时, 次, 年, 一次性; and what owners should know about it.
    op.add_column("fee_standards", sa.Column("period_unit", sa.String(8), nullable=False, server_default="月"))
    op.add_column("fee_standards", sa.Column("note", sa.Text(), nullable=False, server_default=""))
    op.add_column("outages", sa.Column("utility_notified_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outages") as batch:
        batch.drop_column("utility_notified_at")
    with op.batch_alter_table("fee_standards") as batch:
        batch.drop_column("note")
        batch.drop_column("period_unit")
    with op.batch_alter_table("communities") as batch:
        batch.drop_column("desk_hours_per_day")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("channel")
