"""The Rasa tracker store (conversation_store): what one turn loads is bounded however long the
owner has talked, the state survives the cuts, a new session starts a new window, and the
database keeps every event. Turns are played the way Rasa's processor plays them (retrieve,
append events, save), against real Redis and a real database."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from backend.core.db import session_scope
from backend.messaging import conversation_archive
from conversation_store import RedisWindowTrackerStore
from conversation_store.window import RESTORED, WINDOW_MAX


@pytest.fixture
def store(redis_url, db_url, engine, domain):
    url = redis.connection.parse_url(redis_url)
    red = redis.Redis.from_url(redis_url)
    for key in red.scan_iter("wuyetest:*"):
        red.delete(key)
    s = RedisWindowTrackerStore(
        domain,
        host=url.get("host", "127.0.0.1"),
        port=url.get("port", 6379),
        db=url.get("db", 0),
        key_prefix="wuyetest",
        record_exp=3600,
        database_url=db_url,
    )
    yield s
    for key in red.scan_iter("wuyetest:*"):
        red.delete(key)


class Counting:
    """Counts what the store reads from Redis: events and bytes per LRANGE."""

    def __init__(self, store):
        self.loaded: list[tuple[int, int]] = []
        original = store.red.lrange

        def lrange(key, *args):
            items = original(key, *args)
            if key.startswith(store.prefix):  # not the archive's backlog
                self.loaded.append((len(items), sum(len(i) for i in items)))
            return items

        store.red.lrange = lrange


def run(coro):
    # Its own thread: in a whole test run, Playwright's sync API (the browser tests' session
    # fixture) keeps an event loop running in the main thread, where asyncio.run refuses.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def turn(store, sender, text, *, extra=(), at=None):
    """One owner message as Rasa's processor handles it: load, maybe start a session, add the
    turn's events, save."""
    tracker = run(store.retrieve(sender)) or run(store.create_tracker(sender, append_action_listen=False))
    now = at or time.time()
    if not tracker.events:
        for event in (ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted(), ActionExecuted(ACTION_LISTEN_NAME)):
            event.timestamp = now
            tracker.update(event)
    events = [
        UserUttered(text, {"name": "greet", "confidence": 1.0}),
        *extra,
        ActionExecuted("utter_greet"),
        BotUttered(f"答：{text}"),
        ActionExecuted(ACTION_LISTEN_NAME),
    ]
    for event in events:
        event.timestamp = now = now + 0.001
        tracker.update(event)
    run(store.save(tracker))
    return tracker


def new_session(store, sender, text, at):
    """A message after the session expired: Rasa runs action_session_start first."""
    tracker = run(store.retrieve(sender))
    for event in (ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted(), ActionExecuted(ACTION_LISTEN_NAME)):
        event.timestamp = at
        tracker.update(event)
    for event in (UserUttered(text, {"name": "greet", "confidence": 1.0}), ActionExecuted(ACTION_LISTEN_NAME)):
        event.timestamp = at = at + 0.001
        tracker.update(event)
    run(store.save(tracker))


def archived(db_url, sender):
    from backend.core.db import get_engine

    with session_scope(get_engine(db_url)) as session:
        return conversation_archive.events_of(session, sender)


def test_what_a_turn_loads_stays_bounded_and_the_archive_keeps_every_event(store, db_url):
    counting = Counting(store)
    for n in range(1, 1001):
        turn(store, "owner-long", f"第{n}条")
        stored = store.red.llen(store.key("owner-long"))
        assert stored <= WINDOW_MAX
    loads = [events for events, _ in counting.loaded]
    bytes_read = [size for _, size in counting.loaded]
    # Every turn read at most the window; the 1,000th as much as a turn read once the window was
    # first full (around the 30th), however much came before.
    assert max(loads) <= WINDOW_MAX
    assert bytes_read[999] <= max(bytes_read[:40]) * 1.1
    assert loads[9] == 3 + 9 * 4  # the 10th message read its whole (short) history: nothing was cut yet

    everything = archived(db_url, "owner-long")
    assert len(everything) == 3 + 4 * 1000
    assert [e["event"] for e in everything[:4]] == ["action", "session_started", "action", "user"]
    assert [e["text"] for e in everything if e["event"] == "user"] == [f"第{n}条" for n in range(1, 1001)]
    assert not any((e.get("metadata") or {}).get(RESTORED) for e in everything)


