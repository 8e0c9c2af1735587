"""When the owner wants staff to come: 明天上午, 周六下午三点以后, 11月25号, 随时, 尽快.

Times are Beijing time. Owners speak in working hours, so a bare 3点 means 15:00 and a day with
no time means from 09:00.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from backend.core.clock import SHANGHAI
from backend.text.addresses import cn_numeral_to_digits, normalize_numbers


@dataclass(frozen=True)
class PreferredTime:
    label: str  # shown back to the owner: "明天上午", "11月24日 15:00以后", "尽快"
    start: datetime | None  # aware Beijing time; None when vague (随时, 尽快)


ANYTIME = "随时都可以"
ASAP = "尽快"

_ANYTIME_RE = re.compile(r"随时|都可以|都行|什么时候都|啥时候都|任何时[间候]|哪天都")
_ASAP_RE = re.compile(r"尽快|越快越好|越早越好|马上|立刻|立即|赶紧|赶快|现在就|尽早|快点来")

_RELATIVE_DAYS = [  # longest first: 大后天 before 后天
    (re.compile(r"大后天"), 3, "大后天", None),
    (re.compile(r"后天"), 2, "后天", None),
    (re.compile(r"今晚"), 0, "今天", "晚上"),
    (re.compile(r"明早"), 1, "明天", "上午"),
    (re.compile(r"明晚"), 1, "明天", "晚上"),
    (re.compile(r"今天|今日|今儿"), 0, "今天", None),
    (re.compile(r"明天|明日|明儿"), 1, "明天", None),
]
_WEEKDAY_RE = re.compile(
    r"(?P<which>下个?|这个?|本)?(?:周|星期|礼拜)(?P<day>[一二三四五六日天七1-7])|(?P<weekend>周末)"
)
_WEEKDAYS = {c: i for i, c in enumerate("一二三四五六")} | {"日": 6, "天": 6, "七": 6}
_WEEKDAYS |= {str(i + 1): i for i in range(7)}
_WEEKDAY_LABELS = "一二三四五六日"

_MONTH_DAY_RE = re.compile(r"(?<!\d)(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]")
_DAY_RE = re.compile(r"(?<![\d月])(?P<d>\d{1,2})\s*[日号](?!\s*(?:楼|栋|幢|#|单元|门))")

# (pattern, label, default hour, add 12 to a 1..11 o'clock)
_PERIODS = [
    (re.compile(r"上午|早上|早晨|早(?=\s*\d)"), "上午", 9, False),
    (re.compile(r"中午"), "中午", 12, None),
    (re.compile(r"下午"), "下午", 14, True),
    (re.compile(r"傍晚"), "傍晚", 17, True),
    (re.compile(r"晚上|晚间|晚(?=\s*\d)"), "晚上", 19, True),
]
_PERIOD_END = {"上午": 12, "中午": 14, "下午": 18, "傍晚": 19, "晚上": 22}

_CN_MINUTES = "零一二两三四五六七八九十"
_CLOCK_RE = re.compile(
    r"(?<![\d:])(?P<h>\d{1,2})\s*(?:"
    r"[:：]\s*(?P<mm>\d{2})"
    r"|点(?!点|儿)\s*(?:(?P<half>半)|(?P<q1>一刻)|(?P<q3>三刻)"
    rf"|(?P<min>\d{{1,2}}|[{_CN_MINUTES}]{{1,3}})\s*分?)?"
    r"|时)"
    r"(?P<suffix>\s*(?:以后|之后|后|以前|之前|前|左右))?"
)
_SUFFIX_AFTER_PERIOD = re.compile(r"\s*(以后|之后|以前|之前)")
# "快一点", "好一点": 一点 meaning "a bit", not one o'clock.
_A_BIT_BEFORE = set("快好慢早晚大小多少有差点")


def _suffix(raw: str | None) -> str:
    raw = (raw or "").strip()
    if raw in ("以后", "之后", "后"):
        return "以后"
    if raw in ("以前", "之前", "前"):
        return "以前"
    return raw


def _find_day(text: str, today: date) -> tuple[date, str, str | None, tuple[int, int]] | None:
    """(date, label, implied period, span) for the first day expression, or None."""
    for pattern, offset, label, period in _RELATIVE_DAYS:
        m = pattern.search(text)
        if m:
            return today + timedelta(days=offset), label, period, m.span()
    m = _WEEKDAY_RE.search(text)
    if m:
        wd = 5 if m.group("weekend") else _WEEKDAYS[m.group("day")]
        which = m.group("which") or ""
        label = "周末" if m.group("weekend") else f"周{_WEEKDAY_LABELS[wd]}"
        if which.startswith("下"):
            day = today - timedelta(days=today.weekday()) + timedelta(days=7 + wd)
            return day, "下" + label, None, m.span()
        if which:  # 这周/本周: this calendar week, even if that day has passed
            day = today - timedelta(days=today.weekday()) + timedelta(days=wd)
            return day, label, None, m.span()
        return today + timedelta(days=(wd - today.weekday()) % 7), label, None, m.span()
    return None


def _find_date(text: str, today: date) -> tuple[date, str] | None:
    m = _MONTH_DAY_RE.search(text)
    if m:
        month, day = int(m.group("m")), int(m.group("d"))
        for year in (today.year, today.year + 1):
            try:
                d = date(year, month, day)
            except ValueError:
                return None
            if d >= today:
                return d, f"{month}月{day}日"
        return None
    m = _DAY_RE.search(text)
    if m:
        day = int(m.group("d"))
        year, month = today.year, today.month
        for _ in range(3):  # this month, else the next one that has that day
            try:
                d = date(year, month, day)
                if d >= today:
                    return d, f"{month}月{day}日"
            except ValueError:
                pass
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _find_clock(text: str) -> tuple[int, int, str] | None:
    for m in _CLOCK_RE.finditer(text):
        hour = int(m.group("h"))
        if hour == 1 and m.start() > 0 and text[m.start() - 1] in _A_BIT_BEFORE:
            continue
        if hour > 24:
            continue
        minute = 0
        if m.group("mm"):
            minute = int(m.group("mm"))
        elif m.group("half"):
            minute = 30
        elif m.group("q1"):
            minute = 15
        elif m.group("q3"):
            minute = 45
        elif m.group("min"):
            raw = m.group("min")
            minute = int(raw if raw.isdigit() else cn_numeral_to_digits(raw))
        if minute > 59:
            continue
        return hour % 24, minute, _suffix(m.group("suffix"))
    return None


def _to_24h(hour: int, period: str | None, pm: bool | None) -> int:
    if period == "中午":
        return hour + 12 if 1 <= hour <= 5 else hour
    if pm and 1 <= hour < 12:
        return hour + 12
    if period is None and 1 <= hour <= 6:  # "3点" to a repair desk means the afternoon
        return hour + 12
    return hour


def parse_preferred_time(text: str, now: datetime) -> PreferredTime | None:
    if not text:
        return None
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    local_now = now.astimezone(SHANGHAI)
    today = local_now.date()
    raw = unicodedata.normalize("NFKC", text)

    day_label, day, period = None, None, None
    found_day = _find_day(raw, today)
    if found_day:
        day, day_label, period, span = found_day
        # Blank the day words out before numerals are converted: 周二三点 is Tuesday at 3.
        raw = raw[: span[0]] + " " * (span[1] - span[0]) + raw[span[1] :]
    norm = normalize_numbers(raw)
    if day is None:
        found_date = _find_date(norm, today)
        if found_date:
            day, day_label = found_date

    pm = None
    period_match = None
    for pattern, label, _default_hour, is_pm in _PERIODS:
        m = pattern.search(norm)
        if m and (period_match is None or m.start() < period_match.start()):
            period_match, period, pm = m, label, is_pm
    if period_match is None and period is not None:  # implied by 今晚/明早
        pm = next(p[3] for p in _PERIODS if p[1] == period)
    clock = _find_clock(norm)

    if day is None and period is None and clock is None:
        if _ASAP_RE.search(norm):
            return PreferredTime(ASAP, None)
        if _ANYTIME_RE.search(norm):
            return PreferredTime(ANYTIME, None)
        return None

    if clock:
        hour, minute, suffix = clock
        at = time(_to_24h(hour, period, pm), minute)
    else:
        default_hour = next((p[2] for p in _PERIODS if p[1] == period), 9)
        at = time(default_hour, 0)
        m = _SUFFIX_AFTER_PERIOD.match(norm, period_match.end()) if period_match else None
        suffix = _suffix(m.group(1)) if m else ""

    explicit_day = day is not None
    if day is None:
        # No day named: today if that time (or that part of the day) is still ahead, else tomorrow.
        end = time(_PERIOD_END[period], 0) if period and not clock else at
        day = today if local_now.time() < end else today + timedelta(days=1)
    start = datetime.combine(day, at, tzinfo=SHANGHAI)
    if explicit_day and day_label.startswith("周") and day == today and start <= local_now:
        day += timedelta(days=7)  # "周一" said on a Monday evening: next Monday
        start = datetime.combine(day, at, tzinfo=SHANGHAI)
    if not clock and start < local_now:  # "下午" said at 15:00: from now on
        start = local_now.replace(second=0, microsecond=0)
    if not explicit_day:
        day_label = "今天" if day == today else "明天"

    if clock:
        label = f"{day_label} {at:%H:%M}{suffix}"
    else:
        label = f"{day_label}{period or ''}{suffix}"
    return PreferredTime(label, start)
