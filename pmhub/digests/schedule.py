"""When a stakeholder's digest is due, in their own timezone: pure functions of the cadence, the
send hour, the timezone and the time now.

A period's send moment is the send hour on its first local day (daily: that day; weekly: the
Monday of its ISO week; monthly: the 1st). The moment is built as a local wall-clock time and only
then turned into UTC, so a daylight-saving change moves it by the hour in UTC and never in the
stakeholder's day. A send hour that does not exist that day (the spring-forward gap) is read with
the offset before the change, i.e. one hour later on the clock.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pmhub.digests.models import Cadence

SCHEDULED = (Cadence.DAILY, Cadence.WEEKLY, Cadence.MONTHLY)


@dataclass(frozen=True)
class Period:
    key: str
    due_at: datetime.datetime  # in UTC


def zone(name: str) -> ZoneInfo:
    """The IANA timezone `name`; ValueError for one that does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"Unknown timezone “{name}”: use an IANA name such as Europe/Paris."
        ) from None


def timezone_names() -> list[str]:
    return sorted(available_timezones())


def _start_day(cadence: str, day: datetime.date) -> datetime.date:
    if cadence == Cadence.WEEKLY:
        return day - datetime.timedelta(days=day.weekday())
    if cadence == Cadence.MONTHLY:
        return day.replace(day=1)
    return day


def _previous_start(cadence: str, start: datetime.date) -> datetime.date:
    if cadence == Cadence.WEEKLY:
        return start - datetime.timedelta(days=7)
    if cadence == Cadence.MONTHLY:
        return (start - datetime.timedelta(days=1)).replace(day=1)
    return start - datetime.timedelta(days=1)


def _key(cadence: str, start: datetime.date) -> str:
    if cadence == Cadence.WEEKLY:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if cadence == Cadence.MONTHLY:
        return f"{start.year}-{start.month:02d}"
    return start.isoformat()


def _moment(start: datetime.date, hour: int, tz: ZoneInfo) -> datetime.datetime:
    local = datetime.datetime(start.year, start.month, start.day, hour, tzinfo=tz)
    return local.astimezone(datetime.UTC)


def current_period(
    cadence: str, send_hour: int, tz_name: str, now: datetime.datetime
) -> Period | None:
    """The newest period whose send moment has come by `now` (aware), or None for a cadence
    that is not on a schedule (immediately, off)."""
    if cadence not in SCHEDULED:
        return None
    tz = zone(tz_name)
    start = _start_day(cadence, now.astimezone(tz).date())
    due = _moment(start, send_hour, tz)
    if due > now:
        start = _previous_start(cadence, start)
        due = _moment(start, send_hour, tz)
    return Period(_key(cadence, start), due)
