"""Answers outside the repair form.

Fees, notices, outages and paid services get an honest answer that points to the service desk
until their own flows land; ticket status is answered from the records today.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.store import SETTINGS, db, entity, latest_text
from backend import owners, tickets
from backend.models import Community

log = logging.getLogger(__name__)

STATUS_WORDS = {
    "new": "已受理，正在安排师傅",
    "dispatched": "已派给师傅，等师傅接单",
    "accepted": "师傅已接单",
    "on_site": "师傅已到场维修",
    "done": "已完工，请您确认",
    "closed": "已完结",
    "cancelled": "已取消",
}


def desk(session, openid: str) -> Dict[str, str]:
    """The service desk of the owner's community (their bound home's; else the first one)."""
    house = owners.current_house(session, openid)
    community: Optional[Community] = owners.community_of(session, house) if house else None
    if community is None:
        community = session.execute(select(Community).order_by(Community.id).limit(1)).scalar_one_or_none()
    if community is None:
        return {"name": SETTINGS.company_name, "hotline": SETTINGS.service_hotline, "hours": "", "address": ""}
    return {
        "name": community.name,
        "hotline": community.hotline or SETTINGS.service_hotline,
        "hours": community.desk_hours or "",
        "address": community.address or "",
    }


def _desk_line(d: Dict[str, str]) -> str:
    line = f"物业服务中心电话 {d['hotline']}（24小时）"
    if d["address"]:
        line += f"，服务中心在{d['address']}"
    if d["hours"]:
        line += f"，上班时间 {d['hours']}"
    return line


class _DeskAnswer(Action):
    """An honest "not here yet" answer with the right desk's contact."""

    action_name = ""
    template = ""

    def name(self) -> Text:
        return self.action_name

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        with db() as session:
            d = desk(session, tracker.sender_id)
        dispatcher.utter_message(text=self.template.format(desk=_desk_line(d), hotline=d["hotline"]))
        return []


class AnswerFee(_DeskAnswer):
    action_name = "action_answer_fee"
    template = (
        "物业费账单的在线查询还在接入中，我这里暂时查不到您家的金额，抱歉 🙏\n"
        "欠费金额、收费标准、缴费方式和发票，都可以问物业服务中心：{desk}。"
    )


class AnswerNotice(_DeskAnswer):
    action_name = "action_answer_notice"
    template = (
        "小区通知公告的在线查询还在接入中，最新通知请看单元门口和电梯里的公告栏，"
        "或者问物业服务中心：{desk}。"
    )


class AnswerOutage(_DeskAnswer):
    action_name = "action_answer_outage"
    template = (
        "停水停电的通知还没有接入到我这里，暂时答不准，抱歉。具体时间请问物业服务中心：{desk}。\n"
        "如果是您家突然没水没电、别人家都正常，可能是家里的问题，跟我说「报修」就行。"
    )


class AnswerPaidService(_DeskAnswer):
    action_name = "action_answer_paid_service"
    template = (
        "有偿服务（开锁、家电清洗、管道疏通、家政等）的价目表还在整理上线中。"
        "价格和预约请问物业服务中心：{desk}。"
    )


class AnswerContact(_DeskAnswer):
    action_name = "action_answer_contact"
    template = "{desk}。\n报修、投诉也可以直接在这里跟我说，24小时都能受理。"


class RequestHuman(Action):
    def name(self) -> Text:
        return "action_request_human"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        with db() as session:
            owners.record_handoff(session, tracker.sender_id, latest_text(tracker) or "转人工")
            d = desk(session, tracker.sender_id)
        dispatcher.utter_message(
            text=f"好的，已经帮您转给人工客服，客服看到后会在这里回复您。着急的话可以直接打 {d['hotline']}（24小时有人接）。"
        )
        return []


class AnswerComplaint(Action):
    """Recorded for customer service to follow up; the full complaint flow comes later."""

    def name(self) -> Text:
        return "action_answer_complaint"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        text = latest_text(tracker)
        with db() as session:
            owners.record_handoff(session, tracker.sender_id, f"投诉：{text}")
            d = desk(session, tracker.sender_id)
        dispatcher.utter_message(
            text=(
                "给您添麻烦了，非常抱歉。您反映的情况我已经记录下来，转给了客服，会尽快联系您处理。"
                f"情况紧急的话请直接打物业电话 {d['hotline']}（24小时）。"
            )
        )
        return []


class AnswerBindHouse(_DeskAnswer):
    action_name = "action_answer_bind_house"
    template = (
        "在线绑定房屋马上开放。现在报修时告诉我地址就行，不影响办理；"
        "需要登记或核实业主信息，请联系{desk}。"
    )


class OutOfScope(Action):
    """Off-topic, or a bare answer with no question open. If it names a fault after all
    ("东门门禁刷不开 随时都可以"), the NLU missed a repair: start one rather than refuse."""

    response = "utter_capabilities"

    def name(self) -> Text:
        return "action_out_of_scope"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        from actions.repair import describes_a_fault

        if describes_a_fault(latest_text(tracker)):
            return [FollowupAction("repair_form")]
        dispatcher.utter_message(response=self.response)
        return []


class InformOutsideAFlow(OutOfScope):
    response = "utter_inform_without_context"

    def name(self) -> Text:
        return "action_inform_outside"


class AnswerTicketStatus(Action):
    def name(self) -> Text:
        return "action_answer_ticket_status"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        number = entity(tracker, "ticket_no")
        text = latest_text(tracker)
        urging = any(word in text for word in ("催", "怎么还没", "还没来", "太慢", "快点"))
        with db() as session:
            found = tickets.find_by_number(session, number) if number else None
            if found is not None and found.openid != tracker.sender_id:
                found = None  # someone else's ticket: say nothing about it
            mine = [found] if found else tickets.tickets_for(session, tracker.sender_id, limit=3)
            if not mine:
                d = desk(session, tracker.sender_id)
                dispatcher.utter_message(
                    text=f"没有查到您在这里提交的报修。如果是电话报的，可以问物业服务中心 {d['hotline']}；要新报修直接跟我说问题和地址。"
                )
                return []
            lines = []
            for t in mine:
                line = f"· {t.number}（{t.location_label}）{t.description[:20]}：{STATUS_WORDS.get(t.status, t.status)}"
                lines.append(line)
                if urging and t.status not in ("done", "closed", "cancelled"):
                    tickets.add_step(session, t, "note", f"owner:{tracker.sender_id}", "业主催单")
        reply = "您的报修进度：\n" + "\n".join(lines)
        if urging:
            reply += "\n已经帮您催了，会让师傅尽快联系您。"
        dispatcher.utter_message(text=reply)
        return []
