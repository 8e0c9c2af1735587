"""The records: declarative models for every table.

Statuses and kinds are plain strings (the tuples below list them) rather than database enums, so
adding a step kind or a channel never needs a type migration.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

from backend.addresses import Address

# Stable constraint names, so later migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))

RESIDENT_ROLES = ("owner", "tenant", "family")
STAFF_ROLES = ("technician", "supervisor", "customer_service")
SKILLS = ("水电", "电梯", "土建/门窗", "综合")
TICKET_KINDS = ("repair", "complaint", "paid_service")
TICKET_STATUSES = ("new", "dispatched", "accepted", "on_site", "done", "closed", "cancelled")
OPEN_TICKET_STATUSES = ("new", "dispatched", "accepted", "on_site")
URGENCY_LEVELS = ("urgent", "normal")
INBOUND_STATUSES = ("pending", "processing", "answered", "failed")
OUTBOUND_CHANNELS = ("passive", "custom", "template", "local")
OUTBOUND_STATUSES = ("queued", "sent", "failed", "local")
HANDOFF_STATUSES = ("open", "closed")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware_now(now: datetime | None = None) -> datetime:
    """`now` if given (it must carry a timezone), else the current UTC time."""
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return now


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zones: we store naive UTC text there (which still sorts correctly) and
    put the UTC zone back on read. A naive datetime from the caller is refused, because we could
    only guess whether it meant UTC or Beijing time.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC or +08:00)")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class ExactNumeric(TypeDecorator):
    """Numeric that reads back as Decimal on every backend.

    SQLite keeps NUMERIC as a float; at a fixed scale (two decimals for a floor area) the round
    trip is exact once quantized, so we quantize here instead of letting SQLAlchemy warn.
    """

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            as_float = Numeric(self.impl.precision, self.impl.scale, asdecimal=False)
            return dialect.type_descriptor(as_float)
        return dialect.type_descriptor(self.impl)

    def _quantize(self, value) -> Decimal:
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-(self.impl.scale or 0)))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = self._quantize(value)
        return float(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        return None if value is None else self._quantize(value)


class Community(Base):
    __tablename__ = "communities"
    __table_args__ = (CheckConstraint("service_grade BETWEEN 1 AND 3", name="service_grade"),)

    id = Column(Integer, primary_key=True)
    code = Column(String(32), nullable=False, unique=True)
    name = Column(String(100), nullable=False)
    service_grade = Column(Integer, nullable=False, default=2)
    hotline = Column(String(32), nullable=False, default="")
    desk_hours = Column(String(32), nullable=False, default="")
    address = Column(String(200), nullable=False, default="")

    buildings = relationship("Building", back_populates="community", order_by="Building.id")


class Building(Base):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("community_id", "code"),)

    id = Column(Integer, primary_key=True)
    community_id = Column(Integer, ForeignKey("communities.id"), nullable=False)
    code = Column(String(16), nullable=False)  # normalised: "3", "12", "A5"
    name = Column(String(50), nullable=False, default="")

    community = relationship("Community", back_populates="buildings")
    houses = relationship("House", back_populates="building")


class House(Base):
    __tablename__ = "houses"
    id = Column(Integer, primary_key=True)
    building_id = Column(Integer, ForeignKey("buildings.id"), nullable=False)
    unit = Column(String(8))
    room = Column(String(16), nullable=False)
    floor_area = Column(ExactNumeric(10, 2))

    building = relationship("Building", back_populates="houses")
    residents = relationship("Resident", back_populates="house")

    @property
    def address(self) -> Address:
        return Address(self.building.code, self.unit, self.room)

    @property
    def label(self) -> str:
        return self.address.label


# unit is NULL in single-unit buildings and NULLs never collide in a plain UNIQUE constraint
# (SQLite, PostgreSQL < 15), so (building, unit, room) is made unique on coalesce(unit, '').
Index(
    "uq_houses_building_unit_room",
    House.building_id,
    func.coalesce(House.unit, ""),
    House.room,
    unique=True,
)


class Resident(Base):
    __tablename__ = "residents"

    id = Column(Integer, primary_key=True)
    house_id = Column(Integer, ForeignKey("houses.id"), nullable=False, index=True)
    name = Column(String(50), nullable=False)
    phone = Column(String(32), nullable=False, default="", index=True)
    role = Column(String(16), nullable=False, default="owner")

    house = relationship("House", back_populates="residents")


class WechatUser(Base):
    __tablename__ = "wechat_users"

    openid = Column(String(64), primary_key=True)
    first_seen_at = Column(UTCDateTime, nullable=False, default=utcnow)
    # WeChat lets us send customer-service messages only within 48 h of the owner's last message.
    last_inbound_at = Column(UTCDateTime)
    subscribed = Column(Boolean, nullable=False, default=True)


class WechatBinding(Base):
    __tablename__ = "wechat_bindings"
    __table_args__ = (UniqueConstraint("openid", "house_id"),)

    id = Column(Integer, primary_key=True)
    openid = Column(String(64), nullable=False, index=True)
    house_id = Column(Integer, ForeignKey("houses.id"), nullable=False)
    resident_id = Column(Integer, ForeignKey("residents.id"))
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    is_current = Column(Boolean, nullable=False, default=True)

    house = relationship("House")
    resident = relationship("Resident")


class Staff(Base):
    __tablename__ = "staff"

    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False)
    phone = Column(String(32), nullable=False, default="")
    role = Column(String(32), nullable=False, default="technician")
    skills = Column(Text, nullable=False, default="")  # comma-separated, from SKILLS
    openid = Column(String(64), unique=True)
    active = Column(Boolean, nullable=False, default=True)

    @property
    def skill_list(self) -> list[str]:
        return [s.strip() for s in (self.skills or "").split(",") if s.strip()]


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_openid_created_at", "openid", "created_at"),
        Index("ix_tickets_status", "status"),
    )

    id = Column(Integer, primary_key=True)
    number = Column(String(32), nullable=False, unique=True)
    kind = Column(String(16), nullable=False, default="repair")
    openid = Column(String(64), nullable=False)
    community_id = Column(Integer, ForeignKey("communities.id"))
    house_id = Column(Integer, ForeignKey("houses.id"))
    building_code = Column(String(16))
    unit = Column(String(8))
    room = Column(String(16))
    place = Column(String(32))  # shared area (楼道) or room in the home (厨房)
    location_label = Column(String(100), nullable=False, default="")
    facility = Column(String(50))
    description = Column(Text, nullable=False, default="")
    urgency = Column(String(16), nullable=False, default="normal")
    urgency_reason = Column(String(100))
    preferred_time_label = Column(String(100))
    due_at = Column(UTCDateTime)
    contact_phone = Column(String(32), nullable=False, default="")
    status = Column(String(16), nullable=False, default="new")
    # Ties a ticket to what caused it (a conversation turn, an import row), so a retry of the
    # same turn returns the same ticket instead of a second one.
    source_key = Column(String(128), unique=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)

    community = relationship("Community")
    house = relationship("House")
    steps = relationship(
        "TicketStep", back_populates="ticket", order_by=lambda: (TicketStep.at, TicketStep.id)
    )
    photos = relationship("TicketPhoto", back_populates="ticket", order_by="TicketPhoto.id")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TICKET_STATUSES


class TicketCounter(Base):
    """Last sequence number handed out per prefix and Beijing day (BX261123 → 1, 2, 3...)."""

    __tablename__ = "ticket_counters"

    prefix = Column(String(8), primary_key=True)
    day = Column(Date, primary_key=True)
    last_seq = Column(Integer, nullable=False, default=0)


class TicketStep(Base):
    __tablename__ = "ticket_steps"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id"), nullable=False, index=True)
    kind = Column(String(32), nullable=False)
    actor = Column(String(100), nullable=False)  # "owner:<openid>", "staff:<id>", "system"
    note = Column(Text)
    at = Column(UTCDateTime, nullable=False, default=utcnow)

    ticket = relationship("Ticket", back_populates="steps")


class TicketPhoto(Base):
    __tablename__ = "ticket_photos"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id"), nullable=False, index=True)
    url = Column(Text, nullable=False)
    media_id = Column(String(128))
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    ticket = relationship("Ticket", back_populates="photos")


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    __table_args__ = (
        Index("ix_inbound_messages_status_received_at", "status", "received_at"),
        Index("ix_inbound_messages_openid_received_at", "openid", "received_at"),
    )

    id = Column(Integer, primary_key=True)
    dedupe_key = Column(String(128), nullable=False, unique=True)
    openid = Column(String(64), nullable=False)
    msg_type = Column(String(32), nullable=False)
    text = Column(Text, nullable=False, default="")  # what was sent on to the assistant
    payload = Column(Text, nullable=False, default="{}")  # JSON object
    received_at = Column(UTCDateTime, nullable=False, default=utcnow)
    status = Column(String(16), nullable=False, default="pending")
    attempts = Column(Integer, nullable=False, default=0)
    claimed_at = Column(UTCDateTime)  # when it last went to "processing"; finds dead turns
    answered_at = Column(UTCDateTime)
    reply = Column(Text)  # JSON list of reply strings
    last_error = Column(Text)

    @property
    def payload_data(self) -> dict:
        return json.loads(self.payload or "{}")

    @property
    def replies(self) -> list[str]:
        return json.loads(self.reply) if self.reply else []


class OutboundMessage(Base):
    __tablename__ = "outbound_messages"

    id = Column(Integer, primary_key=True)
    openid = Column(String(64), nullable=False, index=True)
    channel = Column(String(16), nullable=False)
    content = Column(Text, nullable=False)
    status = Column(String(16), nullable=False, default="queued")
    errcode = Column(Integer)
    inbound_id = Column(Integer, ForeignKey("inbound_messages.id"), index=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    sent_at = Column(UTCDateTime)


class HumanHandoff(Base):
    __tablename__ = "human_handoffs"

    id = Column(Integer, primary_key=True)
    openid = Column(String(64), nullable=False, index=True)
    text = Column(Text, nullable=False, default="")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    status = Column(String(16), nullable=False, default="open")



# --- the staff console (issue 6): its users and the audit log ----------------------------------
CONSOLE_ROLES = ("admin", "supervisor", "customer_service", "technician")


class ConsoleUser(Base):
    """Someone who logs in to the staff console. Optionally the Staff record they are."""

    __tablename__ = "console_users"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(50), nullable=False, default="")
    password_hash = Column(String(255), nullable=False)  # werkzeug.security, never the password
    role = Column(String(32), nullable=False)
    staff_id = Column(Integer, ForeignKey("staff.id"))
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_login_at = Column(UTCDateTime)

    staff = relationship("Staff")


class AuditLog(Base):
    """Who changed what from the console: one row per data-changing request."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    user_id = Column(Integer, ForeignKey("console_users.id"))
    username = Column(String(64), nullable=False)  # kept as typed, even for failed logins
    action = Column(String(64), nullable=False)
    target_type = Column(String(32))
    target_id = Column(String(64))
    detail = Column(Text, nullable=False, default="{}")  # JSON object
    ip = Column(String(64))

    @property
    def detail_data(self) -> dict:
        return json.loads(self.detail or "{}")
