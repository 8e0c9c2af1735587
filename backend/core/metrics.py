"""Prometheus metrics: what each process counts, what is read from the records at scrape time,
and the small loopback HTTP server that shows them.

- Counters and histograms live in the process that sees the event: owner messages and reply
  latency in the webhook, sends and their errcodes in the worker (RQ's SimpleWorker runs every
  job in the worker process itself, so its counters are never lost with a forked child).
- Gunicorn runs several webhook workers: they write their figures to files under a per-server
  folder (prometheus-client's multiprocess mode, set up by `backend.core.gunicorn_metrics`), and the
  gunicorn master serves the sum. So every counter here is a Counter or a Histogram: gauges
  have no meaningful sum across processes.
- Figures that are facts about the records (queue depth, oldest job, SLA clocks, broadcast
  progress, today's template quota) are not kept in memory at all: `RecordsCollector` reads them
  from Redis and the database when Prometheus scrapes, with a few indexed COUNT queries. Only
  the worker's endpoint carries them, so they are not counted twice.

Labels are bounded sets (message type, outcome, channel, errcode from a known list...): never an
openid, a phone number or a ticket number.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta
from socketserver import ThreadingMixIn
from typing import Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import and_, func, select

from backend.core import jobs
from backend.core.clock import SHANGHAI, aware_now
from backend.core.config import load_settings
from backend.core.db import get_engine
from backend.core.models import InboundMessage, OutboundMessage, SlaClock
from backend.core.redis_conn import get_redis
from backend.messaging import wechat_quota

log = logging.getLogger(__name__)

# --- counted where it happens ------------------------------------------------------------------
MESSAGE_TYPES = ("text", "voice", "image", "location", "event", "video", "shortvideo", "link", "file")
OWNER_MESSAGES = Counter("wuye_owner_messages", "Messages from WeChat users, by message type", ["type"])
REPLIES = Counter(
    "wuye_replies",
    "What the webhook answered: answered (passive reply in time), late (deferred: "
    "`success` now, the answer follows as a customer-service message), holding (assistant down), "
    "duplicate, ignored",
    ["outcome"],
)
REPLY_SECONDS = Histogram(
    "wuye_reply_seconds",
    "From the request arriving to the webhook's answer, for messages the assistant was asked about",
    ["outcome"],
    buckets=(0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 4.5, 5.0, 10.0),
)
DEFERRED = Counter(
    "wuye_deferred_replies",
    "Replies sent later as customer-service messages: late (missed the "
    "deadline or kept while the assistant was down) or continued (the rest of a long answer)",
    ["reason"],
)
ASSISTANT_ERRORS = Counter(
    "wuye_assistant_errors",
    "Turns the assistant could not answer: rasa (down, HTTP error, "
    "empty answer), actions (action server down), turn (anything else)",
    ["component"],
)
OUTBOUND = Counter(
    "wuye_outbound_messages",
    "Messages sent (or tried) by channel and result; errcode is "
    "WeChat's (0 ok; 'none' without one; 'other' outside the known list)",
    ["channel", "status", "errcode"],
)
ACTION_RUNS = Counter("wuye_action_runs", "Custom actions run by the action server", ["action", "outcome"])
ACTION_SECONDS = Histogram(
    "wuye_action_seconds",
    "Time a custom action took",
    ["action"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
HTTP_REQUESTS = Counter(
    "wuye_http_requests", "HTTP requests by app, route and status class", ["app", "route", "status"]
)

# WeChat errcodes worth telling apart on a dashboard; the rest are "other".
KNOWN_ERRCODES = {
    0,
    -1,
    40001,
    40003,
    40014,
    40037,
    41001,
    42001,
    43004,
    45009,
    45015,
    45047,
    48001,
    50001,
    429,
    500,
    502,
    503,
    504,
}


def message_type(msg_type: str | None) -> str:
    return msg_type if msg_type in MESSAGE_TYPES else "other"


def errcode_label(errcode: int | None) -> str:
    if errcode is None:
        return "none"
    return str(errcode) if errcode in KNOWN_ERRCODES else "other"


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def count_outbound(channel: str, status: str, errcode: int | None = None) -> None:
    OUTBOUND.labels(channel, status, errcode_label(errcode)).inc()


# --- read from the records at scrape time --------------------------------------------------------
# A clock "about to break" has this long left.
SLA_DUE_SOON = timedelta(minutes=15)


class RecordsCollector:
    """Gauges computed from Redis and the database on each scrape (a handful of indexed counts).

    If a store does not answer, its figures are left out and wuye_records_up{store} says 0, so a
    dead database shows as an alert rather than as zeros."""

    def __init__(
        self,
        database_url: str | None = None,
        redis_url: str | None = None,
        now: Callable | None = None,
        queues: list[str] | None = None,
    ):
        self.database_url = database_url
        self.redis_url = redis_url
        self.now = now
        self.queues = queues or jobs.QUEUES

    def describe(self) -> list:
        return []  # nothing to check up front: registering must not query the database

    def _settings(self):
        return load_settings()

    def collect(self) -> Iterable:
        settings = self._settings()
        now = self.now() if self.now else aware_now()
        up = GaugeMetricFamily("wuye_records_up", "Whether the store answered this scrape", labels=["store"])
        families: list = []
        for store, read in (("redis", self._from_redis), ("database", self._from_database)):
            try:
                families.extend(read(settings, now))
                up.add_metric([store], 1)
            except Exception as exc:  # noqa: BLE001 - a scrape must answer even when a store is down
                log.warning("metrics: store not answering", extra={"store": store, "error": type(exc).__name__})
                up.add_metric([store], 0)
        families.append(up)
        return families

    def _from_redis(self, settings, now) -> list:
        conn = get_redis(self.redis_url or settings.redis_url)
        depth = GaugeMetricFamily("wuye_queue_depth", "Jobs waiting in the RQ queue", labels=["queue"])
        age = GaugeMetricFamily(
            "wuye_queue_oldest_job_age_seconds",
            "How long the job at the head of the queue has waited (0: empty)",
            labels=["queue"],
        )
        scheduled = GaugeMetricFamily(
            "wuye_queue_scheduled", "Jobs scheduled for later (retries, reminders)", labels=["queue"]
        )
        failed = GaugeMetricFamily("wuye_queue_failed_jobs", "Jobs in RQ's failed registry", labels=["queue"])
        for name in self.queues:
            queue = Queue(name, connection=conn)
            depth.add_metric([name], queue.count)
            oldest = 0.0
            head = queue.get_job_ids(0, 1)
            if head:
                job = Job.fetch(head[0], connection=conn)
                if job.enqueued_at is not None:
                    enqueued = (
                        job.enqueued_at.replace(tzinfo=now.tzinfo)
                        if job.enqueued_at.tzinfo is None
                        else job.enqueued_at
                    )
                    oldest = max(0.0, (now - enqueued).total_seconds())
            age.add_metric([name], oldest)
            scheduled.add_metric([name], ScheduledJobRegistry(queue=queue).count)
            failed.add_metric([name], FailedJobRegistry(queue=queue).count)
        used = conn.get(f"wuye:wechat:{settings.wechat_appid}:templates:{now.astimezone(SHANGHAI):%Y%m%d}")
        quota = GaugeMetricFamily(
            "wuye_template_quota_used",
            "Template messages counted against today's quota (Beijing day)",
            value=int(used or 0),
        )
        limit = GaugeMetricFamily(
            "wuye_template_quota_limit", "The account's daily template quota", value=wechat_quota.TEMPLATE_DAILY
        )
        return [depth, age, scheduled, failed, quota, limit]

    def _from_database(self, settings, now) -> list:
        engine = get_engine(self.database_url or settings.database_url)
        out_t, in_t, sla_t = OutboundMessage.__table__, InboundMessage.__table__, SlaClock.__table__
        with engine.connect() as conn:
            inbound = GaugeMetricFamily("wuye_inbound_backlog", "Owner messages not answered yet", labels=["status"])
            counts = dict(
                conn.execute(
                    select(in_t.c.status, func.count())
                    .where(in_t.c.status.in_(("pending", "processing", "failed")))
                    .group_by(in_t.c.status)
                ).all()
            )
            for status in ("pending", "processing", "failed"):
                inbound.add_metric([status], counts.get(status, 0))
            oldest_in = conn.execute(
                select(func.min(in_t.c.received_at)).where(in_t.c.status.in_(("pending", "failed")))
            ).scalar()
            inbound_age = GaugeMetricFamily(
                "wuye_inbound_oldest_waiting_seconds",
                "Age of the oldest owner message still waiting for an answer (0: none)",
                value=_age(now, oldest_in, in_t.c.received_at.type, engine),
            )

            outbound = GaugeMetricFamily(
                "wuye_outbound_backlog",
                "Recorded messages not sent yet (queued, or in a worker's hands)",
                labels=["status", "purpose"],
            )
            for status, purpose, n in conn.execute(
                select(out_t.c.status, out_t.c.purpose, func.count())
                .where(out_t.c.status.in_(("queued", "sending")))
                .group_by(out_t.c.status, out_t.c.purpose)
            ):
                outbound.add_metric([status, purpose], n)
            oldest_due = conn.execute(
                select(func.min(out_t.c.created_at)).where(
                    out_t.c.status == "queued", (out_t.c.next_attempt_at.is_(None)) | (out_t.c.next_attempt_at <= now)
                )
            ).scalar()
            outbound_age = GaugeMetricFamily(
                "wuye_outbound_oldest_due_seconds",
                "Age of the oldest message that is due and still queued (0: none)",
                value=_age(now, oldest_due, out_t.c.created_at.type, engine),
            )

            # Only the broadcasts still sending (found through the status index: few rows), then
            # their messages by status (the campaign index): never a scan of past broadcasts.
            active = (
                conn.execute(
                    select(out_t.c.campaign)
                    .distinct()
                    .where(out_t.c.status.in_(("queued", "sending")), out_t.c.campaign.is_not(None))
                )
                .scalars()
                .all()
            )
            broadcast = GaugeMetricFamily(
                "wuye_broadcast_messages",
                "Messages of the broadcasts (outage notices) still sending, by status (progress: sent+local over all)",
                labels=["status"],
            )
            found = (
                dict(
                    conn.execute(
                        select(out_t.c.status, func.count())
                        .where(out_t.c.campaign.in_(active))
                        .group_by(out_t.c.status)
                    ).all()
                )
                if active
                else {}
            )
            for status in ("queued", "sending", "sent", "local", "failed", "unknown"):
                broadcast.add_metric([status], found.get(status, 0))
            campaigns = GaugeMetricFamily(
                "wuye_broadcasts_in_progress", "Broadcasts with messages still to send", value=len(active)
            )

            sla = GaugeMetricFamily(
                "wuye_sla_clocks",
                "Running service-standard clocks: due_soon (due within 15 min), "
                "overdue (past due, promise not kept yet)",
                labels=["kind", "state"],
            )
            running = sla_t.c.outcome.is_(None)
            for state, cond in (
                ("due_soon", and_(running, sla_t.c.due_at >= now, sla_t.c.due_at < now + SLA_DUE_SOON)),
                ("overdue", and_(running, sla_t.c.due_at < now)),
            ):
                found = dict(conn.execute(select(sla_t.c.kind, func.count()).where(cond).group_by(sla_t.c.kind)).all())
                for kind in ("on_site", "handled", "feedback"):
                    sla.add_metric([kind, state], found.get(kind, 0))
            missed = GaugeMetricFamily(
                "wuye_sla_missed_24h",
                "Clocks whose deadline passed in the last 24 h without the promise kept",
                labels=["kind"],
            )
            found = dict(
                conn.execute(
                    select(sla_t.c.kind, func.count())
                    .where(
                        sla_t.c.due_at >= now - timedelta(hours=24),
                        sla_t.c.due_at < now,
                        (sla_t.c.outcome == "missed") | running,
                    )
                    .group_by(sla_t.c.kind)
                ).all()
            )
            for kind in ("on_site", "handled", "feedback"):
                missed.add_metric([kind], found.get(kind, 0))
        return [inbound, inbound_age, outbound, outbound_age, broadcast, campaigns, sla, missed]


def _age(now, value, coltype, engine) -> float:
    """Seconds since a MIN() of a UTCDateTime column (aggregates skip the type's conversion)."""
    if value is None:
        return 0.0
    if isinstance(value, str):  # SQLite hands MIN() back as text
        value = datetime.fromisoformat(value)
    value = coltype.process_result_value(value, engine.dialect)
    return max(0.0, (now - value).total_seconds())


# --- the loopback endpoint ------------------------------------------------------------------------
class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *_args):  # scrapes every 15 s would drown the process's own log
        pass


