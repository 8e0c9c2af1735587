"""The conversation store against real Redis and each database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.backend.conftest import databases, db_url, engine  # noqa: F401  (fixtures)


@pytest.fixture(scope="session")
def domain():
    from rasa.shared.core.domain import Domain

    return Domain.load("bot/domain")
