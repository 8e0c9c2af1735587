"""Engines, sessions and migrations.

SQLite is the embedded default and several processes (webhook, actions, worker, CLI) write to
the same file, so every SQLite connection runs in WAL mode with a 5 s busy timeout and takes the
write lock when its transaction begins (BEGIN IMMEDIATE). A deferred transaction that reads first
and writes later fails at once with "database is locked" when another process committed in
between; an immediate one simply waits its turn.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from backend.core.config import load_settings

BACKEND_DIR = Path(__file__).resolve().parent.parent  # backend/: alembic.ini and migrations/
SQLITE_BUSY_TIMEOUT_MS = 5000

_engines: dict[str, Engine] = {}
_sessionmakers: dict[Engine, sessionmaker] = {}
_lock = threading.Lock()


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Hand transaction control to SQLAlchemy (pysqlite's own BEGIN handling breaks SAVEPOINT).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL never corrupts the file and survives a process crash; only a power
        # loss can drop the last commits. It saves an fsync on every commit of the hot path.
        # (Deployments that must survive power loss use PostgreSQL.)
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        pool = {}
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # SQLAlchemy 1.4 opens and closes a file database per transaction (NullPool); in WAL
            # mode the close can checkpoint, a few ms each time. Keep connections open instead;
            # a pooled connection moves between threads, one at a time.
            pool = {"poolclass": QueuePool, "pool_size": 8, "max_overflow": 24}
        engine = create_engine(
            url,
            future=True,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **pool,
        )
        _setup_sqlite(engine)
        return engine
    # pre_ping: a worker may hold a pooled connection across a PostgreSQL restart.
    return create_engine(url, future=True, pool_pre_ping=True)


def get_engine(url: str | None = None) -> Engine:
    url = url or load_settings().database_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def dispose_engines() -> None:
    """Close every cached engine's connections (tests, and before forking workers)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _sessionmakers.clear()


def _sessionmaker(engine: Engine) -> sessionmaker:
    with _lock:
        factory = _sessionmakers.get(engine)
        if factory is None:
            # expire_on_commit=False: callers use the rows they got (ticket.number...) after the
            # scope has committed and closed.
            factory = _sessionmakers[engine] = sessionmaker(bind=engine, future=True, expire_on_commit=False)
        return factory


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    session = _sessionmaker(engine or get_engine())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(BACKEND_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(BACKEND_DIR / "migrations"))
    # Passed as an attribute, not an ini option: configparser would choke on a "%" in a password.
    cfg.attributes["url"] = url or load_settings().database_url
    return cfg


def upgrade(url: str | None = None) -> None:
    command.upgrade(alembic_config(url), "head")


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
