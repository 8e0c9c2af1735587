"""Importing a file: read every row, check every row, and write only when all are good.

Two passes: the first turns each row into a record (or a reason it cannot be one) without
writing anything; the second upserts by the natural key in one transaction, the caller's. So a
file with one bad row changes nothing, and the same file imported twice changes nothing the
second time (every row comes out "unchanged").
"""

from __future__ import annotations

import logging
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from backend.owners.imports.fields import BadValue
from backend.owners.imports.kinds import KINDS, ORDER, Kind
from backend.owners.imports.lookup import Lookup
from backend.owners.imports.reader import FileProblem, read_table, unsupported

log = logging.getLogger(__name__)
BATCH = 1000
# What the clerk sees if the import itself fails on a row or a file: a bug, logged in full for
# whoever maintains it; never a traceback in front of the clerk.
INTERNAL = "读不出来（系统内部错误，已记入日志），请把这个文件发给系统管理员"
IN_CHUNK = 500  # SQLite allows a limited number of bound values per statement


@dataclass
class RowError:
    row: int  # as the spreadsheet shows it; 0 the file as a whole
    reason: str
    column: str = ""  # the header as the file writes it
    sheet: str | None = None

    def __str__(self) -> str:
        where = f"工作表「{self.sheet}」" if self.sheet else ""
        if self.row:
            where += f"第{self.row}行"
        if self.column and self.row:
            where += f"「{self.column}」"
        return f"{where}：{self.reason}" if where else self.reason


@dataclass
class Report:
    kind: str
    path: str
    sheet: str | None = None
    header_row: int = 1
    rows: int = 0  # data rows read (blank rows and a title above the header not counted)
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    errors: list[RowError] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    blank_rows: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def where(self) -> str:
        return self.path + (f" 工作表「{self.sheet}」" if self.sheet else "")

    def summary(self) -> str:
        label = KINDS[self.kind].label if self.kind in KINDS else self.kind
        if not self.ok:
            read = f"读到{self.rows}行，" if self.rows else ""
            return f"{label} {self.where}：{read}{len(self.errors)}处错误，没有导入任何数据"
        skipped = len(self.skipped) + self.blank_rows
        skipped_text = f"，跳过{skipped}行（见下）" if skipped else ""
        written = (
            f"写入{self.inserted + self.updated}行（新增{self.inserted}，更新{self.updated}），未变{self.unchanged}"
        )
        if self.dry_run:
            return f"{label} {self.where}：读到{self.rows}行，都没问题；导入会{written}{skipped_text}"
        return f"{label} {self.where}：读到{self.rows}行，{written}{skipped_text}"

    def details(self) -> list[str]:
        """What a clerk needs to compare the result with what Excel shows, one line each."""
        lines = []
        if self.header_row != 1:
            lines.append(f"表头在第{self.header_row}行")
        for row, why in self.skipped:
            lines.append(f"跳过第{row}行：{why}")
        if self.blank_rows:
            lines.append(f"跳过{self.blank_rows}个空行")
        if self.ignored_columns:
            lines.append(f"忽略的列：{'、'.join(self.ignored_columns)}")
        lines.extend(self.notes)
        return lines

    def lines(self) -> list[str]:
        return [self.summary(), *("  " + d for d in self.details()), *("  " + str(e) for e in self.errors)]


class ImportFailed(Exception):
    """Raised by import_files when a file has errors; the caller's transaction must roll back."""

    def __init__(self, reports: list[Report]):
        super().__init__("; ".join(r.summary() for r in reports if not r.ok))
        self.reports = reports


def _bar(iterable, total: int, desc: str, progress: bool):
    return tqdm(
        iterable, total=total, desc=desc, unit="行", disable=not progress, file=sys.stderr, mininterval=0.5, leave=False
    )


class _Cells(dict):
    """A row's cells that remember which one was read last, so a bad value is reported with its
    column."""

    last: str | None = None

    def get(self, key, default=None):
        self.last = key
        return super().get(key, default)

    def __getitem__(self, key):
        self.last = key
        return super().__getitem__(key)


def _column(titles: dict[str, str], field_name: str) -> str:
    if field_name in ("building", "house"):
        names = ("building", "unit", "room") if field_name == "house" else ("building",)
        shown = [titles[f] for f in names if f in titles] or [titles.get("address", "")]
        return "/".join(x for x in shown if x)
    return titles.get(field_name, "")


