"""The working calendar as the application uses it: package data plus the schedules admins entered."""

import time
from datetime import date, datetime

from sqlalchemy import select

from app.core.calendar import Deadline, WorkingCalendar, YearSchedule
from app.core.clock import now_utc
from app.core.models import HolidaySchedule
from app.extensions import db

# Schedules change a few times a year; workers re-read them at most this often.
_TTL_SECONDS = 60.0
_cache: tuple[float, WorkingCalendar] | None = None


def current_calendar() -> WorkingCalendar:
    global _cache
    if _cache is None or time.monotonic() - _cache[0] > _TTL_SECONDS:
        rows = db.session.scalars(select(HolidaySchedule)).all()
        published = {
            row.year: YearSchedule(
                year=row.year,
                holidays=frozenset(date.fromisoformat(d) for d in row.holidays),
                workdays=frozenset(date.fromisoformat(d) for d in row.workdays),
            )
            for row in rows
        }
        _cache = (time.monotonic(), WorkingCalendar(published))
    return _cache[1]


def forget_calendar() -> None:
    """Drop the cached calendar, after an admin changed a schedule (and in tests)."""
    global _cache
    _cache = None


def deadline_after(working_days: int, start: datetime | None = None) -> Deadline:
    return current_calendar().add_working_days(start or now_utc(), working_days)
