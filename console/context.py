"""What a console request reaches through the app it runs in: the database session, the login
limiter, the settings, the signed-in user. Apart from app.py so the blueprints can use these
without importing the app that registers them (no import cycle)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask import current_app, g
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.core.db import session_scope
from console.ratelimit import LoginLimiter


@contextmanager
def db_session() -> Iterator[Session]:
    """A session on the console's database, committed when the block ends without error."""
    with session_scope(current_app.extensions["console.engine"]) as session:
        yield session


def limiter() -> LoginLimiter:
    return current_app.extensions["console.limiter"]


def settings() -> Settings:
    return current_app.extensions["console.settings"]


def current_user():
    return g.get("user")
