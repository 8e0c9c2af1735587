"""Messages from staff: short commands, not owners' natural language.

A message from a bound staff openid never reaches the owner assistant; it is read here. A
binding code (YG + 10 digits) from anyone binds that WeChat to the staff member it was issued to.
"""

from __future__ import annotations

import json
import re
import unicodedata

from sqlalchemy.orm import Session

from backend.core.clock import aware_now
from backend.core.models import Staff
from backend.messaging import notify
from backend.service import aftercare, complaints, sla
from backend.work import dispatch, renovation_desk, taskflow, ticket_status
from backend.work import staff as staff_records

PHOTO_PREFIX = "/send_photo"
NUMBER = r"(?:BX|TS|FW|JY)?\d{9}"
COMMANDS = [  # (command, pattern of the words that name it)
    ("help", r"帮助|help|\?|？|指令|菜单|怎么用"),
    ("tasks", r"我的任务|任务|工单|列表|待办"),
    ("accept", r"接单|接了|收到任务"),
    ("arrive", r"已到达|到场|已到|到了|到达"),
    ("done", r"完工|完成|修好了|已修好|搞定"),
    ("transfer", r"转单|转派|退单"),
    ("handle", r"办结|处理"),
    ("reply", r"答复|回复业主"),
    ("revisit", r"回访"),
    ("follow", r"跟进"),
]
HELP = (
    "可以这样回复我：\n"
    "· 接单 —— 确认接下最新派给您的任务\n"
    "· 到场 —— 到了现场\n"
    "· 完工 换了新水龙头 —— 修好了，后面写处理情况；完工后可以再发现场照片\n"
    "· 转单 需要电梯公司处理 —— 转给别人，必须写原因\n"
    "· 任务 —— 看手上的任务\n"
    "· 办结 TS261123001 已协调楼上停止施工 —— 投诉处理完，结果会转告业主\n"
    "· 答复 TS261123001 明天上午物业上门协调 —— 先给业主回个话，不办结\n"
    "· 回访 BX261123001 业主说已修好 5分 —— 记录回访结果\n"
    "· 跟进 BX261123001 已上门道歉并返修 —— 差评跟进结果\n"
    "· 巡查 ZX261202001 违规 擅自移动燃气管道 —— 装修巡查（业主会收到整改通知）；整改、查证 ZJ… 出入证也可以\n"
    "不写单号就是最新的那一单；指定某一单就在指令后加单号，比如「接单 BX261123001」。"
)


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def parse(text: str) -> tuple[str | None, str | None, str]:
    """(command, ticket number, the rest) from what a staff member typed."""
    text = _normalise(text)
    for command, words in COMMANDS:
        match = re.match(rf"^(?:{words})\s*[:：,，]?\s*({NUMBER})?\s*[:：,，]?\s*(.*)$", text, re.IGNORECASE | re.S)
        if match:
            return command, (match.group(1) or "").upper() or None, match.group(2).strip()
    number = re.search(NUMBER, text, re.IGNORECASE)
    return None, number.group(0).upper() if number else None, text


def _raw_rest(text: str, command: str, normalised_rest: str) -> str:
    words = dict(COMMANDS)[command]
    match = re.match(
        rf"^\s*(?:{words})\s*[:：,，]?\s*({NUMBER})?\s*[:：,，]?\s*(.*)$", text or "", re.IGNORECASE | re.S
    )
    return match.group(2).strip() if match else normalised_rest


def answer(session: Session, openid: str, text: str) -> list[str] | None:
    """Replies for a staff message, or None when it is not for us (an owner's message)."""
    code = staff_records.looks_like_bind_code(_normalise(text))
    if code:
        return [_bind(session, code, openid)]
    person = staff_records.staff_by_openid(session, openid)
    if person is None:
        return None
    if text.startswith(PHOTO_PREFIX):
        return [_photo(session, person, text[len(PHOTO_PREFIX) :])]
    if text.startswith("/"):  # a menu click or follow event: staff get their own menu
        return [HELP]
    decoration = renovation_desk.answer(session, person, text)  # 巡查 / 整改 / 查证
    if decoration is not None:
        return [decoration]
    command, number, rest = parse(text)
    if command in ("handle", "reply", "revisit", "follow"):
        rest = _raw_rest(text, command, rest)  # the owner reads it: keep their own punctuation
    try:
        return [_run(session, person, command, number, rest)]
    except (
        taskflow.TaskError,
        ticket_status.StatusError,
        dispatch.DispatchError,
        complaints.ComplaintError,
        aftercare.FollowUpError,
    ) as exc:
        return [str(exc)]


