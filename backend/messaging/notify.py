"""What staff and owners are told about a ticket, and on which channel.

Staff tasks always go as template messages (a technician's window is rarely open). Owners get a
customer-service message while their window is open, else the progress template; the text
message carries its template so delivery can fall back if WeChat says the window has closed.

WeChat shows only a template's keyword fields, cut short (backend/messaging/templates.py builds
every template message, with its one truncation rule), so the facts go there, short. Template fields (configure templates with these):
  task:     keyword1 单号, keyword2 地点, keyword3 内容, keyword4 紧急程度, keyword5 时限
  progress: keyword1 单号, keyword2 报修内容, keyword3 进度, keyword4 处理人, keyword5 时间
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from backend.core.clock import SHANGHAI, aware_now
from backend.core.config import Settings
from backend.core.models import Staff, Ticket
from backend.messaging import delivery, templates, wechat_window
from backend.text import addresses, phones

URGENCY_LABELS = {"urgent": "紧急", "normal": "一般"}


def clock_label(at: datetime | None) -> str:
    return at.astimezone(SHANGHAI).strftime("%m-%d %H:%M") if at else ""


def _place(ticket: Ticket) -> str:
    return ticket.location_label or "（未写地址）"


def what_is_wrong(ticket: Ticket) -> str:
    """What is wrong, in the owner's words, without the address and phone they typed with it."""
    text = phones.MOBILE_RE.sub("", addresses.strip_address(ticket.description or ""))
    text = re.sub(r"(联系)?(电话|手机)(号码?)?\s*[:：是]?\s*(?=[\s，,。]|$)", "", text)
    text = re.sub(r"\s+", " ", text).strip(" ，,。.;；")
    return text or ticket.facility or "报修"


def _deadline(ticket: Ticket) -> str:
    if ticket.urgency == "urgent" and ticket.due_at:
        return f"{clock_label(ticket.due_at)}前到场"
    if ticket.preferred_time_label:
        return f"业主约 {ticket.preferred_time_label}"
    return f"{clock_label(ticket.due_at)}前处理" if ticket.due_at else "尽快联系业主"


def _link(settings: Settings, ticket: Ticket) -> str | None:
    return f"{settings.console_base_url}/tickets/{ticket.id}" if settings.console_base_url else None


# --- to staff --------------------------------------------------------------------------------------
def task(
    session: Session, settings: Settings, ticket: Ticket, person: Staff, assignment_id: int, note: str = ""
) -> None:
    """A new task for `person`: the template with the facts, once per assignment."""
    urgency = URGENCY_LABELS.get(ticket.urgency, ticket.urgency)
    lines = [
        f"【新维修任务】{ticket.number}（{urgency}）",
        f"地点：{_place(ticket)}",
        f"内容：{what_is_wrong(ticket)}",
        f"时限：{_deadline(ticket)}",
    ]
    if ticket.contact_phone:
        lines.append(f"业主电话：{ticket.contact_phone}")
    if note:
        lines.append(note)
    lines.append("回复「接单」确认，到了回复「到场」，修好回复「完工」。")
    text = "\n".join(lines)
    delivery.record(
        session,
        person.openid,
        "template",
        text,
        purpose="task",
        ticket_id=ticket.id,
        template=templates.message(
            settings.template_task,
            text,
            ticket.number,
            _place(ticket),
            what_is_wrong(ticket),
            urgency,
            _deadline(ticket),
            url=_link(settings, ticket),
        ),
        dedupe_key=f"task:{assignment_id}",
    )


def supervisors(
    session: Session,
    settings: Settings,
    ticket: Ticket,
    people: list[Staff],
    what: str,
    key: str,
    now: datetime | None = None,
) -> None:
    """Tell supervisors something needs them (a task nobody took, a transfer)."""
    urgency = URGENCY_LABELS.get(ticket.urgency, ticket.urgency)
    text = f"【需要您关注】{ticket.number}（{urgency}）\n地点：{_place(ticket)}\n内容：{what_is_wrong(ticket)}\n{what}"
    template = templates.message(
        settings.template_task,
        text,
        ticket.number,
        _place(ticket),
        what,
        urgency,
        _deadline(ticket),
        url=_link(settings, ticket),
    )
    for person in people:
        to_person(session, person.openid, text, template, "task", ticket, f"{key}:sup{person.id}", now)


