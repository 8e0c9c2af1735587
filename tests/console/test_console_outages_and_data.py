"""The outage pages (create, preview, send, live progress, change/restore/cancel), the scorecard
page and its CSV, imports with row errors and dry run, the duty roster and binding codes, and a
ticket's assignee, assignment history and 我的工单 — on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

from sqlalchemy import select

from backend.core.clock import SHANGHAI
from backend.core.models import AuditLog, Building, ConsoleUser, DutyShift, Outage, OutboundMessage, Staff
from backend.core.redis_conn import get_redis
from tests.console.conftest import OPENID, post_form


def fetch(session, stmt, scalars=True):
    """Read, then end the transaction (on SQLite every transaction holds the write lock the app
    needs); the rows come back detached with their values loaded."""
    session.rollback()
    result = session.execute(stmt)
    rows = result.scalars().all() if scalars else result.all()
    session.expunge_all()
    session.rollback()
    return rows


def get(session, model, ident):
    rows = fetch(session, select(model).where(model.id == ident))
    return rows[0] if rows else None


def audit_rows(session, action):
    return fetch(session, select(AuditLog).where(AuditLog.action == action))


def local(dt: datetime) -> str:
    return dt.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def outbound(session, campaign_like="outage:%"):
    return fetch(
        session,
        select(OutboundMessage).where(OutboundMessage.campaign.like(campaign_like)).order_by(OutboundMessage.id),
    )


# --- outages ---------------------------------------------------------------------------------------
def test_create_then_preview_per_building_then_send(as_role, world, session, redis_url):
    client = as_role("customer_service")
    form = client.get("/outages/new").get_data(as_text=True)
    assert "停热水" in form and "全小区" in form
    start = datetime.now(SHANGHAI).replace(second=0, microsecond=0) + timedelta(days=1)
    resp = post_form(
        client,
        "/outages",
        {
            "community": "XFL",
            "kind": "power",
            "scope": "some",
            "buildings": ["3", "5"],
            "starts_at": local(start),
            "ends_at": local(start + timedelta(hours=3)),
            "reason": "配电房检修",
            "prepare": "",
            "planned": "1",
        },
        page="/outages/new",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    outage_id = int(resp.location.rsplit("/", 1)[1])
    page = client.get(resp.location).get_data(as_text=True)
    assert "配电房检修" in page and "3栋" in page
    assert 'id="recipients-total">1<' in page  # the owner bound to 3-2-501
    assert 'id="send"' in page and "还没有发送" in page
    assert outbound(session) == []  # saved is not sent
    [row] = audit_rows(session, "outage.create")
    assert row.target_id == str(outage_id) and row.username == "customer_service"

    get_redis(redis_url).delete("rq:queue:wuye")
    assert post_form(client, f"/outages/{outage_id}/send", page="/outages").status_code == 302
    [msg] = outbound(session)
    assert (msg.openid, msg.campaign, msg.status) == (OPENID, f"outage:{outage_id}:notice", "queued")
    assert get_redis(redis_url).llen("rq:queue:wuye") == 1  # the broadcast job, after commit
    assert len(audit_rows(session, "outage.send")) == 1
    progress = client.get(f"/outages/{outage_id}/progress").get_json()
    event = progress["events"][0]
    assert (event["event"], event["total"], event["pending"], event["sent"]) == ("notice", 1, 1, 0)
    assert progress["finished"] is False
    # Sending twice is refused: the update form is for changes.
    resp = post_form(client, f"/outages/{outage_id}/send", page="/outages")
    assert resp.status_code == 400 and "已经发过" in resp.get_data(as_text=True)
    assert len(outbound(session)) == 1


def test_progress_counts_sent_and_failed_by_errcode(as_role, world, session):
    client = as_role("admin")
    oid = world["outage"].id
    post_form(client, f"/outages/{oid}/send", page="/outages")
    [msg] = outbound(session)
    session.execute(
        OutboundMessage.__table__.update().where(OutboundMessage.id == msg.id).values(status="failed", errcode=43004)
    )
    session.commit()
    data = client.get(f"/outages/{oid}/progress").get_json()
    [event] = data["events"]
    assert (event["failed"], event["failed_by"], event["pending"], data["finished"]) == (
        1,
        [{"errcode": "43004", "count": 1}],
        0,
        True,
    )
    assert "错误码 43004" in client.get(f"/outages/{oid}").get_data(as_text=True)


def test_bad_outage_forms_are_400_and_keep_nothing(as_role, world, session):
    client = as_role("supervisor")
    start = datetime.now(SHANGHAI) + timedelta(days=1)
    base = {
        "community": "XFL",
        "kind": "water",
        "scope": "all",
        "starts_at": local(start),
        "ends_at": local(start + timedelta(hours=2)),
    }
    for change, message in [
        ({"ends_at": local(start - timedelta(hours=1))}, "恢复时间要晚于开始时间"),
        ({"kind": "fire"}, "请选择停水"),
        ({"starts_at": "明天"}, "时间格式不对"),
        ({"scope": "some"}, "请选择楼栋"),
        ({"community": "NOPE"}, "没有代码为 NOPE"),
        ({"scope": "some", "buildings": "99"}, "没有这些楼栋"),
    ]:
        resp = post_form(client, "/outages", {**base, **change}, page="/outages/new")
        assert resp.status_code == 400, change
        assert message in resp.get_data(as_text=True), change
    assert len(fetch(session, select(Outage.id))) == 1  # the world's


def test_update_restore_cancel_tell_the_owners_told_before(as_role, world, session):
    client = as_role("supervisor")
    oid = world["outage"].id
    post_form(client, f"/outages/{oid}/send", page="/outages")
    resp = post_form(client, f"/outages/{oid}/update", {"ends_at": "", "note": ""}, page="/outages")
    assert resp.status_code == 400 and "变更说明" in resp.get_data(as_text=True)
    new_end = get(session, Outage, oid).ends_at + timedelta(hours=2)
    resp = post_form(
        client, f"/outages/{oid}/update", {"ends_at": local(new_end), "note": "抢修延长两小时"}, page="/outages"
    )
    assert resp.status_code == 302
    assert [m.campaign for m in outbound(session, f"outage:{oid}:update%")] == [f"outage:{oid}:update2"]
    assert post_form(client, f"/outages/{oid}/restore", page="/outages").status_code == 302
    assert len(outbound(session, f"outage:{oid}:restored")) == 1
    # Restored: no more changes, and the page no longer offers them.
    resp = post_form(client, f"/outages/{oid}/cancel", page="/outages")
    assert resp.status_code == 400 and "已经恢复了" in resp.get_data(as_text=True)
    page = client.get(f"/outages/{oid}").get_data(as_text=True)
    assert "已恢复" in page and 'id="cancel"' not in page
    assert [r.action for r in audit_rows(session, "outage.update")] == ["outage.update"]
    assert len(audit_rows(session, "outage.restore")) == 1


def test_cancel_before_sending_tells_nobody(as_role, world, session):
    client = as_role("customer_service")
    oid = world["outage"].id
    assert post_form(client, f"/outages/{oid}/cancel", {"reason": "施工改期"}, page="/outages").status_code == 302
    assert get(session, Outage, oid).status == "cancelled"
    assert outbound(session) == []
    assert "已取消" in client.get("/outages").get_data(as_text=True)


def test_technicians_see_outages_but_cannot_send(as_role, world):
    client = as_role("technician")
    page = client.get(f"/outages/{world['outage'].id}").get_data(as_text=True)
    assert "二次供水水箱清洗" in page and 'id="send"' not in page
    assert "新建通知" not in client.get("/outages").get_data(as_text=True)


# --- scorecard -----------------------------------------------------------------------------------
def test_scorecard_figures_targets_and_charts(as_role, world):
    month = datetime.now(SHANGHAI).strftime("%Y-%m")
    page = as_role("supervisor").get(f"/scorecard?community=XFL&month={month}").get_data(as_text=True)
    assert "急修30分钟内到场率" in page and "目标 ≥100%" in page
    assert page.count('<svg class="chart"') == 2
    assert "每周趋势" in page and "按类别" in page
    assert "报修·水管" in page  # the world's ticket, by category
    assert "本期无数据" in page  # a figure with nothing to count is not 0% or 100%
    assert "cdn" not in page.lower() and "<script" not in page


def test_scorecard_marks_met_and_missed(as_role, world, session):
    from backend.core.models import Rating

    session.add(Rating(ticket_id=world["ticket"].id, openid=OPENID, score=2, created_at=datetime.now(SHANGHAI)))
    session.commit()
    page = as_role("admin").get("/scorecard?community=XFL").get_data(as_text=True)
    assert "figure missed" in page and "✗ 未达标" in page


def test_scorecard_csv_and_bad_month(as_role, world):
    client = as_role("admin")
    resp = client.get("/scorecard.csv?community=XFL&month=2026-11")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "scorecard-XFL-2026-11.csv" in resp.headers["Content-Disposition"]
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeffcommunity,month,figure") and "emergency_on_site" in text
    assert client.get("/scorecard?community=XFL&month=2026-13").status_code == 400
    assert client.get("/scorecard.csv?month=abc").status_code == 400


# --- imports -------------------------------------------------------------------------------------
def upload(client, kind, text, name="buildings.csv", dry_run=False):
    data = {"kind": kind, "file": (io.BytesIO(text.encode("utf-8")), name)}
    if dry_run:
        data["dry_run"] = "1"
    return post_form(client, "/imports", data, page="/imports")


def buildings(session):
    return set(fetch(session, select(Building.code)))


def test_import_with_a_bad_row_shows_it_and_writes_nothing(as_role, world, session):
    client = as_role("admin")
    before = buildings(session)
    resp = upload(client, "buildings", "小区,楼栋,名称\nXFL,20,20栋\nNOPE,21,21栋\nXFL,20,重复\n")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "没有导入任何数据" in page and "第3行" in page and "第4行" in page and "与第2行重复" in page
    assert buildings(session) == before
    assert audit_rows(session, "data.import") == []


def test_import_dry_run_then_for_real(as_role, world, session):
    client = as_role("supervisor")
    csv = "小区,楼栋,名称\nXFL,20,20栋\nXFL,21,21栋\n"
    resp = upload(client, "buildings", csv, dry_run=True)
    assert resp.status_code == 200 and "试导入，未写入" in resp.get_data(as_text=True)
    assert "20" not in buildings(session)
    resp = upload(client, "buildings", csv)
    assert resp.status_code == 200 and "新增 <b>2</b>" in resp.get_data(as_text=True)
    assert {"20", "21"} <= buildings(session)
    [row] = audit_rows(session, "data.import")
    assert '"inserted": 2' in row.detail


def test_import_refuses_other_files_and_kinds(as_role, world):
    client = as_role("admin")
    assert "只支持" in upload(client, "buildings", "x", name="a.txt").get_data(as_text=True)
    assert upload(client, "nope", "x").status_code == 400
    resp = upload(client, "buildings", "a,b\n1,2\n")
    assert resp.status_code == 400 and "找不到表头" in resp.get_data(as_text=True)


def test_import_page_answers_as_the_cli_does(as_role, world, session):
    """One service behind both doors: the page shows the CLI's result lines and refusals."""
    from openpyxl import Workbook

    from backend.owners.imports.reader import unsupported

    client = as_role("admin")
    book = Workbook()
    book.active.title = "2025"
    book.active.append(["小区", "楼栋", "名称"])
    book.active.append(["XFL", "40", "40栋"])
    other = book.create_sheet("2026")
    other.append(["备注：今年的楼栋"])
    other.append(["小区", "楼栋", "名称", "备注"])
    other.append(["XFL", "41", "41栋", "新建"])
    buffer = io.BytesIO()
    book.save(buffer)

    def send(sheet=""):
        data = {"kind": "buildings", "sheet": sheet, "file": (io.BytesIO(buffer.getvalue()), "楼栋.xlsx")}
        return post_form(client, "/imports", data, page="/imports")

    resp = send()
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "多个工作表都像楼栋" in page and "--sheet" in page
    resp = send("2026")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "楼栋.xlsx 工作表「2026」" in page and "新增 <b>1</b>" in page
    assert "表头在第2行" in page and "跳过第1行：表头上面的标题「备注：今年的楼栋」" in page
    assert "忽略的列：备注" in page
    assert "41" in buildings(session) and "40" not in buildings(session)
    resp = post_form(client, "/imports", {"kind": "houses", "file": (io.BytesIO(b"x"), "houses.xls")}, page="/imports")
    assert resp.status_code == 400 and unsupported("houses.xls") in resp.get_data(as_text=True)


