"""Outages: exactly the affected owners are told, once; updates reach the same people; the clock
reminds and restores; owners' questions are answered from the notice."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.__main__ import main
from backend.core.config import load_settings
from backend.core.models import Building, Community, House, Outage, OutboundMessage, WechatBinding, WechatUser
from backend.messaging import outages
from tests.backend.crew import owner_wrote


@pytest.fixture
def estate(session, wechat_env):
    """Three buildings with four bound owners each; one owner has homes in 3 and 5."""
    community = Community(code="XFL", name="幸福里花园", service_grade=2)
    session.add(community)
    homes = {}
    for code in ("3", "5", "8"):
        building = Building(community=community, code=code, name=f"{code}栋")
        for n in range(4):
            house = House(building=building, unit="1", room=f"{n + 1}01")
            session.add(house)
            session.flush()
            openid = f"o-{code}-{n}"
            session.add(WechatBinding(openid=openid, house_id=house.id, is_current=True))
            homes[openid] = house
    session.add(WechatBinding(openid="o-3-0", house_id=homes["o-5-0"].id, is_current=False))
    session.commit()
    return community


def _water(session, now, buildings=("3", "5"), **kw) -> Outage:
    outage = outages.create(
        session,
        "XFL",
        "water",
        now + timedelta(hours=20),
        now + timedelta(hours=28),
        buildings=list(buildings),
        reason="市政管网维修",
        **kw,
    )
    session.commit()
    return outage


def _received(standin) -> Counter:
    return Counter(m["body"]["touser"] for m in standin.messages)


def _told(session, outage, event) -> dict[str, str]:
    """openid -> what we sent them for this event (templates carry it only in our records)."""
    session.expire_all()
    rows = session.execute(
        select(OutboundMessage.openid, OutboundMessage.content).where(
            OutboundMessage.campaign == outages.campaign(outage.id, event), OutboundMessage.status == "sent"
        )
    ).all()
    session.commit()
    return dict(rows)


def _announce(session, outage, event="notice"):
    outages.announce(session, outage, event)
    session.commit()
    return outages.broadcast(outage.id, event, rate=1000)


def test_creating_checks_what_staff_typed(session, estate, now):
    with pytest.raises(outages.OutageError, match="没有这些楼栋"):
        outages.create(session, "XFL", "water", now + timedelta(hours=1), now + timedelta(hours=2), buildings=["99"])
    with pytest.raises(outages.OutageError, match="晚于"):
        outages.create(session, "XFL", "power", now + timedelta(hours=2), now + timedelta(hours=1))
    with pytest.raises(outages.OutageError, match="类型"):
        outages.create(session, "XFL", "wifi", now + timedelta(hours=1), now + timedelta(hours=2))
    with pytest.raises(outages.OutageError, match="小区"):
        outages.create(session, "NOPE", "water", now + timedelta(hours=1), now + timedelta(hours=2))


def test_only_bound_owners_of_affected_buildings_each_once(session, estate, standin, now):
    session.add(WechatUser(openid="o-5-3", subscribed=False))  # unfollowed: nobody to tell
    session.commit()
    outage = _water(session, now)
    assert outages.preview(session, outage) == {"per_building": {"3": 4, "5": 4}, "total": 7}
    counts = _announce(session, outage)
    assert counts == {"sent": 7}
    expected = {f"o-{b}-{n}" for b in ("3", "5") for n in range(4)} - {"o-5-3"}
    assert _received(standin) == Counter({o: 1 for o in expected})
    # running the job again (a retry, a second worker) sends nothing more
    assert outages.broadcast(outage.id, "notice", rate=1000) == {}
    assert outages.plan(session, load_settings(), outage, "notice") == 0
    assert sum(_received(standin).values()) == 7
    assert outages.summary(session, outage.id)["notice"] == {
        "total": 7,
        "sent": 7,
        "pending": 0,
        "failed": {},
        "unknown": 0,
    }


def test_owners_in_their_window_get_a_customer_service_message(session, estate, standin, now):
    owner_wrote(session, "o-3-1", now - timedelta(hours=1))
    _announce(session, _water(session, now))
    kinds = {m["body"]["touser"]: m["kind"] for m in standin.messages}
    assert kinds["o-3-1"] == "custom" and kinds["o-3-2"] == "template"
    [custom] = [m for m in standin.messages if m["kind"] == "custom"]
    assert "3栋、5栋" in custom["body"]["text"]["content"] and "储水" in custom["body"]["text"]["content"]


def test_failures_are_summed_by_reason(session, estate, standin, now):
    standin.failures = [43004]
    _announce(session, _water(session, now, buildings=("8",)))
    session.expire_all()
    s = outages.summary(session, session.execute(select(Outage.id)).scalar_one())["notice"]
    assert s["sent"] == 3 and s["failed"] == {"43004": 1}


def test_an_update_reaches_the_same_owners_even_after_they_moved(session, estate, standin, now):
    outage = _water(session, now)
    _announce(session, outage)
    session.query(WechatBinding).filter(WechatBinding.openid == "o-5-2").delete()
    session.commit()
    event = outages.change(
        session, outage, ends_at=outage.ends_at + timedelta(hours=2), note="抢修遇到困难，延长两小时"
    )
    assert event == "update2"
    assert _announce(session, outage, event) == {"sent": 8}
    updates = _told(session, outage, event)
    assert len(updates) == 8 and "o-5-2" in updates
    assert all("延长两小时" in text for text in updates.values())
    assert sum(_received(standin).values()) == 16


def test_cancel_and_early_restore_are_told(session, estate, standin, now):
    outage = _water(session, now, buildings=("8",))
    _announce(session, outage)
    outages.restore(session, outage, now + timedelta(hours=21))
    assert _announce(session, outage, "restored") == {"sent": 4}
    assert all("提前恢复" in text for text in _told(session, outage, "restored").values())
    with pytest.raises(outages.OutageError):
        outages.cancel(session, outage)


def test_the_clock_reminds_before_and_restores_after(session, estate, standin, now):
    outage = _water(session, now)
    _announce(session, outage)
    start, end = outage.starts_at, outage.ends_at
    assert outages.sweep(start - timedelta(hours=2))["reminded"] == 0
    assert outages.sweep(start - timedelta(minutes=50))["reminded"] == 1
    assert outages.sweep(start - timedelta(minutes=40))["reminded"] == 0  # once
    assert outages.broadcast(outage.id, "reminder", rate=1000) == {"sent": 8}
    assert outages.sweep(end + timedelta(minutes=1))["restored"] == 1
    assert outages.broadcast(outage.id, "restored", rate=1000) == {"sent": 8}
    assert outages.sweep(end + timedelta(minutes=2))["restored"] == 0
    restored = _told(session, outage, "restored")
    assert set(restored) == {f"o-{b}-{n}" for b in ("3", "5") for n in range(4)}
    assert all("按计划结束" in text for text in restored.values())
    assert _received(standin) == Counter({o: 3 for o in restored})  # notice, reminder, restored


def test_a_broken_broadcast_is_resumed_by_the_sweep(session, estate, standin, now, redis_url):
    outage = _water(session, now)
    outages.plan(session, load_settings(), outage, "notice", now - timedelta(minutes=1))  # recorded, job lost
    session.commit()
    assert outages.sweep(now)["resumed"] == 1
    import rq

    from backend.core.jobs import queue

    [job] = queue().jobs
    assert job.func_name == "backend.messaging.outages.broadcast" and job.args == (outage.id, "notice")
    assert isinstance(job, rq.job.Job)


def test_questions_are_answered_from_the_notice(session, estate, now):
    outage = _water(session, now)
    found = outages.for_building(session, estate.id, "3", now)
    assert found == [outage]
    assert "停水" in outages.describe(outage, now) and "市政管网维修" in outages.describe(outage, now)
    assert outages.for_building(session, estate.id, "8", now) == []
    during = outage.starts_at + timedelta(hours=1)
    assert "正在停水" in outages.describe(outage, during)
    outages.cancel(session, outage, "自来水公司改期")
    assert outages.for_building(session, estate.id, "3", now) == []


def test_staff_actions_tell_only_those_told_before(session, estate, now):
    """send_notice / update / restore_and_tell / cancel_and_tell: what every door calls."""
    quiet = _water(session, now, buildings=("8",))
    with pytest.raises(outages.OutageError, match="变更说明"):
        outages.update(session, quiet, None, quiet.ends_at + timedelta(hours=1), " ")
    with pytest.raises(outages.OutageError, match="时间"):
        outages.update(session, quiet, None, None, "改期")
    assert outages.update(session, quiet, None, quiet.ends_at + timedelta(hours=1), "延长") == ("update2", False)
    assert outages.cancel_and_tell(session, quiet, "改期") is False  # nobody knew: only recorded
    session.commit()
    assert outages.summary(session, quiet.id) == {}
    with pytest.raises(outages.OutageError, match="已经取消"):
        outages.cancel_and_tell(session, quiet, "改期")
    with pytest.raises(outages.OutageError):
        outages.send_notice(session, quiet)

    told = _water(session, now, buildings=("8",))
    assert outages.send_notice(session, told) == "notice"
    with pytest.raises(outages.OutageError, match="发过了"):
        outages.send_notice(session, told)
    assert outages.restore_and_tell(session, told) is True
    session.commit()
    assert set(outages.summary(session, told.id)) == {"notice", "restored"}


def test_the_cli_calls_the_same_actions(session, estate, db_url, capsys, now):
    outage = _water(session, now, buildings=("8",))
    oid = str(outage.id)
    session.commit()
    with pytest.raises(SystemExit, match="变更说明"):  # the console's and the API's rule too
        main(["--database-url", db_url, "outage", "update", oid, "--to", "2031-11-25 19:00"])
    assert main(["--database-url", db_url, "outage", "cancel", oid, "--reason", "改期"]) == 0
    assert "只改了记录" in capsys.readouterr().out  # the notice never went out: nobody is told
    session.expire_all()
    assert session.get(Outage, outage.id).status == "cancelled" and outages.summary(session, outage.id) == {}
    session.commit()


def test_the_cli_records_when_the_utility_told_us(session, estate, db_url, capsys):
    """The scorecard measures owners' notice from the utility's; the shell records it as the
    console's form does (and refuses a time still to come, as the service does)."""
    from datetime import datetime

    from backend.core.clock import SHANGHAI

    args = ["--database-url", db_url, "outage", "create", "--community", "XFL", "--kind", "water"]
    args += ["--buildings", "8", "--from", "2031-11-25 09:00", "--to", "2031-11-25 17:00", "--no-send"]
    assert main([*args, "--utility-notified", "2026-11-24 09:30"]) == 0
    session.expire_all()
    made = session.execute(select(Outage).order_by(Outage.id.desc())).scalars().first()
    assert made.utility_notified_at == datetime(2026, 11, 24, 9, 30, tzinfo=SHANGHAI)
    session.commit()
    with pytest.raises(SystemExit, match="通知时间不能晚于现在"):
        main([*args, "--utility-notified", "2031-11-24 09:30"])
