"""Agents: presence (going away or offline hands their tickets back)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PrincipalDep, ServiceDep
from api.errors import COMMON_ERRORS, NOT_FOUND
from api.schemas import AssignmentPublic, PresenceChange
from triage.kernel.clock import utc_now
from triage.services.presence import set_presence

router = APIRouter(prefix="/api/v1/agents", tags=["agents"], responses=COMMON_ERRORS)


@router.post("/{agent_id}/presence", response_model=list[AssignmentPublic], responses=NOT_FOUND)
def presence(agent_id: str, body: PresenceChange, service: ServiceDep, principal: PrincipalDep) -> list[AssignmentPublic]:
    """Set an agent's presence; away/offline hands their open tickets back and returns where each went."""
    moved = set_presence(service.start, service.desk, principal, agent_id, body.status, now=utc_now())
    return [AssignmentPublic(team=a.team, agent_id=a.agent_id, queued=a.queued, reasons=list(a.reasons)) for a in moved]