def test_state_at_a_cut_is_restored(store, domain):
    turn(
        store,
        "owner-form",
        "报修",
        extra=[
            SlotSet("repair_description", "厨房水管漏水"),
            ActiveLoop("repair_form"),
            SlotSet("requested_slot", "repair_location"),
        ],
    )
    for n in range(60):
        turn(store, "owner-form", f"还在说{n}")
    assert store.red.llen(store.key("owner-form")) < 60 * 4  # it was cut
    tracker = run(store.retrieve("owner-form"))
    assert tracker.get_slot("repair_description") == "厨房水管漏水"
    assert tracker.get_slot("requested_slot") == "repair_location"
    assert tracker.active_loop_name == "repair_form"
    assert tracker.latest_message.text == "还在说59"
    assert tracker.latest_action_name == ACTION_LISTEN_NAME
    # The same state as replaying every event the owner ever caused.
    full = DialogueStateTracker.from_events(
        "owner-form", list(run(store.retrieve_full_tracker("owner-form")).events), domain.slots
    )
    assert tracker.current_slot_values() == full.current_slot_values()
    assert tracker.active_loop_name == full.active_loop_name
    # Only one session as far as Rasa can tell: the cut is not a new session.
    assert len([e for e in tracker.events if isinstance(e, SessionStarted)]) == 1


def test_a_new_session_starts_a_new_window_and_the_old_one_is_archived(store, db_url):
    day_ago = time.time() - 2 * 86400
    for n in range(10):
        turn(store, "owner-sessions", f"昨天{n}", at=day_ago + n)
    new_session(store, "owner-sessions", "今天好", at=time.time())
    stored = [json.loads(e) for e in store.red.lrange(store.key("owner-sessions"), 0, -1)]
    assert [e["event"] for e in stored[:3]] == ["action", "session_started", "action"]
    assert stored[0]["name"] == ACTION_SESSION_START_NAME
    assert [e["text"] for e in stored if e["event"] == "user"] == ["今天好"]
    texts = [e["text"] for e in archived(db_url, "owner-sessions") if e["event"] == "user"]
    assert texts == [f"昨天{n}" for n in range(10)] + ["今天好"]
    assert len(run(store.retrieve_full_tracker("owner-sessions")).events) == len(archived(db_url, "owner-sessions"))


def test_a_conversation_kept_by_rasas_redis_store_before_is_taken_over(store, db_url, domain):
    """Trackers written by Rasa's RedisTrackerStore (before this store) carry on, bounded, and
    their whole history goes to the archive."""
    events = [ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted(), ActionExecuted(ACTION_LISTEN_NAME)]
    for n in range(800):  # 3,200 events of one long session
        events += [
            UserUttered(f"旧{n}", {"name": "greet", "confidence": 1.0}),
            ActionExecuted("utter_greet"),
            BotUttered("好"),
            ActionExecuted(ACTION_LISTEN_NAME),
        ]
    events.insert(4, SlotSet("repair_description", "门锁坏了"))
    legacy = DialogueStateTracker.from_events("owner-legacy", events, domain.slots)
    store.red.set("wuyetest:tracker:owner-legacy", json.dumps(legacy.as_dialogue().as_dict()))

    tracker = run(store.retrieve("owner-legacy"))
    assert len(tracker.events) <= WINDOW_MAX
    assert tracker.get_slot("repair_description") == "门锁坏了"
    assert tracker.latest_message.text == "旧799"
    assert store.red.get("wuyetest:tracker:owner-legacy") is None
    assert len(archived(db_url, "owner-legacy")) == len(events)
    turn(store, "owner-legacy", "新消息")
    assert [e["text"] for e in archived(db_url, "owner-legacy") if e["event"] == "user"][-2:] == ["旧799", "新消息"]


