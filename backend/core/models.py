"""The records: declarative models for every table.

Statuses and kinds are plain strings (the tuples below list them) rather than database enums, so
adding a step kind or a channel never needs a type migration.
"""

from __future__ import annotations

import json
from datetime import timezone
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
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import declarative_base, deferred, relationship
from sqlalchemy.types import TypeDecorator

from backend.core import clock
from backend.core.statuses import OPEN_STATUSES, AssignmentStatus, OutageStatus, TicketStatus
from backend.text.addresses import Address

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
TICKET_KINDS = ("repair", "complaint", "paid_service", "suggestion")
# Answered by customer service within 2 hours and closed with a result: complaints (投诉) and
# owners' suggestions (意见/建议), which are recorded and counted apart from complaints.
ANSWERED_KINDS = ("complaint", "suggestion")
# How a ticket came in: the owner's WeChat, or taken by the desk (电话, 上门) or found on a patrol.
TICKET_CHANNELS = {"wechat": "微信", "phone": "电话", "walk_in": "上门", "patrol": "巡查发现"}
TICKET_STATUSES = tuple(s.value for s in TicketStatus)
OPEN_TICKET_STATUSES = tuple(s.value for s in OPEN_STATUSES)
URGENCY_LEVELS = ("urgent", "normal")
INBOUND_STATUSES = ("pending", "processing", "answered", "failed")
OUTBOUND_CHANNELS = ("passive", "custom", "template", "local")
# "sending": claimed by a worker, the API call under way. "unknown": the worker died during the
# call, so WeChat may or may not have it; it is not sent again (see backend/messaging/delivery.py).
OUTBOUND_STATUSES = ("queued", "sending", "sent", "failed", "local", "unknown")
ASSIGNMENT_STATUSES = tuple(s.value for s in AssignmentStatus)
OUTAGE_KINDS = {"water": "停水", "power": "停电", "gas": "停气", "hot_water": "停热水"}
OUTAGE_STATUSES = tuple(s.value for s in OutageStatus)
HANDOFF_STATUSES = ("open", "closed")


utcnow = clock.utcnow  # column defaults: the time a record is written, in UTC


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
    # Hours a day the service desk is staffed (the standard: 24/12/8 by grade); None: read from
    # desk_hours ("8:00-20:00") when it can be.
    desk_hours_per_day = Column(Integer)
    # The hotline is staffed around the clock; otherwise duty_phone (值班/监控室) is the number
    # that is, and the desk's hours are said with the hotline.
    hotline_24h = Column(Boolean, nullable=False, default=False, server_default=false())
    duty_phone = Column(String(32), nullable=False, default="", server_default="")

    @property
    def has_24h_line(self) -> bool:
        """A number owners can call around the clock is published: the hotline itself, or a duty
        (monitoring room) number beside it."""
        return bool((self.hotline and self.hotline_24h) or self.duty_phone)

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
    # None: works in every community of the deployment.
    community_id = Column(Integer, ForeignKey("communities.id"))
    # One-time binding code (sha256 of it), sent by the staff member to the account.
    bind_code_hash = Column(String(64), unique=True)
    bind_code_expires_at = Column(UTCDateTime)

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
    assignee_id = Column(Integer, ForeignKey("staff.id"), index=True)
    skill = Column(String(16))  # the trade dispatch looked for (水电, 电梯, ...)
    # Ties a ticket to what caused it (a conversation turn, an import row), so a retry of the
    # same turn returns the same ticket instead of a second one.
    source_key = Column(String(128), unique=True)
    channel = Column(String(16), nullable=False, default="wechat", server_default="wechat")  # TICKET_CHANNELS
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)

    community = relationship("Community")
    house = relationship("House")
    assignee = relationship("Staff")
    steps = relationship("TicketStep", back_populates="ticket", order_by=lambda: (TicketStep.at, TicketStep.id))
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
        # An owner's unanswered messages, looked up on every message: not a scan of their history.
        Index("ix_inbound_messages_openid_status", "openid", "status"),
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
    status = Column(String(16), nullable=False, default="queued", index=True)
    errcode = Column(Integer)
    inbound_id = Column(Integer, ForeignKey("inbound_messages.id"), index=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    sent_at = Column(UTCDateTime)
    # Template messages: {"template_id", "data", "url"}. A customer-service text may carry the
    # template it falls back to when WeChat refuses it (45015 window closed, 45047 count used).
    template = Column(Text)
    purpose = Column(
        String(32), nullable=False, default="reply", server_default="reply"
    )  # reply | task | progress | notice
    ticket_id = Column(Integer, ForeignKey("tickets.id"), index=True)
    # Makes "tell X about event E" happen once however often the job that decides it runs.
    dedupe_key = Column(String(128), unique=True)
    fallback_of = Column(Integer, ForeignKey("outbound_messages.id"))
    # A broadcast this message belongs to, e.g. "outage:12:notice": counts and resumes by it.
    campaign = Column(String(64), index=True)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime)
    claimed_at = Column(UTCDateTime)
    last_error = Column(Text)

    @property
    def template_payload(self) -> dict | None:
        return json.loads(self.template) if self.template else None


