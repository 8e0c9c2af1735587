"""`python -m backend backup | restore | copy-db`: the records out to a file, back in, or across
to another database (see backend/core/backup.py for what the file holds and what is checked)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from backend.core import backup
from backend.core.backup import BackupError, TargetNotEmpty
from backend.core.config import load_settings


def _url(args) -> str:
    return args.database_url or load_settings().database_url


def _where(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _summary(counts: dict[str, int]) -> str:
    shown = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
    return f"{sum(counts.values())} rows ({shown or 'no rows'})"


def _run(action) -> int:
    try:
        return action()
    except TargetNotEmpty as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 3
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:  # the database is not there, or refuses us
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print(f"error: cannot use the database: {reason}", file=sys.stderr)
        return 2


def cmd_backup(args) -> int:
    def action():
        path = Path(args.file) if args.file else backup.default_backup_path()
        counts = backup.write_backup(_url(args), path, progress=_progress(args))
        print(f"backed up {_where(_url(args))} to {path}: {_summary(counts)}")
        return 0

    return _run(action)


def cmd_restore(args) -> int:
    def action():
        counts = backup.restore(_url(args), Path(args.file), force=args.force, progress=_progress(args))
        print(
            f"restored {args.file} into {_where(_url(args))}: {_summary(counts)}; every table's "
            "row count matches the backup"
        )
        return 0

    return _run(action)


def cmd_copy_db(args) -> int:
    def action():
        counts = backup.copy_database(_url(args), args.to, force=args.force, progress=_progress(args))
        print(
            f"copied {_where(_url(args))} into {_where(args.to)}: {_summary(counts)}; every "
            "table's row count matches. Now set DATABASE_URL to the new database and restart."
        )
        return 0

    return _run(action)


def _progress(args) -> bool:
    return not args.no_progress and sys.stderr.isatty()


def register(sub) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--no-progress", action="store_true", help="no progress bar")
    b = sub.add_parser(
        "backup", parents=[common], help="write every record to one file (a consistent snapshot; safe while running)"
    )
    b.add_argument("file", nargs="?", help="where to write (default var/backups/wuye-<UTC time>.jsonl.gz)")
    b.set_defaults(func=cmd_backup)
    r = sub.add_parser(
        "restore", parents=[common], help="restore a backup into an empty database (migrated first; all or nothing)"
    )
    r.add_argument("file")
    r.add_argument("--force", action="store_true", help="replace everything in a database that has records")
    r.set_defaults(func=cmd_restore)
    c = sub.add_parser(
        "copy-db", parents=[common], help="copy every record into another database, e.g. SQLite into PostgreSQL"
    )
    c.add_argument("--to", required=True, metavar="URL", help="the target, e.g. postgresql://wuye@db-host/wuye")
    c.add_argument("--force", action="store_true", help="replace everything in a target that has records")
    c.set_defaults(func=cmd_copy_db)
