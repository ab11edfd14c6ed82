"""Request dependencies: the running service, the caller's principal (from its bearer key), the clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator

from triage.adapters.bootstrap import Service
from triage.domain.access import Principal
from triage.kernel.errors import NotReady
from triage.services.keys import authenticate, hash_key

#: The largest row id the databases store (64-bit signed); a larger number in a request is a 422, not an overflow.
MAX_ROW_ID = 2**63 - 1
#: A row id in a path (an alert, a webhook delivery).
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def _storable(value: datetime) -> datetime:
    """``value`` if the databases can store its instant (stored in UTC): 0001-01-01T00:00+01:00 cannot."""
    if value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"{value.isoformat()} is outside the dates this service stores (years 1-9999 in UTC)") from None
    return value


#: A date and time in a query (``from``, ``to``, ``since``): out of the storable range is a 422, not an overflow.
Instant = Annotated[datetime, AfterValidator(_storable)]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `triage keys create` (or POST /api/v1/admin/keys): `Authorization: Bearer <key>`.",
)


def get_service(request: Request) -> Service:
    """The running service; 503 while the models are still loading."""
    service: Service | None = getattr(request.app.state, "service", None)
    if service is None or not service.ready:
        problem = getattr(request.app.state, "startup_error", None)
        raise NotReady(f"the service is not ready: {problem}" if problem else "the service is starting (loading models)")
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


class KeyCache:
    """Recently checked keys, so most requests do not hit the database to authenticate."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[Principal | None, float]] = {}

    def get(self, key_hash: str) -> tuple[bool, Principal | None]:
        entry = self._entries.get(key_hash)
        if entry is None or entry[1] < time.monotonic():
            return False, None
        return True, entry[0]

    def put(self, key_hash: str, principal: Principal | None) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key_hash] = (principal, time.monotonic() + self.ttl)


async def get_principal(
    request: Request,
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller, from ``Authorization: Bearer <key>``; 401 when missing or not a valid key."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "send `Authorization: Bearer <key>` (create a key with `triage keys create`)",
                            headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    cache: KeyCache = request.app.state.key_cache
    digest = hash_key(credentials.credentials)
    found, principal = cache.get(digest)
    if not found:
        principal = await run_in_threadpool(authenticate, service.read, credentials.credentials)
        cache.put(digest, principal)
    if principal is None:
        raise HTTPException(401, "this key is not valid (unknown or revoked)", headers={"WWW-Authenticate": "Bearer"})
    request.scope.setdefault("state", {})["key_id"] = principal.id
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
