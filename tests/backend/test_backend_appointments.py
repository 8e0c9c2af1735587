from datetime import datetime, timezone

import pytest

from backend.core.clock import SHANGHAI
from backend.text.times import PreferredTime, parse_preferred_time

# Monday 23 November 2026, 10:00 in Beijing.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


def at(month, day, hour, minute=0, year=2026):
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


CASES = [
    ("明天上午", "明天上午", at(11, 24, 9)),
    ("明天下午", "明天下午", at(11, 24, 14)),
    ("明天中午", "明天中午", at(11, 24, 12)),
    ("明天晚上", "明天晚上", at(11, 24, 19)),
    ("明天", "明天", at(11, 24, 9)),
    ("今天下午", "今天下午", at(11, 23, 14)),
    ("后天上午", "后天上午", at(11, 25, 9)),
    ("大后天晚上8点", "大后天 20:00", at(11, 26, 20)),
    ("今晚", "今天晚上", at(11, 23, 19)),
    ("明早8点", "明天 08:00", at(11, 24, 8)),
    ("明天下午三点以后", "明天 15:00以后", at(11, 24, 15)),
    ("下午三点以后", "今天 15:00以后", at(11, 23, 15)),
    ("下午3点", "今天 15:00", at(11, 23, 15)),
    ("3点", "今天 15:00", at(11, 23, 15)),
    ("三点", "今天 15:00", at(11, 23, 15)),
    ("15:00", "今天 15:00", at(11, 23, 15)),
    ("3点半", "今天 15:30", at(11, 23, 15, 30)),
    ("十点二十", "今天 10:20", at(11, 23, 10, 20)),
    ("中午1点", "今天 13:00", at(11, 23, 13)),
    ("晚8点", "今天 20:00", at(11, 23, 20)),
    ("早上8点半", "明天 08:30", at(11, 24, 8, 30)),  # 08:30 today has passed
    ("3点前", "今天 15:00以前", at(11, 23, 15)),
    ("11月25号", "11月25日", at(11, 25, 9)),
    ("11月24号下午3点以后", "11月24日 15:00以后", at(11, 24, 15)),
    ("十一月二十五号上午", "11月25日上午", at(11, 25, 9)),
    ("25号", "11月25日", at(11, 25, 9)),
    ("1月3号", "1月3日", at(1, 3, 9, year=2027)),
    ("周六下午", "周六下午", at(11, 28, 14)),
    ("星期三", "周三", at(11, 25, 9)),
    ("礼拜天上午", "周日上午", at(11, 29, 9)),
    ("周二三点", "周二 15:00", at(11, 24, 15)),
    ("周一下午", "周一下午", at(11, 23, 14)),  # today is Monday and the afternoon is ahead
    ("周一上午9点", "周一 09:00", at(11, 30, 9)),  # already past: next Monday
    ("下周三", "下周三", at(12, 2, 9)),
    ("周末", "周末", at(11, 28, 9)),
    ("明天都可以", "明天", at(11, 24, 9)),
    ("我家3栋2单元501，明天上午来吧", "明天上午", at(11, 24, 9)),
]


@pytest.mark.parametrize("text,label,start", CASES, ids=[c[0] for c in CASES])
def test_parse_preferred_time(text, label, start):
    assert parse_preferred_time(text, NOW) == PreferredTime(label, start)


@pytest.mark.parametrize("text", ["随时", "都可以", "什么时候都行", "随时都可以"])
def test_anytime(text):
    assert parse_preferred_time(text, NOW) == PreferredTime("随时都可以", None)


@pytest.mark.parametrize("text", ["越快越好", "尽快", "马上", "赶紧来"])
def test_asap(text):
    assert parse_preferred_time(text, NOW) == PreferredTime("尽快", None)


@pytest.mark.parametrize(
    "text",
    ["马桶堵了", "3栋2单元501", "5号楼", "快一点", "有一点漏水", "电话13812345678", "交了500元", ""],
)
def test_no_time(text):
    assert parse_preferred_time(text, NOW) is None


def test_period_in_progress_starts_now():
    now = datetime(2026, 11, 23, 15, 30, tzinfo=SHANGHAI)
    assert parse_preferred_time("下午", now) == PreferredTime("今天下午", at(11, 23, 15, 30))


def test_evening_rolls_over_to_tomorrow():
    now = datetime(2026, 11, 23, 22, 30, tzinfo=SHANGHAI)
    assert parse_preferred_time("晚上", now) == PreferredTime("明天晚上", at(11, 24, 19))


def test_now_in_utc_is_read_as_beijing_time():
    now_utc = datetime(2026, 11, 23, 16, 30, tzinfo=timezone.utc)  # 00:30 on the 24th in Beijing
    result = parse_preferred_time("明天上午", now_utc)
    assert result.start == at(11, 25, 9)
    assert result.start.utcoffset().total_seconds() == 8 * 3600


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        parse_preferred_time("明天", datetime(2026, 11, 23, 10, 0))
