"""Owner replies that answer something we asked them, read before the assistant sees them.

- an answer to the satisfaction survey question waiting for them;
- "还没修好" / "没解决" (without a score) right after a job was finished or a complaint closed:
  the job goes back to dispatch, the complaint back to the desk.

Ratings themselves go through the assistant (intent rate_service → action_answer_rating →
backend.service.aftercare.record_rating). Anything else returns None: the assistant answers as usual.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.clock import aware_now
from backend.core.models import Complaint, Ticket
from backend.service import aftercare, complaints, survey
from backend.text import ratings

COMPLAINT_REOPEN_WITHIN = timedelta(days=3)


def answer(session: Session, openid: str, text: str, now: datetime | None = None) -> list[str] | None:
    now = aware_now(now)
    if not text or text.startswith("/"):
        return None
    replies = survey.answer(session, openid, text, now)
    if replies is not None:
        return replies
    if ratings.says_not_fixed(text) and ratings.parse_rating(text) is None:
        return _not_fixed(session, openid, text, now)
    return None


def _latest_handled_complaint(session: Session, openid: str, now: datetime) -> Ticket | None:
    return session.execute(
        select(Ticket)
        .join(Complaint, Complaint.ticket_id == Ticket.id)
        .where(
            Ticket.openid == openid,
            Ticket.kind == "complaint",
            Ticket.status == "done",
            Complaint.handled_at >= now - COMPLAINT_REOPEN_WITHIN,
        )
        .order_by(Complaint.handled_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def _not_fixed(session: Session, openid: str, text: str, now: datetime) -> list[str] | None:
    repair = aftercare.latest_done(session, openid, now, within=aftercare.REOPEN_WITHIN)
    complaint = _latest_handled_complaint(session, openid, now)
    if complaint is not None and (repair is None or complaint.updated_at > repair.updated_at):
        complaints.reopen(session, complaint, openid, text, now)
        return [f"抱歉，问题还没解决 🙏 投诉 {complaint.number} 已经重新交给客服和主管跟进，会尽快联系您。"]
    if repair is None:
        return None
    ticket = aftercare.reopen_latest(session, openid, text, now)
    if ticket is None:
        return None
    return [f"真抱歉给您添麻烦了 🙏 报修 {ticket.number} 已经重新派单，师傅会尽快再上门，出发前会联系您。"]
