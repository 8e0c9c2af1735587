"""After a repair is done (验收 and 评价/回访): the owner's rating, a reminder, the revisit call.

完工 starts the feedback clock (backend/work/ticket_status.py; clocks: backend/service/sla.py).
The owner rates 1-5 in chat (any wording
backend/text/ratings.py understands); no rating in 24 h: one reminder; 48 h: a revisit task (回访)
for customer service, closed with `回访 BX… 结果` and recorded. A score of 2 or less opens a
follow-up for the supervisor (`跟进 BX… 结果`). "还没修好" puts the job back to dispatch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.clock import aware_now
from backend.core.config import load_settings
from backend.core.models import FollowUp, Rating, Staff, Ticket, TicketStep
from backend.core.statuses import TicketStatus
from backend.messaging import delivery, notify, templates
from backend.service import sla
from backend.text import ratings
from backend.work import staff as staff_records
from backend.work import ticket_status
from backend.work.tickets import add_step, find_by_number, owner_actor, staff_actor

log = logging.getLogger(__name__)

LOW_SCORE = 2
# A rating or "还没修好" is about a job finished this recently.
RATE_WITHIN = timedelta(days=14)
REOPEN_WITHIN = timedelta(days=7)
RATED_KINDS = ticket_status.DISPATCHED_KINDS
# The owner is taken to be answering our "请评价" this soon after the job was finished (or the
# reminder sent): a question or an off-topic message then gets the request asked again (issue 14).
ASKED_WITHIN = timedelta(minutes=30)


class FollowUpError(ValueError):
    """A revisit or follow-up cannot be recorded as asked; the message says why, in Chinese."""


def latest_done(session: Session, openid: str, now: datetime, within: timedelta = RATE_WITHIN) -> Ticket | None:
    """The owner's most recently finished repair: unrated ones first."""
    found = (
        session.execute(
            select(Ticket)
            .where(
                Ticket.openid == openid,
                Ticket.kind.in_(RATED_KINDS),
                Ticket.status.in_(("done", "closed")),
                Ticket.updated_at >= now - within,
            )
            .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
            .limit(10)
        )
        .scalars()
        .all()
    )
    unrated = [t for t in found if session.execute(select(Rating.id).where(Rating.ticket_id == t.id)).first() is None]
    return (unrated or found or [None])[0]


def rating_asked(session: Session, openid: str, now: datetime | None = None) -> Ticket | None:
    """The finished job whose score we have just asked for (完工 or the reminder within
    ASKED_WITHIN) and the owner has not given yet; None otherwise."""
    now = aware_now(now)
    ticket = latest_done(session, openid, now)
    if ticket is None or ticket.status != TicketStatus.DONE.value:
        return None
    if session.execute(select(Rating.id).where(Rating.ticket_id == ticket.id)).first() is not None:
        return None
    asked = session.execute(
        select(TicketStep.at)
        .where(TicketStep.ticket_id == ticket.id, TicketStep.kind.in_(("done", "reminded")))
        .order_by(TicketStep.at.desc())
        .limit(1)
    ).scalar()
    if asked is None or asked < now - ASKED_WITHIN:
        return None
    return ticket


@dataclass
class Recorded:
    ticket: Ticket
    rating: Rating
    follow_up: FollowUp | None
    reopened: bool


def record_rating(
    session: Session, openid: str, text: str, now: datetime | None = None, score: int | None = None
) -> Recorded | None:
    """Record what the owner said as the rating of their latest finished job. None when there
    is no job to rate or no score in the words (and none given)."""
    now = aware_now(now)
    parsed = ratings.parse_rating(text)
    if parsed is None and score is None:
        return None
    score = parsed.score if parsed is not None else score
    comment = parsed.comment if parsed is not None else (text or "").strip()
    ticket = latest_done(session, openid, now)
    if ticket is None:
        return None
    rating = session.execute(select(Rating).where(Rating.ticket_id == ticket.id)).scalar_one_or_none()
    if rating is None:
        rating = Rating(
            ticket_id=ticket.id, openid=openid, score=score, comment=comment, source="owner", created_at=now
        )
        session.add(rating)
    else:  # the owner changed their mind: the latest word counts
        rating.score, rating.comment, rating.source, rating.created_at = score, comment, "owner", now
    session.flush()
    sla.stop(session, ticket, "feedback", now)
    add_step(
        session, ticket, "rated", owner_actor(openid), note=f"{score}分" + (f"：{comment}" if comment else ""), at=now
    )
    reopened = False
    if ratings.says_not_fixed(text) and ticket.status == "done":
        _reopen(session, ticket, openid, text, now)
        reopened = True
    elif ticket.status == "done":  # accepted by the owner (验收)
        ticket_status.move(session, ticket, TicketStatus.CLOSED, owner_actor(openid), now=now)
    follow_up = open_low_score(session, ticket, rating, now) if score <= LOW_SCORE else None
    log.info("rating recorded", extra={"ticket": ticket.number, "score": score})
    return Recorded(ticket, rating, follow_up, reopened)


