"""Outbox, owners, the demo data and the command line."""

import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from backend.cli.demo import seed_demo
from backend.core.models import Building, Community, House, HumanHandoff, Resident, Staff
from backend.messaging import outbox
from backend.owners import accounts as owners

ROOT = Path(__file__).resolve().parents[2]


def count(session, model):
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_outbox_record_and_mark_sent(session):
    queued = outbox.record_outbound(session, "o-1", "custom", "师傅已出发", "queued")
    local = outbox.record_outbound(session, "o-1", "local", "本地消息", "local", inbound_id=None)
    session.commit()
    assert queued.sent_at is None and queued.created_at.tzinfo is not None
    assert local.sent_at is not None
    outbox.mark_sent(session, queued.id)
    session.commit()
    assert queued.status == "sent" and queued.sent_at is not None
    failed = outbox.record_outbound(session, "o-1", "custom", "超出48小时", "queued")
    outbox.mark_sent(session, failed.id, status="failed", errcode=45015)
    session.commit()
    assert (failed.status, failed.errcode, failed.sent_at) == ("failed", 45015, None)


def test_outbox_links_to_inbound(session):
    from backend.messaging.inbox import record_inbound

    inbound, _ = record_inbound(session, "m1", "o-1", "text", "你好", {})
    reply = outbox.record_outbound(session, "o-1", "passive", "您好", "sent", inbound_id=inbound.id)
    session.commit()
    assert reply.inbound_id == inbound.id


def test_outbox_recent(session):
    rows = [outbox.record_outbound(session, f"o-{i % 2}", "local", f"m{i}", "local") for i in range(5)]
    session.commit()
    assert [r.content for r in outbox.recent(session)] == ["m0", "m1", "m2", "m3", "m4"]
    assert [r.content for r in outbox.recent(session, after_id=rows[2].id)] == ["m3", "m4"]
    assert [r.content for r in outbox.recent(session, openid="o-1")] == ["m1", "m3"]
    assert [r.content for r in outbox.recent(session, limit=2)] == ["m0", "m1"]


def test_seed_demo_is_idempotent(session):
    seed_demo(session)
    session.commit()
    counts = {m: count(session, m) for m in (Community, Building, House, Resident, Staff)}
    seed_demo(session)
    session.commit()
    assert {m: count(session, m) for m in counts} == counts
    assert {c.code for c in session.execute(select(Community)).scalars()} == {"XFL", "YGC"}
    community = session.execute(select(Community).where(Community.code == "XFL")).scalar_one()
    assert (community.code, community.name, community.service_grade) == ("XFL", "幸福里花园", 2)
    assert community.hotline == "0571-8888 6666" and community.desk_hours == "08:00-20:00"
    codes = {b.code for b in community.buildings}
    assert codes == {str(n) for n in range(1, 13)} | {"A5"}
    skills = {s for staff in session.execute(select(Staff)).scalars() for s in staff.skill_list}
    assert {"水电", "电梯", "土建/门窗", "综合"} <= skills
    assert session.execute(select(Staff).where(Staff.role == "supervisor")).scalars().first()
    phones = [r.phone for r in session.execute(select(Resident)).scalars()]
    assert phones and all(p.startswith("1380000") for p in phones)
    labels = {
        h.label
        for h in session.execute(select(House).join(Building).where(Building.community_id == community.id)).scalars()
    }
    assert {"3栋2单元501", "12栋1102", "8栋702", "A区5栋1单元1802"} <= labels


def test_bindings_and_current_house(session):
    seed_demo(session)
    session.commit()
    xfl = select(House).join(Building).join(Community).where(Community.code == "XFL")
    houses = {h.label: h for h in session.execute(xfl).scalars()}
    assert owners.current_house(session, "o-1") is None
    owners.bind(session, "o-1", houses["3栋2单元501"])
    owners.bind(session, "o-1", houses["12栋1102"])
    session.commit()
    assert owners.current_house(session, "o-1").label == "12栋1102"
    owners.bind(session, "o-1", houses["3栋2单元501"])
    session.commit()
    house = owners.current_house(session, "o-1")
    assert house.label == "3栋2单元501"
    assert owners.community_of(session, house).code == "XFL"


def test_record_handoff(session):
    handoff = owners.record_handoff(session, "o-1", "我要找人工")
    session.commit()
    assert (handoff.status, handoff.text) == ("open", "我要找人工")
    assert count(session, HumanHandoff) == 1


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "backend", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_help():
    result = _cli("--help")
    assert result.returncode == 0
    assert "db-upgrade" in result.stdout and "seed-demo" in result.stdout


def test_cli_upgrade_and_seed(databases):
    url = databases.new()
    result = _cli("--database-url", url, "db-upgrade")
    assert result.returncode == 0, result.stderr
    assert "latest schema" in result.stdout
    result = _cli("--database-url", url, "seed-demo")
    assert result.returncode == 0, result.stderr
    assert "房屋" in result.stdout and "新增354" in result.stdout
