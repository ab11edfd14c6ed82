"""``triage simulate``: compare routing policies and staffing what-ifs with a discrete-event simulation.

The simulation itself is :mod:`triage.services.simulation`; this module reads its inputs (the category mix of a
dataset, what-if agents) and presents its results (a Markdown table, a bar chart).
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402

from triage.adapters.policy_file import load_roster, load_routing_config  # noqa: E402
from triage.config import get_settings  # noqa: E402
from triage.domain.agents import Agent  # noqa: E402
from triage.domain.routing import RoutingPolicy, Strategy  # noqa: E402
from triage.domain.taxonomy import Taxonomy  # noqa: E402
from triage.kernel.errors import ConfigError  # noqa: E402
from triage.services.simulation import PRIORITY_MIX, PolicyResult, compare_policies  # noqa: E402

DEFAULT_DATA = Path("../shared/data/it_service_tickets/data.csv")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``simulate`` options."""
    parser.description = "Seeded discrete-event simulation of ticket arrivals and agents. Prints a Markdown table."
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
    settings = get_settings()
    config = load_routing_config(args.config or settings.routing_config_dir, taxonomy_file=settings.taxonomy_file)
    try:
        strategies = [Strategy(name.strip()) for name in args.policies.split(",") if name.strip()]
    except ValueError as exc:
        raise ConfigError(f"--policies: {exc}; choose among {', '.join(s.value for s in Strategy)}") from None
    what_if, label = None, ""
    if args.roster is not None:
        what_if, label = list(load_roster(args.roster, config.teams)), f"roster {args.roster.name}"
    if args.add_agent:
        base = what_if if what_if is not None else list(config.agents)
        extra = [parse_extra_agent(spec, config.policy, i) for i, spec in enumerate(args.add_agent, 1)]
        what_if = base + extra
        label = " ".join(filter(None, [label, *(f"+{spec}" for spec in args.add_agent)]))
    mix = category_mix(args.data, config.policy.taxonomy)
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


#: Topic groups of ``data/it_service_tickets`` → our categories. "Hardware" tickets that talk about
#: networks are split off to ``repair/network`` by keyword (the dataset has no network class).
TOPIC_TO_CATEGORY: Mapping[str, str] = {
    "Hardware": "repair/hardware",
    "HR Support": "inquiry/product",
    "Access": "account/access",
    "Miscellaneous": "inquiry/product",
    "Storage": "repair/software",
    "Purchase": "billing/payment",
    "Internal Project": "repair/software",
    "Administrative rights": "account/access",
}
_NETWORK_WORDS = re.compile(r"\b(network|wifi|wi-fi|vpn|internet|connection|connectivity|connect|lan|router|proxy)\b")

#: Used when the dataset is not available: a plausible consumer help-desk mix.
DEMO_CATEGORY_MIX: Mapping[str, float] = {
    "account/access": 0.14,
    "billing/payment": 0.08,
    "billing/refund": 0.06,
    "billing/invoice": 0.05,
    "repair/network": 0.10,
    "repair/hardware": 0.14,
    "repair/software": 0.13,
    "service/outage": 0.03,
    "delivery/shipping": 0.07,
    "inquiry/product": 0.14,
    "complaint/service": 0.06,
}


def category_mix(data_csv: Path | None, taxonomy: Taxonomy) -> dict[str, float]:
    """Category shares from the IT service-ticket CSV (``topic_group`` column), else the demo mix.

    Either mix must name categories the taxonomy routes; for a taxonomy of other labels every leaf gets an
    equal share.
    """
    if data_csv is None or not Path(data_csv).is_file():
        return _routable(dict(DEMO_CATEGORY_MIX), taxonomy)
    counts: Counter[str] = Counter()
    with Path(data_csv).open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            topic = row.get("topic_group", "")
            category = TOPIC_TO_CATEGORY.get(topic)
            if category is None:
                continue
            if topic == "Hardware" and _NETWORK_WORDS.search(row.get("text", "")):
                category = "repair/network"
            counts[category] += 1
    total = sum(counts.values())
    if not total:
        return _routable(dict(DEMO_CATEGORY_MIX), taxonomy)
    return _routable({cat: n / total for cat, n in sorted(counts.items())}, taxonomy)


def _routable(mix: dict[str, float], taxonomy: Taxonomy) -> dict[str, float]:
    if not taxonomy.unmapped(mix):
        return mix
    leaves = [c.path for c in taxonomy.leaves() if taxonomy.route_for(c.path)]
    return dict.fromkeys(leaves, 1.0 / len(leaves))


def parse_extra_agent(spec: str, policy: RoutingPolicy, index: int) -> Agent:
    """An extra agent from ``skill:level[:langs[:seniority]]``, e.g. ``network:3`` or ``billing:4:zh:3``.

    Raises:
        ConfigError: If the spec is malformed or the skill is not used by any category.
    """
    parts = spec.split(":")
    if not 2 <= len(parts) <= 4 or not parts[1].isdigit():
        raise ConfigError(f"--add-agent {spec!r}: expected skill:level[:zh+en[:seniority]], e.g. network:3")
    skill, level = parts[0], int(parts[1])
    teams = sorted({c.team for c in policy.taxonomy.categories.values() if c.skill == skill and c.team})
    if not teams:
        known = sorted(policy.taxonomy.skills())
        raise ConfigError(f"--add-agent {spec!r}: no category needs skill {skill!r}; known: {', '.join(known)}")
    languages = frozenset(parts[2].split("+")) if len(parts) > 2 else frozenset({"zh", "en"})
    seniority = int(parts[3]) if len(parts) > 3 else 2
    return Agent(
        id=f"extra-{index}-{skill}",
        name=f"extra {skill} agent",
        team=teams[0],
        skills={skill: level},
        languages=languages,
        capacity=8,
        seniority=seniority,
    )


def format_table(results: Sequence[PolicyResult]) -> str:
    """A Markdown table of results (minutes for response times)."""
    head = "| policy | tickets | P1 SLA | P2 SLA | P3 SLA | P4 SLA | mean FRT | p90 FRT | util | Jain | queued |"
    rows = [head, "|" + " --- |" * 11]
    for r in results:
        sla = " | ".join(f"{r.attainment.get(p, float('nan')):.1%}" for p in PRIORITY_MIX)
        rows.append(
            f"| {r.label} | {r.tickets} | {sla} | {r.mean_frt:.0f} min | {r.p90_frt:.0f} min "
            f"| {r.mean_utilisation:.1%} | {r.jain_fairness:.3f} | {r.queued_share:.1%} |"
        )
    return "\n".join(rows)


def plot_results(results: Sequence[PolicyResult], path: Path) -> Path:
    """Bar chart of first-response SLA attainment per priority and policy."""
    prios = list(PRIORITY_MIX)
    width = 0.8 / max(len(results), 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, r in enumerate(results):
        xs = [j + i * width for j in range(len(prios))]
        ax.bar(xs, [r.attainment.get(p, 0.0) * 100 for p in prios], width=width, label=r.label)
    ax.set_xticks([j + width * (len(results) - 1) / 2 for j in range(len(prios))], prios)
    ax.set_ylabel("first response within SLA (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize="small")
    ax.set_title("SLA attainment by priority")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
