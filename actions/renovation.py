"""Decoration (装修) in chat: the application form and answers from the community's rules.

「我要装修」 starts renovation_form for the owner's bound home: what work, the contractor and its
phone, the dates, how many workers, then a summary to confirm. When the home's latest application
was returned (退回) to this owner, the same words (or 「修改装修申请」, 「重新提交」) start the form
filled from it: the owner hears why it was returned, changes only what needs changing
(「项目改成…」, 「装修公司改成…」, new dates, 「4个人」) and confirms; the same application goes back for
approval (renovation.resubmit). Every message during the form is
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
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
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
from backend.work.tickets import owner_actor

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
    "renovation_resubmit",
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
# The owner wants to correct a returned application (checked only when they have one).
RESUBMIT = re.compile(r"修改|改一下|改下|重新提交|重新申请|再提交|重新报|补充材料|补好了|改好了")
# At the confirmation: a new 装修项目 or contractor, said as a change.
_CHANGE_WORK = re.compile(r"(?:装修|施工)?(?:项目|内容)\s*(?:改成|改为|换成|变成|是|[:：])\s*(?P<value>.+)$", re.S)
_CHANGE_CONTRACTOR = re.compile(
    r"(?:装修公司|施工队|施工方|公司)\s*(?:改成|改为|换成|变成|是|[:：])\s*(?P<value>.+)$", re.S
)


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


def _dates_text(start: date, end: date) -> str:
    return f"{start.month}月{start.day}日 至 " + (
        f"{end.month}月{end.day}日" if end.year == start.year else f"{end.year}年{end.month}月{end.day}日"
    )


def _said_changes(text: str, slot) -> Dict[str, Any]:
    """At the confirmation: 「项目改成…」 or 「装修公司改成… 139…」, as slot values."""
    found: Dict[str, Any] = {}
    work = _CHANGE_WORK.search(text)
    if work and work.group("value").strip():
        found["renovation_work"] = work.group("value").strip()[:300]
        return found
    contractor = _CHANGE_CONTRACTOR.search(text)
    if contractor:
        name, phone = _contractor(contractor.group("value"))
        name = name or slot("renovation_contractor_name") or ""
        if phone:
            found["renovation_contractor_phone"] = phone
        phone = phone or slot("renovation_contractor_phone")
        if name:
            found["renovation_contractor_name"] = name
            found["renovation_contractor"] = f"{name}（{phones.mask(phone)}）" if phone else name
    return found


def wants_to_resubmit(session, tracker: Tracker, text: str) -> bool:
    """The owner asks to correct their returned application (修改装修申请, 重新提交…)."""
    if not RESUBMIT.search(text or ""):
        return False
    house = owners.current_house(session, tracker.sender_id)
    app = renovation.returned_for_house(session, house.id) if house is not None else None
    return app is not None and app.openid == tracker.sender_id


class ValidateRenovationForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_renovation_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        return await self.get_extraction_events(dispatcher, tracker, domain)

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        text = latest_text(tracker).strip()
        requested = tracker.get_slot("requested_slot")
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
        if requested is None:
            # The form has just opened: nothing of an earlier one counts (one left by 取消 or
            # 转人工 keeps its slots), least of all the number of an application being corrected.
            events = dict.fromkeys(FORM_SLOTS)

        def slot(name: str):
            return events[name] if name in events else tracker.get_slot(name)

        if slot("renovation_house_id") is None:
            problem, house_id = self._house(tracker.sender_id)
            if problem:
                dispatcher.utter_message(text=problem)
                return stop
            events["renovation_house_id"] = house_id
            returned, said = self._returned(tracker.sender_id, house_id)
            if returned:
                # The returned application, as it was: the form goes on to the summary (or to
                # the dates, when those have passed).
                dispatcher.utter_message(text=said)
                return [SlotSet(k, v) for k, v in {**events, **returned}.items()]
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
                    events["renovation_dates"] = _dates_text(start, end)
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
            events.update(_said_changes(text, slot))
            changed = any(
                k in events
                for k in ("renovation_dates", "renovation_workers", "renovation_contractor", "renovation_work")
            )
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
    def _returned(openid: str, house_id: int) -> tuple[Dict[str, Any], str]:
        """The slots of this owner's returned application for the house and what to tell them,
        or ({}, "") when there is none. Dates already past are left for the owner to give again."""
        with db() as session:
            app = renovation.returned_for_house(session, house_id)
            if app is None or app.openid != openid:
                return {}, ""
            found = {
                "renovation_resubmit": app.number,
                "renovation_work": app.work,
                "renovation_contractor_name": app.contractor,
                "renovation_contractor_phone": app.contractor_phone or None,
                "renovation_contractor": f"{app.contractor}（{phones.mask(app.contractor_phone)}）"
                if app.contractor_phone
                else app.contractor,
                "renovation_workers": app.workers,
            }
            said = f"您的装修申请 {app.number} 被物业退回了" + (
                f"，原因是：{app.return_reason}。" if app.return_reason else "。"
            )
            if app.starts_on >= today():
                found.update(
                    renovation_start=app.starts_on.isoformat(),
                    renovation_end=app.ends_on.isoformat(),
                    renovation_dates=_dates_text(app.starts_on, app.ends_on),
                )
            else:
                said += (
                    f"\n原来填的开工日期（{app.starts_on.month}月{app.starts_on.day}日）已经过了，要重新定一下日期。"
                )
            return found, said

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
            intro = renovation.rules_text(session, rule, place.community.name) if rule else ""
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
        summary = (
            f"· 装修项目：{slot('renovation_work')}\n"
            f"· 装修公司：{slot('renovation_contractor')}\n"
            f"· 施工日期：{slot('renovation_dates')}\n"
            f"· 施工人数：{int(slot('renovation_workers'))}人\n"
        )
        number = slot("renovation_resubmit")
        if not number:
            dispatcher.utter_message(
                text=f"请核对一下装修申请：\n{summary}没问题的话回复「确认」提交；要改哪里直接告诉我新的内容。"
            )
            return []
        if slot("renovation_retry") is None:  # shown for the first time (no answer checked yet)
            head = "我把上次填的内容调出来了：\n"
            tail = (
                "要改哪里直接告诉我新的内容，比如「项目改成厨房卫生间翻新，补充水电图纸」「装修公司改成安居装饰 139…」"
                "「12月10日到1月10日」「4个人」；都改好了回复「确认」，就重新提交给物业审批。"
            )
        else:
            head, tail = "请再核对一下：\n", "没问题就回复「确认」重新提交；还要改哪里直接告诉我新的内容。"
        dispatcher.utter_message(text=head + summary + tail)
        return []


class SubmitRenovation(Action):
    def name(self) -> Text:
        return "action_submit_renovation"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        slot = tracker.get_slot
        clear = [SlotSet(n, None) for n in FORM_SLOTS]
        if not slot("renovation_confirmed") or not slot("renovation_house_id"):
            return clear  # cancelled, or stopped before it began (the reason was said)
        if slot("renovation_resubmit"):
            dispatcher.utter_message(text=self._resubmit(tracker))
            return clear
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

    @staticmethod
    def _resubmit(tracker: Tracker) -> str:
        slot = tracker.get_slot
        number = slot("renovation_resubmit")
        changes = renovation.Changes(
            work=slot("renovation_work"),
            contractor=slot("renovation_contractor_name"),
            contractor_phone=slot("renovation_contractor_phone"),
            starts_on=date.fromisoformat(slot("renovation_start")),
            ends_on=date.fromisoformat(slot("renovation_end")),
            workers=int(slot("renovation_workers")),
        )
        with db() as session:
            app = renovation.find(session, number)
            if app is None or app.openid != tracker.sender_id:
                return "没有找到这份装修申请 😅 可以跟我说「我要装修」重新申请。"
            last = app.steps[-1] if app.steps else None
            if app.status == "submitted" and last is not None and last.kind == "resubmitted":
                return f"装修申请 {number} 已经重新提交了，物业审批后会在微信里第一时间告诉您。"  # this turn again
            try:
                changed = renovation.resubmit(session, app, owner_actor(tracker.sender_id), changes)
            except renovation.RenovationError as exc:
                return str(exc)
        reply = f"装修申请 {number} 已经重新提交啦 ✅"
        if changed:
            reply += "\n这次改了：\n" + "\n".join(f"· {c}" for c in changed)
        return reply + "\n物业审批后会在微信里第一时间告诉您。"


class AnswerRenovation(Action):
    """The community's decoration rules (the asked part first), or how the owner's own
    application is going."""

    def name(self) -> Text:
        return "action_answer_renovation"

    @interruptions.asks_again
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        text = latest_text(tracker)
        with db() as session:
            if not tracker.active_loop.get("name") and wants_to_resubmit(session, tracker, text):
                return [FollowupAction("renovation_form")]  # the form opens on the returned application
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
                reply = renovation.rules_text(session, rule, community.name, topic)
                if tracker.active_loop.get("name") != "renovation_form":  # not while applying already
                    reply += "\n要装修的话跟我说「我要装修」，可以直接在这里提交申请。"
        dispatcher.utter_message(text=reply)
        return []


def status_text(app) -> str:
    status = RenovationStatus(app.status)
    text = f"您的装修申请 {app.number}（{app.house.label}）现在是「{renovation.STATUS_LABELS[status.value]}」。"
    if status == RenovationStatus.RETURNED:
        text += f"退回原因：{app.return_reason}。" if app.return_reason else ""
        text += (
            f"改好后跟我说「{renovation.RESUBMIT_WORDS}」，我把上次填的内容调出来，您只改需要改的地方，"
            "确认后就重新提交给物业审批。"
        )
    elif status == RenovationStatus.SUBMITTED:
        text += "物业正在审批，有结果会第一时间告诉您。"
    elif status == RenovationStatus.APPROVED:
        passes = renovation.active_passes(app)
        text += f"施工期 {app.starts_on.month}月{app.starts_on.day}日 至 {app.ends_on.month}月{app.ends_on.day}日"
        text += f"，已办出入证 {len(passes)} 张。" if passes else "。"
    elif status == RenovationStatus.ACCEPTED and app.deposit_returned is not None:
        text += f"押金已退还 {app.deposit_returned} 元。"
    return text
