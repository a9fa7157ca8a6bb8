"""Working-day calendar: expected dates were counted by hand against the published schedules.

2026 (国办发明电〔2025〕号 schedule, as carried by chinesecalendar 1.11.0): 元旦 Jan 1–3, work Sun Jan 4;
春节 Feb 15–23, work Sat Feb 14 and Sat Feb 28; 国庆/中秋 Sep 25–27 and Oct 1–7, work Sun Sep 20 and Sat Oct 10.
2027 lunar dates (cross-checked against the independent `lunardate` table): 除夕 Fri Feb 5, 春节 Sat Feb 6,
端午 Wed Jun 9, 中秋 Wed Sep 15; 清明 Mon Apr 5.
"""

from datetime import UTC, date, datetime, timedelta, timezone

import chinese_calendar
import pytest

from app.core.clock import LOCAL
from app.core.calendar import (
    Deadline,
    ScheduleError,
    WorkingCalendar,
    YearSchedule,
    parse_schedule_text,
    statutory_holidays,
)

# A plausible admin entry for 2027; the real notice is published only in late 2026.
HOLIDAYS_2027 = """
01-01..01-03
02-05..02-13
04-03..04-05
05-01..05-05
06-09, 09-15
10-01..10-07
"""
WORKDAYS_2027 = "01-31, 02-20, 05-08, 09-26, 10-09"


def local(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=LOCAL)


def end_of_local_day(year: int, month: int, day: int) -> datetime:
    """23:59:59.999999 in Shanghai (UTC+8, no DST) written out in UTC."""
    return datetime(year, month, day, 15, 59, 59, 999999, tzinfo=UTC)


def test_2026_national_day_and_make_up_days():
    cal = WorkingCalendar()
    working = {d for d in range(1, 18) if cal.is_working_day(date(2026, 10, d))}
    # Oct 1–7 off; Sat Oct 10 is a make-up workday, Sun Oct 11 and the next weekend are not.
    assert working == {8, 9, 10, 12, 13, 14, 15, 16}
    assert cal.is_working_day(date(2026, 9, 20))  # Sunday make-up workday
    assert not cal.is_working_day(date(2026, 9, 25))  # 中秋, a Friday


def test_2026_spring_festival():
    cal = WorkingCalendar()
    assert cal.is_working_day(date(2026, 2, 14))  # Saturday make-up workday
    assert not any(cal.is_working_day(date(2026, 2, d)) for d in range(15, 24))
    assert cal.is_working_day(date(2026, 2, 24))
    assert cal.is_working_day(date(2026, 2, 28))  # Saturday make-up workday


def test_add_over_national_day_lands_on_saturday_make_up_day():
    deadline = WorkingCalendar().add_working_days(local(2026, 9, 30), 3)
    # Oct 1–7 off; Oct 8, Oct 9, Sat Oct 10 count.
    assert deadline == Deadline(end_of_local_day(2026, 10, 10), estimated=False, estimated_years=())
    assert deadline.due_at.astimezone(LOCAL) == datetime(2026, 10, 10, 23, 59, 59, 999999, tzinfo=LOCAL)


def test_add_from_a_friday_skips_the_weekend():
    cal = WorkingCalendar()
    assert cal.add_working_days(local(2026, 3, 13), 1).due_at == end_of_local_day(2026, 3, 16)
    assert cal.add_working_days(local(2026, 3, 13), 5).due_at == end_of_local_day(2026, 3, 20)


def test_add_across_spring_festival_2026():
    # Fri Feb 13, Sat Feb 14 (make-up), then Feb 15–23 off, Tue Feb 24.
    assert WorkingCalendar().add_working_days(local(2026, 2, 12), 3).due_at == end_of_local_day(2026, 2, 24)


def test_add_zero_means_end_of_this_or_next_working_day():
    cal = WorkingCalendar()
    assert cal.add_working_days(local(2026, 9, 30), 0).due_at == end_of_local_day(2026, 9, 30)
    assert cal.add_working_days(local(2026, 10, 5), 0).due_at == end_of_local_day(2026, 10, 8)


def test_start_date_is_taken_in_shanghai_not_utc():
    # 16:30 UTC on Fri Oct 9 is already Sat Oct 10 (a make-up workday) in Shanghai.
    start = datetime(2026, 10, 9, 16, 30, tzinfo=UTC)
    assert WorkingCalendar().add_working_days(start, 1).due_at == end_of_local_day(2026, 10, 12)
    other_zone = datetime(2026, 10, 9, 8, 30, tzinfo=timezone(timedelta(hours=-8)))
    assert WorkingCalendar().add_working_days(other_zone, 1).due_at == end_of_local_day(2026, 10, 12)


