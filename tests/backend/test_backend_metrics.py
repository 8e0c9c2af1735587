"""Metrics: what the worker reads from the records at scrape time, what sending counts, and the
loopback endpoint. On SQLite and PostgreSQL, with real Redis."""

from __future__ import annotations

import socket
import uuid
from datetime import timedelta

import pytest
import requests
from prometheus_client import CollectorRegistry, generate_latest
from rq import Queue

from backend.core import metrics
from backend.core.clock import SHANGHAI
from backend.core.models import InboundMessage, OutboundMessage, SlaClock
from backend.core.redis_conn import get_redis
from backend.messaging import delivery
from scripts.stack import free_port
from tests.backend.crew import repair


def _registry(collector) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(collector)
    return registry


def _value(registry, name, **labels):
    return registry.get_sample_value(name, labels)


def test_records_are_read_at_scrape_time(session, wechat_env, crew, now):
    settings = wechat_env
    conn = get_redis(settings.redis_url)
    # Two jobs waiting in a queue; the figures come from Redis, not from this process. (Queues
    # of their own: a worker of another test session on this Redis must not take them.)
    queues = [f"wuye-metrics-test-{uuid.uuid4().hex[:6]}", f"wuye-metrics-test-{uuid.uuid4().hex[:6]}"]
    Queue(queues[0], connection=conn).enqueue("backend.messaging.delivery.send_outbound", 1)
    Queue(queues[0], connection=conn).enqueue("backend.messaging.delivery.send_outbound", 2)
    conn.set(f"wuye:wechat:{settings.wechat_appid}:templates:{now.astimezone(SHANGHAI):%Y%m%d}", 1234)
    # An owner waiting 5 minutes, one answered.
    session.add_all(
        [
            InboundMessage(
                dedupe_key="m1",
                openid="o-1",
                msg_type="text",
                text="漏水",
                status="pending",
                received_at=now - timedelta(minutes=5),
            ),
            InboundMessage(
                dedupe_key="m2",
                openid="o-2",
                msg_type="text",
                text="你好",
                status="answered",
                received_at=now - timedelta(minutes=50),
            ),
        ]
    )
    # One message queued 3 minutes ago, one not due for an hour; a broadcast half sent.
    session.add_all(
        [
            OutboundMessage(
                openid="o-1",
                channel="custom",
                content="a",
                status="queued",
                purpose="reply",
                created_at=now - timedelta(minutes=3),
            ),
            OutboundMessage(
                openid="o-1",
                channel="custom",
                content="b",
                status="queued",
                purpose="reply",
                created_at=now - timedelta(minutes=30),
                next_attempt_at=now + timedelta(hours=1),
            ),
            *[
                OutboundMessage(
                    openid=f"o-b{i}",
                    channel="template",
                    content="停水",
                    purpose="notice",
                    campaign="outage:1:notice",
                    status="sent" if i < 3 else "queued",
                    created_at=now - timedelta(minutes=1),
                )
                for i in range(6)
            ],
            # A broadcast that finished earlier is history, not progress.
            *[
                OutboundMessage(
                    openid=f"o-a{i}",
                    channel="template",
                    content="停电",
                    purpose="notice",
                    campaign="outage:0:notice",
                    status="sent",
                    created_at=now - timedelta(hours=2),
                )
                for i in range(4)
            ],
        ]
    )
    session.flush()
    # SLA clocks: one due in 10 minutes, one 5 minutes past due and not kept, one met.
    tickets = [repair(session, crew, now, key=f"k{i}") for i in range(3)]
    session.query(SlaClock).delete()
    session.add_all(
        [
            SlaClock(
                ticket_id=tickets[0],
                kind="on_site",
                started_at=now - timedelta(minutes=20),
                due_at=now + timedelta(minutes=10),
            ),
            SlaClock(
                ticket_id=tickets[1],
                kind="on_site",
                started_at=now - timedelta(minutes=35),
                due_at=now - timedelta(minutes=5),
            ),
            SlaClock(
                ticket_id=tickets[2],
                kind="on_site",
                started_at=now - timedelta(minutes=35),
                due_at=now - timedelta(minutes=5),
                outcome="met",
                stopped_at=now - timedelta(minutes=9),
            ),
        ]
    )
    session.commit()

    registry = _registry(metrics.RecordsCollector(now=lambda: now, queues=queues))
    assert _value(registry, "wuye_records_up", store="database") == 1
    assert _value(registry, "wuye_records_up", store="redis") == 1
    assert _value(registry, "wuye_queue_depth", queue=queues[0]) == 2
    assert _value(registry, "wuye_queue_depth", queue=queues[1]) == 0
    assert 0 <= _value(registry, "wuye_queue_oldest_job_age_seconds", queue=queues[0]) < 60
    assert _value(registry, "wuye_queue_oldest_job_age_seconds", queue=queues[1]) == 0
    assert _value(registry, "wuye_template_quota_used") == 1234
    assert _value(registry, "wuye_template_quota_limit") == 100_000
    assert _value(registry, "wuye_inbound_backlog", status="pending") == 1
    assert 299 <= _value(registry, "wuye_inbound_oldest_waiting_seconds") <= 301
    assert _value(registry, "wuye_outbound_backlog", status="queued", purpose="reply") == 2
    assert 179 <= _value(registry, "wuye_outbound_oldest_due_seconds") <= 181  # not the one due later
    assert _value(registry, "wuye_broadcast_messages", status="sent") == 3
    assert _value(registry, "wuye_broadcast_messages", status="queued") == 3
    assert _value(registry, "wuye_broadcasts_in_progress") == 1
    assert _value(registry, "wuye_sla_clocks", kind="on_site", state="due_soon") == 1
    assert _value(registry, "wuye_sla_clocks", kind="on_site", state="overdue") == 1
    assert _value(registry, "wuye_sla_missed_24h", kind="on_site") == 1  # the met one is not counted
    # No openid (nor anything else per person) ever becomes a label.
    assert b"o-1" not in generate_latest(registry) and b"o-b" not in generate_latest(registry)


