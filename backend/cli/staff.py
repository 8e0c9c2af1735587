"""`python -m backend staff ...` and `python -m backend roster ...`: staff and duty rosters."""

from __future__ import annotations

import argparse
from datetime import date, datetime, time

from sqlalchemy import select

from backend.core import db
from backend.core.clock import SHANGHAI, aware_now
from backend.core.config import load_settings
from backend.core.models import SKILLS, STAFF_ROLES, Community, DutyShift, Staff
from backend.text.phones import mask
from backend.work import staff as staff_records


def _session(args):
    return db.session_scope(db.get_engine(args.database_url or load_settings().database_url))


def _person(session, ident: str) -> Staff:
    person = (
        session.get(Staff, int(ident))
        if ident.isdigit()
        else session.execute(select(Staff).where(Staff.name == ident)).scalars().first()
    )
    if person is None:
        raise SystemExit(f"没有这位员工：{ident}（用 id 或姓名；`staff list` 可查）")
    return person


def _print_code(person: Staff, code: str) -> None:
    print(f"{person.name} 的微信绑定码：{code}（24 小时内有效，只能用一次）")
    print(f"请 {person.name} 关注公众号后发送：绑定 {code}")


def cmd_add(args) -> int:
    with _session(args) as session:
        community_id = None
        if args.community:
            community = session.execute(select(Community).where(Community.code == args.community)).scalar_one_or_none()
            if community is None:
                raise SystemExit(f"没有小区代码 {args.community}")
            community_id = community.id
        try:
            person = staff_records.add_staff(
                session, args.name, args.phone or "", args.role, args.skills or "", community_id
            )
        except staff_records.StaffError as exc:
            raise SystemExit(str(exc))
        code = staff_records.issue_bind_code(session, person)
        print(f"已添加员工 #{person.id} {person.name}（{person.role}，{person.skills or '无工种'}）")
        _print_code(person, code)
    return 0


def cmd_code(args) -> int:
    with _session(args) as session:
        person = _person(session, args.staff)
        _print_code(person, staff_records.issue_bind_code(session, person))
    return 0


def cmd_list(args) -> int:
    now = aware_now()
    with _session(args) as session:
        duty = {p.id for p in staff_records.on_duty(session, now)}
        people = session.execute(select(Staff).order_by(Staff.id)).scalars().all()
        print(f"{'id':>4}  {'姓名':<8}{'岗位':<18}{'工种':<20}{'电话':<14}{'微信':<6}在岗")
        for p in people:
            print(
                f"{p.id:>4}  {p.name:<8}{p.role:<18}{p.skills:<20}{mask(p.phone):<14}"
                f"{'已绑定' if p.openid else '未绑定':<6}{'是' if p.id in duty else ''}"
                f"{'' if p.active else '（停用）'}"
            )
    return 0


def cmd_roster_add(args) -> int:
    start, end = time.fromisoformat(args.start), time.fromisoformat(args.end)
    first = date.fromisoformat(args.date) if args.date else datetime.now(SHANGHAI).date()
    with _session(args) as session:
        person = _person(session, args.staff)
        shifts = staff_records.add_daily_shifts(session, person, first, args.days, start, end)
        print(f"已为 {person.name} 排班 {len(shifts)} 天：{first} 起每天 {args.start}–{args.end}（北京时间）")
    return 0


def cmd_roster_show(args) -> int:
    now = aware_now()
    with _session(args) as session:
        rows = (
            session.execute(
                select(DutyShift).where(DutyShift.ends_at > now).order_by(DutyShift.starts_at).limit(args.limit)
            )
            .scalars()
            .all()
        )
        if not rows:
            print("今天起没有排班。用 `python -m backend roster add` 添加。")
        for s in rows:
            a, b = s.starts_at.astimezone(SHANGHAI), s.ends_at.astimezone(SHANGHAI)
            mark = " ← 在岗" if s.starts_at <= now < s.ends_at else ""
            print(f"{a:%m-%d %H:%M} – {b:%m-%d %H:%M}  {s.staff.name}（{s.staff.role}）{mark}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    staff = sub.add_parser("staff", help="staff records and WeChat binding codes")
    ssub = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    add = ssub.add_parser("add", help="add a staff member and print their one-time binding code")
    add.add_argument("--name", required=True)
    add.add_argument("--phone")
    add.add_argument("--role", default="technician", choices=STAFF_ROLES)
    add.add_argument("--skills", help=f"comma-separated: {', '.join(SKILLS)}")
    add.add_argument("--community", help="community code; default: works in every community")
    add.set_defaults(func=cmd_add)
    code = ssub.add_parser("code", help="a new binding code for a staff member (id or name)")
    code.add_argument("staff")
    code.set_defaults(func=cmd_code)
    lst = ssub.add_parser("list", help="everyone, with binding and duty state")
    lst.set_defaults(func=cmd_list)

    roster = sub.add_parser("roster", help="the duty roster (who is on duty when)")
    rsub = roster.add_subparsers(dest="roster_command", required=True, metavar="ACTION")
    radd = rsub.add_parser("add", help="daily shifts, Beijing time; an end before the start runs overnight")
    radd.add_argument("--staff", required=True, help="id or name")
    radd.add_argument("--from", dest="start", required=True, help="HH:MM")
    radd.add_argument("--to", dest="end", required=True, help="HH:MM")
    radd.add_argument("--date", help="first day, YYYY-MM-DD (default today)")
    radd.add_argument("--days", type=int, default=1)
    radd.set_defaults(func=cmd_roster_add)
    show = rsub.add_parser("show", help="shifts from now on")
    show.add_argument("--limit", type=int, default=50)
    show.set_defaults(func=cmd_roster_show)