def test_thirty_days_into_unpublished_2027_are_estimated():
    cal = WorkingCalendar()
    # 22 working days Dec 2–31; Jan 1 2027 off (statutory); Jan 4–8, 11, 12, 13 make 30.
    deadline = cal.add_working_days(local(2026, 12, 1), 30)
    assert deadline == Deadline(end_of_local_day(2027, 1, 13), estimated=True, estimated_years=(2027,))
    assert cal.fallback_years(date(2026, 12, 1), date(2027, 1, 13)) == {2027}


def test_admin_entered_2027_schedule_is_not_estimated():
    cal = WorkingCalendar({2027: parse_schedule_text(2027, HOLIDAYS_2027, WORKDAYS_2027)})
    # 元旦 2027 needs no make-up day, so the 30-day deadline stays on Jan 13, now firm.
    assert cal.add_working_days(local(2026, 12, 1), 30) == Deadline(end_of_local_day(2027, 1, 13), False, ())
    assert cal.fallback_years(date(2026, 12, 1), date(2027, 12, 31)) == set()


def test_make_up_days_move_a_deadline_across_spring_festival_2027():
    # After 30 on Jan 13: Jan 14–15, 18–22, 25–29 bring 42.
    # Estimate: Feb 1–4 → 46, Feb 5 and Feb 8 off, Feb 9–12 → 50.
    # Admin: Sun Jan 31 → 43, Feb 1–4 → 47, Feb 5–13 off, Feb 15–17 → 50.
    start = local(2026, 12, 1)
    estimated = WorkingCalendar().add_working_days(start, 50)
    entered = WorkingCalendar({2027: parse_schedule_text(2027, HOLIDAYS_2027, WORKDAYS_2027)}).add_working_days(
        start, 50
    )
    assert estimated == Deadline(end_of_local_day(2027, 2, 12), True, (2027,))
    assert entered == Deadline(end_of_local_day(2027, 2, 17), False, ())


def test_an_estimated_start_day_does_not_make_the_deadline_estimated():
    # The start day itself is never counted, so only the entered 2028 schedule decides this one.
    cal = WorkingCalendar({2028: YearSchedule(2028, frozenset({date(2028, 1, 1)}), frozenset())})
    assert cal.add_working_days(local(2027, 12, 31), 1) == Deadline(end_of_local_day(2028, 1, 3), False, ())


def test_fallback_2027_uses_lunar_and_solar_term_holidays():
    assert statutory_holidays(2027) == {
        date(2027, 1, 1),
        date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8),
        date(2027, 4, 5),
        date(2027, 5, 1), date(2027, 5, 2),
        date(2027, 6, 9),
        date(2027, 9, 15),
        date(2027, 10, 1), date(2027, 10, 2), date(2027, 10, 3),
    }  # fmt: skip
    cal = WorkingCalendar()
    assert not cal.is_working_day(date(2027, 2, 5))  # 除夕, Friday
    assert not cal.is_working_day(date(2027, 2, 8))  # 初三, Monday
    assert cal.is_working_day(date(2027, 2, 9))  # no 调休 or 补假 is guessed
    assert not cal.is_working_day(date(2027, 6, 9))
    assert not cal.is_working_day(date(2027, 9, 15))
    assert not cal.is_working_day(date(2027, 2, 20))  # weekends stay off: no make-up days are known


@pytest.mark.parametrize("year", [2025, 2026])
def test_statutory_holidays_are_all_off_in_published_years(year):
    # The 2024 rules took effect in 2025, so every statutory day is off in what was actually published.
    published_off = {d for d in chinese_calendar.holidays if d.year == year}
    assert statutory_holidays(year) <= published_off


def test_admin_schedule_overrides_the_package():
    holidays = chinese_calendar.get_holidays(date(2026, 1, 1), date(2026, 12, 31), include_weekends=False)
    workdays = {d for d in chinese_calendar.workdays if d.year == 2026}
    override = YearSchedule(2026, frozenset(holidays) | {date(2026, 10, 8)}, frozenset(workdays - {date(2026, 10, 10)}))
    cal = WorkingCalendar({2026: override})
    assert not cal.is_working_day(date(2026, 10, 8))
    assert not cal.is_working_day(date(2026, 10, 10))
    # Oct 9, then Oct 12 and 13.
    assert cal.add_working_days(local(2026, 9, 30), 3).due_at == end_of_local_day(2026, 10, 13)


