"""Water, power, gas and hot-water cuts: staff announce them, every affected owner is told once,
and owners' questions are answered from them.

Each thing owners are told about an outage is a campaign, "outage:<id>:<event>" (notice,
update2, update3…, reminder, restored, cancelled). A campaign's messages are recorded first, one
per recipient with a unique dedupe key, then sent paced by the worker; killed and restarted, the
broadcast goes on from what is still queued, and nobody gets the same message twice.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import redis
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from backend.core import jobs, schedule
from backend.core.clock import SHANGHAI, aware_now
from backend.core.config import Settings, load_settings
from backend.core.db import get_engine, session_scope
from backend.core.models import (
    OUTAGE_KINDS,
    Building,
    Community,
    House,
    Outage,
    OutboundMessage,
    WechatBinding,
    WechatUser,
)
from backend.core.redis_conn import get_redis
from backend.messaging import delivery, templates, wechat_window

log = logging.getLogger(__name__)

REMIND_BEFORE = timedelta(hours=1)
# How far ahead owners' questions look for planned cuts.
LOOKAHEAD = timedelta(days=7)
BATCH = 1000
LOCK_SECONDS = 20
PREPARE_DEFAULT = {
    "water": "请提前储水，关好水龙头，来水后先放一会儿水再用",
    "power": "请提前给手机等充电，关闭大功率电器，冰箱少开门",
    "gas": "请关好燃气灶和热水器阀门，来气后先开窗通风",
    "hot_water": "请提前安排洗漱时间",
}
DONE_WORD = {"water": "来水", "power": "来电", "gas": "通气", "hot_water": "恢复热水"}


class OutageError(ValueError):
    """The request cannot be carried out; the message says why, in Chinese."""


# --- wording ---------------------------------------------------------------------------------------
def _clock(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%m月%d日 %H:%M").lstrip("0")


def _span(outage: Outage) -> str:
    a, b = outage.starts_at.astimezone(SHANGHAI), outage.ends_at.astimezone(SHANGHAI)
    return (
        f"{_clock(outage.starts_at)}—{b:%H:%M}"
        if a.date() == b.date()
        else f"{_clock(outage.starts_at)}—{_clock(outage.ends_at)}"
    )


def where(outage: Outage) -> str:
    codes = outage.building_codes
    return "全小区" if not codes else "、".join(f"{c}栋" if c.isdigit() else c for c in codes)


def label(outage: Outage) -> str:
    return OUTAGE_KINDS.get(outage.kind, outage.kind)


def text_for(outage: Outage, event: str) -> str:
    kind, name = label(outage), outage.community.name
    if event == "notice":
        head = "【停水停电通知】" if outage.planned else "【紧急通知】"
        lines = [f"{head}{name} {where(outage)} {_span(outage)} {kind}。"]
        if outage.reason:
            lines.append(f"原因：{outage.reason}。")
        lines.append(f"温馨提示：{outage.prepare or PREPARE_DEFAULT.get(outage.kind, '')}。")
        lines.append("给您带来不便，敬请谅解。有问题随时在这里问我。")
        return "\n".join(lines)
    if event.startswith("update"):
        return (
            f"【{kind}通知更新】{name} {where(outage)} 的{kind}"
            f"{('：' + outage.note) if outage.note else ''}，现在预计 {_span(outage)}。给您带来不便，非常抱歉。"
        )
    if event == "reminder":
        return (
            f"【温馨提醒】{where(outage)} 将于 {_clock(outage.starts_at)} 开始{kind}，预计 "
            f"{_clock(outage.ends_at)} 恢复。{outage.prepare or PREPARE_DEFAULT.get(outage.kind, '')}。"
        )
    if event == "restored":
        back = DONE_WORD.get(outage.kind, "恢复")
        if outage.restored_at and outage.restored_at < outage.ends_at:
            head = f"【提前恢复】{where(outage)} 已提前{back}，感谢您的耐心。"
        else:
            head = f"【恢复通知】{where(outage)} 的{kind}已按计划结束，应该已经{back}了，感谢您的耐心。"
        return head + "如果您家还没恢复，请直接回复「报修」，我们马上安排。"
    if event == "cancelled":
        return f"【通知取消】原定 {_span(outage)} {where(outage)} 的{kind}取消了，一切照常，打扰您了。"
    raise ValueError(event)


def template_for(settings: Settings, outage: Outage, event: str) -> dict:
    stage = {"notice": "通知", "reminder": "即将开始", "restored": "已恢复", "cancelled": "已取消"}.get(
        event, "时间有变"
    )
    fields = [f"{label(outage)}{stage}", where(outage), _span(outage), outage.reason or "—", outage.community.name]
    return templates.message(settings.template_progress, text_for(outage, event), *fields)


# --- staff side: create, change, end -------------------------------------------------------------
def _community(session: Session, code: str) -> Community:
    community = session.execute(select(Community).where(Community.code == code)).scalar_one_or_none()
    if community is None:
        raise OutageError(f"没有代码为 {code} 的小区")
    return community


def _codes(session: Session, community: Community, buildings) -> list[str] | None:
    if buildings in (None, "", "all", "全部", []):
        return None
    if isinstance(buildings, str):
        buildings = [b for b in buildings.replace("，", ",").split(",") if b.strip()]
    wanted = [str(b).strip().upper().removesuffix("栋").removesuffix("号楼") for b in buildings]
    known = set(session.execute(select(Building.code).where(Building.community_id == community.id)).scalars())
    unknown = [b for b in wanted if b not in known]
    if unknown:
        raise OutageError(f"{community.name}没有这些楼栋：{'、'.join(unknown)}")
    return sorted(set(wanted), key=lambda c: (len(c), c))


def create(
    session: Session,
    community_code: str,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    buildings=None,
    reason: str = "",
    prepare: str = "",
    planned: bool = True,
    actor: str = "",
    now: datetime | None = None,
    utility_notified_at: datetime | None = None,
) -> Outage:
    now = aware_now(now)
    if kind not in OUTAGE_KINDS:
        raise OutageError(f"类型只能是：{', '.join(OUTAGE_KINDS)}")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise OutageError("时间要带时区")
    if ends_at <= starts_at:
        raise OutageError("恢复时间要晚于开始时间")
    if ends_at <= now:
        raise OutageError("这次停水停电已经结束了，不用再通知")
    if utility_notified_at is not None and (utility_notified_at.tzinfo is None or utility_notified_at > now):
        raise OutageError("供水供电单位的通知时间不能晚于现在")
    community = _community(session, community_code)
    codes = _codes(session, community, buildings)
    outage = Outage(
        community=community,
        kind=kind,
        planned=planned,
        starts_at=starts_at,
        ends_at=ends_at,
        buildings=json.dumps(codes, ensure_ascii=False) if codes else None,
        reason=reason.strip(),
        prepare=prepare.strip(),
        status="scheduled",
        version=1,
        created_by=actor,
        created_at=now,
        updated_at=now,
        utility_notified_at=utility_notified_at,
    )
    session.add(outage)
    session.flush()
    return outage


def change(
    session: Session,
    outage: Outage,
    ends_at: datetime | None = None,
    starts_at: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> str:
    """Extend or move an outage; returns the update's event name (its campaign)."""
    now = aware_now(now)
    if outage.status != "scheduled":
        raise OutageError(f"这次{label(outage)}已经{'恢复' if outage.status == 'restored' else '取消'}，不能再改")
    starts_at, ends_at = starts_at or outage.starts_at, ends_at or outage.ends_at
    if ends_at <= starts_at:
        raise OutageError("恢复时间要晚于开始时间")
    outage.starts_at, outage.ends_at = starts_at, ends_at
    outage.version += 1
    outage.note = note.strip() or None
    outage.updated_at = now
    return f"update{outage.version}"


