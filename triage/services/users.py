"""Console users and their sessions: people who sign in to the web console with a username and a password.

Passwords are stored as Argon2id hashes (``argon2-cffi``'s defaults: 64 MiB, 3 passes, the RFC 9106 low-memory
profile), never in clear, and re-hashed on sign-in when those parameters change. Five failed sign-ins in a row lock
the account for five minutes. A session is a random 256-bit token in the browser's cookie; the database keeps only
its SHA-256 (like API keys), with a CSRF token, the user's time zone, an absolute expiry and the last activity.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from triage.domain.access import Principal
from triage.domain.desk import RoutingConfig
from triage.kernel.errors import InvalidRequest, NotFound
from triage.kernel.vocabulary import Role
from triage.ports import ConsoleSession, UnitOfWork, UserRecord
from triage.services.audit import record

Start = Callable[[], UnitOfWork]

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
PASSWORD_MIN = 8  # NIST SP 800-63B: at least 8, no composition rules
PASSWORD_MAX = 1024
#: Consecutive failures that lock an account, and for how long.
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=5)
#: Roles a person can sign in with (intake is for systems, with API keys).
CONSOLE_ROLES = (Role.AGENT, Role.MANAGER, Role.ADMIN)

_hasher = PasswordHasher()
#: Verified against when the username does not exist, so a wrong username costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: the principal, or why not (``wrong`` or ``locked``)."""

    principal: Principal | None
    problem: str | None = None
    locked_until: datetime | None = None


