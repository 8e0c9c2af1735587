"""The tracker store alone, for `make bench`: what one turn costs in the Rasa process (load the
conversation, add one turn, save it) against how many messages the owner sent before, for Rasa's
own RedisTrackerStore (what the system used before) and for conversation_store's window.

No Rasa server, no model: the store is called as Rasa's processor calls it, on histories of
synthetic turns shaped like the assistant's (a user message with its NLU result, slots, an
action, a reply, listen).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADING = "## Tracker store alone: one turn's load and save against the owner's history"
POSITIONS = (10, 100, 300, 1000, 5000)
# Rasa's store costs more with every message (every turn reads, replays, merges
# and rewrites the whole history): measured up to here only.
OLD_UP_TO = 300


def turn_events(n: int, at: float):
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

    intents = ["report_repair", "query_fee", "greet", "thank", "inform", "affirm", "query_notice", "complain"]
    parse = {
        "intent": {"name": intents[n % len(intents)], "confidence": 0.93},
        "entities": [
            {
                "entity": "facility",
                "value": "水管",
                "start": 2,
                "end": 4,
                "extractor": "DIETClassifier",
                "confidence_entity": 0.98,
            }
        ],
        "intent_ranking": [{"name": i, "confidence": round(0.9 / (k + 1), 4)} for k, i in enumerate(intents)],
        "text": f"厨房水管漏水了第{n}次",
    }
    events = [
        UserUttered(parse["text"], parse["intent"], parse["entities"], parse),
        ActionExecuted("action_extract_slots"),
        ActionExecuted("action_answer_fee"),
        BotUttered("您家3栋2单元501本期物业费751.80元，缴费截止2026年12月31日。", {"elements": None}),
        SlotSet("notice_offset", n % 3),
        ActionExecuted("action_listen"),
    ]
    for k, event in enumerate(events):
        event.timestamp = at + k * 0.01
    return events


def seed_legacy(red, key: str, sender: str, messages: int, domain) -> None:
    """A history as Rasa's RedisTrackerStore keeps it (one JSON string)."""
    from rasa.core.tracker_store import SerializedTrackerAsText
    from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
    from rasa.shared.core.events import ActionExecuted, SessionStarted
    from rasa.shared.core.trackers import DialogueStateTracker

    now = time.time() - messages * 10
    events = [ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted(), ActionExecuted(ACTION_LISTEN_NAME)]
    for n in range(messages):
        events += turn_events(n, now + n * 10)
    tracker = DialogueStateTracker.from_events(sender, events, domain.slots)
    red.set(key, SerializedTrackerAsText.serialise_tracker(tracker))


async def one_turn(store, sender: str, n: int) -> float:
    """CPU milliseconds of this process (the archive's thread included) for one turn: unlike wall
    time, not stretched by other work on the machine."""
    events = turn_events(n, time.time())
    started = time.process_time()
    tracker = await store.retrieve(sender)
    for event in events:
        tracker.update(event)
    await store.save(tracker)
    return (time.process_time() - started) * 1000


def measure(redis_url: str, database_url: str, repeats: int = 5) -> list[dict]:
    import redis
    from rasa.core.tracker_store import RedisTrackerStore
    from rasa.shared.core.domain import Domain

    from backend.core import db
    from conversation_store import RedisWindowTrackerStore

    db.upgrade(database_url)
    domain = Domain.load(str(ROOT / "bot" / "domain"))
    url = redis.connection.parse_url(redis_url)
    where = dict(host=url.get("host", "127.0.0.1"), port=url.get("port", 6379), db=url.get("db", 0))
    old = RedisTrackerStore(domain, key_prefix="benchold", **where)
    new = RedisWindowTrackerStore(domain, key_prefix="benchnew", database_url=database_url, **where)
    rows = []
    for position in POSITIONS:
        sender = f"o-store-{position}-{time.time_ns()}"
        old_ms = [float("nan")]
        if position <= OLD_UP_TO:
            seed_legacy(old.red, old.key_prefix + sender, sender, position - 1, domain)
            old_ms = [asyncio.run(one_turn(old, sender, position + k)) for k in range(repeats)]
        # The window store takes the same history over (its first load moves it into the window
        # and the archive); the turns measured come after that.
        seed_legacy(new.red, new.legacy_prefix + sender, sender, position - 1, domain)
        asyncio.run(new.retrieve(sender))
        new_ms = [asyncio.run(one_turn(new, sender, position + k)) for k in range(repeats * 4)]
        rows.append(
            {
                "position": position,
                "old": statistics.median(old_ms),
                "old_max": max(old_ms),
                "new": statistics.median(new_ms),
                "new_events": new.red.llen(new.key(sender)),
            }
        )
        print(
            f"    message {position}: Rasa's RedisTrackerStore {rows[-1]['old']:.1f} ms, "
            f"window store {rows[-1]['new']:.1f} ms",
            flush=True,
        )
        old.red.delete(old.key_prefix + sender)
    return rows


def section(rows: list[dict], when: str) -> str:
    lines = [
        HEADING,
        "",
        f"Measured by `make bench` (scripts/bench_store.py) on {when}: one turn (load the conversation, add "
        "a turn's six events, save) as Rasa's processor does it, in one process, against Redis on "
        "loopback and a SQLite archive; median CPU milliseconds of the process (Redis's own not counted). "
        "Some of Rasa's store's saves take far longer than the rest (seconds by the 300th message), "
        "so its column gives the slowest of the turns measured too. The history is one session of synthetic "
        "turns shaped like the assistant's (a user message with its NLU result, an action, a reply, a "
        "slot, listen).",
        "",
        "| message | Rasa's RedisTrackerStore (before) | conversation_store window | events in the window |",
        "|---|---|---|---|",
    ]
    for row in rows:
        old = (
            "not measured (grows with every message)"
            if row["old"] != row["old"]
            else f"{row['old']:.1f} (max {row['old_max']:,.0f})"
        )
        lines.append(f"| {row['position']:,}th | {old} | {row['new']:.1f} | {row['new_events']} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    import tempfile
    from datetime import datetime, timezone

    from scripts import stack
    from scripts.bench_staff import write_section

    tmp = Path(tempfile.mkdtemp(prefix="wuye-bench-store-"))
    redis_url, redis_proc = stack.scratch_redis(int(os.environ.get("BENCH_REDIS_DB", 14)), tmp)
    when = (
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )
    try:
        rows = measure(redis_url, f"sqlite:///{tmp / 'archive.db'}")
    finally:
        if redis_proc:
            redis_proc.terminate()
    text = section(rows, when + f", {os.getloadavg()[0]:.1f} at the end")
    write_section(text, HEADING)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