# --- roster --------------------------------------------------------------------------------------
def test_add_shifts_and_see_who_is_on_duty(as_role, world, session):
    person = fetch(session, select(Staff).order_by(Staff.id))[0]
    today = datetime.now(SHANGHAI).date()
    client = as_role("supervisor")
    resp = post_form(
        client,
        "/roster/shifts",
        {"staff_id": person.id, "first_day": today.isoformat(), "start": "00:00", "end": "23:59", "days": "2"},
        page="/roster",
    )
    assert resp.status_code == 302
    shifts = fetch(session, select(DutyShift).where(DutyShift.staff_id == person.id))
    assert len(shifts) >= 2
    page = as_role("technician").get("/roster").get_data(as_text=True)
    assert person.name in page and "00:00–23:59" in page and "在班" in page
    assert len(audit_rows(session, "roster.add_shifts")) == 1
    bad = post_form(
        client,
        "/roster/shifts",
        {"staff_id": person.id, "first_day": "x", "start": "8", "end": "9", "days": "1"},
        page="/roster",
    )
    assert bad.status_code == 400
    assert (
        post_form(
            client,
            "/roster/shifts",
            {"staff_id": person.id, "first_day": today.isoformat(), "start": "08:00", "end": "17:00", "days": "99"},
            page="/roster",
        ).status_code
        == 400
    )


