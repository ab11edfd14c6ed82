"""The category taxonomy: the labels an organisation triages into, and where each one goes.

Labels are paths of up to :data:`MAX_DEPTH` levels (``complaint``, ``billing/refund``, ``billing/refund/partial``).
A label routes through the **longest prefix** the taxonomy defines: with an entry for ``billing/refund`` but not
``billing/refund/partial``, the latter goes where ``billing/refund`` goes. An entry may leave ``team`` or
``skill`` out and inherit it from its nearest ancestor.

The taxonomy is configuration (``config/taxonomy.toml``), not code: an organisation that trains its own
categories writes them here, and :meth:`Taxonomy.unmapped` checks a deployed model's labels against it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from triage.kernel.errors import ConfigError

MAX_DEPTH = 3
SEPARATOR = "/"


def split_label(label: str) -> tuple[str, ...]:
    """The levels of a label path.

    Raises:
        ValueError: empty label, an empty level (``billing//refund``), or more than :data:`MAX_DEPTH` levels.
    """
    parts = tuple(label.split(SEPARATOR))
    if not label or any(not part.strip() or part != part.strip() for part in parts):
        raise ValueError(f"category {label!r} is not a path like 'billing' or 'billing/refund' (no empty levels)")
    if len(parts) > MAX_DEPTH:
        raise ValueError(f"category {label!r} has {len(parts)} levels; at most {MAX_DEPTH} are supported")
    return parts


def truncate_label(label: str, depth: int) -> str:
    """The first ``depth`` levels of a label: ``truncate_label("billing/refund/partial", 2) == "billing/refund"``."""
    return SEPARATOR.join(label.split(SEPARATOR)[:depth])


def label_prefixes(label: str) -> list[str]:
    """``billing/refund/partial`` → ``["billing/refund/partial", "billing/refund", "billing"]`` (longest first)."""
    parts = label.split(SEPARATOR)
    return [SEPARATOR.join(parts[:n]) for n in range(len(parts), 0, -1)]


@dataclass(frozen=True)
class Category:
    """One entry of the taxonomy.

    Attributes:
        path: The label path, e.g. ``billing/refund``.
        team: The team whose queue holds it (inherited from the nearest ancestor when ``None``).
        skill: The skill an agent needs (inherited likewise).
        names: Display name per language code (``{"en": "Refund", "zh": "退款"}``).
        descriptions: A short description per language code.
        examples: A few example phrases (for people, and for zero-shot classification).
    """

    path: str
    team: str | None = None
    skill: str | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    examples: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        split_label(self.path)

    def name(self, language: str = "en") -> str:
        """Display name in ``language``, else English, else the path."""
        return self.names.get(language) or self.names.get("en") or self.path


@dataclass(frozen=True)
class CategoryRoute:
    """Where a label goes: the skill it needs, the team whose queue holds it, and the taxonomy entry that matched."""

    skill: str
    team: str
    matched: str


class UnmappedLabels(enum.StrEnum):
    """What to do with a model label that no taxonomy entry routes."""

    ERROR = "error"  # refuse to start, listing every such label
    QUEUE = "queue"  # start, and send such tickets to the triage queue with the reason


@dataclass(frozen=True)
class Taxonomy:
    """Every category, keyed by path, plus the policy for labels it does not route.

    Example:
        >>> taxonomy = Taxonomy.of([Category("billing", team="billing", skill="billing")])
        >>> taxonomy.route_for("billing/refund/partial").team
        'billing'
    """

    categories: Mapping[str, Category]
    unmapped_policy: UnmappedLabels = UnmappedLabels.ERROR
    triage_queue: str = "triage"

    @classmethod
    def of(cls, categories: Iterable[Category], **options: object) -> Taxonomy:
        """A taxonomy from a list of categories (paths must be unique)."""
        by_path: dict[str, Category] = {}
        for category in categories:
            if category.path in by_path:
                raise ValueError(f"category {category.path!r} is defined twice")
            by_path[category.path] = category
        return cls(categories=by_path, **options)  # type: ignore[arg-type]

    def __contains__(self, label: object) -> bool:
        return isinstance(label, str) and self.route_for(label) is not None

    def route_for(self, label: str) -> CategoryRoute | None:
        """The route of ``label`` through its longest defined prefix, or ``None`` when nothing routes it."""
        chain = [self.categories[p] for p in label_prefixes(label) if p in self.categories]
        if not chain:
            return None
        team = next((c.team for c in chain if c.team), None)
        skill = next((c.skill for c in chain if c.skill), None)
        if team is None or skill is None:
            return None
        return CategoryRoute(skill=skill, team=team, matched=chain[0].path)

    def entry_for(self, label: str) -> Category | None:
        """The deepest taxonomy entry that is a prefix of ``label`` (for display names)."""
        return next((self.categories[p] for p in label_prefixes(label) if p in self.categories), None)

    def unmapped(self, labels: Iterable[str]) -> list[str]:
        """The labels, among ``labels``, that no entry routes (sorted)."""
        return sorted({label for label in labels if self.route_for(label) is None})

    def check_labels(self, labels: Iterable[str], *, source: str = "the category model") -> list[str]:
        """Check that every label of a deployed model routes; call it at start-up.

        Returns:
            One warning per unmapped label when the policy is ``queue`` (those tickets go to the triage queue).

        Raises:
            ConfigError: some labels are unmapped and the policy is ``error``; the message lists each one.
        """
        missing = self.unmapped(labels)
        if not missing:
            return []
        listed = ", ".join(repr(label) for label in missing)
        if self.unmapped_policy is UnmappedLabels.ERROR:
            raise ConfigError(
                f"{len(missing)} labels of {source} have no route in the taxonomy: {listed}. Add them (or a prefix "
                f'of them) with a team and a skill to the taxonomy file, or set unmapped = "queue" to send such '
                f"tickets to the {self.triage_queue!r} queue"
            )
        return [
            f"label {label!r} has no route in the taxonomy; its tickets go to {self.triage_queue!r}"
            for label in missing
        ]

    def leaves(self) -> list[Category]:
        """Entries that no other entry extends: the categories a ticket finally lands in."""
        paths = list(self.categories)
        return [c for c in self.categories.values() if not any(p.startswith(c.path + SEPARATOR) for p in paths)]

    def skills(self) -> set[str]:
        """Every skill some category needs."""
        return {c.skill for c in self.categories.values() if c.skill}

    def teams(self) -> set[str]:
        """Every team some category goes to, and the triage queue."""
        return {c.team for c in self.categories.values() if c.team} | {self.triage_queue}
