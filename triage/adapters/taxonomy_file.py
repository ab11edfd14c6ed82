"""Load the category taxonomy from ``taxonomy.toml``.

Example::

    unmapped = "error"        # or "queue": model labels without a route go to the triage queue
    triage_queue = "triage"   # the team whose queue holds tickets a person must classify

    [categories.billing]
    team = "billing"
    skill = "billing"
    name = { en = "Billing", zh = "账单" }

    [categories."billing/refund"]
    name = { en = "Refund", zh = "退款" }
    description = { en = "Money back for an order or a charge", zh = "订单或扣款的退款" }
    examples = ["I want my money back", "退款什么时候到账"]

Every problem raises :class:`~triage.kernel.errors.ConfigError` naming the file, the key and what is wrong.
"""

from __future__ import annotations

from collections.abc import Set
from pathlib import Path
from typing import Any

from triage.adapters.toml_file import TomlFile
from triage.domain.taxonomy import Category, Taxonomy, UnmappedLabels, split_label

_CATEGORY_KEYS = {"team", "skill", "name", "description", "examples"}


def load_taxonomy(path: Path | str, *, teams: Set[str] | None = None) -> Taxonomy:
    """Read and validate a taxonomy file.

    Args:
        path: The TOML file.
        teams: Known team ids; when given, every ``team`` and the ``triage_queue`` must be one of them.

    Raises:
        ConfigError: missing file, bad TOML, an invalid label path, an unknown key or team, or a leaf category
            that has no team or skill (neither its own nor inherited).
    """
    f = TomlFile(Path(path))
    f.no_unknown(f.data, {"unmapped", "triage_queue", "categories"}, "")
    raw_policy = f.get(f.data, "unmapped", "", str, UnmappedLabels.ERROR.value)
    if raw_policy not in set(UnmappedLabels):
        raise f.error("unmapped", f"{raw_policy!r} is not one of {', '.join(u.value for u in UnmappedLabels)}")
    triage_queue = f.get(f.data, "triage_queue", "", str, "triage")
    if teams is not None and triage_queue not in teams:
        raise f.error("triage_queue", f"unknown team {triage_queue!r}; known: {', '.join(sorted(teams))}")
    tables = f.get(f.data, "categories", "", dict)
    categories = []
    for label, table in tables.items():
        where = f"categories.{label}"
        try:
            split_label(label)
        except ValueError as exc:
            raise f.error(where, str(exc)) from None
        if not isinstance(table, dict):
            raise f.error(where, 'must be a table like { team = "billing", skill = "billing" }')
        f.no_unknown(table, _CATEGORY_KEYS, where)
        team = f.get(table, "team", where, str, None)
        if team is not None and teams is not None and team not in teams:
            raise f.error(f"{where}.team", f"unknown team {team!r}; known: {', '.join(sorted(teams))}")
        examples = f.get(table, "examples", where, list, [])
        if not all(isinstance(e, str) and e.strip() for e in examples):
            raise f.error(f"{where}.examples", "must be a list of non-empty strings")
        categories.append(
            Category(
                path=label,
                team=team,
                skill=f.get(table, "skill", where, str, None),
                names=_by_language(f, table, "name", where),
                descriptions=_by_language(f, table, "description", where),
                examples=tuple(examples),
            )
        )
    if not categories:
        raise f.error("categories", "define at least one category")
    taxonomy = Taxonomy.of(categories, unmapped_policy=UnmappedLabels(raw_policy), triage_queue=triage_queue)
    unrouted = [c.path for c in taxonomy.leaves() if taxonomy.route_for(c.path) is None]
    if unrouted:
        raise f.error(
            "categories", f"no team or skill (own or inherited from a parent) for: {', '.join(sorted(unrouted))}"
        )
    return taxonomy


def _by_language(f: TomlFile, table: dict[str, Any], key: str, where: str) -> dict[str, str]:
    value = f.get(table, key, where, (dict, str), {})
    if isinstance(value, str):
        return {"en": value}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise f.error(f"{where}.{key}", 'must map language codes to text, e.g. { en = "Refund", zh = "退款" }')
    return dict(value)
