"""Addresses and places as owners type them: 3栋2单元501, 3-2-501, 八号楼702室, 地下车库B2...

parse_address() normalises the text (fullwidth → ASCII, dash variants → "-", Chinese numerals
next to an address word → digits), blanks out what only looks like an address (phone numbers,
dates, times, money, ticket numbers) and then matches two families of spellings: with words
(栋/幢/号楼/座 + 单元/门 + 室) and with separators (3-2-501, 12-1102).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from backend.text.phones import MOBILE_RE

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "○": 0,
    "一": 1,
    "幺": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_CHARS = "".join(_CN_DIGITS) + "".join(_CN_UNITS)
_DASHES = "‐‑‒–—―−－﹣"

# Chinese numerals are converted only next to these words, so 一直/一下 stay as they are.
_CN_BEFORE = re.compile(rf"[{_CN_CHARS}]+(?=\s*(?:栋|幢|座|号|楼|单元|门|室|层|区|月|日|点|时|半|元|块|#))")
# Digit-by-digit room numbers after an address word: 二单元五零一, 三栋一一零二.
_CN_AFTER = re.compile(r"(?:(?<=单元)|(?<=[栋幢座门楼]))(\s*)([零〇○一幺二两三四五六七八九]{3,4})")


def cn_numeral_to_digits(s: str) -> str:
    """ "十二" → "12", "一百零一" → "101", "五零一" → "501" (digit by digit, zeros kept)."""
    if not any(ch in _CN_UNITS for ch in s):
        return "".join(str(_CN_DIGITS[ch]) for ch in s)
    total, current = 0, 0
    for ch in s:
        if ch in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[ch]
            current = 0
        else:
            current = _CN_DIGITS[ch]
    return str(total + current)


def normalize_numbers(text: str) -> str:
    """Fullwidth → ASCII, upper-case Latin letters, one kind of dash, Chinese numerals → digits
    where they count something (楼, 单元, 点, 月...)."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate({ord(d): "-" for d in _DASHES}).upper()
    text = _CN_BEFORE.sub(lambda m: cn_numeral_to_digits(m.group()), text)
    return _CN_AFTER.sub(lambda m: m.group(1) + cn_numeral_to_digits(m.group(2)), text)


_MASK = "¤"
_NOT_ADDRESS = [
    MOBILE_RE,
    re.compile(r"[A-Z]{2}\d{6,}"),  # ticket numbers: BX261123001
    re.compile(r"\d{7,}"),  # landlines, ids, anything too long to be a room
    re.compile(r"[¥$]\s*\d+(?:\.\d+)?|\d+(?:\.\d+)?\s*(?:元|块|万|毛|角)"),
    re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}|\d{2,4}\s*年"),
    re.compile(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{4}"),
    re.compile(r"\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?"),
    re.compile(r"(?<!\d)\d{1,2}\s*[日号](?!\s*(?:楼|栋|#))"),
    re.compile(r"\d{1,2}\s*:\s*\d{2}|\d{1,2}\s*[点时](?:\s*(?:半|\d{1,2}\s*分?))?"),
    re.compile(r"\d+(?:\.\d+)?\s*(?:天|小时|分钟|次|个|%|度|平米?|米|人|岁|年)"),
]

