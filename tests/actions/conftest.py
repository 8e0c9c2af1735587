"""Actions against a real database (SQLite and PostgreSQL), seeded with the demo spreadsheets."""

from __future__ import annotations

import dataclasses

import pytest

from tests.backend.conftest import databases, db_url, engine  # noqa: F401  (fixtures)


@pytest.fixture
def demo_db(engine, db_url, monkeypatch):  # noqa: F811
    from actions import store
    from backend.cli.demo import seed_demo
    from backend.core import db

    with db.session_scope(engine) as session:
        seed_demo(session)
    monkeypatch.setattr(store, "SETTINGS", dataclasses.replace(store.SETTINGS, database_url=db_url))
    return engine
