"""The learning loop's read side: live model quality from agents' corrections, and corrections as training data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from triage.domain.access import Principal, require_role
from triage.kernel.vocabulary import Role
from triage.ports import UnitOfWork

#: Columns of the file `triage export-corrections` writes; `triage train --task category` reads `text` and
#: `category`, `--task urgency --label-col urgency` reads `urgency`.
EXPORT_COLUMNS = ("text", "category", "urgency", "language", "number", "category_model_version",
                  "urgency_model_version", "predicted_category", "predicted_urgency", "corrected_at")  # fmt: skip


def quality(start: Callable[[], UnitOfWork], principal: Principal, *, since: datetime | None) -> dict[str, Any]:
    """Live accuracy per model version and label (a triaged ticket nobody corrected counts as right), the abstain
    rate and the share of tickets people re-routed."""
    require_role(principal, Role.MANAGER, Role.ADMIN, action="read model quality")
    with start() as uow:
        return {"since": since.isoformat() if since else None, **uow.feedback.quality(since=since)}


def corrections_for_training(start: Callable[[], UnitOfWork], *, since: datetime | None) -> list[dict[str, Any]]:
    """One row per corrected ticket: its text and the labels people settled on."""
    with start() as uow:
        rows = uow.feedback.corrected_tickets(since=since)
    return [
        {
            "text": "\n".join(p for p in ((r["subject"] or "").strip(), (r["body"] or "").strip()) if p),
            "category": r["category"],
            "urgency": r["priority"],
            "language": r["language"],
            "number": r["number"],
            "category_model_version": r["category_model_version"],
            "urgency_model_version": r["urgency_model_version"],
            "predicted_category": r["predicted_category"],
            "predicted_urgency": r["predicted_priority"],
            "corrected_at": r["corrected_at"].isoformat() if r["corrected_at"] else None,
        }
        for r in rows
    ]