def test_events_wait_in_redis_while_the_database_does_not_answer(store, db_url):
    store.database_url = "postgresql://nobody@127.0.0.1:1/nothing"
    turn(store, "owner-outage", "数据库停了")
    assert store.red.llen(store.unarchived) == 1
    store.database_url = db_url
    turn(store, "owner-outage", "数据库好了")
    assert store.red.llen(store.unarchived) == 0
    texts = [e["text"] for e in archived(db_url, "owner-outage") if e["event"] == "user"]
    assert texts == ["数据库停了", "数据库好了"]


def test_two_servers_never_archive_the_same_waiting_events_twice(store, db_url, domain):
    """After a database outage, the events kept in Redis are taken by one server only."""
    store.database_url = "postgresql://nobody@127.0.0.1:1/nothing"
    turn(store, "owner-twice", "数据库停了")
    store.database_url = db_url
    other = RedisWindowTrackerStore(
        domain,
        host=store.red.connection_pool.connection_kwargs["host"],
        port=store.red.connection_pool.connection_kwargs["port"],
        db=store.red.connection_pool.connection_kwargs["db"],
        key_prefix="wuyetest",
        database_url=db_url,
    )
    first, second = store._take_backlog(), other._take_backlog()
    assert len(first[1]) == 1 and second == (None, [])
    store.red.rename(first[0], store.unarchived)  # give it back; the next turn archives it
    turn(store, "owner-twice", "数据库好了")
    texts = [e["text"] for e in archived(db_url, "owner-twice") if e["event"] == "user"]
    assert texts == ["数据库停了", "数据库好了"]


def test_a_turn_taken_back_through_rasas_api_leaves_the_window_and_the_record(store, db_url, domain):
    """The webhook undoes a turn whose action server went away: it reads the conversation
    (GET .../tracker, every event: the archive) and PUTs back the events before that turn. The
    window then has the state before it, the record forgets it, and the retry is a turn of its own."""
    yesterday = time.time() - 2 * 86400
    for n in range(40):
        turn(store, "owner-undo", f"昨天{n}", at=yesterday + n)
    new_session(store, "owner-undo", "今天好", at=time.time() - 60)
    # Seconds apart, as real turns are (each event's timestamp is when it happened).
    turn(store, "owner-undo", "报修", extra=[SlotSet("repair_description", "厨房水管漏水")], at=time.time() - 30)
    lost = turn(store, "owner-undo", "对的", extra=[SlotSet("repair_description", "改成了卫生间")], at=time.time() - 20)

    full = list(run(store.retrieve_full_tracker("owner-undo")).events)  # what Rasa's GET returns
    undo_at = max(i for i, e in enumerate(full) if isinstance(e, UserUttered) and e.text == "对的")
    run(store.save(DialogueStateTracker.from_events("owner-undo", full[:undo_at], domain.slots)))  # Rasa's PUT

    tracker = run(store.retrieve("owner-undo"))
    assert tracker.latest_message.text == "报修"
    assert tracker.get_slot("repair_description") == "厨房水管漏水"
    window = [json.loads(e) for e in store.red.lrange(store.key("owner-undo"), 0, -1)]
    assert [e["text"] for e in window if e["event"] == "user"] == ["今天好", "报修"]  # this session only
    texts = [e["text"] for e in archived(db_url, "owner-undo") if e["event"] == "user"]
    assert texts == [f"昨天{n}" for n in range(40)] + ["今天好", "报修"]
    assert lost.latest_message.text == "对的"  # (the turn that was taken back)

    turn(store, "owner-undo", "对的")  # asked again, once the action server is back
    texts = [e["text"] for e in archived(db_url, "owner-undo") if e["event"] == "user"]
    assert texts[-3:] == ["今天好", "报修", "对的"] and texts.count("对的") == 1
    assert run(store.retrieve("owner-undo")).latest_message.text == "对的"
