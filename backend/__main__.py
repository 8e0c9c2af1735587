"""Command line for the backend's records: `python -m backend --help`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from backend.cli import backup as backup_cli
from backend.cli import outage as outage_cli
from backend.cli import service as service_cli
from backend.cli import staff as staff_cli
from backend.cli.demo import seed_demo
from backend.core import db
from backend.core.config import load_settings
from backend.core.models import Staff
from backend.owners.imports import KINDS, ORDER, ImportFailed, import_files, scan_folder


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
    settings = load_settings()
    if not settings.local_mode and not args.allow_production:
        # The demo's residents and staff (whose phones the README prints) must never land in a
        # real company's database by accident.
        print(
            "seed-demo: WeChat credentials are set, so this is not local mode; the demo community "
            "is not loaded (pass --allow-production for a throwaway test system).",
            file=sys.stderr,
        )
        return 2
    url = args.database_url or settings.database_url
    if not args.no_upgrade:
        db.upgrade(url)
    engine = db.get_engine(url)
    try:
        with db.session_scope(engine) as session:
            reports = seed_demo(session, local_mode=settings.local_mode)
            staff = _counts(session, (Staff,))[Staff]
    except ImportFailed as failed:
        return _print_failure(failed.reports)
    print(f"demo data in {_where(url)}:")
    for report in reports:
        print("  " + report.summary())
    print(f"  staff: {staff} rows")
    return 0


def _print_failure(reports, skipped=()) -> int:
    for report in reports:
        lines = report.lines()
        print(("  " if report.ok else "✗ ") + lines[0], file=sys.stderr)
        for line in lines[1:]:
            print("  " + line, file=sys.stderr)
    for line in skipped:
        print("  " + line, file=sys.stderr)
    print("导入失败，数据库没有任何改动。请改正上面的问题后重新导入。", file=sys.stderr)
    return 1


def _import(args: argparse.Namespace, files, skipped=()) -> int:
    url = args.database_url or load_settings().database_url
    db.upgrade(url)
    progress = not args.no_progress and sys.stderr.isatty()
    try:
        with db.session_scope(db.get_engine(url)) as session:
            # A dry run writes and rolls back, so a folder's later files see its earlier ones.
            reports = import_files(session, files, progress=progress, sheet=getattr(args, "sheet", None))
            if args.dry_run:
                session.rollback()
    except ImportFailed as failed:
        unchecked = [
            f"- {path.name}：没有检查（前面的文件有错误，这次什么都没有导入）"
            for _, path in files[len(failed.reports) :]
        ]
        return _print_failure(failed.reports, [*unchecked, *skipped])
    for report in reports:
        report.dry_run = args.dry_run
        for line in report.lines():
            print(line)
    for line in skipped:
        print(line)
    print("检查通过，没有写入（--dry-run）。" if args.dry_run else f"已导入到 {_where(url)}。")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    return _import(args, [(args.kind, Path(args.file))])


def cmd_import_dir(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"找不到文件夹 {folder}", file=sys.stderr)
        return 2
    entries = scan_folder(folder)
    files = [(e.kind, e.path) for e in entries if e.kind and not e.reason]
    refused = [f"✗ {e.name}：{e.reason}" for e in entries if e.kind and e.reason]
    skipped = [f"- {e.name}：{e.reason}" for e in entries if not e.kind]
    if refused:
        for line in refused + skipped:
            print(line, file=sys.stderr)
        print("导入失败，数据库没有任何改动。请改正上面的问题后重新导入。", file=sys.stderr)
        return 1
    if not files:
        for line in skipped:
            print(line, file=sys.stderr)
        print(f"{folder} 里没有按种类命名的文件（如 houses.csv、房屋.xlsx）", file=sys.stderr)
        return 2
    return _import(args, files, skipped)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backend", description="Records of the property-service assistant.")
    parser.add_argument("--database-url", help="overrides DATABASE_URL (default: SQLite file under var/)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = sub.add_parser("db-upgrade", help="create or migrate the database schema (alembic upgrade head)")
    up.set_defaults(func=cmd_db_upgrade)
    seed = sub.add_parser("seed-demo", help="add the demo community 幸福里花园 (safe to repeat)")
    seed.add_argument("--no-upgrade", action="store_true", help="do not migrate first")
    seed.add_argument(
        "--allow-production", action="store_true", help="load it even with WeChat credentials set (test systems only)"
    )
    seed.set_defaults(func=cmd_seed_demo)

    kinds_help = "; ".join(f"{k} ({KINDS[k].label})" for k in ORDER)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    common.add_argument("--no-progress", action="store_true", help="no progress bar")
    imp = sub.add_parser(
        "import",
        parents=[common],
        help="import one CSV or .xlsx file of a kind (all rows or nothing; safe to repeat)",
        description="Import a staff spreadsheet. Every row is checked first; if any row is bad, "
        "each one is reported by its row number and nothing is written. Rows are matched by "
        "their natural key (house by building/unit/room, bill by house/item/period...), so "
        "importing the same file again changes nothing. Kinds: " + kinds_help,
    )
    imp.add_argument("kind", choices=ORDER, metavar="KIND", help=kinds_help)
    imp.add_argument("file", help="a .csv (UTF-8 or GBK) or .xlsx file; the header is found in its first rows")
    imp.add_argument(
        "--sheet",
        help="the worksheet of an .xlsx to read (default: the one sheet whose "
        "header fits the kind; several that fit are refused)",
    )
    imp.set_defaults(func=cmd_import)
    imp_dir = sub.add_parser(
        "import-dir",
        parents=[common],
        help="import every <kind>.csv/.xlsx (or 房屋.xlsx...) in a folder, in dependency order, in one "
        "transaction; lists every file of the folder and what happened to it",
    )
    imp_dir.add_argument("folder")
    imp_dir.set_defaults(func=cmd_import_dir)

    staff_cli.register(sub)
    outage_cli.register(sub)
    service_cli.register(sub)
    backup_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
