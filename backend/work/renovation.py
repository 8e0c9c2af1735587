"""Decoration management (装修管理): an owner's application, its approval, worker passes, daily
inspections and the acceptance that closes it, with the community's imported rules.

Every change of an application goes through one function here, from any door (the owner's chat,
the console, a staff WeChat command):

| function                   | from       | to        | also                                        |
|----------------------------|------------|-----------|---------------------------------------------|
| apply                      | —          | submitted | one open application per house              |
| approve                    | submitted  | approved  | the owner hears it                          |
| return_with_reason         | submitted  | returned  | reason required; the owner hears why        |
| resubmit                   | returned   | submitted | corrected fields; by staff: the owner hears |
| issue_passes               | approved   | approved  | passes within the job's dates and workers   |
| record_inspection          | approved   | approved  | a violation: the owner hears what to fix    |
| resolve_violation          | approved   | approved  | 整改 recorded on the inspection             |
| accept_and_return_deposit  | approved   | accepted  | violations handled first; deposit recorded  |
| record_inspection uploads, attach_uploads | any | — | photos uploaded in the console (photo_files) |
| record_inspection photos, add_inspection_photo | any | — | WeChat photos, then downloaded and kept (photo_fetch) |
| cancel                     | submitted, returned, approved | cancelled | reason; the owner hears; passes end |

Each writes a step (who, what, when): the application's history. Functions never commit.
Rules (allowed hours for noisy work, deposit, forbidden work, documents) come only from the
community's imported rules (kind renovation-rules), and the days that differ from the week (public
holidays, 调休 working days) from kind renovation-holidays; nothing here is a default rule.
Whether noisy work is allowed at a moment is decided in one place, `day_hours`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.clock import SHANGHAI, aware_now
from backend.core.config import load_settings
from backend.core.models import (
    House,
    RenovationApplication,
    RenovationHoliday,
    RenovationInspection,
    RenovationPass,
    RenovationPhoto,
    RenovationRule,
    RenovationStep,
    Staff,
)
from backend.core.statuses import ACTIVE_RENOVATION_STATUSES, RenovationStatus
from backend.messaging import delivery, templates, wechat_window
from backend.text import hours, phones
from backend.work import photo_fetch, photo_files
from backend.work.tickets import next_serial, owner_actor, safe_photo_url

log = logging.getLogger(__name__)

APPLICATION_PREFIX = "ZX"
PASS_PREFIX = "ZJ"
MAX_WORKERS = 50
PHOTO_WINDOW = timedelta(hours=2)  # inspection photos sent after 巡查 belong to it
STATUS_LABELS = {  # by the stored string (a str Enum member hashes by its name, not its value)
    RenovationStatus.SUBMITTED.value: "待审批",
    RenovationStatus.RETURNED.value: "已退回",
    RenovationStatus.APPROVED.value: "施工中",
    RenovationStatus.ACCEPTED.value: "已验收",
    RenovationStatus.CANCELLED.value: "已取消",
}
STEP_LABELS = {
    "submitted": "业主提交申请",
    "approved": "审批通过",
    "returned": "退回",
    "resubmitted": "重新提交",
    "pass_issued": "发放出入证",
    "inspected": "巡查",
    "violation": "巡查发现违规",
    "photos": "补充巡查照片",
    "resolved": "违规已整改",
    "accepted": "验收通过",
    "deposit": "押金退还",
    "cancelled": "取消",
    "noise": "噪音投诉",
}
# What a staff member's findings say when they found a violation (and when they say there is none).
VIOLATION_WORDS = re.compile(r"违规|违章|违反|擅自|私自|私拆|私改|拆改|破坏|损坏|损毁|漏水到|超时施工|扰民")
NO_VIOLATION = re.compile(r"(无|没有|未发现|未见|不存在)(任何)?(违规|违章|问题|异常)")
NUMBER_RE = re.compile(rf"{APPLICATION_PREFIX}\d{{9}}", re.IGNORECASE)


class RenovationError(ValueError):
    """Not allowed; the message says why, in Chinese, for whoever asked (owner or staff)."""


# --- rules -------------------------------------------------------------------------------------------
def rules_for(session: Session, community_id: int | None) -> RenovationRule | None:
    if community_id is None:
        return None
    return session.execute(
        select(RenovationRule).where(RenovationRule.community_id == community_id)
    ).scalar_one_or_none()


WEEKDAYS = "一二三四五六日"
AHEAD = timedelta(days=90)  # the holidays the rules answer lists


def holiday_on(session: Session, community_id: int | None, day: date) -> RenovationHoliday | None:
    """The community's holiday or 调休 workday covering `day` (the latest-starting one)."""
    if community_id is None:
        return None
    return session.execute(
        select(RenovationHoliday)
        .where(
            RenovationHoliday.community_id == community_id,
            RenovationHoliday.starts_on <= day,
            RenovationHoliday.ends_on >= day,
        )
        .order_by(RenovationHoliday.starts_on.desc())
        .limit(1)
    ).scalar_one_or_none()


def holidays_between(session: Session, community_id: int | None, first: date, last: date) -> list[RenovationHoliday]:
    """The community's holidays and 调休 workdays touching [first, last], in date order."""
    if community_id is None:
        return []
    return list(
        session.execute(
            select(RenovationHoliday)
            .where(
                RenovationHoliday.community_id == community_id,
                RenovationHoliday.ends_on >= first,
                RenovationHoliday.starts_on <= last,
            )
            .order_by(RenovationHoliday.starts_on)
        ).scalars()
    )


