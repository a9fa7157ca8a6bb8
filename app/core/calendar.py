"""The working-day (工作日) calendar that statutory time limits are counted in.

A year's schedule comes, in order of preference, from what an admin entered (new years, or
corrections), from the chinesecalendar package (published years only), or else from an estimate
built on the statutory holidays alone, so that a deadline running into a year whose schedule the
State Council has not yet published still gets a date, flagged as estimated for the UI to warn about.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar
from lunar_python import Lunar

from app.core.clock import LOCAL

_ONE_DAY = timedelta(days=1)
_WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ScheduleError(ValueError):
    """An admin-entered year schedule is unusable; the message names the bad entry in Chinese and English."""


@dataclass(frozen=True)
class YearSchedule:
    """One year's published holiday arrangement (国务院办公厅关于某年部分节假日安排的通知).

    `holidays` are the official days off, weekend days included; `workdays` are the make-up
    working days (调休), which are always weekend days.
    """

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]

    def __post_init__(self) -> None:
        # Schedules also arrive from storage, not only through parse_schedule_text.
        _validate(self.year, {d: d.isoformat() for d in self.holidays}, {d: d.isoformat() for d in self.workdays})


@dataclass(frozen=True)
class Deadline:
    """A computed time limit; `estimated` means some day counted came from the statutory-holiday estimate."""

    due_at: datetime
    estimated: bool
    estimated_years: tuple[int, ...]


@dataclass(frozen=True)
class _Year:
    """How one year departs from the Monday-to-Friday rule."""

    off_weekdays: frozenset[date]
    weekend_workdays: frozenset[date]
    estimated: bool


class WorkingCalendar:
    """Answers working-day questions; each year is worked out once per instance and then cached.

    Build a new instance when admin-entered schedules change.
    """

    def __init__(self, published: Mapping[int, YearSchedule] | None = None) -> None:
        self._published = dict(published or {})
        for year, schedule in self._published.items():
            if schedule.year != year:
                raise ValueError(f"schedule for {schedule.year} filed under year {year}")
        self._years: dict[int, _Year] = {}

    def is_working_day(self, day: date) -> bool:
        """Whether `day` (a local date in China) is a working day."""
        if isinstance(day, datetime):
            raise TypeError("is_working_day takes a local date, not a datetime")
        year = self._year(day.year)
        if day.weekday() < 5:
            return day not in year.off_weekdays
        return day in year.weekend_workdays

    def fallback_years(self, start: date, end: date) -> set[int]:
        """The years from `start` to `end` (inclusive) whose schedule is only the statutory estimate."""
        return {year for year in range(start.year, end.year + 1) if self._year(year).estimated}

    def add_working_days(self, start: datetime, n: int) -> Deadline:
        """The end of the n-th working day after the local date of `start` (which does not count).

        n == 0 means the end of the start day if it is a working day, else of the next working day.
        """
        return self._deadline(_local_date(start), n, _ONE_DAY)

    def subtract_working_days(self, at: datetime, n: int) -> Deadline:
        """The end of the working day n working days before the local date of `at`; for early warnings.

        n == 0 means the end of that day if it is a working day, else of the previous working day.
        """
        return self._deadline(_local_date(at), n, -_ONE_DAY)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """How many working days d satisfy start < d <= end (local dates), e.g. to extend a suspended deadline."""
        first, last = _local_date(start) + _ONE_DAY, _local_date(end)
        return sum(self.is_working_day(first + k * _ONE_DAY) for k in range((last - first).days + 1))

    def _deadline(self, origin: date, n: int, step: timedelta) -> Deadline:
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        day = origin
        if n == 0:
            while not self.is_working_day(day):
                day += step
        else:
            for _ in range(n):
                day += step
                while not self.is_working_day(day):
                    day += step
        first_counted = origin if n == 0 else origin + step
        estimated = tuple(sorted(self.fallback_years(min(first_counted, day), max(first_counted, day))))
        due_at = datetime.combine(day, time.max, tzinfo=LOCAL).astimezone(UTC)
        return Deadline(due_at=due_at, estimated=bool(estimated), estimated_years=estimated)

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            cached = self._years[year] = self._compute_year(year)
        return cached

    def _compute_year(self, year: int) -> _Year:
        schedule = self._published.get(year)
        if schedule is not None:
            weekday_holidays = frozenset(d for d in schedule.holidays if d.weekday() < 5)
            return _Year(weekday_holidays, schedule.workdays, estimated=False)
        if _package_knows(year):
            days = [date(year, 1, 1) + k * _ONE_DAY for k in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]
            return _Year(
                frozenset(d for d in days if d.weekday() < 5 and not chinese_calendar.is_workday(d)),
                frozenset(d for d in days if d.weekday() >= 5 and chinese_calendar.is_workday(d)),
                estimated=False,
            )
        weekday_holidays = frozenset(d for d in statutory_holidays(year) if d.weekday() < 5)
        return _Year(weekday_holidays, frozenset(), estimated=True)


def statutory_holidays(year: int) -> frozenset[date]:
    """The days off fixed by 全国年节及纪念日放假办法 (2024 revision, in force from 2025) in one year.

    This is only what the law itself fixes: the State Council's yearly arrangement adds bridging
    days and make-up working days, which cannot be predicted, hence the estimate flag.
    """
    spring_festival = _lunar_to_solar(year, 1, 1)
    qingming = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
    return frozenset(
        {
            date(year, 1, 1),
            # 除夕 (last day of the 12th lunar month, whatever its length) and 正月初一 to 初三.
            *(spring_festival + k * _ONE_DAY for k in range(-1, 3)),
            date(qingming.getYear(), qingming.getMonth(), qingming.getDay()),
            date(year, 5, 1),
            date(year, 5, 2),
            _lunar_to_solar(year, 5, 5),
            _lunar_to_solar(year, 8, 15),
            date(year, 10, 1),
            date(year, 10, 2),
            date(year, 10, 3),
        }
    )


def parse_schedule_text(year: int, holidays_text: str, workdays_text: str) -> YearSchedule:
    """Parse an admin's entry of one year's schedule.

    Dates go one per line or separated by commas/whitespace, as YYYY-MM-DD or MM-DD, and ranges as
    START..END in either form.
    """
    holidays = _parse_dates(year, holidays_text)
    workdays = _parse_dates(year, workdays_text)
    # Validate here too, so the message quotes what the admin typed rather than a normalised date.
    _validate(year, holidays, workdays)
    return YearSchedule(year, frozenset(holidays), frozenset(workdays))


_SEPARATORS = re.compile(r"[\s,，、;；]+")
_DATE = re.compile(r"(?:(\d{4})-)?(\d{1,2})-(\d{1,2})")


def _parse_dates(year: int, text: str) -> dict[date, str]:
    """Each date in `text`, mapped to the token it came from."""
    dates: dict[date, str] = {}
    for token in filter(None, _SEPARATORS.split(text)):
        first_text, is_range, last_text = token.partition("..")
        first = _parse_date(year, first_text, token)
        last = _parse_date(year, last_text, token) if is_range else first
        if last < first:
            raise ScheduleError(f"日期范围“{token}”起止颠倒 / Date range '{token}' ends before it starts")
        for k in range((last - first).days + 1):
            dates[first + k * _ONE_DAY] = token
    return dates


def _parse_date(year: int, text: str, token: str) -> date:
    match = _DATE.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        return date(int(match[1] or year), int(match[2]), int(match[3]))
    except ValueError:
        raise ScheduleError(
            f"无法识别的日期“{token}”，应为 YYYY-MM-DD 或 MM-DD / "
            f"Invalid date '{token}': expected an existing date as YYYY-MM-DD or MM-DD"
        ) from None


def _validate(year: int, holidays: Mapping[date, str], workdays: Mapping[date, str]) -> None:
    if not holidays:
        raise ScheduleError(f"{year} 年放假日期不能为空 / The holiday list for {year} must not be empty")
    for day, token in sorted({**holidays, **workdays}.items()):
        if day.year != year:
            raise ScheduleError(f"日期“{token}”不在 {year} 年内 / Date '{token}' is not in {year}")
    for day, token in sorted(workdays.items()):
        if day.weekday() < 5:
            raise ScheduleError(
                f"调休上班日“{token}”（{day}，{_WEEKDAYS_ZH[day.weekday()]}）不是周六或周日 / "
                f"Make-up workday '{token}' ({day}, a {_WEEKDAYS_EN[day.weekday()]}) is not a Saturday or Sunday"
            )
        if day in holidays:
            raise ScheduleError(
                f"{day}（“{token}”）同时出现在放假日期和调休上班日中 / "
                f"{day} ('{token}') is in both the holiday and the make-up workday lists"
            )


def _local_date(moment: datetime) -> date:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: times must be timezone-aware")
    return moment.astimezone(LOCAL).date()


def _package_knows(year: int) -> bool:
    # chinesecalendar signals an unpublished year only by raising.
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _lunar_to_solar(year: int, month: int, day: int) -> date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())
