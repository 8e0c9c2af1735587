"""Reading a staff spreadsheet: CSV (UTF-8 with or without BOM, or GBK as Excel on Chinese Windows
saves it) or .xlsx. Rows come out numbered as the spreadsheet shows them (header = row 1)."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

SUFFIXES = (".csv", ".xlsx")


class FileProblem(Exception):
    """The file as a whole cannot be read (wrong type, no header, missing columns)."""


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps 13800001001 and 501 as floats
    return str(value).strip()


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileProblem("文件编码无法识别，请另存为 UTF-8 的 CSV 或 .xlsx")


def _read_csv(path: Path) -> list[list[Any]]:
    text = _decode(path.read_bytes())
    return [[_cell(v) for v in row] for row in csv.reader(io.StringIO(text))]


def _read_xlsx(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook  # loaded only for an .xlsx: start-up time of every other command

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a damaged or non-xlsx file
        raise FileProblem(f"无法打开 Excel 文件：{exc}") from exc
    try:
        sheet = book.worksheets[0]
        return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def header_key(text: Any) -> str:
    """"建筑面积（m²）" and "建筑面积" are the same column; so are "Room" and "room"."""
    text = re.sub(r"[（(][^)）]*[)）]", "", str(text or ""))
    return re.sub(r"\s+", "", text).lower()


def read_rows(path: Path, columns: dict[str, tuple[str, ...]]) -> tuple[set[str], list[tuple[int, dict]]]:
    """The fields the header names, and [(row number, {field: cell})] for every non-empty row;
    `columns` maps each field to the headers it may have. Unknown columns are ignored (staff
    keep notes in spreadsheets)."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise FileProblem(f"只支持 .csv 和 .xlsx 文件，不支持「{path.suffix or path.name}」")
    if not path.exists():
        raise FileProblem(f"找不到文件 {path}")
    table = _read_xlsx(path) if path.suffix.lower() == ".xlsx" else _read_csv(path)
    if not table:
        raise FileProblem("文件是空的，第1行应是表头")
    aliases = {header_key(a): field for field, names in columns.items() for a in (field, *names)}
    positions: dict[str, int] = {}
    for i, title in enumerate(table[0]):
        field = aliases.get(header_key(title))
        if field and field not in positions:
            positions[field] = i
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if all(c == "" for c in cells):
            continue
        rows.append((number, {f: cells[i] if i < len(cells) else "" for f, i in positions.items()}))
    return set(positions), rows