class HumanHandoff(Base):
    __tablename__ = "human_handoffs"

    id = Column(Integer, primary_key=True)
    openid = Column(String(64), nullable=False, index=True)
    text = Column(Text, nullable=False, default="")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    status = Column(String(16), nullable=False, default="open")


class DutyShift(Base):
    """Who is on duty when: dispatch only offers new work to staff on a shift covering now."""

    __tablename__ = "duty_shifts"
    __table_args__ = (Index("ix_duty_shifts_window", "starts_at", "ends_at"),)

    id = Column(Integer, primary_key=True)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False, index=True)
    starts_at = Column(UTCDateTime, nullable=False)
    ends_at = Column(UTCDateTime, nullable=False)

    staff = relationship("Staff")


class TicketAssignment(Base):
    """One offer of a ticket to one staff member, and what became of it."""

    __tablename__ = "ticket_assignments"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id"), nullable=False, index=True)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False, index=True)
    status = Column(String(16), nullable=False, default="pending")
    assigned_at = Column(UTCDateTime, nullable=False, default=utcnow)
    # No 接单 by then: offered to the next person and the supervisor is told. None: no timer.
    ack_due_at = Column(UTCDateTime, index=True)
    acked_at = Column(UTCDateTime)
    reason = Column(Text)  # why it was assigned or ended (转单 reason, timeout, ...)

    ticket = relationship("Ticket")
    staff = relationship("Staff")


class Outage(Base):
    """A water, power, gas or hot-water cut in some buildings of a community, and its notices.

    `version` grows with every change staff make; each version's notice goes to the people who
    got the first one (and any newly affected), once."""

    __tablename__ = "outages"
    __table_args__ = (Index("ix_outages_community_window", "community_id", "starts_at", "ends_at"),)

    id = Column(Integer, primary_key=True)
    community_id = Column(Integer, ForeignKey("communities.id"), nullable=False)
    kind = Column(String(16), nullable=False)  # OUTAGE_KINDS
    planned = Column(Boolean, nullable=False, default=True)
    buildings = Column(Text)  # JSON list of building codes; NULL: the whole community
    starts_at = Column(UTCDateTime, nullable=False)
    ends_at = Column(UTCDateTime, nullable=False)  # expected end
    reason = Column(Text, nullable=False, default="")
    prepare = Column(Text, nullable=False, default="")  # what owners should do beforehand
    status = Column(String(16), nullable=False, default="scheduled")
    version = Column(Integer, nullable=False, default=1)
    note = Column(Text)  # the latest change, in words (延长到18点, 提前恢复...)
    created_by = Column(String(100), nullable=False, default="")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)
    restored_at = Column(UTCDateTime)
    cancelled_at = Column(UTCDateTime)
    # When the water/power company told us (停水停电及时通知: how soon owners heard after this).
    utility_notified_at = Column(UTCDateTime)

    community = relationship("Community")

    @property
    def building_codes(self) -> list[str] | None:
        return json.loads(self.buildings) if self.buildings else None


# --- issue 4: owners' own data (fees, notices, contacts, paid services, binding requests) ------
# Natural keys are unique constraints, so an import can upsert and a re-import changes nothing.
# A scope "whole community" is building_code "" rather than NULL: NULLs never collide in UNIQUE.

BINDING_REQUEST_STATUSES = ("open", "approved", "rejected")


