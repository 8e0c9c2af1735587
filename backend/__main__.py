"""Command line for the backend's records: `python -m backend --help`."""
from __future__ import annotations

import argparse
import sys

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from backend import db
from backend.config import load_settings


def _where(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    url = args.database_url or load_settings().database_url
    db.upgrade(url)
    print(f"database at {_where(url)} is at the latest schema (alembic head)")
    return 0


def _counts(session, tables) -> dict:
    return {t: session.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from backend.demo import seed_demo
    from backend.models import Building, Community, DutyShift, House, Resident, Staff

    url = args.database_url or load_settings().database_url
    if not args.no_upgrade:
        db.upgrade(url)
    tables = (Community, Building, House, Resident, Staff, DutyShift)
    engine = db.get_engine(url)
    with db.session_scope(engine) as session:
        before = _counts(session, tables)
        seed_demo(session, local_mode=load_settings().local_mode)
        session.flush()
        after = _counts(session, tables)
    print(f"demo data in {_where(url)}:")
    for table in tables:
        added = after[table] - before[table]
        print(f"  {table.__tablename__:<12} {after[table]:>5} rows ({added} added)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m backend", description="Records of the property-service assistant."
    )
    parser.add_argument(
        "--database-url", help="overrides DATABASE_URL (default: SQLite file under var/)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = sub.add_parser(
        "db-upgrade", help="create or migrate the database schema (alembic upgrade head)"
    )
    up.set_defaults(func=cmd_db_upgrade)
    seed = sub.add_parser("seed-demo", help="add the demo community 幸福里花园 (safe to repeat)")
    seed.add_argument("--no-upgrade", action="store_true", help="do not migrate first")
    seed.set_defaults(func=cmd_seed_demo)
    from backend import staff_cli

    staff_cli.register(sub)
    from backend import service_cli

    service_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
