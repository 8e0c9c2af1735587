"""Back up, restore and copy the records, on SQLite and PostgreSQL alike.

A backup is a logical dump: one gzip'd JSON-lines file, a header line (format, the schema's
alembic revision, row counts per table), then every row of every table, table by table in
foreign-key order and by primary key within a table. The same file restores into an empty
database of either kind, and the same row stream copies a database straight into another
(`copy-db`: the embedded SQLite into PostgreSQL).

- Consistent: the dump reads in one transaction (a SQLite read snapshot in WAL mode, which
  blocks no writer; REPEATABLE READ on PostgreSQL), so a backup of a running system is one
  moment, not a mix.
- Safe: a restore or copy runs in one transaction on the target, refuses a non-empty target
  unless forced (then it replaces everything), checks every table's row count against the
  header before committing, and sets PostgreSQL's id sequences past the copied ids.
- Values go through the models' own column types, so times stay aware UTC and money stays exact.
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterable, Iterator

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Date, DateTime, Integer, LargeBinary, Numeric, create_engine, event, func, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import NullPool
from tqdm import tqdm

from backend.core import db
from backend.core.config import VAR_DIR
from backend.core.models import Base

FORMAT = "wuye-backup"
VERSION = 1
BATCH = 1000


class BackupError(Exception):
    """A backup file that cannot be restored, or a target that must not be written: the message
    says which and why; nothing was written."""


class TargetNotEmpty(BackupError):
    pass


def tables():
    return list(Base.metadata.sorted_tables)  # parents before children


def head_revision() -> str:
    return ScriptDirectory.from_config(db.alembic_config()).get_current_head()


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _where(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# --- reading a consistent snapshot ---------------------------------------------------------------
def snapshot_engine(url: str) -> Engine:
    """An engine whose transactions read one moment of the database and take no write lock (the
    app's own SQLite engine begins IMMEDIATE, which would hold up every writer for the dump)."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, future=True, poolclass=NullPool)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we say BEGIN ourselves

        @event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN")  # deferred: a WAL read snapshot from the first read

        return engine
    return create_engine(url, future=True, poolclass=NullPool, isolation_level="REPEATABLE READ")


def read_rows(conn: Connection) -> Iterator[tuple[str, dict]]:
    for table in tables():
        order = list(table.primary_key.columns) or list(table.columns)
        # Streamed (a server-side cursor on PostgreSQL): a big table never sits in memory whole.
        query = select(table).order_by(*order).execution_options(stream_results=True, max_row_buffer=BATCH)
        for row in conn.execute(query).mappings():
            yield table.name, dict(row)


def count_rows(conn: Connection) -> dict[str, int]:
    return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables()}


