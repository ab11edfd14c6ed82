"""Administration: API keys (append-only through the API) and the configuration in force."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import PrincipalDep, ServiceDep
from api.errors import COMMON_ERRORS
from api.schemas import KeyCreate, KeyCreated, KeyPublic, ModelsPublic, key_public
from triage.domain.access import require_role
from triage.kernel.clock import utc_now
from triage.kernel.vocabulary import Role
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
