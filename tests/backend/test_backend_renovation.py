"""Decoration management (issue 17): the rules import, every state change of an application
through its one function, passes checked by number, inspections, acceptance and the deposit,
noise complaints naming the job, the scorecard figures. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from backend.core.clock import SHANGHAI
from backend.core.models import OutboundMessage, RenovationApplication, RenovationRule, Ticket
from backend.core.statuses import RenovationStatus
from backend.owners.imports import import_file
from backend.service import complaints
from backend.text import hours
from backend.work import renovation
from backend.work.renovation import ApplicationRequest, RenovationError

OWNER = "o-reno-owner"
RULES_HEADER = ["小区", "允许施工时间", "周末施工时间", "装修押金", "禁止事项", "所需材料"]
RULES_ROW = ["XFL", "8:00-12:00，14:00-18:00", "不允许", "3000元", "拆改承重墙\n移动燃气管道", "身份证复印件"]


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def beijing(y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


# Wednesday 2 December 2026, 10:00 Beijing time; the job runs the next week.
NOW = beijing(2026, 12, 2, 10)
START, END = date(2026, 12, 7), date(2026, 12, 31)


@pytest.fixture
def rules(session, crew, tmp_path):
    report = import_file(session, "renovation-rules", write_csv(tmp_path / "r.csv", RULES_HEADER, [RULES_ROW]))
    assert report.ok, report.lines()
    session.commit()
    return session.execute(select(RenovationRule)).scalar_one()


def _apply(session, crew, **changes) -> RenovationApplication:
    req = dict(
        openid=OWNER,
        house_id=crew.house.id,
        work="厨房卫生间翻新，铺地砖",
        contractor="安居装饰",
        contractor_phone="13900001111",
        starts_on=START,
        ends_on=END,
        workers=3,
    )
    req.update(changes)
    app = renovation.apply(session, ApplicationRequest(**req), now=NOW)
    session.commit()
    return app


def _to_owner(session) -> list[OutboundMessage]:
    session.expire_all()
    rows = (
        session.execute(select(OutboundMessage).where(OutboundMessage.openid == OWNER).order_by(OutboundMessage.id))
        .scalars()
        .all()
    )
    session.commit()
    return rows


def test_hours_are_read_as_staff_write_them():
    assert hours.stored(hours.parse("8点至12点、14点到18点")) == "08:00-12:00,14:00-18:00"
    assert hours.stored(hours.parse("上午8:30-12:00 下午2:00-6:00")) == "08:30-12:00,14:00-18:00"
    assert hours.parse("不允许") == []
    with pytest.raises(hours.BadHours):
        hours.parse("8:00-12:00，11:00-13:00")  # overlapping
    with pytest.raises(hours.BadHours):
        hours.parse("早上八点")


def test_rules_import_reports_bad_rows_and_writes_nothing(session, crew, tmp_path):
    path = write_csv(
        tmp_path / "r.csv",
        RULES_HEADER,
        [
            ["XFL", "8点到后半夜", "", "3000", "拆改承重墙", ""],  # row 2: hours unreadable
            ["NOPE", "8-12", "", "3000", "拆改承重墙", ""],  # row 3: no such community
            ["XFL", "8-12", "", "很多", "拆改承重墙", ""],  # row 4: deposit not a number
        ],
    )
    report = import_file(session, "renovation-rules", path)
    assert [e.row for e in report.errors] == [2, 3, 4]
    assert "允许施工时间" in str(report.errors[0])
    assert session.execute(select(RenovationRule)).first() is None


def test_rules_import_and_reimport_changes_nothing(session, rules, tmp_path):
    assert (rules.noisy_hours, rules.weekend_hours, rules.deposit) == (
        "08:00-12:00,14:00-18:00",
        "",
        Decimal("3000.00"),
    )
    again = import_file(session, "renovation-rules", write_csv(tmp_path / "r2.csv", RULES_HEADER, [RULES_ROW]))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    answer = renovation.rules_answer(rules, "幸福里花园", "hours")
    assert answer.splitlines()[1].startswith("🕗") and "8:00-12:00、14:00-18:00" in answer and "周末不允许" in answer
    assert "拆改承重墙" in answer and "3000 元" in answer
    assert not renovation.noise_allowed(rules, beijing(2026, 12, 2, 13))  # Wednesday lunch
    assert renovation.noise_allowed(rules, beijing(2026, 12, 2, 15))
    assert not renovation.noise_allowed(rules, beijing(2026, 12, 5, 10))  # Saturday


def test_application_checks_and_one_open_application_per_house(session, rules, crew):
    with pytest.raises(RenovationError, match="完工日期早于开工日期"):
        _apply(session, crew, ends_on=START - timedelta(days=1))
    with pytest.raises(RenovationError, match="已经过去"):
        _apply(session, crew, starts_on=date(2026, 11, 1))
    app = _apply(session, crew, source_key="turn-1")
    assert app.number.startswith("ZX261202") and app.status == RenovationStatus.SUBMITTED
    assert app.deposit == Decimal("3000.00") and [s.kind for s in app.steps] == ["submitted"]
    assert _apply(session, crew, source_key="turn-1").id == app.id  # the same turn again
    with pytest.raises(RenovationError, match=app.number):
        _apply(session, crew)


def test_return_needs_a_reason_and_the_owner_hears_it(session, rules, crew):
    app = _apply(session, crew)
    with pytest.raises(RenovationError, match="原因"):
        renovation.return_with_reason(session, app, "console:zheng", "  ", now=NOW)
    renovation.return_with_reason(session, app, "console:zheng", "请补充施工图纸", now=NOW)
    session.commit()
    assert app.status == RenovationStatus.RETURNED and app.steps[-1].note == "请补充施工图纸"
    (message,) = _to_owner(session)
    assert "请补充施工图纸" in message.content and app.number in message.content
    with pytest.raises(RenovationError, match="已退回"):
        renovation.approve(session, app, "console:zheng", now=NOW)
    assert _apply(session, crew).id != app.id  # the owner may apply again


def test_whole_life_approve_pass_inspect_violation_accept(session, rules, crew):
    app = _apply(session, crew)
    with pytest.raises(RenovationError, match="待审批"):
        renovation.issue_passes(session, app, "console:zheng", ["张三"], now=NOW)
    assert renovation.approve(session, app, "console:zheng", now=NOW)
    assert not renovation.approve(session, app, "console:zheng", now=NOW)
    session.commit()
    approved = _to_owner(session)[-1]
    assert "审批通过" in approved.content and "8:00-12:00、14:00-18:00" in approved.content

    passes = renovation.issue_passes(session, app, "console:zheng", ["张三", "李四"], now=NOW)
    session.commit()
    assert [p.number[:2] for p in passes] == ["ZJ", "ZJ"]
    with pytest.raises(RenovationError, match="3 名施工人员"):
        renovation.issue_passes(session, app, "console:zheng", ["王五", "赵六"], now=NOW)
    with pytest.raises(RenovationError, match="施工期"):
        renovation.issue_passes(session, app, "console:zheng", ["王五"], valid_to=END + timedelta(days=1), now=NOW)
    early = renovation.check_pass(session, passes[0].number, now=NOW)
    assert not early.valid and "还没到有效期" in early.reason
    ok = renovation.check_pass(session, passes[0].number.lower(), now=beijing(2026, 12, 8, 9))
    assert ok.valid and "张三" in ok.reason and "3栋2单元501" in ok.reason
    assert not renovation.check_pass(session, "ZJ000000000", now=NOW).valid

    on_site = beijing(2026, 12, 8, 10)
    fine = renovation.record_inspection(
        session, app, "staff:1", "无违规，现场整洁", person=crew.supervisor, now=on_site
    )
    assert not fine.violation
    bad = renovation.record_inspection(
        session,
        app,
        "staff:1",
        "擅自移动燃气管道",
        person=crew.supervisor,
        photos=[("https://img.example/1.jpg", None), ("javascript:alert(1)", None)],
        now=on_site,
    )
    session.commit()
    assert bad.violation and [p.url for p in bad.photos] == ["https://img.example/1.jpg"]
    assert "擅自移动燃气管道" in _to_owner(session)[-1].content
    photo = renovation.add_inspection_photo(
        session, crew.supervisor, "https://img.example/2.jpg", "m2", now=on_site + timedelta(minutes=5)
    )
    assert photo.id == bad.id and len(bad.photos) == 2

    with pytest.raises(RenovationError, match="没有整改"):
        renovation.accept_and_return_deposit(session, app, "console:zheng", None, now=on_site)
    renovation.resolve_violation(session, bad, "console:zheng", "燃气管已恢复原位，燃气公司复检合格", now=on_site)
    with pytest.raises(RenovationError, match="扣除原因"):
        renovation.accept_and_return_deposit(session, app, "console:zheng", "2500", now=on_site)
    done = beijing(2026, 12, 30, 15)
    renovation.accept_and_return_deposit(session, app, "console:zheng", "2500", "楼道墙面损坏修复 500 元", now=done)
    session.commit()
    assert app.status == RenovationStatus.ACCEPTED and app.deposit_returned == Decimal("2500.00")
    assert "退还 2500.00 元" in _to_owner(session)[-1].content
    closed = renovation.check_pass(session, passes[0].number, now=done)
    assert not closed.valid and "验收" in closed.reason
    assert [s.kind for s in app.steps] == [
        "submitted",
        "approved",
        "pass_issued",
        "inspected",
        "violation",
        "resolved",
        "accepted",
        "deposit",
    ]

    card = renovation.figures(session, crew.community.id, NOW - timedelta(days=1), done + timedelta(days=1))
    assert card["applications"] == 1 and card["approved"] == 1 and card["approval_hours_median"] == 0.0
    assert (card["inspections"], card["violations"], card["violations_handled"]) == (2, 1, 1)
    assert card["inspections_per_job"] == 2.0
    from backend.service import scorecard

    month = scorecard.for_month(session, "XFL", "2026-12")
    assert month["renovation"]["applications"] == 1 and month["renovation"]["violations_handled"] == 1
    assert "每处装修巡查次数" in scorecard.to_text(month) and "renovation_violations,发现违规,1" in scorecard.to_csv(
        month
    )


def test_noise_complaint_outside_hours_names_the_job_to_staff(session, rules, crew):
    app = _apply(session, crew)
    renovation.approve(session, app, "console:zheng", now=NOW)
    session.commit()
    night = beijing(2026, 12, 8, 21, 30)
    ticket = complaints.raise_complaint(
        session,
        complaints.ComplaintRequest(
            openid="o-neighbour",
            description="楼上装修太吵了，晚上九点半还在电钻",
            location_label="3栋1单元401",
            community_id=crew.community.id,
        ),
        now=night,
    )
    session.commit()
    steps = {s.kind: s.note for s in ticket.steps}
    assert app.number in steps["renovation"] and "不在允许施工时间" in steps["renovation"]
    task = (
        session.execute(
            select(OutboundMessage).where(OutboundMessage.ticket_id == ticket.id, OutboundMessage.purpose == "task")
        )
        .scalars()
        .first()
    )
    assert task is not None and app.number in task.content and "3栋2单元501" in task.content
    assert app.steps[-1].kind == "noise" and ticket.number in app.steps[-1].note
    told = complaints.renovation_answer(session, ticket, night)
    assert "现在不允许" in told and "周末不允许" in told and app.number not in told and "501" not in told
    # In allowed hours the job is still named, as allowed.
    day = complaints.raise_complaint(
        session,
        complaints.ComplaintRequest(
            openid="o-neighbour",
            description="楼上装修太吵",
            location_label="3栋1单元401",
            community_id=crew.community.id,
        ),
        now=beijing(2026, 12, 8, 10),
    )
    assert "在允许施工时间内" in {s.kind: s.note for s in day.steps}["renovation"]
    assert "现在在这个时间内" in complaints.renovation_answer(session, day, beijing(2026, 12, 8, 10))
    other = session.execute(select(Ticket).where(Ticket.description == "楼上装修太吵")).scalar_one()
    assert other.id == day.id


def test_staff_wechat_commands_inspect_resolve_and_check(session, rules, crew):
    from backend.core.clock import aware_now
    from backend.work import staff_desk

    today = aware_now().astimezone(SHANGHAI).date()
    app = renovation.apply(
        session,
        ApplicationRequest(
            openid=OWNER,
            house_id=crew.house.id,
            work="卫生间翻新",
            contractor="安居装饰",
            contractor_phone="13900001111",
            starts_on=today + timedelta(days=1),
            ends_on=today + timedelta(days=30),
            workers=2,
        ),
    )
    session.commit()
    inspector = crew.supervisor.openid
    assert "待审批" in staff_desk.answer(session, inspector, f"巡查 {app.number} 现场正常")[0]
    renovation.approve(session, app, "console:zheng")
    passes = renovation.issue_passes(session, app, "console:zheng", ["张三"])
    session.commit()
    reply = staff_desk.answer(session, inspector, "巡查 3-2-501 现场整洁，无违规")[0]
    assert "已记录" in reply and app.number in reply and not app.inspections[-1].violation
    reply = staff_desk.answer(session, inspector, f"巡查 {app.number} 违规 卫生间防水没做就铺砖")[0]
    session.commit()
    assert "业主已收到整改通知" in reply and app.inspections[-1].violation
    assert app.inspections[-1].findings == "卫生间防水没做就铺砖"
    assert "卫生间防水没做就铺砖" in _to_owner(session)[-1].content
    photo = staff_desk.answer(session, inspector, '/send_photo{"photo_url": "https://img.example/x.jpg"}')[0]
    assert app.number in photo and len(app.inspections[-1].photos) == 1
    assert "整改" in staff_desk.answer(session, inspector, f"整改 {app.number} 已补做防水并闭水试验")[0]
    assert app.inspections[-1].handled_at is not None
    check = staff_desk.answer(session, inspector, f"查证 {passes[0].number}")[0]
    assert check.startswith("❌") and "还没到有效期" in check
    assert "没有在施工的装修" in staff_desk.answer(session, inspector, "巡查 8-1-101 正常")[0]
