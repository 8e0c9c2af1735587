"""The handoff inbox (answer the owner, hand back to the assistant), the staff and resident
lists (searchable, phones masked), the audit page, and the account CLI."""

from __future__ import annotations

from sqlalchemy import select

from backend.core.models import AuditLog, ConsoleUser, HumanHandoff, OutboundMessage
from backend.core.redis_conn import get_redis
from console.__main__ import main as console_cli
from tests.console.conftest import OPENID, post_form


def test_inbox_shows_the_open_handoff_with_the_owners_messages(as_role, world):
    page = as_role("customer_service").get("/handoffs").get_data(as_text=True)
    assert "我要找人工客服" in page
    assert "厨房水管漏水了" in page  # recent message
    assert "3栋2单元501" in page
    assert world["ticket"].number in page  # the owner's open ticket


def test_answer_from_the_inbox_goes_through_the_worker(as_role, world, session, redis_url):
    client = as_role("customer_service")
    hid = world["handoff"].id
    resp = post_form(client, f"/handoffs/{hid}/reply", {"text": "您好，我是客服小郑，请讲。"}, page="/handoffs")
    assert resp.status_code == 302
    out = session.execute(select(OutboundMessage)).scalar_one()
    assert (out.openid, out.channel, out.status) == (OPENID, "custom", "queued")
    assert get_redis(redis_url).llen("rq:queue:wuye:high") == 1  # owners' replies go on the high-priority queue
    row = session.execute(select(AuditLog).where(AuditLog.action == "handoff.reply")).scalar_one()
    assert row.target_id == str(hid) and row.username == "customer_service"
    session.rollback()
    assert "请讲" in client.get("/handoffs").get_data(as_text=True)


def test_empty_answer_is_refused(as_role, world, session):
    resp = post_form(as_role("admin"), f"/handoffs/{world['handoff'].id}/reply", {"text": " "}, page="/handoffs")
    assert resp.status_code == 400
    assert session.execute(select(OutboundMessage)).first() is None


def test_hand_back_to_the_assistant(as_role, world, session):
    client = as_role("supervisor")
    hid = world["handoff"].id
    assert post_form(client, f"/handoffs/{hid}/close", page="/handoffs").status_code == 302
    session.expire_all()
    assert session.get(HumanHandoff, hid).status == "closed"
    session.rollback()
    assert "我要找人工客服" not in client.get("/handoffs").get_data(as_text=True)
    assert "我要找人工客服" in client.get("/handoffs?show=closed").get_data(as_text=True)
    # Twice is harmless, and writes no second audit row.
    assert post_form(client, f"/handoffs/{hid}/close", page="/handoffs").status_code == 302
    rows = session.execute(select(AuditLog).where(AuditLog.action == "handoff.close")).scalars().all()
    assert len(rows) == 1
    session.rollback()
    assert post_form(client, "/handoffs/999999/close", page="/handoffs").status_code == 404


def test_staff_list_is_searchable_and_masked(as_role, world):
    client = as_role("technician")
    page = client.get("/staff").get_data(as_text=True)
    assert "王师傅" in page and "郑客服" in page
    assert "138****2001" in page and "13800002001" not in page
    page = client.get("/staff?q=电梯").get_data(as_text=True)
    assert "赵师傅" in page and "孙师傅" not in page
    page = client.get("/staff?q=2003").get_data(as_text=True)  # phone tail
    assert "孙师傅" in page and "王师傅" not in page
    assert client.get("/staff?q=%25%25%5F").status_code == 200


def test_residents_list_is_searchable_and_masked(as_role, world):
    client = as_role("customer_service")
    page = client.get("/residents").get_data(as_text=True)
    assert "张伟" in page and "3栋2单元501" in page and "幸福里花园" in page
    assert "13800001001" not in page and "138****1001" in page
    assert "王芳" not in client.get("/residents?q=张").get_data(as_text=True)
    page = client.get("/residents?q=A5").get_data(as_text=True)
    assert "陈静" in page and "张伟" not in page
    page = client.get("/residents?q=1102").get_data(as_text=True)
    assert "王芳" in page and "张伟" not in page


def test_audit_page_lists_changes_for_admins(as_role, world):
    admin = as_role("admin")
    post_form(admin, f"/tickets/{world['ticket'].id}/note", {"note": "看看日志"})
    page = admin.get("/audit").get_data(as_text=True)
    assert "ticket.note" in page and "login" in page


def test_cli_creates_a_user_who_can_log_in(db_url, engine, session, app, monkeypatch, capsys):
    from tests.console.conftest import login

    monkeypatch.setenv("CONSOLE_PASSWORD", "from-the-env-1")
    assert (
        console_cli(
            ["--database-url", db_url, "create-user", "Zheng", "--role", "customer_service", "--name", "郑客服"]
        )
        == 0
    )
    assert "created console user zheng" in capsys.readouterr().out
    user = session.execute(select(ConsoleUser)).scalar_one()
    assert (user.username, user.role, user.display_name) == ("zheng", "customer_service", "郑客服")
    assert "from-the-env-1" not in user.password_hash
    session.rollback()  # SQLite: the CLI and the app write next
    assert console_cli(["--database-url", db_url, "create-user", "zheng", "--role", "admin"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert login(app.test_client(), "zheng", "from-the-env-1").status_code == 302


def test_cli_demo_admin_prints_a_fresh_password(db_url, engine, app, monkeypatch, capsys):
    from tests.console.conftest import login

    monkeypatch.delenv("WECHAT_APPID", raising=False)
    assert console_cli(["--database-url", db_url, "demo-admin"]) == 0
    first = capsys.readouterr().out.split("password ")[1].strip()
    assert console_cli(["--database-url", db_url, "demo-admin"]) == 0
    second = capsys.readouterr().out.split("password ")[1].strip()
    assert first != second
    client = app.test_client()
    assert login(client, "admin", first).status_code == 401
    assert login(client, "admin", second).status_code == 302


def test_cli_demo_admin_refuses_outside_local_mode(db_url, monkeypatch, capsys):
    monkeypatch.setenv("WECHAT_APPID", "wx1")
    monkeypatch.setenv("WECHAT_SECRET", "s")
    assert console_cli(["--database-url", db_url, "demo-admin"]) == 2
