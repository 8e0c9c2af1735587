"""The assistant's conversation state: a short window of events in Redis, every event in the database.

Rasa's own Redis tracker store keeps an owner's whole history in one JSON string and reads,
replays and rewrites all of it on every turn, so each owner's replies get slower the more they
have ever said. Here each owner has a Redis list of events that Rasa reads on every turn:

- only the current session (a new session replaces the list, like Rasa's SQL store, which loads
  only events since the last session start), and
- only the latest turns of it: past WINDOW_MAX events the list is cut back at a user message to
  about WINDOW_KEEP events, preceded by a few events that restore the state at the cut (slots,
  the active form, a paused conversation), the way Rasa's own session start carries slots over.

So what a turn reads, replays and writes is bounded whatever the owner said before. A turn
appends only its new events (RPUSH), and the same new events go to the database
(backend.messaging.conversation_archive), which keeps every event; nothing the assistant needs across
sessions comes from old events anyway (the bound home, tickets and bills are database records).

Several Rasa servers share the lists in Redis; Rasa's lock store (Redis) makes one turn at a time
per owner, so appending after the stored length is safe.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import Any, Iterable, List, Optional, Text

import redis
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.conversation import Dialogue
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from backend.core.db import get_engine, session_scope
from backend.messaging import conversation_archive
from conversation_store import speedups

log = logging.getLogger(__name__)

# Events per owner kept in Redis: cut back to about WINDOW_KEEP (whole turns) when a turn would
# pass WINDOW_MAX. A turn here is 4 to 10 events; the rules look back two turns at most, and
# every event kept costs CPU on every turn (read, replayed, featurised, sent to the action server).
WINDOW_MAX = 80
WINDOW_KEEP = 30
# Marks the events that restore the state at a cut: they are not the owner's history, so they
# never go to the archive.
RESTORED = "wuye_restored"


class RedisWindowTrackerStore(TrackerStore):
    """Rasa tracker store (bot/endpoints.yml): a bounded window in Redis, every event archived."""

    def __init__(
        self,
        domain: Domain,
        host: Text = "localhost",
        port: int = 6379,
        db: int = 0,
        password: Optional[Text] = None,
        record_exp: Optional[float] = None,
        key_prefix: Text = "wuye",
        database_url: Optional[Text] = None,
        archive: bool = True,
        window_max: int = WINDOW_MAX,
        window_keep: int = WINDOW_KEEP,
        event_broker: Any = None,
        **kwargs: Any,
    ) -> None:
        self.red = redis.Redis(host=host, port=int(port), db=int(db), password=password)
        self.record_exp = int(record_exp) if record_exp else None
        self.prefix = f"{key_prefix}:conv:"
        self.legacy_prefix = f"{key_prefix}:tracker:"  # Rasa's RedisTrackerStore, before this one
        self.unarchived = f"{key_prefix}:conv-unarchived"  # events waiting while the database is down
        self.database_url = database_url
        self.archive = archive in (True, "true", "True", 1, "1")
        self.window_max, self.window_keep = int(window_max), int(window_keep)
        super().__init__(domain, event_broker, **kwargs)
        speedups.apply()  # this runs in the Rasa server: its per-message costs, trimmed

    def key(self, sender_id: Text) -> str:
        return self.prefix + sender_id

    # --- reading ----------------------------------------------------------------------------------
    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        raw = self.red.lrange(self.key(sender_id), 0, -1)
        if not raw:
            return await self._from_legacy(sender_id)
        return self._tracker(sender_id, [Event.from_parameters(json.loads(item)) for item in raw])

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        """Every session, from the archive (Rasa's /conversations/<id>/tracker API)."""
        if not self.archive:
            return await self.retrieve(conversation_id)
        with session_scope(get_engine(self.database_url)) as session:
            events = conversation_archive.events_of(session, conversation_id)
        if not events:
            return await self.retrieve(conversation_id)
        return self._tracker(conversation_id, [Event.from_parameters(e) for e in events])

    async def keys(self) -> Iterable[Text]:
        return [k.decode()[len(self.prefix) :] for k in self.red.scan_iter(self.prefix + "*")]

    def _tracker(self, sender_id: Text, events: List[Event]) -> DialogueStateTracker:
        tracker = self.init_tracker(sender_id)
        tracker.recreate_from_dialogue(Dialogue(sender_id, events))  # as Rasa's own stores do
        return tracker

    # --- writing ----------------------------------------------------------------------------------
    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        key = self.key(tracker.sender_id)
        events = list(tracker.events)
        if not events:
            self.red.delete(key)  # nothing to keep (a PUT of no events resets the conversation)
            return
        with self.red.pipeline(transaction=False) as pipe:
            stored, last = pipe.llen(key).lindex(key, -1).execute()
        new = _after(events, last) if stored else events
        newest = json.loads(last).get("timestamp", 0) if last else 0
        if new is None and events[-1].timestamp <= newest:
            await self._replace(tracker.sender_id, events, newest)
            return
        if new is None:
            # Not the list this turn read (it should not happen under the lock store): write the
            # tracker afresh, and archive what is newer than the stored list.
            log.warning(
                "conversation window changed under a turn; rewritten",
                extra={"sender_id": tracker.sender_id, "stored": stored, "events": len(events)},
            )
            new, stored = [e for e in events if e.timestamp > newest], 0
        if not new and stored:
            return
        window = self._window(tracker.sender_id, events, len(events) - len(new), stored)
        with self.red.pipeline(transaction=True) as pipe:
            if window is None:
                pipe.rpush(key, *[_dump(e) for e in new])
            else:
                pipe.delete(key)
                pipe.rpush(key, *[_dump(e) for e in window])
            if self.record_exp:
                pipe.expire(key, self.record_exp)
            pipe.execute()
        real = [e.as_dict() for e in new if not (e.metadata or {}).get(RESTORED)]
        if real and self.archive:
            # The database call runs off the event loop, so other owners' turns go on meanwhile.
            await asyncio.get_running_loop().run_in_executor(None, self._archive, tracker.sender_id, real)

    async def _replace(self, sender_id: Text, events: List[Event], newest_stored: float) -> None:
        """Rasa's PUT /conversations/<id>/tracker/events: the conversation is set back to `events`
        (the webhook takes back a turn that lost its action server). The window is rewritten from
        the last session start, and the archive forgets what was taken back."""
        window = self._window(sender_id, events, 0, 0) or events
        key = self.key(sender_id)
        with self.red.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.rpush(key, *[_dump(e) for e in window])
            if self.record_exp:
                pipe.expire(key, self.record_exp)
            pipe.execute()
        log.info("conversation set back", extra={"sender_id": sender_id, "events": len(window)})
        if self.archive and events[-1].timestamp < newest_stored:
            await asyncio.get_running_loop().run_in_executor(None, self._take_back, sender_id, events[-1].timestamp)

    def _take_back(self, sender_id: Text, after: float) -> None:
        try:
            with session_scope(get_engine(self.database_url)) as session:
                conversation_archive.take_back_after(session, sender_id, after)
        except Exception:  # noqa: BLE001 - the window is right; only the record keeps the old turn
            log.exception(
                "conversation archive unavailable; a taken-back turn stays recorded", extra={"sender_id": sender_id}
            )

    def _window(self, sender_id: Text, events: List[Event], first_new: int, stored: int) -> Optional[List[Event]]:
        """The whole new list when it must be rewritten (new session, too long); None: append."""
        starts = [
            i
            for i in range(first_new, len(events))
            if isinstance(events[i], SessionStarted) and not (events[i].metadata or {}).get(RESTORED)
        ]
        begin = 0
        if starts:
            begin = starts[-1]
            if begin and _is_action(events[begin - 1], ACTION_SESSION_START_NAME):
                begin -= 1
        elif stored and stored + len(events) - first_new <= self.window_max:
            return None
        window = events[begin:]
        if len(window) > self.window_max:
            window = self._cut(sender_id, window)
        return window

    def _cut(self, sender_id: Text, events: List[Event]) -> List[Event]:
        """The latest turns, preceded by events restoring the state they start from."""
        cut = None
        for i in range(len(events) - self.window_keep, len(events)):
            if i > 0 and isinstance(events[i], UserUttered):
                cut = i
                break
        if cut is None:  # no user message among the latest events: cut at the last one before
            cut = next(
                (i for i in range(len(events) - self.window_keep - 1, 0, -1) if isinstance(events[i], UserUttered)),
                None,
            )
        if cut is None:
            return events
        before = self._tracker(sender_id, events[:cut])
        return restoring_events(before, events[cut - 1].timestamp) + events[cut:]

    def _archive(self, sender_id: Text, events: List[dict]) -> None:
        backlog_key, backlog = self._take_backlog()
        try:
            with session_scope(get_engine(self.database_url)) as session:
                for item in backlog:
                    conversation_archive.append(session, item["sender_id"], item["events"])
                conversation_archive.append(session, sender_id, events)
        except Exception:  # noqa: BLE001 - the turn is answered already; keep the events in Redis
            log.exception("conversation archive unavailable; events kept in Redis", extra={"sender_id": sender_id})
            with self.red.pipeline(transaction=True) as pipe:
                if backlog:  # back to the front, in their order
                    pipe.lpush(self.unarchived, *[json.dumps(item, ensure_ascii=False) for item in reversed(backlog)])
                pipe.rpush(self.unarchived, json.dumps({"sender_id": sender_id, "events": events}, ensure_ascii=False))
                pipe.execute()
        if backlog_key:
            self.red.delete(backlog_key)

    def _take_backlog(self) -> tuple:
        """Events left while the database was down, taken atomically (RENAME), so two Rasa
        servers never archive the same ones."""
        if not self.red.exists(self.unarchived):
            return None, []
        taken = f"{self.unarchived}:{os.getpid()}:{time.monotonic_ns()}"
        try:
            self.red.rename(self.unarchived, taken)
        except redis.ResponseError:  # another server took it first
            return None, []
        return taken, [json.loads(item) for item in self.red.lrange(taken, 0, -1)]

    # --- conversations stored by Rasa's RedisTrackerStore before ----------------------------------
    async def _from_legacy(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        stored = self.red.get(self.legacy_prefix + sender_id)
        if stored is None:
            return None
        tracker = self.deserialise_tracker(sender_id, stored)
        events = list(tracker.events)
        last_start = max((i for i, e in enumerate(events) if isinstance(e, SessionStarted)), default=0)
        window = events[max(0, last_start - 1) :]
        if len(window) > self.window_max:
            window = self._cut(sender_id, window)
        key = self.key(sender_id)
        with self.red.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.rpush(key, *[_dump(e) for e in window])
            if self.record_exp:
                pipe.expire(key, self.record_exp)
            pipe.delete(self.legacy_prefix + sender_id)
            pipe.execute()
        if self.archive:
            self._archive(sender_id, [e.as_dict() for e in events])
        return self._tracker(sender_id, window)


def restoring_events(tracker: DialogueStateTracker, timestamp: float) -> List[Event]:
    """Events that bring a fresh session to `tracker`'s state: what Rasa's session start does
    when it carries slots over, plus the active form and a paused conversation."""
    meta = {RESTORED: True}
    events: List[Event] = [ActionExecuted(ACTION_SESSION_START_NAME, metadata=meta), SessionStarted(metadata=meta)]
    for name, slot in tracker.slots.items():
        if slot.value != slot.initial_value:
            events.append(SlotSet(name, slot.value, metadata=meta))
    if tracker.active_loop_name:
        events.append(ActiveLoop(tracker.active_loop_name, metadata=meta))
    if tracker.is_paused():
        events.append(ConversationPaused(metadata=meta))
    events.append(ActionExecuted(ACTION_LISTEN_NAME, metadata=meta))
    for event in events:
        event.timestamp = timestamp
    return events


def _dump(event: Event) -> str:
    return json.dumps(event.as_dict(), ensure_ascii=False)


def _is_action(event: Event, name: str) -> bool:
    return isinstance(event, ActionExecuted) and event.action_name == name


def _after(events: List[Event], last: Optional[bytes]) -> Optional[List[Event]]:
    """The events after the last stored one (found from the end: a turn adds a few), or None
    when the tracker does not contain it."""
    if last is None:
        return None
    stored = json.loads(last)
    for i in range(len(events) - 1, -1, -1):
        if events[i].timestamp == stored.get("timestamp") and json.loads(_dump(events[i])) == stored:
            return events[i + 1 :]
    return None