@dataclass
class DayHours:
    """When noisy work is allowed on one day, and why (工作日, 周末, 国庆节, 调休上班日)."""

    ranges: list[tuple[time, time]]
    why: str
    holiday: RenovationHoliday | None = None

    @property
    def label(self) -> str:
        return hours.label(self.ranges) or "全天不允许"

    @property
    def special(self) -> bool:
        """A holiday or 调休 workday: the day is not as the week goes."""
        return self.holiday is not None


def holiday_label(h: RenovationHoliday) -> str:
    if h.workday:
        return f"调休上班日（{h.name}）" if h.name else "调休上班日"
    return h.name or "节假日"


def day_hours(rule: RenovationRule, day: date, holiday: RenovationHoliday | None = None) -> DayHours:
    """The one place that says when noisy work is allowed on `day`: a holiday's own hours (blank
    in the import: none) or a 调休 workday's (blank: as on working days), else the weekend rule on
    Saturdays and Sundays, else the working days' hours."""
    weekend = day.weekday() >= 5
    if holiday is not None:
        own = holiday.noisy_hours
        return DayHours(hours.parse(rule.noisy_hours if own is None else own), holiday_label(holiday), holiday)
    if weekend and rule.weekend_hours is not None:
        return DayHours(hours.parse(rule.weekend_hours), "周末")
    return DayHours(hours.parse(rule.noisy_hours), "周末" if weekend else "工作日")


def noisy_ranges(rule: RenovationRule, day: date, holiday: RenovationHoliday | None = None) -> list[tuple[time, time]]:
    return day_hours(rule, day, holiday).ranges


def noise_allowed(rule: RenovationRule, at: datetime, holiday: RenovationHoliday | None = None) -> bool:
    local = at.astimezone(SHANGHAI)
    return hours.contains(noisy_ranges(rule, local.date(), holiday), local.time())


def noise_now(session: Session, rule: RenovationRule, at: datetime) -> tuple[bool, DayHours]:
    """Is noisy work allowed at `at` by the community's rules and holidays, and that day's hours."""
    local = at.astimezone(SHANGHAI)
    today = day_hours(rule, local.date(), holiday_on(session, rule.community_id, local.date()))
    return hours.contains(today.ranges, local.time()), today


def lines_of(text: str) -> list[str]:
    return [x.strip(" ·•-、；;") for x in re.split(r"[\r\n]+|；|;", text or "") if x.strip(" ·•-、；;")]


def hours_text(rule: RenovationRule) -> str:
    """工作日 8:00-12:00、14:00-18:00，周末不允许 (or 每天 …)."""
    weekday = hours.label(hours.parse(rule.noisy_hours))
    if rule.weekend_hours is None:
        return f"每天 {weekday}"
    weekend = hours.label(hours.parse(rule.weekend_hours))
    return f"工作日 {weekday}，周末{' ' + weekend if weekend else '不允许'}"


def span_text(first: date, last: date) -> str:
    """10月1日至10月7日; one day with its weekday: 10月10日（周六）."""
    if first == last:
        return f"{_day(first)}（周{WEEKDAYS[first.weekday()]}）"
    return f"{_day(first)}至{_day(last)}"


def holiday_text(rule: RenovationRule, h: RenovationHoliday) -> str:
    """国庆节 10月1日至10月7日全天不允许 / 10月10日（周六）调休上班，按工作日时间."""
    span = span_text(h.starts_on, h.ends_on)
    if h.workday:
        own = (
            "按工作日时间"
            if h.noisy_hours is None
            else f"时间 {hours.label(hours.parse(h.noisy_hours)) or '全天不允许'}"
        )
        return f"{span}调休上班{'（' + h.name + '）' if h.name else ''}，{own}"
    allowed = hours.label(hours.parse(h.noisy_hours or ""))
    return f"{h.name or '节假日'} {span}{'只允许 ' + allowed if allowed else '全天不允许'}"


ICONS = {"hours": "🕗 ", "deposit": "💰 ", "forbidden": "🚫 ", "documents": "📄 "}


def rules_answer(
    rule: RenovationRule,
    community_name: str,
    topic: str | None = None,
    icons: bool = True,
    holidays: list[RenovationHoliday] = (),
    today: date | None = None,
) -> str:
    """The community's rules as an owner reads them; `topic` (hours, deposit, forbidden,
    documents) puts that part first. `holidays`: the ones coming (from holidays_between), said
    with the hours, today's first when today is one. The console shows them without the icons."""
    deposit = f"{rule.deposit:.0f}" if rule.deposit == rule.deposit.to_integral() else f"{rule.deposit}"
    icon = ICONS if icons else dict.fromkeys(ICONS, "")
    when = f"{icon['hours']}有噪音的施工（电钻、切割、敲墙等）时间：{hours_text(rule)}；其他时间请安排安静的活。"
    current = next((h for h in holidays if today and h.starts_on <= today <= h.ends_on), None)
    if current is not None:
        now = day_hours(rule, today, current)
        if current.workday:
            when += f"\n今天是{now.why}，有噪音的施工时间：{now.label}。"
        else:
            when += (
                f"\n今天是{now.why}，{'有噪音的施工只允许 ' + now.label if now.ranges else '全天不允许有噪音的施工'}。"
            )
    if holidays:
        when += "\n节假日：" + "；".join(holiday_text(rule, h) for h in holidays) + "。"
    parts = {
        "hours": when,
        "deposit": f"{icon['deposit']}装修押金 {deposit} 元，验收合格后退还。",
        "forbidden": f"{icon['forbidden']}这些是不允许的：\n" + "\n".join(f"· {x}" for x in lines_of(rule.forbidden)),
        "documents": (f"{icon['documents']}办理要带：\n" + "\n".join(f"· {x}" for x in lines_of(rule.documents)))
        if rule.documents
        else "",
    }
    order = [topic] if topic in parts else []
    order += [k for k in ("hours", "deposit", "forbidden", "documents") if k not in order]
    lines = [f"{community_name}的装修规定："] + [parts[k] for k in order if parts[k]]
    lines += lines_of(rule.notes)
    return "\n".join(lines)


