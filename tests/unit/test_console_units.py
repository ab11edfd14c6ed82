"""The console's pure parts: where a ticket stands against its SLA, the two languages, durations, safe redirects."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from api.console import i18n
from api.console.auth import safe_next
from triage.domain.agents import AgentStatus
from triage.domain.alerts import AlertType, Severity
from triage.domain.calendar import BusinessCalendar
from triage.domain.sla import SlaClock, SlaTarget, standing
from triage.kernel.vocabulary import MessageKind, TicketStatus
from triage.services.users import CONSOLE_ROLES

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessCalendar.weekdays("office", tz="Europe/Berlin", start=time(9), end=time(17))
TARGET = SlaTarget(first_response=timedelta(hours=4), resolution=timedelta(hours=16), calendar="office")
MONDAY_9 = datetime(2024, 1, 8, 9, tzinfo=BERLIN)
TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "console" / "templates"


def _clock() -> SlaClock:
    return SlaClock(ticket_id="T1", target=TARGET, calendar=OFFICE, started_at=MONDAY_9)


def test_standing_moves_from_on_track_to_warning_to_breached_on_business_time() -> None:
    clock = _clock()
    first = standing(clock, MONDAY_9 + timedelta(hours=1))
    assert (first.state, first.metric, first.due) == ("on_track", "first_response", MONDAY_9 + timedelta(hours=4))
    assert first.used == pytest.approx(0.25)
    assert standing(clock, MONDAY_9 + timedelta(hours=3)).state == "warning"  # 3 of 4 h: the 75 % warning
    late = standing(clock, MONDAY_9 + timedelta(hours=5))
    assert late.state == "breached" and late.due == MONDAY_9 + timedelta(hours=4) and late.used > 1
    clock.respond(MONDAY_9 + timedelta(hours=2))
    answered = standing(clock, MONDAY_9 + timedelta(hours=5))
    assert (answered.state, answered.metric) == ("on_track", "resolution")  # the next deadline is resolution
    assert answered.due == datetime(2024, 1, 9, 17, tzinfo=BERLIN)
    overnight = standing(clock, datetime(2024, 1, 8, 23, tzinfo=BERLIN))  # 8 business hours of 16: still on track
    assert overnight.state == "on_track" and overnight.used == pytest.approx(0.5)


def test_standing_of_a_paused_and_a_resolved_clock() -> None:
    clock = _clock()
    clock.respond(MONDAY_9 + timedelta(minutes=30))
    clock.pause(MONDAY_9 + timedelta(hours=1))
    paused = standing(clock, MONDAY_9 + timedelta(days=3))
    assert paused.state == "paused" and paused.due is None
    clock.resume(MONDAY_9 + timedelta(days=3))
    clock.resolve(MONDAY_9 + timedelta(days=3, hours=1))
    assert standing(clock, MONDAY_9 + timedelta(days=9)).state == "stopped"


def test_every_message_a_template_uses_exists_in_both_languages() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*['"]([a-z_.0-9]+)['"]""", template.read_text(encoding="utf-8")))
    families = {key for key in used if key.endswith(".")}  # t('status.' ~ ticket.status): one key per value
    used = (used - families) | {f"status.{s.value}" for s in TicketStatus} | {f"alert.{a.value}" for a in AlertType} \
        | {f"severity.{s.value}" for s in Severity} | {f"kind.{k.value}" for k in MessageKind} \
        | {f"role.{r.value}" for r in CONSOLE_ROLES} | {f"presence.{p.value}" for p in AgentStatus} \
        | {f"sla.{state}" for state in ("on_track", "warning", "breached", "paused", "stopped", "none")} \
        | {"ticket.sla.first_response", "ticket.sla.resolution"}
    assert families == {"status.", "alert.", "severity.", "kind.", "role.", "presence.", "sla.", "ticket.sla."}
    assert len(used) > 100
    for language in i18n.LANGUAGES:
        missing = sorted(key for key in used if key not in i18n.MESSAGES[language])
        assert not missing, f"{language} lacks {missing}"
    assert set(i18n.MESSAGES["en"]) == set(i18n.MESSAGES["zh"])
    placeholders = {k: set(re.findall(r"{(\w+)}", v)) for k, v in i18n.MESSAGES["en"].items()}
    assert all(set(re.findall(r"{(\w+)}", i18n.MESSAGES["zh"][k])) == p for k, p in placeholders.items())


def test_durations_and_times_in_the_users_language_and_zone() -> None:
    assert i18n.duration(45, "en") == "45s" and i18n.duration(125, "en") == "2m"
    assert i18n.duration(2 * 3600 + 5 * 60, "en") == "2h 05m" and i18n.duration(2 * 3600 + 5 * 60, "zh") == "2小时5分"
    assert i18n.duration(-(3 * 86400 + 4 * 3600), "en") == "3d 4h" and i18n.duration(None, "zh") == "—"
    moment = datetime(2026, 11, 24, 1, 30, tzinfo=ZoneInfo("UTC"))
    assert i18n.local_time(moment, ZoneInfo("Asia/Shanghai")) == "2026-11-24 09:30"
    assert i18n.local_time(moment, ZoneInfo("America/New_York")) == "2026-11-23 20:30"
    assert i18n.choose_language(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert i18n.choose_language("en", "zh-CN") == "en" and i18n.choose_language("fr", "de-DE") == "en"
    assert i18n.translate("zh", "queue.count", n=3) == "3 张未结工单，按 SLA 截止时间排序"


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/tickets/TKT-1", "/tickets/TKT-1"), ("/queue?view=team", "/queue?view=team"), ("//evil.example", "/"),
     ("https://evil.example/", "/"), ("/\\evil.example", "/"), ("", "/"), (None, "/"), ("javascript:alert(1)", "/")],
)  # fmt: skip
def test_redirects_after_sign_in_stay_on_this_server(path: str | None, expected: str) -> None:
    assert safe_next(path) == expected