def restore(session: Session, outage: Outage, now: datetime | None = None) -> None:
    now = aware_now(now)
    if outage.status == "restored":
        return
    if outage.status == "cancelled":
        raise OutageError("这次通知已取消")
    outage.status, outage.restored_at, outage.updated_at = "restored", now, now


def cancel(session: Session, outage: Outage, reason: str = "", now: datetime | None = None) -> None:
    now = aware_now(now)
    if outage.status == "cancelled":
        return
    if outage.status == "restored":
        raise OutageError("已经恢复了，不能取消")
    outage.status, outage.cancelled_at, outage.updated_at = "cancelled", now, now
    outage.note = reason.strip() or outage.note


# --- who is told ---------------------------------------------------------------------------------
def _affected_houses(outage: Outage):
    stmt = (
        select(House.id)
        .join(Building, Building.id == House.building_id)
        .where(Building.community_id == outage.community_id)
    )
    if outage.building_codes:
        stmt = stmt.where(Building.code.in_(outage.building_codes))
    return stmt


def recipients(session: Session, outage: Outage) -> list[str]:
    """Bound owners of the affected buildings who still follow the account."""
    stmt = (
        select(WechatBinding.openid)
        .outerjoin(WechatUser, WechatUser.openid == WechatBinding.openid)
        .where(
            WechatBinding.house_id.in_(_affected_houses(outage)),
            (WechatUser.subscribed.is_(None)) | (WechatUser.subscribed.is_(True)),
        )
        .distinct()
        .order_by(WechatBinding.openid)
    )
    return list(session.execute(stmt).scalars())


