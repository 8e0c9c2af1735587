"""Console accounts: creating them and checking passwords (werkzeug's salted hashes)."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from backend.core.clock import utcnow
from backend.core.models import CONSOLE_ROLES, ConsoleUser

MIN_PASSWORD = 8
# Checked against when the username is unknown, so a wrong username takes as long as a wrong
# password and the timing does not tell which usernames exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def new_password() -> str:
    return secrets.token_urlsafe(12)


def find(session: Session, username: str) -> ConsoleUser | None:
    return session.execute(
        select(ConsoleUser).where(ConsoleUser.username == username.strip().lower())
    ).scalar_one_or_none()


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    staff_id: int | None = None,
) -> ConsoleUser:
    username = username.strip().lower()
    if not username or len(username) > 64 or not username.replace("_", "").replace(".", "").replace("-", "").isalnum():
        raise ValueError("username: letters, digits, . _ - (at most 64)")
    if role not in CONSOLE_ROLES:
        raise ValueError(f"role must be one of {', '.join(CONSOLE_ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password: at least {MIN_PASSWORD} characters")
    if find(session, username) is not None:
        raise ValueError(f"user {username!r} already exists")
    user = ConsoleUser(
        username=username,
        display_name=display_name or username,
        password_hash=generate_password_hash(password),
        role=role,
        staff_id=staff_id,
        active=True,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def set_password(user: ConsoleUser, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password: at least {MIN_PASSWORD} characters")
    user.password_hash = generate_password_hash(password)


def authenticate(session: Session, username: str, password: str) -> ConsoleUser | None:
    user = find(session, username or "")
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None
