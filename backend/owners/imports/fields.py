"""Cell readers: each turns what staff typed into a clean value or raises BadValue with the
reason in words a manager understands."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from backend.text.addresses import Address, normalize_numbers
from backend.text.phones import extract_mobile

FEN = Decimal("0.01")
ROLES = {
    "owner": "owner",
    "业主": "owner",
    "产权人": "owner",
    "本人": "owner",
    "户主": "owner",
    "业主本人": "owner",
    "tenant": "tenant",
    "租户": "tenant",
    "租客": "tenant",
    "承租人": "tenant",
    "租住": "tenant",
    "family": "family",
    "家属": "family",
    "家庭成员": "family",
    "家人": "family",
    "亲属": "family",
    **{
        w: "family"
        for w in (
            "配偶",
            "妻子",
            "丈夫",
            "夫妻",
            "子女",
            "儿子",
            "女儿",
            "父母",
            "父亲",
            "母亲",
            "孙子",
            "孙女",
            "外孙",
            "外孙女",
            "兄弟",
            "姐妹",
            "岳父",
            "岳母",
            "公公",
            "婆婆",
            "儿媳",
            "女婿",
            "爷爷",
            "奶奶",
            "外公",
            "外婆",
            "老人",
            "保姆",
        )
    },
}


class BadValue(ValueError):
    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason)
        self.field = field  # the column it is about, when not the one read last


def text(value, label: str, required: bool = True, max_len: int = 200, lines: bool | None = None) -> str:
    # No NFKC here: it would turn Chinese punctuation （，；） into ASCII.
    value = str(value or "").replace("\u3000", " ").strip()
    if required and not value:
        raise BadValue(f"缺少{label}")
    if len(value) > max_len:
        raise BadValue(f"{label}太长（最多{max_len}个字）")
    if not (max_len >= 500 if lines is None else lines) and re.search(r"[\r\n]", value):  # a name has one line
        raise BadValue(f"{label}「{value[:30]}」里有换行，请删掉换行")
    return value


_CURRENCY = re.compile(r"^(?:人民币|RMB|CNY|[¥￥])\s*|\s*(?:元(?:整)?|RMB|CNY)$", re.IGNORECASE)
_AREA_UNITS = re.compile(r"\s*(?:平方米|平方|平米|平|㎡|m²|m2|sqm|M²|M2)$", re.IGNORECASE)


def _number(value, label: str, shown=None) -> Decimal:
    """A number as staff type it: "1,234.50" (a comma only where it separates thousands),
    "１２３", " 89.5 ". 799.6800000000001 (a float artefact) is what Excel shows: 799.68."""
    raw = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "")
    value = value if shown is None else shown
    if re.fullmatch(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw):
        raw = raw.replace(",", "")
    elif "," in raw:
        raise BadValue(f"{label}「{value}」不是数字（逗号只能用作千位分隔，如 1,234.50；小数点请用 .）")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise BadValue(f"{label}「{value}」不是数字") from None
    if not amount.is_finite():
        raise BadValue(f"{label}「{value}」不是数字")
    digits = amount.as_tuple()
    if len(digits.digits) > 15:  # Excel keeps 15 significant digits; the rest is float noise
        amount = amount.quantize(Decimal(1).scaleb(amount.adjusted() - 14), rounding=ROUND_HALF_UP).normalize()
    return amount


def money(value, label: str, required: bool = True, places: Decimal = FEN) -> Decimal | None:
    raw = _CURRENCY.sub("", unicodedata.normalize("NFKC", str(value or "")).strip()).strip()
    if not raw:
        if required:
            raise BadValue(f"缺少{label}")
        return None
    amount = _number(raw, label, value)
    if amount < 0:
        raise BadValue(f"{label}「{value}」不能是负数")
    if amount >= Decimal("1e10"):  # before quantize, which cannot hold 1e27 to the fen
        raise BadValue(f"{label}「{value}」大得不合理")
    if amount.as_tuple().exponent < places.as_tuple().exponent and amount != amount.quantize(
        places, rounding=ROUND_HALF_UP
    ):
        raise BadValue(f"{label}「{value}」小数位太多（最多{-places.as_tuple().exponent}位）")
    return abs(amount.quantize(places, rounding=ROUND_HALF_UP))  # abs: "-0" is 0.00


def area(value) -> Decimal:
    raw = _AREA_UNITS.sub("", unicodedata.normalize("NFKC", str(value or "")).strip())
    if not raw.strip():
        raise BadValue("缺少建筑面积")
    try:
        amount = money(raw, "建筑面积")
    except BadValue as exc:
        raise BadValue(str(exc).replace(f"「{raw}」", f"「{value}」")) from None
    if amount == 0 or amount > Decimal("100000"):
        raise BadValue(f"建筑面积「{value}」不合理")
    return amount


_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y%m%d",
    "%Y年%m月%d日",
    "%Y年%m月%d号",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
)


def day(value, label: str, required: bool = True) -> date | None:
    if isinstance(value, date):
        return value
    raw = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(value or "")).strip())
    if not raw:
        if required:
            raise BadValue(f"缺少{label}")
        return None
    found = _parse_day(raw)
    if found is None:
        raise BadValue(f"{label}「{value}」不是日期（请写成 2026-11-23）")
    return found


@lru_cache(maxsize=4096)  # a file repeats the same few dates thousands of times
def _parse_day(raw: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    return None


_CN_NUM = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def period(value, label: str = "账期") -> str:
    if isinstance(value, str):
        return _period_text(value, label)
    return _period(value, label)


@lru_cache(maxsize=1024)
def _period_text(value: str, label: str) -> str:
    return _period(value, label)


def _period(value, label: str) -> str:
    """One spelling per period whatever the cell holds, so a bill imported from .xlsx (where
    Excel turned 2026年7月 into a date) and again from CSV is the same bill: months become
    2026年7月, quarters 2026年第3季度, half years 2026年上半年; anything else is kept as typed."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        if value.day != 1:
            raise BadValue(f"{label}「{value.isoformat()}」是一个日期，不是账期（请写成 2026年7月 或 2026年第3季度）")
        return f"{value.year}年{value.month}月"
    raw = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value or "")))
    if not raw:
        raise BadValue(f"缺少{label}")
    m = re.fullmatch(r"(\d{4})(?:年|[-/.])?(\d{1,2})(?:月份?)?(?:(?:[-/.](?:0?1))|(?:1日|01日))?", raw)
    if m and 1 <= int(m.group(2)) <= 12 and (len(m.group(2)) == 2 or not raw[4:5].isdigit()):
        return f"{m.group(1)}年{int(m.group(2))}月"
    m = re.fullmatch(r"(\d{4})(?:年度?|[-/.])?(?:第?([一二三四1-4])季度?|Q([1-4]))", raw, re.IGNORECASE)
    if m:
        return f"{m.group(1)}年第{_CN_NUM[m.group(2) or m.group(3)]}季度"
    m = re.fullmatch(r"(\d{4})(?:年度?|[-/.])?(?:([上下])半年|H([12]))", raw, re.IGNORECASE)
    if m:
        half = m.group(2) or ("上" if m.group(3) == "1" else "下")
        return f"{m.group(1)}年{half}半年"
    m = re.fullmatch(r"(\d{4})(?:年度?)?", raw)
    if m:
        return f"{m.group(1)}年度"
    if re.fullmatch(r"[\d\s./\-年月日号]+", raw):
        raise BadValue(f"{label}「{value}」认不出来（请写成 2026年7月、2026年第3季度 或 2026年上半年）")
    return text(value, label, max_len=32)


