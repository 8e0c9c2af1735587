"""The scorecard page: one community and month, each figure of its grade against the target,
a weekly trend and tickets by category as server-drawn SVG, and the CSV export."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, Response, render_template, request
from sqlalchemy import func, select

from backend.core.clock import SHANGHAI
from backend.core.models import Community, Complaint, Ticket
from backend.service import desk_card
from backend.service import scorecard as cards
from backend.service.complaints import CATEGORY_LABELS
from console import charts
from console.access import require
from console.context import db_session
from console.labels import KIND

bp = Blueprint("scorecard", __name__)
TREND = ("emergency_on_site", "agreed_time_on_site", "complaints_within_2h", "rating_satisfaction", "revisit_rate")


def _choice(s) -> tuple[list[Community], Community | None, str]:
    communities = s.execute(select(Community).order_by(Community.code)).scalars().all()
    code = (request.args.get("community") or "").strip()
    community = next((c for c in communities if c.code == code), communities[0] if communities else None)
    month = (request.args.get("month") or "").strip()[:7] or datetime.now(SHANGHAI).strftime("%Y-%m")
    if request.args.get("span") == "year":  # the whole calendar year of the month chosen
        month = month[:4]
    return communities, community, month


def _card(s, community: Community, month: str) -> dict:
    """A month's card ("2026-10"), or a year's ("2026")."""
    if len(month) == 4:
        return cards.for_year(s, community.code, month)
    return cards.for_month(s, community.code, month)


def weeks(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The month cut at Mondays: [start, next Monday), ..., [last Monday, end)."""
    out, a = [], start
    while a < end:
        b = min(end, (a - timedelta(days=a.weekday())).replace(hour=0, minute=0) + timedelta(days=7))
        out.append((a, b))
        a = b
    return out


def months(year: str) -> list[tuple[datetime, datetime]]:
    return [cards.month_period(f"{year}-{m:02d}") for m in range(1, 13)]


def trend(
    s, community: Community, start: datetime, end: datetime, spans: list[tuple[datetime, datetime]] | None = None
) -> tuple[list[str], list[dict]]:
    spans = spans or weeks(start, end)
    values: dict[str, list] = {key: [] for key in TREND}
    for a, b in spans:
        figures = {f["key"]: f for f in cards.compute(s, community, a, b)["figures"]}
        for key in TREND:
            values[key].append(figures[key]["value"])
    labels = []
    for a, b in spans:
        last = b - timedelta(seconds=1)
        if (b - a).days >= 28:  # a year's trend: by month
            labels.append(f"{a.month}月")
        else:
            labels.append(f"{a:%m/%d}" if last.date() == a.date() else f"{a:%m/%d}–{last:%d}")
    return labels, [{"name": cards.LABELS[k], "values": values[k]} for k in TREND]


def by_category(s, community: Community, start: datetime, end: datetime) -> list[tuple[str, int]]:
    """Tickets raised in the month: repairs by facility, complaints by category, the rest by kind."""
    raised = (
        Ticket.community_id == community.id,
        Ticket.created_at >= start,
        Ticket.created_at < end,
        Ticket.status != "cancelled",
    )
    counts: dict[str, int] = {}
    for facility, n in s.execute(
        select(Ticket.facility, func.count()).where(*raised, Ticket.kind == "repair").group_by(Ticket.facility)
    ):
        label = f"报修·{facility or '其他'}"
        counts[label] = counts.get(label, 0) + n
    for category, n in s.execute(
        select(Complaint.category, func.count())
        .join(Ticket, Ticket.id == Complaint.ticket_id)
        .where(*raised, Ticket.kind == "complaint")
        .group_by(Complaint.category)
    ):
        label = f"投诉·{CATEGORY_LABELS.get(category, category)}"
        counts[label] = counts.get(label, 0) + n
    for kind, n in s.execute(
        select(Ticket.kind, func.count())
        .where(*raised, Ticket.kind.not_in(("repair", "complaint")))
        .group_by(Ticket.kind)
    ):
        counts[KIND.get(kind, kind)] = n
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


@bp.get("/scorecard")
@require("scorecard")
def page():
    with db_session() as s:
        communities, community, month = _choice(s)
        if community is None:
            return render_template("scorecard.html", communities=[], card=None, month=month, error=None)
        try:
            card = _card(s, community, month)
        except cards.ScorecardError as exc:
            return render_template(
                "scorecard.html", communities=communities, community=community, card=None, month=month, error=str(exc)
            ), 400
        start, end = cards.year_period(month) if len(month) == 4 else cards.month_period(month)
        labels, series = trend(s, community, start, end, months(month) if len(month) == 4 else None)
        categories = by_category(s, community, start, end)
    return render_template(
        "scorecard.html",
        communities=communities,
        community=community,
        card=card,
        month=month,
        error=None,
        trend_svg=charts.line_chart(labels, series, "每月趋势" if len(month) == 4 else "每周趋势"),
        category_svg=charts.bar_chart(categories[:12], "按类别"),
        status=cards.status_label,
        response_labels=cards.RESPONSE_LABELS,
        renovation_labels=cards.RENOVATION_LABELS,
        spans=cards.SPAN_LABELS,
        fmt_hours=desk_card.format_hours,
        marks=desk_card.VERDICT_MARKS,
    )


@bp.get("/scorecard.csv")
@require("scorecard")
def export():
    with db_session() as s:
        _, community, month = _choice(s)
        if community is None:
            return Response("没有小区\n", 404, mimetype="text/plain")
        try:
            card = _card(s, community, month)
        except cards.ScorecardError as exc:
            return Response(str(exc) + "\n", 400, mimetype="text/plain; charset=utf-8")
    # BOM: Excel opens it as UTF-8, as the CLI's export does.
    body = "\ufeff" + cards.to_csv(card)
    return Response(
        body,
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="scorecard-{community.code}-{month}.csv"'},
    )