def test_binding_code_is_shown_once_and_not_logged(as_role, world, session):
    person = fetch(session, select(Staff).order_by(Staff.id))[0]
    resp = post_form(as_role("admin"), "/roster/bind-code", {"staff_id": person.id}, page="/roster")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    code = re.search(r'class="bind-code">(YG\d{10})<', page).group(1)
    assert get(session, Staff, person.id).bind_code_hash is not None
    [row] = audit_rows(session, "staff.bind_code")
    assert code not in row.detail
    assert post_form(as_role("admin"), "/roster/bind-code", {"staff_id": "999999"}, page="/roster").status_code == 404


# --- tickets: assignee, history, mine ----------------------------------------------------------------
def test_assignee_history_and_my_tickets(as_role, world, session):
    people = fetch(session, select(Staff).where(Staff.role == "technician").order_by(Staff.id))
    first, second = people[0], people[1]
    session.execute(
        ConsoleUser.__table__.update().where(ConsoleUser.username == "technician").values(staff_id=second.id)
    )
    session.commit()
    t = world["ticket"].id
    client = as_role("supervisor")
    assert "未派单" in client.get(f"/tickets/{t}").get_data(as_text=True)
    assert as_role("technician").get("/tickets/mine").status_code == 200
    assert world["ticket"].number not in as_role("technician").get("/tickets/mine").get_data(as_text=True)
    post_form(client, f"/tickets/{t}/dispatch", {"staff_id": first.id})
    post_form(client, f"/tickets/{t}/dispatch", {"staff_id": second.id, "reason": "王师傅在忙"})
    page = client.get(f"/tickets/{t}").get_data(as_text=True)
    assert "派单记录" in page and "王师傅在忙" in page and "已转派" in page
    assert f"<b>{second.name}</b>" in page.split('class="assignee"')[1][:200]
    mine = as_role("technician").get("/tickets/mine").get_data(as_text=True)
    assert world["ticket"].number in mine
    # A login not linked to a staff record is told so, not shown someone else's work.
    assert "还没有关联员工档案" in as_role("customer_service").get("/tickets/mine").get_data(as_text=True)


def test_a_large_spreadsheet_is_accepted_but_not_a_huge_one(as_role, world, session):
    client = as_role("admin")
    codes = [f"{chr(66 + n // 999)}{n % 999 + 1}" for n in range(20000)]  # B1…V20: free codes
    rows = "".join(f"XFL,{code},{code}楼\n" for code in codes)  # ~350 KB, over the forms' limit
    resp = upload(client, "buildings", "小区,楼栋,名称\n" + rows, dry_run=True)
    assert resp.status_code == 200 and "检查通过" in resp.get_data(as_text=True)
    assert upload(client, "buildings", "x" * (6 * 1024 * 1024)).status_code == 413
    # Other forms keep the small limit.
    assert post_form(client, f"/tickets/{world['ticket'].id}/note", {"note": "x" * 300_000}).status_code == 413