class Contact(Base):
    """A person owners can reach: the building steward (管家), the security room, ..."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("community_id", "building_code", "role"),)

    id = Column(Integer, primary_key=True)
    community_id = Column(Integer, ForeignKey("communities.id"), nullable=False)
    building_code = Column(String(16), nullable=False, default="")  # "" = whole community
    role = Column(String(32), nullable=False, default="管家")
    name = Column(String(50), nullable=False)
    phone = Column(String(32), nullable=False, default="")
    hours = Column(String(64), nullable=False, default="")


class FeeStandard(Base):
    """A published charge: 物业费 2.80 元/m²/月 (by floor area) or 车位管理费 80 元/月 (fixed)."""

    __tablename__ = "fee_standards"
    __table_args__ = (UniqueConstraint("community_id", "item", "building_code"),)

    id = Column(Integer, primary_key=True)
    community_id = Column(Integer, ForeignKey("communities.id"), nullable=False)
    item = Column(String(32), nullable=False)  # 物业费, 车位管理费, 公摊水电...
    building_code = Column(String(16), nullable=False, default="")  # "" = whole community
    unit_price = Column(ExactNumeric(12, 4), nullable=False)
    per_area = Column(Boolean, nullable=False, default=True)  # price per m² of floor area
    pay_methods = Column(Text, nullable=False, default="")
    late_fee_rule = Column(Text, nullable=False, default="")
    effective_from = Column(Date)
    # 月 (a monthly charge, the default), 小时 (临时停车), 次, 年, 一次性 (装修保证金).
    period_unit = Column(String(8), nullable=False, default="月", server_default="月")
    note = Column(Text, nullable=False, default="", server_default="")  # 验收合格后退还, 按表计...


class FeeBill(Base):
    __tablename__ = "fee_bills"
    __table_args__ = (UniqueConstraint("house_id", "item", "period"),)

    id = Column(Integer, primary_key=True)
    house_id = Column(Integer, ForeignKey("houses.id"), nullable=False)
    item = Column(String(32), nullable=False)
    period = Column(String(32), nullable=False)  # as the company names it: 2026年第4季度
    period_start = Column(Date, nullable=False)
    period_end = Column(Date, nullable=False)
    amount = Column(ExactNumeric(12, 2), nullable=False)
    due_date = Column(Date, nullable=False)


class FeePayment(Base):
    __tablename__ = "fee_payments"
    __table_args__ = (UniqueConstraint("community_id", "receipt_no"),)

    id = Column(Integer, primary_key=True)
    community_id = Column(Integer, ForeignKey("communities.id"), nullable=False)
    receipt_no = Column(String(64), nullable=False)
    bill_id = Column(Integer, ForeignKey("fee_bills.id"), nullable=False, index=True)
    amount = Column(ExactNumeric(12, 2), nullable=False)
    paid_on = Column(Date, nullable=False)
    method = Column(String(32), nullable=False, default="")


class FeeDisclosure(Base):
    """收支公示: the published income and spending of the property fees for a period."""

    __tablename__ = "fee_disclosures"
    __table_args__ = (UniqueConstraint("community_id", "period"),)

    id = Column(Integer, primary_key=True)
    community_id = Column(Integer, ForeignKey("communities.id"), nullable=False)
    period = Column(String(32), nullable=False)
    title = Column(String(200), nullable=False)
    url = Column(String(500), nullable=False, default="")
    published_on = Column(Date, nullable=False)


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("community_id", "published_on", "title"),
        Index("ix_notices_community_id_published_on", "community_id", "published_on"),
    )

    id = Column(Integer, primary_key=True)
    community_id = Column(Integer, ForeignKey("communities.id"), nullable=False)
    building_code = Column(String(16), nullable=False, default="")  # "" = whole community
    title = Column(String(200), nullable=False)
    body = Column(Text, nullable=False, default="")
    published_on = Column(Date, nullable=False)
    expires_on = Column(Date)  # shown up to and including this day; NULL = until replaced


class PaidService(Base):
    """The published price list of paid special services (特约服务)."""

    __tablename__ = "paid_services"
    __table_args__ = (UniqueConstraint("community_id", "item"),)

    id = Column(Integer, primary_key=True)
    community_id = Column(Integer, ForeignKey("communities.id"), nullable=False)
    item = Column(String(50), nullable=False)
    price = Column(ExactNumeric(12, 2))  # NULL: 面议 (priced on site)
    unit = Column(String(16), nullable=False, default="次")
    note = Column(String(200), nullable=False, default="")


class BindingRequest(Base):
    """A binding we could not verify (phone not on the house's list, or no such house): the
    service desk checks it and calls the owner back. Never a binding by itself."""

    __tablename__ = "binding_requests"
    __table_args__ = (Index("ix_binding_requests_openid_created_at", "openid", "created_at"),)

    id = Column(Integer, primary_key=True)
    openid = Column(String(64), nullable=False)
    house_id = Column(Integer, ForeignKey("houses.id"))
    address_text = Column(String(100), nullable=False, default="")
    phone = Column(String(32), nullable=False, default="")
    reason = Column(String(32), nullable=False)  # phone_not_listed, no_such_house
    status = Column(String(16), nullable=False, default="open")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    house = relationship("House")


# --- Service standards (issue 7): SLA clocks, complaints, ratings, follow-ups, surveys ---------
# New tables only (migration 0006), so they merge cleanly with the other branches.
SLA_KINDS = ("on_site", "handled", "feedback")
SLA_OUTCOMES = ("met", "missed")
COMPLAINT_CATEGORIES = ("noise", "hygiene", "parking", "security", "staff", "facilities", "neighbours", "other")
FOLLOW_UP_KINDS = ("revisit", "low_score")


class SlaClock(Base):
    """One promise about one ticket, kept in the database so it survives restarts.

    on_site: staff on site (urgent: 30 min; normal: the agreed time). handled: a complaint
    answered and closed within 2 h. feedback: the owner rates within 48 h (reminder at 24 h).
    warn_at: the moment to act before it is missed (escalate, remind); warned_at marks it done.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        UniqueConstraint("ticket_id", "kind"),
        Index("ix_sla_clocks_outcome_due_at", "outcome", "due_at"),
    )

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id"), nullable=False)
    kind = Column(String(16), nullable=False)
    started_at = Column(UTCDateTime, nullable=False)
    due_at = Column(UTCDateTime, nullable=False)
    warn_at = Column(UTCDateTime)
    warned_at = Column(UTCDateTime)
    escalated_at = Column(UTCDateTime)  # acted on at the deadline (missed)
    stopped_at = Column(UTCDateTime)  # when the promised thing happened
    outcome = Column(String(8))  # None while running; met | missed

    ticket = relationship("Ticket")