def shown_phone(raw: str) -> str:
    """A wrong phone number shown so the clerk can find the cell, without all of it: the middle
    four digits hidden once there are enough digits to be someone's number."""
    raw = str(raw)
    positions = [i for i, ch in enumerate(raw) if ch.isdigit()]
    if len(positions) < 8:
        return raw
    hide = set(positions[3:7])
    return "".join("*" if i in hide else ch for i, ch in enumerate(raw))


def mobile(value, label: str = "手机号", required: bool = True) -> str:
    raw = str(value or "").strip()
    if not raw:
        if required:
            raise BadValue(f"缺少{label}")
        return ""
    found = extract_mobile(raw)
    if not found or len(re.sub(r"\D", "", raw)) not in (11, 13):
        raise BadValue(f"{label}「{shown_phone(raw)}」不是11位手机号")
    return found


def role(value) -> str:
    raw = re.sub(r"\s+", "", str(value or "")).lower()
    if raw not in ROLES:
        raise BadValue(f"身份「{value}」认不出来，应是 业主、租户 或 家属（或 本人、配偶、子女…）")
    return ROLES[raw]


# Buildings as the import accepts them: the whole cell must be one building, so 二期3栋, 1区3栋 or
# 3-2 are refused instead of being read as some other building (phases are not part of a
# building's code here, and guessing would write into the wrong house).
_BUILDING = (
    r"(?:(?P<zone>[A-Z]|[东西南北中])区)?(?P<num>[1-9]\d{0,2})(?:栋|幢|号楼|号栋|#楼|#|座|号|楼)?"
    r"|(?P<zl>[A-Z])(?P<znum>[1-9]\d{0,2})(?:栋|幢|号楼|#)?"
    r"|(?P<letter>[A-Z])(?:座|栋|幢)?"
)
_UNIT = r"(?P<unit>[1-9]\d?)(?:单元|门)"
_ROOM = r"(?P<room>\d{3,4}[A-Z]?)(?:室|号|房)?"
_BUILDING_RE = re.compile(_BUILDING)
_ADDRESS_WORDS = re.compile(rf"(?:{_BUILDING})-?(?:{_UNIT}-?|(?P<u2>[1-9]\d?)-)?{_ROOM}")
_ADDRESS_DASHES = re.compile(
    r"(?P<b>[A-Z]?[1-9]\d{0,2})(?:栋|幢|号楼|#)?-(?:(?P<u>[1-9]\d?)(?:单元)?-)?(?P<r>\d{3,4}[A-Z]?)(?:室|号)?"
)