def rules_text(
    session: Session,
    rule: RenovationRule,
    community_name: str,
    topic: str | None = None,
    icons: bool = True,
    now: datetime | None = None,
) -> str:
    """rules_answer with the community's holidays of the coming three months (today's first)."""
    today = aware_now(now).astimezone(SHANGHAI).date()
    coming = holidays_between(session, rule.community_id, today, today + AHEAD)[:6]
    return rules_answer(rule, community_name, topic, icons, coming, today)


# --- applications ------------------------------------------------------------------------------------
@dataclass
class ApplicationRequest:
    openid: str
    house_id: int
    work: str
    contractor: str
    contractor_phone: str
    starts_on: date
    ends_on: date
    workers: int
    source_key: str | None = None


def add_step(
    session: Session,
    app: RenovationApplication,
    kind: str,
    actor: str,
    note: str | None = None,
    at: datetime | None = None,
) -> RenovationStep:
    at = aware_now(at)
    step = RenovationStep(application=app, kind=kind, actor=actor, note=note, at=at)
    session.add(step)
    app.updated_at = max(app.updated_at or at, at)
    session.flush()
    return step


def find(session: Session, number: str) -> RenovationApplication | None:
    return session.execute(
        select(RenovationApplication).where(RenovationApplication.number == (number or "").strip().upper())
    ).scalar_one_or_none()


