"""Decoration (装修) in chat: the application form and answers from the community's rules.

「我要装修」 starts renovation_form for the owner's bound home: what work, the contractor and its
phone, the dates, how many workers, then a summary to confirm. Every message during the form is
read as the answer to the open question (and may also carry other answers: dates, a phone, a
number of workers). A question to us (装修押金多少, 物业电话多少), something off-topic, 不办了 / 算了,
a goodbye or 转人工 are read the way every flow reads them (actions/interruptions.py): answered or
declined, then the open question asked again. The first question comes with the community's
rules, imported by staff (backend/work/renovation.py answers from them).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import interruptions
from actions.fees import today
from actions.home import HOW_TO_BIND, where, which_community
from actions.interruptions import Turn
from actions.store import db, latest_text, source_key
from backend.core.statuses import RenovationStatus
from backend.owners import accounts as owners
from backend.text import phones
from backend.text.addresses import cn_numeral_to_digits, normalize_numbers
from backend.text.date_spans import parse_span
from backend.work import renovation

FORM_SLOTS = (
    "renovation_house_id",
    "renovation_work",
    "renovation_contractor",
    "renovation_contractor_name",
    "renovation_contractor_phone",
    "renovation_dates",
    "renovation_start",
    "renovation_end",
    "renovation_workers",
    "renovation_confirmed",
    "renovation_retry",
)
FLOW = interruptions.form(
    interruptions.Flow(
        "renovation_form",
        "装修申请",
        "想接着办的时候跟我说「我要装修」就行",
        FORM_SLOTS,
        cancelled="utter_renovation_cancelled",
        unfinished="好的，装修申请还没有提交。需要的时候说「我要装修」，我们再接着来。再见！",
    )
)
_WORK_WORDS = re.compile(
    r"厨房|卫生间|厕所|客厅|卧室|阳台|地板|地砖|瓷砖|墙|吊顶|水电|橱柜|翻新|刷|铺|封|门窗|全屋|局部|"
    r"精装|硬装|软装|改造|打孔|防水|衣柜"
)
_YES = re.compile(r"^(对|对的|是|是的|没错|确认|确定|没问题|好|好的|可以|行|提交|嗯+|ok|OK|yes)[啊呀吧的了!！。.]*$")
_NO = re.compile(r"不对|不是|错了|要改|改一下|修改")
_WORKERS = re.compile(r"(\d{1,3})\s*(?:个|名|位)?\s*(?:人|工人|师傅|施工人员)")
_BARE_NUMBER = re.compile(r"^\s*(\d{1,3})\s*(?:个|名|位)?\s*$")
_FILLER = re.compile(
    r"(装修公司|施工队|施工方|公司名称|名称|联系人|联系电话|电话|手机|号码|是|叫|找的|请的|[:：，,。\s])"
)
TOPICS = [
    ("hours", r"时间|几点|周末|周六|周日|星期|礼拜|节假日|中午|晚上|早上|电钻|打钻"),
    ("deposit", r"押金|保证金|交.*钱|退"),
    ("documents", r"材料|资料|手续|证件|出入证|带什么|流程|审批|办"),
    ("forbidden", r"拆|承重|燃气|煤气|管道|移位|不能|禁止|可以.*吗|能.*吗|封|外机"),
]
STATUS_WORDS = re.compile(r"(申请|审批).*(批了|通过|到哪|怎么样|进度|结果|了没|了吗)")


_CN_COUNT = re.compile(r"[一二两三四五六七八九十]+(?=\s*(?:个|名|位|人|工人|师傅))")


def _workers(text: str, bare: bool) -> Optional[int]:
    text = normalize_numbers(text)
    text = _CN_COUNT.sub(lambda m: cn_numeral_to_digits(m.group().replace("两", "二")), text)
    m = _WORKERS.search(text) or (_BARE_NUMBER.match(text) if bare else None)
    return int(m.group(1)) if m else None


def _contractor(text: str) -> tuple[str, Optional[str]]:
    phone = phones.extract_mobile(text)
    rest = phones.MOBILE_RE.sub(" ", text or "")
    name = _FILLER.sub("", rest).strip()[:100]
    return name, phone


class ValidateRenovationForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_renovation_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        return await self.get_extraction_events(dispatcher, tracker, domain)

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        slot = tracker.get_slot
        text = latest_text(tracker).strip()
        requested = slot("requested_slot")
        stop = [ActiveLoop(None), SlotSet("requested_slot", None)] + [SlotSet(n, None) for n in FORM_SLOTS]
        # A phone, dates, a number or a yes told while we ask for them is the answer, whatever
        # the NLU called it ("3" may come out as a rating); the free-text first answer is not.
        turn = interruptions.read(
            tracker, answers=lambda t: requested != "renovation_work" and self._answers(t, requested)
        )
        if turn in (Turn.CANCEL, Turn.GOODBYE):
            return interruptions.stop(dispatcher, tracker, FLOW, turn)
        if turn in (Turn.QUESTION, Turn.BACK):
            # A question mid-form (装修押金多少) is answered by its rule; the form then asks again.
            return []
        events: Dict[str, Any] = {}
        if slot("renovation_house_id") is None:
            problem, house_id = self._house(tracker.sender_id)
            if problem:
                dispatcher.utter_message(text=problem)
                return stop
            events["renovation_house_id"] = house_id
        if not text:
            return [SlotSet(k, v) for k, v in events.items()] + [SlotSet("renovation_retry", False)]
        if turn is Turn.OFF_TOPIC and not self._answers(text, requested):
            return []  # declined by action_out_of_scope; the form asks again
        retry = False
        # The answer to the open question.
        if requested == "renovation_work":
            events["renovation_work"] = text[:300]
        elif requested is None and not slot("renovation_work") and _WORK_WORDS.search(text):
            events["renovation_work"] = text[:300]
        if requested == "renovation_contractor":
            name, phone = _contractor(text)
            name = name or slot("renovation_contractor_name") or ""
            phone = phone or slot("renovation_contractor_phone")
            if name:
                events["renovation_contractor_name"] = name
            if phone:
                events["renovation_contractor_phone"] = phone
            if name and phone:
                events["renovation_contractor"] = f"{name}（{phones.mask(phone)}）"
            else:
                retry = True
        elif (
            requested not in (None, "renovation_work") and phones.extract_mobile(text) and slot("renovation_contractor")
        ):
            phone = phones.extract_mobile(text)  # a corrected phone at any later question
            events["renovation_contractor_phone"] = phone
            events["renovation_contractor"] = f"{slot('renovation_contractor_name')}（{phones.mask(phone)}）"
        if requested not in ("renovation_work", "renovation_contractor"):
            span = parse_span(text, today())
            if span is not None:
                start = span.start
                end = span.end or (date.fromisoformat(slot("renovation_end")) if slot("renovation_end") else None)
                events["renovation_start"] = start.isoformat()
                if end is not None and end >= start:
                    events["renovation_end"] = end.isoformat()
                    events["renovation_dates"] = f"{start.month}月{start.day}日 至 " + (
                        f"{end.month}月{end.day}日"
                        if end.year == start.year
                        else f"{end.year}年{end.month}月{end.day}日"
                    )
                elif requested == "renovation_dates":
                    retry = True
            elif requested == "renovation_dates":
                retry = True
            workers = _workers(text, bare=requested == "renovation_workers")
            if workers is not None and 1 <= workers <= renovation.MAX_WORKERS:
                events["renovation_workers"] = workers
            elif requested == "renovation_workers":
                retry = True
        if requested == "renovation_confirmed":
            changed = any(k in events for k in ("renovation_dates", "renovation_workers", "renovation_contractor"))
            if _YES.match(text) and not changed:
                events["renovation_confirmed"] = True
            elif not changed:
                if not _NO.search(text):
                    retry = True
                dispatcher.utter_message(response="utter_renovation_what_to_change")
                events["renovation_confirmed"] = None
        events["renovation_retry"] = retry
        return [SlotSet(k, v) for k, v in events.items()] + interruptions.answered(tracker)

    @staticmethod
    def _answers(text: str, requested: Optional[str]) -> bool:
        """Whether a message the NLU took for off-topic still answers the open question."""
        if requested == "renovation_work":
            return bool(_WORK_WORDS.search(text))
        if requested == "renovation_contractor":
            return bool(phones.extract_mobile(text))
        if requested == "renovation_dates":
            return parse_span(text, today()) is not None
        if requested == "renovation_workers":
            return _workers(text, bare=True) is not None
        if requested == "renovation_confirmed":
            return bool(_YES.match(text) or _NO.search(text))
        return False

    @staticmethod
    def _house(openid: str) -> tuple[Optional[str], Optional[int]]:
        with db() as session:
            house = owners.current_house(session, openid)
            if house is None:
                return f"申请装修要先绑定您家的房屋哦。{HOW_TO_BIND}", None
            existing = renovation.open_for_house(session, house.id)
            if existing is not None:
                label = renovation.STATUS_LABELS[existing.status]
                return (
                    f"您家 {house.label} 已经有一份装修申请（{existing.number}，{label}），不用重复申请。"
                    "想了解进度可以问我「装修申请批了没」。"
                ), None
            return None, house.id


class AskRenovationWork(Action):
    """The first question, with the community's rules in front of it."""

    def name(self) -> Text:
        return "action_ask_renovation_work"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if tracker.get_slot("renovation_retry"):
            dispatcher.utter_message(text="麻烦说一下这次装修做哪些项目，比如「厨房卫生间翻新、客厅铺木地板」。")
            return []
        if tracker.get_slot("requested_slot") == "renovation_work":
            # Asked again after a question or an off-topic message: the rules were told already.
            dispatcher.utter_message(text="请问这次装修做哪些项目？比如「厨房卫生间翻新、客厅铺木地板」。")
            return []
        with db() as session:
            place = where(session, tracker.sender_id)
            rule = renovation.rules_for(session, place.community.id if place.community else None)
            intro = renovation.rules_answer(rule, place.community.name) if rule else ""
            label = place.house.label if place.house else ""
        head = f"好的，帮您办理 {label} 的装修申请 🏠"
        if intro:
            dispatcher.utter_message(text=f"{head}\n先跟您说一下小区的规定：\n{intro}")
        else:
            dispatcher.utter_message(text=f"{head}\n装修规定物业服务中心会在审批时跟您确认。")
        dispatcher.utter_message(text="请问这次装修做哪些项目？比如「厨房卫生间翻新、客厅铺木地板」。")
        return []


class AskRenovationConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_renovation_confirmed"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        slot = tracker.get_slot
        dispatcher.utter_message(
            text=(
                "请核对一下装修申请：\n"
                f"· 装修项目：{slot('renovation_work')}\n"
                f"· 装修公司：{slot('renovation_contractor')}\n"
                f"· 施工日期：{slot('renovation_dates')}\n"
                f"· 施工人数：{int(slot('renovation_workers'))}人\n"
                "没问题的话回复「确认」提交；要改哪里直接告诉我新的内容。"
            )
        )
        return []


class SubmitRenovation(Action):
    def name(self) -> Text:
        return "action_submit_renovation"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        slot = tracker.get_slot
        clear = [SlotSet(n, None) for n in FORM_SLOTS]
        if not slot("renovation_confirmed") or not slot("renovation_house_id"):
            return clear  # cancelled, or stopped before it began (the reason was said)
        request = renovation.ApplicationRequest(
            openid=tracker.sender_id,
            house_id=int(slot("renovation_house_id")),
            work=slot("renovation_work"),
            contractor=slot("renovation_contractor_name") or "",
            contractor_phone=slot("renovation_contractor_phone") or "",
            starts_on=date.fromisoformat(slot("renovation_start")),
            ends_on=date.fromisoformat(slot("renovation_end")),
            workers=int(slot("renovation_workers")),
            source_key=source_key(tracker),
        )
        try:
            with db() as session:
                app = renovation.apply(session, request)
                number, rule = app.number, renovation.rules_for(session, app.community_id)
                documents = renovation.lines_of(rule.documents) if rule else []
                deposit = app.deposit
        except renovation.RenovationError as exc:
            dispatcher.utter_message(text=str(exc))
            return clear
        reply = f"装修申请已经提交啦，编号 {number} ✅\n物业审批后会在微信里第一时间告诉您。"
        if deposit:
            reply += f"\n审批通过后请到物业服务中心交装修押金 {deposit:.0f} 元"
            reply += "，并带上：" + "、".join(documents) + "。" if documents else "。"
        dispatcher.utter_message(text=reply)
        return clear


