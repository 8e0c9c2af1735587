"""Reading a staff spreadsheet: CSV (UTF-8 with or without BOM, GBK as Excel on Chinese Windows
saves it, or UTF-16 "Unicode text") or .xlsx. Rows come out numbered as Excel shows them.

Nothing here trusts the file: an .xlsx's declared sheet size (`<dimension>`) is ignored (rows are
read as they are, up to a hard cap), its unpacked size is checked before anything is parsed (a
zip bomb is refused), and a CSV's quoting is checked so one stray quote cannot swallow rows.
Problems come back in words a clerk understands, never as a traceback.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Iterator

SUFFIXES = (".csv", ".xlsx")
MAX_ROWS = 200_000  # data rows in one sheet; a large estate's bills fit several times over
MAX_COLS = 200
MAX_BYTES = 100 * 2**20  # a CSV, or the XML of one worksheet once unpacked
MAX_UNPACKED = 200 * 2**20  # everything inside an .xlsx once unpacked
MAX_STRINGS = 50 * 2**20  # an .xlsx's shared strings are held in memory: keep them bounded
EXCEL_ERRORS = frozenset(
    {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!", "#GETTING_DATA"}
)
HEADER_SCAN = 10  # the header is looked for in the first rows (a title may sit above it)
# Columns staff keep for themselves; said in the result as ignored, never an error.
NOTE_COLUMNS = ("备注", "序号", "说明", "附注", "no", "no.", "#", "行号")
OLD_FORMATS = {
    ".xls": "旧版 Excel（.xls）",
    ".et": "WPS 表格（.et）",
    ".ett": "WPS 表格模板（.ett）",
    ".xlsm": "带宏的 Excel（.xlsm）",
    ".xlsb": "Excel 二进制工作簿（.xlsb）",
    ".numbers": "Numbers",
    ".ods": "OpenDocument 表格（.ods）",
}


class FileProblem(Exception):
    """The file as a whole cannot be read (wrong type, damaged, too big, no header)."""


def unsupported(name: str) -> str | None:
    """Why a file of this name cannot be read, or None when it can."""
    suffix = Path(name).suffix.lower()
    if suffix in SUFFIXES:
        return None
    if suffix in OLD_FORMATS:
        return (
            f"{OLD_FORMATS[suffix]}文件读不了：请在 Excel 或 WPS 里打开，「另存为」Excel 工作簿（.xlsx）或 CSV 后再导入"
        )
    return f"只支持 .csv 和 .xlsx 文件，不支持「{suffix or Path(name).name}」"


@dataclass
class Problem:
    row: int  # as Excel shows it; 0 = the file as a whole
    column: str  # the header as the file writes it, "" when not about one column
    reason: str


@dataclass
class Table:
    """One sheet, read and matched to a kind's columns."""

    sheet: str | None = None  # None for a CSV
    header_row: int = 1
    titles: dict[str, str] = field(default_factory=dict)  # field → header as written
    rows: list[tuple[int, dict]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (row, why), blank rows excluded
    blank_rows: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # which sheet was chosen and why


# --- cells -----------------------------------------------------------------------------------------
def _cell(value: Any) -> Any:
    """A cell as text (or a date). Excel keeps 13800001001 and 501 as floats, and 799.68 as
    799.6800000000001: 15 significant digits is what Excel itself shows."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date() if value.time() == time(0) else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        text = format(value, ".15g")
        if "e" in text:
            text = format(Decimal(text), "f")
        return text
    if isinstance(value, (time, timedelta)):
        return str(value)
    return str(value).replace("\x00", "").strip()


def header_key(text: Any) -> str:
    """ "建筑面积（m²）", "*建筑面积" and "建筑面积：" are the same column; so are "Room" and "room"."""
    text = unicodedata.normalize("NFKC", str(text or ""))
    text = re.sub(r"[(\[【][^)\]】]*[)\]】]", "", text)
    text = re.sub(r"[\s*:：_\-]+", "", text)
    return text.lower()


# --- CSV -------------------------------------------------------------------------------------------
def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise FileProblem(
            f"文件第{line}行有看不见的空字符（NUL），文件可能损坏或不是 CSV："
            "请在 Excel 或 WPS 里打开，另存为 CSV（UTF-8）或 .xlsx 后再导入"
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileProblem("文件编码无法识别，请另存为 UTF-8 的 CSV 或 .xlsx")


def _read_csv(path: Path) -> Iterator[tuple[int, list, tuple[int, int]]]:
    """(row number, cells, (first line, last line)) for every record."""
    if path.stat().st_size > MAX_BYTES:
        raise FileProblem(f"文件太大（超过 {MAX_BYTES // 2**20} MB），请分成几个文件导入")
    text = _decode(path.read_bytes())
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number, line = 0, 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            where = reader.line_num
            if "field larger" in str(exc):
                raise FileProblem(
                    f'文件第{line + 1}行起有一格内容太长，多半是少了或多了一个引号 "，'
                    "把后面的行都吞进了这一格：请检查这一行的引号"
                ) from None
            raise FileProblem(
                f'文件第{line + 1}行到第{where}行的引号 " 没有配对（一格里多了或少了一个引号），'
                "请在这一格里删掉多余的引号，或用 Excel 重新另存为 CSV"
            ) from None
        number += 1
        yield number, [v.strip() for v in cells], (line + 1, reader.line_num)  # no NUL: refused above
        line = reader.line_num


# --- xlsx ------------------------------------------------------------------------------------------
def _check_zip(path: Path) -> None:
    """Refuse what cannot be a workbook, or would unpack to too much, from the zip's directory
    alone: nothing is unpacked here (a zip bomb's declared sizes are what zipfile reads up to)."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem(
            "这个文件其实是旧版 Excel（.xls）格式，只是扩展名写成了 .xlsx："
            "请在 Excel 或 WPS 里打开，另存为 Excel 工作簿（.xlsx）或 CSV 后再导入"
        )
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise FileProblem(
            "这个文件不是有效的 Excel（.xlsx）文件：可能已损坏，或是改了扩展名的其他文件。"
            "请在 Excel 或 WPS 里打开，另存为 .xlsx 或 CSV 后再导入"
        ) from None
    if len(infos) > 10_000:
        raise FileProblem("这个 Excel 文件里的部件多得不正常，拒绝读取；请另存为新的 .xlsx 或 CSV")
    total = sum(i.file_size for i in infos)
    strings = sum(i.file_size for i in infos if i.filename.lower().endswith("sharedstrings.xml"))
    largest = max((i.file_size for i in infos), default=0)
    for size, limit, what in (
        (total, MAX_UNPACKED, "这个 Excel 文件解压后"),
        (largest, MAX_BYTES, "其中一个工作表解压后"),
        (strings, MAX_STRINGS, "其中的文字内容解压后"),
    ):
        if size > limit:
            raise FileProblem(
                f"{what}有 {size // 2**20} MB，超过上限（{limit // 2**20} MB），"
                "可能是损坏或恶意的文件；如果数据确实这么多，请分成几个文件导入"
            )


def _open_book(path: Path):
    from openpyxl import load_workbook  # loaded only for an .xlsx: start-up time of every other command

    _check_zip(path)
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (KeyError, XML errors...) for a damaged file
        raise FileProblem(
            "这个 Excel 文件打不开：可能已损坏，或是其他软件生成的不标准文件。"
            "请在 Excel 或 WPS 里打开，另存为 .xlsx 或 CSV 后再导入"
        ) from None


def _shown_decimals(book, style_id: int, cache: dict[int, int | None]) -> int | None:
    """How many decimals the cell's number format shows (0.00, #,##0.00, ¥#,##0.00 → 2), or None
    (General, percent, scientific, text...: the value is taken as it is)."""
    if style_id not in cache:
        from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE  # only for an .xlsx

        try:
            fmt_id = book._cell_styles[style_id].numFmtId
            code = (
                BUILTIN_FORMATS.get(fmt_id, "General")
                if fmt_id < BUILTIN_FORMATS_MAX_SIZE
                else book._number_formats[fmt_id - BUILTIN_FORMATS_MAX_SIZE]
            )
        except (IndexError, KeyError, AttributeError):
            code = "General"
        first = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", str(code).split(";")[0])
        m = re.search(r"[0#]\.([0#]+)", first)
        cache[style_id] = len(m.group(1)) if m and not re.search(r"[%Ee]", first) else None
    return cache[style_id]


def _as_shown(value: float, decimals: int) -> str:
    return str(Decimal(format(value, ".15g")).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def _read_sheet(ws) -> Iterator[tuple[int, list, tuple[int, int]]]:
    """Rows as they are in the sheet's XML: the declared dimension is not trusted (neither to
    pad every row to 16,384 columns nor to stop early), the caps are ours."""
    from openpyxl.worksheet._reader import WorkSheetParser  # only for an .xlsx, as above

    book = ws.parent
    try:
        with ws._get_source() as src:
            parser = WorkSheetParser(
                src,
                ws._shared_strings,
                data_only=True,
                epoch=book.epoch,
                date_formats=book._date_formats,
                timedelta_formats=book._timedelta_formats,
            )
            elements = 0
            formats: dict[int, int | None] = {}
            for number, cells in parser.parse():
                elements += 1
                values: dict[int, Any] = {}
                for c in cells:
                    raw = c["value"]
                    if (
                        isinstance(raw, float)
                        and not raw.is_integer()
                        and c["style_id"]
                        and _shown_decimals(book, c["style_id"], formats)
                        and raw == raw
                    ):
                        # 750.708 in a cell formatted 0.00 is the 750.71 the clerk sees
                        value = _as_shown(raw, _shown_decimals(book, c["style_id"], formats))
                    else:
                        value = _cell(raw)
                    if value != "":
                        values[c["column"]] = value
                if not values:
                    if elements > MAX_ROWS + 10_000:
                        raise FileProblem(f"工作表「{ws.title}」的空行多得不正常，请把数据复制到新的工作表")
                    continue
                if number > MAX_ROWS + 1:
                    raise FileProblem(
                        f"工作表「{ws.title}」超过 {MAX_ROWS} 行（第{number}行还有内容），请分成几个文件导入"
                    )
                width = max(values)
                if width > MAX_COLS:
                    raise FileProblem(
                        f"工作表「{ws.title}」第{number}行第{width}列还有内容，"
                        f"超过了 {MAX_COLS} 列：请删掉表格右边多余的内容"
                    )
                yield number, [values.get(i, "") for i in range(1, width + 1)], (number, number)
    except FileProblem:
        raise
    except Exception:
        raise FileProblem(f"工作表「{ws.title}」读不出来：文件可能已损坏，请另存为新的 .xlsx 或 CSV") from None


# --- matching a header -------------------------------------------------------------------------------
def _aliases(kind) -> dict[str, str]:
    return {header_key(a): f for f, names in kind.columns.items() for a in (f, *names)}


def _header_fit(kind, cells: list, aliases: dict[str, str]) -> tuple[bool, int]:
    found = {aliases[k] for k in (header_key(c) for c in cells if isinstance(c, str)) if k in aliases}
    return all(any(a in found for a in alts) for alts in kind.needs), len(found)


def _find_header(kind, head: list[tuple[int, list]]) -> tuple[int, int] | None:
    """Index (in head) of the header row: the first row with every needed column, else the row
    that names most columns."""
    aliases = _aliases(kind)
    best, best_score = None, 0
    for i, (_, cells) in enumerate(head[:HEADER_SCAN]):
        complete, score = _header_fit(kind, cells, aliases)
        if complete:
            return i, score
        if score > best_score:
            best, best_score = i, score
    return (best, best_score) if best is not None else None


def available_columns(kind) -> str:
    return "、".join(names[0] if names else f for f, names in kind.columns.items())


def _match_header(kind, table: Table, cells: list, used_columns: set[int]) -> dict[str, int]:
    aliases = _aliases(kind)
    positions: dict[str, int] = {}
    notes = {header_key(n) for n in NOTE_COLUMNS}
    row = table.header_row
    for i, title in enumerate(cells):
        title_text = str(title).strip() if not isinstance(title, date) else title.isoformat()
        key = header_key(title_text)
        if not key:
            if i in used_columns:
                table.problems.append(
                    Problem(row, f"第{i + 1}列", f"第{i + 1}列没有列名，但下面有内容：请填上列名，或删掉这一列")
                )
            continue
        found = aliases.get(key)
        if found is None:
            if key in notes:
                table.ignored_columns.append(title_text)
            else:
                table.problems.append(
                    Problem(
                        row,
                        title_text,
                        f"不认识的列「{title_text}」，"
                        f"{kind.label}可用的列名有：{available_columns(kind)}"
                        "（备注、序号等列会被忽略）",
                    )
                )
            continue
        if found in positions:
            other = table.titles[found]
            table.problems.append(Problem(row, title_text, f"「{other}」和「{title_text}」是同一项，只能留一列"))
            continue
        positions[found] = i
        table.titles[found] = title_text
    missing = [alts for alts in kind.needs if not any(a in positions for a in alts)]
    if missing:
        names = "、".join("或".join(f"「{kind.columns[a][0]}」" for a in alts) for alts in missing)
        table.problems.append(Problem(row, "", f"表头缺少列：{names}"))
    return positions


def _looks_like_rows(text: str, columns: int) -> bool:
    return any(line.count(",") + line.count("\t") >= max(columns - 2, 1) for line in text.splitlines()[1:])


def _table(kind, name: str | None, records: Iterator) -> Table:
    table = Table(sheet=name)
    head: list[tuple[int, list, tuple[int, int]]] = []
    for record in records:
        if any(v != "" for v in record[1]):
            head.append(record)
        if len(head) >= HEADER_SCAN:
            break
    if not head:
        raise FileProblem("文件是空的：第1行应是表头" if name is None else f"工作表「{name}」是空的")
    found = _find_header(kind, [(n, c) for n, c, _ in head])
    if found is None:
        raise FileProblem(
            f"找不到表头：第1行应是列名（{kind.label}需要的列：{available_columns(kind)}）。"
            f"现在第1行是：{'、'.join(str(v) for v in head[0][1] if v != '')[:200]}"
        )
    index, _ = found
    header_number, header, _ = head[index]
    table.header_row = header_number
    for number, cells, _ in head[:index]:
        filled = [v for v in cells if v != ""]
        if len(filled) > 2:
            table.problems.append(Problem(number, "", "表头上面这一行像是数据，不是标题：表头应在数据的最上面"))
        else:
            table.skipped.append((number, f"表头上面的标题「{str(filled[0])[:30]}」"))
    data: list[tuple[int, list, tuple[int, int]]] = []
    used: set[int] = set()

    def rows():
        yield from head[index + 1 :]
        yield from records

    untitled = [i for i, t in enumerate(header) if not header_key(t)]
    previous = header_number
    for number, cells, span in rows():
        table.blank_rows += max(number - previous - 1, 0)  # rows an .xlsx leaves out are blank
        previous = number
        if not any(cells):  # cells are text ("" when empty) or dates
            table.blank_rows += 1
            continue
        for i in untitled:
            if i < len(cells) and cells[i] != "":
                used.add(i)
        data.append((number, cells, span))
        if len(data) > MAX_ROWS:
            raise FileProblem(f"超过 {MAX_ROWS} 行，请分成几个文件导入")
    positions = _match_header(kind, table, header, used)
    multiline = getattr(kind, "multiline", ())
    width = len(header)
    names = {i: f for f, i in positions.items()}
    for number, cells, span in data:
        values = {f: cells[i] if i < len(cells) else "" for f, i in positions.items()}
        table.rows.append((number, values))
        for f, v in values.items():
            if v in EXCEL_ERRORS:  # a formula Excel could not work out: never stored as a value
                table.problems.append(
                    Problem(
                        number,
                        table.titles[f],
                        (f"「{table.titles[f]}」是 Excel 的错误值 {v}（这一格的公式算不出结果），请改正后再导入"),
                    )
                )
        extra = [(i, v) for i, v in enumerate(cells[width:], start=width) if v != ""] if len(cells) > width else None
        if extra:  # "89,5" unquoted in a CSV is two cells: never drop the second one silently
            i, v = extra[0]
            table.problems.append(
                Problem(
                    number,
                    f"第{i + 1}列",
                    (
                        f"这一行比表头多出了内容（第{i + 1}列「{str(v)[:30]}」），表头没有这一列："
                        "多半是某一格里的逗号把它分成了两格（比如 89,5），请检查这一行"
                    ),
                )
            )
        if span[1] > span[0]:  # a CSV record over several lines: a quoted cell with line breaks
            for i, v in enumerate(cells):
                if not (isinstance(v, str) and "\n" in v):
                    continue
                f = names.get(i)
                # A long text may hold line breaks; no cell may hold what looks like more rows.
                if (f is not None and f not in multiline) or _looks_like_rows(v, width):
                    title = table.titles.get(f) or (str(header[i]) if i < len(header) else f"第{i + 1}列")
                    table.problems.append(
                        Problem(
                            number,
                            title,
                            (
                                f"「{title}」这一格跨了文件的第{span[0]}到第{span[1]}行，"
                                '多半是多了一个引号 "，把后面的行吞了进来：请删掉多余的引号'
                            ),
                        )
                    )
                    break
    return table


# --- the sheet to read -----------------------------------------------------------------------------------
def _xlsx_table(kind, path: Path, sheet: str | None) -> Table:
    book = _open_book(path)
    try:
        sheets = list(book.worksheets)
        names = [ws.title for ws in sheets]
        listing = "、".join(f"「{n}」" for n in names)
        if sheet:
            wanted = [ws for ws in sheets if ws.title.strip() == sheet.strip()]
            if not wanted:
                raise FileProblem(f"没有叫「{sheet}」的工作表；这个文件里有：{listing}")
            table = _table(kind, wanted[0].title, _read_sheet(wanted[0]))
            if len(sheets) > 1:
                table.notes.append(f"按指定读了工作表「{wanted[0].title}」（文件里共有：{listing}）")
            return table
        visible = [ws for ws in sheets if getattr(ws, "sheet_state", "visible") == "visible"]
        if len(sheets) == 1:
            return _table(kind, sheets[0].title, _read_sheet(sheets[0]))
        fits, reasons = [], []
        for ws in visible:
            try:
                table = _table(kind, ws.title, _head_only(_read_sheet(ws)))
            except FileProblem as exc:
                reasons.append(f"「{ws.title}」：{exc}")
                continue
            if not any(p.reason.startswith("表头缺少列") for p in table.problems):
                fits.append(ws)
            else:
                reasons.append(f"「{ws.title}」：表头对不上{kind.label}")
        if len(fits) > 1:
            raise FileProblem(
                f"这个文件有多个工作表都像{kind.label}："
                f"{'、'.join('「' + ws.title + '」' for ws in fits)}，不知道该导入哪一个。"
                "请指定工作表（命令行用 --sheet 工作表名，网页上填写「工作表」），"
                "或把不用的工作表删掉"
            )
        if not fits:
            raise FileProblem(
                f"这个文件的工作表里没有一个的表头对得上{kind.label}（{'；'.join(reasons)}）。"
                f"{kind.label}需要的列：{available_columns(kind)}"
            )
        table = _table(kind, fits[0].title, _read_sheet(fits[0]))
        hidden = [ws.title for ws in sheets if ws not in visible]
        table.notes.append(
            f"文件里共有工作表：{listing}，只有「{fits[0].title}」的表头对得上{kind.label}，读的是它"
            + (f"（隐藏的工作表 {'、'.join(hidden)} 没有看）" if hidden else "")
        )
        return table
    finally:
        book.close()


def _head_only(records: Iterator, limit: int = HEADER_SCAN + 1) -> Iterator:
    for i, record in enumerate(records):
        if i >= limit:
            return
        yield record


def read_table(path: Path | str, kind, sheet: str | None = None) -> Table:
    """The sheet of `path` that holds `kind` (a CSV has one), its header matched to the kind's
    columns (found in the first rows if a title sits above it) and its non-blank rows as
    [(row number, {field: cell})]. Whole-file problems raise FileProblem; problems of single
    cells or columns are listed in table.problems, all of them."""
    path = Path(path)
    reason = unsupported(path.name)
    if reason:
        raise FileProblem(reason)
    if not path.is_file():
        raise FileProblem(f"找不到文件 {path}")
    if path.suffix.lower() == ".xlsx":
        return _xlsx_table(kind, path, sheet)
    if sheet:
        raise FileProblem("CSV 文件只有一个表，不能指定工作表（--sheet）")
    return _table(kind, None, _read_csv(path))