def test_a_store_that_does_not_answer_shows_as_down_not_as_zeros(db_url, engine):
    port = free_port()  # nothing listens there
    registry = _registry(metrics.RecordsCollector(database_url=db_url, redis_url=f"redis://127.0.0.1:{port}/0"))
    assert _value(registry, "wuye_records_up", store="redis") == 0
    assert _value(registry, "wuye_queue_depth", queue="wuye") is None  # left out, not 0
    assert _value(registry, "wuye_records_up", store="database") == 1
    assert _value(registry, "wuye_inbound_backlog", status="pending") == 0


def _outbound(channel, status, errcode):
    return metrics.OUTBOUND.labels(channel, status, errcode)._value.get()


def test_sending_counts_by_channel_status_and_errcode(session, wechat_env, standin):
    sent, retry, failed = (
        _outbound("custom", "sent", "0"),
        _outbound("custom", "retry", "45009"),
        _outbound("custom", "failed", "45015"),
    )
    ok = delivery.record(session, "o-owner", "custom", "您好")
    busy = delivery.record(session, "o-owner", "custom", "稍等")
    closed = delivery.record(session, "o-owner", "custom", "窗口关了")
    session.commit()
    assert delivery.send_outbound(ok.id) == "sent"
    standin.failures = [45009]
    assert delivery.send_outbound(busy.id) == "retry"
    standin.failures = [45015]
    assert delivery.send_outbound(closed.id) == "failed"
    assert _outbound("custom", "sent", "0") == sent + 1
    assert _outbound("custom", "retry", "45009") == retry + 1
    assert _outbound("custom", "failed", "45015") == failed + 1


def test_errcodes_outside_the_known_list_share_one_label():
    assert metrics.errcode_label(45009) == "45009"
    assert metrics.errcode_label(None) == "none"
    assert metrics.errcode_label(61451) == "other"
    assert metrics.message_type("text") == "text"
    assert metrics.message_type("<script>") == "other"


@pytest.fixture
def endpoint():
    registry = CollectorRegistry()
    state = {"ok": True}
    port = free_port()
    server = metrics.serve(port, registry, health=lambda: (state["ok"], {"redis": state["ok"]}))
    yield port, server, state
    server.shutdown()
    server.server_close()


def test_the_endpoint_serves_metrics_and_health_on_loopback(endpoint):
    port, server, state = endpoint
    assert server.server_address[0] == "127.0.0.1"
    base = f"http://127.0.0.1:{port}"
    assert requests.get(f"{base}/metrics", timeout=2).status_code == 200
    assert requests.get(f"{base}/healthz", timeout=2).json() == {"ok": True, "redis": True}
    state["ok"] = False
    answer = requests.get(f"{base}/healthz", timeout=2)
    assert answer.status_code == 503 and answer.json()["redis"] is False
    assert requests.get(f"{base}/other", timeout=2).status_code == 404


def test_a_taken_metrics_port_never_stops_the_process(endpoint):
    port, _server, _state = endpoint
    assert metrics.serve(port, CollectorRegistry()) is None  # logged; the caller carries on
    assert metrics.serve(0, CollectorRegistry()) is None  # 0: switched off
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # the first server is untouched