_WORDY = re.compile(
    r"""
    (?<![A-Z0-9])
    (?:
        (?:(?P<zone>[A-Z]|[东西南北中])区\s*)?
        (?P<zl>[A-Z])?(?P<bnum>[1-9]\d{0,2})\s*
        (?:栋|幢|号楼|号栋|\#楼|\#|座|楼(?=\s*[1-9]\d?\s*(?:单元|门)))
      | (?P<bletter>[A-Z])\s*(?:座|栋|幢)
    )
    (?:\s*[-,，]?\s*(?P<unit>[1-9]\d?)\s*(?:单元|门(?![口禁卫面窗铃锁])))?
    (?:\s*[-,，]?\s*(?:[1-9]\d?\s*[楼层]\s*)?(?P<room>\d{3,4})(?!\d)(?:\s*[室号房])?)?
    """,
    re.VERBOSE,
)
_SEPARATED = re.compile(
    r"""
    (?<![0-9A-Z.:/\-¤])
    (?P<building>[A-Z]?[1-9]\d{0,2})
    (?:\s*[-/]\s*(?P<unit>[1-9]\d?))?
    \s*[-/]\s*(?P<room>\d{3,4})(?:\s*[室号])?
    (?![0-9.:/\-])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Address:
    building: str  # "3", "12", "A5" (zone A, building 5), "B" (B座)
    unit: str | None = None
    room: str | None = None

    @property
    def label(self) -> str:
        m = re.fullmatch(r"([A-Z]|[东西南北中])?(\d+)", self.building)
        if m and m.group(1):
            head = f"{m.group(1)}区{m.group(2)}栋"
        elif m:
            head = f"{m.group(2)}栋"
        else:
            head = f"{self.building}座"
        return head + (f"{self.unit}单元" if self.unit else "") + (self.room or "")


def _masked(text: str) -> str:
    for pattern in _NOT_ADDRESS:
        text = pattern.sub(lambda m: _MASK * len(m.group()), text)
    return text


def _candidates(text: str):
    for m in _WORDY.finditer(text):
        if m.group("bletter"):
            building = m.group("bletter")
        else:
            building = (m.group("zone") or m.group("zl") or "") + str(int(m.group("bnum")))
        yield m.start(), Address(building, m.group("unit"), m.group("room"))
    for m in _SEPARATED.finditer(text):
        if m.group("building")[0].isalpha() and m.group("unit") is None:
            continue  # "B2-101": too close to a garage level or a part number
        if m.group("unit") is None and ("/" in m.group() or len(m.group("building")) > 2):
            continue  # 12/1102 reads as a date, 300-500 as a range: two parts need 12-1102
        yield m.start(), Address(m.group("building"), m.group("unit"), m.group("room"))


def strip_address(text: str) -> str:
    """The text without the addresses in it ("3栋2单元501厨房漏水" -> "厨房漏水"), for quoting
    what an owner reported back to them without repeating where."""
    if not text:
        return text
    masked = _masked(text)
    spans = [m.span() for m in _WORDY.finditer(masked)] + [m.span() for m in _SEPARATED.finditer(masked)]
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + text[end:]
    return text


def parse_address(text: str) -> Address | None:
    """The most complete address in the text (a room beats a bare building), earliest first."""
    if not text:
        return None
    found = list(_candidates(_masked(normalize_numbers(text))))
    if not found:
        return None
    _, best = min(found, key=lambda c: (-(bool(c[1].room) * 2 + bool(c[1].unit)), c[0]))
    return best


# --- places ----------------------------------------------------------------------------------

PLACES: tuple[str, ...] = (
    "厨房",
    "卫生间",
    "阳台",
    "客厅",
    "卧室",
    "书房",
    "餐厅",
    "楼道",
    "电梯间",
    "电梯",
    "地下车库",
    "停车场",
    "东门",
    "南门",
    "西门",
    "北门",
    "大门",
    "大堂",
    "楼顶",
    "小区花园",
    "单元门口",
    "垃圾站",
    "外墙",
    "消防通道",
)
_HOME_PLACES = frozenset({"厨房", "卫生间", "阳台", "客厅", "卧室", "书房", "餐厅"})

_GARAGE = re.compile(
    r"(?:[B负]\s*(?P<l1>[1-3])\s*层?|地下\s*(?P<l2>[1-3])\s*层)\s*的?\s*(?:地下)?(?:车库|停车场|地库)"
    r"|(?:地下车库|地下停车场|地库|车库)(?:\s*(?:[B负]\s*(?P<l3>[1-3])|(?:地下)?(?P<l4>[1-3])\s*层))?"
)
_SYNONYMS: list[tuple[str, str]] = [
    ("厨房|灶台", "厨房"),
    ("卫生间|厕所|洗手间|浴室|淋浴间|主卫|客卫", "卫生间"),
    ("阳台|露台", "阳台"),
    ("客厅", "客厅"),
    ("卧室|主卧|次卧|卧房", "卧室"),
    ("书房", "书房"),
    ("餐厅", "餐厅"),
    ("楼道|楼梯间|楼梯|走廊|过道", "楼道"),
    ("电梯间|电梯厅|候梯厅", "电梯间"),
    ("电梯", "电梯"),
    ("停车场|地面车位", "停车场"),
    ("东大?门", "东门"),
    ("南大?门", "南门"),
    ("西大?门", "西门"),
    ("北大?门", "北门"),
    ("小区大门|正门|大门", "大门"),
    ("大堂|大厅", "大堂"),
    ("楼顶|天台|屋顶|顶楼", "楼顶"),
    ("小区花园|花园|绿化带|草坪|绿地", "小区花园"),
    ("单元门口|单元门|单元楼下", "单元门口"),
    ("垃圾站|垃圾房|垃圾桶|垃圾点", "垃圾站"),
    ("外墙", "外墙"),
    ("消防通道", "消防通道"),
]
_PLACE_RES = [(re.compile(p), name) for p, name in _SYNONYMS]


def find_place(text: str) -> str | None:
    """The first place named in the text, canonical: 厕所 → 卫生间, 车库负二层 → 地下车库B2."""
    if not text:
        return None
    text = normalize_numbers(text)
    hits: list[tuple[int, int, str]] = []
    for m in _GARAGE.finditer(text):
        level = next((g for g in m.group("l1", "l2", "l3", "l4") if g), None)
        hits.append((m.start(), -len(m.group()), "地下车库" + (f"B{level}" if level else "")))
    for pattern, name in _PLACE_RES:
        for m in pattern.finditer(text):
            hits.append((m.start(), -len(m.group()), name))
    return min(hits)[2] if hits else None


def is_shared_area(place: str) -> bool:
    """Shared parts are the company's to maintain; rooms in the home are the owner's."""
    if not place:
        return False
    return place.startswith("地下车库") or (place in PLACES and place not in _HOME_PLACES)
