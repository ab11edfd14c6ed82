"""Administration: API keys (append-only through the API) and the configuration in force."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from api.deps import Instant, PrincipalDep, RowId, ServiceDep
from api.errors import COMMON_ERRORS, NOT_FOUND
from api.schemas import (
    DeliveryPublic,
    KeyCreate,
    KeyCreated,
    KeyPublic,
    ModelsPublic,
    WebhookCreate,
    WebhookPublic,
    delivery_public,
    key_public,
    webhook_public,
)
from triage.domain.access import require_role
from triage.kernel.clock import utc_now
from triage.kernel.vocabulary import Role
from triage.services import drift, feedback, webhooks
from triage.services.keys import create_key

router = APIRouter(prefix="/api/v1", tags=["admin"], responses=COMMON_ERRORS)


@router.post("/admin/keys", status_code=status.HTTP_201_CREATED, response_model=KeyCreated)
def add_key(body: KeyCreate, service: ServiceDep, principal: PrincipalDep) -> KeyCreated:
    """Create an API key (admin only); the key is in the response once and never again."""
    key, record = create_key(service.start, service.desk, role=body.role, name=body.name, teams=body.teams,
                             agent_id=body.agent_id, now=utc_now(), actor=principal)  # fmt: skip
    return KeyCreated(**key_public(record).model_dump(), key=key)


@router.get("/admin/keys", response_model=list[KeyPublic])
def list_keys(service: ServiceDep, principal: PrincipalDep) -> list[KeyPublic]:
    """Every key, without secrets (admin only)."""
    require_role(principal, Role.ADMIN, action="list keys")
    with service.read() as uow:
        return [key_public(k) for k in uow.keys.all()]


@router.get("/models", response_model=ModelsPublic)
def models(service: ServiceDep, _principal: PrincipalDep) -> ModelsPublic:
    """The model versions serving now (they change without downtime when @champion moves)."""
    pipeline = service.holder.current  # type: ignore[union-attr]
    encoder = pipeline.encoder.id if pipeline.encoder is not None else "unknown"
    return ModelsPublic(versions=pipeline.model_versions, encoder=encoder, knowledge_base=pipeline.suggest is not None)


@router.post("/admin/webhooks", status_code=status.HTTP_201_CREATED, response_model=WebhookPublic)
def add_webhook(body: WebhookCreate, service: ServiceDep, principal: PrincipalDep) -> WebhookPublic:
    """Register a receiver of signed events (admin only)."""
    webhook = webhooks.add_webhook(service.start, url=body.url, secret=body.secret, events=[e.value for e in body.events],
                                   now=utc_now(), actor=principal)  # fmt: skip
    return webhook_public(webhook)


@router.get("/admin/webhooks", response_model=list[WebhookPublic])
def list_webhooks(service: ServiceDep, principal: PrincipalDep) -> list[WebhookPublic]:
    """Every webhook, without its secret (admin only)."""
    require_role(principal, Role.ADMIN, action="list webhooks")
    with service.read() as uow:
        return [webhook_public(w) for w in uow.webhooks.all()]


@router.get("/admin/webhooks/deliveries", response_model=list[DeliveryPublic])
def list_deliveries(
    service: ServiceDep,
    principal: PrincipalDep,
    webhook: Annotated[str | None, Query(max_length=32)] = None,
    state: Annotated[str | None, Query(pattern="^(pending|delivered|dead)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryPublic]:
    """The outbox, newest first (admin only): pending, delivered and dead-lettered deliveries."""
    require_role(principal, Role.ADMIN, action="read webhook deliveries")
    with service.read() as uow:
        return [delivery_public(d) for d in uow.webhooks.deliveries(webhook_id=webhook, state=state, limit=limit)]


@router.post("/admin/webhooks/deliveries/{delivery_id}/redeliver", status_code=status.HTTP_202_ACCEPTED,
             responses=NOT_FOUND)  # fmt: skip
def redeliver(delivery_id: RowId, service: ServiceDep, principal: PrincipalDep) -> dict[str, int]:
    """Queue a delivered or dead-lettered delivery again (admin only)."""
    webhooks.redeliver(service.start, delivery_id, now=utc_now(), actor=principal)
    return {"queued": delivery_id}


@router.get("/models/quality")
def model_quality(service: ServiceDep, principal: PrincipalDep, since: Instant | None = None) -> dict[str, Any]:
    """Live accuracy per model version and label from agents' corrections, the abstain rate, the re-routed share."""
    return feedback.quality(service.read, principal, since=since)


@router.get("/models/new-topics")
def new_topics(
    service: ServiceDep, principal: PrincipalDep, days: Annotated[int, Query(ge=1, le=90)] = 7
) -> list[dict[str, Any]]:
    """Clusters of abstained tickets: candidate new categories, with example tickets (managers, admins)."""
    require_role(principal, Role.MANAGER, Role.ADMIN, action="read new topics")
    encoder = service.holder.current.encoder  # type: ignore[union-attr]
    clusters = drift.new_topics(service.read, encoder_id=encoder.id if encoder else "", now=utc_now(), days=days)
    return [{"size": c.size, "examples": [{"number": n, "subject": s} for n, s in c.examples]} for c in clusters]
