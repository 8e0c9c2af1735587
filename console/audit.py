"""The audit log: every console request that changes data writes one row, in the same
transaction as the change, so there is never a change without its row (or a row without it)."""

from __future__ import annotations

import json

from flask import g, request
from sqlalchemy.orm import Session

from backend.core.clock import utcnow
from backend.core.models import AuditLog


def record(
    session: Session,
    action: str,
    target_type: str | None = None,
    target_id=None,
    username: str | None = None,
    **detail,
) -> AuditLog:
    user = g.get("user")
    row = AuditLog(
        at=utcnow(),
        user_id=user.id if user is not None else None,
        username=(username if username is not None else user.username if user else "")[:64],
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        detail=json.dumps(detail, ensure_ascii=False, default=str),
        ip=(request.remote_addr or "")[:64],
    )
    session.add(row)
    session.flush()
    return row