# --- follow-ups ------------------------------------------------------------------------------------
def _open(session: Session, ticket: Ticket, kind: str, person: Staff | None, now: datetime) -> FollowUp | None:
    found = session.execute(
        select(FollowUp).where(FollowUp.ticket_id == ticket.id, FollowUp.kind == kind)
    ).scalar_one_or_none()
    if found is not None:
        return None
    item = FollowUp(ticket_id=ticket.id, kind=kind, staff_id=person.id if person else None, opened_at=now)
    try:
        with session.begin_nested():
            session.add(item)
            session.flush()
    except IntegrityError:
        return None
    return item


def _revisit_staff(session: Session, ticket: Ticket, now: datetime) -> list[Staff]:
    people = [p for p in staff_records.on_duty(session, now, ticket.community_id, role="customer_service") if p.openid]
    return people[:1] or staff_records.supervisors(session, ticket.community_id, now)


def _task(session: Session, people: list[Staff], ticket: Ticket, title: str, what: str, reply: str, key: str) -> None:
    settings = load_settings()
    text = (
        f"【{title}】{ticket.number}\n地点：{ticket.location_label or '（未写）'}\n"
        f"内容：{notify.what_is_wrong(ticket)}\n{what}\n{reply}"
    )
    if ticket.contact_phone:
        text += f"\n业主电话：{ticket.contact_phone}"
    for person in people:
        delivery.record(
            session,
            person.openid,
            "template",
            text,
            purpose="task",
            ticket_id=ticket.id,
            template=templates.message(
                settings.template_task, text, ticket.number, ticket.location_label or "（未写）", what, title, "今天内"
            ),
            dedupe_key=f"{key}:{person.id}",
        )


def open_revisit(session: Session, ticket: Ticket, now: datetime) -> FollowUp | None:
    """48 h without a rating: a revisit call (回访) for customer service, once."""
    if ticket.status == "cancelled":
        return None
    people = _revisit_staff(session, ticket, now)
    item = _open(session, ticket, "revisit", people[0] if people else None, now)
    if item is None:
        return None
    add_step(session, ticket, "revisit_opened", "system", note="业主48小时未评价，转人工回访", at=now)
    _task(
        session,
        people,
        ticket,
        "回访任务",
        "业主48小时未评价，请电话回访",
        f"回访后回复「回访 {ticket.number} 业主意见 分数」，比如「回访 {ticket.number} 已修好很满意 5分」。",
        f"revisit:{ticket.id}",
    )
    return item


def open_low_score(session: Session, ticket: Ticket, rating: Rating, now: datetime) -> FollowUp | None:
    """A score of 2 or less: the supervisor follows it up, once per ticket."""
    people = staff_records.supervisors(session, ticket.community_id, now)
    item = _open(session, ticket, "low_score", people[0] if people else None, now)
    if item is None:
        return None
    add_step(session, ticket, "follow_up_opened", "system", note=f"业主评{rating.score}分，主管跟进", at=now)
    said = f"业主评{rating.score}分" + (f"：{rating.comment}" if rating.comment else "")
    _task(
        session,
        people,
        ticket,
        "差评跟进",
        said,
        f"了解情况后回复「跟进 {ticket.number} 处理结果」。",
        f"lowscore:{ticket.id}",
    )
    return item


