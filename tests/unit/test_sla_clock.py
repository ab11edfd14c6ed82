from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.domain.calendar import BusinessCalendar
from triage.domain.sla import SlaClock, SlaTarget

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessCalendar.weekdays("office", tz="Europe/Berlin", start=time(9), end=time(17))
TARGET = SlaTarget(first_response=timedelta(hours=4), resolution=timedelta(hours=16), calendar="office")


def make_clock(start: datetime, calendar: BusinessCalendar = OFFICE, target: SlaTarget = TARGET) -> SlaClock:
    return SlaClock(ticket_id="T1", target=target, calendar=calendar, started_at=start)


def test_resolution_is_due_two_business_days_after_a_monday_morning_start():
    clock = make_clock(datetime(2024, 1, 8, 9, tzinfo=BERLIN))
    assert clock.due_at("resolution") == datetime(2024, 1, 9, 17, tzinfo=BERLIN)
    assert clock.due_at("first_response") == datetime(2024, 1, 8, 13, tzinfo=BERLIN)


def test_waiting_on_the_customer_pauses_the_clock_and_moves_the_due_time():
    clock = make_clock(datetime(2024, 1, 8, 9, tzinfo=BERLIN))
    clock.pause(datetime(2024, 1, 8, 11, tzinfo=BERLIN))
    assert clock.due_at("resolution") is None
    assert clock.instant_of(timedelta(hours=1)) == datetime(2024, 1, 8, 10, tzinfo=BERLIN)
    clock.resume(datetime(2024, 1, 9, 11, tzinfo=BERLIN))  # 8 business hours paused
    assert clock.due_at("resolution") == datetime(2024, 1, 10, 17, tzinfo=BERLIN)
    assert clock.elapsed(datetime(2024, 1, 9, 12, tzinfo=BERLIN)) == timedelta(hours=3)


def test_a_breach_in_one_cycle_is_remembered_after_reopening():
    clock = make_clock(datetime(2024, 1, 8, 9, tzinfo=BERLIN))
    clock.respond(datetime(2024, 1, 8, 10, tzinfo=BERLIN))
    clock.resolve(datetime(2024, 1, 10, 12, tzinfo=BERLIN))  # 19 h > 16 h
    assert clock.breached(datetime(2024, 1, 10, 12, tzinfo=BERLIN))
    clock.reopen(datetime(2024, 1, 11, 9, tzinfo=BERLIN))
    now = datetime(2024, 1, 11, 10, tzinfo=BERLIN)
    assert clock.cycle.number == 2
    assert not clock.breached(now)
    assert clock.ever_breached(now)
    assert clock.due_at("resolution") == datetime(2024, 1, 12, 17, tzinfo=BERLIN)


def test_a_responded_ticket_is_not_breached_on_first_response_later():
    clock = make_clock(datetime(2024, 1, 8, 9, tzinfo=BERLIN))
    clock.respond(datetime(2024, 1, 8, 12, tzinfo=BERLIN))
    assert not clock.metric_breached("first_response", datetime(2024, 1, 8, 16, tzinfo=BERLIN))
    assert clock.due_at("first_response") is None


def test_an_unanswered_ticket_breaches_first_response_after_the_target():
    clock = make_clock(datetime(2024, 1, 8, 9, tzinfo=BERLIN))
    assert not clock.breached(datetime(2024, 1, 8, 13, tzinfo=BERLIN))
    assert clock.breached(datetime(2024, 1, 8, 13, 1, tzinfo=BERLIN))


def test_events_before_the_cycle_start_are_rejected():
    clock = make_clock(datetime(2024, 1, 8, 9, tzinfo=BERLIN))
    with pytest.raises(ValueError, match="precedes"):
        clock.pause(datetime(2024, 1, 7, 9, tzinfo=BERLIN))
    clock.pause(datetime(2024, 1, 8, 12, tzinfo=BERLIN))
    with pytest.raises(ValueError, match="time order"):
        clock.resume(datetime(2024, 1, 8, 11, tzinfo=BERLIN))


def test_the_due_time_is_right_across_the_berlin_dst_change():
    cal24 = BusinessCalendar.twenty_four_seven(tz="Europe/Berlin")
    target = SlaTarget(first_response=timedelta(hours=1), resolution=timedelta(hours=4), calendar="24x7")
    clock = make_clock(datetime(2024, 3, 31, 0, 30, tzinfo=BERLIN), cal24, target)
    assert clock.due_at("resolution") == datetime(2024, 3, 31, 5, 30, tzinfo=BERLIN)  # 02:00-03:00 never existed
    office_clock = make_clock(datetime(2024, 10, 25, 13, tzinfo=BERLIN))  # Friday; DST ends Sunday
    assert office_clock.due_at("resolution") == datetime(2024, 10, 29, 13, tzinfo=BERLIN)


instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2025, 12, 31), timezones=st.just(UTC))
gaps = st.lists(st.integers(min_value=0, max_value=60 * 60 * 30), min_size=1, max_size=8)
calendars = st.sampled_from(
    [OFFICE, BusinessCalendar.weekdays("ny", tz="America/New_York", start=time(8), end=time(18))]
)


@settings(max_examples=200, deadline=None)
@given(cal=calendars, start=instants, steps=gaps)
def test_paused_time_never_counts(cal, start, steps):
    """Alternate running and paused stretches; elapsed equals the business time of the running ones only."""
    clock = make_clock(start, cal)
    t, running, expected = start, True, timedelta(0)
    for seconds in steps:
        nxt = t + timedelta(seconds=seconds)
        if running:
            expected += cal.business_time_between(t, nxt)
            clock.pause(nxt)
        else:
            clock.resume(nxt)
        t, running = nxt, not running
    assert clock.elapsed(t) == expected
    due = clock.due_at("resolution")
    if expected >= TARGET.resolution:
        assert due is not None and start <= due <= t  # already breached: due lies in the past
    elif running:
        assert due is not None and due >= t
        assert clock.elapsed(due) == TARGET.resolution
    else:
        assert due is None  # paused short of the target: no due time


@settings(max_examples=200, deadline=None)
@given(cal=calendars, start=instants, steps=gaps)
def test_elapsed_is_independent_of_how_evaluation_is_chunked(cal, start, steps):
    """Pausing and resuming at the same instant (an evaluation checkpoint) changes nothing."""
    chunked = make_clock(start, cal)
    t = start
    for seconds in steps:
        t += timedelta(seconds=seconds)
        chunked.pause(t)
        chunked.resume(t)
    whole = make_clock(start, cal)
    assert chunked.elapsed(t) == whole.elapsed(t) == cal.business_time_between(start, t)
    assert chunked.due_at("resolution") == whole.due_at("resolution")


@settings(max_examples=200, deadline=None)
@given(cal=calendars, start=instants)
def test_due_is_never_before_start(cal, start):
    clock = make_clock(start, cal)
    assert clock.due_at("first_response") >= start
    assert clock.due_at("resolution") >= clock.due_at("first_response")