class Complaint(Base):
    """What a complaint ticket (kind complaint, TS number) adds: its category and its result."""

    __tablename__ = "complaints"

    ticket_id = Column(Integer, ForeignKey("tickets.id"), primary_key=True)
    category = Column(String(16), nullable=False, default="other")
    result = Column(Text)
    handled_at = Column(UTCDateTime)
    handled_by_id = Column(Integer, ForeignKey("staff.id"))
    # The owner said it is not solved after all: not an effective handling (投诉有效处理率).
    reopened_at = Column(UTCDateTime)

    ticket = relationship("Ticket")
    handled_by = relationship("Staff")


class Rating(Base):
    """The owner's score (1-5) of one ticket, from chat or from a staff revisit call."""

    __tablename__ = "ratings"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score"),)

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id"), nullable=False, unique=True)
    openid = Column(String(64), nullable=False, index=True)
    score = Column(Integer, nullable=False)
    comment = Column(Text, nullable=False, default="")
    source = Column(String(16), nullable=False, default="owner")  # owner | revisit
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    ticket = relationship("Ticket")


class FollowUp(Base):
    """Work for staff after a job: a revisit call (回访, no rating in 48 h) or a supervisor's
    follow-up of a low score. Closed with what was found."""

    __tablename__ = "follow_ups"
    __table_args__ = (UniqueConstraint("ticket_id", "kind"),)

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id"), nullable=False)
    kind = Column(String(16), nullable=False)
    staff_id = Column(Integer, ForeignKey("staff.id"))
    opened_at = Column(UTCDateTime, nullable=False)
    result = Column(Text)
    closed_at = Column(UTCDateTime)
    closed_by_id = Column(Integer, ForeignKey("staff.id"))

    ticket = relationship("Ticket")
    staff = relationship("Staff", foreign_keys=[staff_id])


class Survey(Base):
    """The yearly satisfaction survey of one community (满意度调查)."""

    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("community_id", "year"),)

    id = Column(Integer, primary_key=True)
    community_id = Column(Integer, ForeignKey("communities.id"), nullable=False)
    year = Column(Integer, nullable=False)
    started_at = Column(UTCDateTime, nullable=False)
    started_by = Column(String(100), nullable=False, default="")

    community = relationship("Community")