# --- the file ------------------------------------------------------------------------------------
def _encode(value):
    """For json.dumps(default=...): only the values JSON has no type for come here."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot back up a value of type {type(value).__name__}")


def _decoders(table) -> list[tuple[str, Callable]]:
    """The columns whose JSON value must be turned back into a Python type, and how."""
    found = []
    for column in table.columns:
        impl = getattr(column.type, "impl", column.type)  # a TypeDecorator: its base type
        if isinstance(impl, DateTime):
            found.append((column.name, datetime.fromisoformat))  # with its offset, as written
        elif isinstance(impl, Date):
            found.append((column.name, date.fromisoformat))
        elif isinstance(impl, Numeric):
            found.append((column.name, Decimal))
        elif isinstance(impl, LargeBinary):
            found.append((column.name, base64.b64decode))
    return found


def write_backup(url: str, path: Path, progress: bool = False) -> dict[str, int]:
    """Dump every table of the database at `url` into `path`; returns the row counts."""
    engine = snapshot_engine(url)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")  # never leave a half file under the real name
    try:
        with engine.connect() as conn, conn.begin():
            revision = current_revision(conn)
            if revision is None:
                raise BackupError(f"{_where(url)} has no schema (run `python -m backend db-upgrade`)")
            counts = count_rows(conn)
            header = {
                "format": FORMAT,
                "version": VERSION,
                "revision": revision,
                "created_at": datetime.now(timezone.utc).isoformat(),
                "counts": counts,
            }
            with gzip.open(partial, "wt", encoding="utf-8", compresslevel=6) as out:
                out.write(json.dumps(header, ensure_ascii=False) + "\n")
                for name, row in _progress(read_rows(conn), sum(counts.values()), progress, "backup"):
                    out.write(json.dumps({"t": name, "r": row}, ensure_ascii=False, default=_encode) + "\n")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
        engine.dispose()
    return counts


def read_header(path: Path) -> dict:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            header = json.loads(f.readline())
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file") from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, json.JSONDecodeError):
        raise BackupError(
            f"{path} is not a backup made by `python -m backend backup` (not a gzip'd JSON-lines file)"
        ) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError(f"{path} is not a backup made by `python -m backend backup`")
    if header.get("version") != VERSION:
        raise BackupError(f"{path} is a backup of format version {header.get('version')}; this version reads {VERSION}")
    return header


def _file_rows(path: Path) -> Iterator[tuple[str, dict]]:
    known = {t.name: t for t in tables()}
    decoders = {name: _decoders(t) for name, t in known.items()}
    columns = {name: {c.name for c in t.columns} for name, t in known.items()}
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            f.readline()
            for number, line in enumerate(f, start=2):
                try:
                    item = json.loads(line)
                    name, row = item["t"], item["r"]
                    if not row.keys() <= columns[name]:
                        raise KeyError(", ".join(sorted(row.keys() - columns[name])))
                    for column, decode in decoders[name]:
                        value = row.get(column)
                        if value is not None:
                            row[column] = decode(value)
                    yield name, row
                except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
                    raise BackupError(
                        f"{path}, line {number}: not a row this schema has ({type(exc).__name__}: {str(exc)[:80]})"
                    ) from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise BackupError(f"{path} is damaged or cut short ({type(exc).__name__})") from None


# --- writing into a database ---------------------------------------------------------------------
def _is_empty(conn: Connection) -> bool:
    return all(conn.execute(select(t).limit(1)).first() is None for t in tables())


def _prepare_target(url: str, revision: str, force: bool) -> Engine:
    """Migrate the target to the schema the rows come from, and check it may be written."""
    if revision != head_revision():
        raise BackupError(
            f"the data is at schema {revision}; this code is at {head_revision()}: "
            "restore it with the version of the code that made it, then upgrade"
        )
    db.upgrade(url)
    engine = db.make_engine(url)
    with engine.connect() as conn:
        if not force and not _is_empty(conn):
            engine.dispose()
            raise TargetNotEmpty(
                f"{_where(url)} already holds records; nothing was written. Use --force to replace everything in it"
            )
    return engine


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL hands out ids from sequences that know nothing of copied ids: move them on."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables():
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and isinstance(pk[0].type, Integer) and pk[0].autoincrement in (True, "auto"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk[0].name}'), "
                    f"COALESCE((SELECT MAX({pk[0].name}) FROM {table.name}), 1), "
                    f"(SELECT MAX({pk[0].name}) FROM {table.name}) IS NOT NULL) "
                    f"WHERE pg_get_serial_sequence('{table.name}', '{pk[0].name}') IS NOT NULL"
                )
            )


def load_rows(
    engine: Engine, rows: Iterable[tuple[str, dict]], expected: dict[str, int], progress: bool = False
) -> dict[str, int]:
    """Replace everything in the target with `rows`, in one transaction; the counts must match."""
    known = {t.name: t for t in tables()}
    missing = set(expected) - set(known)
    if missing:
        raise BackupError(f"tables this schema does not have: {', '.join(sorted(missing))}")
    written = {t.name: 0 for t in tables()}
    with engine.begin() as conn:
        for table in reversed(tables()):
            conn.execute(table.delete())
        batch: list[dict] = []
        current = None
        for name, row in _progress(rows, sum(expected.values()), progress, "restore"):
            if name != current or len(batch) >= BATCH:
                if batch:
                    conn.execute(known[current].insert(), batch)
                batch, current = [], name
            if name not in known:
                raise BackupError(f"rows of an unknown table {name!r}")
            batch.append(row)
            written[name] += 1
        if batch:
            conn.execute(known[current].insert(), batch)
        _reset_sequences(conn)
        found = count_rows(conn)
        wrong = {n: (expected.get(n, 0), found[n]) for n in found if found[n] != expected.get(n, 0)}
        if wrong:  # raising rolls the whole transaction back: the target is as it was
            detail = ", ".join(f"{n}: expected {e}, found {f}" for n, (e, f) in sorted(wrong.items()))
            raise BackupError(f"row counts do not match the source ({detail}); nothing was written")
    return found


def restore(url: str, path: Path, force: bool = False, progress: bool = False) -> dict[str, int]:
    header = read_header(Path(path))
    engine = _prepare_target(url, header["revision"], force)
    try:
        return load_rows(engine, _file_rows(Path(path)), header["counts"], progress)
    finally:
        engine.dispose()


def copy_database(source_url: str, target_url: str, force: bool = False, progress: bool = False) -> dict[str, int]:
    """Copy every row of one database into another (the embedded SQLite into PostgreSQL)."""
    if make_url(source_url) == make_url(target_url):
        raise BackupError("the source and the target are the same database")
    source = snapshot_engine(source_url)
    try:
        with source.connect() as conn, conn.begin():
            revision = current_revision(conn)
            if revision is None:
                raise BackupError(f"{_where(source_url)} has no schema")
            counts = count_rows(conn)
            target = _prepare_target(target_url, revision, force)
            try:
                return load_rows(target, read_rows(conn), counts, progress)
            finally:
                target.dispose()
    finally:
        source.dispose()


def _progress(rows: Iterable, total: int, show: bool, what: str) -> Iterable:
    if not show:
        return rows
    return tqdm(rows, total=total, unit=" rows", desc=what, mininterval=0.5)


def default_backup_path() -> Path:
    return VAR_DIR / "backups" / f"wuye-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}.jsonl.gz"