def test_subtract_for_early_warning():
    cal = WorkingCalendar()
    due = end_of_local_day(2026, 10, 10)
    # Oct 9, Oct 8, then back over the holiday to Sep 30.
    assert cal.subtract_working_days(due, 3) == Deadline(end_of_local_day(2026, 9, 30), False, ())
    assert cal.subtract_working_days(local(2026, 10, 5), 0).due_at == end_of_local_day(2026, 9, 30)
    # Jan 1–3 2027 are passed over on the estimate's word, so the result is estimated too.
    assert cal.subtract_working_days(local(2027, 1, 4), 1) == Deadline(end_of_local_day(2026, 12, 31), True, (2027,))
    assert cal.subtract_working_days(local(2027, 1, 6), 1) == Deadline(end_of_local_day(2027, 1, 5), True, (2027,))


def test_working_days_between():
    cal = WorkingCalendar()
    # Sep 29, Sep 30, Oct 8, Oct 9, Sat Oct 10, Oct 12.
    assert cal.working_days_between(local(2026, 9, 28), local(2026, 10, 12, hour=9)) == 6
    assert cal.working_days_between(local(2026, 9, 28), local(2026, 9, 28, hour=18)) == 0
    assert cal.working_days_between(local(2026, 10, 12), local(2026, 9, 28)) == 0


def test_a_suspension_extends_a_deadline_by_the_working_days_it_lasted():
    cal = WorkingCalendar()
    start = local(2026, 9, 1)
    paused = cal.working_days_between(local(2026, 9, 28), local(2026, 10, 12))
    extended = cal.add_working_days(start, 20 + paused)
    assert extended.due_at == cal.add_working_days(cal.add_working_days(start, 20).due_at, paused).due_at


def test_naive_datetimes_and_bad_arguments_are_rejected():
    cal = WorkingCalendar()
    with pytest.raises(ValueError):
        cal.add_working_days(datetime(2026, 9, 30, 10), 1)
    with pytest.raises(ValueError):
        cal.subtract_working_days(datetime(2026, 9, 30, 10), 1)
    with pytest.raises(ValueError):
        cal.working_days_between(local(2026, 9, 1), datetime(2026, 9, 30))
    with pytest.raises(ValueError):
        cal.add_working_days(local(2026, 9, 30), -1)
    with pytest.raises(TypeError):
        cal.is_working_day(local(2026, 9, 30))
    with pytest.raises(ValueError):
        WorkingCalendar({2028: parse_schedule_text(2027, HOLIDAYS_2027, WORKDAYS_2027)})


def test_year_computations_are_cached(monkeypatch):
    cal = WorkingCalendar()
    first = cal.add_working_days(local(2026, 1, 5), 200)

    def unavailable(day):
        raise AssertionError("chinese_calendar consulted again")

    monkeypatch.setattr(chinese_calendar, "is_workday", unavailable)
    assert cal.add_working_days(local(2026, 1, 5), 200) == first


def test_parse_schedule_text_accepts_both_forms_ranges_and_separators():
    schedule = parse_schedule_text(2027, "2027-01-01\n02-05..2027-02-07，2027-10-01..10-02 04-05", "2027-01-31")
    assert schedule == YearSchedule(
        2027,
        frozenset({date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7),
                   date(2027, 10, 1), date(2027, 10, 2), date(2027, 4, 5)}),
        frozenset({date(2027, 1, 31)}),
    )  # fmt: skip
    assert parse_schedule_text(2027, "01-01", "  \n ").workdays == frozenset()


@pytest.mark.parametrize(
    ("holidays", "workdays", "named"),
    [
        ("01-01, 2027-13-01", "", "2027-13-01"),
        ("01-01 02-30", "", "02-30"),
        ("01-01, Feb 5", "", "Feb"),
        ("01-01, 02-05..", "", "02-05.."),
        ("01-01, 02-13..02-05", "", "02-13..02-05"),
        ("01-01, 2026-12-31", "", "2026-12-31"),
        ("2026-12-31..2027-01-01", "", "2026-12-31..2027-01-01"),
        ("01-01", "2027-02-08", "2027-02-08"),  # a Monday
        ("02-05..02-13", "01-31, 02-13", "02-13"),  # Saturday in both lists
        ("", "01-31", "must not be empty"),
    ],
)
def test_parse_schedule_text_names_the_bad_entry(holidays, workdays, named):
    with pytest.raises(ScheduleError, match=named.replace(".", r"\.")) as caught:
        parse_schedule_text(2027, holidays, workdays)
    assert isinstance(caught.value, ValueError)


def test_year_schedule_checks_its_own_invariants():
    with pytest.raises(ScheduleError, match="2027-02-08"):
        YearSchedule(2027, frozenset({date(2027, 1, 1)}), frozenset({date(2027, 2, 8)}))
    with pytest.raises(ScheduleError, match="2026-12-31"):
        YearSchedule(2027, frozenset({date(2026, 12, 31)}), frozenset())