@lru_cache(maxsize=4096)
def _clean_text(value: str) -> str:
    return re.sub(r"\s+", "", normalize_numbers(value))


def _clean(value) -> str:
    return _clean_text(str(value or ""))


def _building_code(m: re.Match) -> str:
    if m.group("letter"):
        return m.group("letter")
    if m.group("zl"):
        return m.group("zl") + str(int(m.group("znum")))
    return (m.group("zone") or "") + str(int(m.group("num")))


def _why_not(raw: str, value, what: str, example: str) -> BadValue:
    if "期" in raw or re.search(r"\d区", raw):
        return BadValue(
            f"{what}「{value}」里有期数或数字分区，系统里的楼栋不分期，不知道是哪一栋："
            "请把不同期分成不同的小区导入，或改成 A区5栋 这样的写法"
        )
    return BadValue(f"{what}「{value}」认不出来（请写成 {example}）")


def building(value) -> str:
    """ "3", "3栋", "8号楼", "A区5栋", "A5", "B座" → the code used everywhere: "3", "8", "A5", "B"."""
    raw = _clean(value)
    if not raw:
        raise BadValue("缺少楼栋")
    m = _BUILDING_RE.fullmatch(raw)
    if not m:
        raise _why_not(raw, value, "楼栋", "3、3栋、A区5栋")
    return _building_code(m)


def unit(value) -> str | None:
    raw = re.sub(r"(?:单元|门)$", "", _clean(value))
    if not raw:
        return None
    if not re.fullmatch(r"[1-9]\d?", raw):
        raise BadValue(f"单元「{value}」应是数字，比如 2")
    return raw


def room(value) -> str:
    raw = re.sub(r"[室号房]$", "", _clean(value))
    if not raw:
        raise BadValue("缺少房号")
    if not re.fullmatch(r"\d{3,4}[A-Z]?", raw):
        raise BadValue(f"房号「{value}」应是3到4位数字，比如 501（楼栋、单元请填在各自的列里）")
    return raw


def address(cells: dict) -> Address:
    """A house named by 楼栋/单元/房号 columns, or by one 房屋 column: 3-2-501, 3栋2单元501,
    3栋2-501 (building-unit-room, as 3-2-501 is). The whole cell must be the address."""
    if cells.get("building"):
        return Address(building(cells["building"]), unit(cells.get("unit")), room(cells.get("room")))
    if cells.get("address"):
        value = cells["address"]
        raw = _clean(value)
        m = _ADDRESS_WORDS.fullmatch(raw)
        if m:
            return Address(_building_code(m), m.group("unit") or m.group("u2"), m.group("room"))
        m = _ADDRESS_DASHES.fullmatch(raw)
        if m:
            return Address(m.group("b"), m.group("u"), m.group("r"))
        raise _why_not(raw, value, "房屋", "3-2-501 或 3栋2单元501")
    raise BadValue("缺少楼栋和房号")


def scope(value) -> str:
    """An optional building that narrows a row (a notice, a steward); "" = whole community."""
    raw = str(value or "").strip()
    if raw in ("", "全部", "全小区", "全体"):
        return ""
    return building(raw)


def flag(value, default: bool) -> bool:
    raw = str(value or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "是", "y", "yes", "true", "按面积"):
        return True
    if raw in ("0", "否", "n", "no", "false", "固定"):
        return False
    raise BadValue(f"「{value}」应填 是 或 否")
