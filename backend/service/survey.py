"""The yearly owners' satisfaction survey (满意度调查), asked in chat.

Staff start it for a community (`python -m backend survey start --community XFL`); every owner
with a current WeChat binding there gets the first question (a customer-service message inside
their 48-hour window, else the progress template). Their replies are read before the assistant
sees them (backend/owners/owner_desk.py) while a question waits for them: scores in any wording
backend/text/ratings.py understands, then one free-text suggestion. Satisfaction = overall scores of
4 or 5 among those who answered the overall question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.clock import SHANGHAI, aware_now
from backend.core.config import load_settings
from backend.core.models import Building, Community, House, Survey, SurveyAnswer, SurveyInvite, WechatBinding
from backend.messaging import delivery, notify, templates, wechat_window
from backend.text import flow_words, ratings

# (key, question, scored)
QUESTIONS = [
    ("overall", "总体来说，您对今年的物业服务满意吗？回复 1-5 分就行（5分最满意）。", True),
    ("repairs", "对报修维修服务满意吗？也是回复 1-5 分。", True),
    ("suggestion", "最后，您对物业还有什么意见或建议？直接回复就好，没有就回「没有」。", False),
]
OPEN_FOR = timedelta(days=14)
# A free-text answer is taken only this soon after the previous answer, so a later unrelated
# message ("物业电话多少") is not filed as a suggestion.
TEXT_ANSWER_WITHIN = timedelta(minutes=30)
# The owner is taken to be in the middle of the survey this soon after it was sent or last
# answered: a question or an off-topic message then gets our question asked again (issue 14).
IN_PROGRESS_WITHIN = timedelta(minutes=30)
SATISFIED = 4
_ABOUT_SURVEY = re.compile(r"填|问卷|调查|答|评")


class SurveyError(ValueError):
    """The survey cannot be started as asked; the message says why, in Chinese."""


def _ask(n: int) -> str:
    return f"第{n + 1}题（共{len(QUESTIONS)}题）：{QUESTIONS[n][1]}"


def start(
    session: Session, community: Community, year: int | None = None, started_by: str = "", now: datetime | None = None
) -> tuple[Survey, int]:
    """Start the year's survey for `community` and ask every bound owner. Returns (survey, asked)."""
    now = aware_now(now)
    year = year or now.astimezone(SHANGHAI).year
    if session.execute(select(Survey.id).where(Survey.community_id == community.id, Survey.year == year)).first():
        raise SurveyError(f"{community.name} {year} 年的满意度调查已经发起过了。")
    owners = session.execute(
        select(WechatBinding.openid, func.min(WechatBinding.house_id))
        .join(House, House.id == WechatBinding.house_id)
        .join(Building, Building.id == House.building_id)
        .where(Building.community_id == community.id, WechatBinding.is_current.is_(True))
        .group_by(WechatBinding.openid)
        .order_by(WechatBinding.openid)
    ).all()
    if not owners:
        raise SurveyError(f"{community.name} 还没有业主绑定微信，没法在微信里发问卷。")
    survey = Survey(community_id=community.id, year=year, started_at=now, started_by=started_by)
    session.add(survey)
    session.flush()
    settings = load_settings()
    intro = (
        f"您好！{community.name}一年一度的业主满意度调查开始了，只有{len(QUESTIONS)}个小问题，"
        f"耽误您半分钟 🙏\n{_ask(0)}"
    )
    for openid, house_id in owners:
        invite = SurveyInvite(survey_id=survey.id, openid=openid, house_id=house_id, sent_at=now, step=0)
        session.add(invite)
        template = templates.message(
            settings.template_progress,
            intro,
            "满意度调查",
            community.name,
            "请回复1-5分",
            "物业服务中心",
            notify.clock_label(now),
        )
        channel = "custom" if wechat_window.custom_allowed(session, openid, now) else "template"
        delivery.record(
            session,
            openid,
            channel,
            intro,
            purpose="notice",
            template=template,
            dedupe_key=f"survey:{survey.id}:{openid}",
        )
    session.flush()
    return survey, len(owners)


