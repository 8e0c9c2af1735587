"""The service-grade scorecard: per community and period, each figure against its grade's target
(docs/SERVICE_STANDARD.md), computed from our own records.

Figures (tickets counted by the period they were raised in, Beijing time):
- emergency_on_site: urgent repairs whose 30-minute clock has ended, on time / ended (tickets
  the owner withdrew are left out of every figure).
- agreed_time_on_site: repairs with an agreed time, on site by then (+2 h) / ended.
- complaints_within_2h: complaints whose 2-hour clock has ended, closed in time / ended.
- complaints_effective (投诉有效处理率): complaints closed with a result the owner did not
  send back ("没解决") / complaints raised (not withdrawn).
- revisit_rate (维修回访率): finished repairs with a rating (the owner's, or taken on a revisit
  call) or a recorded revisit / finished repairs.
- rating_satisfaction: ratings of 4 or 5 / ratings given in the period.
- survey_satisfaction: the year's survey, overall score 4 or 5 / overall answers.
- owner_reach: houses whose bound owner wrote to us and was answered in the period / houses.
Yearly figures (YEARLY: complaints_effective, survey_satisfaction, owner_reach) are judged over
the calendar year (for_year) or, on a month's card, over the 12 months ending with that month;
the other figures stay monthly. A complaint still inside its 2-hour clock is in progress: it is
in no figure yet (counts.complaints_in_progress), never a failure.
Suggestions (意见/建议) are counted apart: suggestions_within_2h, like complaints_within_2h.
Response times (minutes, median and p90, nearest rank): raised → 接单, raised → on site, and
complaint raised → closed. A figure with nothing to count is None ("—"), never 0% or 100%.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from backend.core.clock import SHANGHAI, aware_now
from backend.core.models import (
    Building,
    Community,
    Complaint,
    FollowUp,
    House,
    InboundMessage,
    Rating,
    SlaClock,
    Survey,
    Ticket,
    TicketStep,
    WechatBinding,
)
from backend.service import desk_card
from backend.service.survey import results as survey_results
from backend.work import renovation

# Targets per grade (1, 2, 3); None: the standard sets none at that grade.
TARGETS = {
    "emergency_on_site": (1.0, 1.0, 1.0),
    "agreed_time_on_site": (1.0, 1.0, 1.0),
    "complaints_within_2h": (1.0, 1.0, 1.0),
    "complaints_effective": (0.95, 0.90, 0.80),
    "revisit_rate": (0.90, 0.80, None),
    "rating_satisfaction": (0.80, 0.80, 0.80),
    "survey_satisfaction": (0.80, 0.80, 0.80),
    "owner_reach": (0.50, 0.30, 0.10),
    "suggestions_within_2h": (1.0, 1.0, 1.0),
}
YEARLY = ("complaints_effective", "survey_satisfaction", "owner_reach")
SPAN_LABELS = {"month": "本月", "rolling": "近12个月", "year": "全年"}
LABELS = {
    "emergency_on_site": "急修30分钟内到场率",
    "agreed_time_on_site": "一般维修按约定时间到场率",
    "complaints_within_2h": "投诉2小时内处理率",
    "complaints_effective": "投诉有效处理率",
    "revisit_rate": "维修回访率",
    "rating_satisfaction": "服务评价满意率（4-5分）",
    "survey_satisfaction": "年度满意度调查满意率",
    "owner_reach": "业主双向沟通覆盖率",
    "suggestions_within_2h": "意见建议2小时内答复率",
}
# 装修管理 (issue 17): counted, not targets (the standard asks for the procedure, not a rate).
# Applications made in the period; 退回过 counts one returned and then resubmitted too; the hours
# to approval run from its last submission (backend/work/renovation.figures).
RENOVATION_LABELS = {
    "applications": "装修申请",
    "approved": "审批通过",
    "returned": "退回过",
    "approval_hours_median": "（重新）提交→审批通过（小时，中位数）",
    "active_jobs": "期内在施工的装修",
    "inspections": "巡查次数",
    "inspections_per_job": "每处装修巡查次数",
    "violations": "发现违规",
    "violations_handled": "违规已整改",
    "accepted": "已验收",
}
RESPONSE_LABELS = {
    "accept_minutes": "报修→接单（分钟）",
    "on_site_minutes": "报修→到场（分钟）",
    "complaint_minutes": "投诉→办结（分钟）",
}


class ScorecardError(ValueError):
    """Bad community or period; the message says why."""


@dataclass
class Figure:
    key: str
    label: str
    numerator: int
    denominator: int
    value: float | None
    target: float | None
    met: bool | None
    span: str = "month"  # SPAN_LABELS: the period the figure is judged over


def month_period(month: str) -> tuple[datetime, datetime]:
    """ "2026-11" → [2026-11-01 00:00, 2026-12-01 00:00) Beijing time."""
    try:
        year, mon = (int(part) for part in month.split("-"))
        start = datetime(year, mon, 1, tzinfo=SHANGHAI)
    except (ValueError, TypeError):
        raise ScorecardError(f"月份格式应为 YYYY-MM，例如 2026-11，而不是 {month!r}") from None
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, end


def year_period(year: str) -> tuple[datetime, datetime]:
    """ "2026" → [2026-01-01 00:00, 2027-01-01 00:00) Beijing time."""
    try:
        number = int(str(year).strip())
        start = datetime(number, 1, 1, tzinfo=SHANGHAI)
    except (ValueError, TypeError):
        raise ScorecardError(f"年份格式应为 YYYY，例如 2026，而不是 {year!r}") from None
    return start, datetime(number + 1, 1, 1, tzinfo=SHANGHAI)


def twelve_months_before(end: datetime) -> datetime:
    """The start of the 12 months ending at `end` (a month's first day, Beijing time)."""
    local = end.astimezone(SHANGHAI)
    return local.replace(year=local.year - 1)


def _figure(key: str, grade: int, numerator: int, denominator: int, span: str = "month") -> Figure:
    target = TARGETS[key][grade - 1]
    value = numerator / denominator if denominator else None
    met = None if value is None or target is None else value >= target - 1e-9
    return Figure(key, LABELS[key], numerator, denominator, value, target, met, span)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p% of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _spread(values: list[float]) -> dict:
    return {
        "count": len(values),
        "median": round(statistics.median(values), 1) if values else None,
        "p90": round(percentile(values, 90), 1) if values else None,
    }


def compute(
    session: Session,
    community: Community,
    start: datetime,
    end: datetime,
    year_start: datetime | None = None,
    now: datetime | None = None,
    span: str = "month",
) -> dict:
    """The card for [start, end); the yearly figures over [year_start, end) when given ("rolling"),
    else over the period itself (a year's card: span "year")."""
    grade = community.service_grade or 2
    now = aware_now(now)
    raised = and_(Ticket.community_id == community.id, Ticket.created_at >= start, Ticket.created_at < end)
    year_start = year_start or start
    yearly = "rolling" if year_start != start else span
    raised_in_year = and_(Ticket.community_id == community.id, Ticket.created_at >= year_start, Ticket.created_at < end)

    def clocks(kind: str, *where) -> list[str]:
        return (
            session.execute(
                select(SlaClock.outcome)
                .join(Ticket, Ticket.id == SlaClock.ticket_id)
                .where(
                    raised, SlaClock.kind == kind, SlaClock.outcome.is_not(None), Ticket.status != "cancelled", *where
                )
            )
            .scalars()
            .all()
        )

    urgent = clocks("on_site", Ticket.urgency == "urgent")
    agreed = clocks("on_site", Ticket.urgency != "urgent")
    within = clocks("handled", Ticket.kind == "complaint")
    suggestions = clocks("handled", Ticket.kind == "suggestion")

    def complaints_in(where) -> tuple[list[Complaint], int]:
        """(complaints to judge, complaints still inside their 2-hour clock: in progress)."""
        rows = session.execute(
            select(Complaint, SlaClock.due_at, SlaClock.outcome)
            .join(Ticket, Ticket.id == Complaint.ticket_id)
            .outerjoin(SlaClock, and_(SlaClock.ticket_id == Ticket.id, SlaClock.kind == "handled"))
            .where(where, Ticket.kind == "complaint", Ticket.status != "cancelled")
        ).all()
        judged = [
            c
            for c, due, outcome in rows
            if c.handled_at is not None or outcome is not None or due is None or due <= now
        ]
        return judged, len(rows) - len(judged)

    complaints, in_progress = complaints_in(raised)
    year_complaints, _ = complaints_in(raised_in_year)
    effective = sum(1 for c in year_complaints if c.handled_at is not None and c.reopened_at is None)

    finished = (
        session.execute(select(Ticket.id).where(raised, Ticket.kind == "repair", Ticket.status.in_(("done", "closed"))))
        .scalars()
        .all()
    )
    rated = (
        set(session.execute(select(Rating.ticket_id).where(Rating.ticket_id.in_(finished))).scalars())
        if finished
        else set()
    )
    revisited = (
        set(
            session.execute(
                select(FollowUp.ticket_id).where(
                    FollowUp.ticket_id.in_(finished), FollowUp.kind == "revisit", FollowUp.closed_at.is_not(None)
                )
            ).scalars()
        )
        if finished
        else set()
    )

    scores = (
        session.execute(
            select(Rating.score)
            .join(Ticket, Ticket.id == Rating.ticket_id)
            .where(Ticket.community_id == community.id, Rating.created_at >= start, Rating.created_at < end)
        )
        .scalars()
        .all()
    )

    # The survey of the year the period ends in (a rolling window: its last month's year).
    survey_year = (end - timedelta(seconds=1)).astimezone(SHANGHAI).year
    survey = session.execute(
        select(Survey).where(Survey.community_id == community.id, Survey.year == survey_year)
    ).scalar_one_or_none()
    surveyed = survey_results(session, survey) if survey else None

    houses = session.execute(
        select(func.count())
        .select_from(House)
        .join(Building, Building.id == House.building_id)
        .where(Building.community_id == community.id)
    ).scalar_one()
    reached = session.execute(
        select(func.count(func.distinct(WechatBinding.house_id)))
        .join(House, House.id == WechatBinding.house_id)
        .join(Building, Building.id == House.building_id)
        .join(InboundMessage, InboundMessage.openid == WechatBinding.openid)
        .where(
            Building.community_id == community.id,
            InboundMessage.msg_type != "event",
            InboundMessage.status == "answered",
            InboundMessage.received_at >= year_start,
            InboundMessage.received_at < end,
        )
    ).scalar_one()

    figures = [
        _figure("emergency_on_site", grade, urgent.count("met"), len(urgent)),
        _figure("agreed_time_on_site", grade, agreed.count("met"), len(agreed)),
        _figure("complaints_within_2h", grade, within.count("met"), len(within)),
        _figure("complaints_effective", grade, effective, len(year_complaints), yearly),
        _figure("revisit_rate", grade, len(rated | revisited), len(finished)),
        _figure("rating_satisfaction", grade, sum(1 for s in scores if s >= 4), len(scores)),
        _figure(
            "survey_satisfaction",
            grade,
            surveyed.satisfied if surveyed else 0,
            surveyed.overall_answers if surveyed else 0,
            yearly,
        ),
        _figure("owner_reach", grade, reached, houses, yearly),
        _figure("suggestions_within_2h", grade, suggestions.count("met"), len(suggestions)),
    ]
    for f in figures:
        if f.key not in YEARLY:
            f.span = span  # the period itself: a month's, or a year's on the year's card
    return {
        "community": {"code": community.code, "name": community.name, "service_grade": grade},
        "period": {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "year_start": year_start.isoformat(),
            "span": span,
        },
        "figures": [asdict(f) for f in figures],
        "response_times": _response_times(session, raised),
        "renovation": renovation.figures(session, community.id, start, end),
        "counts": {
            "ratings": len(scores),
            "mean_rating": round(sum(scores) / len(scores), 2) if scores else None,
            "complaints": len(complaints),
            "complaints_in_progress": in_progress,
            "repairs_finished": len(finished),
            "suggestions": _count(session, raised, "suggestion"),
        },
    }


def _count(session: Session, raised, kind: str) -> int:
    return session.execute(
        select(func.count()).select_from(Ticket).where(raised, Ticket.kind == kind, Ticket.status != "cancelled")
    ).scalar_one()


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60


def _response_times(session: Session, raised) -> dict:
    def first_step(kind: str, ticket_kind: str) -> list[float]:
        rows = session.execute(
            select(Ticket.created_at, func.min(TicketStep.at))
            .join(TicketStep, TicketStep.ticket_id == Ticket.id)
            .where(raised, Ticket.kind == ticket_kind, TicketStep.kind == kind)
            .group_by(Ticket.id, Ticket.created_at)
        ).all()
        return [_minutes(created, at) for created, at in rows]

    return {
        "accept_minutes": _spread(first_step("accepted", "repair")),
        "on_site_minutes": _spread(first_step("arrived", "repair")),
        "complaint_minutes": _spread(first_step("handled", "complaint")),
    }


def for_month(session: Session, community_code: str, month: str, now: datetime | None = None) -> dict:
    """The console's entry point: JSON-ready scorecard of one community for one month."""
    community = session.execute(select(Community).where(Community.code == community_code)).scalar_one_or_none()
    if community is None:
        raise ScorecardError(f"没有小区代码 {community_code}")
    start, end = month_period(month)
    card = compute(session, community, start, end, year_start=twelve_months_before(end), now=now)
    card["period"]["month"] = month
    card["desk"] = _desk(session, community, start, end, now)
    return card


def _desk(session: Session, community: Community, start: datetime, end: datetime, now: datetime | None) -> dict:
    """Channels, desk hours, 24-hour line, 公示 freshness (as of the period's end, or today if
    sooner) and outage notices."""
    last_day = (end - timedelta(seconds=1)).astimezone(SHANGHAI).date()
    now = aware_now(now)
    today = min(now.astimezone(SHANGHAI).date(), last_day)
    return desk_card.compute(session, community, start, end, today, now)


def for_year(session: Session, community_code: str, year: str, now: datetime | None = None) -> dict:
    """Every figure over one calendar year (the yearly targets' own period)."""
    community = _community(session, community_code)
    start, end = year_period(year)
    card = compute(session, community, start, end, now=now, span="year")
    card["period"]["month"] = str(year).strip()
    card["desk"] = _desk(session, community, start, end, now)
    return card


def _community(session: Session, code: str) -> Community:
    community = session.execute(select(Community).where(Community.code == code)).scalar_one_or_none()
    if community is None:
        raise ScorecardError(f"没有小区代码 {code}")
    return community


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def status_label(figure: dict) -> str:
    """达标 / 未达标 / 本期无数据 / 本等级不考核: the same words in the CLI, the CSV and the console."""
    if figure["target"] is None:
        return "本等级不考核"
    if figure["met"] is None:
        return "本期无数据"
    return "达标" if figure["met"] else "未达标"


def to_csv(card: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["community", "month", "figure", "label", "value", "numerator", "denominator", "target", "status"])
    month = card["period"].get("month", card["period"]["start"][:7])
    for f in card["figures"]:
        writer.writerow(
            [
                card["community"]["code"],
                month,
                f["key"],
                f["label"],
                "" if f["value"] is None else f"{f['value']:.4f}",
                f["numerator"],
                f["denominator"],
                "" if f["target"] is None else f"{f['target']:.2f}",
                status_label(f),
            ]
        )
    for key, spread in card["response_times"].items():
        for stat in ("median", "p90"):
            writer.writerow(
                [
                    card["community"]["code"],
                    month,
                    f"{key}_{stat}",
                    f"{RESPONSE_LABELS[key]} {stat}",
                    "" if spread[stat] is None else spread[stat],
                    "",
                    spread["count"],
                    "",
                    "",
                ]
            )
    for key, value in card.get("renovation", {}).items():
        writer.writerow(
            [
                card["community"]["code"],
                month,
                f"renovation_{key}",
                RENOVATION_LABELS[key],
                "" if value is None else value,
                "",
                "",
                "",
                "",
            ]
        )
    for row in desk_rows(card):
        writer.writerow([card["community"]["code"], month, *row])
    return out.getvalue()


def _blank(value) -> str:
    return "" if value is None else str(value)


def _when(iso: str | None) -> str:
    """ "2026-10-09T15:00:00+08:00" → "2026-10-09 15:00" (Beijing time, as the card holds it)."""
    return iso[:16].replace("T", " ") if iso else ""


def outage_label(o: dict) -> str:
    return f"{o['kind']}{'' if o['planned'] else '（突发）'} {_when(o['starts_at'])}"


def relay_status(o: dict) -> str:
    if o["relay_hours"] is None:
        return "未通知业主" if o["never_told"] else "未记录单位通知时间" if o["owners_told_at"] else "—"
    return "未达标" if o["relay_late"] else "达标"


def lead_status(o: dict) -> str:
    if o["never_told"]:
        return "未通知业主"
    if not o["planned"]:
        return "突发，不考核"
    if o["lead_hours"] is None:
        return "—"
    return "未达标" if o["lead_short"] else "达标"


def desk_rows(card: dict) -> list[list]:
    """The 服务中心 part of the card (desk_card.compute's result, as the console shows it) as CSV
    rows after community and month: figure, label, value, numerator, denominator, target, status."""
    d = card.get("desk")
    if not d:
        return []
    desk, lim = d["desk"], d["limits"]
    rows = [
        [
            "desk_hours",
            "客服中心每天服务时长（小时）",
            _blank(desk["desk_hours"]),
            "",
            "",
            desk["desk_hours_target"],
            desk["desk_hours_status"],
        ],
        ["phone_24h", "24小时服务电话", _blank(desk["line_24h"]), "", "", "已公布", desk["phone_24h_status"]],
        [
            "disclosure",
            f"最近一次收支公示（截至 {desk['disclosure_as_of']}）",
            _blank(desk["disclosure_on"]),
            "",
            "",
            f"{desk['disclosure_max_months']}个月内",
            desk["disclosure_status"],
        ],
    ]
    for r in d["channels"]:
        for kind, word in desk_card.CHANNEL_KIND_LABELS.items():
            rows.append([f"channel_{r['channel']}_{kind}", f"受理渠道·{r['label']}·{word}", r[kind], "", "", "", ""])
        rows.append([f"channel_{r['channel']}_total", f"受理渠道·{r['label']}·合计", r["total"], "", "", "", ""])
        rows.append(
            [
                f"channel_{r['channel']}_on_time",
                f"受理渠道·{r['label']}·按时率（到场、2小时答复）",
                "" if r["on_time_rate"] is None else f"{r['on_time_rate']:.4f}",
                r["on_time"],
                r["clocks_ended"],
                "",
                "",
            ]
        )
    relay_limit, lead_limit = (
        desk_card.format_hours(lim["relay_within_hours"]),
        desk_card.format_hours(lim["notice_lead_hours"]),
    )
    for o in d["outages"]:
        label = outage_label(o)
        rows.append(
            [
                f"outage_{o['id']}_relay_hours",
                f"{label} 单位通知（{_when(o['utility_notified_at']) or '未记录'}）→通知业主（小时）",
                _blank(o["relay_hours"]),
                "",
                "",
                f"≤{relay_limit}",
                relay_status(o),
            ]
        )
        rows.append(
            [
                f"outage_{o['id']}_lead_hours",
                f"{label} 通知业主（{_when(o['owners_told_at']) or '未通知'}）→开始（小时）",
                _blank(o["lead_hours"]),
                "",
                "",
                f"≥{lead_limit}" if o["planned"] else "",
                lead_status(o),
            ]
        )
    return rows


def _pad(text: str, width: int) -> str:
    """Pad to a display width (a Chinese character takes two columns)."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


def to_text(card: dict) -> str:
    c = card["community"]
    lines = [f"{c['name']}（{c['code']}，{c['service_grade']}级服务）{card['period'].get('month', '')} 服务指标"]
    for f in card["figures"]:
        target = "—" if f["target"] is None else f"≥{f['target'] * 100:.0f}%"
        counted = f"({f['numerator']}/{f['denominator']})"
        lines.append(
            f"  {_pad(f['label'], 26)}{_pct(f['value']):>7}  {_pad(counted, 10)}目标 {target:<6} {status_label(f)}"
        )
    for key, spread in card["response_times"].items():
        median = "—" if spread["median"] is None else spread["median"]
        p90 = "—" if spread["p90"] is None else spread["p90"]
        lines.append(f"  {_pad(RESPONSE_LABELS[key], 26)} 中位数 {median}  P90 {p90}  （{spread['count']} 单）")
    for key, value in card.get("renovation", {}).items():
        lines.append(f"  {_pad(RENOVATION_LABELS[key], 26)}{'—' if value is None else value:>7}")
    return "\n".join(lines + desk_text(card))


def desk_text(card: dict) -> list[str]:
    """The 服务中心 part of the card, as the console shows it, for the CLI."""
    d = card.get("desk")
    if not d:
        return []
    desk, lim = d["desk"], d["limits"]
    hours = "—" if desk["desk_hours"] is None else f"{desk['desk_hours']} 小时"
    on = desk["disclosure_on"] or "没有公示"

    def row(label: str, value: str, rest: str) -> str:
        return f"  {_pad(label, 26)}{_pad(value, 16)}{rest}"

    lines = [
        "服务中心",
        row("客服中心每天服务时长", hours, f"目标 ≥{desk['desk_hours_target']} 小时  {desk['desk_hours_status']}"),
        row("24小时服务电话", desk["line_24h"] or "未公布", desk["phone_24h_status"]),
        row(
            "最近一次收支公示",
            on,
            f"不超过 {desk['disclosure_max_months']} 个月（截至 {desk['disclosure_as_of']}）  {desk['disclosure_status']}",
        ),
        "按受理渠道（报修 / 投诉 / 意见建议 / 合计；按时率：到场、2小时答复）",
    ]
    for r in d["channels"]:
        rate = _pct(r["on_time_rate"])
        lines.append(
            f"  {_pad(r['label'], 10)}{r['repair']:>4} {r['complaint']:>4} {r['suggestion']:>4} {r['total']:>5}"
            f"   按时率 {rate}（{r['on_time']}/{r['clocks_ended']}）"
        )
    if not d["channels"]:
        lines.append("  本期没有工单。")
    relay_limit = desk_card.format_hours(lim["relay_within_hours"])
    lead_limit = desk_card.format_hours(lim["notice_lead_hours"])
    lines.append(
        f"停水停电通知（考核：接到供水/供电等单位通知后 {relay_limit} 小时内通知业主；"
        f"计划停水停电至少提前 {lead_limit} 小时通知。此为我们对标准的理解，以公司确认为准）"
    )
    for o in d["outages"]:
        relay = "—" if o["relay_hours"] is None else f"{o['relay_hours']} 小时"
        lead = "—" if o["lead_hours"] is None else f"{o['lead_hours']} 小时"
        mark = desk_card.VERDICT_MARKS[o["verdict"]]
        lines.append(
            f"  {outage_label(o)}  单位通知 {_when(o['utility_notified_at']) or '未记录'}"
            f"  通知业主 {_when(o['owners_told_at']) or '未通知'}  耗时 {relay}  提前 {lead}  {mark} {o['status']}"
        )
    if not d["outages"]:
        lines.append("  本期没有停水停电。")
    return lines