def preview(session: Session, outage: Outage) -> dict:
    """How many bound owners each affected building has: what staff check before sending."""
    rows = session.execute(
        select(Building.code, func.count(func.distinct(WechatBinding.openid)))
        .join(House, House.building_id == Building.id)
        .join(WechatBinding, WechatBinding.house_id == House.id)
        .outerjoin(WechatUser, WechatUser.openid == WechatBinding.openid)
        .where(
            House.id.in_(_affected_houses(outage)),
            (WechatUser.subscribed.is_(None)) | (WechatUser.subscribed.is_(True)),
        )
        .group_by(Building.code)
    ).all()
    per = dict(sorted(rows, key=lambda r: (len(r[0]), r[0])))
    return {"per_building": per, "total": len(recipients(session, outage))}


def campaign(outage_id: int, event: str) -> str:
    return f"outage:{outage_id}:{event}"


def plan(
    session: Session,
    settings: Settings,
    outage: Outage,
    event: str,
    now: datetime | None = None,
    openids: list[str] | None = None,
) -> int:
    """Record this event's message for every recipient not yet recorded; returns how many new."""
    now = aware_now(now)
    name = campaign(outage.id, event)
    if openids is None:
        openids = recipients(session, outage)
        if event != "notice":  # updates go to everyone told before, even if they moved out since
            told = session.execute(
                select(OutboundMessage.openid).where(OutboundMessage.campaign == campaign(outage.id, "notice"))
            ).scalars()
            openids = sorted(set(openids) | set(told))
    text, template = text_for(outage, event), template_for(settings, outage, event)
    template_json = json.dumps(template, ensure_ascii=False)
    added = 0
    for start in range(0, len(openids), BATCH):
        chunk = openids[start : start + BATCH]
        done = set(
            session.execute(
                select(OutboundMessage.openid).where(
                    OutboundMessage.campaign == name, OutboundMessage.openid.in_(chunk)
                )
            ).scalars()
        )
        todo = [o for o in chunk if o not in done]
        if not todo:
            continue
        window = wechat_window.open_windows(session, todo, now)
        session.execute(
            insert(OutboundMessage),
            [
                {
                    "openid": o,
                    "channel": "custom" if o in window else "template",
                    "content": text,
                    "template": template_json,
                    "purpose": "notice",
                    "campaign": name,
                    "status": "queued",
                    "dedupe_key": f"{name}:{o}",
                    "attempts": 0,
                    "created_at": now,
                }
                for o in todo
            ],
        )
        added += len(todo)
    return added


def announce(
    session: Session, outage: Outage, event: str, settings: Settings | None = None, now: datetime | None = None
) -> None:
    """Record who is to be told and start the broadcast once the session commits."""
    settings = settings or load_settings()
    plan(session, settings, outage, event, now)
    jobs.enqueue_after_commit(session, schedule.BROADCAST, outage.id, event)


# --- what staff do: one function per action, for the console, the admin API and the CLI -------------
def was_announced(session: Session, outage: Outage) -> bool:
    """Whether the first notice was recorded for anyone (owners know of the cut)."""
    return _campaign_exists(session, outage.id, "notice")


def _tell_if_announced(
    session: Session, outage: Outage, event: str, settings: Settings | None, now: datetime | None
) -> bool:
    # Before the first notice went out owners know nothing: a change, restore or cancel is only
    # recorded (the notice, if sent later, carries the new times).
    if not was_announced(session, outage):
        return False
    announce(session, outage, event, settings=settings, now=now)
    return True