def _bind(session: Session, code: str, openid: str) -> str:
    try:
        person = staff_records.bind_by_code(session, code, openid)
    except staff_records.StaffError as exc:
        return str(exc)
    return f"{person.name}您好，绑定成功！以后派给您的任务会推送到这个微信。\n\n{HELP}"


def _photo(session: Session, person: Staff, payload: str) -> str:
    try:
        data = json.loads(payload or "{}")
    except ValueError:
        data = {}
    ticket = taskflow.add_photo(session, person, data.get("photo_url") or "", data.get("media_id"))
    if ticket is None:  # after a 巡查: the inspection's photo
        kept = renovation_desk.photo(session, person, data.get("photo_url") or "", data.get("media_id"))
        if kept:
            return kept
        return "照片收到了，但您现在没有在场或刚完工的任务，没法归档。发照片请在「到场」之后或「完工」后两小时内。"
    return f"照片已存到工单 {ticket.number}，谢谢！"


def _run(session: Session, person: Staff, command: str | None, number: str | None, rest: str) -> str:
    if command == "help":
        return HELP
    if command == "tasks":
        return _list(session, person)
    if command in ("handle", "reply", "revisit", "follow"):
        return _service(session, person, command, number, rest)
    if command is None:
        return "这条我没看懂 😅 回复「帮助」看看能用的指令，比如「接单」「到场」「完工」。"
    ticket = taskflow.find_task(session, person, number)
    now = aware_now()
    if command == "accept":
        if not taskflow.accept(session, person, ticket, now):
            return f"这单（{ticket.number}）您已经接过了。到了现场回复「到场」。"
        return (
            f"已接单 {ticket.number}：{ticket.location_label}，{notify.what_is_wrong(ticket)}。"
            f"{'业主电话 ' + ticket.contact_phone + '。' if ticket.contact_phone else ''}"
            "业主已收到通知，到了回复「到场」。"
        )
    if command == "arrive":
        if not taskflow.arrive(session, person, ticket, now):
            return f"{ticket.number} 的到场已经记过了。修好后回复「完工」加处理情况。"
        return f"已记录到场（{ticket.number}），业主已收到通知。修好后回复「完工」加处理情况，也可以发现场照片。"
    if command == "done":
        taskflow.complete(session, person, ticket, rest, now)
        return f"辛苦了！{ticket.number} 已完工，已请业主确认和评价。有现场照片可以现在发过来。"
    if command == "transfer":
        if not rest:
            return f"转单要写原因，比如「转单 {ticket.number} 需要电梯公司处理」。"
        holder = dispatch.transfer(session, ticket, person, rest, now)
        if holder is None or holder.id == person.id:
            return f"{ticket.number} 暂时没有其他人可以接，已通知主管安排。"
        return f"{ticket.number} 已转给{holder.name}，主管已知悉。"
    raise AssertionError(command)


def _service(session: Session, person: Staff, command: str, number: str | None, rest: str) -> str:
    """办结 (complaints), 回访 and 跟进 (after a job): customer service and supervisors."""
    now = aware_now()
    if command == "handle":
        ticket = complaints.find_for_staff(session, person, number)
        complaints.handle(session, ticket, person, rest, now)
        clock = sla.get(session, ticket.id, "handled")
        timing = "（2小时内办结 ✅）" if clock is not None and clock.outcome == "met" else "（已超过2小时时限）"
        what = "意见建议" if ticket.kind == "suggestion" else "投诉"
        return f"{what} {ticket.number} 已办结{timing}，处理结果已转告业主。"
    if command == "reply":
        ticket = complaints.find_for_staff(session, person, number)
        complaints.answer_owner(session, ticket, person, rest, now)
        return f"已把您的答复转告业主（{ticket.number}），处理完记得回复「办结 {ticket.number} 结果」。"
    kind = "revisit" if command == "revisit" else "low_score"
    item, ticket, score = aftercare.record_follow_up(session, person, kind, number, rest, now)
    word = "回访" if kind == "revisit" else "跟进"
    return f"{ticket.number} 的{word}结果已记录" + (f"，评分 {score} 分" if score else "") + "。辛苦了！"


def _list(session: Session, person: Staff) -> str:
    tasks = taskflow.my_tasks(session, person)
    if not tasks:
        return "您手上目前没有待处理的任务。"
    status = {"dispatched": "待接单", "accepted": "已接单", "on_site": "在现场"}
    lines = [f"您手上有 {len(tasks)} 单："]
    for t in tasks[:10]:
        urgent = "【紧急】" if t.urgency == "urgent" else ""
        lines.append(
            f"· {t.number} {urgent}{t.location_label} {notify.what_is_wrong(t)}（{status.get(t.status, t.status)}）"
        )
    return "\n".join(lines)
