"""Cell readers: each turns what staff typed into a clean value or raises BadValue with the
reason in words a manager understands."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from backend.text.addresses import Address, normalize_numbers, parse_address
from backend.text.phones import extract_mobile, mask

FEN = Decimal("0.01")
ROLES = {
    "owner": "owner", "业主": "owner", "产权人": "owner",
    "tenant": "tenant", "租户": "tenant", "租客": "tenant", "承租人": "tenant",
    "family": "family", "家属": "family", "家庭成员": "family", "家人": "family",
}


class BadValue(ValueError):
    pass


def text(value, label: str, required: bool = True, max_len: int = 200) -> str:
    # No NFKC here: it would turn Chinese punctuation （，；） into ASCII.
    value = str(value or "").replace("\u3000", " ").strip()
    if required and not value:
        raise BadValue(f"缺少{label}")
    if len(value) > max_len:
        raise BadValue(f"{label}太长（最多{max_len}个字）")
    return value


def money(value, label: str, required: bool = True, places: Decimal = FEN) -> Decimal | None:
    raw = unicodedata.normalize("NFKC", str(value or "")).strip()
    raw = re.sub(r"^[¥￥]|元$|,", "", raw).strip()
    if not raw:
        if required:
            raise BadValue(f"缺少{label}")
        return None
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise BadValue(f"{label}「{value}」不是数字") from None
    if not amount.is_finite() or amount < 0:
        raise BadValue(f"{label}「{value}」不能是负数")
    if amount != amount.quantize(places):
        raise BadValue(f"{label}「{value}」小数位太多（最多{-places.as_tuple().exponent}位）")
    return amount.quantize(places, rounding=ROUND_HALF_UP)


def area(value) -> Decimal:
    amount = money(str(value or "").replace("㎡", "").replace("m²", "").replace("平米", ""), "建筑面积")
    if amount == 0 or amount > Decimal("100000"):
        raise BadValue(f"建筑面积「{value}」不合理")
    return amount


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


def day(value, label: str, required: bool = True) -> date | None:
    if isinstance(value, date):
        return value
    raw = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not raw:
        if required:
            raise BadValue(f"缺少{label}")
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise BadValue(f"{label}「{value}」不是日期（请写成 2026-11-23）")


def mobile(value, label: str = "手机号", required: bool = True) -> str:
    raw = str(value or "").strip()
    if not raw:
        if required:
            raise BadValue(f"缺少{label}")
        return ""
    found = extract_mobile(raw)
    if not found or len(re.sub(r"\D", "", raw)) not in (11, 13):
        raise BadValue(f"{label}「{mask(raw)}」不是11位手机号")
    return found


def role(value) -> str:
    raw = str(value or "").strip().lower() or "owner"
    if raw not in ROLES:
        raise BadValue(f"身份「{value}」应是 业主、租户 或 家属")
    return ROLES[raw]


def building(value) -> str:
    """"3", "3栋", "8号楼", "A区5栋", "A5" → the code used everywhere: "3", "8", "A5"."""
    raw = normalize_numbers(str(value or "")).strip()
    if not raw:
        raise BadValue("缺少楼栋")
    if re.fullmatch(r"[A-Z]?[1-9]\d{0,2}|[A-Z]", raw):
        return raw
    parsed = parse_address(raw if re.search(r"[栋幢座楼#]$", raw) else raw + "栋")
    if parsed is None or parsed.room:
        raise BadValue(f"楼栋「{value}」认不出来（请写成 3、3栋、A区5栋）")
    return parsed.building


def unit(value) -> str | None:
    raw = normalize_numbers(str(value or "")).strip()
    raw = re.sub(r"单元$", "", raw)
    if not raw:
        return None
    if not re.fullmatch(r"[1-9]\d?", raw):
        raise BadValue(f"单元「{value}」应是数字，比如 2")
    return raw


def room(value) -> str:
    raw = normalize_numbers(str(value or "")).strip()
    raw = re.sub(r"[室号房]$", "", raw)
    if not raw:
        raise BadValue("缺少房号")
    if not re.fullmatch(r"\d{3,4}[A-Z]?", raw):
        raise BadValue(f"房号「{value}」应是3到4位数字，比如 501")
    return raw


def address(cells: dict) -> Address:
    """A house named by 楼栋/单元/房号 columns, or by one 房屋 column ("3-2-501")."""
    if cells.get("building"):
        return Address(building(cells["building"]), unit(cells.get("unit")), room(cells.get("room")))
    if cells.get("address"):
        parsed = parse_address(str(cells["address"]))
        if parsed is None or not parsed.room:
            raise BadValue(f"房屋「{cells['address']}」认不出来（请写成 3-2-501 或 3栋2单元501）")
        return parsed
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