def send_notice(session: Session, outage: Outage, settings: Settings | None = None, now: datetime | None = None) -> str:
    """发送通知: tell every affected owner, once. Returns the event ("notice")."""
    if outage.status != "scheduled":
        raise OutageError("已恢复或已取消，不用再发通知")
    if was_announced(session, outage):
        raise OutageError("通知已经发过了；时间有变请用“变更”")
    announce(session, outage, "notice", settings=settings, now=now)
    return "notice"


def update(
    session: Session,
    outage: Outage,
    starts_at: datetime | None,
    ends_at: datetime | None,
    note: str,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> tuple[str, bool]:
    """变更时间, with a note saying why; those told before hear it. (event, whether anyone is told)."""
    note = (note or "").strip()
    if not note:
        raise OutageError("请写明变更说明，例如“抢修延长到18点”")
    if starts_at is None and ends_at is None:
        raise OutageError("请填写新的开始或恢复时间")
    event = change(session, outage, ends_at=ends_at, starts_at=starts_at, note=note, now=now)
    return event, _tell_if_announced(session, outage, event, settings, now)


def restore_and_tell(
    session: Session, outage: Outage, settings: Settings | None = None, now: datetime | None = None
) -> bool:
    """提前恢复 (or on time): recorded; those told before hear it. Whether anyone is told."""
    if outage.status == "restored":
        raise OutageError("已经是恢复状态")
    restore(session, outage, now)
    return _tell_if_announced(session, outage, "restored", settings, now)


def cancel_and_tell(
    session: Session, outage: Outage, reason: str, settings: Settings | None = None, now: datetime | None = None
) -> bool:
    """取消, with the reason; those told before hear it. Whether anyone is told."""
    if outage.status == "cancelled":
        raise OutageError("已经取消了")
    cancel(session, outage, reason, now)
    return _tell_if_announced(session, outage, "cancelled", settings, now)


# --- the broadcast job -----------------------------------------------------------------------------
def broadcast(outage_id: int, event: str, rate: float | None = None) -> dict:
    """Job: send a campaign's queued messages, paced; safe to run again (it resumes)."""
    settings = load_settings()
    name = campaign(outage_id, event)
    conn = get_redis(settings.redis_url)
    # thread_local=False: the sending threads extend the lock the job thread took.
    lock = conn.lock(f"wuye:broadcast:{name}", timeout=LOCK_SECONDS, blocking=False, thread_local=False)
    try:
        if not lock.acquire(blocking=False):
            return {"skipped": "another worker is sending this campaign"}
    except redis.RedisError:
        lock = None
    engine = get_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            outage = session.get(Outage, outage_id)
            if outage is None:
                return {"skipped": "no such outage"}
            if event == "notice" and outage.status == "cancelled":
                return {"skipped": "cancelled before it went out"}
            ids = (
                session.execute(
                    select(OutboundMessage.id)
                    .where(OutboundMessage.campaign == name, OutboundMessage.status == "queued")
                    .order_by(OutboundMessage.id)
                )
                .scalars()
                .all()
            )
        total = len(ids)
        log.info("broadcast starting", extra={"campaign": name, "queued": total})

        def progress(done: int) -> None:
            if lock is not None and done % 200 == 0:
                try:
                    lock.extend(LOCK_SECONDS, replace_ttl=True)
                except (redis.RedisError, redis.exceptions.LockError):
                    pass  # Redis gone or the lock expired: sending goes on; claims keep it single
            if done % 1000 == 0 or done == total:
                log.info("broadcast progress", extra={"campaign": name, "done": done, "total": total})

        counts = delivery.send_many(ids, settings, rate=rate or settings.broadcast_rate, progress=progress)
        log.info("broadcast finished", extra={"campaign": name, **counts})
        return counts
    finally:
        if lock is not None:
            try:
                lock.release()
            except redis.RedisError:
                pass


def summary(session: Session, outage_id: int) -> dict:
    """Per campaign: sent, failed by errcode, pending (queued or sending), unknown."""
    rows = session.execute(
        select(OutboundMessage.campaign, OutboundMessage.status, OutboundMessage.errcode, func.count())
        .where(OutboundMessage.campaign.like(f"outage:{outage_id}:%"))
        .group_by(OutboundMessage.campaign, OutboundMessage.status, OutboundMessage.errcode)
    ).all()
    out: dict[str, dict] = {}
    for name, status, errcode, n in rows:
        event = name.split(":", 2)[2]
        s = out.setdefault(event, {"total": 0, "sent": 0, "pending": 0, "failed": {}, "unknown": 0})
        s["total"] += n
        if status in ("sent", "local"):
            s["sent"] += n
        elif status in ("queued", "sending"):
            s["pending"] += n
        elif status == "unknown":
            s["unknown"] += n
        else:
            key = str(errcode or "error")
            s["failed"][key] = s["failed"].get(key, 0) + n
    return out


# --- the clock: reminders before, "restored" after -------------------------------------------------
def sweep(now: datetime | None = None) -> dict:
    """Periodic: remind shortly before planned cuts, announce the end, resume broken broadcasts."""
    now = aware_now(now)
    settings = load_settings()
    engine = get_engine(settings.database_url)
    counts = {"reminded": 0, "restored": 0, "resumed": 0}
    with session_scope(engine) as session:
        due = (
            session.execute(
                select(Outage).where(
                    Outage.status == "scheduled",
                    Outage.planned.is_(True),
                    Outage.starts_at > now,
                    Outage.starts_at <= now + REMIND_BEFORE,
                )
            )
            .scalars()
            .all()
        )
        for outage in due:
            # Only if the notice went out well before; a notice sent 10 minutes ago needs no reminder.
            first = session.execute(
                select(func.min(OutboundMessage.created_at)).where(
                    OutboundMessage.campaign == campaign(outage.id, "notice")
                )
            ).scalar_one()
            if (
                first is not None
                and first < outage.starts_at - REMIND_BEFORE - timedelta(hours=1)
                and not _campaign_exists(session, outage.id, "reminder")
            ):
                announce(session, outage, "reminder", settings, now)
                counts["reminded"] += 1
        ended = (
            session.execute(select(Outage).where(Outage.status == "scheduled", Outage.ends_at <= now)).scalars().all()
        )
        for outage in ended:
            restore(session, outage, now)
            counts["restored"] += 1
        for outage in (
            session.execute(
                select(Outage).where(Outage.status == "restored", Outage.restored_at >= now - timedelta(days=1))
            )
            .scalars()
            .all()
        ):
            if _campaign_exists(session, outage.id, "notice") and not _campaign_exists(session, outage.id, "restored"):
                announce(session, outage, "restored", settings, now)
        stalled = (
            session.execute(
                select(OutboundMessage.campaign)
                .where(
                    OutboundMessage.campaign.like("outage:%"),
                    OutboundMessage.status == "queued",
                    OutboundMessage.created_at < now - timedelta(seconds=10),
                )
                .distinct()
            )
            .scalars()
            .all()
        )
    for name in stalled:
        _, outage_id, event = name.split(":", 2)
        jobs.enqueue(schedule.BROADCAST, int(outage_id), event)
        counts["resumed"] += 1
    return counts


def _campaign_exists(session: Session, outage_id: int, event: str) -> bool:
    return (
        session.execute(
            select(OutboundMessage.id).where(OutboundMessage.campaign == campaign(outage_id, event)).limit(1)
        ).first()
        is not None
    )


# --- owners' questions ---------------------------------------------------------------------------
def for_building(
    session: Session, community_id: int, building_code: str | None, now: datetime | None = None, kind: str | None = None
) -> list[Outage]:
    """Active and upcoming cuts that affect this building (or the whole community), soonest first."""
    now = aware_now(now)
    stmt = select(Outage).where(
        Outage.community_id == community_id,
        Outage.status == "scheduled",
        Outage.ends_at > now,
        Outage.starts_at <= now + LOOKAHEAD,
    )
    if kind:
        stmt = stmt.where(Outage.kind == kind)
    found = session.execute(stmt.order_by(Outage.starts_at)).scalars().all()
    return [o for o in found if building_code is None or not o.building_codes or building_code in o.building_codes]


def describe(outage: Outage, now: datetime | None = None) -> str:
    """One owner-facing sentence: whether, why, until when."""
    now = aware_now(now)
    kind = label(outage)
    if outage.starts_at <= now:
        line = f"{where(outage)}正在{kind}，预计 {_clock(outage.ends_at)} {DONE_WORD.get(outage.kind, '恢复')}"
    else:
        line = f"{where(outage)} {_span(outage)} {kind}"
    if outage.reason:
        line += f"（{outage.reason}）"
    if outage.note:
        line += f"，{outage.note}"
    return line + "。"
