"""Aware datetimes: every instant in the service carries a timezone."""

from __future__ import annotations

from datetime import UTC, datetime


def require_aware(value: datetime, name: str = "datetime") -> datetime:
    """Return ``value`` unchanged if it carries a timezone.

    Args:
        value: The datetime to check.
        name: What to call it in the error message.

    Returns:
        The same datetime.

    Raises:
        ValueError: If ``value`` is naive; every instant in routing and SLA code must be unambiguous.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {value.isoformat()}); pass tzinfo=UTC")
    return value


def utc_now() -> datetime:
    """The current instant in UTC."""
    return datetime.now(UTC)
