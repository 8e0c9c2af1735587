"""A stretch of days as an owner says it: 12月7日到12月31日 / 12.7-12.31 / 2026-12-07至2027-01-20 /
下周一开始，干一个月 / 明天开始做45天. Beijing dates; a date without a year is the next one to come."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from backend.text.addresses import cn_numeral_to_digits

_DATE = re.compile(r"(?:(?P<y>\d{4})\s*[-/.年]\s*)?(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?")
_RELATIVE = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2}
_WEEKDAY = re.compile(r"(?P<next>下个?)?(?:周|星期|礼拜)(?P<d>[一二三四五六日天1-7])")
_DURATION = re.compile(r"(?P<n>\d+|[一二两三四五六七八九十]+|半)\s*(?P<u>天|日|周|个?星期|个?月)")
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}


@dataclass(frozen=True)
class DateSpan:
    start: date | None
    end: date | None

    @property
    def label(self) -> str:
        def day(d: date) -> str:
            return f"{d.year}年{d.month}月{d.day}日" if d.year != self.start.year else f"{d.month}月{d.day}日"

        if self.start and self.end:
            return f"{self.start.month}月{self.start.day}日 至 {day(self.end)}"
        return f"{self.start.month}月{self.start.day}日 起" if self.start else ""


def _dates(text: str, today: date) -> list[tuple[int, int, date]]:
    found = []
    for m in _DATE.finditer(text):
        month, d = int(m.group("m")), int(m.group("d"))
        year = int(m.group("y")) if m.group("y") else today.year
        try:
            value = date(year, month, d)
        except ValueError:
            continue
        if not m.group("y") and value < today - timedelta(days=30):
            value = value.replace(year=year + 1)
        found.append((m.start(), m.end(), value))
    for word, offset in _RELATIVE.items():
        for m in re.finditer(word, text):
            found.append((m.start(), m.end(), today + timedelta(days=offset)))
    for m in _WEEKDAY.finditer(text):
        wanted = _WEEKDAYS.get(m.group("d"), int(m.group("d")) - 1 if m.group("d").isdigit() else 0)
        monday = today - timedelta(days=today.weekday())
        value = monday + timedelta(days=wanted + (7 if m.group("next") else 0))
        if value < today:
            value += timedelta(days=7)
        found.append((m.start(), m.end(), value))
    return sorted(found)


def _duration(text: str) -> timedelta | None:
    m = _DURATION.search(text)
    if not m:
        return None
    raw = m.group("n")
    n = 0.5 if raw == "半" else int(raw) if raw.isdigit() else int(cn_numeral_to_digits(raw.replace("两", "二")))
    unit = m.group("u")
    days = n * (30 if unit.endswith("月") else 7 if unit in ("周",) or unit.endswith("星期") else 1)
    return timedelta(days=max(int(days), 1))


def parse_span(text: str, today: date) -> DateSpan | None:
    """The start and end (inclusive) named in `text`, or None when it names no day. A second
    date, or a duration after the start (干一个月, 45天), gives the end; else it is None."""
    text = re.sub(r"\s+", "", text or "")
    found = _dates(text, today)
    if not found:
        return None
    # 12月7日-31日: the end written as a bare day of the same month.
    if len(found) == 1:
        _, after, start = found[0]
        rest = text[after:]
        tail = re.match(r"(?:到|至|-|~|—)(\d{1,2})[日号]", rest)  # 12月7日-31日: the end in the same month
        if tail:
            try:
                return DateSpan(start, start.replace(day=int(tail.group(1))))
            except ValueError:
                pass
        length = _duration(rest)
        return DateSpan(start, start + length - timedelta(days=1) if length else None)
    return DateSpan(found[0][2], found[1][2])
