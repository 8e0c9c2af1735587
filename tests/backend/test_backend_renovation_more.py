"""Decoration management, continued: a returned application corrected and resubmitted (by the
owner or by the desk for them), cancelled with the owner told, inspection photos uploaded (checked
for size and real image type, kept in the database), and holidays / 调休 working days in the rules
deciding whether noisy work is allowed. SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select

from backend.core.models import OutboundMessage, RenovationHoliday, RenovationPhoto
from backend.core.statuses import RenovationStatus
from backend.owners.imports import import_file
from backend.service import complaints
from backend.work import photo_files, renovation
from backend.work.renovation import ApplicationRequest, Changes, RenovationError, Upload
from backend.work.tickets import owner_actor
from tests.backend.test_backend_renovation import (  # noqa: F401 (rules: a fixture)
    NOW,
    OWNER,
    START,
    _apply,
    _to_owner,
    beijing,
    rules,
    write_csv,
)

HOLIDAY_HEADER = ["小区", "名称", "日期", "结束日期", "类型", "允许施工时间"]


def jpeg(width=1600, height=1200, color="gray") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG", quality=85)
    return out.getvalue()


# --- returned, corrected, resubmitted ------------------------------------------------------------
def test_owner_corrects_a_returned_application_under_its_own_number(session, rules, crew):
    app = _apply(session, crew)
    renovation.return_with_reason(session, app, "console:zheng", "请补充水电改造图纸，施工人数写清楚", now=NOW)
    session.commit()
    returned = _to_owner(session)[-1].content
    assert "请补充水电改造图纸" in returned and "「修改装修申请」" in returned  # how to correct it
    assert renovation.returned_for_house(session, crew.house.id).id == app.id

    later = NOW + timedelta(hours=20)
    changed = renovation.resubmit(
        session,
        app,
        owner_actor(OWNER),
        Changes(work="厨房卫生间翻新，铺地砖（附水电改造图）", workers=4, ends_on=END_LATER),
        now=later,
    )
    session.commit()
    assert app.number.startswith("ZX") and app.status == RenovationStatus.SUBMITTED and app.return_reason is None
    assert "施工人数：3人 → 4人" in changed and any("施工期" in c for c in changed)
    assert (app.workers, app.ends_on) == (4, END_LATER)
    step = app.steps[-1]
    assert (step.kind, step.actor) == ("resubmitted", owner_actor(OWNER)) and "3人 → 4人" in step.note
    assert len(_to_owner(session)) == 1  # the owner did it in chat: the chat answers, no push

    # Approved later: the hours to approval run from the resubmission, and it counts as returned.
    renovation.approve(session, app, "console:zheng", now=later + timedelta(hours=2))
    session.commit()
    card = renovation.figures(session, crew.community.id, NOW - timedelta(days=1), NOW + timedelta(days=3))
    assert (card["applications"], card["returned"], card["approved"]) == (1, 1, 1)
    assert card["approval_hours_median"] == 2.0
    assert [s.kind for s in app.steps] == ["submitted", "returned", "resubmitted", "approved"]


END_LATER = date(2027, 1, 10)


def test_the_desk_resubmits_for_the_owner_and_the_owner_hears_it(session, rules, crew):
    app = _apply(session, crew)
    renovation.return_with_reason(session, app, "console:zheng", "装修公司电话打不通", now=NOW)
    session.commit()
    renovation.resubmit(
        session, app, "console:zheng", Changes(contractor_phone="139 0000 2222"), note="业主来电更正", now=NOW
    )
    session.commit()
    assert app.contractor_phone == "13900002222" and app.status == RenovationStatus.SUBMITTED
    assert "业主来电更正" in app.steps[-1].note and "139****2222" in app.steps[-1].note
    told = _to_owner(session)[-1].content
    assert app.number in told and "重新提交" in told and "139****2222" in told and "装修公司电话打不通" in told
    # Returned again: the owner hears the second return too (each return is its own message).
    renovation.return_with_reason(session, app, "console:zheng", "请附上物业装修协议签字页", now=NOW)
    session.commit()
    assert "请附上物业装修协议签字页" in _to_owner(session)[-1].content
    assert len(_to_owner(session)) == 3


def test_resubmit_is_checked_like_an_application(session, rules, crew):
    app = _apply(session, crew)
    with pytest.raises(RenovationError, match="待审批.*不能重新提交"):
        renovation.resubmit(session, app, "console:zheng", now=NOW)
    renovation.return_with_reason(session, app, "console:zheng", "请补充图纸", now=NOW)
    session.commit()
    with pytest.raises(RenovationError, match="完工日期早于开工日期"):
        renovation.resubmit(session, app, "console:zheng", Changes(ends_on=START - timedelta(days=1)), now=NOW)
    with pytest.raises(RenovationError, match="人数"):
        renovation.resubmit(session, app, "console:zheng", Changes(workers=0), now=NOW)
    with pytest.raises(RenovationError, match="格式不对"):
        renovation.resubmit(session, app, "console:zheng", Changes(contractor_phone="打不通"), now=NOW)
    session.rollback()
    # Past its start date, the dates must be given again.
    with pytest.raises(RenovationError, match="已经过去"):
        renovation.resubmit(session, app, "console:zheng", now=beijing(2026, 12, 10, 9))
    session.rollback()
    # The owner applied again meanwhile: the returned one cannot come back beside it.
    other = _apply(session, crew)
    with pytest.raises(RenovationError, match=other.number):
        renovation.resubmit(session, app, "console:zheng", now=NOW)


# --- cancel ------------------------------------------------------------------------------------------
def test_cancel_tells_the_owner_ends_the_passes_and_keeps_the_reason(session, rules, crew):
    app = _apply(session, crew)
    renovation.approve(session, app, "console:zheng", now=NOW)
    (card,) = renovation.issue_passes(session, app, "console:zheng", ["张三"], now=NOW)
    session.commit()
    with pytest.raises(RenovationError, match="原因"):
        renovation.cancel(session, app, "console:zheng", "  ", now=NOW)
    renovation.cancel(session, app, "console:zheng", "业主来电：房子暂不装修了", now=NOW)
    session.commit()
    assert app.status == RenovationStatus.CANCELLED and card.revoked_at is not None
    assert (app.steps[-1].kind, app.steps[-1].note) == ("cancelled", "业主来电：房子暂不装修了")
    told = _to_owner(session)[-1].content
    assert "已取消" in told and "房子暂不装修了" in told and "出入证已同时注销" in told
    assert not renovation.check_pass(session, card.number, now=beijing(2026, 12, 8, 9)).valid
    with pytest.raises(RenovationError, match="已取消"):
        renovation.cancel(session, app, "console:zheng", "再取消一次", now=NOW)


# --- photos uploaded in the console ------------------------------------------------------------------
def test_uploaded_photos_are_checked_and_kept_with_the_inspection(session, rules, crew):
    app = _apply(session, crew)
    renovation.approve(session, app, "console:zheng", now=NOW)
    session.commit()
    told_before = len(_to_owner(session))
    # One bad file refuses the whole inspection: nothing recorded, the owner not told.
    for name, data, why in [
        ("x.jpg", b"<html><script>alert(1)</script></html>", "不是能打开的照片"),
        ("a.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "不是能打开的照片"),
        ("cut.jpg", jpeg()[:800], "不是能打开的照片"),
        ("big.jpg", b"\xff\xd8" + b"0" * 100, "不能超过 8 MB"),
    ]:
        size = 20 * 1024 * 1024 if name == "big.jpg" else None
        with pytest.raises(RenovationError, match=why):
            renovation.record_inspection(
                session, app, "console:zheng", "擅自移动燃气管道", True, uploads=[Upload(name, data, size)], now=NOW
            )
        session.rollback()
    assert app.inspections == [] and len(_to_owner(session)) == told_before
    too_many = [Upload(f"{i}.jpg", jpeg(40, 30)) for i in range(photo_files.MAX_PHOTOS + 1)]
    with pytest.raises(RenovationError, match="最多"):
        renovation.record_inspection(session, app, "console:zheng", "正常", uploads=too_many, now=NOW)
    session.rollback()

    inspection = renovation.record_inspection(
        session,
        app,
        "console:zheng",
        "擅自移动燃气管道",
        True,
        uploads=[Upload("../../etc/passwd.jpg", jpeg()), Upload("现场 2.png", _png())],
        now=NOW,
    )
    session.commit()
    photos = inspection.photos
    assert [(p.filename, p.content_type) for p in photos] == [("passwd.jpg", "image/jpeg"), ("现场2.png", "image/png")]
    assert all(p.stored and p.url == "" and p.size == len(p.data) for p in photos)
    with Image.open(io.BytesIO(photos[0].thumb)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == photo_files.THUMB
    assert "照片 2 张" in app.steps[-1].note

    # More photos for the same inspection later (it came in from WeChat without any).
    kept = renovation.attach_uploads(session, inspection, "console:zheng", [Upload("补拍.webp", _webp())], now=NOW)
    session.commit()
    assert kept[0].content_type == "image/webp" and len(inspection.photos) == 3
    assert app.steps[-1].kind == "photos" and "补拍.webp" in app.steps[-1].note
    with pytest.raises(RenovationError, match="选择"):
        renovation.attach_uploads(session, inspection, "console:zheng", [], now=NOW)
    session.rollback()
    stored = session.execute(select(RenovationPhoto).where(RenovationPhoto.content_type.is_not(None))).scalars().all()
    assert len(stored) == 3


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (300, 200), (255, 0, 0, 128)).save(out, "PNG")
    return out.getvalue()


def _webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), "blue").save(out, "WEBP")
    return out.getvalue()


def test_photo_files_refuse_bombs_and_keep_only_a_safe_name():
    out = io.BytesIO()
    Image.new("1", (9000, 9000)).save(out, "PNG")  # 81 million pixels in a few KB
    with pytest.raises(photo_files.PhotoRefused, match="尺寸太大"):
        photo_files.read(out.getvalue(), "bomb.png")
    assert photo_files.safe_name('..\\..\\windows\\"evil".jpg') == "evil.jpg"
    assert photo_files.safe_name("\x00\n.") == "照片"
    with pytest.raises(photo_files.PhotoRefused, match="空文件"):
        photo_files.read(b"", "empty.jpg")


# --- holidays -----------------------------------------------------------------------------------------
def _holidays(session, tmp_path, rows):
    return import_file(session, "renovation-holidays", write_csv(tmp_path / "h.csv", HOLIDAY_HEADER, rows))


def test_holiday_import_reports_bad_rows_and_writes_nothing(session, rules, tmp_path):
    report = _holidays(
        session,
        tmp_path,
        [
            ["XFL", "国庆节", "2026-10-01", "2026-10-07", "放假", ""],  # row 2: good
            ["XFL", "", "十月一号", "", "", ""],  # row 3: not a date
            ["XFL", "", "2026-10-09", "2026-10-08", "", ""],  # row 4: ends before it starts
            ["XFL", "", "2026-10-10", "", "加班", ""],  # row 5: no such type
            ["NOPE", "", "2026-10-11", "", "", ""],  # row 6: no such community
            ["XFL", "", "2026-10-12", "", "放假", "白天"],  # row 7: hours unreadable
        ],
    )
    assert not report.ok
    assert [e.row for e in report.errors] == [3, 4, 5, 6, 7]
    reasons = {e.row: e.reason for e in report.errors}
    assert "不是日期" in reasons[3] and "早于" in reasons[4] and "不存在" in reasons[6]
    assert "「放假」" in reasons[5] and "「调休上班」" in reasons[5] and "允许施工时间" in reasons[7]
    overlapping = _holidays(
        session,
        tmp_path,
        [
            ["XFL", "国庆节", "2026-10-01", "2026-10-07", "放假", ""],
            ["XFL", "国庆节", "2026-10-05", "", "放假", ""],  # row 3: inside row 2's days
        ],
    )
    assert [(e.row, "重叠" in e.reason) for e in overlapping.errors] == [(3, True)]
    assert session.execute(select(RenovationHoliday)).first() is None


def test_holiday_import_with_its_defaults_said_and_reimport_unchanged(session, rules, tmp_path):
    rows = [
        ["XFL", "国庆节", "2026-10-01", "2026-10-07", "", ""],  # 放假, 不允许: both defaults
        ["XFL", "国庆节", "2026-10-10", "", "调休上班", ""],  # as on working days
        ["幸福里花园", "元旦", "2027/1/1", "2027/1/3", "放假", "10:00-12:00"],
    ]
    report = _holidays(session, tmp_path, rows)
    assert report.ok, report.lines()
    said = "\n".join(report.lines())
    assert "类型" in said and "放假" in said and "不允许" in said
    found = {
        h.starts_on: (h.ends_on, h.workday, h.noisy_hours) for h in session.execute(select(RenovationHoliday)).scalars()
    }
    assert found == {
        date(2026, 10, 1): (date(2026, 10, 7), False, ""),
        date(2026, 10, 10): (date(2026, 10, 10), True, None),
        date(2027, 1, 1): (date(2027, 1, 3), False, "10:00-12:00"),
    }
    again = _holidays(session, tmp_path, rows)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)


def test_holidays_and_tiaoxiu_decide_noise_for_complaints_and_rules_answers(session, rules, crew, tmp_path):
    assert _holidays(
        session,
        tmp_path,
        [
            ["XFL", "国庆节", "2026-10-01", "2026-10-07", "放假", "不允许"],
            ["XFL", "国庆节", "2026-10-10", "", "调休上班", ""],
        ],
    ).ok
    session.commit()
    app = renovation.apply(
        session,
        ApplicationRequest(
            openid=OWNER,
            house_id=crew.house.id,
            work="卫生间翻新",
            contractor="安居装饰",
            contractor_phone="13900001111",
            starts_on=date(2026, 9, 28),
            ends_on=date(2026, 10, 20),
            workers=2,
        ),
        now=beijing(2026, 9, 20, 9),
    )
    renovation.approve(session, app, "console:zheng", now=beijing(2026, 9, 21, 9))
    session.commit()
    approved = _to_owner(session)[-1].content
    assert "施工期间的节假日" in approved and "国庆节 10月1日至10月7日全天不允许" in approved
    assert "10月10日（周六）调休上班（国庆节），按工作日时间" in approved

    holiday_morning = beijing(2026, 10, 1, 10)  # a Thursday: 10:00 would be allowed on a working day
    holiday = renovation.holiday_on(session, crew.community.id, holiday_morning.date())
    assert renovation.noise_allowed(rules, holiday_morning) and not renovation.noise_allowed(
        rules, holiday_morning, holiday
    )
    ticket = _complain(session, crew, holiday_morning)
    named = {s.kind: s.note for s in ticket.steps}["renovation"]
    assert app.number in named and "不在允许施工时间" in named and "国庆节" in named and "全天不允许" in named
    answer = complaints.renovation_answer(session, ticket, holiday_morning)
    assert "今天是国庆节" in answer and "全天不允许" in answer and "现在不允许" in answer

    tiaoxiu = beijing(2026, 10, 10, 10)  # a Saturday worked in exchange: working-day hours
    assert not renovation.noise_allowed(rules, tiaoxiu)  # the weekend rule alone says no
    worked = _complain(session, crew, tiaoxiu)
    assert "在允许施工时间内" in {s.kind: s.note for s in worked.steps}["renovation"]
    assert "现在在这个时间内" in complaints.renovation_answer(session, worked, tiaoxiu)
    lunch = _complain(session, crew, beijing(2026, 10, 10, 13))
    assert "不在允许施工时间" in {s.kind: s.note for s in lunch.steps}["renovation"]
    # A plain Saturday after: the weekend rule again.
    saturday = _complain(session, crew, beijing(2026, 10, 17, 10))
    assert "不在允许施工时间" in {s.kind: s.note for s in saturday.steps}["renovation"]

    before = renovation.rules_text(session, rules, "幸福里花园", "hours", now=beijing(2026, 9, 25, 9))
    assert "节假日：国庆节 10月1日至10月7日全天不允许；10月10日（周六）调休上班（国庆节），按工作日时间" in before
    during = renovation.rules_text(session, rules, "幸福里花园", "hours", now=holiday_morning)
    assert "今天是国庆节，全天不允许有噪音的施工" in during
    on_tiaoxiu = renovation.rules_text(session, rules, "幸福里花园", "hours", now=tiaoxiu)
    assert "今天是调休上班日（国庆节），有噪音的施工时间：8:00-12:00、14:00-18:00" in on_tiaoxiu
    after = renovation.rules_text(session, rules, "幸福里花园", "hours", now=beijing(2026, 10, 20, 9))
    assert "节假日" not in after  # past holidays are not listed


def test_a_holiday_with_its_own_hours(session, rules, crew, tmp_path):
    assert _holidays(session, tmp_path, [["XFL", "元旦", "2027-01-01", "2027-01-03", "放假", "10:00-12:00"]]).ok
    session.commit()
    day = renovation.day_hours(
        rules, date(2027, 1, 2), renovation.holiday_on(session, crew.community.id, date(2027, 1, 2))
    )
    assert (day.label, day.why) == ("10:00-12:00", "元旦")
    at = beijing(2027, 1, 2, 11)
    assert (
        renovation.noise_now(session, rules, at)[0]
        and not renovation.noise_now(session, rules, beijing(2027, 1, 2, 9))[0]
    )
    assert "今天是元旦，有噪音的施工只允许 10:00-12:00" in renovation.rules_text(session, rules, "幸福里花园", now=at)
    assert "元旦 1月1日至1月3日只允许 10:00-12:00" in renovation.rules_text(session, rules, "幸福里花园", now=NOW)
    assert Decimal(rules.deposit) == Decimal("3000.00")


def _complain(session, crew, at):
    ticket = complaints.raise_complaint(
        session,
        complaints.ComplaintRequest(
            openid=f"o-neighbour-{at:%m%d%H}",
            description="楼上装修太吵了，一直在电钻",
            location_label="3栋1单元401",
            community_id=crew.community.id,
        ),
        now=at,
    )
    session.commit()
    return ticket


def test_owner_messages_are_outbound_rows(session, rules, crew):
    """What the owner hears is recorded like every push (the worker sends it)."""
    app = _apply(session, crew)
    renovation.cancel(session, app, "console:zheng", "业主不装了", now=NOW)
    session.commit()
    row = session.execute(select(OutboundMessage).where(OutboundMessage.openid == OWNER)).scalars().one()
    assert app.number in row.content and row.purpose == "progress"
