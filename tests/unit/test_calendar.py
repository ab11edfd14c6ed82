from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.domain.calendar import BusinessCalendar

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def office(tz: str = "Europe/Berlin", holidays: tuple[date, ...] = ()) -> BusinessCalendar:
    return BusinessCalendar.weekdays("office", tz=tz, start=time(9), end=time(17), holidays=holidays)


def test_a_16_hour_target_on_an_8_hour_calendar_takes_two_business_days():
    monday_9 = datetime(2024, 1, 8, 9, tzinfo=BERLIN)
    assert office().add_business_time(monday_9, timedelta(hours=16)) == datetime(2024, 1, 9, 17, tzinfo=BERLIN)


def test_time_added_on_friday_afternoon_continues_on_monday():
    friday_16 = datetime(2024, 1, 12, 16, tzinfo=BERLIN)
    assert office().add_business_time(friday_16, timedelta(hours=2)) == datetime(2024, 1, 15, 10, tzinfo=BERLIN)


def test_a_holiday_is_skipped():
    cal = office(holidays=(date(2024, 1, 9),))
    monday_16 = datetime(2024, 1, 8, 16, tzinfo=BERLIN)
    assert cal.add_business_time(monday_16, timedelta(hours=2)) == datetime(2024, 1, 10, 10, tzinfo=BERLIN)


def test_counting_starts_at_the_next_opening_when_started_at_night():
    saturday_night = datetime(2024, 1, 13, 23, tzinfo=BERLIN)
    assert office().add_business_time(saturday_night, timedelta(hours=1)) == datetime(2024, 1, 15, 10, tzinfo=BERLIN)


def test_a_24x7_calendar_counts_wall_clock_time_even_across_dst():
    cal = BusinessCalendar.twenty_four_seven(tz="Europe/Berlin")
    before = datetime(2024, 3, 30, 12, tzinfo=BERLIN)
    after = cal.add_business_time(before, timedelta(hours=24))
    assert after == datetime(2024, 3, 31, 13, tzinfo=BERLIN)  # the night lost an hour


def test_a_full_day_window_on_the_spring_dst_day_has_23_hours():
    cal = BusinessCalendar(name="always", tz="Europe/Berlin", weekly={d: ((time(0), None),) for d in range(7)})
    day = datetime(2024, 3, 31, 0, tzinfo=BERLIN)
    assert cal.business_time_between(day, datetime(2024, 4, 1, 0, tzinfo=BERLIN)) == timedelta(hours=23)


def test_office_hours_across_the_new_york_dst_change_stay_eight_hours_a_day():
    cal = office("America/New_York")
    friday_9 = datetime(2024, 3, 8, 9, tzinfo=NEW_YORK)
    due = cal.add_business_time(friday_9, timedelta(hours=16))
    assert due == datetime(2024, 3, 11, 17, tzinfo=NEW_YORK)
    assert due.utcoffset() == timedelta(hours=-4)


def test_naive_datetimes_are_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        office().add_business_time(datetime(2024, 1, 8, 9), timedelta(hours=1))


def test_a_calendar_without_hours_is_rejected():
    with pytest.raises(ValueError, match="no opening hours"):
        BusinessCalendar(name="closed", tz="UTC", weekly={})


def test_is_open_follows_hours_and_lunch_breaks():
    cal = BusinessCalendar(name="sh", tz="Asia/Shanghai", weekly={0: ((time(9), time(12)), (time(13), time(18)))})
    sh = ZoneInfo("Asia/Shanghai")
    assert cal.is_open(datetime(2024, 1, 8, 11, 59, tzinfo=sh))
    assert not cal.is_open(datetime(2024, 1, 8, 12, 30, tzinfo=sh))
    assert not cal.is_open(datetime(2024, 1, 9, 10, tzinfo=sh))


instants = st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC))
durations = st.integers(min_value=0, max_value=120 * 3600).map(lambda s: timedelta(seconds=s))
calendars = st.sampled_from(
    [
        office("Europe/Berlin", holidays=(date(2024, 3, 29), date(2024, 4, 1), date(2024, 12, 25))),
        office("America/New_York"),
        BusinessCalendar(
            name="late", tz="Europe/Berlin", weekly={d: ((time(0), time(3)), (time(20), None)) for d in range(6)}
        ),
    ]
)


@settings(max_examples=200, deadline=None)
@given(cal=calendars, start=instants, a=durations, b=durations)
def test_adding_business_time_in_pieces_equals_adding_it_at_once(cal, start, a, b):
    assert cal.add_business_time(cal.add_business_time(start, a), b) == cal.add_business_time(start, a + b)


@settings(max_examples=200, deadline=None)
@given(cal=calendars, start=instants, d=durations)
def test_business_time_between_start_and_due_is_the_duration(cal, start, d):
    due = cal.add_business_time(start, d)
    assert due >= start
    assert cal.business_time_between(start, due) == d


@settings(max_examples=200, deadline=None)
@given(start=instants, d=durations.filter(lambda d: d > timedelta(0)))
def test_due_times_never_fall_on_weekends_or_holidays(start, d):
    holiday = date(2024, 4, 1)
    cal = office(holidays=(holiday,))
    local = cal.add_business_time(start, d).astimezone(BERLIN)
    assert local.weekday() < 5 and local.date() != holiday
    assert time(9) < local.time() <= time(17)
