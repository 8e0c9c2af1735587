"""Staff WeChat commands for decoration jobs, read before the ticket commands:

- 巡查 ZX261202001 现场正常 / 巡查 3-2-501 擅自移动燃气管道 — an inspection; words of a violation
  (擅自, 违规, 拆改…) or 违规 in front make it one, and the owner is told at once. Photos sent
  within two hours go with it.
- 整改 ZX261202001 燃气管已恢复原位 — the job's open violation is put right.
- 查证 ZJ261202001 — is this worker's pass valid today (for the gate).
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.clock import aware_now
from backend.core.models import RenovationApplication, Staff
from backend.core.statuses import RenovationStatus
from backend.owners.binding import houses_at
from backend.text.addresses import parse_address, strip_address
from backend.work import renovation
from backend.work.tickets import staff_actor

COMMAND = re.compile(r"^(?P<cmd>装修巡查|巡查|巡检|整改|查证|验证|出入证)\s*[:：,，]?\s*(?P<rest>.*)$", re.S)
PASS_NUMBER = re.compile(rf"{renovation.PASS_PREFIX}\d{{9}}", re.IGNORECASE)
HELP = (
    "装修巡查这样回复：\n"
    "· 巡查 ZX261202001 现场正常（或写房号：巡查 3-2-501 现场正常）\n"
    "· 巡查 ZX261202001 违规 擅自移动燃气管道 —— 业主会马上收到整改通知，可以接着发现场照片\n"
    "· 整改 ZX261202001 燃气管已恢复原位\n"
    "· 查证 ZJ261202001 —— 查施工人员的临时出入证"
)


def answer(session: Session, person: Staff, text: str) -> str | None:
    """The reply to a decoration command, or None when the message is not one."""
    m = COMMAND.match(unicodedata.normalize("NFKC", text or "").strip())
    if not m:
        return None
    command, rest = m.group("cmd"), m.group("rest").strip()
    try:
        if command in ("查证", "验证", "出入证"):
            number = PASS_NUMBER.search(rest)
            if not number:
                return "请写上出入证号，比如「查证 ZJ261202001」。"
            found = renovation.check_pass(session, number.group(0))
            return ("✅ " if found.valid else "❌ ") + found.reason
        app, rest = _job(session, person, rest)
        if app is None:
            return rest
        actor = staff_actor(person.id)
        if command == "整改":
            pending = renovation.open_violations(app)
            if not pending:
                return f"{app.number} 没有待整改的违规。"
            renovation.resolve_violation(session, pending[-1], actor, rest)
            return f"已记录 {app.number} 的整改：{rest}"
        violation = True if rest.startswith(("违规", "违章")) else None
        findings = re.sub(r"^(违规|违章)\s*[:：,，]?\s*", "", rest) if violation else rest
        inspection = renovation.record_inspection(session, app, actor, findings, violation, person=person)
    except renovation.RenovationError as exc:
        return str(exc)
    if inspection.violation:
        return (
            f"已记录 {app.number}（{app.house.label}）的违规：{inspection.findings}。业主已收到整改通知。"
            "有现场照片可以现在发过来。整改好后回复「整改 " + app.number + " 情况」。"
        )
    return f"已记录 {app.number}（{app.house.label}）的巡查：{inspection.findings}。辛苦了！"


def _job(session: Session, person: Staff, rest: str) -> tuple[RenovationApplication | None, str]:
    """The job named by number or by address (an approved one), and the rest of the words; or
    None and what to say."""
    number = renovation.NUMBER_RE.search(rest)
    if number:
        app = renovation.find(session, number.group(0))
        if app is None:
            return None, f"没有找到装修申请 {number.group(0).upper()}。"
        return app, (rest[: number.start()] + rest[number.end() :]).strip(" ：:，,")
    address = parse_address(rest)
    if address is None:
        return None, HELP
    houses = houses_at(session, address, [person.community_id] if person.community_id else None)
    jobs = (
        session.execute(
            select(RenovationApplication)
            .where(
                RenovationApplication.house_id.in_([h.id for h in houses] or [0]),
                RenovationApplication.status == RenovationStatus.APPROVED.value,
            )
            .order_by(RenovationApplication.id)
        )
        .scalars()
        .all()
    )
    if not jobs:
        return None, f"{address.label} 没有在施工的装修（已审批的申请）。"
    if len(jobs) > 1:
        return None, f"{address.label} 有 {len(jobs)} 处在施工：{'、'.join(j.number for j in jobs)}，请写上编号。"
    return jobs[0], strip_address(rest).strip(" ：:，,")


def photo(session: Session, person: Staff, url: str, media_id: str | None) -> str | None:
    inspection = renovation.add_inspection_photo(session, person, url, media_id, aware_now())
    if inspection is None:
        return None
    return f"照片已存到装修巡查记录（{inspection.application.number}），谢谢！"
