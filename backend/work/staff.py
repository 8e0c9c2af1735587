"""Staff records, the duty roster and binding a staff member's WeChat by a one-time code.

A supervisor adds a technician (CLI or console) and gets a code like YG482913; the technician
sends it to the official account within 24 hours and from then on their messages are staff
commands and their tasks are pushed to them. Only a hash of the code is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.core.clock import SHANGHAI, aware_now
from backend.core.models import SKILLS, STAFF_ROLES, DutyShift, Staff
from backend.messaging import alerts

# YG + 10 digits: with at most 5 wrong tries per WeChat account and 30 from everyone an hour
# (backend.messaging.alerts), all the tries of a day (720) against even a hundred live codes have about one
# chance in 140,000 (720 x 100 / 10^10). Anything from YG + 6 digits counts as a try (older
# codes had 6 digits).
CODE_DIGITS = 10
CODE_PATTERN = re.compile(r"^\s*(?:员工)?(?:绑定|綁定)?\s*[:：]?\s*(YG[\d\s-]{6,20})\s*$", re.IGNORECASE)
CODE_LIFETIME = timedelta(hours=24)
CODE_TRIES_PER_OPENID = 5
CODE_TRIES_ALL = 30
CODE_TRY_WINDOW = 3600


class StaffError(ValueError):
    """A request about staff that cannot be carried out; the message says why, in Chinese."""


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def normalise_skills(skills: str | list[str]) -> str:
    items = re.split(r"[,，、\s]+", skills) if isinstance(skills, str) else list(skills)
    items = [s.strip() for s in items if s and s.strip()]
    unknown = [s for s in items if s not in SKILLS]
    if unknown:
        raise StaffError(f"不认识的工种：{'、'.join(unknown)}（可选：{'、'.join(SKILLS)}）")
    return ",".join(dict.fromkeys(items))


def add_staff(
    session: Session,
    name: str,
    phone: str = "",
    role: str = "technician",
    skills: str | list[str] = "",
    community_id: int | None = None,
) -> Staff:
    if role not in STAFF_ROLES:
        raise StaffError(f"岗位只能是：{', '.join(STAFF_ROLES)}")
    if not name.strip():
        raise StaffError("姓名不能为空")
    person = Staff(
        name=name.strip(),
        phone=phone.strip(),
        role=role,
        skills=normalise_skills(skills),
        community_id=community_id,
        active=True,
    )
    session.add(person)
    session.flush()
    return person


def issue_bind_code(session: Session, person: Staff, now: datetime | None = None) -> str:
    """A new one-time code for `person` (any earlier one stops working)."""
    now = aware_now(now)
    while True:
        code = f"YG{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if session.execute(select(Staff.id).where(Staff.bind_code_hash == _hash(code))).first() is None:
            break
    person.bind_code_hash = _hash(code)
    person.bind_code_expires_at = now + CODE_LIFETIME
    session.flush()
    return code


def looks_like_bind_code(text: str) -> str | None:
    match = CODE_PATTERN.match(text or "")
    if not match:
        return None
    code = re.sub(r"[\s-]", "", match.group(1)).upper()  # "YG 12345 67890" as read from a note
    return code if re.fullmatch(r"YG\d{6,12}", code) else None


def bind_by_code(session: Session, code: str, openid: str, now: datetime | None = None) -> Staff:
    """Bind `openid` to the staff member the code was issued to; the code is then used up.

    Wrong codes are counted (per WeChat account and for everyone, per hour); past either limit
    no code is even looked at, and past the global one the supervisors are told."""
    now = aware_now(now)
    if alerts.failures("staffcode", openid, CODE_TRY_WINDOW) >= CODE_TRIES_PER_OPENID:
        raise StaffError(
            "绑定码错误次数太多了，为了安全先暂停一小时。请核对主管给您的绑定码，稍后再试，或请主管重新生成一个。"
        )
    if alerts.failures("staffcode", "*", CODE_TRY_WINDOW) >= CODE_TRIES_ALL:
        raise StaffError("员工绑定暂时关闭了（最近错误的绑定码太多），请联系主管。")
    person = session.execute(select(Staff).where(Staff.bind_code_hash == _hash(code))).scalar_one_or_none()
    if person is None or not person.active or person.bind_code_expires_at is None or person.bind_code_expires_at < now:
        _, everyone = alerts.count_failure("staffcode", openid, CODE_TRY_WINDOW)
        if everyone >= CODE_TRIES_ALL:
            alerts.tell_supervisors_once(
                session,
                "staffcode",
                f"【安全提醒】最近一小时有 {everyone} 次错误的员工绑定码，员工绑定已暂停一小时。"
                "如果不是同事输错，可能有人在试绑定码；新员工绑定请稍后再试。",
                [p.openid for p in supervisors(session, None)],
                CODE_TRY_WINDOW,
            )
        raise StaffError("这个绑定码无效或已过期，请找主管重新生成一个。")
    other = session.execute(select(Staff).where(Staff.openid == openid, Staff.id != person.id)).scalar_one_or_none()
    if other is not None:
        raise StaffError(f"这个微信已经绑定了员工「{other.name}」，如需更换请联系主管。")
    person.openid = openid
    person.bind_code_hash = None
    person.bind_code_expires_at = None
    session.flush()
    return person


def staff_by_openid(session: Session, openid: str) -> Staff | None:
    return session.execute(select(Staff).where(Staff.openid == openid, Staff.active.is_(True))).scalar_one_or_none()


# --- the duty roster ---------------------------------------------------------------------------
def add_shift(session: Session, person: Staff, starts_at: datetime, ends_at: datetime) -> DutyShift:
    if ends_at <= starts_at:
        raise StaffError("下班时间要晚于上班时间")
    shift = DutyShift(staff_id=person.id, starts_at=starts_at, ends_at=ends_at)
    session.add(shift)
    session.flush()
    return shift


def add_daily_shifts(
    session: Session, person: Staff, first_day: date, days: int, start: time, end: time
) -> list[DutyShift]:
    """The same hours (Beijing time) on `days` days; an end at or before the start is next morning."""
    shifts = []
    for n in range(days):
        day = first_day + timedelta(days=n)
        starts_at = datetime.combine(day, start, SHANGHAI)
        ends_at = datetime.combine(day, end, SHANGHAI)
        if ends_at <= starts_at:
            ends_at += timedelta(days=1)
        shifts.append(add_shift(session, person, starts_at, ends_at))
    return shifts


def on_duty(
    session: Session, now: datetime | None = None, community_id: int | None = None, role: str | None = None
) -> list[Staff]:
    """Active staff on a shift covering `now`, who work in `community_id` (or everywhere)."""
    now = aware_now(now)
    stmt = (
        select(Staff)
        .join(DutyShift, DutyShift.staff_id == Staff.id)
        .where(Staff.active.is_(True), DutyShift.starts_at <= now, DutyShift.ends_at > now)
        .order_by(Staff.id)
        .distinct()
    )
    if community_id is not None:
        stmt = stmt.where(or_(Staff.community_id.is_(None), Staff.community_id == community_id))
    if role is not None:
        stmt = stmt.where(Staff.role == role)
    return list(session.execute(stmt).scalars())


def supervisors(session: Session, community_id: int | None, now: datetime | None = None) -> list[Staff]:
    """Supervisors to tell: those on duty, else every active supervisor for the community."""
    people = [p for p in on_duty(session, now, community_id, role="supervisor") if p.openid]
    if people:
        return people
    stmt = select(Staff).where(Staff.active.is_(True), Staff.role == "supervisor", Staff.openid.is_not(None))
    if community_id is not None:
        stmt = stmt.where(or_(Staff.community_id.is_(None), Staff.community_id == community_id))
    return list(session.execute(stmt.order_by(Staff.id)).scalars())
