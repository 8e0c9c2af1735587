"""Importing a file: read every row, check every row, and write only when all are good.

Two passes: the first turns each row into a record (or a reason it cannot be one) without
writing anything; the second upserts by the natural key in one transaction, the caller's. So a
file with one bad row changes nothing, and the same file imported twice changes nothing the
second time (every row comes out "unchanged").
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from backend.owners.imports.fields import BadValue
from backend.owners.imports.kinds import KINDS, ORDER, Kind
from backend.owners.imports.lookup import Lookup
from backend.owners.imports.reader import SUFFIXES, FileProblem, read_rows

BATCH = 1000
IN_CHUNK = 500  # SQLite allows a limited number of bound values per statement


@dataclass
class RowError:
    row: int  # as the spreadsheet shows it; 1 is the header, 0 the file as a whole
    reason: str

    def __str__(self) -> str:
        return f"第{self.row}行：{self.reason}" if self.row else self.reason


@dataclass
class Report:
    kind: str
    path: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        label = KINDS[self.kind].label if self.kind in KINDS else self.kind
        if not self.ok:
            return f"{label} {self.path}：{len(self.errors)}处错误，没有导入任何数据"
        return (f"{label} {self.path}：{self.rows}行，新增{self.inserted}，更新{self.updated}，"
                f"未变{self.unchanged}")


class ImportFailed(Exception):
    """Raised by import_files when a file has errors; the caller's transaction must roll back."""

    def __init__(self, reports: list[Report]):
        super().__init__("; ".join(r.summary() for r in reports if not r.ok))
        self.reports = reports


def _bar(iterable, total: int, desc: str, progress: bool):
    return tqdm(iterable, total=total, desc=desc, unit="行", disable=not progress,
                file=sys.stderr, mininterval=0.5, leave=False)


def _check_header(kind: Kind, present: set[str]) -> None:
    missing = [alts for alts in kind.needs if not any(a in present for a in alts)]
    if missing:
        names = "、".join("/".join(kind.columns[a][0] for a in alts) for alts in missing)
        raise FileProblem(f"表头缺少列：{names}")


def check_rows(session: Session, kind: Kind, path: Path, report: Report,
               progress: bool) -> list[dict]:
    present, rows = read_rows(path, kind.columns)
    _check_header(kind, present)
    report.rows = len(rows)
    look = Lookup(session)
    seen: dict[tuple, int] = {}
    records, numbers = [], []
    for number, cells in _bar(rows, len(rows), f"检查{kind.label}", progress):
        try:
            values = kind.row(cells, look)
        except BadValue as exc:
            report.errors.append(RowError(number, str(exc)))
            continue
        key = kind.key_of(values)
        if key in seen:
            report.errors.append(RowError(number, f"与第{seen[key]}行重复"))
            continue
        seen[key] = number
        records.append(values)
        numbers.append(number)
    if kind.check_all and report.ok:
        for index, reason in kind.check_all(records, look):
            report.errors.append(RowError(numbers[index], reason))
    return records


def _existing(session: Session, kind: Kind, records: list[dict]) -> dict[tuple, dict]:
    table, first = kind.table, kind.key[0]
    wanted = sorted({r[first] for r in records}, key=str)
    found: dict[tuple, dict] = {}
    for i in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[i:i + IN_CHUNK]
        for row in session.execute(select(table).where(table.c[first].in_(chunk))).mappings():
            found[kind.key_of(row)] = dict(row)
    return found


def write_rows(session: Session, kind: Kind, records: list[dict], report: Report,
               progress: bool) -> None:
    table = kind.table
    existing = _existing(session, kind, records)
    inserts, updates = [], []
    for values in records:
        old = existing.get(kind.key_of(values))
        if old is None:
            inserts.append(values)
        elif any(old[c] != v for c, v in values.items()):
            updates.append({"_id": old["id"], **{f"v_{c}": v for c, v in values.items()}})
        else:
            report.unchanged += 1
    bar = _bar(None, len(inserts) + len(updates), f"写入{kind.label}", progress)
    for i in range(0, len(inserts), BATCH):
        session.execute(table.insert(), inserts[i:i + BATCH])
        bar.update(len(inserts[i:i + BATCH]))
    if updates:
        columns = [c for c in records[0] if c != "id"]
        stmt = (table.update().where(table.c.id == bindparam("_id"))
                .values({c: bindparam(f"v_{c}") for c in columns}))
        for i in range(0, len(updates), BATCH):
            session.execute(stmt, updates[i:i + BATCH])
            bar.update(len(updates[i:i + BATCH]))
    bar.close()
    report.inserted, report.updated = len(inserts), len(updates)
    session.flush()


def import_file(session: Session, kind_name: str, path: Path | str, progress: bool = False,
                dry_run: bool = False) -> Report:
    """Check every row, then (all good, not a dry run) upsert them. Writes nothing when any row
    is bad. Does not commit: the caller's transaction does."""
    if kind_name not in KINDS:
        raise ValueError(f"unknown kind {kind_name!r}; one of {', '.join(KINDS)}")
    kind, path = KINDS[kind_name], Path(path)
    report = Report(kind_name, str(path))
    try:
        records = check_rows(session, kind, path, report, progress)
    except FileProblem as exc:
        report.errors.append(RowError(0, str(exc)))
        return report
    if report.ok and not dry_run:
        write_rows(session, kind, records, report, progress)
    return report


def import_files(session: Session, files: list[tuple[str, Path]], progress: bool = False,
                 dry_run: bool = False) -> list[Report]:
    """Import several files in order inside the caller's one transaction. Raises ImportFailed
    at the first file with errors, so the caller rolls all of them back."""
    reports = []
    for kind_name, path in files:
        reports.append(import_file(session, kind_name, path, progress, dry_run))
        if not reports[-1].ok:
            raise ImportFailed(reports)
    return reports


def files_in(folder: Path | str) -> list[tuple[str, Path]]:
    """The files of a folder named after their kind (houses.csv, bills.xlsx...), in the order
    they depend on each other."""
    folder = Path(folder)
    found = []
    for kind_name in ORDER:
        for suffix in SUFFIXES:
            path = folder / f"{kind_name}{suffix}"
            if path.exists():
                found.append((kind_name, path))
    return found