def waiting_invite(session: Session, openid: str, now: datetime) -> SurveyInvite | None:
    return session.execute(
        select(SurveyInvite)
        .where(
            SurveyInvite.openid == openid, SurveyInvite.finished_at.is_(None), SurveyInvite.sent_at >= now - OPEN_FOR
        )
        .order_by(SurveyInvite.sent_at.desc(), SurveyInvite.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def question_waiting(session: Session, openid: str, now: datetime | None = None) -> str | None:
    """The survey question the owner was just asked (sent or answered within IN_PROGRESS_WITHIN),
    as we ask it; None when no survey is in progress with them."""
    now = aware_now(now)
    invite = waiting_invite(session, openid, now)
    if invite is None or (invite.last_answer_at or invite.sent_at) < now - IN_PROGRESS_WITHIN:
        return None
    return _ask(invite.step)


def decline(session: Session, openid: str, now: datetime | None = None) -> bool:
    """The owner does not want to go on (不填了): the invite stops waiting, with the answers so far.
    False when no survey was waiting. A declined invite is not counted as finished."""
    now = aware_now(now)
    invite = waiting_invite(session, openid, now)
    if invite is None:
        return False
    invite.finished_at = now
    session.flush()
    return True


DECLINED_REPLY = "好的，问卷就先不填了，不打扰您了 🙏 有什么需要随时找我。"


def answer(session: Session, openid: str, text: str, now: datetime | None = None) -> list[str] | None:
    """Replies when `text` answers the owner's waiting survey question (or stops the survey:
    不填了 / 算了); None when it does not (the assistant then reads it as usual, and asks the
    survey question again after answering, actions/interruptions.py)."""
    now = aware_now(now)
    invite = waiting_invite(session, openid, now)
    if invite is None or not text or text.startswith("/"):
        return None
    key, _, scored = QUESTIONS[invite.step]
    in_progress = (invite.last_answer_at or invite.sent_at) >= now - IN_PROGRESS_WITHIN
    if in_progress and flow_words.cancels(text) and _ABOUT_SURVEY.search(text) and ratings.parse_rating(text) is None:
        # "不填了" / "问卷不做了". A bare "算了" may be about a form the owner has open with the
        # assistant: it goes there (action_cancel_outside stops the survey when nothing else is open).
        decline(session, openid, now)
        return [DECLINED_REPLY]
    score = None
    if scored:
        parsed = ratings.parse_rating(text)
        if parsed is None:
            return None
        score = parsed.score
    elif invite.last_answer_at is None or invite.last_answer_at < now - TEXT_ANSWER_WITHIN:
        return None
    elif flow_words.asks_instead(text):
        return None  # "物业电话多少" is a question to us, not the owner's suggestion
    session.add(SurveyAnswer(invite_id=invite.id, question=key, score=score, text=text.strip()[:500], at=now))
    invite.step += 1
    invite.last_answer_at = now
    if invite.step >= len(QUESTIONS):
        invite.finished_at = now
        session.flush()
        return ["谢谢您花时间填写！您的意见我们都会认真看，有不满意的地方我们一定改进 🙏"]
    session.flush()
    thanks = "收到，谢谢！" if score is None or score >= SATISFIED else "收到，给您添麻烦了，我们会改进。"
    return [f"{thanks}\n{_ask(invite.step)}"]


@dataclass
class SurveyResult:
    invited: int
    responded: int
    finished: int
    overall_answers: int
    satisfied: int
    mean: dict

    @property
    def satisfaction(self) -> float | None:
        return self.satisfied / self.overall_answers if self.overall_answers else None


def results(session: Session, survey: Survey) -> SurveyResult:
    invites = session.execute(select(SurveyInvite).where(SurveyInvite.survey_id == survey.id)).scalars().all()
    ids = [i.id for i in invites]
    answers = (
        session.execute(select(SurveyAnswer).where(SurveyAnswer.invite_id.in_(ids))).scalars().all() if ids else []
    )
    overall = [a.score for a in answers if a.question == "overall" and a.score is not None]
    mean = {}
    for key, _, scored in QUESTIONS:
        scores = [a.score for a in answers if a.question == key and a.score is not None]
        if scored and scores:
            mean[key] = round(sum(scores) / len(scores), 2)
    return SurveyResult(
        invited=len(invites),
        responded=len({a.invite_id for a in answers}),
        # Declined invites (不填了) stop waiting before the last question: not finished.
        finished=sum(1 for i in invites if i.finished_at is not None and i.step >= len(QUESTIONS)),
        overall_answers=len(overall),
        satisfied=sum(1 for s in overall if s >= SATISFIED),
        mean=mean,
    )
