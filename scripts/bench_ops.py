"""What observing and backing up cost at the size of a busy year: one metrics scrape (the figures
the worker reads from the records), a backup, and a restore into an empty database.

    .venv/bin/python scripts/bench_ops.py [--rows 300000]

Fills a fresh SQLite file (and a fresh PostgreSQL database when one answers at
TEST_POSTGRES_URL) with outbound and inbound messages, tickets and their SLA clocks, then times
each step; prints a Markdown table (docs/OPERATIONS.md quotes it).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from backend.core import backup, db, metrics  # noqa: E402
from backend.core.clock import aware_now  # noqa: E402
from backend.core.models import InboundMessage, OutboundMessage, SlaClock, Ticket  # noqa: E402


def fill(url: str, rows: int) -> dict[str, int]:
    engine = db.get_engine(url)
    now = aware_now()
    tickets = rows // 15
    with engine.begin() as conn:
        conn.execute(
            Ticket.__table__.insert(),
            [
                {
                    "id": i,
                    "number": f"BX{i:09d}",
                    "kind": "repair",
                    "openid": f"o-{i % 5000}",
                    "status": "done",
                    "urgency": "normal",
                    "description": "水管漏水",
                    "location_label": "3栋2单元501",
                    "contact_phone": "",
                    "created_at": now - timedelta(minutes=i),
                    "updated_at": now,
                }
                for i in range(1, tickets + 1)
            ],
        )
        conn.execute(
            SlaClock.__table__.insert(),
            [
                {
                    "ticket_id": i,
                    "kind": "on_site",
                    "started_at": now - timedelta(minutes=i),
                    "due_at": now - timedelta(minutes=i) + timedelta(minutes=30),
                    "outcome": None if i < 50 else "met",
                }
                for i in range(1, tickets + 1)
            ],
        )
        for start in range(0, rows, 20_000):
            conn.execute(
                OutboundMessage.__table__.insert(),
                [
                    {
                        "openid": f"o-{i % 5000}",
                        "channel": "template" if i % 3 else "custom",
                        "content": "您的报修已受理",
                        "status": "sent" if i % 100 else "queued",
                        "purpose": "notice" if i % 2 else "reply",
                        "campaign": f"outage:{i // 10000}:notice" if i % 2 else None,
                        "attempts": 1,
                        "created_at": now - timedelta(seconds=i),
                    }
                    for i in range(start, min(rows, start + 20_000))
                ],
            )
        inbound = rows // 3
        for start in range(0, inbound, 20_000):
            conn.execute(
                InboundMessage.__table__.insert(),
                [
                    {
                        "dedupe_key": f"k{i}",
                        "openid": f"o-{i % 5000}",
                        "msg_type": "text",
                        "text": "你好",
                        "payload": "{}",
                        "status": "answered" if i % 1000 else "pending",
                        "attempts": 1,
                        "received_at": now - timedelta(seconds=i),
                    }
                    for i in range(start, min(inbound, start + 20_000))
                ],
            )
    with engine.connect() as conn:
        return backup.count_rows(conn)


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def measure(kind: str, new_url, rows: int, tmp: Path) -> list[str]:
    url = new_url()
    db.upgrade(url)
    counts = fill(url, rows)
    collector = metrics.RecordsCollector(
        database_url=url, redis_url=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    collector.collect()  # warm the engine
    scrapes = [timed(lambda: list(collector.collect()))[0] for _ in range(5)]
    path = tmp / f"{kind}.jsonl.gz"
    took_backup, _ = timed(lambda: backup.write_backup(url, path))
    target = new_url()
    took_restore, _ = timed(lambda: backup.restore(target, path))
    total = sum(counts.values())
    return [
        f"| {kind} | {total:,} | {sorted(scrapes)[2] * 1000:.0f} ms | {took_backup:.1f} s "
        f"({path.stat().st_size / 1e6:.1f} MB) | {took_restore:.1f} s |"
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=300_000, help="outbound messages (the other tables scale with it)")
    args = parser.parse_args()
    lines = [
        "| database | rows | one scrape (median of 5) | backup (file size) | restore into an empty database |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lines += measure("SQLite", lambda: f"sqlite:///{tmp / uuid.uuid4().hex}.db", args.rows, tmp)
        admin_url = make_url(os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        names = []

        def new_pg():
            name = f"wuye_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            names.append(name)
            return admin_url.set(database=name).render_as_string(hide_password=False)

        try:
            lines += measure("PostgreSQL", new_pg, args.rows, tmp)
        except Exception as exc:  # noqa: BLE001 - no PostgreSQL: the SQLite line still stands
            lines.append(f"| PostgreSQL | — | not measured: {type(exc).__name__} | | |")
        finally:
            db.dispose_engines()
            with admin.connect() as conn:
                for name in names:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end, Python {platform.python_version()}:\n"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