def metrics_app(registry: CollectorRegistry, health: Callable[[], tuple[bool, dict]] | None = None):
    """WSGI app: /metrics (Prometheus text format) and /healthz (JSON; 503 when not healthy)."""
    metrics = make_wsgi_app(registry)

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/healthz":
            ok, detail = health() if health else (True, {})
            body = json.dumps({"ok": ok, **detail}).encode()
            start_response(
                "200 OK" if ok else "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: /metrics or /healthz"]

    return app


def serve(port: int, registry: CollectorRegistry, health: Callable | None = None, host: str = "127.0.0.1"):
    """Serve /metrics and /healthz on a loopback port in a daemon thread. Returns the server, or
    None when the port is taken or 0: the process itself goes on (metrics are never a reason to
    stop answering owners). METRICS_HOST may name a private address for a Prometheus on another
    machine; never a public one (the figures are internal)."""
    if not port:
        return None
    try:
        server = make_server(host, port, metrics_app(registry, health), _ThreadingServer, _QuietHandler)
    except OSError as exc:
        log.warning("metrics port not available; metrics not served", extra={"port": port, "error": str(exc)})
        return None
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics served", extra={"url": f"http://{host}:{port}/metrics"})
    return server


def default_registry() -> CollectorRegistry:
    """This process's own counters (prometheus-client's global registry)."""
    return REGISTRY