def _defaults_note(look: Lookup, titles: dict[str, str]) -> list[str]:
    notes = []
    for (label, value), rows in look.defaults.items():
        shown = "、".join(str(r) for r in rows[:10]) + ("…" if len(rows) > 10 else "")
        notes.append(f"「{label}」空着或没有这一列的{len(rows)}行（第{shown}行）按「{value}」导入")
    for consequence, rows in look.blanks.items():
        shown = "、".join(str(r) for r in rows[:10]) + ("…" if len(rows) > 10 else "")
        notes.append(f"{len(rows)}行（第{shown}行）{consequence}")
    return notes


def check_rows(
    session: Session, kind: Kind, path: Path, report: Report, progress: bool, sheet: str | None = None
) -> list[dict]:
    table = read_table(path, kind, sheet)
    report.sheet, report.header_row = table.sheet, table.header_row
    report.skipped, report.blank_rows = table.skipped, table.blank_rows
    report.ignored_columns, report.notes = table.ignored_columns, list(table.notes)
    report.rows = len(table.rows)
    for p in table.problems:
        report.errors.append(RowError(p.row, p.reason, p.column, table.sheet))
    if any(p.reason.startswith("表头缺少列") for p in table.problems):
        return []  # every row would only repeat the missing column
    look = Lookup(session)
    seen: dict[tuple, int] = {}
    records, numbers = [], []
    for number, cells in _bar(table.rows, len(table.rows), f"检查{kind.label}", progress):
        cells = _Cells(cells)
        look.row = number
        try:
            values = kind.row(cells, look)
        except BadValue as exc:
            column = _column(table.titles, exc.field or cells.last or "")
            report.errors.append(RowError(number, str(exc), column, table.sheet))
            continue
        except Exception:  # noqa: BLE001
            log.exception("import_row_failed", extra={"kind": kind.name, "row": number})
            report.errors.append(RowError(number, "这一行" + INTERNAL, "", table.sheet))
            continue
        key = kind.key_of(values)
        if key in seen:
            report.errors.append(RowError(number, f"与第{seen[key]}行重复", "", table.sheet))
            continue
        seen[key] = number
        records.append(values)
        numbers.append(number)
    if kind.check_all and report.ok:
        for index, reason in kind.check_all(records, look):
            report.errors.append(RowError(numbers[index], reason, "", table.sheet))
    report.notes.extend(_defaults_note(look, table.titles))
    report.errors.sort(key=lambda e: e.row)  # as the clerk reads the sheet, top to bottom
    return records


def _existing(session: Session, kind: Kind, records: list[dict]) -> dict[tuple, dict]:
    table, first = kind.table, kind.key[0]
    wanted = sorted({r[first] for r in records}, key=str)
    found: dict[tuple, dict] = {}
    for i in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[i : i + IN_CHUNK]
        for row in session.execute(select(table).where(table.c[first].in_(chunk))).mappings():
            found[kind.key_of(row)] = dict(row)
    return found


def write_rows(
    session: Session, kind: Kind, records: list[dict], report: Report, progress: bool, dry_run: bool = False
) -> None:
    """Upsert by the natural key; a dry run only counts what would change."""
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
    report.inserted, report.updated = len(inserts), len(updates)
    if dry_run:
        return
    bar = _bar(None, len(inserts) + len(updates), f"写入{kind.label}", progress)
    for i in range(0, len(inserts), BATCH):
        session.execute(table.insert(), inserts[i : i + BATCH])
        bar.update(len(inserts[i : i + BATCH]))
    if updates:
        columns = [c for c in records[0] if c != "id"]
        stmt = table.update().where(table.c.id == bindparam("_id")).values({c: bindparam(f"v_{c}") for c in columns})
        for i in range(0, len(updates), BATCH):
            session.execute(stmt, updates[i : i + BATCH])
            bar.update(len(updates[i : i + BATCH]))
    bar.close()
    session.flush()


def import_file(
    session: Session,
    kind_name: str,
    path: Path | str,
    progress: bool = False,
    dry_run: bool = False,
    sheet: str | None = None,
    name: str | None = None,
) -> Report:
    """Check every row, then (all good) upsert them, or on a dry run count what would change.
    Writes nothing when any row is bad. Does not commit: the caller's transaction does.
    `name` is how the file is called in the result (an upload's own name)."""
    if kind_name not in KINDS:
        raise ValueError(f"unknown kind {kind_name!r}; one of {', '.join(KINDS)}")
    kind, path = KINDS[kind_name], Path(path)
    report = Report(kind_name, name or path.name, dry_run=dry_run)
    try:
        records = check_rows(session, kind, path, report, progress, sheet)
    except FileProblem as exc:
        report.errors.append(RowError(0, str(exc), "", report.sheet))
        return report
    except Exception:  # noqa: BLE001
        log.exception("import_file_failed", extra={"kind": kind_name})
        report.errors.append(RowError(0, "这个文件" + INTERNAL, "", report.sheet))
        return report
    if report.ok:
        write_rows(session, kind, records, report, progress, dry_run)
    return report


