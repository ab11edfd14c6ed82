"""``triage simulate``: compare routing policies and staffing what-ifs with a discrete-event simulation."""

from __future__ import annotations

import argparse
from pathlib import Path

from triage.adapters.policy_file import load_roster, load_routing_config
from triage.config import get_settings
from triage.errors import ConfigError
from triage.routing import Strategy
from triage.simulation import category_mix, compare_policies, format_table, parse_extra_agent, plot_results

DEFAULT_DATA = Path("../shared/data/it_service_tickets/data.csv")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``simulate`` sub-command."""
    parser = subparsers.add_parser(
        "simulate",
        help="simulate the help desk: routing policies, SLA attainment, utilisation, staffing what-ifs",
        description="Seeded discrete-event simulation of ticket arrivals and agents. Prints a Markdown table.",
    )
    parser.add_argument("--config", type=Path, default=None, help="routing config folder (default: settings)")
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="IT service-ticket CSV for the category mix (demo mix if absent)",
    )
    parser.add_argument("--load", type=float, default=0.85, help="offered load of the base roster (default 0.85)")
    parser.add_argument("--days", type=float, default=20, help="business days of arrivals (default 20)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--policies",
        default="round_robin,skills",
        help=f"comma-separated strategies among {', '.join(s.value for s in Strategy)}",
    )
    parser.add_argument(
        "--add-agent",
        action="append",
        default=[],
        metavar="SKILL:LEVEL[:LANGS[:SENIORITY]]",
        help="what-if: add an agent, e.g. network:3 or billing:4:zh+en:3 (repeatable)",
    )
    parser.add_argument("--roster", type=Path, default=None, help="what-if: an agents.toml to compare against")
    parser.add_argument("--plot", type=Path, default=None, help="write an SLA attainment bar chart (PNG)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the simulation described by ``args`` and print the table; returns the exit code."""
    config = load_routing_config(args.config or get_settings().routing_config_dir)
    try:
        strategies = [Strategy(name.strip()) for name in args.policies.split(",") if name.strip()]
    except ValueError as exc:
        raise ConfigError(f"--policies: {exc}; choose among {', '.join(s.value for s in Strategy)}") from None
    what_if, label = None, ""
    if args.roster is not None:
        what_if, label = list(load_roster(args.roster, config.teams)), f"roster {args.roster.name}"
    if args.add_agent:
        base = what_if if what_if is not None else list(config.agents)
        try:
            extra = [parse_extra_agent(spec, config.policy, i) for i, spec in enumerate(args.add_agent, 1)]
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        what_if = base + extra
        label = " ".join(filter(None, [label, *(f"+{spec}" for spec in args.add_agent)]))
    mix = category_mix(args.data)
    source = args.data if args.data is not None and args.data.is_file() else "built-in demo mix"
    results = compare_policies(
        agents=config.agents,
        policy=config.policy,
        sla=config.sla,
        mix=mix,
        load=args.load,
        days=args.days,
        seed=args.seed,
        strategies=strategies,
        what_if=what_if,
        what_if_label=label,
    )
    print(
        f"# {len(config.agents)} agents, load {args.load:.0%}, {args.days:g} business days, seed {args.seed}, "
        f"categories from {source}"
    )
    print(format_table(results))
    if args.plot is not None:
        print(f"plot: {plot_results(results, args.plot)}")
    return 0
