"""API keys: created for a role (and a team or agent), shown once, stored as a SHA-256 hash.

A key is ``tt_<id>_<secret>`` with 256 random bits of secret. Since the secret is random and long, a single
SHA-256 is the right hash (as for GitHub or Stripe tokens); slow password hashes are for human-chosen passwords.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime

from triage.domain.access import Principal, require_role
from triage.domain.desk import RoutingConfig
from triage.kernel.errors import NotFound
from triage.kernel.vocabulary import Role
from triage.ports import KeyRecord, UnitOfWork
from triage.services.audit import record

PREFIX = "tt"


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    start: Callable[[], UnitOfWork],
    desk: RoutingConfig,
    *,
    role: Role,
    name: str,
    teams: Iterable[str] = (),
    agent_id: str | None = None,
    now: datetime,
    actor: Principal | str,
) -> tuple[str, KeyRecord]:
    """Create a key; returns the key itself (shown once, never stored) and its record.

    An agent key names a roster agent (it acts for its roster team, and any team given); a manager key names the
    teams it manages.

    Raises:
        InvalidRequest: an unknown team or agent, a manager without teams, an agent key without an agent.
    """
    if isinstance(actor, Principal):
        require_role(actor, Role.ADMIN, action="create keys")
    team_set = desk.scope_teams(role, teams, agent_id, holder="key")
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    created = KeyRecord(id=key_id, name=name or f"{role.value} key", role=role, teams=team_set, agent_id=agent_id,
                        created_at=now)  # fmt: skip
    with start() as uow:
        uow.keys.add(created, hash_key(key))
        record(uow, actor=actor, action="key-created", at=now,
               after={"key_id": key_id, "role": role.value, "teams": sorted(team_set), "agent_id": agent_id})  # fmt: skip
        uow.commit()
    return key, created


def authenticate(start: Callable[[], UnitOfWork], key: str) -> Principal | None:
    """The principal of a valid, unrevoked key; ``None`` otherwise."""
    if not key.startswith(f"{PREFIX}_"):
        return None
    with start() as uow:
        found = uow.keys.by_hash(hash_key(key))
    if found is None or found.revoked_at is not None:
        return None
    return Principal(id=found.id, role=found.role, name=found.name, teams=found.teams, agent_id=found.agent_id)


def revoke_key(start: Callable[[], UnitOfWork], key_id: str, *, now: datetime, actor: Principal | str) -> None:
    """Revoke a key (it stops working within the API's key cache lifetime).

    Raises:
        NotFound: no such active key.
    """
    with start() as uow:
        if not uow.keys.revoke(key_id, at=now):
            raise NotFound(f"no active key {key_id!r}")
        record(uow, actor=actor, action="key-revoked", at=now, after={"key_id": key_id})
        uow.commit()
