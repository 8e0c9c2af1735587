"""Hours of the day as staff write them in a rules sheet: 8:00-12:00，14:00-18:00 / 8点至12点、
14点到18点 / 8-12,14-18. Stored as "08:00-12:00,14:00-18:00"; "" means never."""

from __future__ import annotations

import re
import unicodedata
from datetime import time

NEVER_WORDS = re.compile(r"^(不允许|不得|禁止|不可以?|不能|无|否|不施工|停止施工|不准)")
_CLOCK = r"(\d{1,2})(?:[:：.点时](\d{1,2})?分?)?"
_RANGE = re.compile(rf"^{_CLOCK}\s*(?:-|~|至|到|—|–)\s*{_CLOCK}$")


class BadHours(ValueError):
    """The text is not a list of hours; the message says why, in Chinese."""


def _clock(hour: str, minute: str | None) -> time:
    h, m = int(hour), int(minute or 0)
    if h == 24 and m == 0:
        return time(23, 59)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise BadHours(f"「{hour}:{minute or '00'}」不是有效的时间")
    return time(h, m)


def parse(raw: str) -> list[tuple[time, time]]:
    """The ranges of a text; [] for "不允许" and its kin. Raises BadHours."""
    text = unicodedata.normalize("NFKC", str(raw or "")).strip()
    if not text or NEVER_WORDS.match(text):
        return []
    ranges = []
    for part in re.split(r"[,，、;；/\s]+|和|及", text):
        if not part:
            continue
        afternoon = part.startswith(("下午", "晚上"))
        part = re.sub(r"^(上午|下午|中午|晚上|早上)", "", part)
        m = _RANGE.match(part)
        if not m:
            raise BadHours(f"「{part}」认不出来，应写成 8:00-12:00（几段用逗号隔开）")
        start, end = _clock(m.group(1), m.group(2)), _clock(m.group(3), m.group(4))
        if afternoon and start.hour < 12:
            start, end = time(start.hour + 12, start.minute), time(min(end.hour + 12, 23), end.minute)
        if end <= start:
            raise BadHours(f"「{part}」结束时间不晚于开始时间")
        ranges.append((start, end))
    ranges.sort()
    for (_, end), (start, _) in zip(ranges, ranges[1:]):
        if start < end:
            raise BadHours(f"「{text}」里的时间段有重叠")
    return ranges


def stored(ranges: list[tuple[time, time]]) -> str:
    return ",".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in ranges)


def label(ranges: list[tuple[time, time]]) -> str:
    """As an owner reads it: 8:00-12:00、14:00-18:00."""
    return "、".join(f"{a.hour}:{a:%M}-{b.hour}:{b:%M}" for a, b in ranges)


def contains(ranges: list[tuple[time, time]], at: time) -> bool:
    return any(a <= at < b for a, b in ranges)