class AnswerRenovation(Action):
    """The community's decoration rules (the asked part first), or how the owner's own
    application is going."""

    def name(self) -> Text:
        return "action_answer_renovation"

    @interruptions.asks_again
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        text = latest_text(tracker)
        with db() as session:
            if STATUS_WORDS.search(text):
                app = renovation.latest_for_owner(session, tracker.sender_id)
                if app is not None:
                    dispatcher.utter_message(text=status_text(app))
                    return []
            place = where(session, tracker.sender_id, text)
            if place.community is None:
                dispatcher.utter_message(text=which_community(place.choices, "装修规定"))
                return []
            rule = renovation.rules_for(session, place.community.id)
            community = place.community
            if rule is None:
                reply = (
                    f"{community.name}的装修规定还没有录入到我这里 🙏 请联系物业服务中心"
                    f"{'（' + community.hotline + '）' if community.hotline else ''}了解。"
                )
            else:
                topic = next((name for name, words in TOPICS if re.search(words, text)), None)
                reply = renovation.rules_answer(rule, community.name, topic)
                if tracker.active_loop.get("name") != "renovation_form":  # not while applying already
                    reply += "\n要装修的话跟我说「我要装修」，可以直接在这里提交申请。"
        dispatcher.utter_message(text=reply)
        return []


def status_text(app) -> str:
    status = RenovationStatus(app.status)
    text = f"您的装修申请 {app.number}（{app.house.label}）现在是「{renovation.STATUS_LABELS[status.value]}」。"
    if status == RenovationStatus.RETURNED and app.return_reason:
        text += f"退回原因：{app.return_reason}。准备好后说「我要装修」重新提交。"
    elif status == RenovationStatus.SUBMITTED:
        text += "物业正在审批，有结果会第一时间告诉您。"
    elif status == RenovationStatus.APPROVED:
        passes = renovation.active_passes(app)
        text += f"施工期 {app.starts_on.month}月{app.starts_on.day}日 至 {app.ends_on.month}月{app.ends_on.day}日"
        text += f"，已办出入证 {len(passes)} 张。" if passes else "。"
    elif status == RenovationStatus.ACCEPTED and app.deposit_returned is not None:
        text += f"押金已退还 {app.deposit_returned} 元。"
    return text
