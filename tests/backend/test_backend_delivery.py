"""Delivery: every outbound message recorded; sent once; retried with backoff; the right fallback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from backend.core.clock import aware_now
from backend.core.models import OutboundMessage, Ticket, WechatUser
from backend.messaging import delivery, wechat_window
from backend.work import dispatch
from tests.backend.crew import make_crew, owner_wrote, repair
from tests.backend.queued_jobs import run_queued_jobs

TEMPLATE = {
    "template_id": "PROGRESS_TEMPLATE",
    "data": {"keyword1": {"value": "BX261123001"}},
    "url": None,
    "text": "师傅已接单",
}


def _record(session, channel="custom", template=None, purpose="progress", key=None, openid="o-owner") -> int:
    row = delivery.record(
        session, openid, channel, "王师傅已接单，正在路上", purpose=purpose, template=template, dedupe_key=key
    )
    session.commit()
    return row.id


def _row(session, oid) -> OutboundMessage:
    session.expire_all()
    row = session.get(OutboundMessage, oid)
    session.commit()
    return row


def _make_due(session, oid):
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == oid)
        .values(next_attempt_at=aware_now() - timedelta(seconds=1))
    )
    session.commit()


def test_a_message_is_sent_once_and_recorded(session, wechat_env, standin):
    oid = _record(session)
    assert delivery.send_outbound(oid) == "sent"
    assert delivery.send_outbound(oid) == "sent"  # a second job for it changes nothing
    row = _row(session, oid)
    assert (row.status, row.errcode, row.attempts) == ("sent", 0, 1)
    assert row.sent_at is not None
    assert standin.texts_to("o-owner") == ["王师傅已接单，正在路上"]


def test_the_same_event_is_recorded_once(session, wechat_env):
    assert delivery.record(session, "o-owner", "custom", "a", dedupe_key="progress:1:accepted") is not None
    assert delivery.record(session, "o-owner", "custom", "a", dedupe_key="progress:1:accepted") is None
    session.commit()
    assert len(session.execute(select(OutboundMessage)).scalars().all()) == 1


@pytest.mark.parametrize("failure", ["45009", "http503"])
def test_rate_limit_and_server_errors_back_off_then_send(session, wechat_env, standin, failure):
    if failure == "45009":
        standin.failures = [45009, 45009]
    else:
        standin.http_failures = [503, 503]
    oid = _record(session)
    before = aware_now()
    assert delivery.send_outbound(oid) == "retry"
    after = aware_now()
    first = _row(session, oid)
    assert first.status == "queued" and first.attempts == 1
    assert first.errcode == (45009 if failure == "45009" else 503)
    # 2 s with ±20% jitter, counted from some moment during the call (a slow machine stretches it).
    assert (first.next_attempt_at - before).total_seconds() >= 1.6
    assert (first.next_attempt_at - after).total_seconds() <= 2.4
    wait1 = (first.next_attempt_at - before).total_seconds()
    assert delivery.send_outbound(oid) == "queued"  # not due yet: nothing is sent
    _make_due(session, oid)
    before = aware_now()
    assert delivery.send_outbound(oid) == "retry"
    wait2 = (_row(session, oid).next_attempt_at - before).total_seconds()
    assert wait2 > wait1  # the delay grows
    _make_due(session, oid)
    assert delivery.send_outbound(oid) == "sent"
    assert _row(session, oid).attempts == 3
    assert standin.texts_to("o-owner") == ["王师傅已接单，正在路上"]


def test_retries_give_up_after_the_last_attempt(session, wechat_env, standin):
    standin.failures = [45009] * delivery.MAX_ATTEMPTS
    oid = _record(session)
    for _ in range(delivery.MAX_ATTEMPTS - 1):
        assert delivery.send_outbound(oid) == "retry"
        _make_due(session, oid)
    assert delivery.send_outbound(oid) == "failed"
    assert _row(session, oid).status == "failed"
    assert standin.messages == []


@pytest.mark.parametrize("errcode", [45015, 45047])
def test_a_closed_window_falls_back_to_the_template(session, wechat_env, standin, errcode):
    standin.failures = [errcode]
    oid = _record(session, template=TEMPLATE)
    assert delivery.send_outbound(oid) == "failed"
    original = _row(session, oid)
    assert (original.status, original.errcode) == ("failed", errcode)
    fallback = session.execute(select(OutboundMessage).where(OutboundMessage.fallback_of == oid)).scalar_one()
    session.commit()
    assert fallback.channel == "template" and fallback.purpose == "progress"
    assert delivery.send_outbound(fallback.id) == "sent"
    [sent] = standin.to("o-owner")
    assert sent["kind"] == "template" and sent["body"]["data"] == TEMPLATE["data"]


def test_a_closed_window_without_a_template_is_recorded_not_retried(session, wechat_env, standin):
    standin.failures = [45015]
    oid = _record(session)
    assert delivery.send_outbound(oid) == "failed"
    assert _row(session, oid).errcode == 45015
    assert session.execute(select(OutboundMessage).where(OutboundMessage.fallback_of == oid)).first() is None


def test_an_unfollowed_technician_gets_no_task_and_the_next_one_does(session, wechat_env, standin):
    now = aware_now()
    crew = make_crew(session, now)
    tid = repair(session, crew, now)
    dispatch.dispatch_ticket(tid, now)
    task = session.execute(select(OutboundMessage).where(OutboundMessage.purpose == "task")).scalar_one()
    first_openid = task.openid
    session.add(WechatUser(openid=first_openid))
    session.commit()
    standin.failures = [43004]
    assert delivery.send_outbound(task.id) == "failed"
    session.expire_all()
    assert session.get(Ticket, tid).assignee.openid == first_openid  # dispatch's job, not delivery, moves it on
    session.commit()
    run_queued_jobs(wechat_env)
    session.expire_all()
    ticket = session.get(Ticket, tid)
    assert ticket.assignee.openid != first_openid
    assert session.get(WechatUser, first_openid).subscribed is False
    tasks = (
        session.execute(select(OutboundMessage).where(OutboundMessage.purpose == "task").order_by(OutboundMessage.id))
        .scalars()
        .all()
    )
    session.commit()
    assert [t.openid for t in tasks][:2] == [first_openid, ticket.assignee.openid]
    told = [t for t in tasks if t.openid == crew.supervisor.openid]
    assert len(told) == 1 and "微信收不到任务" in told[0].content


def test_a_message_whose_worker_died_mid_call_is_not_sent_again(session, wechat_env, standin):
    oid = _record(session)
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == oid)
        .values(status="sending", claimed_at=aware_now() - timedelta(minutes=2), attempts=1)
    )
    session.commit()
    delivery.sweep_queued()
    assert _row(session, oid).status == "unknown"
    assert delivery.send_outbound(oid) == "unknown"
    assert standin.messages == []


def test_the_sweep_sends_what_never_reached_the_queue(session, wechat_env, standin):
    oid = _record(session)
    session.execute(
        update(OutboundMessage).where(OutboundMessage.id == oid).values(created_at=aware_now() - timedelta(minutes=1))
    )
    session.commit()
    assert delivery.sweep_queued() == 1
    assert _row(session, oid).status == "sent"


def test_local_mode_files_the_message_without_calling_wechat(session, wechat_env, standin, monkeypatch):
    # Local mode is no WeChat credential at all (one missing secret is a broken deployment).
    for name in ("WECHAT_APPID", "WECHAT_SECRET", "WECHAT_AES_KEY"):
        monkeypatch.delenv(name, raising=False)
    oid = _record(session)
    assert delivery.send_outbound(oid) == "local"
    assert standin.arrived == 0


def test_the_customer_service_window(session, wechat_env):
    now = aware_now()
    assert not wechat_window.custom_allowed(session, "o-owner", now)  # never wrote to us
    owner_wrote(session, "o-owner", now - timedelta(hours=47))
    assert wechat_window.custom_allowed(session, "o-owner", now)
    for n in range(5):
        delivery.record(session, "o-owner", "custom", f"第{n}条")
    session.commit()
    assert not wechat_window.custom_allowed(session, "o-owner", now)  # five used up
    assert not wechat_window.custom_allowed(session, "o-other", now)
    owner_wrote(session, "o-other", now - timedelta(hours=49))
    assert not wechat_window.custom_allowed(session, "o-other", now)  # window closed
    owner_wrote(session, "o-click", now - timedelta(seconds=30), msg_type="event")
    assert wechat_window.custom_allowed(session, "o-click", now)
    assert not wechat_window.custom_allowed(session, "o-click", now + timedelta(minutes=2))


def test_past_the_daily_template_quota_messages_wait_for_tomorrow(session, wechat_env, standin, monkeypatch):
    from backend.messaging import wechat_quota

    monkeypatch.setattr(wechat_quota, "TEMPLATE_DAILY", 2)
    import redis as redis_lib

    conn = redis_lib.Redis.from_url(wechat_env.redis_url)
    for key in conn.scan_iter(f"wuye:wechat:{wechat_env.wechat_appid}:templates:*"):
        conn.delete(key)
    ids = [_record(session, channel="template", template=TEMPLATE, key=f"q{n}", openid=f"o-{n}") for n in range(3)]
    assert [delivery.send_outbound(i) for i in ids] == ["sent", "sent", "retry"]
    waiting = _row(session, ids[2])
    assert waiting.status == "queued" and waiting.attempts == 0
    assert waiting.next_attempt_at > aware_now() + timedelta(minutes=1)
    assert len(standin.messages) == 2
