"""Database access for actions: one engine per process, one short transaction per action."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rasa_sdk import Tracker

from backend.core.config import load_settings
from backend.core.db import get_engine, session_scope

SETTINGS = load_settings()


@contextmanager
def db() -> Iterator:
    with session_scope(get_engine(SETTINGS.database_url)) as session:
        yield session


def source_key(tracker: Tracker) -> str:
    """A key for the owner message that triggered this action.

    The webhook puts the inbound message's dedupe key into the metadata, so a message that is
    replayed to Rasa after a crash can never create a second ticket.
    """
    metadata = tracker.latest_message.get("metadata") or {}
    key = metadata.get("dedupe_key") or tracker.latest_message.get("message_id") or ""
    return f"{tracker.sender_id}:{key}"


def latest_text(tracker: Tracker) -> str:
    text = tracker.latest_message.get("text") or ""
    # "/intent{...}" messages from the webhook (photos, menu clicks) carry no owner words.
    return "" if text.startswith("/") else text


def entity(tracker: Tracker, name: str):
    """The first value the NLU found for an entity in the latest message, or None."""
    for found in tracker.latest_message.get("entities") or []:
        if found.get("entity") == name and found.get("value"):
            return str(found["value"])
    return None
