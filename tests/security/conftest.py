"""Hostile tests. The database fixtures (SQLite and PostgreSQL) are the backend tests' own; the
whole system (`system`) is the one tests/e2e drives, from tests/conftest.py."""

from tests.backend.conftest import (  # noqa: F401  (fixtures)
    databases,
    db_url,
    engine,
    session,
    standin,
    wechat_env,
)