def remind(session: Session, ticket: Ticket, now: datetime) -> None:
    """24 h after 完工 without a rating: ask the owner once more, kindly."""
    if ticket.status != "done":
        return
    settings = load_settings()
    what = notify.what_is_wrong(ticket)
    text = (
        f"您好，您报修的「{what}」（{ticket.number}）修好一天了，现在用着还好吗？\n"
        "方便的话回复 1-5 分给这次服务打个分（5分最满意），也可以说说意见；如果问题还在，回复「还没修好」。"
    )
    template = templates.message(
        settings.template_progress, text, ticket.number, what, "已完工，请评价", "客服中心", notify.clock_label(now)
    )
    notify.to_person(session, ticket.openid, text, template, "progress", ticket, f"remind:{ticket.id}", now)
    add_step(session, ticket, "reminded", "system", note="24小时未评价，已提醒业主", at=now)


def record_follow_up(
    session: Session, person: Staff, kind: str, number: str | None, text: str, now: datetime | None = None
) -> tuple[FollowUp, Ticket, int | None]:
    """回访 / 跟进 from staff: closes the open item with what they found. A score in a revisit
    result ("已修好很满意 5分") becomes the rating, if the owner gave none."""
    now = aware_now(now)
    text = (text or "").strip()
    word = "回访" if kind == "revisit" else "跟进"
    if number:
        ticket = find_by_number(session, number)
        if ticket is None:
            raise FollowUpError(f"没有找到单号 {number}。")
        item = session.execute(
            select(FollowUp).where(FollowUp.ticket_id == ticket.id, FollowUp.kind == kind)
        ).scalar_one_or_none()
        if item is None and kind == "revisit" and ticket.status in ("done", "closed"):
            item = _open(session, ticket, "revisit", person, now)  # a call made before the 48 h
    else:
        item = session.execute(
            select(FollowUp)
            .where(
                FollowUp.kind == kind,
                FollowUp.closed_at.is_(None),
                (FollowUp.staff_id == person.id) | FollowUp.staff_id.is_(None),
            )
            .order_by(FollowUp.opened_at.desc(), FollowUp.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        ticket = session.get(Ticket, item.ticket_id) if item else None
    if item is None:
        raise FollowUpError(f"没有待{word}的单。{word}某一单请写上单号，比如「{word} BX261123001 业主表示满意 5分」。")
    if not text:
        raise FollowUpError(f"请写上{word}结果，比如「{word} {ticket.number} 业主表示已修好 5分」。")
    if item.closed_at is not None:
        raise FollowUpError(f"{ticket.number} 已经{word}过了：{item.result}")
    item.result, item.closed_at, item.closed_by_id = text, now, person.id
    add_step(
        session, ticket, "revisited" if kind == "revisit" else "followed_up", staff_actor(person.id), note=text, at=now
    )
    score = None
    parsed = ratings.parse_rating(text) if kind == "revisit" else None
    if parsed is not None and session.execute(select(Rating.id).where(Rating.ticket_id == ticket.id)).first() is None:
        score = parsed.score
        session.add(
            Rating(
                ticket_id=ticket.id, openid=ticket.openid, score=score, comment=text, source="revisit", created_at=now
            )
        )
        session.flush()
        if ticket.status == "done":
            ticket_status.move(session, ticket, TicketStatus.CLOSED, staff_actor(person.id), now=now, person=person)
    return item, ticket, score


# --- "还没修好" ------------------------------------------------------------------------------------
def _reopen(session: Session, ticket: Ticket, openid: str, text: str, now: datetime) -> None:
    ticket_status.move(session, ticket, TicketStatus.NEW, owner_actor(openid), reason=text or "业主说还没修好", now=now)


def reopen_latest(session: Session, openid: str, text: str, now: datetime | None = None) -> Ticket | None:
    """The owner says the job they were asked to rate is not fixed: send someone again."""
    now = aware_now(now)
    ticket = session.execute(
        select(Ticket)
        .where(
            Ticket.openid == openid,
            Ticket.kind.in_(RATED_KINDS),
            Ticket.status.in_(("done", "closed")),
            Ticket.updated_at >= now - REOPEN_WITHIN,
        )
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if ticket is None:
        return None
    _reopen(session, ticket, openid, text, now)
    return ticket
