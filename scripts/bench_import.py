"""`make bench` (part 2): importing staff spreadsheets at the size of a large estate.

Generates 10,000 houses (100 buildings × 2 units × 25 floors × 2 rooms) and 30,000 bills (three
quarters each), imports them with `python -m backend import` into a fresh SQLite file and a
fresh PostgreSQL database (when one answers at TEST_POSTGRES_URL), and measures each import in
its own process: wall time and peak resident memory (ru_maxrss). Then the same bills again
(nothing may change) and the bills with one malformed row (it must be reported by number and
nothing written). Writes its own section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HEADING = "## Importing staff spreadsheets (houses and bills)"
BUILDINGS, UNITS, FLOORS, ROOMS = 100, 2, 25, 2
QUARTERS = [
    ("2026年第1季度", "2026-01-01", "2026-03-31", "2026-01-31"),
    ("2026年第2季度", "2026-04-01", "2026-06-30", "2026-04-30"),
    ("2026年第3季度", "2026-07-01", "2026-09-30", "2026-07-31"),
]
BAD_ROW = 20_001  # a row in the middle of the bills file


def _write(path: Path, header, rows) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def make_files(folder: Path) -> dict[str, Path]:
    houses = [
        ("BIG", str(b), str(u), f"{f}{r:02d}", "89.50" if r == 1 else "120.00")
        for b in range(1, BUILDINGS + 1)
        for u in range(1, UNITS + 1)
        for f in range(1, FLOORS + 1)
        for r in range(1, ROOMS + 1)
    ]
    bills = [
        (
            c,
            b,
            u,
            room,
            "物业费",
            period,
            start,
            end,
            str((Decimal("2.80") * Decimal(area) * 3).quantize(Decimal("0.01"))),
            due,
        )
        for c, b, u, room, area in houses
        for period, start, end, due in QUARTERS
    ]
    bad = [list(row) for row in bills]
    bad[BAD_ROW - 2][8] = "七百五"  # row numbers count the header as row 1
    return {
        "communities": _write(
            folder / "communities.csv", ["小区编码", "小区名称", "服务电话"], [["BIG", "大型社区", "0571-0000 0000"]]
        ),
        "buildings": _write(
            folder / "buildings.csv", ["小区", "楼栋"], [["BIG", str(b)] for b in range(1, BUILDINGS + 1)]
        ),
        "houses": _write(folder / "houses.csv", ["小区", "楼栋", "单元", "房号", "建筑面积"], houses),
        "bills": _write(
            folder / "bills.csv",
            ["小区", "楼栋", "单元", "房号", "收费项目", "账期", "开始日期", "结束日期", "应收金额", "缴费截止日"],
            bills,
        ),
        "bad_bills": _write(
            folder / "bad_bills.csv",
            ["小区", "楼栋", "单元", "房号", "收费项目", "账期", "开始日期", "结束日期", "应收金额", "缴费截止日"],
            bad,
        ),
    }


def child(url: str, kind: str, path: str) -> None:
    """One import in this process; prints what it measured as JSON."""
    from sqlalchemy import func, select

    from backend.core import db
    from backend.core.models import FeeBill
    from backend.owners.imports import import_file

    engine = db.get_engine(url)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with db.session_scope(engine) as session:
        report = import_file(session, kind, path)
        if not report.ok:
            session.rollback()
    seconds = time.perf_counter() - started
    with db.session_scope(engine) as session:
        bills = session.execute(select(func.count()).select_from(FeeBill)).scalar_one()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_before_kb": rss_before,
                "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "rows": report.rows,
                "inserted": report.inserted,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "errors": [str(e) for e in report.errors][:3],
                "error_count": len(report.errors),
                "bills_after": bills,
            },
            ensure_ascii=False,
        )
    )


def measure(url: str, kind: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, kind, str(path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def postgres_url() -> str | None:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin = make_url(os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    try:
        engine = create_engine(admin, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        name = f"wuye_bench_{uuid.uuid4().hex[:8]}"
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        return admin.set(database=name).render_as_string(hide_password=False)
    except Exception as exc:  # noqa: BLE001  (no PostgreSQL here: SQLite only)
        print(f"PostgreSQL not measured: {exc}", file=sys.stderr)
        return None


def drop_postgres(url: str) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from backend.core import db

    db.dispose_engines()
    parsed = make_url(url)
    engine = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    engine.dispose()


def run_backend(url: str, files: dict[str, Path]) -> list[tuple[str, dict]]:
    from backend.core import db

    db.upgrade(url)
    for kind in ("communities", "buildings"):
        measure(url, kind, files[kind])
    # The malformed file first, into an empty bills table: nothing of it may stay.
    return [
        ("10,000 houses", measure(url, "houses", files["houses"])),
        (f"30,000 bills, row {BAD_ROW:,} malformed", measure(url, "bills", files["bad_bills"])),
        ("30,000 bills", measure(url, "bills", files["bills"])),
        ("30,000 bills again (no change)", measure(url, "bills", files["bills"])),
    ]


def section(results: dict[str, list[tuple[str, dict]]]) -> str:
    lines = [
        HEADING,
        "",
        f"Measured by `make bench` (scripts/bench_import.py) on {date.today()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}: `python -m backend import` of generated CSV files, each import "
        "in its own process (time from reading the file to commit; peak memory is the process's maximum "
        "resident set, interpreter and SQLAlchemy included). Every row is checked before anything is "
        "written, and the whole file goes in one transaction.",
        "",
        "| database | file | rows | time | rows/s | peak memory | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for backend_name, runs in results.items():
        for label, r in runs:
            if r["error_count"]:
                result = f"{r['error_count']} error(s) reported ({r['errors'][0]}); bills in the database after: {r['bills_after']:,}"
            else:
                result = f"{r['inserted']:,} new, {r['updated']:,} changed, {r['unchanged']:,} unchanged"
            lines.append(
                f"| {backend_name} | {label} | {r['rows']:,} | {r['seconds']:.1f} s | "
                f"{r['rows'] / r['seconds']:,.0f} | {r['peak_kb'] / 1024:.0f} MB ({r['rss_before_kb'] / 1024:.0f} MB before) | {result} |"
            )
    lines += [
        "",
        "The malformed file is imported first, into an empty bills table: its bad row is reported by "
        "number and none of its 29,999 good rows stay (0 bills after). A second import of the same good "
        "file changes nothing. Peak memory holds the whole file's checked rows before writing (about 2 KB "
        "a bill row); a file many times larger would want the check pass to keep only the keys.",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> Path:
    out = ROOT / "docs" / "BENCHMARKS.md"
    current = out.read_text(encoding="utf-8") if out.exists() else "# Benchmarks\n"
    if HEADING in current:
        head, rest = current.split(HEADING, 1)
        tail = rest[rest.find("\n## ") :] if "\n## " in rest else ""
        current = head.rstrip() + "\n\n" + text + tail.lstrip("\n")
    else:
        current = current.rstrip() + "\n\n" + text
    out.write_text(current.rstrip() + "\n", encoding="utf-8")
    return out


def main() -> int:
    results = {}
    with tempfile.TemporaryDirectory(prefix="wuye-bench-import-") as tmp:
        tmp = Path(tmp)
        files = make_files(tmp)
        results["SQLite"] = run_backend(f"sqlite:///{tmp / 'bench.db'}", files)
        pg = postgres_url()
        if pg:
            try:
                results["PostgreSQL"] = run_backend(pg, files)
            finally:
                drop_postgres(pg)
    text = section(results)
    print(text)
    print(f"written to {write_section(text).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
        sys.exit(0)
    sys.exit(main())
