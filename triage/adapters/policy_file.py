"""Load routing and SLA configuration from the human-edited TOML files in ``config/``.

Files: ``teams.toml``, ``agents.toml``, ``routing.toml``, ``calendars.toml``, ``sla.toml``. Every problem
raises :class:`~triage.errors.ConfigError` naming the file, the key and what is wrong, so a bad edit
fails at start-up rather than on the first ticket.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from triage.calendar import BusinessCalendar
from triage.domain import (
    CATEGORIES,
    LANGUAGES,
    METRICS,
    PRIORITIES,
    TIERS,
    Agent,
    CategoryRoute,
    EscalationRule,
    RoutingPolicy,
    Shift,
    SlaPolicy,
    SlaTarget,
    Team,
    TicketForRouting,
)
from triage.errors import ConfigError
from triage.sla import SlaClock

FILES = ("teams.toml", "agents.toml", "routing.toml", "calendars.toml", "sla.toml")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NOTIFY = ("assignee", "team_lead", "director")
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+)m)?$")
_WINDOW = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


@dataclass(frozen=True)
class RoutingConfig:
    """Everything routing and SLA need, validated and cross-checked."""

    teams: Mapping[str, Team]
    agents: tuple[Agent, ...]
    policy: RoutingPolicy
    calendars: Mapping[str, BusinessCalendar]
    sla: SlaPolicy
    escalation: tuple[EscalationRule, ...]
    source: Path = field(default=Path("config"))

    def calendar_for(self, target: SlaTarget) -> BusinessCalendar:
        """The business calendar a target is counted on."""
        return self.calendars[target.calendar]

    def clock_for(self, ticket: TicketForRouting, *, started_at: datetime | None = None) -> SlaClock:
        """A fresh SLA clock for ``ticket`` with its matrix target and calendar.

        Raises:
            ValueError: If neither ``started_at`` nor ``ticket.created_at`` is given.
        """
        start = started_at or ticket.created_at
        if start is None:
            raise ValueError(f"ticket {ticket.id}: need started_at or created_at to start an SLA clock")
        target = self.sla.target_for(priority=ticket.priority, tier=ticket.tier, category=ticket.category)
        return SlaClock(ticket_id=ticket.id, target=target, calendar=self.calendar_for(target), started_at=start)


class _File:
    """One TOML file, with helpers that raise ConfigError naming this file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            with path.open("rb") as fh:
                self.data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"{path}: file is missing; routing needs {', '.join(FILES)}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: key {key!r}: {problem}")

    def get(
        self, table: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...], default: Any = ...
    ) -> Any:
        full = f"{where}.{key}" if where else key
        if key not in table:
            if default is ...:
                raise self.error(full, "is required")
            return default
        value = table[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float, (int, float))):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.error(full, f"must be {names}, got {type(value).__name__} {value!r}")
        return value

    def no_unknown(self, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.error(
                    f"{where}.{key}" if where else key, f"unknown key; allowed: {', '.join(sorted(allowed))}"
                )

    def duration(self, table: Mapping[str, Any], key: str, where: str, default: Any = ...) -> timedelta:
        raw = self.get(table, key, where, str, default)
        if isinstance(raw, timedelta):
            return raw
        match = _DURATION.match(raw.strip())
        if not raw.strip() or not match or not any(match.groups()):
            raise self.error(f"{where}.{key}", f"{raw!r} is not a duration like '30m', '4h' or '1h30m'")
        return timedelta(hours=float(match.group(1) or 0), minutes=int(match.group(2) or 0))

    def clock(self, raw: str, key: str) -> time | None:
        if raw == "24:00":
            return None
        try:
            return time.fromisoformat(raw)
        except ValueError:
            raise self.error(key, f"{raw!r} is not a time HH:MM") from None


def load_routing_config(config_dir: Path | str) -> RoutingConfig:
    """Read, validate and cross-check the routing and SLA configuration.

    Args:
        config_dir: Folder with ``teams.toml``, ``agents.toml``, ``routing.toml``, ``calendars.toml`` and
            ``sla.toml`` (usually ``Settings.routing_config_dir``).

    Returns:
        The configuration as domain objects.

    Raises:
        ConfigError: If a file is missing or invalid; the message names file, key and problem.
    """
    folder = Path(config_dir)
    calendars = _load_calendars(_File(folder / "calendars.toml"))
    teams = _load_teams(_File(folder / "teams.toml"), calendars)
    policy = _load_routing(_File(folder / "routing.toml"), teams)
    agents = _load_agents(_File(folder / "agents.toml"), teams)
    sla, rules = _load_sla(_File(folder / "sla.toml"), calendars)
    return RoutingConfig(
        teams=teams, agents=agents, policy=policy, calendars=calendars, sla=sla, escalation=rules, source=folder
    )


def _load_calendars(f: _File) -> dict[str, BusinessCalendar]:
    f.no_unknown(f.data, {"calendars"}, "")
    tables = f.get(f.data, "calendars", "", dict)
    out: dict[str, BusinessCalendar] = {}
    for name, table in tables.items():
        where = f"calendars.{name}"
        if not isinstance(table, dict):
            raise f.error(where, "must be a table")
        f.no_unknown(table, {"tz", "hours", "holidays", "always_open"}, where)
        tz = f.get(table, "tz", where, str, "UTC")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise f.error(f"{where}.tz", f"unknown timezone {tz!r}; use an IANA name like 'Asia/Shanghai'") from None
        always = f.get(table, "always_open", where, bool, False)
        hours = f.get(table, "hours", where, dict, {})
        f.no_unknown(hours, set(DAYS), f"{where}.hours")
        weekly: dict[int, tuple[tuple[time, time | None], ...]] = {}
        for day, windows in hours.items():
            key = f"{where}.hours.{day}"
            if not isinstance(windows, list):
                raise f.error(key, "must be a list of 'HH:MM-HH:MM' strings")
            parsed = []
            for raw in windows:
                match = _WINDOW.match(raw) if isinstance(raw, str) else None
                if not match:
                    raise f.error(key, f"{raw!r} is not a window 'HH:MM-HH:MM'")
                start = f.clock(f"{match.group(1)}:{match.group(2)}", key)
                end = f.clock(f"{match.group(3)}:{match.group(4)}", key)
                if start is None or (end is not None and end <= start):
                    raise f.error(key, f"window {raw!r} must end after it starts")
                parsed.append((start, end))
            weekly[DAYS.index(day)] = tuple(sorted(parsed, key=lambda w: w[0]))
        holidays = f.get(table, "holidays", where, list, [])
        for h in holidays:
            if not isinstance(h, date) or isinstance(h, datetime):
                raise f.error(f"{where}.holidays", f"{h!r} is not a TOML date like 2026-01-01 (no quotes)")
        if not always and not any(weekly.values()):
            raise f.error(f"{where}.hours", "no opening hours; add hours or set always_open = true")
        out[name] = BusinessCalendar(name=name, tz=tz, weekly=weekly, holidays=frozenset(holidays), always_open=always)
    if not out:
        raise f.error("calendars", "define at least one calendar")
    return out


def _load_teams(f: _File, calendars: Mapping[str, BusinessCalendar]) -> dict[str, Team]:
    f.no_unknown(f.data, {"teams"}, "")
    out = {}
    for team_id, table in f.get(f.data, "teams", "", dict).items():
        where = f"teams.{team_id}"
        if not isinstance(table, dict):
            raise f.error(where, "must be a table")
        f.no_unknown(table, {"name", "lead", "director", "calendar"}, where)
        cal = f.get(table, "calendar", where, str, next(iter(calendars)))
        if cal not in calendars:
            raise f.error(f"{where}.calendar", f"unknown calendar {cal!r}; known: {', '.join(calendars)}")
        out[team_id] = Team(
            id=team_id,
            name=f.get(table, "name", where, str, team_id),
            lead=f.get(table, "lead", where, str, None),
            director=f.get(table, "director", where, str, None),
            calendar=cal,
        )
    if not out:
        raise f.error("teams", "define at least one team")
    return out


def _load_routing(f: _File, teams: Mapping[str, Team]) -> RoutingPolicy:
    allowed = {
        "senior_seniority",
        "angry_threshold",
        "vip_needs_senior",
        "default_team",
        "min_skill_level",
        "categories",
    }
    f.no_unknown(f.data, allowed, "")
    levels = f.get(f.data, "min_skill_level", "", dict, {})
    f.no_unknown(levels, set(PRIORITIES), "min_skill_level")
    min_level = {"P1": 3, "P2": 2, "P3": 1, "P4": 1}
    for prio in levels:
        value = f.get(levels, prio, "min_skill_level", int)
        if not 0 <= value <= 5:
            raise f.error(f"min_skill_level.{prio}", f"must be 0..5, got {value}")
        min_level[prio] = value
    anger = f.get(f.data, "angry_threshold", "", (int, float), 0.7)
    if not 0.0 <= anger <= 1.0:
        raise f.error("angry_threshold", f"must be between 0 and 1, got {anger}")
    default_team = f.get(f.data, "default_team", "", str, next(iter(teams)))
    if default_team not in teams:
        raise f.error("default_team", f"unknown team {default_team!r}; known: {', '.join(teams)}")
    cats = f.get(f.data, "categories", "", dict)
    routes = {}
    for cat, table in cats.items():
        where = f"categories.{cat}"
        if cat not in CATEGORIES:
            raise f.error(where, f"unknown category; the model's labels are: {', '.join(CATEGORIES)}")
        if not isinstance(table, dict):
            raise f.error(where, 'must be a table like { skill = "network", team = "tech" }')
        f.no_unknown(table, {"skill", "team"}, where)
        team = f.get(table, "team", where, str)
        if team not in teams:
            raise f.error(f"{where}.team", f"unknown team {team!r}; known: {', '.join(teams)}")
        routes[cat] = CategoryRoute(skill=f.get(table, "skill", where, str), team=team)
    missing = [c for c in CATEGORIES if c not in routes]
    if missing:
        raise f.error("categories", f"missing categories: {', '.join(missing)}")
    return RoutingPolicy(
        categories=routes,
        min_skill_level=min_level,
        senior_seniority=f.get(f.data, "senior_seniority", "", int, 3),
        angry_threshold=float(anger),
        vip_needs_senior=f.get(f.data, "vip_needs_senior", "", bool, False),
        default_team=default_team,
    )


def _load_agents(f: _File, teams: Mapping[str, Team]) -> tuple[Agent, ...]:
    f.no_unknown(f.data, {"agents"}, "")
    out: list[Agent] = []
    seen: set[str] = set()
    for i, table in enumerate(f.get(f.data, "agents", "", list)):
        where = f"agents[{i}]"
        if not isinstance(table, dict):
            raise f.error(where, "must be a table")
        f.no_unknown(table, {"id", "name", "team", "languages", "capacity", "seniority", "skills", "shifts"}, where)
        agent_id = f.get(table, "id", where, str)
        where = f"agents[{i}] (id={agent_id})"
        if agent_id in seen:
            raise f.error(where, "duplicate agent id")
        seen.add(agent_id)
        team = f.get(table, "team", where, str)
        if team not in teams:
            raise f.error(f"{where}.team", f"unknown team {team!r}; known: {', '.join(teams)}")
        languages = f.get(table, "languages", where, list)
        bad = [lang for lang in languages if lang not in LANGUAGES]
        if not languages or bad:
            raise f.error(f"{where}.languages", f"must list some of {', '.join(LANGUAGES)}; bad: {bad}")
        capacity = f.get(table, "capacity", where, int)
        if capacity < 1:
            raise f.error(f"{where}.capacity", f"must be >= 1, got {capacity}")
        seniority = f.get(table, "seniority", where, int, 1)
        if not 1 <= seniority <= 4:
            raise f.error(f"{where}.seniority", f"must be 1..4, got {seniority}")
        skills = f.get(table, "skills", where, dict, {})
        for skill, level in skills.items():
            if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 5:
                raise f.error(f"{where}.skills.{skill}", f"level must be an integer 1..5, got {level!r}")
        shifts = tuple(
            _shift(f, s, f"{where}.shifts[{j}]") for j, s in enumerate(f.get(table, "shifts", where, list, []))
        )
        out.append(
            Agent(
                id=agent_id,
                name=f.get(table, "name", where, str, agent_id),
                team=team,
                skills=dict(skills),
                languages=frozenset(languages),
                capacity=capacity,
                seniority=seniority,
                shifts=shifts,
            )
        )
    if not out:
        raise f.error("agents", "define at least one agent")
    return tuple(out)


def _shift(f: _File, table: Any, where: str) -> Shift:
    if not isinstance(table, dict):
        raise f.error(where, 'must be a table { days = [...], start = "09:00", end = "17:00", tz = "..." }')
    f.no_unknown(table, {"days", "start", "end", "tz"}, where)
    days = f.get(table, "days", where, list)
    bad = [d for d in days if d not in DAYS]
    if not days or bad:
        raise f.error(f"{where}.days", f"must list days among {', '.join(DAYS)}; bad: {bad}")
    tz = f.get(table, "tz", where, str, "UTC")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise f.error(f"{where}.tz", f"unknown timezone {tz!r}") from None
    start = f.clock(f.get(table, "start", where, str), f"{where}.start") or time(0)
    end = f.clock(f.get(table, "end", where, str), f"{where}.end") or time(0)
    if start == end:
        raise f.error(where, "start and end are equal; a shift needs a length")
    return Shift(weekdays=frozenset(DAYS.index(d) for d in days), start=start, end=end, tz=tz)


def _load_sla(f: _File, calendars: Mapping[str, BusinessCalendar]) -> tuple[SlaPolicy, tuple[EscalationRule, ...]]:
    f.no_unknown(f.data, {"targets", "escalation"}, "")
    targets: dict[tuple[str, str, str | None], SlaTarget] = {}
    for i, row in enumerate(f.get(f.data, "targets", "", list)):
        where = f"targets[{i}]"
        if not isinstance(row, dict):
            raise f.error(where, "must be a table")
        f.no_unknown(row, {"priority", "tier", "category", "first_response", "resolution", "calendar"}, where)
        prio = f.get(row, "priority", where, str)
        if prio not in PRIORITIES:
            raise f.error(f"{where}.priority", f"{prio!r} is not one of {', '.join(PRIORITIES)}")
        tier = f.get(row, "tier", where, str)
        if tier not in TIERS:
            raise f.error(f"{where}.tier", f"{tier!r} is not one of {', '.join(TIERS)}")
        cat = f.get(row, "category", where, str, None)
        if cat is not None and cat not in CATEGORIES:
            raise f.error(f"{where}.category", f"unknown category {cat!r}")
        cal = f.get(row, "calendar", where, str)
        if cal not in calendars:
            raise f.error(f"{where}.calendar", f"unknown calendar {cal!r}; known: {', '.join(calendars)}")
        first = f.duration(row, "first_response", where)
        resolution = f.duration(row, "resolution", where)
        if first <= timedelta(0) or resolution < first:
            raise f.error(where, "first_response must be > 0 and resolution >= first_response")
        key = (prio, tier, cat)
        if key in targets:
            raise f.error(where, f"duplicate row for priority={prio} tier={tier} category={cat}")
        targets[key] = SlaTarget(first_response=first, resolution=resolution, calendar=cal)
    missing = [f"{p}×{t}" for p in PRIORITIES for t in TIERS if (p, t, None) not in targets]
    if missing:
        raise f.error("targets", f"the matrix lacks rows for {', '.join(missing)}")
    rules = []
    names: set[str] = set()
    for i, row in enumerate(f.get(f.data, "escalation", "", list, [])):
        where = f"escalation[{i}]"
        if not isinstance(row, dict):
            raise f.error(where, "must be a table")
        f.no_unknown(row, {"name", "metric", "notify", "at_fraction", "after"}, where)
        name = f.get(row, "name", where, str)
        if name in names:
            raise f.error(f"{where}.name", f"duplicate rule name {name!r}")
        names.add(name)
        metric = f.get(row, "metric", where, str)
        if metric not in METRICS:
            raise f.error(f"{where}.metric", f"{metric!r} is not one of {', '.join(METRICS)}")
        notify = f.get(row, "notify", where, str)
        if notify not in NOTIFY:
            raise f.error(f"{where}.notify", f"{notify!r} is not one of {', '.join(NOTIFY)}")
        fraction = float(f.get(row, "at_fraction", where, (int, float), 0.0 if metric == "acceptance" else 1.0))
        if not 0.0 <= fraction <= 10.0:
            raise f.error(f"{where}.at_fraction", f"must be between 0 and 10, got {fraction}")
        after = f.duration(row, "after", where, "0m")
        if metric == "acceptance" and after <= timedelta(0):
            raise f.error(f"{where}.after", "an acceptance rule needs a positive 'after' (e.g. \"2h\")")
        rules.append(EscalationRule(name=name, metric=metric, notify=notify, at_fraction=fraction, after=after))
    return SlaPolicy(targets=targets), tuple(rules)


def load_roster(path: Path | str, teams: Mapping[str, Team]) -> tuple[Agent, ...]:
    """Read an ``agents.toml``-style roster (e.g. a what-if override for the simulator).

    Args:
        path: The TOML file with ``[[agents]]`` tables.
        teams: Known teams (agents must belong to one).

    Returns:
        The agents.

    Raises:
        ConfigError: If the file is missing or invalid.
    """
    return _load_agents(_File(Path(path)), teams)