def import_files(
    session: Session,
    files: list[tuple[str, Path]],
    progress: bool = False,
    dry_run: bool = False,
    sheet: str | None = None,
) -> list[Report]:
    """Import several files in order inside the caller's one transaction. Raises ImportFailed
    at the first file with errors, so the caller rolls all of them back."""
    reports = []
    for kind_name, path in files:
        reports.append(import_file(session, kind_name, path, progress, dry_run, sheet))
        if not reports[-1].ok:
            raise ImportFailed(reports)
    return reports


# A folder's files are recognised by name: houses.csv, 房屋.xlsx, Houses.CSV...
FILE_NAMES = {
    "communities": ("小区", "小区信息"),
    "buildings": ("楼栋", "楼栋信息"),
    "houses": ("房屋", "房产", "房屋信息", "房间"),
    "residents": ("住户", "业主", "住户信息", "业主信息"),
    "fee-standards": ("收费标准", "fee_standards", "feestandards"),
    "bills": ("账单", "应收", "应收账单"),
    "payments": ("缴费记录", "实收", "缴费", "收款记录"),
    "disclosures": ("收支公示", "公示"),
    "notices": ("通知", "公告"),
    "paid-services": ("有偿服务", "价目表", "有偿服务价目", "paid_services"),
    "contacts": ("联系人", "管家", "联系人信息"),
    "renovation-rules": ("装修规定", "装修管理规定", "renovation_rules"),
    "renovation-holidays": ("装修节假日", "节假日", "renovation_holidays"),
}
_BY_NAME = {unicodedata.normalize("NFKC", n).lower(): k for k, names in FILE_NAMES.items() for n in (k, *names)}


@dataclass
class FolderFile:
    name: str
    kind: str | None  # None: not imported
    path: Path
    reason: str = ""  # why it is not imported (or why it stops the import, when kind is set)


def scan_folder(folder: Path | str) -> list[FolderFile]:
    """Every file of the folder and what will happen to it, in the order kinds depend on each
    other; files that are not imported come last, each with the reason."""
    folder = Path(folder)
    entries: list[FolderFile] = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.is_dir():
            entries.append(FolderFile(path.name + "/", None, path, "文件夹，里面的文件不导入"))
            continue
        name, stem = path.name, unicodedata.normalize("NFKC", path.stem).strip().lower()
        kind = _BY_NAME.get(stem)
        if name.startswith(("~$", ".~")):
            entries.append(FolderFile(name, None, path, "Excel/WPS 打开文件时留下的临时文件，不导入"))
        elif name.startswith("."):
            entries.append(FolderFile(name, None, path, "隐藏文件，不导入"))
        elif kind is None:
            known = "、".join(f"{k}（{KINDS[k].label}）" for k in ORDER)
            entries.append(
                FolderFile(
                    name,
                    None,
                    path,
                    f"文件名看不出是哪类数据，没有导入（文件名应是：{known}，"
                    "加 .csv 或 .xlsx，也可以用中文名如 房屋.xlsx）",
                )
            )
        else:
            entries.append(FolderFile(name, kind, path, unsupported(name) or ""))
    by_kind: dict[str, list[FolderFile]] = {}
    for e in entries:
        if e.kind:
            by_kind.setdefault(e.kind, []).append(e)
    for kind, same in by_kind.items():
        if len(same) > 1:
            for e in same:
                e.reason = (
                    f"{KINDS[kind].label}有{len(same)}个文件（{'、'.join(x.name for x in same)}），"
                    "不知道该用哪一个：请只留一个"
                )
    order = {k: i for i, k in enumerate(ORDER)}
    return sorted(entries, key=lambda e: (e.kind is None, order.get(e.kind or "", 0), e.name))


def files_in(folder: Path | str) -> list[tuple[str, Path]]:
    """The files of a folder that hold a kind (houses.csv, 账单.xlsx...), in the order they
    depend on each other."""
    return [(e.kind, e.path) for e in scan_folder(folder) if e.kind and not e.reason]