def hash_token(token: str) -> str:
    """The stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def principal_of(user: UserRecord) -> Principal:
    """The principal a signed-in user acts as: same role rules and scopes as an API key of that role."""
    return Principal(id=user.id, role=user.role, name=user.username, teams=user.teams, agent_id=user.agent_id)


def check_password(password: str) -> None:
    """Refuse passwords that are too short or too long.

    Raises:
        InvalidRequest: naming the rule.
    """
    if len(password) < PASSWORD_MIN:
        raise InvalidRequest(f"the password is too short: use at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise InvalidRequest(f"the password is too long: at most {PASSWORD_MAX} characters")


def create_user(
    start: Start,
    desk: RoutingConfig,
    *,
    username: str,
    password: str,
    role: Role,
    teams: Iterable[str] = (),
    agent_id: str | None = None,
    now: datetime,
    actor: Principal | str,
) -> UserRecord:
    """Create a console user (the same team and agent rules as API keys).

    Raises:
        InvalidRequest: a bad username, password, role, team or agent. Conflict: the username is taken.
    """
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise InvalidRequest(f"invalid username {username!r}: 2-64 characters of a-z, 0-9, '.', '_', '-', "
                             "starting with a letter or digit")  # fmt: skip
    if role not in CONSOLE_ROLES:
        raise InvalidRequest(f"console users are agents, managers or admins, not {role.value}")
    check_password(password)
    team_set = desk.scope_teams(role, teams, agent_id, holder="user")
    user = UserRecord(id=f"u_{secrets.token_hex(6)}", username=name, role=role, teams=team_set, agent_id=agent_id,
                      created_at=now)  # fmt: skip
    password_hash = _hasher.hash(password)
    with start() as uow:
        uow.users.add(user, password_hash)
        record(uow, actor=actor, action="user-created", at=now,
               after={"user_id": user.id, "username": name, "role": role.value, "teams": sorted(team_set),
                      "agent_id": agent_id})  # fmt: skip
        uow.commit()
    return user


def _user_named(uow: UnitOfWork, username: str) -> UserRecord:
    found = uow.users.by_username(username.strip().lower())
    if found is None:
        raise NotFound(f"no user {username!r}")
    return found[0]


def set_password(start: Start, username: str, password: str, *, now: datetime, actor: Principal | str) -> int:
    """Set a new password (and unlock); every session of the user ends. Returns how many sessions ended."""
    check_password(password)
    password_hash = _hasher.hash(password)
    with start() as uow:
        user = _user_named(uow, username)
        uow.users.set_password(user.id, password_hash)
        ended = uow.sessions.delete_for_user(user.id)
        record(uow, actor=actor, action="user-password", at=now, after={"user_id": user.id})
        uow.commit()
    return ended


def disable_user(start: Start, username: str, *, now: datetime, actor: Principal | str) -> None:
    """Disable a user: they cannot sign in, and their sessions end at once.

    Raises:
        NotFound: no such active user.
    """
    with start() as uow:
        user = _user_named(uow, username)
        if not uow.users.disable(user.id, at=now):
            raise NotFound(f"user {username!r} is already disabled")
        uow.sessions.delete_for_user(user.id)
        record(uow, actor=actor, action="user-disabled", at=now, after={"user_id": user.id})
        uow.commit()


def sign_in(start: Start, username: str, password: str, *, now: datetime) -> SignIn:
    """Check a username and password.

    The answer does not say which of the two was wrong; an unknown username costs one hash verification like a
    known one. After :data:`LOCK_AFTER` failures in a row the account is locked for :data:`LOCK_FOR`.
    """
    with start() as uow:
        found = uow.users.by_username(username.strip().lower()) if username.strip() else None
    if found is None:
        _verify(_DUMMY_HASH, password)
        return SignIn(None, "wrong")
    user, password_hash = found
    if user.locked_until is not None and user.locked_until > now:
        return SignIn(None, "locked", user.locked_until)
    valid = user.disabled_at is None and _verify(password_hash, password)
    with start() as uow:
        if not valid:
            failures = user.failed_logins + 1
            locked_until = now + LOCK_FOR if failures >= LOCK_AFTER else None
            uow.users.login_failed(user.id, locked_until=locked_until)
            uow.commit()
            return SignIn(None, "locked" if locked_until else "wrong", locked_until)
        uow.users.login_succeeded(user.id)
        if _hasher.check_needs_rehash(password_hash):
            uow.users.set_password(user.id, _hasher.hash(password))
        uow.commit()
    return SignIn(principal_of(user))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def valid_time_zone(name: str | None) -> str:
    """``name`` if it is an IANA time zone this machine knows, else ``UTC``."""
    if not name or len(name) > 64:
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


def open_session(
    start: Start, principal: Principal, *, time_zone: str | None, now: datetime, lifetime: timedelta, idle: timedelta
) -> tuple[str, ConsoleSession]:
    """Start a session for a signed-in user; returns the token for the cookie (shown once) and the session.

    Expired and idle sessions of everyone are purged on the way (sign-ins are rare enough for that).
    """
    token = secrets.token_urlsafe(32)
    session = ConsoleSession(token_hash=hash_token(token), user_id=principal.id, csrf_token=secrets.token_urlsafe(32),
                             time_zone=valid_time_zone(time_zone), created_at=now, expires_at=now + lifetime,
                             last_seen_at=now)  # fmt: skip
    with start() as uow:
        uow.sessions.purge(now=now, idle=idle)
        uow.sessions.add(session)
        record(uow, actor=principal, action="signed-in", at=now, after={"user_id": principal.id})
        uow.commit()
    return token, session


def resume_session(
    start: Start, token: str, *, now: datetime, idle: timedelta, touch_after: timedelta = timedelta(minutes=1)
) -> tuple[Principal, ConsoleSession] | None:
    """The user and session of a cookie's token, or ``None`` when unknown, expired, idle too long or disabled.

    Activity is written at most once per ``touch_after``, so reading pages does not write on every request.
    """
    token_hash = hash_token(token)
    with start() as uow:
        session = uow.sessions.get(token_hash)
        user = uow.users.get(session.user_id) if session else None
    if session is None or user is None:
        return None
    if session.expires_at <= now or session.last_seen_at <= now - idle or user.disabled_at is not None:
        end_session(start, token)
        return None
    if now - session.last_seen_at >= touch_after:
        with start() as uow:
            uow.sessions.touch(token_hash, at=now)
            uow.commit()
    return principal_of(user), session


def end_session(start: Start, token: str) -> None:
    """Sign out: the session row is deleted (the cookie alone is worth nothing afterwards)."""
    with start() as uow:
        uow.sessions.delete(hash_token(token))
        uow.commit()
