"""装修管理 in the console: list, page with history, approve / return with the owner told,
passes checked by number, inspection with a violation, acceptance with the deposit; who may do
what; every change audited. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.core.clock import SHANGHAI, aware_now
from backend.core.models import AuditLog, OutboundMessage, RenovationApplication
from backend.work import renovation
from tests.console.conftest import OPENID, post_form


def _application(session, world) -> int:
    today = aware_now().astimezone(SHANGHAI).date()
    app = renovation.apply(
        session,
        renovation.ApplicationRequest(
            openid=OPENID,
            house_id=world["house"].id,
            work="厨房卫生间翻新",
            contractor="安居装饰",
            contractor_phone="13900001111",
            starts_on=today,
            ends_on=today + timedelta(days=20),
            workers=2,
        ),
    )
    session.commit()
    return app.id


def _messages(session) -> list[str]:
    session.expire_all()
    rows = [
        m.content
        for m in session.execute(
            select(OutboundMessage).where(OutboundMessage.openid == OPENID).order_by(OutboundMessage.id)
        ).scalars()
    ]
    session.commit()
    return rows


def test_desk_approves_issues_passes_inspects_and_accepts(session, world, as_role):
    app_id = _application(session, world)
    desk = as_role("customer_service")
    listing = desk.get("/renovation").get_data(as_text=True)
    assert "厨房卫生间翻新" in listing and "待审批" in listing
    page = desk.get(f"/renovation/{app_id}").get_data(as_text=True)
    assert "139****1111" in page and "13900001111" not in page and "业主提交申请" in page
    assert "8:00-12:00" in page  # the community's imported rules beside the application

    resp = post_form(desk, f"/renovation/{app_id}/approve", {"note": "请提前一天预约电梯保护"}, page="/renovation")
    assert resp.status_code == 302
    assert "审批通过" in _messages(session)[-1] and "请提前一天预约电梯保护" in _messages(session)[-1]

    resp = post_form(desk, f"/renovation/{app_id}/passes", {"names": "张三，李四，王五"}, page="/renovation")
    assert resp.status_code == 400 and "2 名施工人员" in resp.get_data(as_text=True)
    post_form(desk, f"/renovation/{app_id}/passes", {"names": "张三，李四"}, page="/renovation")
    app = session.get(RenovationApplication, app_id)
    numbers = [p.number for p in app.passes]
    session.commit()
    assert len(numbers) == 2
    checked = desk.get(f"/renovation/pass?number={numbers[0]}").get_data(as_text=True)
    assert "有效" in checked and "张三" in checked
    assert "没有这个出入证号" in desk.get("/renovation/pass?number=ZJ999999999").get_data(as_text=True)

    post_form(
        desk,
        f"/renovation/{app_id}/inspection",
        {"findings": "拆除厨房与客厅之间的承重墙", "violation": "1"},
        page="/renovation",
    )
    assert "承重墙" in _messages(session)[-1]
    refused = post_form(desk, f"/renovation/{app_id}/accept", {}, page="/renovation")
    assert refused.status_code == 400 and "没有整改" in refused.get_data(as_text=True)
    app = session.get(RenovationApplication, app_id)
    inspection_id = app.inspections[0].id
    session.commit()
    post_form(
        desk,
        f"/renovation/{app_id}/inspections/{inspection_id}/resolve",
        {"note": "已按原样恢复，结构鉴定合格"},
        page="/renovation",
    )
    post_form(desk, f"/renovation/{app_id}/accept", {"returned": "3000"}, page="/renovation")
    session.expire_all()
    app = session.get(RenovationApplication, app_id)
    assert app.status == "accepted" and str(app.deposit_returned) == "3000.00"
    session.commit()
    assert "已验收" in desk.get(f"/renovation/{app_id}").get_data(as_text=True)
    assert "装修已验收结束" in desk.get(f"/renovation/pass?number={numbers[0]}").get_data(as_text=True)
    actions = [a for (a,) in session.execute(select(AuditLog.action).where(AuditLog.target_type == "renovation"))]
    session.commit()
    assert actions == [
        "renovation.approve",
        "renovation.passes",
        "renovation.inspection",
        "renovation.resolve",
        "renovation.accept",
    ]


def test_return_needs_a_reason_and_technicians_cannot_approve(session, world, as_role):
    app_id = _application(session, world)
    tech = as_role("technician")
    assert tech.get(f"/renovation/{app_id}").status_code == 200
    assert post_form(tech, f"/renovation/{app_id}/approve", {}, page="/renovation").status_code == 403
    desk = as_role("supervisor")
    empty = post_form(desk, f"/renovation/{app_id}/return", {"reason": " "}, page="/renovation")
    assert empty.status_code == 400 and "原因" in empty.get_data(as_text=True)
    post_form(desk, f"/renovation/{app_id}/return", {"reason": "请补充水电改造图纸"}, page="/renovation")
    assert "请补充水电改造图纸" in _messages(session)[-1]
    assert "已退回" in desk.get(f"/renovation/{app_id}").get_data(as_text=True)
