"""Error hierarchy of the triage service.

Every error the core raises derives from :class:`TriageError` and, where it refines a builtin,
from that builtin too, so callers may catch either. Only ``api/errors.py`` maps them to HTTP and
only ``triage/cli`` maps them to exit codes. Messages say what is wrong *and* what to do.
"""

from __future__ import annotations


class TriageError(Exception):
    """Root of every error raised by the triage service."""


class InvalidTicket(TriageError, ValueError):
    """A ticket's text or metadata cannot be triaged (empty, too long, wrong type)."""


class InvalidRequest(TriageError, ValueError):
    """A request parameter is unusable (a cursor this service did not issue, a limit out of range...)."""


class InvalidMail(TriageError, ValueError):
    """An email cannot become a ticket: no usable sender, no text, or a message the parser cannot read."""


class MailTooLarge(InvalidMail):
    """An email, or one of its attachments, is over a size limit; ``limit`` is that limit in bytes."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class InvalidDataset(TriageError, ValueError):
    """A training or evaluation file is unusable (missing column, one class, unknown label...)."""


class ConfigError(TriageError, ValueError):
    """A configuration file or setting is invalid. The message names the file, the key and the problem."""


class ModelNotReady(TriageError, RuntimeError):
    """A model or index is missing, unfitted or cannot be loaded."""


class ArtifactMismatch(TriageError, RuntimeError):
    """An artifact was built with another encoder, label set or incompatible version."""


class StageFailed(TriageError, RuntimeError):
    """A triage stage failed on valid input; ``stage`` names it."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"triage stage {stage!r} failed: {message}")
        self.stage = stage


class BatchIncomplete(TriageError, RuntimeError):
    """A batch run finished with partitions that failed every attempt; their rows are not in the output."""


class IllegalTransition(TriageError, ValueError):
    """A ticket cannot move from its status to the requested one; ``allowed`` lists where it can go."""

    def __init__(self, ticket: str, current: str, requested: str, allowed: tuple[str, ...]) -> None:
        choices = ", ".join(allowed) or "nowhere (final)"
        super().__init__(f"ticket {ticket} is {current}; it cannot become {requested}. Allowed: {choices}")
        self.current = current
        self.requested = requested
        self.allowed = allowed


class NotFound(TriageError, LookupError):
    """The thing asked for does not exist, or the caller may not see it (the two look the same on purpose)."""


class Conflict(TriageError, ValueError):
    """The request contradicts stored state, e.g. an idempotency key replayed with a different body."""


class KeyTaken(Conflict):
    """A concurrent request took the same idempotency key first; retrying finds its ticket."""


class PermissionDenied(TriageError, PermissionError):
    """The caller's role may not do this at all (not about one ticket: those are ``NotFound``)."""


class NotReady(TriageError, RuntimeError):
    """The service cannot serve yet: models loading, database not migrated or unreachable."""