class SurveyInvite(Base):
    """One bound owner asked; `step` is the question waiting for their answer."""

    __tablename__ = "survey_invites"
    __table_args__ = (UniqueConstraint("survey_id", "openid"),)

    id = Column(Integer, primary_key=True)
    survey_id = Column(Integer, ForeignKey("surveys.id"), nullable=False)
    openid = Column(String(64), nullable=False, index=True)
    house_id = Column(Integer, ForeignKey("houses.id"))
    sent_at = Column(UTCDateTime, nullable=False)
    step = Column(Integer, nullable=False, default=0)
    last_answer_at = Column(UTCDateTime)
    finished_at = Column(UTCDateTime)

    survey = relationship("Survey")


class SurveyAnswer(Base):
    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("invite_id", "question"),)

    id = Column(Integer, primary_key=True)
    invite_id = Column(Integer, ForeignKey("survey_invites.id"), nullable=False)
    question = Column(String(32), nullable=False)
    score = Column(Integer)
    text = Column(Text, nullable=False, default="")
    at = Column(UTCDateTime, nullable=False)


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


class ConversationEvent(Base):
    """Every event of the assistant's conversations, in order (Rasa's tracker events, kept as
    JSON). The live state is a short window in Redis; this is the full record."""

    __tablename__ = "conversation_events"
    __table_args__ = (Index("ix_conversation_events_sender_id_id", "sender_id", "id"),)

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(64), nullable=False)
    type_name = Column(String(32), nullable=False)
    timestamp = Column(Numeric(16, 6), nullable=False)  # the event's own time (Unix seconds)
    data = Column(Text, nullable=False)  # the event as JSON


# --- decoration management (issue 17): rules per community, applications, passes, inspections ---
class RenovationRule(Base):
    """A community's decoration rules, imported by staff (kind renovation-rules).

    noisy_hours: when noisy work is allowed on working days, "08:00-12:00,14:00-18:00".
    weekend_hours: the same for Saturdays and Sundays; NULL: as on working days, "": not at all.
    """

    __tablename__ = "renovation_rules"

    id = Column(Integer, primary_key=True)
    community_id = Column(Integer, ForeignKey("communities.id"), nullable=False, unique=True)
    noisy_hours = Column(String(100), nullable=False)
    weekend_hours = Column(String(100))
    deposit = Column(ExactNumeric(12, 2), nullable=False)
    forbidden = Column(Text, nullable=False, default="")  # one item a line
    documents = Column(Text, nullable=False, default="")  # one item a line
    notes = Column(Text, nullable=False, default="")

    community = relationship("Community")


class RenovationHoliday(Base):
    """Days when noisy work follows other hours than the weekly rule, imported by staff (kind
    renovation-holidays): a public holiday (法定节假日, often no noisy work all day) or a 调休
    working day (a weekend day worked in exchange for a holiday).

    noisy_hours: "" no noisy work; "08:00-12:00" those hours; NULL: as on working days.
    """

    __tablename__ = "renovation_holidays"
    __table_args__ = (UniqueConstraint("community_id", "starts_on"),)

    id = Column(Integer, primary_key=True)
    community_id = Column(Integer, ForeignKey("communities.id"), nullable=False)
    starts_on = Column(Date, nullable=False)
    ends_on = Column(Date, nullable=False)
    name = Column(String(50), nullable=False, default="")
    workday = Column(Boolean, nullable=False, default=False)  # 调休上班
    noisy_hours = Column(String(100))

    community = relationship("Community")


class RenovationApplication(Base):
    __tablename__ = "renovation_applications"
    __table_args__ = (
        Index("ix_renovation_applications_community_id_status", "community_id", "status"),
        Index("ix_renovation_applications_openid", "openid"),
    )

    id = Column(Integer, primary_key=True)
    number = Column(String(32), nullable=False, unique=True)  # ZX261202001
    openid = Column(String(64), nullable=False)
    community_id = Column(Integer, ForeignKey("communities.id"), nullable=False)
    house_id = Column(Integer, ForeignKey("houses.id"), nullable=False)
    work = Column(Text, nullable=False)
    contractor = Column(String(100), nullable=False)
    contractor_phone = Column(String(32), nullable=False, default="")
    starts_on = Column(Date, nullable=False)
    ends_on = Column(Date, nullable=False)
    workers = Column(Integer, nullable=False, default=1)
    status = Column(String(16), nullable=False, default="submitted")
    deposit = Column(ExactNumeric(12, 2))  # as the rules said when the owner applied
    return_reason = Column(Text)
    decided_at = Column(UTCDateTime)
    accepted_at = Column(UTCDateTime)
    deposit_returned = Column(ExactNumeric(12, 2))
    deposit_note = Column(Text)
    source_key = Column(String(128), unique=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)

    community = relationship("Community")
    house = relationship("House")
    steps = relationship(
        "RenovationStep", back_populates="application", order_by=lambda: (RenovationStep.at, RenovationStep.id)
    )
    passes = relationship("RenovationPass", back_populates="application", order_by="RenovationPass.id")
    inspections = relationship("RenovationInspection", back_populates="application", order_by="RenovationInspection.id")


