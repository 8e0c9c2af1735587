"""The service desk's part of the scorecard (issue 15): tickets by channel, the desk's hours and
24-hour line against the grade, the freshness of the 收支公示, and how soon owners heard of each
water or power cut after the utility told us, and how long before the cut.

Our reading of the standard (docs/SERVICE_STANDARD.md):
- desk staffed 24 / 12 / 8 hours a day at grade 1 / 2 / 3, and a 24-hour line published;
- the latest 收支公示 no older than 6 months (grade 1) or a year (grades 2 and 3);
- a planned cut: owners told at least NOTICE_LEAD before it, and within RELAY_WITHIN of the
  utility's notice to us (any cut, planned or not, once we know when the utility told us).
The two outage limits are our reading, for the company to confirm; they are constants like every
other figure of the standard (scorecard.TARGETS, sla), and the card carries the ones it applied
(`limits`), so the console, the CLI's text and its CSV all say which.

compute() is the one computation: the console, `scorecard --json`, the text and the CSV all
show its result; the words of each verdict (`problems`, `*_status`) are made here too.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.clock import SHANGHAI
from backend.core.models import OUTAGE_KINDS, TICKET_CHANNELS, Community, Outage, OutboundMessage, SlaClock, Ticket
from backend.owners.communities import desk_hours_a_day
from backend.owners.fees import latest_disclosure

DESK_HOURS = {1: 24, 2: 12, 3: 8}
DISCLOSURE_MONTHS = {1: 6, 2: 12, 3: 12}
NOTICE_LEAD = timedelta(hours=24)
RELAY_WITHIN = timedelta(hours=2)
CHANNEL_KINDS = ("repair", "complaint", "suggestion")
CHANNEL_KIND_LABELS = {"repair": "报修", "complaint": "投诉", "suggestion": "意见建议"}
# An outage row's verdict: late (a limit missed), pending (not told yet, not begun; or cancelled
# before anyone was told), ok.
VERDICT_MARKS = {"late": "✗", "pending": "·", "ok": "✓"}


def limits() -> dict:
    """The outage limits the card applies, in hours (shown wherever the card is)."""
    return {
        "notice_lead_hours": NOTICE_LEAD.total_seconds() / 3600,
        "relay_within_hours": RELAY_WITHIN.total_seconds() / 3600,
    }


def format_hours(hours: float) -> str:
    """24.0 → "24", 1.5 → "1.5"."""
    return f"{hours:g}"


def _months_before(day: date, months: int) -> date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def by_channel(session: Session, community: Community, start: datetime, end: datetime) -> list[dict]:
    """Tickets raised in the period, per channel and kind (withdrawn ones left out), and per
    channel the standard's clocks (on site, answered in 2 h) met of those ended: on_time."""
    rows = session.execute(
        select(Ticket.channel, Ticket.kind, func.count())
        .where(
            Ticket.community_id == community.id,
            Ticket.created_at >= start,
            Ticket.created_at < end,
            Ticket.status != "cancelled",
            Ticket.kind.in_(CHANNEL_KINDS),
        )
        .group_by(Ticket.channel, Ticket.kind)
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for channel, kind, n in rows:
        counts.setdefault(channel, dict.fromkeys(CHANNEL_KINDS, 0))[kind] = n
    clocks: dict[str, list[str]] = {}
    for channel, outcome in session.execute(
        select(Ticket.channel, SlaClock.outcome)
        .join(SlaClock, SlaClock.ticket_id == Ticket.id)
        .where(
            Ticket.community_id == community.id,
            Ticket.created_at >= start,
            Ticket.created_at < end,
            Ticket.status != "cancelled",
            SlaClock.kind.in_(("on_site", "handled")),
            SlaClock.outcome.is_not(None),
        )
    ):
        clocks.setdefault(channel, []).append(outcome)
    out = []
    for c in TICKET_CHANNELS:
        if c not in counts:
            continue
        ended = clocks.get(c, [])
        out.append(
            {
                "channel": c,
                "label": TICKET_CHANNELS[c],
                **counts[c],
                "total": sum(counts[c].values()),
                "on_time": ended.count("met"),
                "clocks_ended": len(ended),
                "on_time_rate": ended.count("met") / len(ended) if ended else None,
            }
        )
    return out


def desk(session: Session, community: Community, today: date) -> dict:
    grade = community.service_grade or 2
    hours, target = desk_hours_a_day(community), DESK_HOURS[grade]
    disclosure = latest_disclosure(session, community.id)
    oldest_ok = _months_before(today, DISCLOSURE_MONTHS[grade])
    met = None if hours is None else hours >= target
    # No 公示 at all is as stale as an old one.
    stale = disclosure is None or disclosure.published_on < oldest_ok
    line_24h = community.hotline if community.hotline and community.hotline_24h else community.duty_phone
    return {
        "desk_hours": hours,
        "desk_hours_target": target,
        "desk_hours_met": met,
        "desk_hours_status": "未登记服务时间" if met is None else "达标" if met else "未达标",
        "phone_24h": community.has_24h_line,
        "phone_24h_status": "达标" if community.has_24h_line else "未公布",
        "hotline": community.hotline,
        "line_24h": line_24h or None,  # the number staffed around the clock
        "disclosure_on": disclosure.published_on.isoformat() if disclosure else None,
        "disclosure_title": disclosure.title if disclosure else None,
        "disclosure_max_months": DISCLOSURE_MONTHS[grade],
        "disclosure_as_of": today.isoformat(),
        "disclosure_stale": stale,
        "disclosure_status": "没有公示" if disclosure is None else "已过期" if stale else "在期内",
    }


def _hours(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds() / 3600, 1)


def outages(
    session: Session, community: Community, start: datetime, end: datetime, now: datetime | None = None
) -> list[dict]:
    """Cuts that start in the period: when the utility told us, when owners were first told
    (the first notice recorded for them), and the two gaps. A cut not yet begun and not yet
    announced is still being prepared: no flag until it starts."""
    now = now or end
    rows = (
        session.execute(
            select(Outage)
            .where(Outage.community_id == community.id, Outage.starts_at >= start, Outage.starts_at < end)
            .order_by(Outage.starts_at, Outage.id)
        )
        .scalars()
        .all()
    )
    out = []
    for o in rows:
        told = session.execute(
            select(func.min(OutboundMessage.created_at)).where(OutboundMessage.campaign == f"outage:{o.id}:notice")
        ).scalar_one()
        relay = told - o.utility_notified_at if told and o.utility_notified_at else None
        lead = o.starts_at - told if told else None
        relay_late = relay is not None and relay > RELAY_WITHIN
        never_told = told is None and o.status != "cancelled" and o.starts_at <= now
        lead_short = o.planned and (lead < NOTICE_LEAD if lead is not None else never_told)
        problems = []
        if never_told:
            problems.append("未通知业主")
        if relay_late:
            problems.append(f"通知晚了（超过{format_hours(limits()['relay_within_hours'])}小时）")
        if lead_short and not never_told:
            problems.append(f"提前不足{format_hours(limits()['notice_lead_hours'])}小时")
        if problems:
            status = "；".join(problems)
        elif told is None:
            status = "已取消" if o.status == "cancelled" else "还未通知（未到开始时间）"
        elif relay is None:
            status = "提前量达标（未记录单位通知时间）" if o.planned else "已通知（突发，未记录单位通知时间）"
        else:
            status = "及时"
        out.append(
            {
                "id": o.id,
                "kind": OUTAGE_KINDS.get(o.kind, o.kind),
                "planned": o.planned,
                "starts_at": o.starts_at.astimezone(SHANGHAI).isoformat(),
                "utility_notified_at": o.utility_notified_at.astimezone(SHANGHAI).isoformat()
                if o.utility_notified_at
                else None,
                "owners_told_at": told.astimezone(SHANGHAI).isoformat() if told else None,
                "relay_hours": _hours(relay),
                "lead_hours": _hours(lead),
                "relay_late": relay_late,
                "lead_short": lead_short,
                "never_told": never_told,
                "problems": problems,
                "status": status,
                "verdict": "late" if problems else "pending" if told is None else "ok",
            }
        )
    return out


def compute(
    session: Session, community: Community, start: datetime, end: datetime, today: date, now: datetime | None = None
) -> dict:
    return {
        "channels": by_channel(session, community, start, end),
        "desk": desk(session, community, today),
        "outages": outages(session, community, start, end, now),
        "limits": limits(),
    }