# --- to owners -------------------------------------------------------------------------------------
def progress(
    session: Session,
    settings: Settings,
    ticket: Ticket,
    step: str,
    person: Staff | None,
    note: str = "",
    now: datetime | None = None,
) -> None:
    """Tell the owner about a step of their ticket: accepted | arrived | done | reassigned."""
    now = aware_now(now)
    name = person.name if person else "维修师傅"
    phone = f"（电话 {person.phone}）" if person and person.phone else ""
    what = what_is_wrong(ticket)
    texts = {
        "accepted": (
            f"您好，您的报修「{what}」（{ticket.number}）{name}已经接单，正在赶过去的路上{phone}。师傅到了会再告诉您。",
            f"{name}已接单，正在路上",
        ),
        "arrived": (f"{name}已到达现场（{_place(ticket)}），麻烦您开门配合一下，谢谢！", f"{name}已到场"),
        "done": (
            f"您报修的「{what}」已处理完成（{ticket.number}）。{note}\n"
            "麻烦您确认一下效果，方便的话给这次服务打个分：回复 1-5 分（5分最满意），也可以说说意见。"
            "如果问题还在，直接回复「还没修好」，我们马上安排。",
            "已完工，请确认评价",
        ),
    }
    text, stage = texts[step]
    template = templates.message(settings.template_progress, text, ticket.number, what, stage, name, clock_label(now))
    to_person(
        session,
        ticket.openid,
        text,
        template,
        "progress",
        ticket,
        f"progress:{ticket.id}:{step}:{person.id if person else 0}",
        now,
    )


RECEIVED_KINDS = {"repair": "报修", "complaint": "反映的问题", "suggestion": "意见建议"}
RECEIVED_CHANNELS = {"phone": "电话里", "walk_in": "到服务中心", "patrol": "", "wechat": ""}


def received(session: Session, settings: Settings, ticket: Ticket, now: datetime | None = None) -> None:
    """The desk took the owner's request by phone or at the desk: the bound owner gets its number
    in WeChat, and from then on every step, as with a request they wrote in themselves."""
    now = aware_now(now)
    what = RECEIVED_KINDS.get(ticket.kind, "报修")
    how = RECEIVED_CHANNELS.get(ticket.channel, "")
    said = f"您{how}说的" if how else "您的"
    follow = {
        "repair": "我们会尽快安排师傅，接单、到场和完工都会在这里告诉您。",
        "complaint": "客服会在2小时内处理并回复您。",
        "suggestion": "客服会在2小时内回复您，谢谢您的意见！",
    }.get(ticket.kind, "")
    text = f"您好，{said}{what}「{what_is_wrong(ticket)}」已经登记，单号 {ticket.number}。{follow}"
    template = templates.message(
        settings.template_progress,
        text,
        ticket.number,
        what_is_wrong(ticket),
        "已受理",
        "物业服务中心",
        clock_label(now),
    )
    to_person(session, ticket.openid, text, template, "progress", ticket, f"received:{ticket.id}", now)


def complaint_result(
    session: Session, settings: Settings, ticket: Ticket, result: str, now: datetime | None = None
) -> None:
    """A complaint was handled (办结): the owner hears what was done, and may say it is not solved."""
    now = aware_now(now)
    text = (
        f"您好，您反映的「{ticket.description}」（{ticket.number}）已经处理：{result}\n"
        "如果问题还没解决，直接回复「没解决」告诉我们，我们会继续跟进。谢谢您的监督！"
    )
    if ticket.kind == "suggestion":
        text = (
            f"您好，谢谢您提的建议「{ticket.description}」（{ticket.number}）。客服中心的回复：{result}\n"
            "还有什么想法随时告诉我们 🙏"
        )
    template = templates.message(
        settings.template_progress, text, ticket.number, ticket.description, "投诉已办结", "客服中心", clock_label(now)
    )
    to_person(
        session,
        ticket.openid,
        text,
        template,
        "progress",
        ticket,
        f"complaint-result:{ticket.id}:{int(now.timestamp())}",
        now,
    )


def to_person(
    session: Session,
    openid: str,
    text: str,
    template: dict,
    purpose: str,
    ticket: Ticket,
    key: str,
    now: datetime | None,
) -> None:
    if not openid:  # taken by phone or at the desk for an owner not bound in WeChat: they get calls
        return
    if wechat_window.custom_allowed(session, openid, now):
        delivery.record(
            session, openid, "custom", text, purpose=purpose, template=template, ticket_id=ticket.id, dedupe_key=key
        )
    else:
        delivery.record(
            session, openid, "template", text, purpose=purpose, template=template, ticket_id=ticket.id, dedupe_key=key
        )