def open_for_house(session: Session, house_id: int) -> RenovationApplication | None:
    return session.execute(
        select(RenovationApplication)
        .where(
            RenovationApplication.house_id == house_id,
            RenovationApplication.status.in_([s.value for s in ACTIVE_RENOVATION_STATUSES]),
        )
        .order_by(RenovationApplication.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def latest_for_owner(session: Session, openid: str) -> RenovationApplication | None:
    return session.execute(
        select(RenovationApplication)
        .where(RenovationApplication.openid == openid)
        .order_by(RenovationApplication.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def check_request(req: ApplicationRequest, today: date) -> None:
    """Raise RenovationError when the request cannot be an application (owner-facing words)."""
    if not (req.work or "").strip():
        raise RenovationError("请说一下装修做哪些项目，比如「厨房卫生间翻新、铺地砖」。")
    if not (req.contractor or "").strip():
        raise RenovationError("请告诉我装修公司（或施工队）的名称。")
    if req.ends_on < req.starts_on:
        raise RenovationError("完工日期早于开工日期了，麻烦再确认一下日期。")
    if req.starts_on < today:
        raise RenovationError("开工日期已经过去了，麻烦说一个今天或以后的日期。")
    if not 1 <= req.workers <= MAX_WORKERS:
        raise RenovationError(f"施工人数应在 1 到 {MAX_WORKERS} 人之间。")


def apply(session: Session, req: ApplicationRequest, now: datetime | None = None) -> RenovationApplication:
    """Record an owner's application (ZX number). The same source_key gives the same
    application back; a house with an open application gets no second one."""
    now = aware_now(now)
    if req.source_key:
        found = session.execute(
            select(RenovationApplication).where(RenovationApplication.source_key == req.source_key)
        ).scalar_one_or_none()
        if found is not None:
            return found
    house = session.get(House, req.house_id)
    if house is None:
        raise RenovationError("没有找到这套房屋，请先绑定房屋再申请装修。")
    check_request(req, now.astimezone(SHANGHAI).date())
    existing = open_for_house(session, house.id)
    if existing is not None:
        raise RenovationError(
            f"这套房子已经有一份装修申请（{existing.number}，{STATUS_LABELS[existing.status]}），不用重复申请。"
        )
    community_id = house.building.community_id
    rule = rules_for(session, community_id)
    try:
        with session.begin_nested():
            app = RenovationApplication(
                number=next_serial(session, APPLICATION_PREFIX, now),
                openid=req.openid,
                community_id=community_id,
                house_id=house.id,
                work=req.work.strip(),
                contractor=req.contractor.strip(),
                contractor_phone=(req.contractor_phone or "").strip(),
                starts_on=req.starts_on,
                ends_on=req.ends_on,
                workers=req.workers,
                status=RenovationStatus.SUBMITTED.value,
                deposit=rule.deposit if rule else None,
                source_key=req.source_key,
                created_at=now,
                updated_at=now,
            )
            session.add(app)
            session.flush()
            add_step(
                session,
                app,
                "submitted",
                owner_actor(req.openid),
                note=f"{req.work.strip()}；{req.contractor.strip()}；{req.workers}人",
                at=now,
            )
    except IntegrityError:
        found = (
            session.execute(
                select(RenovationApplication).where(RenovationApplication.source_key == req.source_key)
            ).scalar_one_or_none()
            if req.source_key
            else None
        )
        if found is None:
            raise
        return found
    log.info("renovation applied", extra={"application": app.number})
    return app


def _require(app: RenovationApplication, *allowed: RenovationStatus, what: str) -> None:
    current = RenovationStatus(app.status)
    if current not in allowed:
        raise RenovationError(f"装修申请 {app.number} 现在是「{STATUS_LABELS[current.value]}」，不能{what}。")


def approve(
    session: Session, app: RenovationApplication, actor: str, note: str | None = None, now: datetime | None = None
) -> bool:
    """Approve: work may start on the applied dates. False when it already was."""
    now = aware_now(now)
    if app.status == RenovationStatus.APPROVED:
        return False
    _require(app, RenovationStatus.SUBMITTED, what="审批")
    app.status, app.decided_at, app.return_reason = RenovationStatus.APPROVED.value, now, None
    add_step(session, app, "approved", actor, note=(note or "").strip() or None, at=now)
    rule = rules_for(session, app.community_id)
    text = (
        f"您好，您家 {app.house.label} 的装修申请（{app.number}）已审批通过 🎉 "
        f"可以在 {_day(app.starts_on)} 至 {_day(app.ends_on)} 施工。"
    )
    if rule is not None:
        text += f"\n有噪音的施工时间：{hours_text(rule)}。"
        during = holidays_between(session, app.community_id, app.starts_on, app.ends_on)
        if during:
            text += "\n施工期间的节假日：" + "；".join(holiday_text(rule, h) for h in during) + "。"
    if note and note.strip():
        text += f"\n物业留言：{note.strip()}"
    text += "\n施工人员的临时出入证由物业办理，装修期间我们会每天巡查，完工后联系物业验收。祝装修顺利！"
    _tell_owner(session, app, text, "审批通过", f"renovation:{app.id}:approved", now)
    return True


def return_with_reason(
    session: Session, app: RenovationApplication, actor: str, reason: str, now: datetime | None = None
) -> None:
    """Send the application back to the owner with the reason; they correct it and resubmit it
    (`resubmit`), in chat or through the desk."""
    now = aware_now(now)
    reason = (reason or "").strip()
    if not reason:
        raise RenovationError("退回申请请写明原因，业主会看到。")
    _require(app, RenovationStatus.SUBMITTED, what="退回")
    app.status, app.decided_at, app.return_reason = RenovationStatus.RETURNED.value, now, reason
    step = add_step(session, app, "returned", actor, note=reason, at=now)
    text = (
        f"您好，您家 {app.house.label} 的装修申请（{app.number}）需要补充一下：{reason}\n"
        f"改好后跟我说「{RESUBMIT_WORDS}」，我会把上次填的内容调出来，您只改需要改的地方就行；"
        "不方便的话也可以打电话给物业服务中心，工作人员帮您修改。"
    )
    _tell_owner(session, app, text, "申请退回", f"renovation:{app.id}:returned:{step.id}", now)


RESUBMIT_WORDS = "修改装修申请"  # what the owner is told to say; the chat starts the form with it


def returned_for_house(session: Session, house_id: int) -> RenovationApplication | None:
    """The house's latest application if it is returned (waiting for the owner's correction)."""
    latest = session.execute(
        select(RenovationApplication)
        .where(RenovationApplication.house_id == house_id)
        .order_by(RenovationApplication.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return latest if latest is not None and latest.status == RenovationStatus.RETURNED else None


@dataclass
class Changes:
    """What a resubmission changes; None: as it was."""

    work: str | None = None
    contractor: str | None = None
    contractor_phone: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    workers: int | None = None


def resubmit(
    session: Session,
    app: RenovationApplication,
    actor: str,
    changes: Changes | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> list[str]:
    """A returned application, corrected, goes back for approval under its own number (the
    owner in chat, or the desk on the owner's behalf after a phone call: then the owner hears it
    in WeChat). The same checks as a new application; returns what changed, as history says it."""
    now = aware_now(now)
    changes = changes or Changes()
    _require(app, RenovationStatus.RETURNED, what="重新提交")
    other = open_for_house(session, app.house_id)
    if other is not None and other.id != app.id:
        raise RenovationError(
            f"这套房子已经有一份装修申请（{other.number}，{STATUS_LABELS[other.status]}），{app.number} 不用再提交了。"
        )
    phone = app.contractor_phone if changes.contractor_phone is None else changes.contractor_phone.strip()
    if changes.contractor_phone is not None and phone and not phones.extract_mobile(phone):
        if not re.fullmatch(r"[\d\s+()\-转]{7,32}", phone):
            raise RenovationError(f"联系电话「{phone}」格式不对。")
    new = ApplicationRequest(
        openid=app.openid,
        house_id=app.house_id,
        work=app.work if changes.work is None else changes.work.strip()[:2000],
        contractor=app.contractor if changes.contractor is None else changes.contractor.strip()[:100],
        contractor_phone=phones.extract_mobile(phone) or phone,
        starts_on=changes.starts_on or app.starts_on,
        ends_on=changes.ends_on or app.ends_on,
        workers=app.workers if changes.workers is None else changes.workers,
    )
    check_request(new, now.astimezone(SHANGHAI).date())
    changed = []
    if new.work != app.work:
        changed.append(f"装修项目：{new.work}")
    if new.contractor != app.contractor:
        changed.append(f"装修公司：{app.contractor} → {new.contractor}")
    if new.contractor_phone != app.contractor_phone:
        changed.append(f"联系电话：{phones.mask(app.contractor_phone)} → {phones.mask(new.contractor_phone)}")
    if (new.starts_on, new.ends_on) != (app.starts_on, app.ends_on):
        changed.append(
            f"施工期：{_day(app.starts_on)}至{_day(app.ends_on)} → {_day(new.starts_on)}至{_day(new.ends_on)}"
        )
    if new.workers != app.workers:
        changed.append(f"施工人数：{app.workers}人 → {new.workers}人")
    app.work, app.contractor, app.contractor_phone = new.work, new.contractor, new.contractor_phone
    app.starts_on, app.ends_on, app.workers = new.starts_on, new.ends_on, new.workers
    rule = rules_for(session, app.community_id)
    if rule is not None:
        app.deposit = rule.deposit  # as the rules say now, like a new application
    reason = app.return_reason
    app.status, app.decided_at, app.return_reason = RenovationStatus.SUBMITTED.value, None, None
    note = (note or "").strip()
    lines = changed or ["内容未改动"]
    step = add_step(session, app, "resubmitted", actor, note="；".join(lines) + (f"（{note}）" if note else ""), at=now)
    if actor != owner_actor(app.openid):
        text = (
            f"您好，您家 {app.house.label} 的装修申请（{app.number}）"
            + (f"已按您的意思修改（{'；'.join(changed)}），" if changed else "")
            + "物业已帮您重新提交审批"
            + (f"（上次退回是因为：{reason}）" if reason else "")
            + "。审批结果会第一时间在这里告诉您。"
        )
        _tell_owner(session, app, text, "重新提交", f"renovation:{app.id}:resubmitted:{step.id}", now)
    log.info("renovation resubmitted", extra={"application": app.number})
    return changed


def cancel(session: Session, app: RenovationApplication, actor: str, reason: str, now: datetime | None = None) -> None:
    """Cancel an application (the owner gave it up, or it cannot go ahead): the reason is
    required and kept in its history, the workers' passes end, and the owner hears it."""
    now = aware_now(now)
    reason = (reason or "").strip()
    if not reason:
        raise RenovationError("取消装修申请请写明原因，业主会看到。")
    _require(app, RenovationStatus.SUBMITTED, RenovationStatus.RETURNED, RenovationStatus.APPROVED, what="取消")
    had_passes = bool(active_passes(app))
    app.status = RenovationStatus.CANCELLED.value
    step = add_step(session, app, "cancelled", actor, note=reason, at=now)
    for p in app.passes:
        p.revoked_at = p.revoked_at or now
    text = (
        f"您好，您家 {app.house.label} 的装修申请（{app.number}）已取消，原因：{reason}\n"
        + ("施工人员的临时出入证已同时注销。" if had_passes else "")
        + "以后要装修，跟我说「我要装修」重新申请就行；有疑问请联系物业服务中心。"
    )
    _tell_owner(session, app, text, "申请取消", f"renovation:{app.id}:cancelled:{step.id}", now)


# --- passes ------------------------------------------------------------------------------------------
def active_passes(app: RenovationApplication) -> list[RenovationPass]:
    return [p for p in app.passes if p.revoked_at is None]


def issue_passes(
    session: Session,
    app: RenovationApplication,
    actor: str,
    names: list[str],
    valid_from: date | None = None,
    valid_to: date | None = None,
    now: datetime | None = None,
) -> list[RenovationPass]:
    """Temporary passes (临时出入证) for the named workers, within the job's dates; no more
    passes than the workers the owner applied for."""
    now = aware_now(now)
    _require(app, RenovationStatus.APPROVED, what="办理出入证")
    names = [n.strip() for n in names if n and n.strip()]
    if not names:
        raise RenovationError("请写上施工人员的姓名（一行一个或用逗号隔开）。")
    if any(len(n) > 50 for n in names):
        raise RenovationError("姓名太长了（最多50个字）。")
    valid_from, valid_to = valid_from or app.starts_on, valid_to or app.ends_on
    if valid_from < app.starts_on or valid_to > app.ends_on or valid_to < valid_from:
        raise RenovationError(f"出入证有效期应在施工期 {_day(app.starts_on)} 至 {_day(app.ends_on)} 之内。")
    held = {p.worker_name for p in active_passes(app)}
    doubled = [n for n in names if n in held]
    if doubled:
        raise RenovationError(f"{'、'.join(doubled)} 已经有出入证了。")
    if len(held) + len(names) > app.workers:
        raise RenovationError(f"申请写的是 {app.workers} 名施工人员，已办 {len(held)} 张，不能再办 {len(names)} 张。")
    issued = []
    for name in names:
        p = RenovationPass(
            number=next_serial(session, PASS_PREFIX, now),
            application=app,
            worker_name=name,
            valid_from=valid_from,
            valid_to=valid_to,
            issued_by=actor,
            issued_at=now,
        )
        session.add(p)
        issued.append(p)
    session.flush()
    add_step(
        session, app, "pass_issued", actor, note="、".join(f"{p.worker_name}（{p.number}）" for p in issued), at=now
    )
    return issued


@dataclass
class PassCheck:
    valid: bool
    reason: str
    card: RenovationPass | None = None
    application: RenovationApplication | None = None


def check_pass(session: Session, number: str, now: datetime | None = None) -> PassCheck:
    """What the gate sees for a pass number: valid today or why not. Reads only."""
    now = aware_now(now)
    today = now.astimezone(SHANGHAI).date()
    card = session.execute(
        select(RenovationPass).where(RenovationPass.number == (number or "").strip().upper())
    ).scalar_one_or_none()
    if card is None:
        return PassCheck(False, "没有这个出入证号")
    app = card.application
    if card.revoked_at is not None or app.status != RenovationStatus.APPROVED:
        why = "装修已验收结束" if app.status == RenovationStatus.ACCEPTED else "出入证已作废"
        return PassCheck(False, why, card, app)
    if today < card.valid_from:
        return PassCheck(False, f"还没到有效期（{_day(card.valid_from)} 起）", card, app)
    if today > card.valid_to:
        return PassCheck(False, f"已过期（有效期到 {_day(card.valid_to)}）", card, app)
    return PassCheck(True, f"有效：{card.worker_name}，{app.house.label} 装修，到 {_day(card.valid_to)}", card, app)


# --- inspections ------------------------------------------------------------------------------------
def says_violation(findings: str) -> bool:
    text = findings or ""
    return bool(VIOLATION_WORDS.search(NO_VIOLATION.sub("", text)))


def record_inspection(
    session: Session,
    app: RenovationApplication,
    actor: str,
    findings: str,
    violation: bool | None = None,
    person: Staff | None = None,
    photos: list[tuple[str, str | None]] = (),
    uploads: list[Upload] = (),
    now: datetime | None = None,
) -> RenovationInspection:
    """A daily inspection (巡查). `violation` None: read from the findings. A violation is told
    to the owner at once, with what to put right. `photos`: WeChat's (url, media_id);
    `uploads`: files from the console, checked before anything is written."""
    now = aware_now(now)
    findings = (findings or "").strip()
    _require(app, RenovationStatus.APPROVED, what="巡查")
    checked = check_uploads(uploads)
    if violation is None:
        violation = says_violation(findings)
    if violation and not findings:
        raise RenovationError("发现违规请写明是什么问题，业主会收到通知。")
    inspection = RenovationInspection(
        application=app,
        staff_id=person.id if person else None,
        actor=actor,
        findings=findings or "正常",
        violation=violation,
        at=now,
    )
    session.add(inspection)
    for url, media_id in photos:
        if safe_photo_url(url):
            inspection.photos.append(RenovationPhoto(url=safe_photo_url(url), media_id=media_id, created_at=now))
    for photo in checked:
        inspection.photos.append(_stored(photo, now))
    session.flush()
    photo_fetch.enqueue_after_commit(session, inspection.photos)  # WeChat's links expire
    note = inspection.findings + (f"（照片 {len(checked)} 张）" if checked else "")
    add_step(session, app, "violation" if violation else "inspected", actor, note=note, at=now)
    if violation:
        text = (
            f"您好，今天物业巡查您家 {app.house.label} 的装修（{app.number}）时发现：{findings}\n"
            "按小区装修规定这需要马上停止并整改，麻烦您转告施工队。整改好后物业会再来查看，"
            "有疑问请联系物业服务中心。谢谢您的理解和配合！"
        )
        _tell_owner(session, app, text, "巡查发现违规", f"renovation:{app.id}:violation:{inspection.id}", now)
    return inspection


def latest_inspection_by(session: Session, person: Staff, now: datetime) -> RenovationInspection | None:
    return session.execute(
        select(RenovationInspection)
        .where(RenovationInspection.staff_id == person.id, RenovationInspection.at >= now - PHOTO_WINDOW)
        .order_by(RenovationInspection.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def add_inspection_photo(
    session: Session, person: Staff, url: str, media_id: str | None, now: datetime | None = None
) -> RenovationInspection | None:
    """A photo a staff member sends within two hours of their 巡查 goes with it; None otherwise."""
    now = aware_now(now)
    inspection = latest_inspection_by(session, person, now)
    if inspection is None or not safe_photo_url(url):
        return None
    photo = RenovationPhoto(url=safe_photo_url(url), media_id=media_id, created_at=now)
    inspection.photos.append(photo)
    session.flush()
    photo_fetch.enqueue_after_commit(session, [photo])  # downloaded and kept: WeChat's links expire
    return inspection


@dataclass
class Upload:
    """A file as the console received it: its name, its first bytes (up to the limit) and its
    whole size."""

    filename: str
    data: bytes
    size: int | None = None


def check_uploads(uploads: list[Upload]) -> list[photo_files.Photo]:
    """Every upload read as a photo, or RenovationError saying which one is not and why."""
    if len(uploads) > photo_files.MAX_PHOTOS:
        raise RenovationError(f"一次最多传 {photo_files.MAX_PHOTOS} 张照片。")
    try:
        return [photo_files.read(u.data, u.filename, u.size) for u in uploads]
    except photo_files.PhotoRefused as exc:
        raise RenovationError(str(exc)) from None


def _stored(photo: photo_files.Photo, now: datetime) -> RenovationPhoto:
    return RenovationPhoto(
        url="",
        filename=photo.name,
        content_type=photo.content_type,
        size=len(photo.data),
        data=photo.data,
        thumb=photo.thumb,
        created_at=now,
    )


MAX_PHOTOS_PER_INSPECTION = 12


def attach_uploads(
    session: Session,
    inspection: RenovationInspection,
    actor: str,
    uploads: list[Upload],
    now: datetime | None = None,
) -> list[RenovationPhoto]:
    """Photos uploaded in the console for an inspection already recorded (say one sent in from
    WeChat): checked, kept with it, and a line in the application's history."""
    now = aware_now(now)
    if not uploads:
        raise RenovationError("请选择要上传的照片。")
    checked = check_uploads(uploads)
    if len(inspection.photos) + len(checked) > MAX_PHOTOS_PER_INSPECTION:
        raise RenovationError(
            f"每次巡查最多 {MAX_PHOTOS_PER_INSPECTION} 张照片，这次巡查已有 {len(inspection.photos)} 张。"
        )
    kept = [_stored(p, now) for p in checked]
    inspection.photos.extend(kept)
    session.flush()
    add_step(
        session,
        inspection.application,
        "photos",
        actor,
        note=f"{_clock(inspection.at)} 的巡查：" + "、".join(p.filename for p in kept),
        at=now,
    )
    return kept


def resolve_violation(
    session: Session, inspection: RenovationInspection, actor: str, note: str, now: datetime | None = None
) -> None:
    now = aware_now(now)
    note = (note or "").strip()
    if not inspection.violation:
        raise RenovationError("这次巡查没有违规，不需要整改。")
    if inspection.handled_at is not None:
        raise RenovationError("这项违规已经记过整改了。")
    if not note:
        raise RenovationError("请写上整改情况，比如「已恢复燃气管原位，燃气公司复检合格」。")
    inspection.handled_at, inspection.handled_note = now, note
    add_step(session, inspection.application, "resolved", actor, note=note, at=now)


def open_violations(app: RenovationApplication) -> list[RenovationInspection]:
    return [i for i in app.inspections if i.violation and i.handled_at is None]


# --- acceptance ---------------------------------------------------------------------------------------
def accept_and_return_deposit(
    session: Session,
    app: RenovationApplication,
    actor: str,
    returned: Decimal | str | None,
    note: str = "",
    now: datetime | None = None,
) -> None:
    """验收: the job passes, passes end, and what is returned of the deposit is recorded (all of
    it unless a deduction is given with its reason). Violations must be handled first."""
    now = aware_now(now)
    note = (note or "").strip()
    _require(app, RenovationStatus.APPROVED, what="验收")
    pending = open_violations(app)
    if pending:
        raise RenovationError(f"还有 {len(pending)} 项违规没有整改（{pending[0].findings}），整改后才能验收。")
    deposit = app.deposit or Decimal("0")
    try:
        amount = deposit if returned in (None, "") else Decimal(str(returned).strip().removesuffix("元"))
    except ArithmeticError:
        raise RenovationError(f"退还金额「{returned}」不是数字。") from None
    amount = amount.quantize(Decimal("0.01"))
    if amount < 0 or amount > deposit:
        raise RenovationError(f"退还金额应在 0 到押金 {deposit} 元之间。")
    if amount < deposit and not note:
        raise RenovationError(f"押金 {deposit} 元只退 {amount} 元，请写明扣除原因。")
    app.status, app.accepted_at = RenovationStatus.ACCEPTED.value, now
    app.deposit_returned, app.deposit_note = amount, note or None
    for p in active_passes(app):
        p.revoked_at = now
    add_step(session, app, "accepted", actor, note=note or None, at=now)
    add_step(session, app, "deposit", actor, note=f"退还 {amount} 元" + (f"（{note}）" if note else ""), at=now)
    text = f"您好，您家 {app.house.label} 的装修（{app.number}）已验收通过 👍 "
    if deposit:
        text += f"装修押金退还 {amount} 元" + (f"（{note}）" if note and amount < deposit else "") + "。"
    text += "施工人员的临时出入证已同时注销。祝您入住愉快！"
    _tell_owner(session, app, text, "验收通过", f"renovation:{app.id}:accepted", now)


# --- noise --------------------------------------------------------------------------------------------
@dataclass
class NoiseFinding:
    outside_hours: bool
    jobs: list[RenovationApplication] = field(default_factory=list)
    hours: str = ""

    def note(self) -> str:
        """For staff: the jobs that may be the noise, and whether it is outside allowed hours."""
        if not self.jobs:
            return ""
        when = (
            f"现在不在允许施工时间（{self.hours}）" if self.outside_hours else f"现在在允许施工时间内（{self.hours}）"
        )
        named = "；".join(
            f"{j.house.label} {j.number}（{j.work}，{j.contractor}"
            f"{' ' + j.contractor_phone if j.contractor_phone else ''}）"
            for j in self.jobs
        )
        return f"{when}，在施工的装修：{named}"


def noise_check(
    session: Session, community_id: int | None, building_code: str | None, at: datetime | None = None
) -> NoiseFinding:
    """Approved jobs of the community going on at `at` (the complainant's building first), and
    whether noisy work is allowed then by the community's rules."""
    at = aware_now(at)
    rule = rules_for(session, community_id)
    if rule is None:
        return NoiseFinding(False)
    day = at.astimezone(SHANGHAI).date()
    jobs = (
        session.execute(
            select(RenovationApplication)
            .where(
                RenovationApplication.community_id == community_id,
                RenovationApplication.status == RenovationStatus.APPROVED.value,
                RenovationApplication.starts_on <= day,
                RenovationApplication.ends_on >= day,
            )
            .order_by(RenovationApplication.id)
        )
        .scalars()
        .all()
    )
    jobs.sort(key=lambda j: (j.house.building.code != building_code, j.id))
    allowed, today = noise_now(session, rule, at)
    label = f"今天{today.why}，{today.label}" if today.special else (hours.label(today.ranges) or "今天不允许")
    return NoiseFinding(not allowed, list(jobs[:3]), label)


def noise_answer(session: Session, community_id: int | None, at: datetime | None = None) -> str | None:
    """For the neighbour who complained: what the rules allow now (never whose job it is)."""
    at = aware_now(at)
    rule = rules_for(session, community_id)
    if rule is None:
        return None
    allowed, today = noise_now(session, rule, at)
    if today.special and not today.holiday.workday:
        rules = f"今天是{today.why}，按小区装修规定" + (
            f"有噪音的施工只允许在 {today.label}" if today.ranges else "全天不允许有噪音的施工"
        )
    elif today.special:
        rules = f"今天是{today.why}，按小区装修规定有噪音的施工时间是 {today.label}"
    else:
        rules = f"按小区装修规定，有噪音的施工时间是{hours_text(rule)}"
    if allowed:
        return f"{rules}，现在在这个时间内；我们会提醒施工方尽量减少噪音、按规定施工。"
    return f"{rules}，现在不允许，我们会马上联系施工方停下来。"


def record_noise_complaint(
    session: Session, app: RenovationApplication, ticket_number: str, outside: bool, now: datetime | None = None
) -> None:
    """A noise complaint names this job: kept in its history (a possible violation to check)."""
    add_step(
        session,
        app,
        "noise",
        "system",
        note=f"噪音投诉 {ticket_number}" + ("（不在允许施工时间）" if outside else ""),
        at=aware_now(now),
    )


# --- figures ------------------------------------------------------------------------------------------
def figures(session: Session, community_id: int, start: datetime, end: datetime) -> dict:
    """The scorecard's 装修 figures for applications made in [start, end). Returned: applications
    ever returned (a resubmitted one still counts); hours to approval run from the last
    submission."""
    apps = (
        session.execute(
            select(RenovationApplication).where(
                RenovationApplication.community_id == community_id,
                RenovationApplication.created_at >= start,
                RenovationApplication.created_at < end,
            )
        )
        .scalars()
        .all()
    )
    approved = [a for a in apps if a.decided_at and a.status in (RenovationStatus.APPROVED, RenovationStatus.ACCEPTED)]
    hours_to_approve = sorted(_hours_to_approve(a) for a in approved)
    inspections = (
        session.execute(
            select(RenovationInspection)
            .join(RenovationApplication)
            .where(
                RenovationApplication.community_id == community_id,
                RenovationInspection.at >= start,
                RenovationInspection.at < end,
            )
        )
        .scalars()
        .all()
    )
    jobs_inspected_or_active = session.execute(
        select(func.count(func.distinct(RenovationApplication.id))).where(
            RenovationApplication.community_id == community_id,
            RenovationApplication.status.in_((RenovationStatus.APPROVED.value, RenovationStatus.ACCEPTED.value)),
            RenovationApplication.decided_at < end,
            (RenovationApplication.accepted_at.is_(None)) | (RenovationApplication.accepted_at >= start),
        )
    ).scalar_one()
    violations = [i for i in inspections if i.violation]
    return {
        "applications": len(apps),
        "approved": len(approved),
        "returned": sum(any(st.kind == "returned" for st in a.steps) for a in apps),  # ever returned
        "approval_hours_median": _median(hours_to_approve),
        "active_jobs": jobs_inspected_or_active,
        "inspections": len(inspections),
        "inspections_per_job": round(len(inspections) / jobs_inspected_or_active, 1)
        if jobs_inspected_or_active
        else None,
        "violations": len(violations),
        "violations_handled": sum(i.handled_at is not None for i in violations),
        "accepted": sum(a.status == RenovationStatus.ACCEPTED for a in apps),
    }


def _hours_to_approve(app: RenovationApplication) -> float:
    """From the (last) submission to the approval: the desk's time, not the owner's correcting a
    returned application."""
    submitted = app.created_at
    for st in app.steps:
        if st.kind in ("submitted", "resubmitted") and st.at <= app.decided_at:
            submitted = st.at
    return (app.decided_at - submitted).total_seconds() / 3600


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    mid = len(values) // 2
    value = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
    return round(value, 1)


# --- helpers ------------------------------------------------------------------------------------------
def _day(d: date) -> str:
    return f"{d.month}月{d.day}日"


def _clock(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%m-%d %H:%M")


def _tell_owner(session: Session, app: RenovationApplication, text: str, stage: str, key: str, now: datetime) -> None:
    """The owner hears it in WeChat: a customer-service message while their window is open, else
    the progress template (the text carries it, so delivery can fall back)."""
    settings = load_settings()
    template = templates.message(
        settings.template_progress, text, app.number, "装修申请", stage, "物业服务中心", _clock(now)
    )
    channel = "custom" if wechat_window.custom_allowed(session, app.openid, now) else "template"
    delivery.record(session, app.openid, channel, text, purpose="progress", template=template, dedupe_key=key)
