"""The one clock: what time it is, and Beijing time for everything people read.

Records keep aware UTC datetimes (backend.core.models.UTCDateTime); owners, staff and the
standard's days and months are Beijing time. Functions take an optional `now` so tests and
sweeps can ask "as of when" without patching the clock.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo


def _shanghai() -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Asia/Shanghai")
    except Exception:  # no tz database on the machine; China has had no DST since 1991
        return timezone(timedelta(hours=8), "Asia/Shanghai")


SHANGHAI = _shanghai()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware_now(now: datetime | None = None) -> datetime:
    """`now` if given (it must carry a timezone), else the current UTC time."""
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return now


def beijing(at: datetime | None = None) -> datetime:
    """`at` (default: now) in Beijing time."""
    return aware_now(at).astimezone(SHANGHAI)


def today(now: datetime | None = None) -> date:
    """The Beijing date: an owner's 今天 and the scorecard's day."""
    return beijing(now).date()
