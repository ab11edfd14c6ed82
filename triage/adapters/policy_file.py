"""Load routing and SLA configuration from the human-edited TOML files in ``config/``.

Files: ``teams.toml``, ``agents.toml``, ``routing.toml``, ``calendars.toml``, ``sla.toml`` and the category
``taxonomy.toml`` (see :mod:`triage.adapters.taxonomy_file`). Every problem raises
:class:`~triage.kernel.errors.ConfigError` naming the file, the key and what is wrong, so a bad edit fails at
start-up rather than on the first ticket.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from triage.adapters.taxonomy_file import load_taxonomy
from triage.adapters.toml_file import TomlFile
from triage.domain.agents import Agent, Shift, Team
from triage.domain.calendar import BusinessCalendar
from triage.domain.desk import RoutingConfig
from triage.domain.escalation import EscalationRule
from triage.domain.routing import DEFAULT_MIN_SKILL_LEVEL, RoutingPolicy
from triage.domain.sla import METRICS, SlaPolicy, SlaTarget
from triage.domain.taxonomy import Taxonomy
from triage.kernel.vocabulary import SPOKEN_LANGUAGES, Priority, Tier

FILES = ("teams.toml", "agents.toml", "routing.toml", "calendars.toml", "sla.toml", "taxonomy.toml")
PRIORITIES = tuple(p.value for p in Priority)
TIERS = tuple(t.value for t in Tier)
LANGUAGES = tuple(lang.value for lang in SPOKEN_LANGUAGES)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NOTIFY = ("assignee", "team_lead", "director")
_WINDOW = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


def load_routing_config(config_dir: Path | str, *, taxonomy_file: Path | str | None = None) -> RoutingConfig:
    """Read, validate and cross-check the routing and SLA configuration.

    Args:
        config_dir: Folder with ``teams.toml``, ``agents.toml``, ``routing.toml``, ``calendars.toml``,
            ``sla.toml`` and ``taxonomy.toml`` (usually ``Settings.routing_config_dir``).
        taxonomy_file: A taxonomy elsewhere (``Settings.taxonomy_file``); default ``config_dir/taxonomy.toml``.

    Returns:
        The configuration as domain objects.

    Raises:
        ConfigError: If a file is missing or invalid; the message names file, key and problem.
    """
    folder = Path(config_dir)
    calendars = _load_calendars(TomlFile(folder / "calendars.toml"))
    teams = _load_teams(TomlFile(folder / "teams.toml"), calendars)
    taxonomy = load_taxonomy(Path(taxonomy_file) if taxonomy_file else folder / "taxonomy.toml", teams=set(teams))
    policy = _load_routing(TomlFile(folder / "routing.toml"), taxonomy)
    agents = _load_agents(TomlFile(folder / "agents.toml"), teams)
    sla, rules = _load_sla(TomlFile(folder / "sla.toml"), calendars, taxonomy)
    return RoutingConfig(
        teams=teams, agents=agents, policy=policy, calendars=calendars, sla=sla, escalation=rules, source=folder
    )


def _load_calendars(f: TomlFile) -> dict[str, BusinessCalendar]:
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


def _load_teams(f: TomlFile, calendars: Mapping[str, BusinessCalendar]) -> dict[str, Team]:
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


def _load_routing(f: TomlFile, taxonomy: Taxonomy) -> RoutingPolicy:
    f.no_unknown(f.data, {"senior_seniority", "angry_threshold", "vip_needs_senior", "min_skill_level"}, "")
    levels = f.get(f.data, "min_skill_level", "", dict, {})
    f.no_unknown(levels, set(PRIORITIES), "min_skill_level")
    min_level = dict(DEFAULT_MIN_SKILL_LEVEL)
    for prio in levels:
        value = f.get(levels, prio, "min_skill_level", int)
        if not 0 <= value <= 5:
            raise f.error(f"min_skill_level.{prio}", f"must be 0..5, got {value}")
        min_level[Priority(prio)] = value
    anger = f.get(f.data, "angry_threshold", "", (int, float), 0.7)
    if not 0.0 <= anger <= 1.0:
        raise f.error("angry_threshold", f"must be between 0 and 1, got {anger}")
    return RoutingPolicy(
        taxonomy=taxonomy,
        min_skill_level=min_level,
        senior_seniority=f.get(f.data, "senior_seniority", "", int, 3),
        angry_threshold=float(anger),
        vip_needs_senior=f.get(f.data, "vip_needs_senior", "", bool, False),
    )


def _load_agents(f: TomlFile, teams: Mapping[str, Team]) -> tuple[Agent, ...]:
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


def _shift(f: TomlFile, table: Any, where: str) -> Shift:
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


def _load_sla(
    f: TomlFile, calendars: Mapping[str, BusinessCalendar], taxonomy: Taxonomy
) -> tuple[SlaPolicy, tuple[EscalationRule, ...]]:
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
        if cat is not None and cat not in taxonomy.categories:
            raise f.error(f"{where}.category", f"category {cat!r} is not in the taxonomy")
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
    return _load_agents(TomlFile(Path(path)), teams)