class RenovationStep(Base):
    """The application's history: who did what, when (like a ticket's steps)."""

    __tablename__ = "renovation_steps"

    id = Column(Integer, primary_key=True)
    application_id = Column(Integer, ForeignKey("renovation_applications.id"), nullable=False, index=True)
    kind = Column(String(32), nullable=False)
    actor = Column(String(100), nullable=False)
    note = Column(Text)
    at = Column(UTCDateTime, nullable=False, default=utcnow)

    application = relationship("RenovationApplication", back_populates="steps")


class RenovationPass(Base):
    """A worker's temporary pass (临时出入证); the gate checks it by number."""

    __tablename__ = "renovation_passes"

    id = Column(Integer, primary_key=True)
    number = Column(String(32), nullable=False, unique=True)  # ZJ261202001
    application_id = Column(Integer, ForeignKey("renovation_applications.id"), nullable=False, index=True)
    worker_name = Column(String(50), nullable=False)
    valid_from = Column(Date, nullable=False)
    valid_to = Column(Date, nullable=False)
    issued_by = Column(String(100), nullable=False)
    issued_at = Column(UTCDateTime, nullable=False, default=utcnow)
    revoked_at = Column(UTCDateTime)

    application = relationship("RenovationApplication", back_populates="passes")


class RenovationInspection(Base):
    """A daily inspection (巡查) of a job; a violation is handled (整改) later."""

    __tablename__ = "renovation_inspections"

    id = Column(Integer, primary_key=True)
    # Named by hand: the convention's name would pass PostgreSQL's 63 characters.
    application_id = Column(
        Integer,
        ForeignKey("renovation_applications.id", name="fk_renovation_inspections_application"),
        nullable=False,
        index=True,
    )
    staff_id = Column(Integer, ForeignKey("staff.id"))
    actor = Column(String(100), nullable=False)
    findings = Column(Text, nullable=False, default="")
    violation = Column(Boolean, nullable=False, default=False)
    handled_at = Column(UTCDateTime)
    handled_note = Column(Text)
    at = Column(UTCDateTime, nullable=False, default=utcnow)

    application = relationship("RenovationApplication", back_populates="inspections")
    staff = relationship("Staff")
    photos = relationship("RenovationPhoto", back_populates="inspection", order_by="RenovationPhoto.id")


class RenovationPhoto(Base):
    """A WeChat photo is its PicUrl and MediaId (url, media_id), then its bytes once a job has
    downloaded them (WeChat's links expire); a photo uploaded in the console is kept here itself
    (content_type, data and a small JPEG thumb), url "" (backend/work/photo_files.py)."""

    __tablename__ = "renovation_photos"

    id = Column(Integer, primary_key=True)
    inspection_id = Column(Integer, ForeignKey("renovation_inspections.id"), nullable=False, index=True)
    url = Column(Text, nullable=False)
    media_id = Column(String(128))
    filename = Column(String(100))
    content_type = Column(String(32))
    size = Column(Integer)
    data = deferred(Column(LargeBinary))
    thumb = deferred(Column(LargeBinary))
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    # A WeChat photo is downloaded and kept here by a job (backend/work/photo_fetch.py): its tries,
    # and why it could not be kept (a WeChat errcode, not an image), shown in the console.
    fetch_attempts = Column(Integer, nullable=False, default=0, server_default="0")
    fetch_error = Column(String(200))

    inspection = relationship("RenovationInspection", back_populates="photos")

    @property
    def stored(self) -> bool:
        """Kept here (uploaded in the console, or a WeChat photo already downloaded)."""
        return self.content_type is not None
