from __future__ import annotations

import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from triage.domain.calendar import BusinessCalendar
from triage.domain.escalation import EscalationRule, Escalator
from triage.domain.sla import SlaClock, SlaTarget

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessCalendar.weekdays("office", tz="Europe/Berlin", start=time(9), end=time(17))
TARGET = SlaTarget(first_response=timedelta(hours=2), resolution=timedelta(hours=8), calendar="office")
RULES = (
    EscalationRule(name="warn", metric="resolution", notify="assignee", at_fraction=0.75),
    EscalationRule(name="lead", metric="resolution", notify="team_lead", at_fraction=1.0),
    EscalationRule(name="director", metric="resolution", notify="director", at_fraction=1.0, after=timedelta(hours=4)),
    EscalationRule(name="not-accepted-2h", metric="acceptance", notify="team_lead", after=timedelta(hours=2)),
)
MONDAY_9 = datetime(2024, 1, 8, 9, tzinfo=BERLIN)


def make_escalator(calendar: BusinessCalendar = OFFICE) -> Escalator:
    clock = SlaClock(ticket_id="T1", target=TARGET, calendar=calendar, started_at=MONDAY_9)
    return Escalator(clock=clock, rules=RULES, recipients={"team_lead": "lead-1", "director": "dir-1"})


def at(hours: float) -> datetime:
    """The first open instant once ``hours`` of business time have passed since Monday 09:00."""
    return OFFICE.next_open(OFFICE.add_business_time(MONDAY_9, timedelta(hours=hours)))


def test_each_level_fires_exactly_once_per_cycle_under_repeated_evaluation():
    esc = make_escalator()
    fired = []
    for step in range(0, 14 * 4):  # every 15 business minutes for 14 h, twice each
        now = at(step / 4)
        fired += esc.evaluate(now)
        fired += esc.evaluate(now)
    assert [e.rule for e in fired] == ["not-accepted-2h", "warn", "lead", "director"]
    assert esc.history == fired


def test_unaccepted_ticket_escalates_to_the_team_lead_after_two_business_hours():
    esc = make_escalator()
    assert esc.evaluate(at(1.99)) == []
    [event] = esc.evaluate(at(2))
    assert (event.rule, event.notify, event.recipient) == ("not-accepted-2h", "team_lead", "lead-1")
    assert event.threshold_at == datetime(2024, 1, 8, 11, tzinfo=BERLIN)


def test_an_accepted_ticket_does_not_escalate_for_acceptance():
    esc = make_escalator()
    esc.clock.accept(at(1))
    assert all(e.rule != "not-accepted-2h" for e in esc.evaluate(at(3)))


def test_warning_fires_at_75_percent_of_the_target():
    esc = make_escalator()
    esc.clock.accept(at(0.5))
    assert esc.evaluate(at(5.9)) == []
    assert [e.rule for e in esc.evaluate(at(6))] == ["warn"]


def test_director_escalation_waits_for_the_configured_delay_after_breach():
    esc = make_escalator()
    esc.clock.accept(at(0.5))
    assert {e.rule for e in esc.evaluate(at(8))} == {"warn", "lead"}
    assert esc.evaluate(at(11.9)) == []
    assert [e.rule for e in esc.evaluate(at(12))] == ["director"]


def test_nothing_fires_at_night_and_the_pending_level_fires_at_the_next_opening():
    esc = make_escalator()
    esc.clock.accept(at(0.5))
    monday_night = datetime(2024, 1, 8, 23, tzinfo=BERLIN)
    assert esc.evaluate(monday_night) == []  # 8 h elapsed at 17:00 but nobody is pinged at 23:00
    events = esc.evaluate(datetime(2024, 1, 9, 9, 5, tzinfo=BERLIN))
    assert {e.rule for e in events} == {"warn", "lead"}
    assert all(e.fired_at.hour == 9 for e in events)


def test_a_24x7_policy_pings_at_night():
    esc = make_escalator(BusinessCalendar.twenty_four_seven(tz="Europe/Berlin"))
    esc.clock.accept(MONDAY_9)
    assert {e.rule for e in esc.evaluate(datetime(2024, 1, 8, 20, tzinfo=BERLIN))} == {"warn", "lead"}


def test_a_reopened_ticket_can_escalate_again_in_its_new_cycle():
    esc = make_escalator()
    esc.clock.accept(at(0.5))
    assert "lead" in {e.rule for e in esc.evaluate(at(8))}
    esc.clock.resolve(at(9))
    assert esc.evaluate(at(10)) == []
    esc.clock.reopen(at(10))
    esc.clock.accept(at(10))
    events = esc.evaluate(at(18))
    assert {e.rule for e in events} == {"warn", "lead"}
    assert {e.cycle for e in events} == {2}


def test_concurrent_evaluations_fire_each_level_once():
    esc = make_escalator()
    now = at(20)
    results: list[list] = []
    threads = [threading.Thread(target=lambda: results.append(esc.evaluate(now))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fired = [e.rule for batch in results for e in batch]
    assert sorted(fired) == sorted(r.name for r in RULES)
