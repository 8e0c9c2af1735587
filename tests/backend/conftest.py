"""Database fixtures: every DB test runs on SQLite (a temp file) and on PostgreSQL.

PostgreSQL comes from TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test); each
test session creates its own uniquely named databases there and drops them at the end. When
PostgreSQL does not answer, its half of the tests is skipped with the reason.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from backend.core import db
from backend.core.models import Base

TEST_POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


class PostgresDatabases:
    def __init__(self) -> None:
        self.admin_url = make_url(TEST_POSTGRES_URL)
        self.names: list[str] = []
        self.admin = create_engine(
            self.admin_url,
            future=True,
            isolation_level="AUTOCOMMIT",
            connect_args={"connect_timeout": 3},
        )
        try:
            with self.admin.connect() as conn:
                conn.exec_driver_sql("select 1")
        except SQLAlchemyError as exc:
            where = self.admin_url.render_as_string(hide_password=True)
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            self.admin.dispose()
            pytest.skip(f"PostgreSQL not reachable at {where}: {reason}")

    def new(self) -> str:
        name = f"wuye_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        db.dispose_engines()
        with self.admin.connect() as conn:
            for name in self.names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()


class SqliteDatabases:
    def __init__(self, directory) -> None:
        self.directory = directory

    def new(self) -> str:
        return f"sqlite:///{self.directory / f'{uuid.uuid4().hex[:8]}.db'}"

    def drop_all(self) -> None:
        db.dispose_engines()  # the files go with pytest's tmp dirs


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request, tmp_path_factory):
    """Makes fresh, empty databases of one backend."""
    if request.param == "sqlite":
        factory = SqliteDatabases(tmp_path_factory.mktemp("sqlite"))
    else:
        factory = PostgresDatabases()
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def db_url(databases) -> str:
    """A database of each backend, migrated with upgrade() (this is the migration test)."""
    url = databases.new()
    db.upgrade(url)
    return url


@pytest.fixture
def engine(db_url):
    engine = db.get_engine(db_url)
    yield engine
    # Empty every table (not alembic_version) so each test starts from a clean database.
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def session(engine):
    s = sessionmaker(bind=engine, future=True, expire_on_commit=False)()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def is_sqlite(db_url) -> bool:
    return db_url.startswith("sqlite")


# --- the outbound side: WeChat's API stand-in and the environment jobs read -----------------------
TEST_APPID = "wxtest0000000001"


@pytest.fixture
def standin():
    from scripts.wechat_standin import StandIn

    s = StandIn()
    s.url = s.start()
    yield s
    s.stop()


@pytest.fixture
def wechat_env(monkeypatch, db_url, redis_url, standin, engine):
    """Settings as a worker sees them: this test's database, test Redis, the stand-in as WeChat.
    Jobs (dispatch, delivery) read their settings from the environment, like in production."""
    import redis

    from backend.core.config import load_settings

    monkeypatch.setenv("DATABASE_URL", db_url)
    # Its own Redis database: nothing here may meet the e2e system's worker (which uses the
    # fixture's database) or the jobs it would run.
    base, db = redis_url.rsplit("/", 1)
    redis_url = f"{base}/{int(db) - 2 if int(db) >= 2 else 13}"
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("WECHAT_APPID", TEST_APPID)
    monkeypatch.setenv("WECHAT_SECRET", "test-secret")
    monkeypatch.setenv("WECHAT_API_BASE_URL", standin.url)
    conn = redis.Redis.from_url(redis_url)
    conn.delete(f"wuye:wechat:{TEST_APPID}:access_token")  # a token from an earlier stand-in
    for pattern in ("rq:*", "wuye:guess:*", "wuye:alert:*"):
        for key in conn.scan_iter(pattern):
            conn.delete(key)  # jobs enqueued and guessing counts left by earlier tests
    return load_settings()


@pytest.fixture
def now():
    """The real current time, once per test: dispatch and clock tests count from it."""
    from backend.core.clock import aware_now

    return aware_now()


@pytest.fixture
def crew(session, wechat_env, now):
    """A community with plumbers, a lift technician and a supervisor, on duty now (crew.py)."""
    from tests.backend.crew import make_crew

    return make_crew(session, now)
