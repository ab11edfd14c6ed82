"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.deps import PrincipalDep
from api.errors import COMMON_ERRORS
from triage.domain.access import require_role
from triage.kernel.vocabulary import Role

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "alive"}


@router.get("/readyz", responses={503: {"description": "Not ready: the body says what is missing."}})
def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 only once the models, the knowledge base (if configured) and the database are ready."""
    service = getattr(request.app.state, "service", None)
    checks: dict[str, object] = {"database": False, "models": False, "knowledge_base": "not configured"}
    problem = getattr(request.app.state, "startup_error", None)
    if service is not None:
        database_problem = service.database_problem()
        checks["database"] = database_problem is None
        problem = problem or database_problem
        if service.ready:
            pipeline = service.holder.current
            checks["models"] = pipeline.model_versions
            if service.settings.resolved_kb_dir.exists():
                checks["knowledge_base"] = pipeline.suggest is not None
    ready = checks["database"] is True and bool(checks["models"]) and checks["knowledge_base"] is not False
    body = {"ready": ready, "checks": checks, **({"problem": problem} if problem and not ready else {})}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", responses=COMMON_ERRORS, response_class=Response)
def metrics(request: Request, principal: PrincipalDep) -> Response:
    """Prometheus metrics (text format). Needs an admin or manager key."""
    require_role(principal, Role.ADMIN, Role.MANAGER, action="read metrics")
    return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
