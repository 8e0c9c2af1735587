"""Owners with long histories, for `make bench`: how one owner's reply time depends on how much
they said before, and the history the throughput runs' owners start with.

A long history is seeded rather than typed: a real conversation (scripts/bench.py's SCRIPT, played
once through the whole stack) gives the events of ten real turns; they are repeated with new
times to any length, and what the system would hold after that many messages is written the way
it writes it: the conversation store's window in Redis (conversation_store), every event in the
archive, and every message with its reply in the database (inbound and outbound records).
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from datetime import datetime, timezone

from sqlalchemy import insert

HEADING = "## One owner's reply time against their history"
SESSION_GAP = 2 * 86400.0  # between seeded sessions: longer than a session lasts (a day)
MESSAGE_GAP = 10.0  # between seeded messages of one session


def template_turns(system, wx, script: list[str]) -> list[list[dict]]:
    """Play `script` once as a fresh owner; the events of each turn (user message to listen)."""
    owner = f"o-bench-template-{uuid.uuid4().hex[:8]}"
    for text in script:
        wx.say(owner, text)
    from backend.core.db import get_engine, session_scope
    from backend.messaging import conversation_archive

    with session_scope(get_engine(system.database_url)) as session:  # every event (the window is cut)
        events = conversation_archive.events_of(session, owner)
    turns: list[list[dict]] = []
    for event in events:
        if event["event"] == "user":
            turns.append([])
        if turns:
            turns[-1].append(event)
    assert len(turns) == len(script), f"template conversation has {len(turns)} turns"
    return turns


def history(turns: list[list[dict]], messages: int, session_every: int | None, end: float) -> list[dict]:
    """Events of `messages` owner messages (turns repeated), the last one at `end`; a new session
    every `session_every` messages (SESSION_GAP apart), or one session (MESSAGE_GAP apart)."""
    out: list[dict] = []
    for k in range(messages):
        ago = messages - 1 - k
        if session_every:
            session, within = divmod(ago, session_every)
            at = end - session * SESSION_GAP - within * MESSAGE_GAP
        else:
            at = end - ago * MESSAGE_GAP
        if k == 0 or (session_every and k % session_every == 0):
            for event in _session_start(at - 1.0):
                out.append(event)
        turn = turns[k % len(turns)]
        base = turn[0]["timestamp"]
        for event in turn:
            copy = dict(event, timestamp=at + (event["timestamp"] - base))
            if copy["event"] == "user":
                copy["message_id"] = uuid.uuid4().hex
            out.append(copy)
    return out


def _session_start(at: float) -> list[dict]:
    return [
        {
            "event": "action",
            "timestamp": at,
            "name": "action_session_start",
            "policy": None,
            "confidence": 1.0,
            "action_text": None,
            "hide_rule_turn": False,
            "metadata": {},
        },
        {"event": "session_started", "timestamp": at, "metadata": {}},
        {
            "event": "action",
            "timestamp": at,
            "name": "action_listen",
            "policy": None,
            "confidence": None,
            "action_text": None,
            "hide_rule_turn": False,
            "metadata": {},
        },
    ]


def seed(system, store, openid: str, events: list[dict]) -> None:
    """Write what the system holds after these events: the Redis window, the archive, and the
    messages and replies in the database."""
    from rasa.shared.core.events import Event, SessionStarted

    from backend.core.db import get_engine, session_scope
    from backend.core.models import InboundMessage, OutboundMessage
    from backend.messaging import conversation_archive

    objects = [Event.from_parameters(e) for e in events]
    begin = max(i for i, e in enumerate(objects) if isinstance(e, SessionStarted)) - 1
    window = objects[begin:]
    if len(window) > store.window_max:
        window = store._cut(openid, window)
    key = store.key(openid)
    with store.red.pipeline(transaction=True) as pipe:
        pipe.delete(key)
        pipe.rpush(key, *[json.dumps(e.as_dict(), ensure_ascii=False) for e in window])
        pipe.expire(key, 172800)
        pipe.execute()
    inbound, outbound = [], []
    replies: list[str] = []
    for event in reversed(events):  # each user message with the bot texts after it
        if event["event"] == "bot":
            replies.insert(0, event.get("text") or "")
        elif event["event"] == "user":
            at = datetime.fromtimestamp(event["timestamp"], timezone.utc)
            inbound.append(
                {
                    "dedupe_key": f"seed:{openid}:{event['message_id']}",
                    "openid": openid,
                    "msg_type": "text",
                    "text": event.get("text") or "",
                    "payload": "{}",
                    "received_at": at,
                    "status": "answered",
                    "attempts": 1,
                    "answered_at": at,
                    "reply": json.dumps(replies, ensure_ascii=False),
                }
            )
            outbound.append(
                {
                    "openid": openid,
                    "channel": "passive",
                    "content": "\n\n".join(replies),
                    "status": "sent",
                    "created_at": at,
                    "sent_at": at,
                    "purpose": "reply",
                    "attempts": 0,
                }
            )
            replies = []
    with session_scope(get_engine(system.database_url)) as session:
        conversation_archive.append(session, openid, events)
        session.execute(insert(InboundMessage), inbound[::-1])
        session.execute(insert(OutboundMessage), outbound[::-1])


def store_for(system, domain):
    from conversation_store import RedisWindowTrackerStore

    env = system.env
    return RedisWindowTrackerStore(
        domain,
        host=env["REDIS_HOST"],
        port=env["REDIS_PORT"],
        db=env["REDIS_DB"],
        key_prefix="wuye",
        database_url=system.database_url,
    )


def domain():
    from rasa.shared.core.domain import Domain

    from scripts.stack import ROOT

    return Domain.load(str(ROOT / "bot" / "domain"))


def seed_owner(system, store, turns, openid: str, earlier: int, session_every: int | None) -> None:
    end = time.time() - (SESSION_GAP if session_every else 60.0)
    seed(system, store, openid, history(turns, earlier, session_every, end))


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def measure(
    system, wx, script: list[str], positions=(10, 100, 1000, 5000), owners: int = 3, session_every: int = 10
) -> list[dict]:
    """For each position N, `owners` owners seeded with N-1 earlier messages send script (N, N+1,
    …) one at a time; once within one session and once across sessions of `session_every`."""
    turns = template_turns(system, wx, script)
    store = store_for(system, domain())
    rows = []
    for label, every in (("one session", None), (f"sessions of {session_every} messages, 2 days apart", session_every)):
        for position in positions:
            seeded = time.monotonic()
            ids = [f"o-hist-{position}-{'m' if every else 's'}-{n}-{uuid.uuid4().hex[:6]}" for n in range(owners)]
            for openid in ids:
                seed_owner(system, store, turns, openid, position - 1, every)
            seeded = time.monotonic() - seeded
            latencies, window = [], []
            for openid in ids:
                for text in script:
                    window.append(store.red.llen(store.key(openid)))
                    _, took = wx.say(openid, text)
                    latencies.append(took * 1000)
            rows.append(
                {
                    "history": label,
                    "position": position,
                    "n": len(latencies),
                    "p50": statistics.median(latencies),
                    "p99": pct(latencies, 99),
                    "max": max(latencies),
                    "window": max(window),
                    "seed_s": seeded,
                }
            )
            print(
                f"    {label}: message {position}: p50 {rows[-1]['p50']:.0f} ms p99 {rows[-1]['p99']:.0f} ms "
                f"(window ≤ {rows[-1]['window']} events)",
                flush=True,
            )
    return rows


def table(rows: list[dict], script_len: int) -> list[str]:
    lines = [
        "| history | message | samples | p50 ms | p99 ms | max ms | events loaded per turn (max) | p50 vs 10th |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        first = next(r for r in rows if r["history"] == row["history"])
        lines.append(
            f"| {row['history']} | {row['position']:,}th–{row['position'] + script_len - 1:,}th | {row['n']} | "
            f"{row['p50']:.0f} | {row['p99']:.0f} | {row['max']:.0f} | {row['window']} | "
            f"{row['p50'] / first['p50']:.2f}× |"
        )
    return lines
