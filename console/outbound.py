"""Staff messages to an owner: recorded as queued in the caller's transaction, sent by the worker
after commit (backend.messaging.delivery), exactly like the assistant's late answers."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.messaging import delivery

MAX_REPLY = 600  # WeChat takes 2048 bytes of text; 600 Chinese characters stay well inside


def check_reply(text: str) -> str | None:
    """The problem with a reply, in words for the form, or None when it can go."""
    if not text.strip():
        return "回复内容不能为空。"
    if len(text) > MAX_REPLY:
        return f"回复太长了（最多 {MAX_REPLY} 字）。"
    return None


def queue_reply(session: Session, openid: str, text: str) -> list[int]:
    """Recorded in the caller's transaction; the worker is handed it once that commits."""
    return delivery.queue_texts(session, openid, [text.strip()])
