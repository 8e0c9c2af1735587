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
  (The standard's figure is per year: read a month's value as progress towards it.)
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
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

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
from backend.service.survey import results as survey_results
from backend.text.times import SHANGHAI
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
}
LABELS = {
    "emergency_on_site": "急修30分钟内到场率",
    "agreed_time_on_site": "一般维修按约定时间到场率",
    "complaints_within_2h": "投诉2小时内处理率",
    "complaints_effective": "投诉有效处理率",
    "revisit_rate": "维修回访率",
    "rating_satisfaction": "服务评价满意率（4-5分）",
    "survey_satisfaction": "年度满意度调查满意率",
    "owner_reach": "业主双向沟通覆盖率",
}
# 装修管理 (issue 17): counted, not targets (the standard asks for the procedure, not a rate).
RENOVATION_LABELS = {
    "applications": "装修申请",
    "approved": "审批通过",
    "returned": "退回",
    "approval_hours_median": "提交→审批通过（小时，中位数）",
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


def month_period(month: str) -> tuple[datetime, datetime]:
    """"2026-11" → [2026-11-01 00:00, 2026-12-01 00:00) Beijing time."""
    try:
        year, mon = (int(part) for part in month.split("-"))
        start = datetime(year, mon, 1, tzinfo=SHANGHAI)
    except (ValueError, TypeError):
        raise ScorecardError(f"月份格式应为 YYYY-MM，例如 2026-11，而不是 {month!r}") from None
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, end


def _figure(key: str, grade: int, numerator: int, denominator: int) -> Figure:
    target = TARGETS[key][grade - 1]
    value = numerator / denominator if denominator else None
    met = None if value is None or target is None else value >= target - 1e-9
    return Figure(key, LABELS[key], numerator, denominator, value, target, met)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p% of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _spread(values: list[float]) -> dict:
    return {"count": len(values),
            "median": round(statistics.median(values), 1) if values else None,
            "p90": round(percentile(values, 90), 1) if values else None}


def compute(session: Session, community: Community, start: datetime, end: datetime) -> dict:
    grade = community.service_grade or 2
    raised = and_(Ticket.community_id == community.id, Ticket.created_at >= start, Ticket.created_at < end)

    def clocks(kind: str, *where) -> list[str]:
        return session.execute(
            select(SlaClock.outcome).join(Ticket, Ticket.id == SlaClock.ticket_id)
            .where(raised, SlaClock.kind == kind, SlaClock.outcome.is_not(None), Ticket.status != "cancelled", *where)
        ).scalars().all()

    urgent = clocks("on_site", Ticket.urgency == "urgent")
    agreed = clocks("on_site", Ticket.urgency != "urgent")
    within = clocks("handled")

    complaints = session.execute(
        select(Complaint).join(Ticket, Ticket.id == Complaint.ticket_id)
        .where(raised, Ticket.kind == "complaint", Ticket.status != "cancelled")
    ).scalars().all()
    effective = sum(1 for c in complaints if c.handled_at is not None and c.reopened_at is None)

    finished = session.execute(
        select(Ticket.id).where(raised, Ticket.kind == "repair", Ticket.status.in_(("done", "closed")))
    ).scalars().all()
    rated = set(session.execute(select(Rating.ticket_id).where(Rating.ticket_id.in_(finished))).scalars()) if finished else set()
    revisited = set(session.execute(
        select(FollowUp.ticket_id).where(FollowUp.ticket_id.in_(finished), FollowUp.kind == "revisit",
                                         FollowUp.closed_at.is_not(None))
    ).scalars()) if finished else set()

    scores = session.execute(
        select(Rating.score).join(Ticket, Ticket.id == Rating.ticket_id)
        .where(Ticket.community_id == community.id, Rating.created_at >= start, Rating.created_at < end)
    ).scalars().all()

    survey = session.execute(
        select(Survey).where(Survey.community_id == community.id, Survey.year == start.astimezone(SHANGHAI).year)
    ).scalar_one_or_none()
    surveyed = survey_results(session, survey) if survey else None

    houses = session.execute(
        select(func.count()).select_from(House).join(Building, Building.id == House.building_id)
        .where(Building.community_id == community.id)
    ).scalar_one()
    reached = session.execute(
        select(func.count(func.distinct(WechatBinding.house_id)))
        .join(House, House.id == WechatBinding.house_id).join(Building, Building.id == House.building_id)
        .join(InboundMessage, InboundMessage.openid == WechatBinding.openid)
        .where(Building.community_id == community.id, InboundMessage.msg_type != "event",
               InboundMessage.status == "answered",
               InboundMessage.received_at >= start, InboundMessage.received_at < end)
    ).scalar_one()

    figures = [
        _figure("emergency_on_site", grade, urgent.count("met"), len(urgent)),
        _figure("agreed_time_on_site", grade, agreed.count("met"), len(agreed)),
        _figure("complaints_within_2h", grade, within.count("met"), len(within)),
        _figure("complaints_effective", grade, effective, len(complaints)),
        _figure("revisit_rate", grade, len(rated | revisited), len(finished)),
        _figure("rating_satisfaction", grade, sum(1 for s in scores if s >= 4), len(scores)),
        _figure("survey_satisfaction", grade, surveyed.satisfied if surveyed else 0,
                surveyed.overall_answers if surveyed else 0),
        _figure("owner_reach", grade, reached, houses),
    ]
    return {
        "community": {"code": community.code, "name": community.name, "service_grade": grade},
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "figures": [asdict(f) for f in figures],
        "response_times": _response_times(session, raised),
        "renovation": renovation.figures(session, community.id, start, end),
        "counts": {"ratings": len(scores), "mean_rating": round(sum(scores) / len(scores), 2) if scores else None,
                   "complaints": len(complaints), "repairs_finished": len(finished)},
    }


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60


def _response_times(session: Session, raised) -> dict:
    def first_step(kind: str, ticket_kind: str) -> list[float]:
        rows = session.execute(
            select(Ticket.created_at, func.min(TicketStep.at)).join(TicketStep, TicketStep.ticket_id == Ticket.id)
            .where(raised, Ticket.kind == ticket_kind, TicketStep.kind == kind).group_by(Ticket.id, Ticket.created_at)
        ).all()
        return [_minutes(created, at) for created, at in rows]

    return {
        "accept_minutes": _spread(first_step("accepted", "repair")),
        "on_site_minutes": _spread(first_step("arrived", "repair")),
        "complaint_minutes": _spread(first_step("handled", "complaint")),
    }


def for_month(session: Session, community_code: str, month: str) -> dict:
    """The console's entry point: JSON-ready scorecard of one community for one month."""
    community = session.execute(select(Community).where(Community.code == community_code)).scalar_one_or_none()
    if community is None:
        raise ScorecardError(f"没有小区代码 {community_code}")
    start, end = month_period(month)
    card = compute(session, community, start, end)
    card["period"]["month"] = month
    return card


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
        writer.writerow([card["community"]["code"], month, f["key"], f["label"],
                         "" if f["value"] is None else f"{f['value']:.4f}", f["numerator"], f["denominator"],
                         "" if f["target"] is None else f"{f['target']:.2f}", status_label(f)])
    for key, spread in card["response_times"].items():
        for stat in ("median", "p90"):
            writer.writerow([card["community"]["code"], month, f"{key}_{stat}", f"{RESPONSE_LABELS[key]} {stat}",
                             "" if spread[stat] is None else spread[stat], "", spread["count"], "", ""])
    for key, value in card.get("renovation", {}).items():
        writer.writerow([card["community"]["code"], month, f"renovation_{key}", RENOVATION_LABELS[key],
                         "" if value is None else value, "", "", "", ""])
    return out.getvalue()


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
        lines.append(f"  {_pad(f['label'], 26)}{_pct(f['value']):>7}  {_pad(counted, 10)}目标 {target:<6} {status_label(f)}")
    for key, spread in card["response_times"].items():
        median = "—" if spread["median"] is None else spread["median"]
        p90 = "—" if spread["p90"] is None else spread["p90"]
        lines.append(f"  {_pad(RESPONSE_LABELS[key], 26)} 中位数 {median}  P90 {p90}  （{spread['count']} 单）")
    for key, value in card.get("renovation", {}).items():
        lines.append(f"  {_pad(RENOVATION_LABELS[key], 26)}{'—' if value is None else value:>7}")
    return "\n".join(lines)
