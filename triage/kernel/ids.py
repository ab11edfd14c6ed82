"""Identifiers: the human-readable ticket number and opaque ids.

A ticket number is ``<prefix>-<year>-<sequence>`` (``TKT-2026-000042``): unique because the sequence comes from
the store's own counter, readable over the phone, and sortable by creation within a year.
"""

from __future__ import annotations

import re
import uuid

TICKET_PREFIX = "TKT"
_NUMBER = re.compile(r"^(?P<prefix>[A-Z]{2,8})-(?P<year>\d{4})-(?P<seq>\d{6,})$")
_NUMBER_IN_TEXT = re.compile(rf"(?<![A-Za-z0-9]){TICKET_PREFIX}-\d{{4}}-\d{{6,}}(?!\d)", re.IGNORECASE)


def ticket_number(sequence: int, *, year: int, prefix: str = TICKET_PREFIX) -> str:
    """Format a ticket number, e.g. ``ticket_number(42, year=2026) == "TKT-2026-000042"``."""
    if sequence < 1:
        raise ValueError(f"ticket sequence must be >= 1, got {sequence}")
    return f"{prefix}-{year:04d}-{sequence:06d}"


def is_ticket_number(text: str) -> bool:
    """Whether ``text`` has the shape of a ticket number."""
    return bool(_NUMBER.match(text))


def find_ticket_number(text: str) -> str | None:
    """The first ticket number in ``text`` (e.g. an email subject ``Re: [TKT-2026-000042] VPN``), upper-cased, or
    ``None``. Only this service's prefix counts, so another system's ``INC-2026-000001`` is not taken for ours."""
    found = _NUMBER_IN_TEXT.search(text)
    return found.group(0).upper() if found else None


def new_id() -> str:
    """A random, opaque 32-character id."""
    return uuid.uuid4().hex
